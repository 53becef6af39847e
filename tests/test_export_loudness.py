"""Loudness-normalised exports (export/loudness.py): the files are measured with independent meters
(tests/loudness_checks.py: pyloudnorm, scipy's 4x resampler), not with the exporter's libebur128."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from loudness_checks import decode, integrated_lufs, speech_like, true_peak_dbtp

from fasttts_desktop.export.audio import open_audio_writer
from fasttts_desktop.export.loudness import DEFAULT_LUFS, TRUE_PEAK_DBTP, parse_loudness

SR = 24_000


def _export(path, audio, loudness, piece=4000):
    with open_audio_writer(path, loudness=loudness) as writer:
        for i in range(0, len(audio), piece):
            writer.write(audio[i : i + piece])
        writer.close()
    return writer


def test_the_signal_needs_the_limiter():
    # A plain gain to -18 LUFS would put this signal's peaks well over the ceiling (else the test below
    # would pass without the limiter doing anything).
    audio = speech_like()
    peak_at_target = true_peak_dbtp(audio) + DEFAULT_LUFS - integrated_lufs(audio, SR)
    assert peak_at_target > TRUE_PEAK_DBTP + 3


@pytest.mark.parametrize("ext", ["wav", "flac"])
def test_lossless_exports_meet_the_target_and_the_ceiling(tmp_path, ext):
    audio = speech_like()
    writer = _export(tmp_path / f"out.{ext}", audio, DEFAULT_LUFS)
    got, sr = decode(tmp_path / f"out.{ext}")
    assert sr == SR
    assert len(got) == len(audio)  # a gain moves nothing in time
    assert integrated_lufs(got, sr) == pytest.approx(DEFAULT_LUFS, abs=0.3)
    assert true_peak_dbtp(got) <= TRUE_PEAK_DBTP
    assert writer.gain_db is not None
    assert writer.gain_db > 0
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{ext}"]  # the scratch audio left nothing behind


@pytest.mark.parametrize("ext", ["mp3", "opus", "m4b"])
def test_lossy_exports_meet_the_target_and_the_ceiling(tmp_path, ext):
    audio = speech_like()
    _export(tmp_path / f"out.{ext}", audio, -16.0)
    got, sr = decode(tmp_path / f"out.{ext}")
    assert integrated_lufs(got, sr) == pytest.approx(-16.0, abs=0.5)
    assert true_peak_dbtp(got) <= TRUE_PEAK_DBTP


def test_off_writes_the_speech_as_made(tmp_path):
    audio = speech_like()
    writer = _export(tmp_path / "out.flac", audio, None)
    got, _ = decode(tmp_path / "out.flac")
    assert writer.gain_db is None
    assert np.max(np.abs(got - np.clip(audio, -1, 1))) < 1e-4  # 16-bit rounding only


def test_silence_is_left_alone(tmp_path):
    writer = _export(tmp_path / "out.wav", np.zeros(SR, np.float32), DEFAULT_LUFS)
    got, _ = decode(tmp_path / "out.wav")
    assert writer.gain_db == 0
    assert not got.any()


def test_an_aborted_export_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), open_audio_writer(tmp_path / "out.mp3", loudness=-18.0) as writer:
        writer.write(speech_like(1.0))
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("given", "wanted"),
    [("off", None), ("-18", -18.0), ("-16 LUFS", -16.0), ("  -23.5lufs", -23.5), (-14, -14.0), (None, None)],
)
def test_parse_loudness(given, wanted):
    assert parse_loudness(given) == wanted


@pytest.mark.parametrize("given", ["loud", "0", "-80", "nan", "+3"])
def test_parse_loudness_refuses(given):
    with pytest.raises(ValueError, match="LUFS"):
        parse_loudness(given)


@pytest.mark.slow
def test_say_normalises_by_default_and_not_when_off(tmp_path, cli_env):
    text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."
    runs = {"default": [], "off": ["--loudness", "off"], "-16": ["--loudness", "-16"]}
    measured = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.flac"
        done = subprocess.run(
            [sys.executable, "-m", "fasttts_desktop", "say", text, "-o", str(out), "--device", "cpu", *extra],
            env=cli_env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert ("loudness normalised" in done.stdout) == (name != "off")
        audio, sr = decode(out)
        measured[name] = (integrated_lufs(audio, sr), true_peak_dbtp(audio))
    assert measured["default"][0] == pytest.approx(-18.0, abs=0.3)
    assert measured["-16"][0] == pytest.approx(-16.0, abs=0.3)
    for name in ("default", "-16"):
        assert measured[name][1] <= TRUE_PEAK_DBTP
    # Kokoro speaks near -23 LUFS: off keeps it there, far from the target
    assert abs(measured["off"][0] - DEFAULT_LUFS) > 2


def test_say_refuses_a_bad_level(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", "say", "Hello.", "-o", str(tmp_path / "x.wav"),
         "--loudness", "loud", "--offline"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )  # fmt: skip
    assert done.returncode == 2
    assert "LUFS" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
