"""The gate under heavy-tailed noise: isolated outliers are noise, a feature of a few
neighbouring points is structure; the T1 shape test refuses a two-population decay."""

import numpy as np

from qplane.calibration import analyse
from qplane.calibration.criteria import isolated_outliers, robust_scale
from qplane.calibration.domain import HELDOUT, heldout_set, make_case


def _rabi(rng, n=81):
    x = np.linspace(0, 0.6, n)
    p = 0.05 + 0.45 * (1 - np.cos(np.pi * x / 0.25)) + rng.normal(0, 0.01, n)
    return x, p


def test_isolated_glitches_pass_the_residual_test():
    rng = np.random.default_rng(3)
    x, p = _rabi(rng)
    p[[9, 30, 52, 70]] += np.array([0.12, -0.1, 0.11, -0.12])     # four readout glitches
    r = analyse("rabi", x, p, signal_type="magnitude", second_opinion=False)
    res = {c.name: c for c in r.gate.criteria}["residuals"]
    assert res.passed, r.reason
    assert abs(r.values["pi_amplitude"].value - 0.25) < 0.01


def test_a_feature_of_neighbouring_points_is_still_structure():
    rng = np.random.default_rng(3)
    x, p = _rabi(rng)
    p[40:44] += 0.1                                               # four neighbours moved
    r = analyse("rabi", x, p, signal_type="magnitude", second_opinion=False)
    assert not r.passed and r.gate.check == "residuals", r.reason


def test_outliers_are_left_out_only_when_isolated_and_the_sweep_is_dense():
    z = np.random.default_rng(0).normal(size=40)
    z[5], z[20:22] = 10.0, 9.0
    assert np.flatnonzero(isolated_outliers(z)).tolist() == [5]
    assert not isolated_outliers(z[:20]).any()                   # sparse: one point may be all
    assert robust_scale(np.zeros(0)) == 0.0


def test_heavy_tailed_train_noise_is_accepted():
    rng = np.random.default_rng(41)
    cases = [make_case("rabi", "ok", rng, noise="heavy") for _ in range(6)]
    assert {c.noise for c in cases} == {"heavy"}
    passed = [analyse("rabi", second_opinion=False, **c.analyse_args()).passed for c in cases]
    assert sum(passed) >= 5


def test_t1_shape_test_refuses_two_populations():
    rng = np.random.default_rng(2)
    x = np.linspace(0, 300e-6, 61)
    y = 0.05 + 0.9 * (0.5 * np.exp(-x / 60e-6) + 0.5 * np.exp(-x / 9e-6)) \
        + rng.normal(0, 0.01, 61)
    r = analyse("t1", x, y, signal_type="magnitude", second_opinion=False)
    assert not r.passed and r.gate.check == "residuals", r.reason
    clean = 0.05 + 0.9 * np.exp(-x / 60e-6) + rng.normal(0, 0.01, 61)
    assert analyse("t1", x, clean, signal_type="magnitude", second_opinion=False,
                   shape_p_value=1e-3).passed


def test_fresh_held_out_glitch_families_are_good_data_with_glitches():
    assert HELDOUT["t1/glitches"] == ("t1", "ok") and "spectroscopy/glitches" in HELDOUT
    cases = [c for c in heldout_set(1, seed=2) if c.family.endswith("/glitches")]
    assert len(cases) == 2 and all(c.good and c.noise == "glitch" for c in cases)
