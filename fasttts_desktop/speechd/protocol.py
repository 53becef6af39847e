r"""speech-dispatcher's output-module protocol, the wire side: reading commands and their data blocks from
stdin, writing replies and events to stdout.

Lines end in LF; a data block ends with a line holding only "."; a line of the block that starts with "."
had one more "." put in front. Replies are "NNN text" (a multi-line reply: "NNN-line"s, then "NNN text").
Events (701 BEGIN, 700 index marks, 705 audio...) are written by the speaking thread between replies: one
lock keeps every message whole. Audio goes to the server (speech-dispatcher 0.11's server audio) as
16-bit PCM in a 705 event, with "\\n" and 0x7D escaped HDLC-style (0x7D, then the byte with bit 5 flipped).
"""

from __future__ import annotations

import re
import threading
from typing import BinaryIO

import numpy as np

_ESCAPED = re.compile(rb"[\n\x7d]")
# A message's text at most: a long chapter. A client may send more; it is not all kept in memory.
MAX_BLOCK_CHARS = 1_000_000


def escape_audio(data: bytes) -> bytes:
    return _ESCAPED.sub(lambda m: bytes((0x7D, m[0][0] ^ 0x20)), data)


def one_line(text: str) -> str:
    """A value safe to put on a protocol line (a mark name, a voice name)."""
    return " ".join(text.split())


class Reader:
    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.dropped = 0  # lines of the last block left out (over MAX_BLOCK_CHARS)

    def line(self) -> str | None:
        """The next line without its LF; None at end of input."""
        raw = self._stream.readline(4 * MAX_BLOCK_CHARS)
        if not raw:
            return None
        if not raw.endswith(b"\n"):  # longer than a whole message may be: the rest of it is dropped
            while (more := self._stream.readline(4 * MAX_BLOCK_CHARS)) and not more.endswith(b"\n"):
                pass
        return raw.decode("utf-8", errors="replace").rstrip("\n")

    def block(self) -> list[str] | None:
        """The lines of a data block up to its closing "." (dot-stuffing undone); None at end of input.
        Lines past MAX_BLOCK_CHARS are read and dropped (the block is still consumed whole)."""
        max_chars = MAX_BLOCK_CHARS
        lines: list[str] = []
        kept = 0
        self.dropped = 0
        while (line := self.line()) is not None:
            if line == ".":
                return lines
            if kept + len(line) > max_chars:
                self.dropped += 1
                continue
            kept += len(line) + 1
            lines.append(line.removeprefix("."))
        return None


class Writer:
    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.lock = threading.RLock()  # held by callers that must decide and write in one step

    def send(self, *lines: str) -> None:
        with self.lock:
            self._stream.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
            self._stream.flush()

    def audio(self, samples: np.ndarray, rate: int) -> None:
        """Float samples in -1..1 as one 705 AUDIO event."""
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
        head = (
            f"705-bits=16\n705-num_channels=1\n705-sample_rate={rate}\n705-num_samples={len(pcm)}\n"
            "705-big_endian=0\n705-AUDIO\0"
        )
        with self.lock:
            self._stream.write(head.encode("ascii") + escape_audio(pcm.tobytes()) + b"\n705 AUDIO\n")
            self._stream.flush()
