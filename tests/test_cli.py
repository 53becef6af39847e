"""`fasttts-desktop say` / `voices` as a user runs them: real process, real weights, CPU."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from audio_checks import pitch_track, read_wav


def run_cli(args, env, stdin=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "fasttts_desktop", *args],
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_say_writes_speech_wav_and_reports_speed(cli_env, tmp_path):
    out = tmp_path / "x.wav"
    r = run_cli(
        ["say", "The birch canoe slid on the smooth planks.", "-o", str(out), "--device", "cpu"], cli_env
    )
    assert r.returncode == 0, r.stderr
    assert "first chunk after" in r.stdout and "real-time factor" in r.stdout
    audio, rate = read_wav(out)
    assert rate == 24_000 and 1.5 < len(audio) / rate < 5.0
    pitch = pitch_track(audio, rate)
    assert (pitch > 0).mean() > 0.25
    assert not list(tmp_path.glob("*.part")), "temporary file left behind"


@pytest.mark.parametrize(
    ("name", "args", "codec"),
    [
        pytest.param("x.mp3", [], ("MP3", "MPEG_LAYER_III"), id="mp3-by-extension"),
        pytest.param("x.m4b", [], ("aac", "M4B"), id="m4b-by-extension"),
        pytest.param("speech", [], ("WAV", "PCM_16"), id="no-extension-is-wav"),
        pytest.param("x.dat", ["--format", "flac"], ("FLAC", "PCM_16"), id="format-option"),
    ],
)
def test_say_writes_the_format_the_name_asks_for(cli_env, tmp_path, name, args, codec):
    # `say` writes through the same writers as the window's export (issue 11)
    import av
    import soundfile

    out = tmp_path / name
    r = run_cli(
        ["say", "Glue the sheet to the dark blue background.", "-o", str(out), "--device", "cpu", *args],
        cli_env,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out} ("), r.stdout
    if codec[0] == "aac":
        with av.open(str(out)) as c:
            assert c.streams.audio[0].codec_context.name == "aac"
            assert c.metadata["major_brand"].strip() == codec[1]
            seconds = float(c.duration / av.time_base)
    else:
        info = soundfile.info(str(out))
        assert (info.format, info.subtype) == codec and info.samplerate == 24_000
        seconds = info.duration
    assert 1.5 < seconds < 5.0
    assert [p.name for p in tmp_path.iterdir()] == [name], "temporary file left behind"


def test_say_reads_stdin_and_lists_voices(cli_env, tmp_path):
    out = tmp_path / "stdin.wav"
    r = run_cli(
        ["say", "-o", str(out), "--voice", "jf_alpha", "--speed", "1.3"], cli_env, stdin="Hello there.\n"
    )
    assert r.returncode == 0, r.stderr
    audio, _ = read_wav(out)
    assert np.abs(audio).max() > 0.05
    r = run_cli(["voices"], cli_env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("jm_kumo") and "Japanese" in line and "default" in line for line in lines)
    assert len(lines) >= 5


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        pytest.param(["say", "   ", "-o", "{tmp}/a.wav"], None, "no text", id="empty-text"),
        pytest.param(["say", "Hi.", "-o", "{tmp}/missing/a.wav"], None, "does not exist", id="bad-folder"),
        pytest.param(["say", "Hi.", "-o", "{tmp}"], None, "folder", id="output-is-folder"),
        pytest.param(
            ["say", "Hi.", "-o", "{tmp}/a.wav", "--voice", "zz_x"], None, "Unknown voice", id="voice"
        ),
        pytest.param(
            ["say", "Hi.", "-o", "{tmp}/a.wav", "--weights", "{tmp}/nope.pth"], None, "nope.pth", id="weights"
        ),
        pytest.param(
            ["say", "-f", "{tmp}/none.txt", "-o", "{tmp}/a.wav"], None, "no such file", id="text-file"
        ),
    ],
)
def test_say_errors_are_one_clear_line(cli_env, tmp_path, args, stdin, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    r = run_cli(args + ["--device", "cpu"], cli_env, stdin=stdin)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], r.stderr
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*part"))
