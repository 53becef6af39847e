"""Command line: the window (no subcommand), `say`, `voices` and `bench`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fasttts_desktop import __version__

_GUI_HELP = "With no command, opens the window."


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (default: CUDA if present), cpu or cuda")
    p.add_argument("--weights", metavar="PATH", help="kokoro weights (.pth or .safetensors) to use")
    p.add_argument(
        "--voices", metavar="PATH", help="voices: a .pt file or folder of them, voices-v1.0.bin or .npz"
    )
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fasttts-desktop", description=f"Kokoro-82M text to speech. {_GUI_HELP}")
    p.add_argument("--version", action="version", version=f"fasttts-desktop {__version__}")
    _add_engine_options(p)
    sub = p.add_subparsers(dest="command", metavar="{say,voices,bench}")

    say = sub.add_parser("say", help="speak text into a WAV file")
    say.add_argument("text", nargs="?", help="the text; '-' or omitted reads standard input")
    say.add_argument("-f", "--file", metavar="TEXTFILE", help="read the text from this file")
    say.add_argument("-o", "--output", required=True, metavar="WAV", help="where to write the WAV file")
    say.add_argument("--voice", help="voice name (see `fasttts-desktop voices`)")
    say.add_argument("--speed", type=float, default=1.0, help="speaking rate, 1.0 = normal")
    _add_engine_options(say)

    voices = sub.add_parser("voices", help="list the available voices")
    _add_engine_options(voices)

    sub.add_parser("bench", help="benchmark the GPU paths; `bench --cpu`: the CPU path", add_help=False)
    return p


def _fail(message: str, code: int = 2) -> int:
    print(f"fasttts-desktop: error: {message}", file=sys.stderr)
    return code


def _read_text(args: argparse.Namespace) -> str:
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SystemExit(_fail(f"cannot read {args.file}: {getattr(exc, 'strerror', None) or exc}"))
    if args.text is None or args.text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise SystemExit(_fail("give the text as an argument, with --file, or on standard input"))
        return sys.stdin.read()
    return args.text


def _progress_printer(stream=sys.stderr):
    last = [""]

    def progress(message: str, fraction: float) -> None:
        if message != last[0]:
            print(f"... {message}", file=stream, flush=True)
            last[0] = message

    return progress


def _load_engine(args: argparse.Namespace):
    from fasttts_desktop.engine import Engine

    return Engine.load(
        args.device,
        model_path=args.weights,
        voices_path=args.voices,
        use_hub=False if args.offline else None,
        progress=_progress_printer(),
    )


def _say(args: argparse.Namespace) -> int:
    import numpy as np

    from fasttts_desktop.engine import SAMPLE_RATE
    from fasttts_desktop.wavfile import write_wav_atomic

    text = _read_text(args)
    out = Path(args.output)
    if not text.strip():
        return _fail("there is no text to speak")
    if out.is_dir() or not out.expanduser().parent.is_dir():
        return _fail(
            f"cannot write {out}: {'it is a folder' if out.is_dir() else 'its folder does not exist'}"
        )
    t_load = time.perf_counter()
    engine = _load_engine(args)
    load_s = time.perf_counter() - t_load
    engine.voice(args.voice)  # unknown voice: fail before any work
    if engine.notice:
        print(engine.notice, file=sys.stderr)
    t0 = time.perf_counter()
    first = None
    parts = []
    for chunk in engine.stream(text, args.voice, args.speed, batch=engine.export_batch):
        if first is None:
            first = time.perf_counter() - t0
        parts.append(chunk.audio)
    total = time.perf_counter() - t0
    audio = np.concatenate(parts)
    write_wav_atomic(out, audio)
    seconds = len(audio) / SAMPLE_RATE
    print(
        f"wrote {out} ({seconds:.2f} s of audio, {len(parts)} chunk{'s' * (len(parts) != 1)}) · "
        f"{engine.description} · first chunk after {first * 1000:.0f} ms · "
        f"real-time factor {total / seconds:.3f} ({seconds / total:.1f}x realtime) · engine load {load_s:.1f} s"
    )
    return 0


def _voices(args: argparse.Namespace) -> int:
    engine = _load_engine(args)
    for v in engine.voices:
        mark = "  (default)" if v.name == engine.default_voice else ""
        print(f"{v.name:<16} {v.language:<20} {v.gender or '':<7}{mark}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()  # before anything imports torch: OpenMP reads its settings once
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["bench", "--cpu"]:
        from fasttts_desktop.bench.cpu import main as cpu_bench_main

        return cpu_bench_main(argv[2:])
    if argv and argv[0] == "bench":
        from fasttts_desktop.bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "say":
            return _say(args)
        if args.command == "voices":
            return _voices(args)
        from fasttts_desktop.ui.app import main as app_main

        gui_argv = ["--device", args.device]
        for flag, value in (("--weights", args.weights), ("--voices", args.voices)):
            if value:
                gui_argv += [flag, value]
        if args.offline:
            gui_argv.append("--offline")
        return app_main(gui_argv)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, never a traceback, for anything the user can act on
        from fasttts_desktop.engine import EngineError

        if isinstance(exc, (EngineError, OSError)):
            return _fail(str(exc))
        raise
