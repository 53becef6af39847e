"""Loudness-normalised exports: EBU R128 integrated loudness brought to a target (default -18 LUFS, the
usual level for spoken word), true peak kept at or below -1 dBTP. Playback is never touched.

An export is written as the engine speaks, but the gain that brings a whole book to the target is known
only once its last sentence is made. So the audio goes through twice: as it streams in, every block is
measured (libebur128 through pyebur128: BS.1770 K-weighting and gates, in constant memory) and kept as
float32 in an anonymous temporary file beside the target (no name, so a crash leaves nothing behind;
~350 MB per hour of audio); when the file is closed the blocks are read back, scaled, limited and only
then encoded. A gain moves no sample in time: chapter marks, subtitles and word timings stay as they are.

Kokoro's speech peaks ~21 dB above its loudness (Harvard sentences, jm_kumo: -23.2 LUFS, -2.0 dBTP), so
at -18 LUFS its plosives would peak near +3 dBTP: a plain gain would clip, and a gain held down by those
peaks would leave the file near -22 LUFS. A limiter therefore dips the gain only around the samples whose
4x-oversampled (true) peak would pass the ceiling, with 5 ms raised-cosine ramps on either side, aiming
0.3 dB under the ceiling so lossless files measure at or below it (1.3 dB for lossy codecs, whose
decoded peaks overshoot: AAC by ~0.5 dB on this speech). Limiting takes some loudness off (~0.6 LU on
that speech), so the gain is settled first by measuring the limited result without encoding it (reading
the temporary file again, a few seconds per hour of audio) and correcting for the difference.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# The window reads the targets from here; numpy (0.2-0.3 s to import), like pyebur128, is imported where an
# export uses it, so that the window is up before.
if TYPE_CHECKING:
    import numpy as np

DEFAULT_LUFS = -18.0
TRUE_PEAK_DBTP = -1.0
LOUDNESS_RANGE = (-40.0, -5.0)  # targets accepted from the user, in LUFS
_LIMIT_DBTP = TRUE_PEAK_DBTP - 0.3  # the limiter's own ceiling: margin for the meters' interpolators
_MAX_GAIN_DB = 24.0  # near-silence is not boosted into audible noise
_RAMP_S = 0.005
_TAPS_PER_SIDE = 16  # interpolation filter half-length, in input samples
_OVERSAMPLE = 4
_BLOCK_S = 1.0
_LOSSY_HEADROOM_DB = 1.0
_SETTLE_ROUNDS = 3
_SETTLED_LU = 0.05


def _meter(sample_rate: int):
    import pyebur128

    mode = pyebur128.MeasurementMode
    return pyebur128.R128State(1, sample_rate, mode.MODE_I | mode.MODE_HISTOGRAM)


def _lufs(meter) -> float:
    import pyebur128

    return float(pyebur128.get_loudness_global(meter))


def parse_loudness(value: str | float | None) -> float | None:
    """`--loudness` as given: "off" (None), or a target in LUFS such as "-18" or "-16 LUFS"."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        target = float(value)
    else:
        text = value.strip().lower().removesuffix("lufs").strip()
        if text in ("off", "none", "no", ""):
            return None
        try:
            target = float(text)
        except ValueError:
            raise ValueError(
                f"--loudness takes 'off' or a level in LUFS such as -18, not {value!r}"
            ) from None
    lo, hi = LOUDNESS_RANGE
    if not (math.isfinite(target) and lo <= target <= hi):
        raise ValueError(f"a loudness target must lie between {lo:g} and {hi:g} LUFS (got {target:g})")
    return target


def _interpolators() -> np.ndarray:
    """Windowed-sinc filters giving the signal at n + k/4 (k = 1..3) from its samples around n."""
    import numpy as np

    m = np.arange(-_TAPS_PER_SIDE + 1, _TAPS_PER_SIDE + 1)
    window = np.kaiser(2 * _TAPS_PER_SIDE, 8.0)
    return np.stack([np.sinc(m + k / _OVERSAMPLE) * window for k in range(1, _OVERSAMPLE)])


def true_peaks(x: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Per sample, the largest magnitude of the band-limited signal between its neighbours (4x)."""
    import numpy as np

    peak = np.abs(x)
    for h in filters:
        # sum over m = -T+1..T of x[n - m] * sinc(m + k/4): the signal at n + k/4, between n and n + 1
        between = np.abs(np.convolve(x, h)[_TAPS_PER_SIDE - 1 : _TAPS_PER_SIDE - 1 + len(x)])
        peak = np.maximum(peak, between)
        peak[1:] = np.maximum(peak[1:], between[:-1])
    return peak


def limiter_gain(peaks: np.ndarray, ceiling: float, ramp: int) -> np.ndarray:
    """Gain per sample (<= 1) that keeps peaks * gain <= ceiling, ramping in and out over `ramp` samples."""
    import numpy as np

    gain = np.ones(len(peaks))
    over = np.flatnonzero(peaks > ceiling)
    if not len(over):
        return gain
    # runs of loud samples closer than a ramp share one dip: no gain flutter between syllable peaks
    breaks = np.flatnonzero(np.diff(over) > 2 * ramp)
    starts = over[np.concatenate(([0], breaks + 1))]
    ends = over[np.concatenate((breaks, [len(over) - 1]))]
    rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / (ramp + 1))  # 0 -> 1, exclusive
    for a, b in zip(starts, ends, strict=True):
        depth = ceiling / peaks[a : b + 1].max()
        gain[a : b + 1] = np.minimum(gain[a : b + 1], depth)
        lo = max(0, a - ramp)
        before = 1 - (1 - depth) * rise[ramp - (a - lo) :]
        gain[lo:a] = np.minimum(gain[lo:a], before)
        hi = min(len(gain), b + 1 + ramp)
        after = 1 - (1 - depth) * rise[::-1][: hi - b - 1]
        gain[b + 1 : hi] = np.minimum(gain[b + 1 : hi], after)
    return gain


class Leveller:
    """Takes the audio as it is made (`add`), then gives it back normalised, block by block (`blocks`)."""

    def __init__(
        self, target_lufs: float, sample_rate: int, folder: str | os.PathLike, *, lossy: bool = False
    ):
        self.target_lufs = float(target_lufs)
        self.sample_rate = int(sample_rate)
        self._ceiling = 10 ** ((_LIMIT_DBTP - (_LOSSY_HEADROOM_DB if lossy else 0.0)) / 20)
        self._meter = _meter(self.sample_rate)
        # open until close(): the audio is read back from it when the export is closed
        self._scratch = tempfile.TemporaryFile(dir=Path(folder), prefix=".fasttts-level-")  # noqa: SIM115
        # each block's true peaks at unit gain, made on the first pass back and read on the later ones
        # (a gain scales them alike): the interpolation is most of a pass's cost
        self._peaks = tempfile.TemporaryFile(dir=Path(folder), prefix=".fasttts-peaks-")  # noqa: SIM115
        self._peaks_made = 0  # blocks whose peaks are in that file
        self.samples = 0

    def add(self, audio: np.ndarray) -> None:
        import numpy as np

        data = np.ascontiguousarray(audio, dtype=np.float32)
        self._meter.add_frames(data, len(data))
        self._scratch.write(data.astype("<f4", copy=False).tobytes())
        self.samples += len(data)

    def measured_lufs(self) -> float:
        return _lufs(self._meter)

    def gain_db(self) -> float:
        """The gain that brings the limited audio to the target (0 for silence or < 0.4 s of sound)."""
        lufs = self.measured_lufs()
        if not math.isfinite(lufs) or lufs < -70:
            return 0.0
        gain = min(self.target_lufs - lufs, _MAX_GAIN_DB)
        for _ in range(_SETTLE_ROUNDS):
            meter = _meter(self.sample_rate)
            for block in self.blocks(gain):
                meter.add_frames(block, len(block))
            missing = self.target_lufs - _lufs(meter)
            if not math.isfinite(missing) or abs(missing) < _SETTLED_LU:
                break
            gain = min(gain + missing, _MAX_GAIN_DB)
        return gain

    def blocks(self, gain_db: float) -> Iterator[np.ndarray]:
        """The audio again, scaled by `gain_db`, limited to the ceiling and clipped to +-1, in order."""
        import numpy as np

        self._scratch.flush()
        fd = self._scratch.fileno()
        gain = 10 ** (gain_db / 20)
        ceiling = self._ceiling
        ramp = max(1, round(_RAMP_S * self.sample_rate))
        margin = ramp + _TAPS_PER_SIDE + 2  # a dip for a peak just outside a block reaches into it
        filters = _interpolators()
        step = max(1, round(_BLOCK_S * self.sample_rate))
        slot = 8 * (step + 2 * margin)  # bytes of one block's peaks (float64) in the peaks file
        for k, start in enumerate(range(0, self.samples, step)):
            end = min(self.samples, start + step)
            lo, hi = max(0, start - margin), min(self.samples, end + margin)
            raw = os.pread(fd, 4 * (hi - lo), 4 * lo)
            x = np.frombuffer(raw, "<f4").astype(np.float64)
            if k < self._peaks_made:
                peaks = np.frombuffer(os.pread(self._peaks.fileno(), 8 * (hi - lo), k * slot), np.float64)
            else:
                peaks = true_peaks(x, filters)
                os.pwrite(self._peaks.fileno(), peaks.tobytes(), k * slot)
                self._peaks_made = k + 1
            shaped = x * gain * limiter_gain(peaks * gain, ceiling, ramp)
            yield np.clip(shaped[start - lo : end - lo], -1.0, 1.0).astype(np.float32)

    def close(self) -> None:
        self._scratch.close()
        self._peaks.close()
