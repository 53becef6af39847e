"""The reader's plain parts (no widgets): sentence and paragraph steps, Qt positions, the position store,
the status bar's words.
"""

from __future__ import annotations

import json

import pytest

from fasttts_desktop.ui.navigation import QtPositions, SentenceIndex
from fasttts_desktop.ui.positions import PositionStore, text_digest
from fasttts_desktop.ui.reading import ReadingProgress
from fasttts_desktop.ui.status_text import describe_progress, describe_unspoken, duration

TEXT = "Chapter One\n\nIt was late. Mr. Smith sat down. He slept.\n\nMorning came. Birds sang.\n\nThe end."


def sentence_texts(index: SentenceIndex) -> list[str]:
    return [TEXT[s:e] for s, e in zip(index.starts, index.ends, strict=True)]


def test_sentences_and_paragraphs_are_the_engines():
    index = SentenceIndex(TEXT)
    assert sentence_texts(index) == [
        "Chapter One",
        "It was late.",
        "Mr. Smith sat down.",  # not split after the abbreviation
        "He slept.",
        "Morning came.",
        "Birds sang.",
        "The end.",
    ]
    assert index.paragraph_starts == [0, 1, 4, 6]


@pytest.mark.parametrize(
    ("number", "delta", "expected"),
    [
        pytest.param(2, 1, 3, id="next"),
        pytest.param(2, -1, 1, id="previous"),
        pytest.param(6, 1, None, id="past-the-end"),
        pytest.param(0, -1, None, id="before-the-start"),
    ],
)
def test_step_sentence(number, delta, expected):
    assert SentenceIndex(TEXT).step_sentence(number, delta) == expected


@pytest.mark.parametrize(
    ("number", "delta", "expected"),
    [
        pytest.param(2, 1, 4, id="next-paragraph"),
        pytest.param(2, -1, 1, id="back-to-own-start"),
        pytest.param(1, -1, 0, id="from-a-start-to-the-previous"),
        pytest.param(5, 1, 6, id="to-the-last"),
        pytest.param(6, 1, None, id="past-the-end"),
        pytest.param(0, -1, None, id="before-the-start"),
    ],
)
def test_step_paragraph(number, delta, expected):
    assert SentenceIndex(TEXT).step_paragraph(number, delta) == expected


def test_read_from_picks_the_sentence_at_the_cursor_and_the_top_after_the_end():
    index = SentenceIndex(TEXT)
    slept = TEXT.index("slept")
    assert index.read_from(slept) == TEXT.index("He slept")
    assert index.read_from(TEXT.index("\n\nMorning")) == TEXT.index("Morning")  # in the gap: the next one
    assert index.read_from(len(TEXT)) == 0  # cursor left at the end of typed text: read it all
    assert SentenceIndex("").read_from(0) == 0 and SentenceIndex("   ").at(2) == -1


def test_qt_positions_count_astral_characters_twice():
    text = "a😀b𝔄c"
    p = QtPositions(text)
    assert [p.to_qt(i) for i in range(len(text) + 1)] == [0, 1, 3, 4, 6, 7]
    assert [p.from_qt(q) for q in (0, 1, 3, 4, 6, 7)] == list(range(len(text) + 1))
    assert QtPositions("plain").to_qt(3) == 3


def test_position_store_keeps_offsets_by_path_and_text(tmp_path):
    store = PositionStore(tmp_path / "cfg" / "positions.json")
    book = str(tmp_path / "book.epub")
    digest = text_digest("the text")
    store.put(book, digest, 120)
    store.flush()
    again = PositionStore(tmp_path / "cfg" / "positions.json")
    assert again.get(book, digest) == 120
    assert again.get(book, text_digest("an edited text")) is None
    assert again.get(str(tmp_path / "copy.epub"), digest) is None
    again.put(book, digest, 0)  # read to the end: forgotten
    again.flush()
    assert PositionStore(tmp_path / "cfg" / "positions.json").get(book, digest) is None
    assert not list((tmp_path / "cfg").glob("*.part"))


def test_position_store_forgets_the_oldest_beyond_its_limit(tmp_path):
    store = PositionStore(tmp_path / "p.json", keep=3)
    for n in range(5):
        store.put(f"/books/{n}.txt", "d", 10 + n)
    store.flush()
    kept = json.loads((tmp_path / "p.json").read_text())["documents"]
    assert sorted(v["offset"] for v in kept.values()) == [12, 13, 14]


@pytest.mark.parametrize("content", ["{not json", "null", '{"format": 1, "documents": []}', '{"format": 99}'])
def test_a_damaged_position_file_is_ignored_and_replaced(tmp_path, content):
    path = tmp_path / "positions.json"
    path.write_text(content)
    store = PositionStore(path)
    assert store.get("/x.txt", "d") is None
    store.put("/x.txt", "d", 5)
    store.flush()
    assert PositionStore(path).get("/x.txt", "d") == 5


def test_an_unwritable_position_file_is_not_fatal(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = PositionStore(blocker / "positions.json")  # its folder would have to be inside a file
    store.put("/x.txt", "d", 5)
    store.flush()  # logged, not raised
    assert store.get("/x.txt", "d") == 5


def test_status_words():
    assert [duration(s) for s in (0, 42.4, 725, 11229)] == ["0:00", "0:42", "12:05", "3:07:09"]
    p = ReadingProgress(sentence=12, sentences=3400, fraction=0.0349, heard_s=42, left_s=5000, speed=1.25)
    assert describe_progress(p) == "Sentence 12 of 3,400 · 3% · 0:42 heard · about 1:23:20 left"
    assert describe_unspoken("☃☃☃♞\x07") == "5 characters were not spoken: ☃ (3), ♞, U+0007"
    assert describe_unspoken("") == ""
    assert describe_unspoken("\u200b").startswith("1 character was not spoken: U+200B zero width space")
