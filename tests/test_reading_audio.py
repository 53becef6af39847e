"""Pauses, markup and voices per span on the real model (CPU, small inputs): the silence at each join is
measured in the audio made, and chunks and words land on the original text."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from audio_checks import pitch_track, read_wav

from fasttts_desktop.engine.text.pauses import SILENCE_LEVEL, Pauses
from fasttts_desktop.engine.text.segments import Reading
from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.worker.follow import _place as follow_place

pytestmark = pytest.mark.slow


def gaps(audio: np.ndarray, longer_than: float = 0.12) -> list[float]:
    """Lengths of the quiet stretches between sounds (the model's silence level), in seconds."""
    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    steps = np.diff(loud)
    return [float(s) / SAMPLE_RATE for s in steps[steps > longer_than * SAMPLE_RATE]]


def _spans(chunk):
    return follow_place(chunk, 0, SAMPLE_RATE).spans


def joined(chunks):
    """The utterance's audio and each word's (text, start s) on its timeline."""
    audio, words, at = [], [], 0.0
    for c in chunks:
        audio.append(c.audio)
        words += [(w.text, at + w.start_s, at + w.end_s) for w in c.words]
        at += c.seconds
    return np.concatenate(audio), words


def test_comma_and_sentence_pauses_are_the_silence_heard(engine):
    text = "Yes, go. Now."
    chunks = list(engine.stream(text, "jm_kumo", reading=Reading(pauses=Pauses(comma=0.25, sentence=0.9))))
    assert [c.chunk.text for c in chunks] == ["Yes,", "go.", "Now."]
    audio, words = joined(chunks)
    measured = gaps(audio)
    assert len(measured) == 2, measured
    assert measured[0] == pytest.approx(0.25, abs=0.03)
    assert measured[1] == pytest.approx(0.9, abs=0.03)
    # the words moved with the audio trimmed off: the word after each pause starts as its sound does
    loud = np.flatnonzero(np.abs(audio) > SILENCE_LEVEL)
    steps = np.diff(loud)
    onsets = loud[1:][steps > 0.12 * SAMPLE_RATE] / SAMPLE_RATE
    for onset, (word, start, end) in zip(onsets, words[1:], strict=True):
        assert abs(start - onset) < 0.1, (word, start, onset)
        assert end <= len(audio) / SAMPLE_RATE
    assert [w[0] for w in words] == ["Yes", "go", "Now"]
    # stopped before anything was made: nothing, and no error (as the plain stream)
    assert list(engine.stream(text, "jm_kumo", cancel=lambda: True, reading=Reading())) == []


def test_ssml_break_voice_and_alias_land_on_the_original_words(engine):
    text = (
        '<speak>One. <break time="1.2s"/>Two <sub alias="World">W</sub> <phoneme ph="kˈOkəɹO">Kokoro'
        '</phoneme> <voice name="jf_alpha">three</voice></speak>'
    )
    chunks = list(engine.stream(text, "jm_kumo", reading=Reading(pauses=Pauses.natural())))
    spans = [text[c.chunk.start : c.chunk.end] for c in chunks]
    assert spans[0] == "One."
    assert spans[-1] == "three"
    heard = [(w.text, w.offset) for c in chunks for w in c.words]
    assert [h[0] for h in heard] == ["One", "Two", "W", "Kokoro", "three"]
    assert [text[o : o + len(t)] for t, o in heard] == ["One", "Two", "W", "Kokoro", "three"]
    said_as_given = next(c for c in chunks if c.chunk.text == "Kokoro")
    assert said_as_given.chunk.phonemes == "kˈOkəɹO"
    assert not said_as_given.failed
    assert said_as_given.seconds > 0.3
    assert heard[2][1] == text.index(">W<") + 1  # the alias said, the written word lit (not alias="World")
    # what the window lights while each word is heard (worker/follow.py)
    lit = {text[s:e] for c in chunks for s, e in _spans(c)}
    assert lit == {"One", "Two", "W", "Kokoro", "three"}
    audio, _ = joined(chunks)
    assert gaps(audio)[0] == pytest.approx(1.2, abs=0.03)
    # <voice>: "three" in jf_alpha (a female voice) is pitched well above jm_kumo's "One."
    male, female = (pitch_track(c.audio, SAMPLE_RATE) for c in (chunks[0], chunks[-1]))
    assert np.median(female[female > 0]) > 1.3 * np.median(male[male > 0])


def test_say_voice_map_dialogue_and_chapter_pause(cli_env, tmp_path):
    book = tmp_path / "book.md"
    book.write_text('# One\n\nHi [rate:zoom] there.\n\n# Two\n\nShe said "Go."\n', encoding="utf-8")
    voice_map = tmp_path / "map.json"
    voice_map.write_text(json.dumps({"2": "jf_alpha"}), encoding="utf-8")
    out = tmp_path / "book.wav"
    args = ["say", "-f", str(book), "-o", str(out), "--voice-map", str(voice_map), "--subtitles"]
    args += [str(tmp_path / "book.srt"), "--pauses", "chapter=1.7,heading=0.5,paragraph=0.3"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fasttts_desktop",
            *args,
            "--dialogue-voice",
            "jf_gongitsune",
            "--device",
            "cpu",
        ],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "[rate:zoom] is read as text" in line]
    assert len(warnings) == 1
    audio, _ = read_wav(out)
    measured = gaps(audio.astype(np.float32))
    # One | heading | Hi [rate:zoom] there. | chapter | Two | heading | She said | (dialogue voice) "Go."
    assert measured[:3] == pytest.approx([0.5, 1.7, 0.5], abs=0.03), measured
    assert "Go" in (tmp_path / "book.srt").read_text(encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", "say", "x", "-o", str(out), "--voice-map", str(book)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode != 0
    assert "is not JSON" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
