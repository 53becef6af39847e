"""WAV: 16-bit PCM through libsndfile like the other soundfile formats, refused before it outgrows RIFF.

RIFF sizes are 32-bit, so a WAV file holds at most 4 GB of samples: 16-bit mono at 24 kHz, a little
over 24 hours. Past that libsndfile would write a header that no longer describes the file; a book that
long is refused with a clear line instead (the other formats have no such limit).
"""

from __future__ import annotations

import numpy as np

from fasttts_desktop.engine.storage.files import cannot_save
from fasttts_desktop.export.audio import SoundFileWriter

# The 44-byte header counts in the RIFF size; the rest is kept for the INFO chunk a title adds.
MAX_DATA_BYTES = 0xFFFFFFFF - 36 - 64 * 1024
_BYTES_PER_SAMPLE = 2


class WavWriter(SoundFileWriter):
    def _write(self, audio: np.ndarray) -> None:
        if _BYTES_PER_SAMPLE * (self.samples_written + len(audio)) > MAX_DATA_BYTES:
            hours = MAX_DATA_BYTES // _BYTES_PER_SAMPLE // self.sample_rate // 3600
            raise cannot_save(
                self._file.given, f"a WAV file holds at most {hours} hours of audio; split the text"
            )
        super()._write(audio)
