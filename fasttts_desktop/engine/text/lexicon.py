"""The user's pronunciation lexicon: words, phrases and abbreviations said the way the user wants.

An entry maps text as it is written ("Kokoro", "approx.", "New York") either to a respelling the front
end then reads ("approximately", "koh-KOH-roh") or, for experts, to phonemes between slashes
(/kˈOkəɹO/). Entries apply to every language unless limited to some (kokoro's codes: a, b, e, f, h, i,
j, p, z). A key written all in lower case matches any case; one with capitals matches exactly, so "US"
does not catch "us". Keys match whole words in spaced scripts and anywhere in Japanese and Chinese.

The front end finds entries in the text itself, so what is spoken changes but offsets into the user's
text do not: the word is highlighted as written. Stored as JSON in the user config dir, written whole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fasttts_desktop.engine.storage.jsonfile import locked, read_json, write_json_atomic
from fasttts_desktop.engine.text.writing_systems import HAN, KANA, script_of
from fasttts_desktop.engine.types import EngineError

__all__ = ["Lexicon", "LexiconEntry", "english_phonemes"]

FILE_NAME = "lexicon.json"
MAX_KEY = 100
_CODES = frozenset("abefhijpz")
# Common IPA written by people, in the symbols misaki's English uses (kokoro's English was trained on them).
_IPA_TO_MISAKI_EN = (
    ("oʊ", "O"), ("əʊ", "Q"), ("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"),
    ("dʒ", "ʤ"), ("tʃ", "ʧ"), ("ɝ", "ɜɹ"), ("r", "ɹ"), ("ɫ", "l"),
)  # fmt: skip


def _vocab() -> frozenset[str]:
    from fasttts_desktop.engine.synthesis.config import kokoro_config

    return frozenset(kokoro_config()["vocab"])


def english_phonemes(phonemes: str) -> str:
    for ipa, misaki in _IPA_TO_MISAKI_EN:
        phonemes = phonemes.replace(ipa, misaki)
    return phonemes


@dataclass(frozen=True)
class LexiconEntry:
    text: str  # as written in the user's text
    replacement: str  # a respelling, or phonemes between slashes
    languages: tuple[str, ...] = ()  # kokoro language codes; () = all

    @property
    def phonemes(self) -> str | None:
        """The phonemes of a /.../ entry (ASCII g as kokoro's ɡ), None for a respelling."""
        r = self.replacement
        if len(r) >= 2 and r[0] == "/" and r[-1] == "/":
            return r[1:-1].strip().replace("g", "ɡ")
        return None

    @property
    def kind(self) -> str:
        """One of "phonemes", "abbreviation" (a key ending in a period) or "respelling" (lists, dialogs)."""
        if self.phonemes is not None:
            return "phonemes"
        return "abbreviation" if self.text.endswith(".") else "respelling"

    def applies_to(self, lang_code: str) -> bool:
        return not self.languages or lang_code in self.languages

    def phonemes_for(self, lang_code: str) -> str | None:
        ps = self.phonemes
        if ps is not None and lang_code in ("a", "b"):
            ps = english_phonemes(ps)
        return ps

    def to_json(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {"text": self.text, "replacement": self.replacement}
        if self.languages:
            out["languages"] = list(self.languages)
        return out


def _checked(text: str, replacement: str, languages: Iterable[str]) -> LexiconEntry:
    text, replacement = text.strip(), replacement.strip()
    langs = tuple(sorted({c.strip().lower() for c in languages if c.strip()}))
    if not text or any(c in text for c in "\r\n"):
        raise EngineError("A lexicon entry needs the word or phrase on one line.")
    if len(text) > MAX_KEY:
        raise EngineError(f"A lexicon entry's text is limited to {MAX_KEY} characters.")
    if not replacement:
        raise EngineError(f"Say how {text!r} should be read: a respelling, or phonemes between slashes.")
    bad_langs = [c for c in langs if c not in _CODES]
    if bad_langs:
        raise EngineError(f"Unknown language code {bad_langs[0]!r}: use {', '.join(sorted(_CODES))}.")
    entry = LexiconEntry(text, replacement, langs)
    ps = entry.phonemes
    if ps is not None:
        vocab = _vocab() | {" "}
        english = not langs or set(langs) <= {"a", "b"}
        unknown = sorted({c for c in (english_phonemes(ps) if english else ps) if c not in vocab})
        if not ps or unknown:
            shown = " ".join(unknown[:20]) + (" ..." if len(unknown) > 20 else "") or "(none given)"
            raise EngineError(f"Phonemes for {text!r} must be from Kokoro's symbols; not known: {shown}")
    return entry


class Lexicon:
    """A list of entries, the file it came from, and the matching they make."""

    def __init__(self, entries: Iterable[LexiconEntry] = (), path: Path | None = None):
        self.path = Path(path) if path is not None else None
        self._entries: list[LexiconEntry] = list(entries)
        self._stamp = _stamp(self.path)
        self._patterns: dict[str, re.Pattern | None] = {}

    @staticmethod
    def default_path() -> Path:
        from fasttts_desktop.engine.storage.paths import config_dir

        return config_dir() / FILE_NAME

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> Lexicon:
        """The saved lexicon (empty when there is none yet). Bad JSON is a one-line EngineError."""
        path = Path(path) if path is not None else cls.default_path()
        stamp = _stamp(path)
        raw = read_json(path, {"entries": []})
        items = raw.get("entries") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise EngineError(f"{path} is not a lexicon (no list of entries): fix or remove it")
        entries = []
        for item in items:
            try:
                entries.append(_checked(item["text"], item["replacement"], item.get("languages", ())))
            except (EngineError, KeyError, TypeError, AttributeError) as exc:
                # one bad entry must not cost the user the rest of their lexicon
                import logging

                logging.getLogger(__name__).warning(
                    "skipping the lexicon entry %s in %s: %s", _entry_label(item), path, _first_line(exc)
                )
        lexicon = cls(entries, path)
        lexicon._stamp = stamp
        return lexicon

    @classmethod
    @contextmanager
    def editing(cls, path: str | os.PathLike | None = None) -> Iterator[Lexicon]:
        """The saved lexicon to change in the block, saved at its end, all under the file's lock: another
        process's change made meanwhile waits, and is not lost (see jsonfile.locked)."""
        target = Path(path) if path is not None else cls.default_path()
        with locked(target):
            lexicon = cls.load(target)
            yield lexicon
            lexicon.save(target)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        target = Path(path) if path is not None else self.path or self.default_path()
        write_json_atomic(target, {"version": 1, "entries": [e.to_json() for e in self._entries]})
        self.path = target
        self._stamp = _stamp(target)
        return target

    def changed_on_disk(self) -> bool:
        """Whether the file was written (by another window, the CLI, a text editor) since load or save."""
        return self.path is not None and _stamp(self.path) != self._stamp

    def entries(self) -> list[LexiconEntry]:
        return list(self._entries)

    def add(self, text: str, replacement: str, languages: Iterable[str] = ()) -> LexiconEntry:
        """Add an entry, replacing one with the same text and languages. Raises EngineError when invalid."""
        entry = _checked(text, replacement, languages)
        self._entries = [e for e in self._entries if (e.text, e.languages) != (entry.text, entry.languages)]
        self._entries.append(entry)
        self._patterns.clear()
        return entry

    def remove(self, text: str, languages: Iterable[str] | None = None) -> int:
        """Remove the entries for `text` (only those for exactly `languages` when given); how many went."""
        langs = None if languages is None else tuple(sorted(set(languages)))
        keep = [
            e for e in self._entries if e.text != text.strip() or (langs is not None and e.languages != langs)
        ]
        removed = len(self._entries) - len(keep)
        self._entries = keep
        self._patterns.clear()
        return removed

    def matches(self, text: str, lang_code: str) -> list[tuple[int, int, LexiconEntry]]:
        """(start, end, entry) for each place in `text` an entry applies, left to right, longest first."""
        if lang_code not in self._patterns:
            self._patterns[lang_code] = self._pattern(lang_code)
        pattern = self._patterns[lang_code]
        if pattern is None:
            return []
        exact = {e.text: e for e in self._entries if e.applies_to(lang_code)}
        folded = {e.text.lower(): e for e in exact.values() if e.text == e.text.lower()}
        out = []
        for m in pattern.finditer(text):
            entry = exact.get(m.group()) or folded.get(m.group().lower())
            if entry is not None:
                out.append((m.start(), m.end(), entry))
        return out

    def _pattern(self, lang_code: str) -> re.Pattern | None:
        keys = sorted({e.text for e in self._entries if e.applies_to(lang_code)}, key=len, reverse=True)
        if not keys:
            return None
        parts = []
        for key in keys:
            body = re.escape(key)
            if key == key.lower():
                body = f"(?i:{body})"
            head = r"(?<!\w)" if _spaced_word_char(key[0]) else ""
            tail = r"(?!\w)" if _spaced_word_char(key[-1]) else ""
            parts.append(head + body + tail)
        return re.compile("|".join(parts))

    def __len__(self) -> int:
        return len(self._entries)


def _entry_label(item: object) -> str:
    """A skipped entry named in a warning: its text, cut short (a 10,000-character key is not echoed)."""
    if not isinstance(item, dict):
        return f"({type(item).__name__}, not an entry)"
    text = item.get("text")
    if not isinstance(text, str):
        return "(no text)"
    shown = " ".join(text.split())
    return repr(shown) if len(shown) <= 40 else f"{shown[:40]!r}... ({len(text):,} characters)"


def _first_line(exc: Exception) -> str:
    text = str(exc) if not isinstance(exc, KeyError) else f"no {exc.args[0]!r}"
    return (text.splitlines() or [type(exc).__name__])[0][:200]


def _spaced_word_char(c: str) -> bool:
    # Word edges exist only where words are spaced: a Japanese or Chinese key may sit inside a longer run.
    return (c.isalnum() or c == "_") and script_of(c) not in HAN | KANA


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        st = path.stat() if path is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st else None
