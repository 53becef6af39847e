"""What the first sound is made of: a short first chunk cut where speech may pause, never mid-word, never
a stub (issue 10's rule: at a clause or phrase boundary, at least ~8 phonemes); and the CPU bench's WER."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fasttts_desktop.bench.cpu import HELD_OUT
from fasttts_desktop.bench.cpu_probes import word_error_rate
from fasttts_desktop.engine.text.frontend import FrontEnd

HARVARD = [
    h["text"]
    for h in json.loads((Path(__file__).parent.parent / "fasttts_desktop/bench/phonemes.json").read_text())[
        "harvard"
    ]
]


@pytest.fixture(scope="module")
def fe():
    return FrontEnd("a")


@pytest.mark.parametrize("text", HELD_OUT + HARVARD[:10])
def test_first_chunk_is_short_whole_words_and_not_a_stub(fe, text):
    chunks = [pc.chunk for pc in fe.chunks(text)]
    first = chunks[0]
    assert len(first.phonemes) >= 8, first
    assert len(first.phonemes) <= 90, first  # the first budget (60) and half as much again at most
    # cut between words: the text after the cut starts a new word (or the text ended)
    assert first.end == len(text) or not text[first.end - 1].isalnum() or text[first.end].isspace(), first
    if len(chunks) > 1:  # and where a pause belongs when the sentence is cut: after punctuation
        assert not first.text[-1].isalnum(), first


def test_word_error_rate_counts_edits_in_words():
    assert word_error_rate("The birch canoe slid.", "the birch canoe slid") == (0, 4)
    assert word_error_rate("The birch canoe slid.", "the bird canoe") == (2, 4)  # one swap, one drop
    assert word_error_rate("a b", "a x b y") == (2, 2)  # two insertions
