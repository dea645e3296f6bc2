"""Session 5's gate and fits: a chirp alternative for Ramsey, a line that must beat a standing
wave, errors under correlated noise, the robust fit for readout glitches (train-side data)."""

import math

import numpy as np

from qplane.calibration import analyse
from qplane.calibration.analysis import glitches
from qplane.calibration.noise import correlated_noise


def _ramsey(rng, chirp=0.0, n=200, shots=30):
    x = np.linspace(0, 12e-6, n)
    f = 1e6
    p = 0.5 + 0.45 * np.exp(-x / 40e-6) * np.cos(2 * np.pi * (f * x + chirp * f / x[-1] * x**2 / 2))
    return x, rng.binomial(shots, p) / shots


def test_a_chirped_ramsey_is_refused_and_a_clean_one_accepted():
    rng = np.random.default_rng(3)
    x, y = _ramsey(rng)
    good = analyse("ramsey", x, y, shots=30, detuning=1e6, second_opinion=False)
    assert good.passed
    x, y = _ramsey(rng, chirp=0.35)
    bad = analyse("ramsey", x, y, shots=30, detuning=1e6, second_opinion=False)
    assert not bad.passed and bad.gate.check == "residuals"
    assert any(c.name == "shape" and c.passed is False for c in bad.gate.criteria)


def test_a_standing_wave_is_no_line_but_a_broad_strong_line_is():
    rng = np.random.default_rng(4)
    x = np.linspace(5.0e9, 5.02e9, 140)
    u = (x - x.mean()) / np.ptp(x)
    ripple = 0.5 + 0.06 * np.sin(2 * np.pi * u / 1.2 + 0.4) + rng.normal(0, 0.03, len(x))
    r = analyse("spectroscopy", x, ripple, signal_type="magnitude", second_opinion=False)
    assert not r.passed
    assert r.gate.check in ("signal", "range")
    h = 0.3 * np.ptp(x) / 2                    # a line 0.3 of the window wide, well above noise
    line = 0.2 + 0.6 * h**2 / ((x - x.mean()) ** 2 + h**2) + rng.normal(0, 0.01, len(x))
    assert analyse("spectroscopy", x, line, signal_type="magnitude", second_opinion=False).passed


def test_correlated_noise_is_found_and_white_noise_left_alone():
    rng = np.random.default_rng(5)
    n = 150
    j = np.stack([np.ones(n), np.linspace(0, 1, n)], axis=1)
    white = rng.normal(size=n)
    assert correlated_noise(j, white - j @ np.linalg.lstsq(j, white, rcond=None)[0])[2] == 0.0
    e = np.zeros(n)
    for i in range(1, n):
        e[i] = 0.9 * e[i - 1] + math.sqrt(1 - 0.81) * rng.normal()
    variance, rho, share = correlated_noise(j, e - j @ np.linalg.lstsq(j, e, rcond=None)[0])
    assert share >= 0.6 and rho[1] > 0.5 and variance > 0


def test_errors_widen_under_ou_noise_so_the_truth_is_covered():
    rng = np.random.default_rng(6)
    hits = 0
    for _ in range(12):
        x = np.linspace(0, 300e-6, 60)
        e = np.zeros(60)
        for i in range(1, 60):
            e[i] = 0.8 * e[i - 1] + 0.6 * rng.normal()
        y = 0.05 + 0.9 * np.exp(-x / 60e-6) + 0.01 * (rng.normal(size=60) + e)
        r = analyse("t1", x, y, second_opinion=False)
        v = r.values["t1"]
        hits += abs(v.value - 60e-6) <= 2 * v.error
    assert hits >= 10


def test_glitches_are_runs_of_at_most_two_far_points():
    z = np.random.default_rng(1).normal(size=80)
    z[[5, 30, 31]] = [10.0, 8.0, -9.0]
    z[50:54] = 9.0                                  # four neighbours: structure, kept
    assert np.flatnonzero(glitches(z)).tolist() == [5, 30, 31]
    assert not glitches(z[:20]).any()               # too few points to tell
    many = np.random.default_rng(2).normal(size=60)
    many[::5] = 12.0                                # 20 % far out: not glitches
    assert not glitches(many).any()


def test_the_robust_fit_leaves_glitches_out_and_accepts_the_t1():
    rng = np.random.default_rng(7)
    x = np.linspace(0, 400e-6, 90)
    y = 0.04 + 0.9 * np.exp(-x / 80e-6) + rng.normal(0, 0.01, 90)
    y[[12, 13, 47, 70]] += [0.1, -0.09, 0.12, 0.08]
    r = analyse("t1", x, y, second_opinion=False)
    assert r.passed and r.left_out == 4 and len(r.x) == 86
    assert abs(r.values["t1"].value - 80e-6) <= 3 * r.values["t1"].error   # one case
    assert r.to_dict()["points_left_out"] == 4
    off = analyse("t1", x, y, second_opinion=False, glitch_threshold=math.inf)
    assert off.left_out == 0
