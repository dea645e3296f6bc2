"""A resonator read in phase: the phase turns through two arctangent steps at the resonance
on a cable delay's slope, wrapped into (-pi, pi]; the resonator_phase model reads its
frequency and linewidth, for reflection (over- and undercoupled) and notch resonators. And a
readout-frequency window beside the optimum is off range (PeakBracketed)."""

import numpy as np
import pytest

from qplane.calibration import analyse


def _phase(f, fr, kappa, eta, *, geometry, delay, rng, noise=0.005):
    d = 2j * (f - fr) / kappa
    s = 1 - (2 * eta if geometry == "reflection" else eta) / (1 + d)
    s = s * np.exp(-2j * np.pi * (f - f.mean()) * delay + 0.7j)
    s = s + rng.normal(0, noise, len(f)) + 1j * rng.normal(0, noise, len(f))
    return np.angle(s)


@pytest.mark.parametrize("geometry, eta", [("reflection", 0.8), ("reflection", 0.65),
                                           ("reflection", 0.3), ("notch", 0.6)])
def test_resonator_phase_gives_the_frequency_and_linewidth(geometry, eta):
    rng = np.random.default_rng(11)
    fr, kappa = 6.1e9, 0.8e6
    f = np.linspace(fr - 9e6, fr + 7e6, 401)
    y = _phase(f, fr, kappa, eta, geometry=geometry, delay=60e-9, rng=rng)
    assert np.ptp(np.diff(y)) > np.pi          # wrapped: the raw phase jumps
    r = analyse("resonator_spectroscopy", f / 1e9, y, signal_type="phase", units="GHz",
                second_opinion=False)
    assert r.passed, r.reason
    assert r.fit.model == "resonator_phase"
    v = r.values["frequency"]
    assert abs(v.value - fr) <= 3 * v.error and v.error < 0.05 * kappa
    assert r.values["linewidth"].value == pytest.approx(kappa, rel=0.1)


def test_a_magnitude_never_gets_the_phase_model():
    rng = np.random.default_rng(2)
    f = np.linspace(6.09e9, 6.11e9, 201)
    mag = np.abs(1 - 0.6 / (1 + 2j * (f - 6.1e9) / 1e6)) + rng.normal(0, 0.005, 201)
    r = analyse("resonator_spectroscopy", f, mag, signal_type="magnitude",
                second_opinion=False)
    assert r.passed and "resonator_phase" not in r.candidates


def _dispersive_fidelity(f, f0=7e9, kappa=1e6, chi=0.4e6, snr=3.0):
    """Assignment fidelity of a dispersive readout at ``f``: the two dressed notch responses'
    separation through an erf (the optimum at their midpoint ``f0``)."""
    from scipy.special import erf

    s0 = 1 - 1 / (1 + 2j * (f - f0 - chi) / kappa)
    s1 = 1 - 1 / (1 + 2j * (f - f0 + chi) / kappa)
    return 0.5 + 0.47 * erf(snr * np.abs(s0 - s1)) / 2


def test_a_readout_window_beside_the_optimum_is_off_range():
    """Assignment fidelity across a window that starts 0.4 linewidth beyond the optimum: it
    only falls; the model's top near the window's edge is not bracketed by the data (without
    the criterion this case is accepted), while a window around the optimum is."""
    shots = 6000
    f = np.linspace(7.0004e9, 7.0034e9, 41)
    y = np.random.default_rng(0).binomial(shots, _dispersive_fidelity(f)) / shots
    r = analyse("readout_frequency", f, y, shots=shots, second_opinion=False)
    assert not r.passed and r.gate.check == "range", r.reason
    assert "does not fall from the fitted peak" in r.reason
    assert analyse("readout_frequency", f, y, shots=shots, second_opinion=False,
                   min_peak_fall=-np.inf).passed
    both = np.linspace(6.998e9, 7.002e9, 41)
    y = np.random.default_rng(0).binomial(shots, _dispersive_fidelity(both)) / shots
    ok = analyse("readout_frequency", both, y, shots=shots, second_opinion=False)
    assert ok.passed, ok.reason
    assert next(c for c in ok.gate.criteria if c.name == "bracketed").value > 5
