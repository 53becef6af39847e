"""Voice > Mix Voices… (and the Mix button beside the voice picker) and Voice > Pronunciation…: opens the
two dialogs and carries what they ask to the service (`window.voice_dialogs`).

Both dialogs stay open beside the window (not modal), so the user can mix or fix a word while reading.
What they want heard (a mix's sample, a word being tried) is read aside: the text box keeps its place.
After a blend is saved or deleted the engine reads its voice list again and the voice picker is filled
from it, keeping the voice chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QDialog

from fasttts_desktop.engine.storage.blends import saved_blends
from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.ui.lexicon_dialog import LexiconDialog
from fasttts_desktop.ui.voice_mixer import VoiceMixer
from fasttts_desktop.worker.engine_tools import PhonemesResult
from fasttts_desktop.worker.engine_worker import EngineInfo

if TYPE_CHECKING:
    from fasttts_desktop.ui.main_window import MainWindow

D = TypeVar("D", bound=QDialog)


class VoiceDialogs(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = w = window
        self.mixer: VoiceMixer | None = None  # made on first use, then kept (it remembers its rows)
        self.lexicon: LexiconDialog | None = None
        self._phonemes_asked = 0  # the phonemes request whose answer the dialog waits for
        a, tools = w.commands, w.service.tools
        a.mix_voices.setEnabled(False)  # until the engine has listed its voices
        a.mix_voices.triggered.connect(self.open_mixer)
        a.pronunciation.triggered.connect(self.open_lexicon)
        w.service.ready.connect(self._on_voices)
        tools.voices_changed.connect(w.fill_voices)
        tools.voices_changed.connect(self._on_voices)
        tools.phonemes_ready.connect(self._on_phonemes)
        tools.lexicon_failed.connect(self._on_lexicon_failed)

    def engine_voices(self) -> list[tuple[str, str]]:
        """(name, label) of the engine's own voices: what a blend can mix (blends themselves are not)."""
        info = self.window.service.engine_info
        if info is None:
            return []
        try:
            blends = saved_blends()
        except EngineError:
            blends = {}
        return [(name, label) for name, label in info.voices if name not in blends]

    @Slot()
    def open_mixer(self) -> VoiceMixer:
        if self.mixer is None:
            self.mixer = VoiceMixer(self.window.settings, self.window)
            self.mixer.preview_requested.connect(self._preview)
            self.mixer.blends_changed.connect(self.window.service.tools.read_voices)
        self.mixer.set_voices(self.engine_voices(), self.window.voice())
        self.mixer.fill_saved()
        return _show(self.mixer)

    @Slot()
    def open_lexicon(self) -> LexiconDialog:
        if self.lexicon is None:
            self.lexicon = LexiconDialog(self.window.settings, self.window)
            self.lexicon.hear_requested.connect(self._hear)
            self.lexicon.phonemes_requested.connect(self._ask_phonemes)
            self.lexicon.lexicon_saved.connect(self.window.service.tools.use_lexicon)
        else:
            self.lexicon.reload()
        return _show(self.lexicon)

    @Slot(str, str)
    def _preview(self, text: str, spec: str) -> None:
        self.window.reader.speak_aside(text, voice=spec)
        self.window.status_label.setText(f"Previewing the mix {spec}…")

    @Slot(str)
    def _hear(self, text: str) -> None:
        self.window.reader.speak_aside(text)
        self.window.status_label.setText(f"Speaking “{text[:40]}” with {self.window.voice()}…")

    @Slot(str)
    def _ask_phonemes(self, text: str) -> None:
        self._phonemes_asked = self.window.service.tools.phonemes(text, self.window.voice())

    @Slot(object)
    def _on_phonemes(self, result: PhonemesResult) -> None:
        if self.lexicon is not None and result.request == self._phonemes_asked:
            self.lexicon.show_phonemes(result)

    @Slot(str)
    def _on_lexicon_failed(self, message: str) -> None:
        if self.lexicon is not None and self.lexicon.isVisible():
            self.lexicon.show_error(message)
        else:
            self.window.show_error(message)

    @Slot(object)
    def _on_voices(self, _info: EngineInfo) -> None:
        self.window.commands.mix_voices.setEnabled(True)
        if self.mixer is not None:
            self.mixer.set_voices(self.engine_voices(), self.window.voice())


def _show(dialog: D) -> D:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
