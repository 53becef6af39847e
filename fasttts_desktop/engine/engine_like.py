"""What the worker and the window use of an engine: the `EngineLike` contract.

engine.Engine implements it (the real model), and so does the tests' FakeEngine (tones, no model); mypy
checks both against it (`engine._conforms`, `tests/fake_engine._conforms`), so a renamed or dropped
parameter fails the type check, not a test run against a stand-in that no longer matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from fasttts_desktop.engine.text.frontend import PhonemizedChunk
    from fasttts_desktop.engine.text.lexicon import Lexicon
    from fasttts_desktop.engine.text.segments import Reading
    from fasttts_desktop.engine.types import AudioChunk, Voice


class FrontEndLike(Protocol):
    def chunks(
        self, text: str, *, first_max: int | None = ..., start: int = ..., lexicon: Lexicon | None = ...
    ) -> Iterator[PhonemizedChunk]: ...


class EngineLike(Protocol):
    notice: str  # something the user should know about this setup, or ""
    default_voice: str
    weights_source: str  # where the weights came from, one line

    @property
    def description(self) -> str: ...
    @property
    def export_batch(self) -> int: ...
    @property
    def voices(self) -> list[Voice]: ...
    @property
    def lexicon(self) -> Lexicon: ...

    def voice(self, name: str | None) -> Voice: ...
    def set_lexicon(self, lexicon: Lexicon | None) -> None: ...
    def language(self, voice: str | None = None, lang: str | None = None) -> str: ...
    def frontend(self, lang_code: str) -> FrontEndLike: ...
    def script_warnings(
        self, text: str, voice: str | None = None, lang: str | None = None
    ) -> list[tuple[int, int, str]]: ...
    def estimate_chunks(self, text: str, max_phonemes: int | None = None, lang_code: str = "a") -> int: ...
    def stream(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        *,
        cancel: Callable[[], bool] | None = None,
        pack: bool = True,
        batch: int = 1,
        start: int = 0,
        lang: str | None = None,
        reading: Reading | None = None,
        short_first: bool = True,
    ) -> Iterator[AudioChunk]: ...
    def synthesize(
        self,
        text: str,
        voice: str | None = None,
        speed: float = 1.0,
        *,
        cancel: Callable[[], bool] | None = None,
        lang: str | None = None,
    ) -> np.ndarray: ...
