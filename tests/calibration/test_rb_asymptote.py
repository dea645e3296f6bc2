"""Randomized benchmarking's asymptote check: a single qubit's survival settles at 1/2.

Leakage to |2⟩ that the discriminator reads as |0⟩ holds the survival above 1/2 (at
``1/2 + L/2`` for a leaked population ``L``); the exponential still fits it, and its decay
constant is not the error per Clifford, so the gate refuses it (``SettlesAt``).
"""

from __future__ import annotations

import numpy as np
import pytest

from qplane.calibration import analyse
from qplane.calibration.kinds_qec import SettlesAt


def _rb(asymptote: float, seed: int, *, tau: float = 150.0, shots: int = 400):
    rng = np.random.default_rng(seed)
    m = np.unique(np.round(np.geomspace(1, 4 * tau, 24))).astype(float)
    p = asymptote + (0.98 - asymptote) * np.exp(-m / tau)
    return m, rng.binomial(shots, p) / shots, shots


@pytest.mark.parametrize("seed", range(4))
def test_survival_settling_at_one_half_is_accepted(seed):
    m, y, shots = _rb(0.5, seed)
    r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False)
    assert r.passed, r.reason
    c = next(c for c in r.gate.criteria if c.name == "asymptote")
    assert c.passed and c.value < 0.05


@pytest.mark.parametrize("seed", range(4))
def test_leakage_read_as_ground_is_refused(seed):
    m, y, shots = _rb(0.5 + 0.35 / 2, seed)      # 35 % leaked, read as |0>
    r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False)
    assert not r.passed and r.gate.check == "shape", r.reason
    assert "settles at 0.6" in r.reason and "leakage" in r.reason


@pytest.mark.parametrize("seed", range(3))
def test_a_plateau_a_tenth_above_one_half_is_refused(seed):
    # the sixteenth generation's truncated sequence memory (and 20 % leaked, read as |0>):
    # within the old tolerance of 0.1, refused at 0.07
    m, y, shots = _rb(0.6, seed, shots=8000)
    r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False)
    assert not r.passed and r.gate.check == "shape", r.reason


def test_readout_asymmetry_within_tolerance_is_accepted():
    # P(0|1) 12 %, P(1|0) 2 %: the depolarised qubit reads 0.55
    m, y, shots = _rb(0.55, 7)
    assert analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False).passed


def test_asymptote_is_a_setting():
    # two-qubit RB settles at 1/4: the expected asymptote is the lab's to set
    m, y, shots = _rb(0.25, 3)
    assert not analyse("randomized_benchmarking", m, y, shots=shots,
                       second_opinion=False).passed
    r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False,
                asymptote=0.25)
    assert r.passed, r.reason
    r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False,
                asymptote_tolerance=0.3)
    assert r.passed, r.reason


def test_not_judged_without_a_population_scale():
    m, y, _ = _rb(0.7, 5, shots=100000)
    r = analyse("randomized_benchmarking", m, 3.0 * y + 1.0, signal_type="magnitude",
                second_opinion=False)
    assert all(c.name != "asymptote" for c in r.gate.criteria)


def test_an_asymptote_the_fit_cannot_fix_is_not_judged_wrong():
    class Fit:
        params, errors = {"offset": 0.8}, {"offset": 0.5}
    ctx = type("Ctx", (), {"fit": Fit})()
    assert SettlesAt(0.5, 0.1).evaluate(ctx).passed
