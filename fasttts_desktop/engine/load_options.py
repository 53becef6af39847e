"""The options every front end loads the engine with (--device, --weights, --voices, --offline), declared
once for the command line and the window, and turned into Engine.load's arguments in one place. No Qt."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fasttts_desktop.engine.engine import Engine
    from fasttts_desktop.engine.types import Progress


def add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto (default: CUDA if present), cpu or cuda",
    )
    p.add_argument("--weights", metavar="PATH", help="kokoro weights (.pth or .safetensors) to use")
    p.add_argument(
        "--voices",
        metavar="PATH",
        help="voices: a .pt file or folder of them, voices-v1.0.bin, a kokoro.js .bin or .npz",
    )
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")


def engine_argv(args: argparse.Namespace) -> list[str]:
    """The engine options of `args` as words again (the window parses its own command line)."""
    words = ["--device", args.device]
    for flag, value in (("--weights", args.weights), ("--voices", args.voices)):
        if value:
            words += [flag, value]
    return [*words, "--offline"] if args.offline else words


def load_engine(args: argparse.Namespace, progress: Progress | None = None) -> Engine:
    """The engine the options of `args` ask for (torch is imported here: call it where seconds may pass)."""
    from fasttts_desktop.engine.engine import Engine

    return Engine.load(
        None if args.device == "auto" else args.device,
        model_path=args.weights,
        voices_path=args.voices,
        use_hub=False if args.offline else None,
        progress=progress,
    )
