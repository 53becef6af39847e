"""Saving WAV files: whole or not at all, only over regular files, with the mode any new file would get.

Faults are real: FIFOs, device nodes, a full tmpfs, a folder the writer may not write (as an unprivileged
user when the tests run as root), a save killed with SIGKILL.
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
from robust_helpers import full_disk, open_folder, read_only_folder, unprivileged

from fasttts_desktop.engine.types import EngineError
from fasttts_desktop.wavfile import read_wav, write_wav_atomic

REPO = Path(__file__).resolve().parent.parent
TONE = (0.3 * np.sin(np.arange(24_000) / 24_000 * 2 * np.pi * 220)).astype(np.float32)


def no_leftovers(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_streaming_writer_appears_only_when_committed(tmp_path):
    from fasttts_desktop.wavfile import WavWriter

    target = tmp_path / "out.wav"
    with WavWriter(target) as w:
        for _ in range(3):
            w.write(TONE)
            assert not target.exists()  # only the hidden temp file so far
        assert len(list(tmp_path.glob(".out.wav.*.part"))) == 1
        w.commit()
    audio, rate = read_wav(target)
    assert rate == 24_000 and len(audio) == 3 * len(TONE)
    np.testing.assert_allclose(audio[: len(TONE)], TONE, atol=1e-4)
    assert no_leftovers(tmp_path)


def test_leaving_without_commit_leaves_nothing(tmp_path):
    from fasttts_desktop.wavfile import WavWriter

    target = tmp_path / "out.wav"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), WavWriter(target) as w:
        w.write(TONE)
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and no_leftovers(tmp_path)


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    return path


def _link_to_dev_null(tmp_path: Path) -> Path:
    path = tmp_path / "null.wav"
    path.symlink_to("/dev/null")
    return path


def _char_device(tmp_path: Path) -> Path:
    path = tmp_path / "device.wav"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # another /dev/null
    except PermissionError:
        pytest.skip("creating device nodes needs CAP_MKNOD; the FIFO and the /dev/null link cover this")
    return path


@pytest.mark.parametrize(
    "make", [pytest.param(_fifo, id="fifo"), pytest.param(_link_to_dev_null, id="link-to-dev-null"),
             pytest.param(_char_device, id="char-device")],
)  # fmt: skip
def test_never_replaces_what_is_not_a_regular_file(tmp_path, make):
    # issue 9: `say -o PATH` replaced a FIFO or device with a WAV (as root, -o /dev/null deleted /dev/null)
    path = make(tmp_path)
    kind = stat.S_IFMT(os.stat(path).st_mode)
    with pytest.raises(EngineError, match="not a regular file"):
        write_wav_atomic(path, TONE)
    assert stat.S_IFMT(os.stat(path).st_mode) == kind  # still the FIFO / device it was
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert no_leftovers(tmp_path)


def test_writes_through_a_link_to_a_regular_file(tmp_path):
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    write_wav_atomic(link, TONE)
    assert link.is_symlink() and len(read_wav(real)[0]) == len(TONE)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_umask_mode(tmp_path, umask, mode):
    # issue 9: saved files were 0600 whatever the umask
    old = os.umask(umask)
    try:
        write_wav_atomic(tmp_path / "new.wav", TONE)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.wav").stat().st_mode) == mode


def test_overwriting_keeps_the_files_mode(tmp_path):
    target = tmp_path / "shared.wav"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_wav_atomic(target, TONE)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and len(read_wav(target)[0]) == len(TONE)


def test_a_killed_saves_part_file_is_removed_by_the_next_save(tmp_path):
    # issue 9: hidden .part files left by a killed save were never cleaned up. A real save, killed hard.
    from fasttts_desktop.wavfile import remove_stale_parts

    target = tmp_path / "book.wav"
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from fasttts_desktop.wavfile import WavWriter
        w = WavWriter({str(target)!r})
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
    write_wav_atomic(target, TONE)
    assert not part.exists() and mine.exists() and other.exists()
    assert len(read_wav(target)[0]) == len(TONE)
    assert remove_stale_parts(target) == []


def test_a_full_disk_leaves_no_partial_file(tmp_path):
    from fasttts_desktop.wavfile import WavWriter

    with full_disk(tmp_path / "disk", size_kb=64) as folder:
        target = folder / "big.wav"
        with pytest.raises(EngineError) as err, WavWriter(target) as w:
            for _ in range(20):  # 20 x 48 kB of PCM on 64 kB
                w.write(TONE)
            w.commit()
        message = str(err.value)
        assert "\n" not in message and message.endswith(("no space left on device.", "file too large.")), (
            message
        )
        assert not target.exists() and no_leftovers(folder)


def test_an_unwritable_folder_is_one_line():
    with open_folder() as base:
        folder = base / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        with unprivileged(), pytest.raises(EngineError, match=r"locked/x.wav: permission denied\.$"):
            write_wav_atomic(folder / "x.wav", TONE)
        assert list(folder.iterdir()) == []


def test_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(EngineError, match="the folder .* does not exist"):
        write_wav_atomic(tmp_path / "nowhere" / "x.wav", TONE)


def test_a_very_long_name_still_saves(tmp_path):
    target = tmp_path / ("n" * 251 + ".wav")  # 255 bytes: the longest name most file systems take
    write_wav_atomic(target, TONE)
    assert target.exists() and no_leftovers(tmp_path)


def test_wav_size_limit_is_a_clear_error(tmp_path, monkeypatch):
    from fasttts_desktop import wavfile
    from fasttts_desktop.wavfile import WavWriter

    monkeypatch.setattr(wavfile, "MAX_DATA_BYTES", 3 * 48_000)  # RIFF's 4 GB, scaled down
    with pytest.raises(EngineError, match="holds at most"), WavWriter(tmp_path / "x.wav") as w:
        for _ in range(4):
            w.write(TONE)
    assert no_leftovers(tmp_path) and not (tmp_path / "x.wav").exists()


def test_a_read_only_folder_is_one_line(tmp_path):
    with read_only_folder(tmp_path / "ro") as folder:
        with pytest.raises(
            EngineError, match=r"^Cannot save to .*ro/x.wav: (read-only file system|permission denied)\.$"
        ):
            write_wav_atomic(folder / "x.wav", TONE)
        assert list(folder.iterdir()) == []


def test_unprivileged_really_cannot_write():
    """The privilege drop the fault tests rely on is real (root ignores permission bits)."""
    with open_folder() as base:
        folder = base / "ro"
        folder.mkdir(mode=0o555)
        with unprivileged(), pytest.raises(PermissionError):
            (folder / "g").write_text("x")
