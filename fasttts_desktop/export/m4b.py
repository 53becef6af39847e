"""M4B/M4A: AAC in MP4 with chapter marks, through PyAV (the FFmpeg its wheel bundles).

FFmpeg's MP4 muxer takes chapters until the trailer is written, so marks made while the audio streams
in are all set just before closing; it stores them twice, as a QuickTime chapter track (Apple players)
and a Nero `chpl` list (most others). `faststart` moves the index to the front once the file is done,
so players can start it before reading the end (a second pass over the file, at closing time).
The muxer keeps its sample index in memory: ~6 MB per hour of audio (measured), the one thing that grows.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fasttts_desktop.export.audio import AudioWriter

if TYPE_CHECKING:  # PyAV (FFmpeg) loads only when an M4B is written
    from av.container.core import Chapter

# Speech at 24 kHz mono: 64 kb/s AAC-LC is transparent enough and ~29 MB an hour.
AAC_BIT_RATE = 64_000
# A first mark this far into the audio gets a chapter before it, so the chapter list covers the file;
# one closer to the start is moved to 0 (the QuickTime chapter track is read back from 0 regardless).
_LEADING_GAP_S = 0.5


class M4BWriter(AudioWriter):
    def _open(self, temp_path: Path) -> None:
        import av

        brand = "M4B " if self.format.name == "m4b" else "M4A "
        # "ipod" is FFmpeg's muxer for .m4a/.m4b; the name is given since the temp file's suffix is .part.
        # flush_packets: each packet goes to the file as it is muxed, so a full disk fails the very write
        # that did not fit (FFmpeg's I/O layer otherwise kept taking audio, ~4x the room left, measured).
        self._container = av.open(
            str(temp_path),
            "w",
            format="ipod",
            options={"movflags": "+faststart", "brand": brand, "flush_packets": "1"},
        )
        if self.title:
            self._container.metadata["title"] = self.title
        self._stream = self._container.add_stream("aac", rate=self.sample_rate, layout="mono")
        self._stream.bit_rate = AAC_BIT_RATE
        self._time_base = Fraction(1, self.sample_rate)
        self._pts = 0  # samples encoded (a normalised export encodes only when closing)

    def _write(self, audio: np.ndarray) -> None:
        import av

        frame = av.AudioFrame.from_ndarray(audio[None, :], format="fltp", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.time_base = self._time_base
        frame.pts = self._pts
        self._container.mux(self._stream.encode(frame))
        self._pts += len(audio)

    def _finish(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.set_chapters(self._chapter_entries())
        self._container.close()
        from fasttts_desktop.export.m4b_tags import write_tags

        write_tags(self._file.temp_path, self.info)

    def _drop(self) -> None:
        self._container.close()

    def _chapter_entries(self) -> list[Chapter]:
        marks = list(self._marks)
        end = self.samples_written
        marks = [(t, s) for t, s in marks if s < end]  # a mark after the last sample holds nothing
        if marks and marks[0][1] > _LEADING_GAP_S * self.sample_rate:
            marks.insert(0, (self.title or "Beginning", 0))
        elif marks:
            marks[0] = (marks[0][0], 0)
        starts = [*(s for _, s in marks), end]
        return [
            {
                "id": i + 1,
                "start": start,
                "end": starts[i + 1],
                "time_base": self._time_base,
                "metadata": {"title": title},
            }
            for i, (title, start) in enumerate(marks)
        ]
