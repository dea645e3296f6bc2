"""A Rabi whose qubit rotates with no pulse (a leaking carrier) is refused (RotatesAtZero).

The rotation angle under a carrier leak ``ε e^{iφ}`` is ``π |x + ε e^{iφ}| / a_π``: the
oscillation starts part-way into its turn, and its first maximum is not at the π amplitude.
A real drive's few tenths of a radian of phase (pulse shape, readout) stay accepted.
"""

from __future__ import annotations

import numpy as np
import pytest

from qplane.calibration import analyse
from qplane.calibration.criteria import RotatesAtZero


def _rabi(seed: int, *, leak: float = 0.0, angle: float = 0.0, phase: float = 0.0,
          shots: int = 500):
    rng = np.random.default_rng(seed)
    a_pi = 0.2
    x = np.linspace(0.0, 0.5, 41)
    theta = np.pi * np.abs(x + leak * a_pi * np.exp(1j * angle)) / a_pi + phase
    p = 0.03 + 0.92 * np.sin(theta / 2) ** 2
    return x, rng.binomial(shots, p) / shots, shots


@pytest.mark.parametrize("seed", range(3))
def test_a_real_drives_phase_is_accepted(seed):
    x, y, shots = _rabi(seed, phase=0.3)
    r = analyse("rabi", x, y, shots=shots, units="V", second_opinion=False)
    assert r.passed, r.reason
    c = next(c for c in r.gate.criteria if c.name == "phase")
    assert c.passed


@pytest.mark.parametrize("seed,leak,angle", [(0, 0.3, 0.4), (1, 0.4, 1.2), (2, 0.5, 0.8)])
def test_a_leaking_carrier_is_refused(seed, leak, angle):
    x, y, shots = _rabi(seed, leak=leak, angle=angle)
    r = analyse("rabi", x, y, shots=shots, units="V", second_opinion=False)
    assert not r.passed and r.gate.check in ("shape", "residuals"), r.reason
    c = next(c for c in r.gate.criteria if c.name == "phase")
    assert c.passed is False and c.value > 0.5
    assert "rotates at zero drive amplitude" in c.reason


def test_max_phase_is_a_setting():
    x, y, shots = _rabi(4, phase=0.8)
    assert not analyse("rabi", x, y, shots=shots, units="V", second_opinion=False).passed
    r = analyse("rabi", x, y, shots=shots, units="V", second_opinion=False, max_phase=1.2)
    assert r.passed, r.reason


def test_a_phase_the_fit_cannot_fix_is_not_judged_wrong():
    class Fit:
        params, errors = {"phase": 0.9}, {"phase": 0.3}
    ctx = type("Ctx", (), {"fit": Fit})()
    assert RotatesAtZero(0.5).evaluate(ctx).passed
    assert RotatesAtZero(0.5).evaluate(type("Ctx", (), {"fit": type(
        "F", (), {"params": {}, "errors": {}})})()).passed is None
