"""Saving files (engine/storage/files.py, and every writer on it): whole or not at all, only over regular
files, with the mode any new file would get, and one line naming the real reason when it fails.

Faults are real: FIFOs, device nodes, a full tmpfs, a file-size limit, a folder the writer may not write
(as an unprivileged user when the tests run as root), a save killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from audio_checks import read_wav
from robust_helpers import (
    NOBODY,
    file_size_limit,
    full_disk,
    is_root,
    not_regular_files,
    open_folder,
    read_only_folder,
    unprivileged,
)

from fasttts_desktop.engine.storage.files import remove_stale_parts, write_text_atomic
from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.export import open_audio_writer

REPO = Path(__file__).resolve().parent.parent
TONE = (0.3 * np.sin(np.arange(24_000) / 24_000 * 2 * np.pi * 220)).astype(np.float32)
# What lossy encoders cannot squeeze: a second of it is ~8 kB of MP3/AAC at 64 kb/s.
NOISE = np.random.default_rng(0).normal(0, 0.3, 24_000).astype(np.float32)


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part")]


def write_wav(path, audio: np.ndarray = TONE) -> Path:
    """A WAV saved as `say -o x.wav` saves it: through the export writer."""
    with open_audio_writer(path, format="wav") as w:
        w.write(audio)
    return w.path


def write_text(path, text: str = "words\n") -> Path:
    return write_text_atomic(path, text)


def read_back(path: Path, writer) -> int:
    """How much the writer's file holds: samples of a WAV, characters of a text file."""
    return len(read_wav(path)[0]) if writer is write_wav else len(path.read_text())


WRITERS = [pytest.param(write_wav, id="wav"), pytest.param(write_text, id="text")]
WHOLE = {write_wav: len(TONE), write_text: len("words\n")}


def test_streaming_writer_appears_only_when_committed(tmp_path):
    target = tmp_path / "out.wav"
    with open_audio_writer(target) as w:
        for _ in range(3):
            w.write(TONE)
            assert not target.exists()  # only the hidden temp file so far
        assert len(list(tmp_path.glob(".out.wav.*.part"))) == 1
        w.close()
    audio, rate = read_wav(target)
    assert rate == 24_000 and len(audio) == 3 * len(TONE)
    np.testing.assert_allclose(audio[: len(TONE)], TONE, atol=1e-4)
    assert target.stat().st_size == 44 + 2 * len(audio)  # a plain header: nothing but fmt and data
    assert no_leftovers(tmp_path)


def test_leaving_without_commit_leaves_nothing(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), open_audio_writer(target) as w:
        w.write(TONE)
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and no_leftovers(tmp_path)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("make", not_regular_files())
def test_never_replaces_what_is_not_a_regular_file(tmp_path, make, writer):
    # issue 9: `say -o PATH` replaced a FIFO or device with a WAV (as root, -o /dev/null deleted /dev/null)
    path = make(tmp_path)
    kind = stat.S_IFMT(path.stat().st_mode)
    with pytest.raises(EngineError, match="not a regular file"):
        writer(path)
    assert stat.S_IFMT(path.stat().st_mode) == kind  # still the FIFO / device it was
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert no_leftovers(tmp_path)


@pytest.mark.parametrize("writer", WRITERS)
def test_writes_through_a_link_to_a_regular_file(tmp_path, writer):
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    writer(link)
    assert link.is_symlink() and read_back(real, writer) == WHOLE[writer]


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_umask_mode(tmp_path, umask, mode, writer):
    # issue 9: saved files were 0600 whatever the umask
    old = os.umask(umask)
    try:
        writer(tmp_path / "new.wav")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.wav").stat().st_mode) == mode


@pytest.mark.parametrize("writer", WRITERS)
def test_overwriting_keeps_the_files_mode(tmp_path, writer):
    target = tmp_path / "shared.wav"
    target.write_bytes(b"old")
    target.chmod(0o640)
    writer(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and read_back(target, writer) == WHOLE[writer]


@pytest.mark.skipif(not is_root(), reason="only root may give a file to another owner")
def test_overwriting_as_root_keeps_the_files_owner(tmp_path):
    target = tmp_path / "theirs.json"
    target.write_text("{}")
    os.chown(target, NOBODY, NOBODY)
    write_text_atomic(target, '{"a": 1}')
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY) and target.read_text() == '{"a": 1}'


def test_a_killed_saves_part_file_is_removed_by_the_next_save(tmp_path):
    # issue 9: hidden .part files left by a killed save were never cleaned up. A real save, killed hard.
    target = tmp_path / "book.wav"
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from fasttts_desktop.export import open_audio_writer
        w = open_audio_writer({str(target)!r})
        w.write(np.zeros(24000, np.float32))
        print("writing", flush=True)
        sys.stdin.read()
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        (part,) = tmp_path.glob(".book.wav.*.part")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    assert part.exists() and not target.exists()  # what a killed save leaves
    mine = tmp_path / f".book.wav.{os.getpid()}.0123abcd.part"  # a save of this process, still running
    mine.write_bytes(b"")
    other = tmp_path / ".other.wav.999999.0123abcd.part"
    other.write_bytes(b"")
    write_wav(target)
    assert not part.exists() and mine.exists() and other.exists()
    assert len(read_wav(target)[0]) == len(TONE)
    assert remove_stale_parts(target) == []


# Every export format fills a small disk: libsndfile says only "System error" and FFmpeg names the errno;
# the user reads the real reason either way (issue 11).
FULL_DISK_FORMATS = ["wav", "flac", "mp3", "ogg", "opus", "m4b", "m4a"]


@pytest.mark.parametrize("fmt", FULL_DISK_FORMATS)
def test_a_full_disk_leaves_no_partial_file(tmp_path, fmt):
    with full_disk(tmp_path / "disk", size_kb=64) as folder:
        target = folder / f"big.{fmt}"
        with pytest.raises(EngineError) as err, open_audio_writer(target) as w:
            for _ in range(20):  # 20 x 48 kB of PCM, or 20 x ~8 kB of MP3/AAC of noise, on 64 kB
                w.write(NOISE)
            w.close()
        message = str(err.value)
        assert "\n" not in message and message.startswith(f"Cannot save to {target}: "), message
        assert message.endswith(("no space left on device.", "file too large.")), message
        assert not target.exists() and no_leftovers(folder)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4b"])
def test_a_file_size_limit_is_file_too_large(tmp_path, fmt):
    # The other way a write runs out of room: RLIMIT_FSIZE (EFBIG), where the disk itself has space.
    target = tmp_path / f"big.{fmt}"
    with file_size_limit(64), pytest.raises(EngineError) as err, open_audio_writer(target) as w:
        for _ in range(20):
            w.write(NOISE)
        w.close()
    assert str(err.value) == f"Cannot save to {target}: file too large."
    assert not target.exists() and no_leftovers(tmp_path)


def test_a_full_disk_keeps_the_old_text_file(tmp_path):
    with full_disk(tmp_path / "disk", size_kb=16) as folder:
        target = folder / "lexicon.json"
        write_text_atomic(target, "old")
        with pytest.raises(EngineError, match=r"^Cannot save to .*lexicon.json: no space left on device\.$"):
            write_text_atomic(target, "x" * 64 * 1024)
        assert target.read_text() == "old" and no_leftovers(folder)


def test_an_unwritable_folder_is_one_line():
    with open_folder() as base:
        folder = base / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        with unprivileged(), pytest.raises(EngineError, match=r"locked/x.wav: permission denied\.$"):
            write_wav(folder / "x.wav")
        assert list(folder.iterdir()) == []


def test_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(EngineError, match=r"the folder .* does not exist"):
        write_wav(tmp_path / "nowhere" / "x.wav")


def test_a_very_long_name_still_saves(tmp_path):
    target = tmp_path / ("n" * 251 + ".wav")  # 255 bytes: the longest name most file systems take
    write_wav(target)
    assert target.exists() and no_leftovers(tmp_path)


def test_wav_size_limit_is_a_clear_error(tmp_path, monkeypatch):
    from fasttts_desktop.export import wav

    monkeypatch.setattr(wav, "MAX_DATA_BYTES", 3 * 48_000)  # RIFF's 4 GB, scaled down
    with pytest.raises(EngineError, match="holds at most") as err, open_audio_writer(tmp_path / "x.wav") as w:
        for _ in range(4):
            w.write(TONE)
    assert str(err.value).startswith(f"Cannot save to {tmp_path / 'x.wav'}: a WAV file holds at most ")
    assert no_leftovers(tmp_path) and not (tmp_path / "x.wav").exists()


def test_the_real_wav_limit_is_24_hours(tmp_path, monkeypatch):
    from fasttts_desktop.export import wav

    w = open_audio_writer(tmp_path / "x.wav")
    w.samples_written = wav.MAX_DATA_BYTES // 2 - 10  # as if 24 hours had been written
    with pytest.raises(EngineError, match=r"holds at most 24 hours of audio; split the text\.$"):
        w.write(TONE)
    assert not (tmp_path / "x.wav").exists() and no_leftovers(tmp_path)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_read_only_folder_is_one_line(tmp_path, writer):
    with read_only_folder(tmp_path / "ro") as folder:
        with pytest.raises(
            EngineError, match=r"^Cannot save to .*ro/x.wav: (read-only file system|permission denied)\.$"
        ):
            writer(folder / "x.wav")
        assert list(folder.iterdir()) == []


def test_unprivileged_really_cannot_write():
    """The privilege drop the fault tests rely on is real (root ignores permission bits)."""
    with open_folder() as base:
        folder = base / "ro"
        folder.mkdir(mode=0o555)
        with unprivileged(), pytest.raises(PermissionError):
            (folder / "g").write_text("x")


def test_json_files_that_cannot_be_read_are_one_line(tmp_path):
    from fasttts_desktop.engine.storage.jsonfile import read_json

    latin = tmp_path / "blends.json"
    latin.write_bytes(b'{"caf\xe9": 1}')
    with pytest.raises(EngineError, match=r"^Cannot read .*blends\.json: it is not UTF-8 text\.$"):
        read_json(latin, {})
    with pytest.raises(EngineError, match=r"^Cannot read .*: is a directory\.$"):
        read_json(tmp_path, {})
    assert read_json(tmp_path / "missing.json", {"default": 1}) == {"default": 1}
