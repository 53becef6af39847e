"""File > Open Web Page… (Ctrl+Shift+O): asks for an address and opens the page's article like a document.

The fetch runs on the document opener's pool thread (engine/text/documents/web.py), so the window keeps
drawing while the server answers; it is the only thing in the app that uses the network, and only now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu

from fasttts_desktop.engine.text.documents.web import is_url

if TYPE_CHECKING:
    from fasttts_desktop.ui.main_window import MainWindow


class WebPages(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.action = QAction("Open &Web Page…", window)
        self.action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        tip = "Read a web page's article: give its address (the page is fetched now)"
        self.action.setToolTip(f"{tip} (Ctrl+Shift+O)")
        self.action.setStatusTip(tip)
        window.addAction(self.action)
        open_action = window.commands.open
        for menu_action in window.menuBar().actions():
            menu = menu_action.menu()
            if isinstance(menu, QMenu) and open_action in menu.actions():
                after = menu.actions()[menu.actions().index(open_action) + 1]
                menu.insertAction(after, self.action)
                break
        self.action.triggered.connect(self.ask)
        self.last = ""

    @Slot()
    def ask(self) -> None:
        dialog = QInputDialog(self.window)
        dialog.setObjectName("web-page-dialog")
        dialog.setWindowTitle("Open Web Page")
        dialog.setLabelText("Address of the page to read (https://…):")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setTextValue(self.last)
        dialog.setAccessibleName("Open web page")
        dialog.textValueSelected.connect(self.open)
        self.dialog = dialog
        dialog.open()

    @Slot(str)
    def open(self, address: str) -> None:
        address = address.strip()
        if not address:
            return
        if not is_url(address):
            if "://" in address or " " in address or "." not in address:
                self.window.show_error(f"{address!r} is not a web address; it must start with https://.")
                return
            address = "https://" + address  # "example.org/page": what a browser's address bar would do
        self.last = address
        self.window.show_error("")
        self.window.documents.open_path(address)
