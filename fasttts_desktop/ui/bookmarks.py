"""Bookmarks > Add Bookmark… (Ctrl+B) and Edit Bookmarks… (Ctrl+Shift+B): named places in a document.

A bookmark is a name and the start of a sentence. They belong to the document's text (its sha256, the
same digest that keys the remembered position), so a book keeps them wherever the file is moved, and are
kept in the window's settings as JSON ("bookmarks/<digest>"). The Bookmarks menu lists them to jump to.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
)

from fasttts_desktop.ui.dialog_parts import named

if TYPE_CHECKING:
    from fasttts_desktop.ui.main_window import MainWindow

_NAME_WORDS = 6  # a new bookmark is named after the first words of its sentence
_MAX_NAME = 120


class Bookmarks(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = w = window
        self.settings = w.settings
        self.menu = QMenu("&Bookmarks", w, objectName="bookmarks-menu")
        self.menu.setToolTipsVisible(True)
        self.add_action = self._action("&Add Bookmark…", "Ctrl+B", "Name the sentence being read and keep it")
        self.edit_action = self._action(
            "&Edit Bookmarks…", "Ctrl+Shift+B", "Go to, rename or delete this document's bookmarks"
        )
        self.add_action.triggered.connect(self.ask_name)
        self.edit_action.triggered.connect(self.edit)
        self.menu.aboutToShow.connect(self._fill_menu)
        bar = w.menuBar()
        help_menu = bar.actions()[-1]
        bar.insertMenu(help_menu, self.menu)
        self.name_dialog: QInputDialog | None = None
        self.dialog: BookmarksDialog | None = None
        self._fill_menu()

    def _action(self, text: str, keys: str, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(keys))
        action.setToolTip(f"{tip} ({keys})")
        action.setStatusTip(tip)
        self.window.addAction(action)
        return action

    # --- the store ---

    def _key(self) -> str | None:
        opened = self.window.documents.current
        return f"bookmarks/{opened.digest}" if opened is not None else None

    def entries(self) -> list[tuple[str, int]]:
        """(name, offset) of the open document's bookmarks, in text order."""
        key = self._key()
        if key is None:
            return []
        try:
            raw = json.loads(str(self.settings.value(key, "[]") or "[]"))
            entries = [(str(name), int(offset)) for name, offset in raw]
        except (ValueError, TypeError):
            return []  # a damaged entry is no bookmark, never a crash
        length = len(self.window.documents.current.text) if self.window.documents.current else 0
        return sorted(((n, o) for n, o in entries if 0 <= o <= length), key=lambda e: e[1])

    def _store(self, entries: list[tuple[str, int]]) -> None:
        key = self._key()
        if key is None:
            return
        if entries:
            self.settings.setValue(key, json.dumps(sorted(entries, key=lambda e: e[1])))
        else:
            self.settings.remove(key)

    def add(self, name: str, offset: int | None = None) -> bool:
        name = " ".join(name.split())[:_MAX_NAME]
        if not name or self._key() is None:
            return False
        at = self.window.reader.position if offset is None else offset
        self._store([e for e in self.entries() if e[0] != name] + [(name, at)])
        self.window.status_label.setText(f"Bookmarked “{name}”.")
        return True

    def rename(self, old: str, new: str) -> None:
        new = " ".join(new.split())[:_MAX_NAME]
        if new:
            self._store([(new if n == old else n, o) for n, o in self.entries() if n != new or n == old])

    def remove(self, name: str) -> None:
        self._store([e for e in self.entries() if e[0] != name])

    def go_to(self, offset: int) -> None:
        self.window.reader.go_to(offset, top=True)

    # --- asking ---

    @Slot()
    def ask_name(self) -> None:
        opened = self.window.documents.current
        if opened is None:
            self.window.status_label.setText("Open a document to bookmark a place in it.")
            return
        at = self.window.reader.position
        sentence = opened.text[at : at + 400].split("\n")[0]
        dialog = QInputDialog(self.window)
        dialog.setObjectName("bookmark-name-dialog")
        dialog.setWindowTitle("Add Bookmark")
        dialog.setLabelText("Name of the bookmark:")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue(" ".join(sentence.split()[:_NAME_WORDS]))
        dialog.setAccessibleName("Add bookmark")
        dialog.textValueSelected.connect(lambda name: self.add(name, at))
        self.name_dialog = dialog
        dialog.open()

    @Slot()
    def edit(self) -> None:
        if self._key() is None:
            self.window.status_label.setText("Open a document to see its bookmarks.")
            return
        self.dialog = BookmarksDialog(self)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog.open()

    @Slot()
    def _fill_menu(self) -> None:
        for action in self.menu.actions():
            self.menu.removeAction(action)
        self.menu.addAction(self.add_action)
        self.menu.addAction(self.edit_action)
        entries = self.entries()
        if entries:
            self.menu.addSeparator()
        for name, offset in entries:
            jump = self.menu.addAction(name)
            jump.setToolTip(f"Go to “{name}”")
            jump.triggered.connect(lambda _checked=False, o=offset: self.go_to(o))


class BookmarksDialog(QDialog):
    """The open document's bookmarks: Go To (or a double click), Rename…, Delete."""

    def __init__(self, bookmarks: Bookmarks):
        super().__init__(bookmarks.window, objectName="bookmarks-dialog")
        self.bookmarks = bookmarks
        self.setWindowTitle("Bookmarks")
        self.setAccessibleName("Bookmarks")
        self.list = named(QListWidget(objectName="bookmarks-list"), "Bookmarks", "This document's bookmarks")
        self.go_button = named(
            QPushButton("&Go To", objectName="bookmarks-go"), "Go to", "Read from this bookmark"
        )
        self.rename_button = named(
            QPushButton("&Rename…", objectName="bookmarks-rename"), "Rename", "Rename it"
        )
        self.delete_button = named(
            QPushButton("&Delete", objectName="bookmarks-delete"), "Delete", "Delete it"
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        named(close, "Close", "Close the list")
        row = QHBoxLayout()
        for button in (self.go_button, self.rename_button, self.delete_button):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)
        layout.addWidget(buttons)
        buttons.rejected.connect(self.reject)
        self.go_button.clicked.connect(self.go)
        self.list.itemActivated.connect(lambda _item: self.go())
        self.rename_button.clicked.connect(self.ask_rename)
        self.delete_button.clicked.connect(self.delete)
        self.list.currentRowChanged.connect(self._update)
        self.rename_dialog: QInputDialog | None = None
        self.resize(420, 320)
        self.refill()

    def refill(self) -> None:
        self.list.clear()
        text = self.bookmarks.window.documents.current.text if self.bookmarks.window.documents.current else ""
        for name, offset in self.bookmarks.entries():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, (name, offset))
            item.setToolTip(" ".join(text[offset : offset + 160].split()))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self._update()

    def _current(self) -> tuple[str, int] | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    @Slot()
    def _update(self) -> None:
        chosen = self._current() is not None
        for button in (self.go_button, self.rename_button, self.delete_button):
            button.setEnabled(chosen)

    @Slot()
    def go(self) -> None:
        current = self._current()
        if current is not None:
            self.bookmarks.go_to(current[1])
            self.accept()

    @Slot()
    def ask_rename(self) -> None:
        current = self._current()
        if current is None:
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Rename Bookmark")
        dialog.setLabelText("New name:")
        dialog.setTextValue(current[0])
        dialog.setAccessibleName("Rename bookmark")
        dialog.textValueSelected.connect(lambda name: self._rename(current[0], name))
        self.rename_dialog = dialog
        dialog.open()

    def _rename(self, old: str, new: str) -> None:
        self.bookmarks.rename(old, new)
        self.refill()

    @Slot()
    def delete(self) -> None:
        current = self._current()
        if current is not None:
            self.bookmarks.remove(current[0])
            self.refill()
