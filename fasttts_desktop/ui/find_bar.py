"""Edit > Find (Ctrl+F): a bar above the text to find words in it, and start reading at a match.

F3 / Enter find the next match, Shift+F3 / Shift+Enter the one before (wrapping around), Esc closes the
bar. A match is selected like a placed cursor, so Read from Here (or Ctrl+Return) reads from the sentence
that holds it. Matching ignores case; offsets are the text's own (re.IGNORECASE keeps lengths, where
casefold() would turn "ß" into "ss").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)

from fasttts_desktop.ui.dialog_parts import named
from fasttts_desktop.ui.navigation import QtPositions

if TYPE_CHECKING:
    from fasttts_desktop.ui.main_window import MainWindow

MAX_MATCHES = 10_000  # counted and stepped through; a commoner word than that is not worth listing


class FindBar(QWidget):
    def __init__(self, window: MainWindow):
        super().__init__(window, objectName="find-bar")
        self.main = w = window
        self.setAccessibleName("Find")
        self.field = named(QLineEdit(objectName="find-text"), "Find text", "Words to find (case is ignored)")
        self.field.setPlaceholderText("Find in the text")
        self.field.setClearButtonEnabled(True)
        self.previous_button = named(
            # Alt+I: Alt+P is the Playback menu's (two owners of one key: Qt gives it to neither)
            QPushButton("Prev&ious", objectName="find-previous"),
            "Previous match",
            "The match before (Shift+F3)",
        )
        self.next_button = named(
            QPushButton("&Next", objectName="find-next"), "Next match", "The next match (F3)"
        )
        self.read_button = named(
            QPushButton("&Read from Here", objectName="find-read"),
            "Read from here",
            "Read aloud from the sentence holding the match",
        )
        self.count_label = named(QLabel(objectName="find-count"), "Matches")
        self.close_button = named(QToolButton(objectName="find-close", text="✕"), "Close find", "Close (Esc)")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Find:", buddy=self.field))
        row.addWidget(self.field, 1)
        for widget in (
            self.previous_button,
            self.next_button,
            self.read_button,
            self.count_label,
            self.close_button,
        ):
            row.addWidget(widget)
        self.hide()
        central = w.centralWidget()
        layout = central.layout() if central is not None else None
        if isinstance(layout, QBoxLayout):  # above the text
            layout.insertWidget(layout.indexOf(w.text_edit), self)

        self.open_action = self._action("&Find…", QKeySequence.StandardKey.Find, "Find words in the text")
        self.next_action = self._action("Find &Next", QKeySequence.StandardKey.FindNext, "The next match")
        self.previous_action = self._action(
            "Find Pre&vious", QKeySequence.StandardKey.FindPrevious, "The match before"
        )
        bar = w.menuBar()
        self.menu = QMenu("&Edit", w, objectName="edit-menu")
        bar.insertMenu(bar.actions()[1], self.menu)  # after File, where editors keep it
        for action in (self.open_action, self.next_action, self.previous_action):
            self.menu.addAction(action)
        self.open_action.triggered.connect(self.open)
        self.next_action.triggered.connect(lambda: self.step(1))
        self.previous_action.triggered.connect(lambda: self.step(-1))
        self.field.textChanged.connect(self._search)
        self.field.returnPressed.connect(lambda: self.step(1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.read_button.clicked.connect(self.read_from_match)
        self.close_button.clicked.connect(self.close_bar)
        self.field.installEventFilter(self)
        self.matches: list[tuple[int, int]] = []
        self.current = -1
        self._text = ""
        self._update()

    def _action(self, text: str, keys, tip: str) -> QAction:
        action = QAction(text, self.main)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        self.main.addAction(action)
        return action

    @Slot()
    def open(self) -> None:
        self.show()
        self.field.setFocus()
        self.field.selectAll()
        self._search()

    @Slot()
    def close_bar(self) -> None:
        self.hide()
        self.main.text_edit.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.field and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            key = event.key()  # type: ignore[attr-defined]
            shifted = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)  # type: ignore[attr-defined]
            if key == Qt.Key.Key_Escape:  # the window's Esc stops reading; here it closes the bar
                if event.type() == QEvent.Type.KeyPress:
                    self.close_bar()
                event.accept()
                return True
            if (
                key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and shifted
                and event.type() == QEvent.Type.KeyPress
            ):
                self.step(-1)
                return True
        return super().eventFilter(watched, event)

    # --- finding ---

    @Slot()
    def _search(self) -> None:
        text = self.main.reader.snapshot()[0]
        needle = self.field.text()
        self._text = text
        self.matches = []
        if needle.strip():
            for found in re.finditer(re.escape(needle), text, re.IGNORECASE):
                self.matches.append(found.span())
                if len(self.matches) >= MAX_MATCHES:
                    break
        self.current = -1
        if self.matches:
            # the first match at or after the cursor, as in an editor
            at = self.main.text_edit.cursor_offset()
            self.current = next((i for i, (s, _) in enumerate(self.matches) if s >= at), 0)
            self._select()
        self._update()

    def step(self, direction: int) -> None:
        if not self.isVisible():
            self.open()
            return
        if self.main.reader.snapshot()[0] != self._text:
            self._search()
        if not self.matches:
            return
        self.current = (self.current + direction) % len(self.matches)
        self._select()
        self._update()

    def _select(self) -> None:
        start, end = self.matches[self.current]
        positions = QtPositions(self._text)
        edit = self.main.text_edit
        cursor = edit.textCursor()
        cursor.setPosition(positions.to_qt(start))
        cursor.setPosition(positions.to_qt(end), QTextCursor.MoveMode.KeepAnchor)
        edit.setTextCursor(cursor)  # a placed cursor: Speak reads from here
        edit.ensureCursorVisible()

    def _update(self) -> None:
        found = bool(self.matches)
        for widget in (self.previous_button, self.next_button, self.read_button):
            widget.setEnabled(found)
        if not self.field.text().strip():
            self.count_label.setText("")
        elif not found:
            self.count_label.setText("Not found")
        else:
            more = "+" if len(self.matches) >= MAX_MATCHES else ""
            self.count_label.setText(f"{self.current + 1} of {len(self.matches):,}{more}")

    @Slot()
    def read_from_match(self) -> None:
        if self.current >= 0:
            self._select()
            self.main.speak()
