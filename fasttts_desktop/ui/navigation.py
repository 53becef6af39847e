"""Sentences and paragraphs of the text being read, for skipping, "read from here" and "sentence i of n".

No Qt. Built once per text (off the GUI thread for a document: ~0.1 s for 2 MB) from the engine's own
sentence finder, so a skip lands exactly where the engine would start a sentence. Lookups are bisections.

Python counts characters in code points, Qt's text positions in UTF-16 units; `QtPositions` converts
between the two for texts with characters outside the BMP (emoji, historic scripts).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from fasttts_desktop.engine.text.chunking import sentences

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class SentenceIndex:
    def __init__(self, text: str):
        self.text = text
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.paragraph_starts: list[int] = []  # sentence numbers that begin a paragraph
        new_paragraph = True
        for s in sentences(text):
            if new_paragraph:
                self.paragraph_starts.append(len(self.starts))
            self.starts.append(s.start)
            self.ends.append(s.end)
            new_paragraph = s.ends_paragraph

    def __len__(self) -> int:
        return len(self.starts)

    def at(self, offset: int) -> int:
        """The sentence holding character `offset` (the one before it when `offset` is in the gap between
        two, the first one before the first); -1 when there are none.
        """
        if not self.starts:
            return -1
        return max(0, bisect_right(self.starts, offset) - 1)

    def span(self, number: int) -> tuple[int, int]:
        return self.starts[number], self.ends[number]

    def start_of(self, number: int) -> int:
        return self.starts[number]

    def step_sentence(self, number: int, delta: int) -> int | None:
        """The sentence `delta` sentences from `number`; None past either end."""
        target = number + delta
        return target if 0 <= target < len(self.starts) else None

    def step_paragraph(self, number: int, delta: int) -> int | None:
        """First sentence of the next (delta > 0) or previous paragraph. Going back from inside a paragraph
        first returns to its own start, as Ctrl+Up does in an editor.
        """
        paragraphs = self.paragraph_starts
        if not paragraphs:
            return None
        here = bisect_right(paragraphs, number) - 1  # the paragraph holding sentence `number`
        if delta > 0:
            target = here + delta
        elif paragraphs[here] < number:
            target = here + delta + 1
        else:
            target = here + delta
        return paragraphs[target] if 0 <= target < len(paragraphs) else None

    def read_from(self, offset: int) -> int:
        """Where reading "from here" starts: the start of the sentence at `offset`, or 0 when nothing
        speakable follows `offset` (a cursor left at the end of typed text means "read it all").
        """
        if not self.starts or offset >= self.ends[-1]:
            return 0
        number = self.at(offset)
        if offset >= self.ends[number] and number + 1 < len(self.starts):
            number += 1  # in the gap after a sentence: the next one
        return self.starts[number]


class QtPositions:
    """Code-point offsets <-> QTextDocument positions (UTF-16 units); the identity for BMP-only text."""

    def __init__(self, text: str):
        self._astral = [m.start() for m in _ASTRAL.finditer(text)]
        # The same characters in Qt's units: each one is preceded by its index's worth of extra units.
        self._astral_qt = [offset + k for k, offset in enumerate(self._astral)]

    def to_qt(self, offset: int) -> int:
        return offset + bisect_left(self._astral, offset) if self._astral else offset

    def from_qt(self, position: int) -> int:
        if not self._astral:
            return position
        # Each astral character wholly before `position` took two units; a position inside one (between
        # its surrogates) maps to just after it.
        return position - bisect_left(self._astral_qt, position - 1)
