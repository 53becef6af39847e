"""The follow-along timeline: which character span is heard at a given utterance sample."""

from __future__ import annotations

import numpy as np
import pytest

from fasttts_desktop.engine.types import SAMPLE_RATE, AudioChunk, TextChunk, WordTiming
from fasttts_desktop.worker.follow import Timeline

TEXT = "Hello, wide world. Dr. Who?"


def chunk(index, start, end, seconds, words):
    text = TEXT[start:end]
    audio = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    return AudioChunk(
        index, 2, TextChunk(text, start, end, "x"), audio, words=[WordTiming(*w) for w in words]
    )


def timeline() -> Timeline:
    t = Timeline(7)
    t.add(chunk(0, 0, 18, 1.0, [("Hello", 0.1, 0.3), ("wide", 0.4, 0.6), ("world", 0.6, 0.9)]))
    # "Doctor" is how the front end may name "Dr.": not in the text, so the chunk's span stands in.
    t.add(chunk(1, 18, len(TEXT), 0.5, [("Doctor", 0.0, 0.2), ("Who", 0.2, 0.4)]))
    return t


def span(t: Timeline, seconds: float) -> str:
    heard = t.at(int(seconds * SAMPLE_RATE))
    return TEXT[heard.offset : heard.end]


def test_the_word_heard_or_else_its_chunk():
    t = timeline()
    assert span(t, 0.0) == TEXT[:18]  # before the first word: the chunk
    assert span(t, 0.15) == "Hello"
    assert span(t, 0.35) == TEXT[:18]  # between words
    assert span(t, 0.6) == "world"  # a word's end is the next one's start
    assert span(t, 1.1) == TEXT[18:]  # "Doctor" is not in the text
    assert span(t, 1.3) == "Who"
    heard = t.at(int(1.3 * SAMPLE_RATE))
    assert (heard.request, heard.chunk_index, heard.chunk_start, heard.chunk_end) == (7, 1, 18, len(TEXT))
    assert heard.seconds == pytest.approx(1.3)


def test_past_the_end_the_last_chunk_stays_and_what_was_heard_is_forgotten():
    t = timeline()
    assert t.at(10 * SAMPLE_RATE).chunk_index == 1
    assert t.at(10 * SAMPLE_RATE).seconds == pytest.approx(1.5)  # the tail pad is not the utterance
    assert len(t._chunks) == 1 and t.samples == int(1.5 * SAMPLE_RATE)


@pytest.mark.slow
def test_real_word_timings_name_the_words_of_the_text(engine):
    text = (
        "The birch canoe slid on the smooth planks. "
        "Glue the sheet to the dark-blue background, it's 5 o'clock!"
    )
    t = Timeline(1)
    spans = []
    for c in engine.stream(text):
        first = t.samples
        t.add(c)
        for w in c.words:
            heard = t.at(first + round((w.start_s + w.end_s) / 2 * SAMPLE_RATE))
            spans.append(text[heard.offset : heard.end])
    words = (
        "The birch canoe slid on the smooth planks Glue the sheet to the dark-blue background it's 5 o'clock"
    )
    assert spans == words.split()
