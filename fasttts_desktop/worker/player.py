"""The Qt side of playback: one Playback per utterance, started, stopped and closed on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from fasttts_desktop.worker.audio_output import NoOutputDevice, Playback, PlaybackStats, warm_up_output

log = logging.getLogger(__name__)


class Player(QObject):
    """Plays utterances one at a time; a new one or `stop` silences the old one at once."""

    finished = Signal(int, object)  # request id, PlaybackStats: the last sample has been played
    device_problem = Signal(str)  # why sound cannot be played, for the user; "" once it can again
    # Emitted on PortAudio's thread; a queued connection brings it back here to close the stream.
    _stream_done = Signal(int)

    def __init__(
        self,
        make_playback: Callable[..., Playback] = Playback,
        warm_up: Callable[[], None] = warm_up_output,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._make_playback = make_playback
        self._warm_up = warm_up
        self._problem = ""
        self._playback: Playback | None = None
        self._request = 0
        # Request ids only grow; pieces of a request that was stopped, failed or finished are dropped.
        self._done_up_to = 0
        self._stream_done.connect(self._on_stream_done)

    def probe(self) -> bool:
        """Find the output device now (the first open costs ~0.25 s), so Speak does not pay for it."""
        try:
            self._warm_up()
        except NoOutputDevice as exc:
            self._set_problem(str(exc))
            return False
        self._set_problem("")
        return True

    def _set_problem(self, message: str) -> None:
        if message != self._problem:
            self._problem = message
            self.device_problem.emit(message)

    @Slot(int, object)
    def play(self, request: int, audio: np.ndarray) -> bool:
        """Queue a piece of utterance `request`; the first piece of a new request replaces the old one.

        False when it will not be heard (no output device, or the request is over).
        """
        if request <= self._done_up_to:
            return False
        if request != self._request:
            self.stop()
            self._request = request
            playback = self._make_playback(lambda: self._stream_done.emit(request))
            playback.feed(audio)
            try:
                playback.start()
            except NoOutputDevice as exc:
                self._done_up_to = request
                self._set_problem(str(exc))
                return False
            self._set_problem("")
            self._playback = playback
        else:
            self._playback.feed(audio)
        return True

    @Slot(int)
    def end(self, request: int) -> None:
        """Utterance `request` has no more audio coming."""
        if request == self._request and self._playback is not None:
            self._playback.end()

    @Slot()
    def stop(self) -> PlaybackStats | None:
        self._done_up_to = self._request
        playback, self._playback = self._playback, None
        if playback is None:
            return None
        playback.stop()
        playback.close()
        return playback.stats

    @property
    def playing(self) -> bool:
        return self._playback is not None

    @Slot(int)
    def _on_stream_done(self, request: int) -> None:
        if request != self._request or self._playback is None:
            return  # a stream that was stopped or replaced meanwhile
        self._done_up_to = request
        playback, self._playback = self._playback, None
        playback.close()
        self.finished.emit(request, playback.stats)
