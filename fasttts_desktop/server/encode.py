"""Audio as a byte stream in the formats OpenAI's speech API offers, encoded as the chunks come.

The export writers (export/) make files whole or not at all; a response is the opposite, bytes out as soon
as they exist, so here the same encoders are driven into memory: MP3 (LAME), Opus in Ogg, AAC in ADTS
and FLAC through PyAV (the FFmpeg that M4B export uses), and WAV and PCM by hand. PCM is what OpenAI
sends: 24 kHz 16-bit signed little-endian mono, which is Kokoro's own rate. A streamed WAV cannot know
its length up front, so its header says "as long as there is" (0xFFFFFFFF), as OpenAI's does.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from typing import TYPE_CHECKING, cast

import numpy as np

from fasttts_desktop.engine.types import SAMPLE_RATE
from fasttts_desktop.export.m4b import AAC_BIT_RATE

if TYPE_CHECKING:  # PyAV loads only for the compressed formats
    from av.audio.stream import AudioStream
    from av.container import OutputContainer

FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
# (FFmpeg muxer, encoder, bit rate or None) for the compressed formats; 64 kb/s as the audiobook export
_AV = {
    "mp3": ("mp3", "libmp3lame", 64_000),
    "opus": ("ogg", "libopus", 48_000),
    "aac": ("adts", "aac", AAC_BIT_RATE),
    "flac": ("flac", "flac", None),
}


def pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(np.nan_to_num(audio), -1.0, 1.0) * 32767).astype("<i2").tobytes()


class Encoder:
    """feed(audio) -> the bytes ready so far; finish() -> the rest."""

    def __init__(self, fmt: str, sample_rate: int = SAMPLE_RATE):
        self.format = fmt
        self._rate = sample_rate
        self._started = False
        self._container: OutputContainer | None = None
        if fmt in _AV:
            self._open_av(*_AV[fmt])

    def _open_av(self, muxer: str, codec: str, bit_rate: int | None) -> None:
        import av

        self._sink = _Sink()
        # Ogg pages are held a second by default: a fifth of one keeps a stream moving
        options = {"page_duration": "200000"} if muxer == "ogg" else {}
        container = av.open(self._sink, "w", format=muxer, options=options)
        self._stream = cast("AudioStream", container.add_stream(codec, rate=self._rate, layout="mono"))
        self._container = container
        if bit_rate:
            self._stream.bit_rate = bit_rate
        self._pts = 0

    def feed(self, audio: np.ndarray) -> bytes:
        audio = np.asarray(audio, np.float32).reshape(-1)
        if self._container is None:
            head = b""
            if self.format == "wav" and not self._started:
                head = _wav_header(self._rate)
            self._started = True
            return head + pcm16(audio)
        if not len(audio):
            return b""
        import av

        frame = av.AudioFrame.from_ndarray(np.clip(audio, -1.0, 1.0)[None, :], format="fltp", layout="mono")
        frame.sample_rate = self._rate
        frame.time_base = Fraction(1, self._rate)
        frame.pts = self._pts
        self._pts += len(audio)
        self._container.mux(self._stream.encode(frame))
        return self._sink.take()

    def finish(self) -> bytes:
        if self._container is None:
            return b"" if self._started or self.format != "wav" else _wav_header(self._rate)
        self._container.mux(self._stream.encode(None))
        self._container.close()
        return self._sink.take()

    def close(self) -> None:
        """Drop the encoder without finishing (the client went away)."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001, S110 - nothing is owed to a client that left
                pass


class _Sink:
    """A write-only file for the muxer (not seekable, so nothing is rewritten afterwards)."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _wav_header(rate: int) -> bytes:
    unknown = 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", unknown)
    )
