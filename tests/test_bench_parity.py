"""The bench's parity metrics (fasttts_desktop/bench/parity.py), plain numpy on CPU."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fasttts_desktop.bench import parity

SR = 24_000


def _tone(freq: float, seconds: float = 0.5, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mel_filters_cover_the_spectrum_once():
    fb = parity.mel_basis()
    assert fb.shape == (80, 513)
    assert (fb >= 0).all() and fb.max() <= 1.0 + 1e-9
    # between the first and the last band's centre, the overlapping triangles sum to 1 (partition of unity)
    centres = fb.argmax(1)
    inner = fb.sum(0)[centres[0] + 1 : centres[-1]]
    assert np.allclose(inner, 1.0, atol=1e-6)


def test_log_mel_peaks_at_the_tone():
    low, high = parity.log_mel(_tone(300)), parity.log_mel(_tone(3000))
    assert low.shape[1] == 80 and len(low) == 1 + len(_tone(300)) // 256
    assert low.mean(0).argmax() < high.mean(0).argmax()


def test_mel_distance_is_the_mean_log_power_difference():
    rng = np.random.default_rng(0)
    a = (0.1 * rng.standard_normal(SR // 2)).astype(np.float32)  # broadband: every band well above the floor
    assert parity.mel_distance(a, a) == 0.0
    # a gain g moves every band's log power by 2 ln g
    assert parity.mel_distance(a, 1.05 * a) == pytest.approx(2 * np.log(1.05), rel=1e-3)
    far = _tone(440)
    assert parity.mel_distance(a, 1.05 * a) < parity.mel_distance(a, far)
    assert parity.mel_distance(a, far) == pytest.approx(parity.mel_distance(far, a))
    # different lengths: compared over the frames both have
    assert parity.mel_distance(a, a[: len(a) // 2]) == pytest.approx(0.0, abs=0.02)


def test_duration_match_counts_tokens_and_the_worst_difference():
    ours = [SimpleNamespace(durations=np.array([1, 2, 3])), SimpleNamespace(durations=np.array([4, 5]))]
    ref = [SimpleNamespace(durations=np.array([1, 2, 4])), SimpleNamespace(durations=np.array([4, 8]))]
    share, worst = parity.duration_match(ours, ref)
    assert share == pytest.approx(3 / 5) and worst == 3
    assert parity.duration_match(ours, ours) == (1.0, 0)
    with pytest.raises(ValueError, match="token counts differ"):
        parity.duration_match([SimpleNamespace(durations=np.array([1]))], ref[:1])


def test_join_clicks_sees_a_step_at_a_join_only():
    smooth = [_tone(200, 0.2), _tone(200, 0.2)]
    # the second chunk starts at the first's end phase: no jump
    n = len(smooth[0])
    t = np.arange(n, 2 * n) / SR
    smooth[1] = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    assert parity.join_clicks(smooth)["ok"]
    jump = [smooth[0], smooth[1] + 0.5]
    report = parity.join_clicks(jump)
    assert not report["ok"] and report["join_max_step"] >= 0.5


def test_spectral_verdict_reads_within_the_spread_of_reference_pairs():
    v = parity.spectral_verdict(0.09, [0.087, 0.089], [0.091, 0.093])
    assert v == {
        "spectral_ok": True,
        "spectral_below_pair_mean": True,
        "spectral_below_default_pairs_max": False,
    }
    assert not parity.spectral_verdict(0.1, [0.087, 0.089], [0.091, 0.093])["spectral_ok"]
