"""Playback > Output Device: the outputs there are now (listed again each time the menu opens, so devices
that came or went show), the chosen one checked and remembered by name (QSettings "playback/output").

Choosing one while reading moves the reading there at the word being heard (Player.set_output). A
remembered device that is not connected stays listed, marked so, and is used again when it comes back;
meanwhile the system default plays and the banner says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Slot
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QLabel, QMenu

from fasttts_desktop.playback.output_devices import OutputDevice, describe

if TYPE_CHECKING:
    from fasttts_desktop.worker.player import Player

SETTING = "playback/output"


class OutputMenu(QObject):
    """`menu` filled with `player`'s outputs; the choice remembered in `settings` and told in `status`."""

    def __init__(self, menu: QMenu, player: Player, settings: QSettings, status: QLabel, parent: QObject):
        super().__init__(parent)
        self.menu = menu
        self.settings, self.status = settings, status
        self.menu.setAccessibleName("Output device")
        self.menu.menuAction().setToolTip("Where speech is played")
        self.menu.menuAction().setStatusTip("Choose where speech is played")
        self.player = player
        self.player.set_output(str(settings.value(SETTING, "") or ""))
        self.menu.aboutToShow.connect(self.fill)

    @Slot()
    def fill(self) -> list[OutputDevice]:
        """List the outputs (PortAudio looks again for new ones when no stream is open)."""
        outputs = self.player.outputs()
        chosen = self.player.output
        if all(o.key != chosen for o in outputs):
            outputs.append(OutputDevice(chosen, f"{describe(chosen)} (not connected)"))
        self.menu.clear()
        group = QActionGroup(self.menu)
        group.setExclusive(True)
        for output in outputs:
            action = self.menu.addAction(output.label)
            action.setCheckable(True)
            action.setChecked(output.key == chosen)
            action.setData(output.key)
            action.setToolTip(f"Play speech on {output.label}")
            action.triggered.connect(
                lambda _=False, key=output.key, label=output.label: self.choose(key, label)
            )
            group.addAction(action)
        return outputs

    def choose(self, key: str, label: str = "") -> None:
        self.player.set_output(key)
        self.settings.setValue(SETTING, key)
        self.status.setText(f"Speech plays on {label or describe(key)}.")
