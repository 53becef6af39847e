"""`fasttts-desktop say` against bad options, special files, bad bytes and faults, as a real process.

Early checks (options, the text, the output) fail before the model loads, so those runs cost well under a
second; the faults that need the engine (signals mid-write, a full disk, stdout on /dev/full, an unwritable
home, two processes on one cold cache) load it, and are marked slow.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from audio_checks import read_wav
from robust_helpers import (
    assert_model_not_loaded,
    assert_one_line_error,
    assert_whole_wav_or_absent,
    full_disk,
    full_disk_child_limit,
    make_link_to_dev_null,
    not_regular_files,
    read_only_folder,
    run_cli,
    text_of,
)

HELLO = "Hello there."


@pytest.fixture(scope="module")
def quick_env() -> dict[str, str]:
    """For runs that must fail before the engine loads: its cache is empty, so a load would show."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    env["FASTTTS_OFFLINE"] = "1"
    return env


def early(args, env, tmp_path, fragment, stdin=None):
    r = run_cli([*args, "--device", "cpu"], env, stdin=stdin, cwd=tmp_path, timeout=120)
    line = assert_one_line_error(r, fragment)
    assert_model_not_loaded(r)
    return line


# --- options ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("speed", ["nan", "inf", "-1", "0", "3.5", "1e309", "fast", ""])
def test_bad_speed_is_refused_before_any_work(quick_env, tmp_path, speed):
    # issue 9: a bad --speed was reported only after the ~7 s model load
    early(["say", HELLO, "-o", str(tmp_path / "a.wav"), "--speed", speed], quick_env, tmp_path, "--speed")
    assert_whole_wav_or_absent(tmp_path / "a.wav", expect=False)


@pytest.mark.parametrize("voice", ["zz_nobody", "../../etc/passwd", "jm_kumö", "JM_KUMO"])
def test_unknown_voice_is_refused_before_the_model_loads(quick_env, tmp_path, voice):
    line = early(
        ["say", HELLO, "-o", str(tmp_path / "a.wav"), "--voice", voice], quick_env, tmp_path, "Unknown voice"
    )
    assert "jm_kumo" in line  # it says what there is


def test_missing_voices_file_is_refused_before_the_model_loads(quick_env, tmp_path):
    early(
        ["say", HELLO, "-o", str(tmp_path / "a.wav"), "--voices", str(tmp_path / "v.pt")],
        quick_env,
        tmp_path,
        "Voices not found",
    )


# --- the text ---------------------------------------------------------------------------------------------


def test_text_and_file_together_are_refused(quick_env, tmp_path):
    # issue 9: the text argument was silently dropped when -f was given too
    book = tmp_path / "book.txt"
    book.write_text("From the file.")
    early(
        ["say", "From the argument.", "-f", str(book), "-o", str(tmp_path / "a.wav")],
        quick_env,
        tmp_path,
        "not both",
    )


def test_an_endless_device_is_refused(quick_env, tmp_path):
    # issue 9: `-f /dev/zero` read until MemoryError and printed a traceback
    early(
        ["say", "-f", "/dev/zero", "-o", str(tmp_path / "a.wav")], quick_env, tmp_path, "not a regular file"
    )


def test_a_fifo_that_never_closes_is_refused(quick_env, tmp_path):
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that never goes away
    try:
        os.write(keep, b"Hello " * 1000)
        early(
            ["say", "-f", str(fifo), "-o", str(tmp_path / "a.wav")], quick_env, tmp_path, "not a regular file"
        )
    finally:
        os.close(keep)


def test_a_huge_file_is_refused_by_its_size(quick_env, tmp_path):
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    early(["say", "-f", str(huge), "-o", str(tmp_path / "a.wav")], quick_env, tmp_path, "too large")


def test_endless_standard_input_is_bounded(quick_env, tmp_path):
    with Path("/dev/zero").open("rb") as zero:
        r = run_cli(["say", "-o", str(tmp_path / "a.wav")], quick_env, stdin=zero, cwd=tmp_path, timeout=120)
    assert_one_line_error(r, "too large")
    assert_model_not_loaded(r)


@pytest.mark.parametrize(
    ("args", "stdin", "fragment"),
    [
        pytest.param(["-f", "{tmp}"], None, "is a folder", id="file-is-folder"),  # the importers word it
        pytest.param(["-f", "{tmp}/none.txt"], None, "no such file", id="file-missing"),
        pytest.param([], b"", "no text", id="empty-stdin"),
        pytest.param([], b" \n\t\r\n ", "no text", id="blank-stdin"),
        pytest.param(["   "], None, "no text", id="blank-argument"),
        pytest.param(["Hi.", "--bogus"], None, "unrecognized arguments: --bogus", id="unknown-option"),
    ],
)
def test_unusable_text_is_one_line(quick_env, tmp_path, args, stdin, fragment):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    early(["say", *args, "-o", str(tmp_path / "a.wav")], quick_env, tmp_path, fragment, stdin=stdin)


# --- the output ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", not_regular_files())
def test_output_that_is_not_a_regular_file_is_refused_untouched(quick_env, tmp_path, make):
    # issue 9: `-o FIFO` (or a device) was replaced by a WAV; as root `-o /dev/null` deleted /dev/null
    out = make(tmp_path)
    kind = stat.S_IFMT(out.stat().st_mode)
    early(["say", HELLO, "-o", str(out)], quick_env, tmp_path, "not a regular file")
    assert stat.S_IFMT(out.stat().st_mode) == kind
    assert out.is_symlink() == (make is make_link_to_dev_null)


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        pytest.param("{tmp}", "it is a folder", id="folder"),
        pytest.param("{tmp}/missing/a.wav", "does not exist", id="missing-folder"),
        pytest.param("", "no file name", id="empty-name"),
        pytest.param("{tmp}/" + "n" * 300 + ".wav", "file name too long", id="name-too-long"),
    ],
)
def test_unwritable_output_is_reported_before_any_work(quick_env, tmp_path, where, fragment):
    early(["say", HELLO, "-o", where.replace("{tmp}", str(tmp_path))], quick_env, tmp_path, fragment)


def test_read_only_output_folder_is_reported_before_any_work(quick_env, tmp_path):
    # issue 9: an unwritable output was reported only after the load and the whole synthesis
    with read_only_folder(tmp_path / "ro") as folder:
        line = early(["say", HELLO, "-o", str(folder / "a.wav")], quick_env, tmp_path, "Cannot save to")
        assert line.endswith(("read-only file system.", "permission denied."))


# --- faults that need the engine --------------------------------------------------------------------------

LONG = "\n\n".join(
    f"Paragraph {n}. The birch canoe slid on the smooth planks, and the sheet was glued to the dark blue "
    "background while the boy was there."
    for n in range(1, 9)
)


@pytest.mark.slow
def test_undecodable_argument_bytes_are_spoken_around_and_reported(cli_env, tmp_path):
    # issue 9: undecodable bytes in an argument printed a traceback while G2P retried
    out = tmp_path / "a.wav"
    text = b"Hello \xff\xfe there \x01 friend \xe2\x98\x85 now."  # bad bytes, a control, a star
    r = run_cli(["say", text, "-o", str(out), "--device", "cpu"], cli_env, cwd=tmp_path)
    err = text_of(r.stderr)
    assert r.returncode == 0, err
    assert "Traceback" not in err and "G2P failed" not in err, err
    assert "not valid UTF-8: 2 byte sequences could not be decoded" in err
    assert "4 characters were not spoken: �� U+0001 ★" in err  # two U+FFFD, the control, the star
    assert "... speaking: chunk 1 of" in err  # progress while it works
    assert_whole_wav_or_absent(out, expect=True)
    audio, rate = read_wav(out)
    assert len(audio) / rate > 1.0


@pytest.mark.slow
def test_stdout_on_a_full_device_is_one_line(cli_env, tmp_path):
    out = tmp_path / "a.wav"
    with Path("/dev/full").open("w") as full:
        r = subprocess.run(
            [sys.executable, "-m", "fasttts_desktop", "say", HELLO, "-o", str(out), "--device", "cpu"],
            stdout=full, stderr=subprocess.PIPE, env=cli_env, cwd=tmp_path, timeout=600, check=False,
        )  # fmt: skip
    assert_one_line_error(r, "cannot write to standard output: no space left on device")
    assert_whole_wav_or_absent(out, expect=True)  # the summary was lost, not the audio


def _wait_for_audio_in_part(folder: Path, proc: subprocess.Popen, timeout: float = 600) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for part in folder.glob(".*.part"):
            try:
                if part.stat().st_size > 44 + 24_000:  # the header and some audio: mid-write
                    return part
            except FileNotFoundError:
                pass
        time.sleep(0.05)
    raise AssertionError("no audio was being written")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_write_leaves_no_file(cli_env, tmp_path, sig):
    out = tmp_path / "long.wav"
    proc = subprocess.Popen(
        # Loudness off: the audio then streams into the .part file, so the signal lands mid-write.
        [sys.executable, "-m", "fasttts_desktop", "say", LONG, "-o", str(out), "--device", "cpu",
         "--loudness", "off"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env, cwd=tmp_path,
    )  # fmt: skip
    try:
        _wait_for_audio_in_part(tmp_path, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, text_of(err)
    assert "Traceback" not in text_of(err)
    assert_whole_wav_or_absent(out, expect=False)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["wav", "m4b"])
def test_a_full_disk_stops_the_job_at_the_first_failed_write(cli_env, tmp_path, fmt):
    # issue 23: an M4B onto a full disk was reported only after the whole text had been synthesized
    book = "\n\n".join([LONG] * 5)  # ~40 chunks; 96 KB hold ~2 s of WAV, ~12 s of AAC (~3 chunks)
    with full_disk(tmp_path / "disk", size_kb=96) as folder:
        out = folder / f"long.{fmt}"
        limit = {} if os.path.ismount(folder) else {"preexec_fn": full_disk_child_limit(96)}
        r = run_cli(["say", book, "-o", str(out), "--device", "cpu"], cli_env, cwd=tmp_path, **limit)
        line = assert_one_line_error(r, "Cannot save to")
        assert line.endswith(("no space left on device.", "file too large.")), line
        assert list(folder.iterdir()) == []  # no partial file, no temp file
    # progress is reported at every tenth of the chunks (and every 30 s): none may come near the end
    made = [
        (int(m[1]), int(m[2])) for m in re.finditer(r"speaking: chunk (\d+) of ~(\d+)", text_of(r.stderr))
    ]
    assert all(done <= total // 5 for done, total in made), made


@pytest.mark.slow
def test_an_unwritable_home_runs_from_memory_and_says_so_once(cli_env, tmp_path):
    # issue 9: with an unwritable home the app refused to speak with a bare errno; issue 23: the same with
    # the settings folder under it ("…/.config: read-only file system")
    dirs = ("FASTTTS_CACHE_DIR", "FASTTTS_CONFIG_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
    env = {k: v for k, v in cli_env.items() if k not in dirs}
    with read_only_folder(tmp_path / "home") as home:
        env["HOME"] = str(home)
        out = tmp_path / "a.wav"
        r = run_cli(["say", HELLO, "-o", str(out), "--device", "cpu"], env, cwd=tmp_path)
        assert list(home.iterdir()) == []
    err = text_of(r.stderr)
    assert r.returncode == 0, err
    assert "Traceback" not in err and "Errno" not in err, err
    notices = [line for line in err.splitlines() if "Cannot save" in line or "could not be kept" in line]
    assert len(notices) == 1, err
    line = notices[0]
    assert f"settings, the lexicon and saved blends in {home}/.config/fasttts-desktop (" in line, line
    assert f"the converted model in {home}/.cache/fasttts-desktop (" in line, line
    assert "read-only file system" in line or "permission denied" in line, line
    assert_whole_wav_or_absent(out, expect=True)


@pytest.mark.slow
def test_two_processes_on_one_cold_cache(cli_env, tmp_path, weights, monkeypatch):
    from fasttts_desktop.engine.weights import onnx_convert
    from fasttts_desktop.engine.weights.store import load_weights, offline_cache_path

    cache = tmp_path / "cold"
    env = {**cli_env, "FASTTTS_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fasttts_desktop", "voices", "--device", "cpu"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    results = []
    threads = [
        threading.Thread(target=lambda p=p: results.append((p, *p.communicate(timeout=900)))) for p in procs
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for proc, out, err in results:
        assert proc.returncode == 0 and "jm_kumo" in out, err
        assert "Traceback" not in err
    files = sorted(p.name for p in offline_cache_path(cache).parent.iterdir())
    assert not [f for f in files if f.endswith((".tmp", ".part"))], files
    monkeypatch.setattr(onnx_convert, "convert", lambda *a, **k: pytest.fail("the cache was not trusted"))
    again = load_weights(use_hub=False, cache_dir=cache)  # the cache they left is whole
    assert again.fingerprint == weights.fingerprint and again.notice == ""
