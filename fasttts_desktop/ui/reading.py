"""Reading the text box aloud: where reading starts, skipping, the heard word on the audio clock, the
position.

The service owns playback (what is queued, paused, at the speaker); this only decides which character
offset to speak from and shows what `SpeechService.heard()` reports, polled while sound plays. Skipping
is speaking the same text again from another sentence: the engine starts there at once and drops the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from fasttts_desktop.ui.navigation import SentenceIndex
from fasttts_desktop.ui.reader_view import ReaderEdit
from fasttts_desktop.worker.speech import SpeechService, UtteranceStats

log = logging.getLogger(__name__)

POLL_MS = 25  # 40 Hz: a word is 150-400 ms, so the highlight moves within a frame or two of the sound
# Characters per second of speech at speed 1.0 before anything was heard (English prose ~14-16); the
# estimate of the time left switches to the measured rate after a few seconds of listening.
DEFAULT_CHARS_PER_S = 15.0
_MEASURE_AFTER_S = 3.0


@dataclass(frozen=True)
class ReadingProgress:
    sentence: int  # 1-based
    sentences: int
    fraction: float  # of the text's characters before the current sentence
    heard_s: float  # audio heard of this text so far (all utterances: skips, pauses and stops included)
    left_s: float  # estimated, at `speed`
    speed: float


class Reader(QObject):
    position_changed = Signal(int)  # start of the sentence being (or to be) read, code points
    progress_changed = Signal(object)  # ReadingProgress
    reached_end = Signal()  # the text was read to its last word

    def __init__(
        self,
        service: SpeechService,
        edit: ReaderEdit,
        choices: Callable[[], tuple[str, float]],  # (voice, speed) as chosen in the window now
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.service = service
        self.edit = edit
        self._choices = choices
        self._text: str | None = None  # what offsets refer to; None: the box changed, index it again
        self._index: SentenceIndex | None = None
        self._setting_text = False
        self.position = 0  # where the next Speak (without a placed cursor) starts
        self._request = 0  # the utterance this reader started and still waits on, 0 when none
        self._ended_own = False  # the utterance that just ended was this reader's (not one read aside)
        self._started_at = 0  # its first character
        self._speed = 1.0
        self._done_s = 0.0  # seconds heard in this text's finished utterances
        self._done_chars_1x = 0.0  # characters they covered, scaled to speed 1.0
        self._now_s = 0.0  # seconds heard in the current utterance
        self._now_chars = 0
        self._last_progress: ReadingProgress | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)
        edit.textChanged.connect(self._text_edited)
        edit.read_here.connect(self.read_here)
        service.busy_changed.connect(self._on_busy)
        service.paused_changed.connect(self._on_paused)
        service.utterance_finished.connect(self._on_finished)

    # --- the text ---

    def set_text(self, text: str, index: SentenceIndex | None = None, headings=()) -> None:
        """Show `text` (a document) in the box; `index` when it was already built off the GUI thread."""
        self._setting_text = True  # formatting the headings changes the document too
        try:
            self.edit.set_text(text, headings)
        finally:
            self._setting_text = False
        self._use(text, index or SentenceIndex(text))
        self.position = 0

    def _use(self, text: str, index: SentenceIndex) -> None:
        self._text, self._index = text, index
        self.edit.use_positions(text)
        self._done_s = self._done_chars_1x = 0.0
        self._now_s, self._now_chars = 0.0, 0
        self._last_progress = None

    @Slot()
    def _text_edited(self) -> None:
        if not self._setting_text:
            self._text = self._index = None
            self.position = 0
            self.edit.clear_reading()

    def snapshot(self) -> tuple[str, SentenceIndex]:
        """The text offsets refer to and its sentences (indexed again after the box was edited)."""
        text, index = self._text, self._index
        if text is None or index is None:
            text = self.edit.toPlainText()
            index = SentenceIndex(text)
            self._use(text, index)
        return text, index

    # --- what the user asks for ---

    def speak(self) -> bool:
        """Read from the cursor the user put somewhere, else from the position; False: nothing to read."""
        text, index = self.snapshot()
        if not text.strip():
            return False
        if self.edit.cursor_placed:
            start = index.read_from(self.edit.cursor_offset())
        else:
            start = self.position if text[self.position :].strip() else 0
        self.speak_from(start)
        return True

    def speak_from(self, offset: int, follow: bool = True) -> None:
        """Read from `offset` now. `follow`: keep the reading in view (Speak does; a skip keeps the view
        where the user scrolled it, if they did).
        """
        voice, speed = self._choices()
        self._close_utterance()
        self._speed = speed
        self._request = self.service.speak(self.snapshot()[0], voice, speed, start=offset)
        self._started_at = offset
        self.edit.forget_cursor()
        if follow:
            self.edit.set_following(True)
        self._set_position(offset)
        self._show_position(scroll=self.edit.following)
        self._timer.start()

    def speak_aside(self, text: str, voice: str = "") -> None:
        """Read `text`, which is not the box's (the clipboard while a document is open, a voice mix's
        sample, a word being tried): nothing is highlighted, and the box's position, and so the document's
        remembered place, stay as they were. `voice`: another than the window's."""
        chosen, speed = self._choices()
        voice = voice or chosen
        self._timer.stop()
        self._close_utterance()
        self.service.speak(text, voice, speed)

    @Slot(int)
    def read_here(self, offset: int) -> None:
        """The context menu's "Read from Here": the sentence at `offset`, now."""
        text, index = self.snapshot()
        if text.strip():
            self.speak_from(index.read_from(offset))

    def resume(self) -> None:
        """Go on from the pause, the view following the reading again."""
        self.edit.set_following(True)
        self.service.resume()

    def restart(self) -> None:
        """Read on from the current sentence with the window's voice and speed now (they were changed)."""
        if self.service.busy and self._request and self._text is not None:
            self.speak_from(self.position, follow=False)

    def skip_sentences(self, delta: int) -> None:
        index = self.snapshot()[1]
        self._skip(index, index.step_sentence(self.current_sentence(), delta))

    def skip_paragraphs(self, delta: int) -> None:
        index = self.snapshot()[1]
        self._skip(index, index.step_paragraph(self.current_sentence(), delta))

    def _skip(self, index: SentenceIndex, number: int | None) -> None:
        if number is not None:
            log.info(
                "skip to sentence %d of %d (character %d)", number + 1, len(index), index.start_of(number)
            )
            self.go_to(index.start_of(number))

    def go_to(self, offset: int, top: bool = False) -> None:
        """Read on from `offset` at once if reading; otherwise make it where the next Speak starts.
        `top`: a jump (to a chapter) that shows `offset` at the top of the view.
        """
        if self.service.busy and self._request:
            self.speak_from(offset, follow=top)
            if top:
                self.edit.scroll_to(offset)
            return
        self._set_position(offset)
        self.edit.move_cursor_to(offset)
        self._show_position(scroll=True, top=top)
        self._emit_progress()

    def current_sentence(self) -> int:
        return max(0, self.snapshot()[1].at(self.position))

    # --- the audio clock ---

    @Slot()
    def poll(self) -> None:
        heard = self.service.heard()
        if heard is None or heard.request != self._request or self._index is None:
            return
        index = self._index
        sentence = index.span(index.at(heard.offset)) if len(index) else None
        has_word = (heard.offset, heard.end) != (heard.chunk_start, heard.chunk_end)
        self.edit.show_reading(sentence, (heard.offset, heard.end) if has_word else None)
        if self.edit.following:
            self.edit.keep_visible(heard.offset)
        if sentence is not None:
            self._set_position(sentence[0])
        self._now_s, self._now_chars = heard.seconds, max(0, heard.offset - self._started_at)
        self._emit_progress()

    @Slot(bool)
    def _on_busy(self, busy: bool) -> None:
        if busy:
            return
        self._timer.stop()
        self._ended_own = bool(self._request)
        self._close_utterance()
        if self._index is not None:
            self._show_position(scroll=False)

    @Slot(bool)
    def _on_paused(self, paused: bool) -> None:
        if paused:
            self._timer.stop()
            self.poll()  # the last word heard stays lit while paused
        elif self.service.busy and self._request:
            self._timer.start()

    @Slot(object)
    def _on_finished(self, _stats: UtteranceStats) -> None:
        # Read to the end: the next Speak starts from the top, and the document is not "in progress".
        if self._index is not None and self._ended_own:
            progress = self.progress()
            if progress is not None:  # the whole text was heard: 100%, nothing left
                self.progress_changed.emit(
                    replace(progress, sentence=progress.sentences, fraction=1.0, left_s=0.0)
                )
            self._set_position(0)
            self.edit.clear_reading()
            self.reached_end.emit()

    def _close_utterance(self) -> None:
        if self._request:
            self._done_s += self._now_s
            self._done_chars_1x += self._now_chars / self._speed
            self._now_s, self._now_chars = 0.0, 0
            self._request = 0

    # --- helpers ---

    def _set_position(self, offset: int) -> None:
        if offset != self.position:
            self.position = offset
            self.position_changed.emit(offset)

    def _show_position(self, scroll: bool, top: bool = False) -> None:
        index = self._index
        if index is None or not len(index):
            return
        number = index.at(self.position)
        self.edit.show_reading(index.span(number), None)
        if scroll:
            if top:
                self.edit.scroll_to(self.position)
            else:
                self.edit.keep_visible(self.position)

    def progress(self) -> ReadingProgress | None:
        index = self._index
        if index is None or not len(index) or not self._text:
            return None
        speed = self._speed if self._request else self._choices()[1]
        heard_s = self._done_s + self._now_s
        chars_1x = self._done_chars_1x + self._now_chars / self._speed
        rate_1x = chars_1x / heard_s if heard_s >= _MEASURE_AFTER_S and chars_1x else DEFAULT_CHARS_PER_S
        # Characters per second of audio at speed 1.0; at speed v the rest takes 1/v as long.
        left = max(0, len(self._text) - self.position) / (rate_1x * speed)
        return ReadingProgress(
            sentence=index.at(self.position) + 1,
            sentences=len(index),
            fraction=self.position / len(self._text),
            heard_s=heard_s,
            left_s=left,
            speed=speed,
        )

    def _emit_progress(self) -> None:
        progress = self.progress()
        if progress is not None and progress != self._last_progress:
            self._last_progress = progress
            self.progress_changed.emit(progress)
