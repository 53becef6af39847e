"""Start the window: parse options, open the log, build the service and the window, run Qt's loop."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QSettings, QSocketNotifier, QTimer
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
    p.add_argument("path", nargs="?", metavar="PATH", help="a document to open (.txt .md .html .epub .pdf)")
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


@contextmanager
def quit_on_signals(app: QApplication, window: MainWindow) -> Iterator[list[int]]:
    """SIGINT (Ctrl+C in the terminal), SIGTERM and SIGHUP close the window as its close button would.

    Python runs a signal handler only when the main thread next executes Python, and Qt's idle loop runs
    none; so the C-level handler also writes to a socket (signal.set_wakeup_fd) that Qt watches, and that
    wake-up runs a little Python. Yields the list of signals received.
    """
    received: list[int] = []
    wake_r, wake_w = socket.socketpair()
    for sock in (wake_r, wake_w):
        sock.setblocking(False)
    notifier = QSocketNotifier(wake_r.fileno(), QSocketNotifier.Type.Read)

    def drain() -> None:  # being Python is the point: the pending handler runs now
        try:
            wake_r.recv(512)
        except OSError:
            pass

    def close_window() -> None:
        window.close()
        app.quit()  # also when the window was never shown, so closing it ends nothing

    def handler(signum, frame) -> None:
        log.info("signal %d: closing", signum)
        received.append(signum)
        QTimer.singleShot(0, close_window)  # from the loop, which may not be running yet

    notifier.activated.connect(drain)
    wanted = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    old_handlers = {s: signal.signal(s, handler) for s in wanted}
    old_fd = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    try:
        yield received
    finally:
        signal.set_wakeup_fd(old_fd)
        for s, old in old_handlers.items():
            signal.signal(s, old)
        notifier.setEnabled(False)
        wake_r.close()
        wake_w.close()


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
    if args.path:
        window.open_path(args.path)  # parsed in the background: the window is up meanwhile
    # The first stream open costs ~0.25 s: pay it once the window is drawn, not at the first Speak, and
    # say at once if there is no sound device.
    QTimer.singleShot(0, window.service.player.probe)
    with quit_on_signals(app, window) as signals:
        log.info("window shown")
        code = app.exec()
    if signals:
        code = 128 + signals[0]
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
