"""The pronunciation lexicon on the real front ends: entries change what is spoken, never the offsets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fasttts_desktop.engine.text.languages import front_end_for
from fasttts_desktop.engine.text.lexicon import Lexicon, english_phonemes
from fasttts_desktop.engine.types import EngineError


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTTTS_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def spoken(lang: str, text: str, lexicon: Lexicon | None):
    chunks = list(front_end_for(lang).chunks(text, lexicon=lexicon, first_max=None))
    for pc in chunks:
        assert pc.chunk.text == text[pc.chunk.start : pc.chunk.end]
    return " ".join(pc.chunk.phonemes for pc in chunks), [t.text for pc in chunks for t in pc.tokens]


def test_a_respelling_changes_the_phonemes_not_the_text():
    text = "It is approx. five miles."
    before, _ = spoken("a", text, None)
    lex = Lexicon()
    entry = lex.add("approx.", "approximately")
    assert entry.kind == "abbreviation"
    after, tokens = spoken("a", text, lex)
    assert before != after
    assert "əpɹˈɑksəmətli" in after and "əpɹˈɑksəmətli" not in before
    assert "approx." in tokens  # the word as the user wrote it, for highlighting


def test_phonemes_entries_and_everyday_ipa():
    lex = Lexicon()
    lex.add("Kokoro", "/ˈkoʊkəroʊ/")
    after, tokens = spoken("a", "Kokoro speaks.", lex)
    assert after.startswith("ˈkOkəɹO ") and tokens[0] == "Kokoro"
    assert english_phonemes("dʒeɪ") == "ʤA"
    with pytest.raises(EngineError, match="not known: 7"):
        Lexicon().add("x", "/ab7/")


def test_case_and_whole_words():
    lex = Lexicon()
    lex.add("cat", "dog")  # lower case: any case
    lex.add("US", "United States")  # capitals: exactly
    assert [text[s:e] for text in ["Cat, cat and category."] for s, e, _ in lex.matches(text, "a")] == [
        "Cat",
        "cat",
    ]
    assert [e.text for _, _, e in lex.matches("the US and us", "a")] == ["US"]


def test_entries_apply_to_their_languages_only():
    lex = Lexicon()
    lex.add("東京", "/toːkʲoːto/", ["j"])
    ja, _ = spoken("j", "東京に行きます。", lex)
    plain, _ = spoken("j", "東京に行きます。", None)
    assert ja.startswith("toːkʲoːto") and not plain.startswith("toːkʲoːto")
    assert lex.matches("東京", "a") == []


def test_spanish_entry_through_espeak():
    lex = Lexicon()
    lex.add("Dr.", "doctor")
    before, _ = spoken("e", "El Dr. García llegó.", None)
    after, tokens = spoken("e", "El Dr. García llegó.", lex)
    assert before != after and "doktˈoɾ" in after and "Dr." in tokens


def test_saved_whole_and_read_back(config):
    lex = Lexicon.load()
    assert lex.entries() == [] and not (config / "lexicon.json").exists()
    lex.add("approx.", "approximately")
    lex.add("東京", "/toːkʲoː/", ["j"])
    path = lex.save()
    assert path == config / "lexicon.json" and not list(config.glob("*.part"))
    again = Lexicon.load()
    assert again.entries() == lex.entries()
    assert not again.changed_on_disk()
    lex.remove("approx.")
    lex.save()
    assert again.changed_on_disk()  # another writer's change is noticed
    assert [e.text for e in Lexicon.load().entries()] == ["東京"]


def test_damaged_file_is_one_clear_line_and_kept(config):
    config.mkdir(parents=True)
    (config / "lexicon.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EngineError, match="not valid JSON"):
        Lexicon.load()
    assert (config / "lexicon.json").read_text(encoding="utf-8") == "{not json"
    # one bad entry among good ones costs only itself
    good = {"text": "approx.", "replacement": "approximately"}
    data = {"entries": [good, {"text": "x", "replacement": "/7/"}, {"nope": 1}]}
    (config / "lexicon.json").write_text(json.dumps(data), encoding="utf-8")
    assert [e.text for e in Lexicon.load().entries()] == ["approx."]


def test_cli_lexicon_changes_what_phonemes_prints(config):
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in (str(Path.cwd()), os.environ.get("PYTHONPATH")) if p),
    )

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "fasttts_desktop", *args],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    before = cli("phonemes", "El Dr. García llegó.", "--lang", "es")
    assert before.returncode == 0, before.stderr
    added = cli("lexicon", "add", "Dr.", "doctor", "--lang", "e")
    assert added.returncode == 0 and "abbreviation" in added.stdout, added.stderr
    after = cli("phonemes", "El Dr. García llegó.", "--lang", "es")
    assert after.returncode == 0 and after.stdout != before.stdout and "doktˈoɾ" in after.stdout
    assert after.stdout.startswith("[1] 0-20 El Dr. García llegó.")
    listed = cli("lexicon", "list")
    assert listed.stdout.split("\t")[:2] == ["Dr.", "doctor"]
    assert cli("lexicon", "remove", "Dr.").returncode == 0
    missing = cli("lexicon", "remove", "Dr.")
    assert (
        missing.returncode != 0 and "no lexicon entry" in missing.stderr and "Traceback" not in missing.stderr
    )


def test_engine_picks_up_a_saved_lexicon_without_restart(engine):
    path = engine.lexicon.path
    assert engine.lexicon.entries() == []
    lex = Lexicon.load(path)
    lex.add("zorp", "/zˈɔɹp/")
    lex.save()
    try:
        assert [e.text for e in engine.lexicon.entries()] == ["zorp"]
        (pc,) = engine.frontend("a").chunks("zorp.", lexicon=engine.lexicon)
        assert pc.chunk.phonemes == "zˈɔɹp."
    finally:
        path.unlink()
    assert engine.lexicon.entries() == []
    in_memory = Lexicon()  # the window may hand over one it has not saved (yet)
    in_memory.add("zorp", "zap")
    engine.set_lexicon(in_memory)
    assert engine.lexicon is in_memory
    engine.set_lexicon(None)
    assert engine.lexicon.entries() == []
    engine.set_lexicon(Lexicon.load(path))  # as the other tests expect it: the (empty) saved one
