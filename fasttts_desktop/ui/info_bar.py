"""A non-modal bar above the text: a message with a few buttons and a close button, never in the way."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

_STYLE = (
    "QFrame#%s { background: #e8f1fd; border: 1px solid #9dbfe8; border-radius: 3px; }"
    " QLabel { color: #0f3460; }"
)


class InfoBar(QFrame):
    def __init__(self, name: str, accessible_name: str, parent: QWidget | None = None):
        super().__init__(parent, objectName=name, visible=False)
        self.setStyleSheet(_STYLE % name)
        self.setAccessibleName(accessible_name)
        self.label = QLabel(wordWrap=True, objectName=f"{name}-text")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName(accessible_name)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 4, 4)
        self._layout.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        self.close_button = QToolButton(text="✕", objectName=f"{name}-close", autoRaise=True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.clicked.connect(self.hide)
        self._layout.addWidget(self.close_button)

    def show_message(self, text: str, buttons: Sequence[tuple[str, Callable[[], None]]] = ()) -> None:
        """Show `text` with buttons (label, action); pressing one runs it and hides the bar."""
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        for label, action in buttons:
            button = QPushButton(label, objectName=f"{self.objectName()}-{label.lower().replace(' ', '-')}")
            button.setAccessibleName(label)
            button.clicked.connect(self.hide)
            button.clicked.connect(action)
            self._layout.insertWidget(self._layout.count() - 1, button)
            self._buttons.append(button)
        self.label.setText(text)
        self.show()

    @property
    def buttons(self) -> list[QPushButton]:
        return list(self._buttons)

    def button(self, label: str) -> QPushButton:
        return next(b for b in self._buttons if b.text() == label)
