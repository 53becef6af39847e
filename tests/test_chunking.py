"""Chunking never loses, reorders or overfills: real misaki G2P on long and odd inputs."""

from __future__ import annotations

import re
import time

import pytest
from timing_budget import within_budget

from fasttts_desktop.engine.synthesis.config import kokoro_config
from fasttts_desktop.engine.text.chunk_estimate import estimate_chunk_count
from fasttts_desktop.engine.text.chunking import (
    G2P_MAX_CHARS,
    SILENT_PHONEMES,
    g2p_spans,
)
from fasttts_desktop.engine.types import MAX_PHONEMES

HARVARD = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
]
PARAGRAPHS = "\n\n".join(" ".join(HARVARD[i:] + HARVARD[:i]) for i in range(6))
VOCAB = set(kokoro_config()["vocab"])


@pytest.fixture(scope="module")
def fe():
    from fasttts_desktop.engine.text.frontend import FrontEnd

    return FrontEnd("a")


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def check(text: str, chunks, first_max: int = 60, max_phonemes: int = MAX_PHONEMES) -> None:
    """Every invariant the engine and the UI rely on."""
    from kokoro.pipeline import KPipeline

    prev_end = 0
    for k, pc in enumerate(chunks):
        c = pc.chunk
        assert c.text == text[c.start : c.end], k
        assert c.text and c.text == c.text.strip(), k
        assert prev_end <= c.start < c.end, (k, prev_end, c.start, c.end)
        assert text[prev_end : c.start].strip() == "", f"text between chunks {k - 1} and {k} was dropped"
        prev_end = c.end
        assert 1 <= len(c.phonemes) <= max_phonemes, (k, len(c.phonemes))
        assert set(c.phonemes) <= VOCAB, set(c.phonemes) - VOCAB
        assert any(ch not in SILENT_PHONEMES for ch in c.phonemes), f"chunk {k} has nothing to say"
        assert KPipeline.tokens_to_ps(pc.tokens) == c.phonemes, k
    assert text[prev_end:].strip() == "" or not chunks
    if chunks:
        assert _squash("".join(pc.chunk.text for pc in chunks)) == _squash(text)
        if len(_squash(text)) > 4 * first_max:
            assert len(chunks[0].chunk.phonemes) <= first_max + first_max // 2


ODD = {
    "paragraphs": PARAGRAPHS,
    "run_on_2000_words": " ".join(["the cat and the dog went down to the river"] * 200),
    "huge_word": "Supercalifragilistic" * 150 + " is long.",
    "huge_word_alone": "W" * 900,
    "emoji": "I love it 😀😀! 👨‍👩‍👧 is a family. 🎉🎉🎉",
    "numbers": "In 1984, 3.14159 of the 1,234,567 people paid $5.20 or €7 at 10:30 pm on 12/25/2024.",
    "quotes": "\"Hello,\" she said. 'Yes,' he replied. “Curly” and ‘single’ (nested [brackets]) — done…",
    "cjk_mixed": "The word 你好 means hello. 日本語のテキスト mixed in. 한국어 too.",
    "markdown_link": "Say [Kokoro](/kˈOkəɹO/) twice: [Kokoro](/kˈOkəɹO/).",
    "silent_paragraphs": "* * *\n\nHello there.\n\n---\n\n...\n\nGoodbye now.\n\n###",
    "crlf_and_tabs": "First line.\r\nSecond\tline, with a tab.\r\n\r\n  Indented third.  ",
    "abbreviations": "Mr. Smith met Dr. Jones at 5 p.m. on St. James St. e.g. today. J. R. R. Tolkien wrote.",
    "long_sentence_with_commas": ", ".join(HARVARD * 6),
    "hyphens_and_dashes": "A well-known state-of-the-art thing -- or not - and—yes—this.",
}


@pytest.mark.parametrize("name", list(ODD))
def test_chunks_keep_all_text_in_order_and_fit(fe, name):
    text = ODD[name]
    chunks = list(fe.chunks(text))
    assert chunks
    check(text, chunks)


@pytest.mark.parametrize("text", ["", "   \n\n\t  ", "!!! ... ??? ;;;", "* * *\n---\n(…)"], ids=repr)
def test_nothing_speakable_gives_no_chunks(fe, text):
    assert list(fe.chunks(text)) == []
    assert estimate_chunk_count(text) == 0


def test_paragraph_breaks_end_chunks(fe):
    chunks = list(fe.chunks(PARAGRAPHS))
    for pc in chunks:
        assert "\n" not in pc.chunk.text
    starts = {m.end() for m in re.finditer(r"\n\n", PARAGRAPHS)}
    assert starts <= {pc.chunk.start for pc in chunks}


def test_silent_text_rides_with_the_chunk_before(fe):
    text = "* * *\n\nHello there.\n\n---\n\nGoodbye now.\n\n###"
    chunks = [pc.chunk for pc in fe.chunks(text)]
    assert [c.text for c in chunks] == ["* * *\n\nHello there.\n\n---", "Goodbye now.\n\n###"]


def test_first_chunk_short_then_packing_grows(fe):
    text = " ".join(HARVARD * 3)
    chunks = [pc.chunk for pc in fe.chunks(text)]
    check(text, list(fe.chunks(text)))
    assert chunks[0].text == HARVARD[0]
    sizes = [len(c.phonemes) for c in chunks]
    assert sizes[1] > sizes[0] and max(sizes) > 200, sizes
    for c in chunks[1:]:  # whole sentences only
        assert c.text.endswith("."), c.text


def test_run_on_sentence_grows_by_doubling(fe):
    text = ODD["run_on_2000_words"]
    sizes = [len(pc.chunk.phonemes) for pc in fe.chunks(text)]
    assert sizes[0] <= 60
    assert sizes[1] <= 120 < sizes[2] <= 240 < sizes[3] <= 480, sizes[:5]
    assert max(sizes) <= MAX_PHONEMES and sum(s > 480 for s in sizes) > 10


def test_pack_false_gives_one_chunk_per_sentence(fe):
    text = " ".join(HARVARD)
    chunks = [pc.chunk.text for pc in fe.chunks(text, pack=False)]
    assert chunks == HARVARD


def test_first_chunk_cut_at_a_clause(fe):
    text = "When the sun rose over the quiet hills, the farmers walked out to the fields, and the birds sang."
    first = next(iter(fe.chunks(text))).chunk
    assert first.text == "When the sun rose over the quiet hills,", first


def test_smaller_limits_are_respected(fe):
    text = ODD["long_sentence_with_commas"] + " " + ODD["huge_word"]
    chunks = list(fe.chunks(text, first_max=20, max_phonemes=100))
    check(text, chunks, first_max=20, max_phonemes=100)


def test_estimate_is_close(fe):
    for text in (" ".join(HARVARD * 4), PARAGRAPHS, ODD["long_sentence_with_commas"]):
        real = len(list(fe.chunks(text)))
        assert abs(estimate_chunk_count(text) - real) <= max(1, real // 5), text[:40]


def test_g2p_spans_split_sentences_but_not_abbreviations():
    text = "Mr. Smith went home. Dr. Who? E.g. this one! J. R. R. Tolkien wrote.\nNew line"
    spans = [text[s:e] for s, e, _ in g2p_spans(text)]
    assert spans == [
        "Mr. Smith went home.",
        "Dr. Who?",
        "E.g. this one!",
        "J. R. R. Tolkien wrote.",
        "New line",
    ]
    # the line before "New line" is long, so its break is a sentence end, not a paragraph end
    assert [p for _, _, p in g2p_spans(text)] == [False, False, False, False, True]


def test_hard_wrapped_prose_reads_through_line_breaks_but_short_lines_end_paragraphs():
    prose = (
        "It was the best of times, it was the worst of times, it was the age of\n"
        "wisdom, it was the age of foolishness, it was the epoch of belief, it\n"
        "was the epoch of incredulity.\n"
    )
    text = "Chapter One\n" + prose + "\nThe End"
    spans = [(text[s:e], p) for s, e, p in g2p_spans(text)]
    assert spans[0] == ("Chapter One", True)
    assert spans[1][0].startswith("It was the best") and spans[1][0].endswith("incredulity.")
    assert "age of\nwisdom" in spans[1][0] and spans[1][1]
    assert spans[-1] == ("The End", True)


def test_soft_line_breaks_do_not_split_chunks(fe):
    text = "It was the best of times, it was the worst of times, it was the age of\nwisdom."
    chunks = list(fe.chunks(text, first_max=None))
    assert len(chunks) == 1 and chunks[0].chunk.text == text
    assert "ˈeɪʤ" in chunks[0].chunk.phonemes or "wˈɪzdəm" in chunks[0].chunk.phonemes


def test_g2p_spans_bound_long_sentences():
    text = ODD["run_on_2000_words"] + " " + "x" * 1000
    spans = list(g2p_spans(text))
    assert all(e - s <= G2P_MAX_CHARS for s, e, _ in spans)
    assert _squash("".join(text[s:e] for s, e, _ in spans)) == _squash(text)


def test_estimate_of_a_book_is_fast_and_consistent(monkeypatch):
    from fasttts_desktop.engine.text import chunk_estimate as chunking

    book = "\n\n".join(" ".join(HARVARD[i % 10 :] + HARVARD * 8) for i in range(400))  # ~1.3 MB
    t0 = time.perf_counter()
    quick = estimate_chunk_count(book)
    within_budget("estimating a 1.3 MB book", time.perf_counter() - t0, 1.0)
    monkeypatch.setattr(chunking, "ESTIMATE_EXACT_CHARS", len(book))
    packed = estimate_chunk_count(book)
    assert abs(quick - packed) <= packed // 10, (quick, packed)


def test_sentences_are_what_the_reader_navigates():
    from fasttts_desktop.engine.text.chunking import sentences

    text = (
        "Dr. Smith came home. He sat down!\n\nA new paragraph? Yes.\nShort line\nAnd "
        + "word " * 200
        + "end."
    )
    got = [(text[s.start : s.end], s.ends_paragraph) for s in sentences(text)]
    assert got[:5] == [
        ("Dr. Smith came home.", False),
        ("He sat down!", True),
        ("A new paragraph?", False),
        ("Yes.", True),
        ("Short line", True),
    ]
    assert got[5][0].startswith("And word") and got[5][0].endswith("end.")  # a long sentence stays whole
    assert len(got) == 6
    middle = text.index("sat down")
    assert [text[s.start : s.end] for s in sentences(text, start=middle)][:2] == [
        "sat down!",
        "A new paragraph?",
    ]
