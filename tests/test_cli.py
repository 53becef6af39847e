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


@pytest.mark.slow
def test_say_makes_an_audiobook_with_chapters_and_subtitles_from_an_epub(cli_env, tmp_path):
    # issue 13's "done when": say -f book.epub -o book.m4b --subtitles book.vtt --voice "a:70,b:30"
    import av
    import webvtt
    from book_files import write_epub

    chapters = [
        ("Chapter One", ["The birch canoe slid on the smooth planks."]),
        ("Chapter Two", ["Glue the sheet to the dark blue background."]),
    ]
    book = write_epub(tmp_path / "book.epub", chapters, title="Two Lines")
    out, subs = tmp_path / "book.m4b", tmp_path / "book.vtt"
    args = ["say", "-f", str(book), "-o", str(out), "--subtitles", str(subs)]
    r = run_cli([*args, "--voice", "jm_kumo:70,jf_alpha:30", "--device", "cpu"], cli_env)
    assert r.returncode == 0, r.stderr
    assert "subtitles" in r.stdout and "2 chapter marks" in r.stdout, r.stdout
    with av.open(str(out)) as c:
        marks = [(ch["metadata"]["title"], float(ch["start"] * ch["time_base"])) for ch in c.chapters()]
        seconds = float(c.duration / av.time_base)
        assert c.metadata.get("title") == "Two Lines"
    assert [t for t, _ in marks] == ["Chapter One", "Chapter Two"] and marks[0][1] == 0.0
    cues = list(webvtt.read(str(subs)))
    assert [c.text.replace("\n", " ") for c in cues] == [
        "Chapter One",
        "The birch canoe slid on the smooth planks.",
        "Chapter Two",
        "Glue the sheet to the dark blue background.",
    ]

    def at(stamp: str) -> float:  # "00:00:04.890" (webvtt's *_in_seconds drop the fraction)
        h, m, sec = stamp.split(":")
        return 3600 * int(h) + 60 * int(m) + float(sec)

    # the second chapter mark opens the chunk where its heading is spoken (the chunk's lead-in before it)
    assert 0 <= at(cues[2].start) - marks[1][1] < 0.5
    assert at(cues[-1].end) <= seconds + 0.05
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.epub", "book.m4b", "book.vtt"]


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
    # by language (a heading each), best grade first, gender and grade beside each voice
    assert lines[0] == "American English" and lines[1].split() == ["af_heart", "female", "A", "(default)"]
    groups = [line for line in lines if not line.startswith("  ")]
    assert len(groups) == 9 and "Japanese" in groups and "French" in groups
    assert len([line for line in lines if line.startswith("  ")]) == 54
    assert any(
        line.split()[:3] == ["bf_emma", "female", "B-"] and "(British English default)" in line
        for line in lines
    )
    assert any(line.split()[0] == "jf_alpha" and "(Japanese default)" in line for line in lines)
    assert "voices --install" not in r.stderr  # the full set is installed: no hint


@pytest.mark.slow
def test_say_speaks_af_heart_by_default_and_a_languages_best_voice_for_lang(cli_env, tmp_path):
    r = run_cli(["say", "Hello there.", "-o", str(tmp_path / "a.wav"), "--device", "cpu"], cli_env)
    assert r.returncode == 0, r.stderr
    assert " · voice af_heart · " in r.stdout
    r = run_cli(
        ["say", "Bonjour.", "-o", str(tmp_path / "f.wav"), "--lang", "fr", "--device", "cpu"], cli_env
    )
    assert r.returncode == 0, r.stderr
    assert " · voice ff_siwis · " in r.stdout


@pytest.mark.slow
def test_without_the_voice_step_the_japanese_voices_work_and_one_line_says_how_to_add_the_rest(
    cli_env, tmp_path
):
    env = {**cli_env, "FASTTTS_DATA_DIR": str(tmp_path / "empty")}
    r = run_cli(["voices"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "Japanese" and len(r.stdout.splitlines()) == 6
    assert "jm_kumo" in r.stdout and "(default)" in r.stdout
    hints = [line for line in r.stderr.splitlines() if "voices --install" in line]
    assert hints == [
        "Only the 5 Japanese voices are installed: add all 54 with `fasttts-desktop voices --install`."
    ]
    r = run_cli(["say", "Hello there.", "-o", str(tmp_path / "a.wav"), "--device", "cpu"], env)
    assert r.returncode == 0, r.stderr
    assert " · voice jm_kumo · " in r.stdout and "voices --install" in r.stderr


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
    r = run_cli([*args, "--device", "cpu"], cli_env, stdin=stdin)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], r.stderr
    assert not list(tmp_path.glob("*.wav")) and not list(tmp_path.glob(".*part"))
