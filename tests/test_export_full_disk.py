"""Every export format on a real full file system (a 64 KB tmpfs, or a file size limit where mounting is
not allowed): the first write that does not fit stops the export, and nothing is left behind.

Encoders that buffer in their own I/O layer (FFmpeg's, for M4B/M4A) could take many more seconds of
audio after the disk was full and report it only at closing: for a book, minutes of synthesis wasted.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from robust_helpers import file_size_limit, full_disk
from test_export_audio import AV_FORMATS, SF_FORMATS, SR, voiced

from fasttts_desktop.export import ExportError, open_audio_writer

DISK_KB = 64


def bytes_per_second(fmt: str, second: np.ndarray, folder) -> float:
    """What one second of `second` costs in `fmt`, measured on 20 seconds written where there is room."""
    with open_audio_writer(folder / f"room.{fmt}") as writer:
        for _ in range(20):
            writer.write(second)
        path = writer.close()
    return path.stat().st_size / 20


@pytest.mark.parametrize("fmt", SF_FORMATS + AV_FORMATS)
def test_the_first_write_past_a_full_disk_stops_the_export(fmt, tmp_path):
    second = voiced(1.0)
    rate = bytes_per_second(fmt, second, tmp_path)
    with full_disk(tmp_path / "disk", size_kb=DISK_KB) as folder:
        mounted = os.path.ismount(folder)
        out = folder / f"book.{fmt}"
        writes = 0
        with pytest.raises(ExportError) as raised:
            if mounted:
                writer = open_audio_writer(out)
                for _ in range(300):
                    writer.write(second)
                    writes += 1
            else:
                with file_size_limit(DISK_KB):
                    writer = open_audio_writer(out)
                    for _ in range(300):
                        writer.write(second)
                        writes += 1
        left = list(folder.iterdir())
    assert str(raised.value).endswith(("no space left on device.", "file too large.")), raised.value
    # the seconds that fit on the disk, and one more: an encoder may hold back a second's worth of packets
    fits = math.ceil(DISK_KB * 1024 / rate)
    assert writes <= fits + 1, f"{writes} seconds were taken after {fits} filled the disk"
    assert left == [], left


@pytest.mark.parametrize("fmt", AV_FORMATS)
def test_m4b_still_plays_from_the_start_with_its_index_in_front(fmt, tmp_path):
    # the packets are flushed as they come (to see a full disk at once); faststart must still work
    import av

    out = tmp_path / f"a.{fmt}"
    with open_audio_writer(out) as writer:
        writer.write(voiced(3.0))
        writer.close()
    blob = out.read_bytes()
    assert blob.index(b"moov") < blob.index(b"mdat")
    with av.open(str(out)) as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert abs(len(decoded) / SR - 3.0) < 0.1
