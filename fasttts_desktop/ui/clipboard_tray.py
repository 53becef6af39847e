"""Speak Clipboard (Ctrl+Shift+V), Speak Selection (asked for over D-Bus: media_controls.py) and the
optional tray icon (View > Show Tray Icon, remembered).

Speak Clipboard puts the clipboard's text in the box and reads it, so the highlight, pause and the skip
keys work on it as on typed text (Ctrl+Z in the box brings the old text back). A document is never
replaced: its place is remembered and the chapters panel belongs to it, so with a document open the
clipboard is read aside, without being shown, and Speak then goes on with the document where it was.

The tray's menu is made of the window's own actions (Speak Clipboard, Pause, Stop, Show Window), so it
works the same as the menus; the icon exists only where the desktop has a tray. Closing the window still
quits: the tray is a remote control for the running window, not a background service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QClipboard, QGuiApplication, QTextCursor
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from fasttts_desktop.engine.text.languages import lang_of_voice
from fasttts_desktop.engine.text.writing_systems import script_warning

if TYPE_CHECKING:  # main_window.py imports this module
    from fasttts_desktop.ui.main_window import MainWindow

SETTING = "view/tray"


class ClipboardAndTray(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = w = window
        a = w.commands
        a.speak_clipboard.triggered.connect(self.speak_clipboard)
        a.show_window.triggered.connect(self.show_window)
        self.menu = QMenu("FastTTS", w, objectName="tray-menu")
        self.menu.setAccessibleName("FastTTS tray menu")
        for action in (a.speak_clipboard, a.pause, a.stop, None, a.show_window):
            self.menu.addAction(action) if action else self.menu.addSeparator()
        self.tray: QSystemTrayIcon | None = None
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        a.show_tray.setEnabled(self.available)
        if not self.available:
            a.show_tray.setToolTip("This desktop has no system tray")
        a.show_tray.setChecked(self.available and w.settings.value(SETTING, False) in (True, "true"))
        a.show_tray.toggled.connect(self.set_tray_shown)
        if a.show_tray.isChecked():
            self.set_tray_shown(True)

    @Slot()
    def speak_clipboard(self) -> bool:
        """Read the clipboard's text; False (and a line saying why) when it holds none."""
        return self._speak(QGuiApplication.clipboard().text(), "clipboard", "copy")

    @Slot()
    def speak_selection(self) -> bool:
        """Read the text selected in any program (the primary selection of X11 and Wayland); where the
        platform has no such selection, the clipboard."""
        clipboard = QGuiApplication.clipboard()
        if not clipboard.supportsSelection():
            return self.speak_clipboard()
        return self._speak(clipboard.text(QClipboard.Mode.Selection), "selection", "select")

    def _speak(self, text: str, source: str, verb: str) -> bool:
        w = self.window
        if not text.strip():
            w.show_error(f"The {source} holds no text to speak: {verb} some first.")
            return False
        if w.documents.current is not None:
            w.show_error("")
            w.reader.speak_aside(text)
            w.status_label.setText(
                f"Speaking the {source} ({len(text):,} characters); the document keeps its place."
            )
        else:
            w.service.stop()
            cursor = QTextCursor(w.text_edit.document())
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(text)  # an edit like a paste: Ctrl+Z brings the old text back
            w.text_edit.forget_cursor()
            w.speak()
            return True
        w.set_notice("script", script_warning(text, lang_of_voice(w.voice())) or "")
        return True

    @Slot(bool)
    def set_tray_shown(self, shown: bool) -> None:
        self.window.settings.setValue(SETTING, shown)
        if not self.available:
            return
        if shown and self.tray is None:
            self.tray = QSystemTrayIcon(self.window.windowIcon(), self.window)
            self.tray.setToolTip("FastTTS")
            self.tray.setContextMenu(self.menu)
            self.tray.activated.connect(self._activated)
        if self.tray is not None:
            self.tray.setVisible(shown)

    @Slot(QSystemTrayIcon.ActivationReason)
    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:  # a plain click; the menu has the rest
            self.show_window()

    @Slot()
    def show_window(self) -> None:
        w = self.window
        if w.isMinimized():
            w.showNormal()
        w.show()
        w.raise_()
        w.activateWindow()
