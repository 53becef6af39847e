"""Help > Add to Applications Menu: `install-desktop-entry` from the window; once added, the same item
removes the entry again. Its text is set each time the menu opens (the command line may have changed it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QMenu

from fasttts_desktop.desktop import entry
from fasttts_desktop.engine.types import EngineError

if TYPE_CHECKING:  # main_window.py imports this module
    from fasttts_desktop.ui.main_window import MainWindow


class DesktopEntryMenu(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.action = window.commands.desktop_entry
        self.action.triggered.connect(self.toggle)
        for owner in self.action.associatedObjects():
            if isinstance(owner, QMenu):
                owner.aboutToShow.connect(self.update_text)
        self.update_text()

    def installed(self) -> bool:
        return entry.desktop_file(entry.data_home()).is_file()

    @Slot()
    def update_text(self) -> None:
        if self.installed():
            self.action.setText("Remove from &Applications Menu")
            self.action.setStatusTip("Take FastTTS's entry and icon out of the desktop's menu")
        else:
            self.action.setText("Add to &Applications Menu")
            self.action.setStatusTip("Put FastTTS in the desktop's menu, with its icon")

    @Slot()
    def toggle(self) -> None:
        w = self.window
        home = entry.data_home()
        try:
            if self.installed():
                entry.remove(home)
                w.status_label.setText("FastTTS is no longer in the applications menu.")
            else:
                entry.install(home)
                w.status_label.setText(f"FastTTS is in the applications menu ({entry.desktop_file(home)}).")
            w.show_error("")
        except (EngineError, OSError, ValueError) as exc:
            w.show_error(f"Could not change the applications menu: {exc}")
        self.update_text()
