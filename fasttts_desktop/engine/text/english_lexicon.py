"""misaki's English dictionaries kept in an SQLite file in the user cache, read by look-up.

misaki's `Lexicon` loads its gold and silver JSON (365,000 words for American English) into two Python dicts
on every start: ~0.35 s of CPU on the front end's load and ~58 MB of memory for the life of the app, for the
~2 look-ups a word that reading makes. Here they are written once, exactly as misaki grows them (its own
`Lexicon` builds the dicts that are stored), into `<user cache>/text/`, and later starts open that file in
a few milliseconds and look words up in it (~2-3 us each). misaki's G2P and Lexicon then run unchanged
over the stored mappings: they only test membership, `get` and index them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from importlib import metadata, resources
from pathlib import Path

from fasttts_desktop.engine.storage.files import AtomicFile
from fasttts_desktop.engine.storage.paths import cache_dir

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the file's layout changes: older files are then rebuilt under a new name
_write_lock = threading.Lock()  # American and British front ends may be built at once on two threads


class StoredWords(Mapping):
    """One of misaki's word -> phonemes dicts (a value is a string, or a dict by part of speech), read-only.

    Calls come one at a time under the English G2P's lock, from whichever thread speaks, hence one shared
    connection opened with `check_same_thread=False`.
    """

    def __init__(self, db: sqlite3.Connection, source: int):
        self._db = db
        self._source = source  # 0: misaki's gold words, 1: its silver ones
        self._decoded: dict[str, dict] = {}  # part-of-speech entries, parsed once

    def __getitem__(self, word: str):
        if not isinstance(word, str):
            raise KeyError(word)
        row = self._db.execute(
            "SELECT kind, value FROM words WHERE source = ? AND word = ?", (self._source, word)
        ).fetchone()
        if row is None:
            raise KeyError(word)
        kind, value = row
        if kind == 0:
            return value
        entry = self._decoded.get(word)
        if entry is None:
            entry = self._decoded[word] = json.loads(value)
        return entry

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        query = "SELECT 1 FROM words WHERE source = ? AND word = ?"
        return self._db.execute(query, (self._source, word)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        return (w for (w,) in self._db.execute("SELECT word FROM words WHERE source = ?", (self._source,)))

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM words WHERE source = ?", (self._source,)).fetchone()[0]


def stored_lexicon(british: bool):
    """A misaki `Lexicon` over the stored dictionaries, building the file from misaki's own on first use
    (that run keeps misaki's in-memory Lexicon). A damaged file is rebuilt; where none can be written (an
    unwritable cache) misaki's own Lexicon is used, as without this module."""
    from misaki import en

    try:
        path = _path(british)
    except OSError as exc:  # misaki's data not where a file system path reaches it (a zipped install)
        log.warning("The English dictionary is read from misaki at each start: %s", exc)
        return en.Lexicon(british)
    if path.exists():
        try:
            golds, silvers = _open(path)
        except sqlite3.Error as exc:
            log.warning("The stored English dictionary %s is unreadable (%s): rebuilding it.", path, exc)
        else:
            lex = en.Lexicon.__new__(en.Lexicon)  # misaki's __init__ would read the JSON again
            lex.british = british
            lex.cap_stresses = (0.5, 2)
            lex.golds, lex.silvers = golds, silvers
            return lex
    own = en.Lexicon(british)
    try:
        _write(path, own)
    except (OSError, sqlite3.Error) as exc:
        log.warning("Could not store the English dictionary (%s): it is read from misaki at each start.", exc)
    return own


def _open(path: Path) -> tuple[StoredWords, StoredWords]:
    # immutable: no locks taken on each read; a rebuilt file replaces this one under a new inode
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    golds, silvers = StoredWords(db, 0), StoredWords(db, 1)
    if not (len(golds) and len(silvers)):  # reads every page: a damaged file fails here, not mid-sentence
        raise sqlite3.DatabaseError("no words in it")
    return golds, silvers


def _path(british: bool) -> Path:
    """Named by everything that decides its content: misaki's version, the JSON files' sizes and times."""
    variant = "gb" if british else "us"
    data = resources.files("misaki.data")
    stamps = []
    for table in ("gold", "silver"):
        st = Path(str(data / f"{variant}_{table}.json")).stat()
        stamps.append(f"{st.st_size}-{st.st_mtime_ns}")
    version = metadata.version("misaki")
    return cache_dir() / "text" / f"misaki-{version}-{variant}-{'-'.join(stamps)}-f{FORMAT}.sqlite"


def _write(path: Path, lexicon) -> None:
    """The file whole or not at all (AtomicFile): a cut-off write leaves nothing a later start would read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock, AtomicFile(path) as out:
        db = sqlite3.connect(out.temp_path)
        try:
            db.execute(
                "CREATE TABLE words (source INTEGER, word TEXT, kind INTEGER, value TEXT,"
                " PRIMARY KEY (source, word)) WITHOUT ROWID"
            )
            for source, words in enumerate((lexicon.golds, lexicon.silvers)):
                db.executemany(
                    "INSERT INTO words VALUES (?, ?, ?, ?)",
                    ((source, w, *_entry(v)) for w, v in words.items()),
                )
            db.commit()
        finally:
            db.close()
        out.commit()


def _entry(value) -> tuple[int, str]:
    """(kind, text): 0 for a plain phoneme string, 1 for a part-of-speech dict (as JSON)."""
    return (0, value) if isinstance(value, str) else (1, json.dumps(value, ensure_ascii=False))
