"""What the window and its dialogs (voice mixer, pronunciation) share: controls with accessible names and
tooltips, a dialog that remembers where it was (QSettings), the line that shows one-line messages."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QWidget

# on its own light background, so it reads as well in a dark palette as in a light one
_ERROR_STYLE = "QLabel { color: #8a1c1c; background: #fde8e8; padding: 2px 4px; }"
W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, tip: str = "") -> W:
    """`widget` with what a screen reader says for it and its tooltip."""
    widget.setAccessibleName(name)
    if tip:
        widget.setToolTip(tip)
    return widget


def message_label(object_name: str, name: str) -> QLabel:
    """A hidden, selectable, wrapping line for a one-line message (shown by `show_message`)."""
    label = QLabel(objectName=object_name, wordWrap=True, visible=False)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def show_message(label: QLabel, message: str, error: bool = True) -> None:
    label.setStyleSheet(_ERROR_STYLE if error else "")
    label.setText(message)
    label.setVisible(bool(message))


class RememberedDialog(QDialog):
    """A dialog whose size and place are kept in QSettings under `key`/geometry between openings and runs."""

    def __init__(self, settings: QSettings, key: str, parent: QWidget | None = None):
        super().__init__(parent, objectName=key.rsplit("/", 1)[-1])
        self._settings = settings
        self._geometry_key = f"{key}/geometry"

    def restore_geometry(self, width: int, height: int) -> None:
        """Where it was last time, else `width` x `height` (call once the layout is built)."""
        geometry = self._settings.value(self._geometry_key)
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(width, height)

    def no_default_button(self) -> None:
        """Return in a line edit does that line's own job (save a name, show phonemes): no push button
        of the dialog is pressed by it as well."""
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)

    def hideEvent(self, event: QHideEvent) -> None:
        # Every way out (Close, Escape, the title bar's button) hides the dialog first.
        self._settings.setValue(self._geometry_key, self.saveGeometry())
        super().hideEvent(event)
