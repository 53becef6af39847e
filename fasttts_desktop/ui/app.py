"""Start the window: parse options, open the log, build the service and the window, run Qt's loop."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from fasttts_desktop import __version__
from fasttts_desktop.ui.error_reporting import ErrorReporter, start_log_file
from fasttts_desktop.ui.main_window import MainWindow
from fasttts_desktop.worker.engine_worker import Progress
from fasttts_desktop.worker.speech import SpeechService

log = logging.getLogger(__name__)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="fasttts-desktop", description="Kokoro-82M text to speech window.")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--weights", metavar="PATH", help="kokoro weights (.pth or .safetensors)")
    p.add_argument("--voices", metavar="PATH", help="voices file or folder")
    p.add_argument("--offline", action="store_true", help="never contact the Hugging Face hub")
    return p.parse_args(argv)


def engine_loader(args: argparse.Namespace) -> Callable[[Progress], object]:
    def load(progress: Progress):
        # Imported here, on the engine thread: torch and kokoro take seconds to import.
        from fasttts_desktop.engine import Engine

        return Engine.load(
            None if args.device == "auto" else args.device,
            model_path=args.weights,
            voices_path=args.voices,
            use_hub=False if args.offline else None,
            progress=progress,
        )

    return load


def create_window(
    load_engine: Callable[[Progress], object], settings: QSettings, service: SpeechService | None = None
) -> MainWindow:
    """The window with its service started (engine loading in the background)."""
    service = service or SpeechService(load_engine)
    window = MainWindow(service, settings)
    service.start()
    return window


def main(argv: list[str] | None = None) -> int:
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()  # before the engine thread imports torch: OpenMP reads its settings once
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    log_path, log_handler = start_log_file()
    log.info("fasttts-desktop %s starting: %s", __version__, " ".join(sys.argv[1:] if argv is None else argv))
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("fasttts-desktop")
    app.setApplicationName("fasttts-desktop")
    settings = QSettings()
    window = create_window(engine_loader(args), settings)
    reporter = ErrorReporter(log_path, window)
    reporter.install()
    window.service.crashed.connect(reporter.report)
    window.show()
    # The first stream open costs ~0.25 s: pay it once the window is drawn, not at the first Speak, and
    # say at once if there is no sound device.
    QTimer.singleShot(0, window.service.player.probe)
    code = app.exec()
    clean = window.service.shutdown()
    reporter.uninstall()
    log.info("fasttts-desktop exiting (%s)", "clean" if clean else "a chunk was still being made")
    log_handler.close()
    logging.getLogger().removeHandler(log_handler)
    if not clean:
        # The engine thread is inside one model call that cannot be interrupted; nothing of ours is left
        # to save, so leave now rather than make the user wait for it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
