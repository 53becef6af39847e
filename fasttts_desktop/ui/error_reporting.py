"""Log file set-up and the dialog for unexpected exceptions: log it, tell the user where, keep running."""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from fasttts_desktop.engine.storage import paths

log = logging.getLogger(__name__)

LOG_NAME = "fasttts-desktop.log"


def start_log_file(log_dir: Path | None = None) -> tuple[Path, logging.Handler]:
    """Send INFO and above to a rotating file; returns its path and the handler (remove it when done)."""
    try:
        folder = Path(log_dir) if log_dir else paths.log_dir()  # platformdirs' user log dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        # An unwritable home must not stop the app from starting: log to the temp folder instead.
        path = Path(tempfile.gettempdir()) / LOG_NAME
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return path, handler


class ErrorReporter(QObject):
    """Installed as sys.excepthook and threading.excepthook while the window lives."""

    # Exceptions can come from any thread; the dialog must be made on the GUI thread.
    _report = Signal(str)

    def __init__(self, log_path: Path, parent_window: QWidget | None = None):
        super().__init__()
        self.log_path = log_path
        self.parent_window = parent_window
        self.dialogs: list[QMessageBox] = []  # the ones still open
        self._report.connect(self.show_dialog, Qt.ConnectionType.QueuedConnection)
        self._old_hooks: tuple[Callable, Callable] | None = None  # (sys.excepthook, threading.excepthook)

    def install(self) -> None:
        self._old_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def uninstall(self) -> None:
        if self._old_hooks:
            sys.excepthook, threading.excepthook = self._old_hooks
            self._old_hooks = None

    def handle(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)).rstrip())
        self._report.emit(f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__)

    def report(self, summary: str) -> None:
        """For errors already logged elsewhere (the engine thread's)."""
        self._report.emit(summary)

    @Slot(str)
    def show_dialog(self, summary: str) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "FastTTS: unexpected error",
            f"Something went wrong:\n{summary}\n\nThe app is still running. "
            f"The details are in the log file:\n{self.log_path}",
            QMessageBox.StandardButton.Ok,
            self.parent_window,
        )
        box.setObjectName("unexpected-error")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.finished.connect(lambda _=0, b=box: self.dialogs.remove(b) if b in self.dialogs else None)
        self.dialogs.append(box)
        box.open()  # not exec(): a nested event loop here could re-enter whatever just failed
