"""Playback > Sleep Timer: stop reading after N minutes, or at the end of the chapter, with a slow fade.

When the time is up the speech fades to silence over FADE_S (the player scales the samples, so the fade
is in the sound itself), then the reading stops and the place is remembered as after any stop. The time
left shows in the status bar; choosing Off, or stopping by hand, ends the timer.
"""

from __future__ import annotations

import bisect
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QMenu

from fasttts_desktop.ui.dialog_parts import named
from fasttts_desktop.ui.status_text import duration

if TYPE_CHECKING:
    from fasttts_desktop.ui.main_window import MainWindow

MINUTES = (5, 10, 15, 30, 45, 60, 90)
FADE_S = 8.0
_TICK_MS = 1000
_AFTER_FADE_S = 1.0


class SleepTimer(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = w = window
        self.fade_s = FADE_S
        self.menu = QMenu("S&leep Timer", w, objectName="sleep-menu")
        self.menu.setToolTipsVisible(True)
        group = QActionGroup(self.menu)
        self.off = self._choice(group, "&Off", "No sleep timer", None)
        self.off.setChecked(True)
        self.choices = {
            m: self._choice(group, f"{m} minutes", f"Stop reading in {m} minutes", m) for m in MINUTES
        }
        self.menu.addSeparator()
        self.chapter_end = self._choice(
            group, "End of &Chapter", "Stop when this chapter has been read", "chapter"
        )
        self.menu.aboutToShow.connect(self._update_menu)
        for menu_action in w.menuBar().actions():
            menu = menu_action.menu()
            if isinstance(menu, QMenu) and w.commands.output_menu.menuAction() in menu.actions():
                menu.insertMenu(w.commands.output_menu.menuAction(), self.menu)
                break
        self.label = named(QLabel(objectName="sleep", visible=False), "Sleep timer")
        w.statusBar().insertWidget(1, self.label)
        self._ticker = QTimer(self, interval=_TICK_MS)
        self._ticker.timeout.connect(self._tick)
        self._deadline: float | None = None  # time.monotonic() when the fade starts
        self._chapter_end: int | None = None  # text offset where the chapter being read ends
        self._fading = False
        w.reader.position_changed.connect(self._on_position)
        w.service.busy_changed.connect(self._on_busy)

    def _choice(self, group: QActionGroup, text: str, tip: str, value) -> QAction:
        action = QAction(text, self.menu, checkable=True)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setData(value)
        group.addAction(action)
        self.menu.addAction(action)
        action.triggered.connect(lambda _checked=False, v=value: self.choose(v))
        return action

    # --- choosing ---

    def choose(self, value) -> None:
        """None: off; minutes (a number, fractions allowed); "chapter": at the end of this chapter."""
        self._cancel()
        if value is None:
            self.off.setChecked(True)
        elif value == "chapter":
            end = self._end_of_chapter()
            if end is None:
                self.off.setChecked(True)
                self.window.status_label.setText("No chapter to stop at: open a document with chapters.")
                return
            self._chapter_end = end
            self.chapter_end.setChecked(True)
            self.label.setText("Sleep at the chapter's end")
            self.label.show()
        else:
            self._deadline = time.monotonic() + float(value) * 60
            self._ticker.start()
            self._tick()
        self.label.setToolTip("Playback > Sleep Timer > Off cancels it")

    def _cancel(self) -> None:
        self._ticker.stop()
        self._deadline = self._chapter_end = None
        self._fading = False
        self.label.hide()

    @property
    def active(self) -> bool:
        return self._deadline is not None or self._chapter_end is not None

    # --- running ---

    @Slot()
    def _tick(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._sleep()
            return
        self.label.setText(f"Sleep in {duration(left)}")
        self.label.show()

    @Slot(int)
    def _on_position(self, offset: int) -> None:
        if self._chapter_end is not None and offset >= self._chapter_end and self.window.service.busy:
            self._sleep()

    def _sleep(self) -> None:
        service = self.window.service
        self._cancel()
        self.off.setChecked(True)
        if not service.busy:
            return
        self._fading = True
        self.label.setText("Sleeping…")
        self.label.show()
        service.fade_out(self.fade_s)
        # the fade is counted in samples at the device; stop a little after it, heard out even when the
        # device runs behind the clock (silence meanwhile: the faded stream plays nothing)
        QTimer.singleShot(round((self.fade_s + _AFTER_FADE_S) * 1000), self._stop)

    @Slot()
    def _stop(self) -> None:
        if not self._fading:
            return  # stopped by hand meanwhile
        self._fading = False
        self.label.hide()
        self.window.stop()
        self.window.status_label.setText("Stopped by the sleep timer.")

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if not busy and self._fading:
            self._fading = False
            self.label.hide()

    def _end_of_chapter(self) -> int | None:
        from fasttts_desktop.engine.text.documents import chapter_marks

        opened = self.window.documents.current
        if opened is None:
            return None
        starts = [offset for offset, _ in chapter_marks(opened.document.headings)]
        if not starts:
            return None
        at = bisect.bisect_right(starts, self.window.reader.position)
        return starts[at] if at < len(starts) else len(opened.text)

    @Slot()
    def _update_menu(self) -> None:
        self.chapter_end.setEnabled(self._end_of_chapter() is not None)
