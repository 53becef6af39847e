"""Audio files written as the engine speaks: pick a format, then write(), mark_chapter(), close().

One writer per file, fed chunk by chunk, so a 10-hour book never sits in memory. WAV, FLAC, MP3 and
Ogg (Vorbis, Opus) go through soundfile (libsndfile >= 1.1 encodes MP3 and Opus; its wheel bundles its
own copy), WAV with a size check of its own (wav.py); M4B/M4A (AAC in MP4, with chapter marks) through
PyAV, see m4b.py. Every file is written under a temporary name and renamed into place by `close()`
(engine/storage/files.py), and a write that fails for want of space reads "no space left on device"
whatever the library said.
"""

from __future__ import annotations

import os
import re
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fasttts_desktop.engine.storage.files import AtomicFile, WholeOrNothing
from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.export.errors import ExportError
from fasttts_desktop.export.loudness import Leveller
from fasttts_desktop.export.tags import BookInfo

if TYPE_CHECKING:  # numpy (0.2-0.3 s) is imported where audio is written: the window imports this module
    import numpy as np


@dataclass(frozen=True)
class AudioFormat:
    name: str
    extensions: tuple[str, ...]
    chapters: bool  # chapter marks are stored in the file (elsewhere they are only reported back)
    sf_format: str = ""  # soundfile's container and codec, or empty for PyAV
    sf_subtype: str = ""
    # soundfile's 0 (best) .. 1 (smallest) for lossy codecs: set so that Kokoro's speech lands near
    # 64 kb/s, a usual audiobook rate for mono voice (measured: MP3 0.25 -> 64, Vorbis 0.4 -> 65,
    # Opus 0.8 -> 57 kb/s, all with a similar log-mel distance to the source; libsndfile's defaults
    # give 54/49/32 kb/s and audibly duller speech).
    compression: float | None = None


_FORMATS = (
    AudioFormat("wav", (".wav",), False, "WAV", "PCM_16"),
    AudioFormat("flac", (".flac",), False, "FLAC", "PCM_16"),
    AudioFormat("mp3", (".mp3",), False, "MP3", "MPEG_LAYER_III", 0.25),
    AudioFormat("ogg", (".ogg", ".oga"), False, "OGG", "VORBIS", 0.4),
    AudioFormat("opus", (".opus",), False, "OGG", "OPUS", 0.8),
    AudioFormat("m4b", (".m4b",), True),
    AudioFormat("m4a", (".m4a", ".aac", ".mp4"), True),
)
FORMATS = {f.name: f for f in _FORMATS}
_LOSSLESS = ("wav", "flac")
SUPPORTED_FORMATS = tuple(FORMATS)
_ALIASES = {"vorbis": "ogg", "aac": "m4a", "mp4": "m4a"}


def format_for(path: str | os.PathLike, format: str | None = None, default: str | None = None) -> AudioFormat:
    """The format asked for by name (`format`, e.g. "mp3" or ".mp3"), else by the file's extension, else
    `default` (a name) if given."""
    if format:
        key = format.strip().lower().lstrip(".")
        key = _ALIASES.get(key, key)
        if key not in FORMATS:
            raise ExportError(
                f"Unknown audio format {format!r}; choose one of: {', '.join(SUPPORTED_FORMATS)}."
            )
        return FORMATS[key]
    ext = Path(path).suffix.lower()
    for f in _FORMATS:
        if ext in f.extensions:
            return f
    if default:
        return format_for(path, default)
    shown = f"extension {ext!r}" if ext else "no extension"
    raise ExportError(
        f"Cannot tell the audio format of {Path(path).name} ({shown}); "
        f"use one of: {', '.join(SUPPORTED_FORMATS)} (by extension or --format)."
    )


_LIBSNDFILE_PREFIX = re.compile(r"^Error opening '.*?': (Error : )?")


def one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__


class AudioWriter(WholeOrNothing):
    """Mono float32 audio in, one finished file out. Use as a context manager: an exception aborts."""

    def __init__(
        self,
        path: str | os.PathLike,
        fmt: AudioFormat,
        sample_rate: int,
        title: str | None,
        *,
        loudness: float | None = None,
        info: BookInfo | None = None,
    ):
        self.format = fmt
        self.sample_rate = int(sample_rate)
        self.title = title
        self.info = info or BookInfo(title=title)
        self.samples_written = 0
        self.gain_db: float | None = None  # the loudness gain applied, once closed (None: not normalised)
        self._marks: list[tuple[str, int]] = []
        self._file = AtomicFile(path)
        self.path = self._file.target
        # `loudness` (LUFS): measured as it streams, applied when closing (export/loudness.py)
        self._leveller: Leveller | None = None
        try:
            self._open(self._file.temp_path)
            if loudness is not None:
                self._leveller = Leveller(
                    loudness, self.sample_rate, self._file.temp_path.parent, lossy=fmt.name not in _LOSSLESS
                )
        except Exception as exc:
            error = self._error(exc)
            self._drop_leveller()
            self._file.discard()
            raise error from exc

    # -- what subclasses provide
    @abstractmethod
    def _open(self, temp_path: Path) -> None:
        """Open the encoder on the temp file (errors here are the user's one line, via `_error`)."""

    @abstractmethod
    def _write(self, audio: np.ndarray) -> None:
        """Encode `audio` (mono float32) after what was written so far."""

    @abstractmethod
    def _finish(self) -> None:
        """Flush the encoder and close the library's handle; the file is then complete."""

    @abstractmethod
    def _drop(self) -> None:
        """Close the library's handle without caring about the result (abort)."""

    # -- the interface
    @property
    def seconds(self) -> float:
        return self.samples_written / self.sample_rate

    @property
    def chapters(self) -> list[tuple[str, float]]:
        """(title, start in seconds) of each mark so far, whether or not the format stores them."""
        return [(t, s / self.sample_rate) for t, s in self._marks]

    def write(self, audio: np.ndarray) -> None:
        import numpy as np

        self._check_open()
        data = np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1))
        if not len(data):
            return
        try:
            if self._leveller is not None:
                self._leveller.add(data)  # scaled and clipped when closing
            else:
                # Integer and lossy encoders wrap or distort past full scale; clip here, once, for all.
                np.clip(data, -1.0, 1.0, out=data)
                self._write(data)
        except Exception as exc:
            error = self._error(exc)
            self.abort()
            raise error from exc
        self.samples_written += len(data)

    def mark_chapter(self, title: str) -> None:
        """A chapter starts at the current position. A second mark at the same spot replaces the first
        (a chapter with nothing spoken in it would be zero seconds long)."""
        self._check_open()
        title = " ".join(str(title).split()) or f"Chapter {len(self._marks) + 1}"
        if self._marks and self._marks[-1][1] == self.samples_written:
            self._marks.pop()
        self._marks.append((title, self.samples_written))

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path. ExportError (and no file) on failure."""
        self._check_open()
        if not self.samples_written:
            # Some encoders (FLAC) write their header with the first samples: an empty file is no file.
            self.abort()
            raise ExportError(f"Nothing to save to {self.path}: no audio was made.")
        try:
            if self._leveller is not None:
                self.gain_db = self._leveller.gain_db()
                for block in self._leveller.blocks(self.gain_db):
                    self._write(block)
                self._drop_leveller()
            self._finish()
        except Exception as exc:
            error = self._error(exc)
            self.abort()
            raise error from exc
        return self._file.commit()

    def _drop_leveller(self) -> None:
        if self._leveller is not None:
            self._leveller.close()
            self._leveller = None

    def abort(self) -> None:
        """Stop and leave nothing behind (an existing file at the target stays as it was)."""
        if self._file.done:
            return
        try:
            self._drop()
        except Exception:  # noqa: BLE001, S110 - a failing encoder must not keep its temp file alive
            pass
        self._drop_leveller()
        self._file.discard()

    def _check_open(self) -> None:
        if self._file.done:
            raise ExportError(f"{self.path} is already closed.")

    def _error(self, exc: BaseException) -> ExportError:
        """The line to report for `exc`; called before the temporary file goes (its size and the space it
        took tell a full disk from an encoder's own failure)."""
        known = self._file.failure(exc)
        if known is not None:
            return known
        # libsndfile's messages name the temporary file and repeat "Error": keep only what went wrong.
        reason = _LIBSNDFILE_PREFIX.sub("", one_line(exc)).rstrip(".")
        return ExportError(f"Cannot write {self.format.name.upper()} to {self._file.given}: {reason}.")


class SoundFileWriter(AudioWriter):
    """WAV, FLAC, MP3, Ogg Vorbis and Ogg Opus through libsndfile."""

    def _open(self, temp_path: Path) -> None:
        import soundfile

        f = self.format
        if f.sf_subtype not in soundfile.available_subtypes(f.sf_format):
            # soundfile's wheels bundle libsndfile 1.2.2; elsewhere it uses the system's, which before
            # 1.1.0 has no MP3 and before 1.0.29 no Opus.
            raise ExportError(
                f"Cannot write {f.name.upper()}: the libsndfile in use ({soundfile.__libsndfile_version__}) "
                "has no encoder for it."
            )
        self._sf = soundfile.SoundFile(
            str(temp_path),
            "w",
            samplerate=self.sample_rate,
            channels=1,
            format=f.sf_format,
            subtype=f.sf_subtype,
            compression_level=f.compression,
        )
        if self.title:
            # Ogg and FLAC take tags only before the first samples.
            self._sf.title = self.title
        if self.info.author:
            self._sf.artist = self.info.author

    def _write(self, audio: np.ndarray) -> None:
        self._sf.write(audio)

    def _finish(self) -> None:
        self._sf.close()

    def _drop(self) -> None:
        self._sf.close()


def open_audio_writer(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    sample_rate: int = SAMPLE_RATE,
    title: str | None = None,
    loudness: float | None = None,
    info: BookInfo | None = None,
) -> AudioWriter:
    """A writer for `path` in `format` (a name from SUPPORTED_FORMATS) or the format its extension names.

    `loudness`: normalise the file to this integrated loudness (LUFS, true peak <= -1 dBTP), or None to
    write the audio as made. `info`: title, author, narrator and cover (M4B/M4A store them all).

    Raises ExportError (one line) for an unknown format or a place that cannot be written; nothing
    appears at `path` until `close()` succeeds.
    """
    fmt = format_for(path, format)
    if fmt.name == "wav":
        from fasttts_desktop.export.wav import WavWriter

        return WavWriter(path, fmt, sample_rate, title, loudness=loudness, info=info)
    if fmt.sf_format:
        return SoundFileWriter(path, fmt, sample_rate, title, loudness=loudness, info=info)
    from fasttts_desktop.export.m4b import M4BWriter

    return M4BWriter(path, fmt, sample_rate, title, loudness=loudness, info=info)
