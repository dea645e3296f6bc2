"""A readout re-tuned between passes over one sweep is re-aligned (each pass its own offset
and gain), while a device that changed between passes is still refused."""

import numpy as np
import pytest

from qplane.calibration import analyse
from qplane.calibration.readout_passes import MAX_GAIN_RATIO, align_passes


def _ramsey_passes(rng, *, contrasts, offsets, frequencies=None, shots=400, points=41):
    """A detuned Ramsey swept ``len(contrasts)`` times, longest delay first in every pass, each
    pass through its own readout contrast and offset (and, given ``frequencies``, its own
    fringe frequency)."""
    t = np.linspace(0, 4e-6, points)[::-1]
    passes = len(contrasts)
    frequencies = frequencies or [1.5e6] * passes
    sweep, signal = [], []
    for c, o, f in zip(contrasts, offsets, frequencies):
        p = 0.5 + o + c * 0.45 * np.exp(-t / 6e-6) * np.cos(2 * np.pi * f * t)
        sweep.append(t)
        signal.append(rng.binomial(shots, np.clip(p, 0, 1)) / shots)
    return np.concatenate(sweep), np.concatenate(signal), shots


@pytest.mark.parametrize("seed", range(4))
def test_readout_steps_between_passes_are_aligned_and_the_frequency_kept(seed):
    rng = np.random.default_rng(seed)
    t, y, shots = _ramsey_passes(rng, contrasts=[1.0, 0.85, 0.92], offsets=[0.0, 0.04, -0.03])
    r = analyse("ramsey", t, y, shots=shots, detuning=1.5e6, second_opinion=False)
    assert r.passed, r.reason
    a = r.pass_alignment
    assert a is not None and a.passes == 3
    assert a.gains == pytest.approx((0.85, 0.92), abs=0.04)
    v = r.values["fringe_frequency"]
    assert abs(v.value - 1.5e6) <= 3 * v.error
    assert "readout re-aligned over 3 passes" in r.card()
    assert r.to_dict()["pass_alignment"]["passes"] == 3


def test_one_readout_is_left_alone():
    rng = np.random.default_rng(7)
    t, y, shots = _ramsey_passes(rng, contrasts=[1.0, 1.0], offsets=[0.0, 0.0])
    r = analyse("ramsey", t, y, shots=shots, detuning=1.5e6, second_opinion=False)
    assert r.passed, r.reason
    assert r.pass_alignment is None and r.to_dict()["pass_alignment"] is None
    single = analyse("ramsey", t[:41], y[:41], shots=shots, detuning=1.5e6,
                     second_opinion=False)
    assert single.pass_alignment is None


@pytest.mark.parametrize("seed", range(3))
def test_a_device_that_changed_between_passes_is_still_refused(seed):
    """The second pass's fringe 8 % faster: no readout maps one pass onto the other."""
    rng = np.random.default_rng(seed)
    t, y, shots = _ramsey_passes(rng, contrasts=[1.0, 0.9], offsets=[0.0, 0.03],
                                 frequencies=[1.5e6, 1.62e6])
    r = analyse("ramsey", t, y, shots=shots, detuning=1.5e6, second_opinion=False)
    assert not r.passed and r.gate.check == "residuals", r.reason


def test_a_pass_that_lost_its_signal_is_not_rescaled():
    """A pass with a third of the first's contrast is a signal lost, not a readout re-tuned."""
    x = np.tile(np.linspace(0, 1, 30), 2)
    k = np.arange(60) >= 30
    curve = np.cos(2 * np.pi * x)
    y = np.where(k, 0.3 * curve, curve) + np.random.default_rng(0).normal(0, 0.01, 60)
    order = np.argsort(x, kind="stable")
    x, y, curve = x[order], y[order], curve[order]
    assert 0.3 < 1 / MAX_GAIN_RATIO
    assert align_passes(x, y, 0.65 * curve, np.full(60, 0.01)) is None
    # the same passes with a gain inside the bound are aligned
    y2 = np.where(k[order], 0.8 * curve, curve) + np.random.default_rng(1).normal(0, 0.01, 60)
    aligned = align_passes(x, y2, 0.9 * curve, np.full(60, 0.01))
    assert aligned is not None and aligned.alignment.gains[0] == pytest.approx(0.8, abs=0.02)
    assert np.std(aligned.y - curve) < 0.02
