"""misaki's English dictionaries read from the stored SQLite file (engine/text/english_lexicon.py): the same
words and phonemes as misaki's own in-memory Lexicon, the same G2P object as misaki's constructor makes, and
a damaged or unwritable file costs a log line, never a wrong word."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from misaki import en
from test_frontend_spacy import read_all

from fasttts_desktop.engine.text import english_lexicon
from fasttts_desktop.engine.text.english_lexicon import StoredWords, stored_lexicon
from fasttts_desktop.engine.text.frontend import FrontEnd
from fasttts_desktop.engine.text.languages import g2p_for


@pytest.fixture(scope="module")
def stored():
    stored_lexicon(False)  # the first call in a fresh cache writes the file and keeps misaki's dicts
    lex = stored_lexicon(False)
    assert isinstance(lex.golds, StoredWords) and isinstance(lex.silvers, StoredWords)
    return lex


@pytest.fixture(scope="module")
def own():
    return en.Lexicon(False)


def test_every_word_as_misaki_grows_it(stored, own):
    for name in ("golds", "silvers"):
        mine, theirs = getattr(stored, name), getattr(own, name)
        assert len(mine) == len(theirs) > 150_000
        assert all(mine[w] == v for w, v in theirs.items()), name
        assert set(mine) == set(theirs)
    # part-of-speech entries come back as misaki's dicts, None values included
    assert stored.golds["read"] == own.golds["read"] and isinstance(stored.golds["read"], dict)
    assert "Read" in stored.golds  # grown: the capitalised form of a lower-case word
    assert "qzxv" not in stored.golds and stored.golds.get("qzxv") is None and 7 not in stored.golds
    with pytest.raises(KeyError):
        stored.silvers["qzxv"]


def test_texts_read_to_the_same_phonemes_as_with_misakis_own_lexicon(stored, own):
    fe = FrontEnd("a")
    misaki = g2p_for("a").misaki
    kept = misaki.lexicon
    try:
        misaki.lexicon = stored
        ours = read_all(fe)
        misaki.lexicon = own
        theirs = read_all(fe)
    finally:
        misaki.lexicon = kept
    assert repr(ours).encode() == repr(theirs).encode()
    assert sum(len(chunks) for chunks in ours) > 60


def test_the_g2p_is_the_object_misakis_constructor_makes():
    ours = g2p_for("a").misaki
    theirs = en.G2P(trf=False, british=False, fallback=ours.fallback, unk="")
    assert vars(ours).keys() == vars(theirs).keys()
    assert {k: v for k, v in vars(ours).items() if k not in ("nlp", "lexicon")} == {
        k: v for k, v in vars(theirs).items() if k not in ("nlp", "lexicon")
    }
    assert vars(ours.lexicon).keys() == vars(theirs.lexicon).keys()
    assert {k: v for k, v in vars(ours.lexicon).items() if k not in ("golds", "silvers")} == {
        k: v for k, v in vars(theirs.lexicon).items() if k not in ("golds", "silvers")
    }
    assert ours.nlp.pipe_names == theirs.nlp.pipe_names


def test_british_is_stored_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTTTS_CACHE_DIR", str(tmp_path))
    stored_lexicon(True)
    gb, us = stored_lexicon(True), stored_lexicon(False)
    assert isinstance(gb.golds, StoredWords) and gb.british and not us.british
    theirs = en.Lexicon(True)
    for word in ("tomato", "schedule", "laboratory", "Tomato"):
        assert gb.golds.get(word) == theirs.golds.get(word)
    assert gb.golds["tomato"] != us.golds["tomato"]


def test_a_damaged_file_is_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FASTTTS_CACHE_DIR", str(tmp_path))
    path = english_lexicon._path(False)
    path.parent.mkdir(parents=True)
    for damage in (b"", b"not a database at all" * 100):
        path.write_bytes(damage)
        with caplog.at_level(logging.WARNING):
            lex = stored_lexicon(False)
        assert isinstance(lex.golds, dict) and "unreadable" in caplog.text
        caplog.clear()
        assert isinstance(stored_lexicon(False).golds, StoredWords)
    # cut short: the first half of a good file
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with caplog.at_level(logging.WARNING):
        assert isinstance(stored_lexicon(False).golds, dict)
    assert "unreadable" in caplog.text
    assert path.read_bytes() == whole or isinstance(stored_lexicon(False).golds, StoredWords)


def test_an_unwritable_cache_reads_misakis_own_dictionaries(tmp_path, monkeypatch, caplog):
    if os.geteuid() == 0:
        locked = tmp_path / "file-not-folder"  # root writes through modes: a file where the folder goes
        locked.write_text("")
        monkeypatch.setenv("FASTTTS_CACHE_DIR", str(locked))
        monkeypatch.setattr(english_lexicon, "cache_dir", lambda: locked)
    else:
        tmp_path.chmod(0o500)
        monkeypatch.setenv("FASTTTS_CACHE_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING):
        lex = stored_lexicon(False)
    assert isinstance(lex.golds, dict) and len(lex.golds) > 150_000
    assert "Could not store the English dictionary" in caplog.text
    assert not list(tmp_path.glob("**/*.sqlite"))


def test_a_later_start_does_not_read_misakis_json(stored):
    code = """
import json
loads = []
real = json.load
json.load = lambda f, **kw: loads.append(getattr(f, "name", "?")) or real(f, **kw)
from fasttts_desktop.engine.text.frontend import FrontEnd
from fasttts_desktop.engine.text.languages import g2p_for
print([pc.chunk.phonemes for pc in FrontEnd("a").chunks("I read the record.", pack=False)])
print([n for n in loads if "gold" in n or "silver" in n])
print(type(g2p_for("a").misaki.lexicon.golds).__name__)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    lines = out.stdout.splitlines()
    misaki = g2p_for("a").misaki
    kept = misaki.lexicon
    try:
        misaki.lexicon = en.Lexicon(False)
        theirs = [pc.chunk.phonemes for pc in FrontEnd("a").chunks("I read the record.", pack=False)]
    finally:
        misaki.lexicon = kept
    assert lines == [repr(theirs), "[]", "StoredWords"]


def test_misakis_data_out_of_reach_reads_its_own_dictionaries(monkeypatch, caplog):
    def unreachable(british):
        raise FileNotFoundError("misaki/data/us_gold.json inside a zip")

    monkeypatch.setattr(english_lexicon, "_path", unreachable)
    with caplog.at_level(logging.WARNING):
        lex = stored_lexicon(False)
    assert isinstance(lex.golds, dict) and lex.golds["read"] == en.Lexicon(False).golds["read"]
    assert "read from misaki at each start" in caplog.text
