"""export_utterance: the engine's stream to an audio file, chapter marks and subtitles, all or nothing."""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile
from spoken_chunks import spoken_document
from test_export_subtitles import read_cues, words_of

from fasttts_desktop.engine import SAMPLE_RATE, Cancelled
from fasttts_desktop.export import ExportError, export_utterance

BOOK = (
    "Chapter One\n\n"
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.\n\n"
    "Chapter Two\n\n"
    "It's easy to tell the depth of a well, and these days the chicken leg is a rare dish, "
    "as everyone knows.\n\n"
    "Rice is often served in round bowls."
)
CHAPTERS = [(0, "Chapter One"), (BOOK.index("Chapter Two"), "Chapter Two")]


def m4b_chapters(path) -> list[tuple[str, float]]:
    with av.open(str(path)) as c:
        return [(ch["metadata"]["title"], float(ch["start"] * ch["time_base"])) for ch in c.chapters()]


def test_chapters_land_on_the_first_chunk_at_or_after_their_offset(tmp_path):
    cuts = [BOOK.index("The birch"), BOOK.index("Chapter Two"), BOOK.index("It's"), BOOK.index("Rice")]
    chunks = spoken_document(BOOK, cuts)
    # an offset inside a chunk moves to the next chunk; one past the last chunk's start is dropped
    chapters = [*CHAPTERS, (BOOK.index("the depth"), "Mid-chunk"), (len(BOOK) - 3, "Too late")]
    seen = []
    result = export_utterance(
        iter(chunks),
        tmp_path / "b.m4b",
        subtitles_path=tmp_path / "b.srt",
        chapters=chapters,
        title="Book",
        progress=lambda what, frac: seen.append(frac),
    )
    starts = np.cumsum([0.0] + [c.seconds for c in chunks])
    expected = [("Chapter One", 0.0), ("Chapter Two", starts[2]), ("Mid-chunk", starts[4])]
    assert [t for t, _ in result.chapters] == [t for t, _ in expected]
    assert [s for _, s in result.chapters] == pytest.approx([s for _, s in expected])
    got = m4b_chapters(tmp_path / "b.m4b")
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert all(abs(g[1] - e[1]) < 0.002 for g, e in zip(got, expected, strict=True)), got
    assert result.seconds == pytest.approx(starts[-1]) and result.chunks == len(chunks)
    assert seen == pytest.approx([(i + 1) / len(chunks) for i in range(len(chunks))])
    cues = read_cues(tmp_path / "b.srt")
    assert words_of(" ".join(c[2] for c in cues)) == words_of(BOOK)


def test_cancel_between_chunks_leaves_nothing(tmp_path):
    chunks = spoken_document(BOOK, [BOOK.index("Chapter Two"), BOOK.index("Rice")])
    taken = []

    def stream():
        for c in chunks:
            taken.append(c)
            yield c

    with pytest.raises(Cancelled):
        export_utterance(
            stream(), tmp_path / "a.mp3", subtitles_path=tmp_path / "a.vtt", cancel=lambda: len(taken) >= 2
        )
    assert len(taken) == 2 and list(tmp_path.iterdir()) == []


def test_a_stream_that_ended_because_of_cancel_is_not_saved(tmp_path):
    # Engine.stream just stops when its cancel fires; the short result must not pass for the whole text.
    chunks = spoken_document(BOOK, [BOOK.index("Chapter Two")])
    asked = []

    def stream():
        yield chunks[0]
        asked.append("stop")

    with pytest.raises(Cancelled):
        export_utterance(
            stream(), tmp_path / "a.m4b", subtitles_path=tmp_path / "a.srt", cancel=lambda: bool(asked)
        )
    assert list(tmp_path.iterdir()) == []


def test_an_engine_error_midway_leaves_nothing(tmp_path):
    chunks = spoken_document(BOOK, [BOOK.index("Chapter Two")])

    def stream():
        yield chunks[0]
        raise ExportError("the engine gave up")

    with pytest.raises(ExportError, match="gave up"):
        export_utterance(stream(), tmp_path / "a.flac", subtitles_path=tmp_path / "a.srt")
    with pytest.raises(ExportError, match="Nothing to save"):
        export_utterance(iter([]), tmp_path / "b.wav", subtitles_path=tmp_path / "b.srt")
    with pytest.raises(ExportError, match="subtitle format"):
        export_utterance(iter(chunks), tmp_path / "c.wav", subtitles_path=tmp_path / "c.sub")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------- the real engine


@pytest.fixture(scope="module")
def book_chunks(engine):
    return list(engine.stream(BOOK))


def onsets(audio: np.ndarray, silence_s: float = 0.1) -> np.ndarray:
    """Times where sound starts after at least `silence_s` of quiet: 5 ms frames, 50 dB under the peak.
    (Deliberately not the exporter's own detector: other frames, threshold and quiet span.)"""
    hop = SAMPLE_RATE // 200
    n = len(audio) // hop
    level = 20 * np.log10(np.sqrt((audio[: n * hop].reshape(n, hop) ** 2).mean(axis=1)) + 1e-9)
    loud = level > level.max() - 50
    q = round(silence_s * 200)
    return np.array([i / 200 for i in range(q, n) if loud[i] and not loud[i - q : i].any()])


@pytest.mark.slow
def test_real_speech_exports_with_cues_where_words_are_heard(book_chunks, tmp_path):
    assert len(book_chunks) >= 4
    wav = export_utterance(iter(book_chunks), tmp_path / "b.wav", subtitles_path=tmp_path / "b.vtt")
    m4b = export_utterance(
        iter(book_chunks), tmp_path / "b.m4b", subtitles_path=tmp_path / "b.srt", chapters=CHAPTERS
    )
    audio, rate = soundfile.read(str(wav.audio_path), dtype="float32")
    assert rate == SAMPLE_RATE and len(audio) == sum(len(c.audio) for c in book_chunks)

    # chapters at the chunks that start them, in the timeline of the concatenated chunks
    starts = np.cumsum([0.0] + [c.seconds for c in book_chunks])
    at = next(i for i, c in enumerate(book_chunks) if c.chunk.start >= CHAPTERS[1][0])
    got = m4b_chapters(m4b.audio_path)
    assert [t for t, _ in got] == ["Chapter One", "Chapter Two"]
    assert got[0][1] == 0 and got[1][1] == pytest.approx(starts[at], abs=0.002)

    # every cue: the words of the text in order; starts at its first word (engine timing, moved to where
    # the audio rises: kokoro's starts lead the sound by up to ~70 ms after a pause) and, after a pause,
    # within 30 ms of where an independent detector hears sound start
    vtt, srt_cues = read_cues(tmp_path / "b.vtt"), read_cues(tmp_path / "b.srt")
    assert [(round(a, 3), round(b, 3), t) for a, b, t in vtt] == [
        (round(a, 3), round(b, 3), t) for a, b, t in srt_cues
    ]
    assert words_of(" ".join(t for _, _, t in vtt)) == words_of(BOOK)
    assert all(len(t) <= 85 for _, _, t in vtt)
    word_starts = [starts[i] + w.start_s for i, c in enumerate(book_chunks) for w in c.words]
    heard = onsets(audio)
    checked = 0
    for start, end, text in vtt:
        assert start < end
        nearest_word = min(word_starts, key=lambda t: abs(t - start))
        # a cue may start up to the exporter's search window (60 ms) before its word's predicted start, where
        # the sound really begins; how close to the heard onset it lands is checked just below
        assert -0.06 <= start - nearest_word <= 0.1, (text, start, nearest_word)
        quiet_before = not ((heard > start - 0.15) & (heard < start - 0.03)).any()
        near = heard[np.abs(heard - start) <= 0.1]
        if quiet_before and len(near):
            checked += 1
            assert abs(near[0] - start) <= 0.03, (text, start, near)
    sentences = BOOK.count(".") + 2  # two headings
    assert checked >= sentences - 1, f"only {checked} cues could be checked against the audio"
