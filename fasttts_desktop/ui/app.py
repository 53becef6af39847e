"""Start the window: parse options, open the log, build the service and the window, run Qt's loop."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, QSocketNotifier, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from fasttts_desktop import __version__
from fasttts_desktop.desktop import APP_ID
from fasttts_desktop.engine.load_options import add_engine_options, load_engine
from fasttts_desktop.ui.error_reporting import ErrorReporter, start_log_file
from fasttts_desktop.ui.main_window import MainWindow
from fasttts_desktop.worker.engine_worker import Progress
from fasttts_desktop.worker.speech import SpeechService

if TYPE_CHECKING:  # imported on the engine thread: torch takes seconds
    from fasttts_desktop.engine.engine import Engine

log = logging.getLogger(__name__)

_WINDOW_FIRST_S = 2.0  # the longest the engine load waits for the window to be shown


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="fasttts-desktop", description="Kokoro-82M text to speech window.")
    add_engine_options(p)
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="a document to open (.txt .md .html .epub .pdf .docx .odt .rtf .fb2) or a web page's address",
    )
    return p.parse_args(argv)


def engine_loader(args: argparse.Namespace) -> Callable[[Progress], Engine]:
    # load_engine imports torch and kokoro (seconds): it runs on the engine thread
    return lambda progress: load_engine(args, progress)


def create_window(
    load_engine: Callable[[Progress], Engine], settings: QSettings, service: SpeechService | None = None
) -> MainWindow:
    """The window with its service started (engine loading in the background).

    A service made here holds its engine load until the window has been painted once: the load imports
    torch and builds the model, seconds of Python that would share the interpreter with the window's first
    show and paint (measured: that first pass of events then took up to 0.37 s instead of 0.02 s).
    Requests made meanwhile queue behind the load as before."""
    window_up = threading.Event()
    if service is None:

        def after_the_window(progress: Progress) -> Engine:
            window_up.wait(_WINDOW_FIRST_S)  # never forever: a window that is never shown still loads
            return load_engine(progress)

        service = SpeechService(after_the_window)
    window = MainWindow(service, settings)
    _FirstPaint(window, window_up.set)
    service.start()
    return window


class _FirstPaint(QObject):
    """Calls `then` from Qt's loop once any widget of `window` has painted, then stops watching."""

    def __init__(self, window: QWidget, then: Callable[[], None]):
        app = QCoreApplication.instance()
        super().__init__(app)
        self._window, self._then = window, then
        if app is not None:
            app.installEventFilter(self)  # only until the first paint: every event passes through here

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Paint
            and isinstance(watched, QWidget)
            and watched.window() is self._window
        ):
            app = QCoreApplication.instance()
            if app is not None:
                app.removeEventFilter(self)
            QTimer.singleShot(0, self._then)  # after this paint and its flush to the screen
            self.deleteLater()
        return False


class QuitOnSignals:
    """SIGINT (Ctrl+C in the terminal), SIGTERM and SIGHUP close the window as its close button would.

    Installed first thing, so a signal that comes while Qt starts is kept, and acted on once the window is
    there (`attach`). Python runs a signal handler only when the main thread next executes Python, and
    Qt's idle loop runs none; so the C-level handler also writes to a socket (signal.set_wakeup_fd) that
    Qt watches, and that wake-up runs a little Python.
    """

    def __init__(self):
        self.received: list[int] = []
        self._close: Callable[[], None] | None = None
        self._notifier: QSocketNotifier | None = None
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._old_fd: int | None = None
        wanted = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)]
        self._old_handlers = {s: signal.signal(s, self._handler) for s in wanted if s is not None}

    def attach(self, app: QCoreApplication, window: MainWindow) -> None:
        wake_r, wake_w = self._sockets = socket.socketpair()
        for sock in self._sockets:
            sock.setblocking(False)
        self._notifier = QSocketNotifier(wake_r.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._old_fd = signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)

        def close() -> None:
            window.close()
            app.quit()  # also when the window was never shown, so closing it ends nothing

        self._close = close
        if self.received:  # came while Qt was starting
            QTimer.singleShot(0, close)

    def restore(self) -> None:
        if self._old_fd is not None:
            signal.set_wakeup_fd(self._old_fd)
        for s, old in self._old_handlers.items():
            signal.signal(s, old)
        if self._notifier is not None:
            self._notifier.setEnabled(False)
        for sock in self._sockets or ():
            sock.close()

    def _drain(self) -> None:  # being Python is the point: the pending handler runs now
        if self._sockets is None:  # connected in `attach`, which made them
            return
        try:
            self._sockets[0].recv(512)
        except OSError:
            pass

    def _handler(self, signum, _frame) -> None:
        log.info("signal %d: closing", signum)
        self.received.append(signum)
        if self._close is not None:
            QTimer.singleShot(0, self._close)  # from the loop, which may not be running yet


def _say_what_cannot_be_saved(window) -> None:
    """An unwritable home: the window works from a temporary folder and says so once, in its banner."""
    from fasttts_desktop.engine.storage.paths import home_notice

    notice = home_notice()
    if notice:
        log.warning("%s", notice)
        window.set_notice("home", notice)


def main(argv: list[str] | None = None) -> int:
    from fasttts_desktop.engine.synthesis.cpu.threads import configure_process

    configure_process()  # before the engine thread imports torch: OpenMP reads its settings once
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    signals = QuitOnSignals()
    log_path, log_handler = start_log_file()
    log.info("fasttts-desktop %s starting: %s", __version__, " ".join(sys.argv[1:] if argv is None else argv))
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("fasttts-desktop")
    app.setApplicationName("fasttts-desktop")
    QGuiApplication.setDesktopFileName(
        APP_ID
    )  # Wayland's app_id: how the desktop finds the entry and its icon
    settings = QSettings()
    window = create_window(engine_loader(args), settings)
    _say_what_cannot_be_saved(window)
    reporter = ErrorReporter(log_path, window)
    reporter.install()
    window.service.crashed.connect(reporter.report)
    window.show()
    if args.path:
        window.open_path(args.path)  # parsed in the background: the window is up meanwhile
    # The first stream open costs ~0.25 s: pay it once the window is drawn, not at the first Speak, and
    # say at once if there is no sound device.
    QTimer.singleShot(0, window.service.player.probe)
    signals.attach(app, window)
    try:
        code = app.exec()
    finally:
        signals.restore()
    if signals.received:
        code = 128 + signals.received[0]
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
