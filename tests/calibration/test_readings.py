"""Session 7's analysis: readings handled by their physics (a wrapped phase with dropped
points, IQ with gaps), a noise that follows the signal's level (photon counts), the pulsed
spectroscopy line, a Rabi damped in its rotation angle on a ± sweep, a compressed echo, and a
narrow second line that is not a glitch."""

import math

import numpy as np
import pytest

from qplane.calibration import analyse
from qplane.calibration.analysis import glitches


def _pulsed_phase_line(rng, n=150, area=0.8 * math.pi):
    """A pulsed-spectroscopy line (the Rabi formula, side lobes) read as a phase in degrees
    sitting at 180°, so the instrument's wrapped trace jumps by 360°, 4 % of it NaN."""
    rabi = 1.0e6
    center = 5.0e9 + 0.7e6
    x = np.linspace(5.0e9 - 8e6, 5.0e9 + 8e6, n)
    r2 = 1 + ((x - center) / rabi) ** 2          # the Rabi formula, Δ in units of Ω
    p = np.sin(area * np.sqrt(r2) / 2) ** 2 / r2
    phi = 178.0 + 25.0 * p + rng.normal(0, 0.5, n)
    phi = (phi + 180.0) % 360.0 - 180.0
    phi[rng.random(n) < 0.04] = np.nan
    return x, phi, center


def test_a_wrapped_phase_with_dropped_points_is_unwrapped_along_the_sweep():
    # the unwrap runs after the NaN points are left out (a NaN inside np.unwrap spoils every
    # point after it: the line read "no signal")
    x, phi, center = _pulsed_phase_line(np.random.default_rng(0))
    assert np.isnan(phi).any() and np.nanmax(phi) - np.nanmin(phi) > 300   # wrapped, gaps
    r = analyse("spectroscopy", x * 1e-9, phi, units="GHz", signal_type="phase",
                signal_units="deg", second_opinion=False)
    assert r.gate.check != "signal", r.reason
    assert len(r.x) == int(np.sum(np.isfinite(phi)))
    assert np.ptp(r.y) < math.radians(40)     # unwrapped: the line, not the 360° jumps


def test_the_pulsed_line_is_fitted_with_its_side_lobes_and_accepted():
    inside = 0
    for seed in range(4):
        x, phi, center = _pulsed_phase_line(np.random.default_rng(seed))
        r = analyse("spectroscopy", x, phi, signal_type="phase", signal_units="deg",
                    second_opinion=False)
        assert r.passed, r.reason
        assert r.fit.model.startswith("pulsed"), r.fit.model
        v = r.values["frequency"]
        inside += abs(v.value - center) <= 2 * v.error
    assert inside >= 3
    # a Lorentzian cannot take the side lobes: refused
    x, phi, _ = _pulsed_phase_line(np.random.default_rng(0))
    r = analyse("spectroscopy", x, phi, signal_type="phase", signal_units="deg",
                lineshape="lorentzian", second_opinion=False)
    assert not r.passed and r.gate.check == "residuals", r.reason


def test_iq_with_dropped_points_is_projected_on_the_finite_ones():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 200e-6, 61)
    p = 0.1 + 0.8 * np.exp(-t / 50e-6)
    z = (0.3 + 0.2j) + (0.5 - 1.0j) * p + 0.004 * (rng.normal(size=61) + 1j * rng.normal(size=61))
    z[[5, 30]] = np.nan
    r = analyse("t1", t, z, signal_type="iq", second_opinion=False)
    assert r.passed, r.reason
    assert abs(r.values["t1"].value - 50e-6) <= 3 * r.values["t1"].error


def _counts_rabi(rng, n=81, api=0.3, phase=0.15, kappa=0.2):
    """A Rabi swept from -A to +A read as photon counts: the rotation angle ``phase + (π -
    phase) x / api`` (a drive offset: zero rotation off zero amplitude), the fringe damped in
    the angle's magnitude, Poisson noise (its variance the rate)."""
    x = np.linspace(-2.2 * api, 2.2 * api, n)
    theta = phase + (math.pi - phase) * x / api
    p = 0.02 + 0.45 * (1 - np.exp(-kappa * np.abs(theta) / math.pi) * np.cos(theta))
    return x, rng.poisson(3 + 400 * p).astype(float)


def test_photon_counts_get_a_noise_that_follows_the_level():
    rng = np.random.default_rng(2)
    x, y = _counts_rabi(rng)
    r = analyse("rabi", x, y, signal_type="magnitude", second_opinion=False)
    assert r.noise.source == "data, level-dependent", r.noise.source
    poisson = np.sqrt(r.fit.evaluate(r.x))                  # the counts' own noise
    assert np.max(r.noise.sigma) > 3 * np.min(r.noise.sigma)
    assert np.allclose(r.noise.sigma, poisson, rtol=0.4)
    # white noise keeps one constant sigma
    white = 0.5 + 0.4 * np.cos(np.linspace(0, 9, 120)) + rng.normal(0, 0.02, 120)
    r = analyse("rabi", np.linspace(0, 1, 120), white, signal_type="magnitude",
                second_opinion=False)
    assert r.noise.source == "data"


def test_a_symmetric_rabi_damped_in_its_rotation_angle_has_no_bias():
    biases, inside = [], 0
    for seed in range(5):
        x, y = _counts_rabi(np.random.default_rng(10 + seed))
        r = analyse("rabi", x, y, signal_type="magnitude", second_opinion=False)
        assert r.passed, r.reason
        v = r.values["pi_amplitude"]
        biases.append(v.value / 0.3 - 1)
        inside += abs(v.value - 0.3) <= 2 * v.error
    assert max(map(abs, biases)) < 0.01, biases
    assert inside >= 4


def test_a_compressed_echo_reports_its_1_over_e_time():
    inside, chosen = 0, 0
    for seed in range(5):
        rng = np.random.default_rng(20 + seed)
        t = np.linspace(0, 300e-6, 81)
        y = 0.5 + 0.4 * np.exp(-((t / 80e-6) ** 1.4)) + rng.normal(0, 0.008, 81)
        r = analyse("echo", t, y, signal_type="magnitude", second_opinion=False)
        assert r.passed, r.reason
        if r.fit.model == "stretched_exponential":
            chosen += 1
            assert abs(r.values["envelope_exponent"].value - 1.4) < 0.2
        v = r.values["t2_echo"]
        inside += abs(v.value - 80e-6) <= 2 * v.error
    assert chosen >= 4 and inside >= 4


def test_a_narrow_bump_with_shoulders_is_a_feature_not_a_glitch():
    z = np.random.default_rng(3).normal(size=120) * 0.3
    # a narrow line: two points far out, both neighbours a little lifted (within 3 sigma)
    z[39:43] = [0.5, 7.0, 5.5, 0.2]
    z[79:82] = [-0.2, 9.0, 0.1]      # a glitch: its neighbours are noise
    out = np.flatnonzero(glitches(z))
    assert 80 in out and 40 not in out and 41 not in out


def test_a_rabi_read_as_the_ground_population_gives_the_pi_amplitude_not_twice_it():
    # P(0) = 1 - P(1) over a window that starts past zero drive: the fit's rotation offset comes
    # out near ±π, which is the readout's sign, not a phase (the drive's rotation starts at
    # zero); read as a phase, the π amplitude lands a whole period away (2× the truth)
    rng = np.random.default_rng(3)
    api = 0.37
    x = np.linspace(0.45 * api, 2.8 * api, 41)
    shots = 400
    p1 = 0.03 + 0.92 * np.sin(np.pi * x / (2 * api)) ** 2
    ground = rng.binomial(shots, 1 - p1) / shots
    r = analyse("rabi", x, ground, shots=shots, second_opinion=False)
    value = r.values["pi_amplitude"]
    assert abs(value.value / api - 1) < 0.02, (value, r.reason)
    assert abs(value.value - api) <= 3 * value.error


def test_errors_do_not_depend_on_the_units_of_the_signal():
    # a detected power of 1e-12 W: the line's centre (Hz) and its depth differ by ~20 decades,
    # and a pseudo-inverse cut-off relative to the largest singular value gave the centre an
    # error of 1e-37 Hz, so every such fit passed its uncertainty spec and missed its 2σ
    rng = np.random.default_rng(1)
    x = np.linspace(7.0e9 - 10e6, 7.0e9 + 10e6, 301)
    y = 1 - 0.8 / (1 + ((x - 7.0003e9) / 1e6) ** 2) + rng.normal(0, 0.01, x.size)
    errors = [analyse("resonator_spectroscopy", x, y * scale, signal_type="magnitude",
                      second_opinion=False).values["frequency"].error
              for scale in (1.0, 1e-12)]
    assert 1e3 < errors[0] < 1e4
    assert errors[1] == pytest.approx(errors[0], rel=1e-3)


def test_correlated_noise_errors_do_not_depend_on_the_units_of_the_signal():
    # the sandwich covariance for correlated noise inverts the same J'J as the fit
    from qplane.calibration.fit_models import FIT_MODELS, correlated_errors

    x = np.linspace(7.0e9 - 10e6, 7.0e9 + 10e6, 301)
    errors = [correlated_errors(FIT_MODELS["lorentzian"], x, 0.01 * scale,
                                {"center": 7.0003e9, "width": 2e6, "amplitude": -0.8 * scale,
                                 "offset": scale}, [1.0, 0.5, 0.2])["center"]
              for scale in (1.0, 1e-12)]
    assert 1e3 < errors[0] < 1e5
    assert errors[1] == pytest.approx(errors[0], rel=1e-3)
