"""The quality gate recognises each failure mode, per node, with a reason."""

import numpy as np
import pytest

from qplane.calibration.gates import Outcome
from qplane.calibration.nodes import NODE_TYPES
from qplane.calibration.synthetic import make_case

KINDS = {"spectroscopy": "qubit_spectroscopy", "rabi": "rabi_amplitude", "ramsey": "ramsey",
         "t1": "t1", "echo": "hahn_echo", "readout": "readout_iq"}


def _analyse(node_name, failure, seed):
    rng = np.random.default_rng(seed)
    data, truth, settings = make_case(KINDS[node_name], failure, rng)
    node = NODE_TYPES[node_name]()
    if node_name == "ramsey":
        node.spec["detuning"] = data.settings["artificial_detuning"]
    return node.analyse(data)


@pytest.mark.parametrize("node_name", list(KINDS))
def test_healthy_data_passes(node_name):
    for seed in range(4):
        gate = _analyse(node_name, "ok", seed).gate
        assert gate.outcome is Outcome.SUCCESS, gate.reason


@pytest.mark.parametrize("node_name", list(KINDS))
def test_no_signal_is_bad_data(node_name):
    for seed in range(4):
        gate = _analyse(node_name, "no_signal", seed).gate
        assert gate.outcome is Outcome.BAD_DATA and gate.check == "signal", gate.reason
        assert "no signal" in gate.reason


@pytest.mark.parametrize("node_name", ["spectroscopy", "rabi", "ramsey"])
def test_off_range_feature_is_bad_data(node_name):
    hits = 0
    for seed in range(6):
        gate = _analyse(node_name, "off_range", seed).gate
        assert gate.outcome is Outcome.BAD_DATA, gate.reason
        hits += gate.check == "range"
    assert hits >= 5


@pytest.mark.parametrize("node_name", ["spectroscopy", "rabi", "ramsey", "t1", "echo"])
def test_undersampled_is_bad_data(node_name):
    checks = [_analyse(node_name, "undersampled", seed).gate for seed in range(6)]
    assert sum(g.outcome is Outcome.BAD_DATA for g in checks) >= 5, [g.reason for g in checks]
    assert any(g.check == "sampling" and "under-sampled" in g.reason for g in checks)


@pytest.mark.parametrize("node_name", list(KINDS))
def test_too_noisy_is_bad_data(node_name):
    for seed in range(4):
        gate = _analyse(node_name, "noisy", seed).gate
        assert gate.outcome is Outcome.BAD_DATA and gate.check == "noise", gate.reason
        assert "too noisy" in gate.reason


@pytest.mark.parametrize("node_name", ["spectroscopy", "rabi", "ramsey", "t1", "readout"])
def test_anomalous_physics_fails_the_residual_check(node_name):
    checks = [_analyse(node_name, "anomalous", seed).gate for seed in range(6)]
    assert sum(g.check == "residuals" for g in checks) >= 5, [g.reason for g in checks]


def test_failed_fit_is_an_outcome_not_a_warning():
    import dataclasses

    from qplane.calibration.fits import failed_fit
    from qplane.calibration.gates import GateCriteria, evaluate_gate
    fit = dataclasses.replace(
        failed_fit("rabi", ("pi_amplitude", "contrast", "offset"), "optimiser failed: boom"),
        chi2_flat=50.0, points=41)
    gate = evaluate_gate(fit, GateCriteria("pi_amplitude", 0, 1), resolution=10)
    assert gate.outcome is Outcome.FIT_FAILED and "boom" in gate.reason


def test_too_few_points_is_under_sampled():
    from qplane.calibration.fits import fit_rabi
    from qplane.calibration.gates import GateCriteria, evaluate_gate
    fit = fit_rabi([0.0, 0.1, 0.2], [0.1, 0.2, 0.3], 0.01)
    gate = evaluate_gate(fit, GateCriteria("pi_amplitude", 0, 1), resolution=10)
    assert gate.outcome is Outcome.BAD_DATA and "only 3 points" in gate.reason


def _two_passes(tau_second, seed, shots=300):
    """A benchmarking decay measured twice at every length, the passes alternating in the
    file; the second pass decays with ``tau_second`` (the first with 200)."""
    rng = np.random.default_rng(seed)
    lengths = np.unique(np.round(np.geomspace(1, 800, 16)))
    m = np.repeat(lengths, 2)
    tau = np.where(np.arange(len(m)) % 2 == 0, 200.0, tau_second)
    return m, rng.binomial(shots, 0.5 + 0.45 * np.exp(-m / tau)) / shots, shots


def test_passes_that_follow_two_curves_are_refused():
    """Reference and interleaved benchmarking points mixed in one file zigzag between two
    decays: refused by the passes test, while two passes over one decay are accepted."""
    from qplane.calibration import analyse

    for seed in range(3):
        m, y, shots = _two_passes(90.0, seed)
        r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False)
        assert not r.passed and r.gate.check == "residuals", r.reason
        assert "passes" in r.reason
        m, y, shots = _two_passes(200.0, seed)
        r = analyse("randomized_benchmarking", m, y, shots=shots, second_opinion=False)
        assert r.passed, r.reason
        assert next(c for c in r.gate.criteria if c.name == "passes").passed


def test_passes_are_counted_in_acquisition_order():
    from qplane.calibration.criteria import passes

    assert passes(np.array([0.0, 0.0, 0.0, 1.0, 2.0, 2.0])).tolist() == [0, 1, 2, 0, 0, 1]
