"""The benchmark (`fasttts-desktop bench`): kokoro's eager fp32 model against the compiled GPU path.

cli.py       the command: what runs in which order, the summary
inputs.py    weights, voice and the precomputed phonemes (package data)
timing.py    latency, streaming and batched throughput, memory, kernel profile
parity.py    log-mel distance, duration match, clicks at joins (plain numpy)
warm.py      warm start in a fresh process
Device scripts live in scripts/device/; experiments (decoder precisions, noiseless paths, batched A/B,
other builds) outside the package, in experiments/.
"""


def main(argv: list[str] | None = None) -> int:
    from fasttts_desktop.bench.cli import main as cli_main

    return cli_main(argv)
