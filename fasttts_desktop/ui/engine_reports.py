"""What the service reports about the engine (loading, making audio ahead), as the status bar and the
voice list show it. Part of MainWindow (a mixin), kept apart so the window's own file holds the reader.
Exports have their own module (exporting.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Slot

from fasttts_desktop.ui.layout import WindowWidgets
from fasttts_desktop.ui.voice_picker import fill_voice_box
from fasttts_desktop.worker.engine_worker import EngineInfo
from fasttts_desktop.worker.speech import MAKE_AHEAD_S, SpeechService

if TYPE_CHECKING:  # exporting.py imports the window's modules
    from fasttts_desktop.ui.exporting import Exporter

CHUNKS_COUNTED = 10  # up to this many chunks the bar counts them; beyond, it shows the audio made ahead


class EngineReports(WindowWidgets):
    """Mixed into MainWindow: uses its widgets, `service`, `settings`, `_chunks` and `set_notice`."""

    # MainWindow's, declared for the type checker
    service: SpeechService
    exporter: Exporter
    _chunks: tuple[int, int]
    _saved_voice: str
    set_notice: Callable[[str, str], None]

    def save_to(self, path: str) -> None:
        """Export to `path` in the format its extension names (tests and scripts; the menu asks first)."""
        self.exporter.export_to(path)

    @Slot(str, float)
    def _on_load_progress(self, message: str, fraction: float) -> None:
        self.engine_label.setText(f"Loading: {message}…")
        if fraction < 0 or fraction > 1:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(fraction * 100))
            self.progress.setFormat("%p%")
        self.progress.show()

    @Slot(object)
    def _on_ready(self, info: EngineInfo) -> None:
        # the device alone ("CPU", "CUDA …"), the rest in the tooltip: the status bar keeps its room for
        # the messages and the reading position
        self.engine_label.setText(info.description.split(" · ")[0])
        self.engine_label.setToolTip(f"The path the speech engine runs on: {info.description}")
        self.set_notice("engine", info.notice)
        self.fill_voices(info)
        self.voice_box.setEnabled(True)
        if not self.service.busy:
            self.progress.hide()
            self.status_label.setText("Ready.")
        else:  # a Speak pressed while loading starts now: "Will speak as soon as…" is no longer true
            self.status_label.setText("Paused." if self.service.paused else "Speaking…")

    @Slot(object)
    def fill_voices(self, info: EngineInfo) -> None:
        """List the engine's voices (saved blends last), keeping the one chosen; on loading, the one
        remembered. A chosen blend that was deleted gives way to the default voice."""
        names = [name for name, _ in info.voices]
        wanted = self._saved_voice if self._saved_voice in names else info.default_voice
        self.voice_box.blockSignals(True)  # the same voice, listed again: nothing to restart
        fill_voice_box(self.voice_box, info.voices, info.voice_groups, wanted)
        self.voice_box.blockSignals(False)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.engine_label.setText("Engine not loaded")
        self.progress.hide()
        self.set_notice("load", f"The speech engine could not be loaded: {message}")
        self.status_label.setText("The speech engine could not be loaded.")

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self._chunks = (done, total)
        if total > CHUNKS_COUNTED:
            return  # a long text: the bar shows the audio made ahead (_on_ahead)
        self.progress.setRange(0, max(total, done, 1))
        self.progress.setValue(done)
        self.progress.setFormat(
            f"chunk {min(done + 1, total)} of {total}" if done < total else f"{total} of {total}"
        )
        self.progress.show()

    @Slot(float)
    def _on_ahead(self, seconds: float) -> None:
        if self._chunks[1] <= CHUNKS_COUNTED or not self.service.busy:
            return
        self.progress.setRange(0, round(MAKE_AHEAD_S * 10))
        self.progress.setValue(min(round(seconds * 10), self.progress.maximum()))
        self.progress.setFormat(f"{seconds:.0f} s made ahead")
        self.progress.show()
