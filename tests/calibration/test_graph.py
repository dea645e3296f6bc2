"""The graph's maintain / check_state / check_data / calibrate / diagnose walk the right nodes."""

import dataclasses

import pytest

from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.synthetic import QubitTruth, SyntheticBackend
from qplane.errors import ConfigError

TRUTH = QubitTruth(frequency=5.0e9, pi_amplitude=0.4)


def _graph(seed=1):
    backend = SyntheticBackend(truth={"q0": TRUTH, "q1": TRUTH}, seed=seed)
    graph = CalibrationGraph.default(backend, backend.ledger())
    for q in backend.qubits():
        graph.mark_calibrated(q)
    return backend, graph


def _shift_frequency(backend, qubit, df):
    t = backend.truth[qubit]
    backend.truth[qubit] = dataclasses.replace(t, frequency=t.frequency + df)


def _walk(graph):
    return [(a, n, o) for a, n, _, o in graph.trace]


def test_fresh_state_needs_no_experiment():
    backend, graph = _graph()
    assert graph.maintain("ramsey", "q0") == "valid"
    assert backend.experiments == []
    assert {a for a, _, _ in _walk(graph)} == {"check_state"}


def test_expired_node_gets_a_cheap_check_only():
    backend, graph = _graph()
    backend.advance(700)          # past ramsey's 600 s timeout, within the others'
    assert graph.maintain("ramsey", "q0") == "in_spec"
    assert _walk(graph)[-1] == ("check_data", "ramsey", "in_spec")
    assert [r.mode for r in graph.runs] == ["check"]
    assert graph.ledger.history == ()


def test_small_drift_is_recalibrated_by_its_own_node():
    backend, graph = _graph()
    backend.advance(700)
    _shift_frequency(backend, "q0", 40e3)     # beyond Ramsey's 5 kHz tolerance
    assert graph.maintain("ramsey", "q0") == "success"
    assert _walk(graph)[-2:] == [("check_data", "ramsey", "out_of_spec"),
                                 ("calibrate", "ramsey", "success")]
    assert [a for a, n, _ in _walk(graph) if n != "ramsey"] == ["check_state"] * 3
    assert abs(backend.settings["q0.drive_frequency"] - (TRUTH.frequency + 40e3)) < 3e3
    assert backend.settings["q1.drive_frequency"] == TRUTH.frequency   # other qubit untouched


def test_bad_data_is_diagnosed_up_the_graph():
    # A TLS jump of -0.8 MHz: Ramsey's fringes alias (bad data); diagnosis finds spectroscopy
    # out, recalibrates it, re-checks rabi and then recalibrates ramsey.
    backend, graph = _graph()
    backend.advance(700)
    _shift_frequency(backend, "q0", -0.8e6)
    assert graph.maintain("ramsey", "q0") == "success"
    walk = [w for w in _walk(graph) if w[0] != "check_state"]
    assert walk == [
        ("check_data", "ramsey", "bad_data"),
        ("diagnose", "ramsey", ""),
        ("check_data", "spectroscopy", "bad_data"),
        ("diagnose", "spectroscopy", ""),
        ("calibrate", "spectroscopy", "success"),
        ("check_data", "rabi", "in_spec"),
        ("calibrate", "ramsey", "success"),
    ]
    assert abs(backend.settings["q0.drive_frequency"] - (TRUTH.frequency - 0.8e6)) < 3e3
    # Everything is valid again: maintaining once more runs no experiment.
    n = len(backend.experiments)
    graph.maintain("ramsey", "q0")
    assert len(backend.experiments) == n


def test_recalibrated_dependency_invalidates_dependents():
    backend, graph = _graph()
    backend.advance(100)
    graph.calibrate("rabi", "q0")
    assert not graph.check_state("ramsey", "q0")
    assert not graph.check_state("readout", "q0")
    assert graph.check_state("spectroscopy", "q0")


def test_an_unfixable_node_fails_with_its_reason_and_writes_nothing():
    backend, graph = _graph()
    backend.advance(5 * 3600)
    backend.failures[("q0", "qubit_spectroscopy")] = "no_signal"
    before = dict(backend.settings)
    graph.maintain("spectroscopy", "q0")
    assert graph.state("spectroscopy", "q0").failed
    assert graph.runs[-1].outcome.value == "bad_data" and "no signal" in graph.runs[-1].reason
    assert backend.settings == before


def test_graph_is_built_explicitly_and_refuses_unknown_dependencies():
    backend = SyntheticBackend()
    graph = CalibrationGraph.from_config(
        {"spectroscopy": {"timeout": 60}, "rabi": {"depends_on": ["spectroscopy"]}},
        backend, backend.ledger())
    assert graph.nodes == ("spectroscopy", "rabi")
    with pytest.raises(ConfigError, match="not in the graph"):
        CalibrationGraph.from_config({"rabi": {"depends_on": ["spectroscopy"]}},
                                     backend, backend.ledger())


def test_a_precise_check_is_calibrated_from_without_a_new_experiment():
    backend, graph = _graph()
    backend.advance(700)
    _shift_frequency(backend, "q0", 40e3)
    graph.maintain("ramsey", "q0")
    check, cal = graph.runs[-2], graph.runs[-1]
    assert (check.mode, check.outcome.value) == ("check", "out_of_spec")
    assert cal.mode == "calibrate" and cal.device_time == 0.0 and "from the check" in cal.reason
    assert cal.changes and cal.changes[0].fit["from_check"] == check.uid
    assert len(backend.experiments) == 1


def test_a_rough_check_still_gets_the_full_calibration():
    backend, graph = _graph()
    backend.advance(3 * 3600)            # past rabi's timeout too
    backend.settings["q0.pi_amplitude"] *= 1.05
    graph.maintain("rabi", "q0")
    cal = graph.runs[-1]
    assert cal.node == "rabi" and cal.mode == "calibrate" and cal.device_time > 0
    assert abs(backend.settings["q0.pi_amplitude"] / TRUTH.pi_amplitude - 1) < 0.01
