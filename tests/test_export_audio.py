"""Every export format written block by block and decoded back by the library that wrote it.

The signal is voice-like (a gliding pitch with 19 harmonics, syllable-shaped loudness and pauses), so
lossy codecs meet what they will meet in use; the real engine's audio goes through export in
test_export_subtitles.py.
"""

from __future__ import annotations

import os
import stat
from fractions import Fraction

import av
import numpy as np
import pytest
import soundfile
from audio_checks import log_mel_distance

from fasttts_desktop.export import SUPPORTED_FORMATS, ExportError, open_audio_writer

SR = 24_000
SF_FORMATS = ["wav", "flac", "mp3", "ogg", "opus"]
AV_FORMATS = ["m4b", "m4a"]
# Samples a codec may add at the end (AAC: up to one 1024-sample frame past the last full one).
PADDING = {"wav": 0, "flac": 0, "mp3": 1152, "ogg": 1024, "opus": 960, "m4b": 1024, "m4a": 1024}


def voiced(seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140 + 35 * np.sin(2 * np.pi * 0.6 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    sig = sum(np.sin(k * phase) / k for k in range(1, 20))
    syllables = 0.5 - 0.5 * np.cos(2 * np.pi * 3.5 * t)
    pauses = (np.sin(2 * np.pi * 0.4 * t) > -0.6).astype(float)
    noise = np.random.default_rng(0).normal(0, 0.002, len(t))
    out = 0.5 * sig * syllables * pauses / np.abs(sig).max() + noise
    return out.astype(np.float32)


def decode(path, fmt: str) -> np.ndarray:
    if fmt in AV_FORMATS:
        with av.open(str(path)) as c:
            assert c.streams.audio[0].codec_context.name == "aac"
            assert c.streams.audio[0].sample_rate == SR
            return np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    audio, rate = soundfile.read(str(path), dtype="float32")
    assert rate == SR
    return audio


def write_in_blocks(path, audio: np.ndarray, **kw):
    rng = np.random.default_rng(1)
    with open_audio_writer(path, **kw) as w:
        pos = 0
        while pos < len(audio):  # uneven blocks, as chunks come from the engine
            n = int(rng.integers(500, 9000))
            w.write(audio[pos : pos + n])
            pos += n
    return w


def aligned_correlation(ref: np.ndarray, got: np.ndarray, max_lag: int = 4096) -> tuple[float, int]:
    n = len(ref) + len(got)
    cc = np.fft.irfft(np.fft.rfft(got, n) * np.conj(np.fft.rfft(ref, n)), n)
    cc = np.concatenate([cc[-max_lag:], cc[: max_lag + 1]])
    lag = int(np.argmax(cc)) - max_lag
    a, b = (ref, got[lag:]) if lag >= 0 else (ref[-lag:], got)
    m = min(len(a), len(b))
    a, b = a[:m], b[:m]
    return float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b))), lag


@pytest.fixture(scope="module")
def signal():
    return voiced()


@pytest.fixture(scope="module")
def wav_export(signal, tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.wav"
    write_in_blocks(path, signal)
    return decode(path, "wav")


@pytest.mark.parametrize("fmt", SF_FORMATS + AV_FORMATS)
def test_format_round_trip(fmt, signal, wav_export, tmp_path):
    path = tmp_path / f"book.{fmt}"
    w = write_in_blocks(path, signal, title="A Title")
    assert w.path == path and w.samples_written == len(signal)
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "temporary file left behind"
    got = decode(path, fmt)
    assert len(signal) <= len(got) <= len(signal) + PADDING[fmt], (len(got), len(signal))
    corr, lag = aligned_correlation(wav_export, got)
    assert abs(lag) <= PADDING[fmt]
    assert corr > (0.999 if fmt in ("wav", "flac") else 0.98), corr
    shifted = got[lag:] if lag >= 0 else np.pad(got, (-lag, 0))
    assert log_mel_distance(wav_export, shifted[: len(wav_export)]) < 0.35
    if fmt in ("wav", "flac"):  # lossless: 16-bit PCM of the input, sample for sample
        np.testing.assert_allclose(got, signal, atol=1.5 / 32767)
    if fmt in AV_FORMATS:
        with av.open(str(path)) as c:
            assert c.metadata["title"] == "A Title"
            assert c.metadata["major_brand"].strip() == fmt.upper()
    else:
        with soundfile.SoundFile(str(path)) as f:
            assert f.title == "A Title"


def test_codec_is_what_the_extension_says(signal, tmp_path):
    kinds = {}
    for fmt in SF_FORMATS:
        write_in_blocks(tmp_path / f"x.{fmt}", signal[:SR])
        info = soundfile.info(str(tmp_path / f"x.{fmt}"))
        kinds[fmt] = (info.format, info.subtype)
    assert kinds == {
        "wav": ("WAV", "PCM_16"),
        "flac": ("FLAC", "PCM_16"),
        "mp3": ("MP3", "MPEG_LAYER_III"),
        "ogg": ("OGG", "VORBIS"),
        "opus": ("OGG", "OPUS"),
    }


def test_explicit_format_wins_over_the_extension(signal, tmp_path):
    path = tmp_path / "book.audio"
    write_in_blocks(path, signal[:SR], format="mp3")
    assert soundfile.info(str(path)).format == "MP3"
    write_in_blocks(tmp_path / "b.wav", signal[:SR], format=".OPUS")
    assert soundfile.info(str(tmp_path / "b.wav")).subtype == "OPUS"


def test_m4b_chapter_marks_read_back(signal, tmp_path):
    path = tmp_path / "book.m4b"
    with open_audio_writer(path, title="Book") as w:
        w.write(signal[: SR // 10])  # 0.1 s before the first mark: too short to get a chapter of its own
        w.mark_chapter("Chapter 1")
        w.write(signal[: 2 * SR])
        w.mark_chapter("Empty chapter")  # replaced by the next mark at the same spot
        w.mark_chapter("Chapter 2 – naïve ✓")
        w.write(signal[: 3 * SR])
    assert w.chapters == [("Chapter 1", 0.1), ("Chapter 2 – naïve ✓", 2.1)]
    with av.open(str(path)) as c:
        chapters = c.chapters()
    got = [
        (ch["metadata"]["title"], float(ch["start"] * ch["time_base"]), float(ch["end"] * ch["time_base"]))
        for ch in chapters
    ]
    assert [g[0] for g in got] == ["Chapter 1", "Chapter 2 – naïve ✓"]
    assert got[0][1] == 0  # a first chapter this close to the start is moved to it
    assert got[1][1] == pytest.approx(2.1, abs=0.002) and got[0][2] == pytest.approx(2.1, abs=0.002)
    assert got[1][2] == pytest.approx(5.1, abs=0.002)


def test_m4b_first_chapter_late_gets_a_leading_one(signal, tmp_path):
    path = tmp_path / "late.m4b"
    with open_audio_writer(path, title="Book") as w:
        w.write(signal[:SR])
        w.mark_chapter("One")
        w.write(signal[:SR])
    with av.open(str(path)) as c:
        chapters = c.chapters()
    assert [(ch["metadata"]["title"], ch["start"] * ch["time_base"]) for ch in chapters] == [
        ("Book", 0),
        ("One", Fraction(1)),
    ]


@pytest.mark.parametrize("name", ["book.xyz", "book", "book.txt"])
def test_unknown_extension_is_one_line_and_writes_nothing(name, tmp_path):
    with pytest.raises(ExportError) as err:
        open_audio_writer(tmp_path / name)
    msg = str(err.value)
    assert "\n" not in msg and "format" in msg and "mp3" in msg
    assert list(tmp_path.iterdir()) == []


def test_unknown_explicit_format(tmp_path):
    with pytest.raises(ExportError, match="Unknown audio format 'wma'"):
        open_audio_writer(tmp_path / "a.wav", format="wma")
    assert set(SUPPORTED_FORMATS) >= {"wav", "flac", "mp3", "ogg", "opus", "m4b"}


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "m4b"])
def test_exception_mid_write_leaves_nothing_and_keeps_the_old_file(fmt, signal, tmp_path):
    fresh = tmp_path / f"new.{fmt}"
    with pytest.raises(RuntimeError, match="boom"), open_audio_writer(fresh) as w:
        w.write(signal[:SR])
        raise RuntimeError("boom")
    old = tmp_path / f"old.{fmt}"
    old.write_bytes(b"previous contents")
    with pytest.raises(KeyboardInterrupt), open_audio_writer(old) as w:
        w.write(signal[:SR])
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == [old.name]
    assert old.read_bytes() == b"previous contents"


def test_abort_and_double_close(signal, tmp_path):
    w = open_audio_writer(tmp_path / "a.flac")
    w.write(signal[:SR])
    w.abort()
    w.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="already closed"):
        w.write(signal[:SR])
    w = open_audio_writer(tmp_path / "b.flac")
    with pytest.raises(ExportError, match="Nothing to save"):
        w.close()  # FLAC writes no header before the first sample: an empty file would be unreadable
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="already closed"):
        w.close()


def test_refuses_fifo_device_and_folder(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file") as err:
        open_audio_writer(fifo)  # opening a FIFO for writing would block forever: must not be tried
    assert "\n" not in str(err.value)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(ExportError, match="not a regular file"):
        open_audio_writer("/dev/null", format="wav")
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        open_audio_writer(tmp_path / "dir.wav")
    with pytest.raises(ExportError, match="does not exist"):
        open_audio_writer(tmp_path / "missing" / "a.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.wav", "pipe.wav"]


def test_encoder_refusal_is_an_export_error(tmp_path):
    # Opus has no 22.05 kHz mode: libsndfile refuses at open, which must surface as one line.
    with pytest.raises(ExportError, match="Cannot write OPUS") as err:
        open_audio_writer(tmp_path / "a.opus", sample_rate=22050)
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["wav", "m4b"])
def test_modes_new_file_follows_umask_existing_file_keeps_its_mode(fmt, signal, tmp_path):
    old_umask = os.umask(0o027)
    try:
        write_in_blocks(tmp_path / f"new.{fmt}", signal[:SR])
        existing = tmp_path / f"old.{fmt}"
        existing.write_bytes(b"x")
        existing.chmod(0o604)
        write_in_blocks(existing, signal[:SR])
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / f"new.{fmt}").stat().st_mode) == 0o640
    assert stat.S_IMODE(existing.stat().st_mode) == 0o604
    assert len(decode(existing, fmt)) >= SR


def test_symlink_target_is_written_through(signal, tmp_path):
    real = tmp_path / "real.wav"
    real.write_bytes(b"old")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    write_in_blocks(link, signal[:SR])
    assert link.is_symlink() and len(decode(real, "wav")) == SR


def test_clipping_and_nan_do_not_wrap(tmp_path):
    loud = np.array([2.0, -2.0, np.nan, 0.5] * 100, dtype=np.float32)
    write_in_blocks(tmp_path / "c.wav", loud)
    got = decode(tmp_path / "c.wav", "wav")
    np.testing.assert_allclose(got[:4], [1.0, -1.0, 0.0, 0.5], atol=1e-4)
