"""SRT and WebVTT from word timings, parsed back by the `srt` and `webvtt-py` libraries."""

from __future__ import annotations

import html
import itertools
import os
import re

import pytest
import srt
import webvtt
from spoken_chunks import spoken_chunk, spoken_document

from fasttts_desktop.export import ExportError, SubtitleWriter
from fasttts_desktop.export.cues import LINE_CHARS, chunk_cues

DOC = (
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.\n\n"
    "Rice is often served in round bowls."
)


def words_of(s: str) -> list[str]:
    return re.findall(r"[\w'’-]+", s)


def read_cues(path) -> list[tuple[float, float, str]]:
    """(start s, end s, text with lines joined by a space), by the format's own parser."""
    if str(path).endswith(".srt"):
        return [
            (c.start.total_seconds(), c.end.total_seconds(), " ".join(c.content.splitlines()))
            for c in srt.parse(path.read_text(encoding="utf-8"))
        ]
    return [
        (
            c.start_time.in_milliseconds() / 1000,
            c.end_time.in_milliseconds() / 1000,
            html.unescape(" ".join(c.lines)),
        )
        for c in webvtt.read(str(path))
    ]


def write_subtitles(path, chunks) -> None:
    offset = 0.0
    with SubtitleWriter(path) as subs:
        for chunk in chunks:
            subs.add_chunk(chunk, offset)
            offset += chunk.seconds


@pytest.mark.parametrize("ext", ["srt", "vtt"])
def test_one_cue_per_sentence_timed_by_its_words(ext, tmp_path):
    chunks = spoken_document(DOC, [DOC.index("Rice")])
    path = tmp_path / f"a.{ext}"
    write_subtitles(path, chunks)
    cues = read_cues(path)
    assert [c[2] for c in cues] == [
        "The birch canoe slid on the smooth planks.",
        "Glue the sheet to the dark blue background.",
        "Rice is often served in round bowls.",
    ]
    first, second = chunks
    expected = [
        (first.words[0].start_s, first.words[7].end_s),  # "The" .. "planks"
        (first.words[8].start_s, first.words[-1].end_s),
        (first.seconds + second.words[0].start_s, first.seconds + second.words[-1].end_s),
    ]
    for (start, end, _), (want_start, want_end) in zip(cues, expected, strict=True):
        assert start == pytest.approx(want_start, abs=0.03)  # the burst starts exactly at the word
        assert end == pytest.approx(want_end, abs=0.001)
    if ext == "vtt":
        assert path.read_text(encoding="utf-8").startswith("WEBVTT\n\n")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_long_sentence_is_cut_at_words_into_two_line_cues():
    sentence = (
        "It's easy to tell the depth of a well, and these days the chicken leg is a rare dish, which "
        "everyone who has ever cooked one will know, as forty-two people said so over a long dinner."
    )
    chunk = spoken_chunk(sentence, 0, len(sentence))
    cues = chunk_cues(chunk, 10.0)
    assert len(cues) == 3
    assert " ".join(" ".join(c.lines) for c in cues) == sentence  # nothing lost, nothing reordered
    assert all(len(c.lines) <= 2 and all(len(line) <= LINE_CHARS for line in c.lines) for c in cues)
    lengths = [len(c.text) for c in cues]
    assert max(lengths) - min(lengths) < 25, lengths  # evened out, not 84 + 84 + a stub
    # each piece starts with a whole word and is timed by its own words
    first = 0
    for cue in cues:
        n = len(words_of(cue.text))
        assert cue.start_s == pytest.approx(10.0 + chunk.words[first].start_s, abs=0.03)
        assert cue.end_s == pytest.approx(10.0 + chunk.words[first + n - 1].end_s, abs=0.001)
        first += n
    assert first == len(chunk.words)
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(cues))


def test_a_cut_near_the_middle_prefers_a_comma():
    sentence = "When the long dinner was over at last, everyone who had ever cooked a chicken leg said so."
    cues = chunk_cues(spoken_chunk(sentence, 0, len(sentence)), 0.0)
    assert [c.text.replace("\n", " ") for c in cues] == [
        "When the long dinner was over at last,",
        "everyone who had ever cooked a chicken leg said so.",
    ]


def test_vtt_escapes_markup_and_srt_keeps_text(tmp_path):
    doc = "Use <b> & <i> tags --> rarely."
    chunks = [spoken_chunk(doc, 0, len(doc))]
    write_subtitles(tmp_path / "m.vtt", chunks)
    write_subtitles(tmp_path / "m.srt", chunks)
    raw = (tmp_path / "m.vtt").read_text(encoding="utf-8")
    assert "&lt;b&gt; &amp; &lt;i&gt;" in raw and "-->" not in raw.split("\n", 4)[-1]
    assert read_cues(tmp_path / "m.vtt")[0][2] == doc
    assert read_cues(tmp_path / "m.srt")[0][2] == doc


def test_words_the_text_does_not_hold_and_chunks_without_timings():
    doc = "Dr. Smith paid $5 today."
    chunk = spoken_chunk(doc, 0, len(doc))
    chunk.words[2] = chunk.words[2].__class__("five dollars", chunk.words[2].start_s, chunk.words[2].end_s)
    cues = chunk_cues(chunk, 0.0)
    assert [c.text for c in cues] == [doc]
    chunk.words = []  # a backend that gives no durations: the chunk's audio, shared out by characters
    cues = chunk_cues(chunk, 2.0)
    assert [c.text for c in cues] == [doc]
    assert cues[0].start_s >= 2.0 and cues[0].end_s == pytest.approx(2.0 + chunk.seconds, abs=0.01)


def test_many_hours_timestamps(tmp_path):
    doc = "Late in the book."
    path = tmp_path / "late.srt"
    with SubtitleWriter(path) as subs:
        subs.add_chunk(spoken_chunk(doc, 0, len(doc)), 10 * 3600 + 61.5)
    text = path.read_text(encoding="utf-8")
    assert re.search(r"^10:01:01,\d{3} --> 10:01:0\d,\d{3}$", text, re.MULTILINE), text


def test_subtitle_errors_are_one_line_and_leave_nothing(tmp_path):
    with pytest.raises(ExportError, match="subtitle format") as err:
        SubtitleWriter(tmp_path / "a.ass")
    assert "\n" not in str(err.value)
    fifo = tmp_path / "p.vtt"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file"):
        SubtitleWriter(fifo)
    doc = "One sentence here."
    with pytest.raises(ValueError), SubtitleWriter(tmp_path / "b.srt") as subs:
        subs.add_chunk(spoken_chunk(doc, 0, len(doc)), 0.0)
        raise ValueError
    assert [p.name for p in tmp_path.iterdir()] == ["p.vtt"]
    assert SubtitleWriter(tmp_path / "c.txt", format="WebVTT").format == "vtt"
