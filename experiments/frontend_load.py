"""The English front end's load in fresh processes, four ways, alternating run by run (not shipped): spaCy's
CLI imported with spaCy or deferred (engine/text/spacy_cli.py), and the model's components misaki does not
enable left out (engine/text/spacy_model.py) or loaded disabled (misaki's own `spacy.load(..., enable=)`).

Each child imports torch first (the engine has it before the front end; thinc imports it anyway), then
times `FrontEnd("a")` (wall and the process's CPU seconds: the latter barely moves when the shared
machine is busy) and reads VmRSS before and after. Medians per way go to --out (JSON).

    python3 -m experiments.frontend_load --rounds 6 --out frontend-load.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

WAYS = {
    "cli eager, pipes disabled (misaki's own)": ("eager", "disabled"),
    "cli eager, pipes excluded": ("eager", "excluded"),
    "cli deferred, pipes disabled": ("deferred", "disabled"),
    "cli deferred, pipes excluded (shipped)": ("deferred", "excluded"),
}


def _rss_mb() -> float:
    found = re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(found.group(1)) / 1024 if found else float("nan")


def _child(cli: str, pipes: str) -> None:
    import torch  # noqa: F401 - before the clock: the engine has imported it by the time the front end loads

    rss0, t0, cpu0 = _rss_mb(), time.perf_counter(), time.process_time()
    if cli == "eager":
        import spacy  # noqa: F401 - imported as it is: spacy_cli then leaves it alone
    if pipes == "disabled":
        from fasttts_desktop.engine.text import spacy_model

        # the model package's own load, as without the alias's exclusion
        def own_load(self, **overrides):
            return self._package.load(**overrides)

        spacy_model._ModelAlias.load = own_load  # type: ignore[method-assign]  # noqa: SLF001 - undone on purpose
    from fasttts_desktop.engine.text.frontend import FrontEnd

    fe = FrontEnd("a")
    load_s, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    rss1 = _rss_mb()
    list(fe.chunks("The birch canoe slid on the smooth planks."))
    print(json.dumps({"load_s": load_s, "cpu_s": cpu_s, "rss_added_mb": rss1 - rss0, "rss_mb": rss1}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    runs: dict[str, list[dict]] = {w: [] for w in WAYS}
    for n in range(args.rounds):
        ways = list(WAYS.items())
        for name, (cli, pipes) in ways if n % 2 == 0 else ways[::-1]:
            load = os.getloadavg()[0]
            cmd = [sys.executable, "-m", "experiments.frontend_load", "--child", cli, pipes]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1]) | {"loadavg_1min": load}
            runs[name].append(row)
            print(n, name, {k: round(v, 3) for k, v in row.items()}, flush=True)
    result = {
        "cpu": re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)[0],
        "logical_cpus": os.cpu_count(),
        "rounds": args.rounds,
        "ways": {
            name: {
                "median": {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]},
                "runs": rows,
            }
            for name, rows in runs.items()
        },
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(*sys.argv[2:4])
    else:
        main()
