"""Questions for the engine that make no audio: the voice list read again (a blend was saved or deleted),
the phonemes a text will be spoken with (the front end only), and which pronunciation lexicon to use.

EngineTools lives on the engine thread beside EngineWorker (it is the worker's child), so the engine is
only ever touched from that thread, a question is answered between two chunks of a reading, and requests
keep their order: a lexicon handed over before a Speak is the one that Speak reads with.
ToolsControl is the GUI thread's side (SpeechService.tools).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from fasttts_desktop.engine.types import EngineError

if TYPE_CHECKING:
    from fasttts_desktop.worker.engine_worker import EngineInfo, EngineWorker
    from fasttts_desktop.worker.speech import SpeechService

__all__ = ["EngineTools", "PhonemesResult", "ToolsControl"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhonemesResult:
    request: int
    text: str
    lang_code: str  # the language the text was read in ("" when it could not be)
    chunks: tuple[tuple[str, str], ...]  # (the chunk's text, its phonemes), in order
    unspoken: str = ""  # one line naming characters the front end cannot say, "" when none
    error: str = ""  # one line for the user when there are no phonemes
    readers: tuple[str, ...] = ()  # the front ends that read it, in order ("a" for English words in "j")

    @property
    def phonemes(self) -> str:
        return " ".join(phonemes for _, phonemes in self.chunks)


class EngineTools(QObject):
    """On the engine thread. Reads the engine the worker loaded; never makes audio."""

    voices_read = Signal(list)  # [(name, label)], as EngineInfo.voices
    phonemes_ready = Signal(object)  # PhonemesResult
    lexicon_failed = Signal(str)  # one line: the lexicon file could not be read; the old one stays in use

    def __init__(self, worker: EngineWorker):
        super().__init__(worker)  # moves to the engine thread with the worker
        self._worker = worker

    @Slot()
    def read_voices(self) -> None:
        try:
            engine = self._worker.engine_or_error()
        except EngineError:
            return  # not loaded: the list comes with `loaded`
        self.voices_read.emit([(v.name, v.label) for v in engine.voices])

    @Slot(int, str, str, str)
    def phonemes(self, request: int, text: str, voice: str, lang: str) -> None:
        """What the engine will say for `text` with `voice` (or in `lang`), with the lexicon in use."""
        from fasttts_desktop.engine.text.prepare import describe_unspoken
        from fasttts_desktop.engine.text.writing_systems import reader_runs

        try:
            engine = self._worker.engine_or_error()
            if not text.strip():
                raise EngineError("There is no text to show the phonemes of.")
            lang_code = engine.language(voice or None, lang or None)
            chunks: list[tuple[str, str]] = []
            unspoken: list[tuple[int, str]] = []
            for pc in engine.frontend(lang_code).chunks(text, first_max=None, lexicon=engine.lexicon):
                chunks.append((pc.chunk.text, pc.chunk.phonemes))
                unspoken.extend(pc.unspoken)
        except Exception as exc:  # the dialog shows it as one line; the reading goes on
            if not isinstance(exc, EngineError):
                log.exception("phonemes failed")
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.phonemes_ready.emit(PhonemesResult(request, text, "", (), error=message))
            return
        readers = tuple(dict.fromkeys(code for _, _, code in reader_runs(text, lang_code)))
        result = PhonemesResult(
            request, text, lang_code, tuple(chunks), describe_unspoken(unspoken), readers=readers
        )
        if not chunks:
            result = dataclasses.replace(result, error="The text has nothing speakable in it.")
        self.phonemes_ready.emit(result)

    @Slot(str)
    def use_lexicon(self, path: str) -> None:
        """Read the lexicon saved at `path` (the default file when "") and use it from the next chunk on."""
        from fasttts_desktop.engine.text.lexicon import Lexicon

        if not self._worker.is_loaded:
            return  # the engine reads the saved file when it loads
        try:
            self._worker.engine_or_error().set_lexicon(Lexicon.load(path or None))
        except EngineError as exc:  # a damaged file: the lexicon in use stays
            self.lexicon_failed.emit(str(exc))


class ToolsControl(QObject):
    """The GUI thread's side of EngineTools: ask, and hear back by signal."""

    voices_changed = Signal(object)  # EngineInfo with the voice list read again (service.engine_info)
    phonemes_ready = Signal(object)  # PhonemesResult
    lexicon_failed = Signal(str)

    _read_voices = Signal()
    _phonemes = Signal(int, str, str, str)
    _use_lexicon = Signal(str)

    def __init__(self, tools: EngineTools, service: SpeechService):
        super().__init__(service)
        self._service = service  # its `engine_info` is replaced when the voices are read again
        self._next = 0
        # Queued: the tools live on the engine thread.
        self._read_voices.connect(tools.read_voices)
        self._phonemes.connect(tools.phonemes)
        self._use_lexicon.connect(tools.use_lexicon)
        tools.voices_read.connect(self._on_voices)
        tools.phonemes_ready.connect(self.phonemes_ready)
        tools.lexicon_failed.connect(self.lexicon_failed)

    def read_voices(self) -> None:
        """Read the engine's voices again (saved blends included); `voices_changed` follows."""
        self._read_voices.emit()

    def phonemes(self, text: str, voice: str = "", lang: str = "") -> int:
        """Ask for `text`'s phonemes; `phonemes_ready` brings a PhonemesResult with the returned id."""
        self._next += 1
        self._phonemes.emit(self._next, text, voice, lang)
        return self._next

    def use_lexicon(self, path: str = "") -> None:
        """The lexicon saved at `path` (default: the user's) is used from the next chunk read on."""
        self._use_lexicon.emit(path)

    @Slot(list)
    def _on_voices(self, voices: list[tuple[str, str]]) -> None:
        info: EngineInfo | None = self._service.engine_info
        if info is None:
            return
        self._service.engine_info = dataclasses.replace(info, voices=voices)
        self.voices_changed.emit(self._service.engine_info)
