"""The calibration worker: built from config, steps in process, reports crashes as records."""

import pytest

from qplane.calibration.backend import StationBackend
from qplane.calibration.config import build_worker, validate_calibration
from qplane.calibration.synthetic import SyntheticBackend
from qplane.drivers import open_station
from qplane.errors import ConfigError
from qplane.sim_instruments.lab import sim_lab_config


def test_worker_from_config_on_the_simulated_lab():
    with open_station(sim_lab_config(distance=3, seed=4, drift=False), simulate=True) as lab:
        backend = StationBackend.from_lab(lab)
        qpu = backend.device
        runs = []
        worker = build_worker({"second_opinion": True}, backend, qubits=qpu.qubits()[:2],
                              circuit=qpu.decoding_circuit(), layout=qpu.layout,
                              on_run=runs.append)
        with worker:
            assert worker.step() == "maintain q0"
        # A fresh worker checks every node of the qubit once (cheap checks, all in spec).
        assert {r.node for r in runs} == {"spectroscopy", "rabi", "ramsey", "t1", "echo",
                                          "readout"}
        assert all(r.mode == "check" for r in runs)
        assert all(r.verdict is not None for r in runs)
        assert worker.monitor is not None


def test_worker_reports_a_crash_and_goes_on():
    backend = SyntheticBackend(seed=1)
    errors = []
    worker = build_worker({"second_opinion": False}, backend, qubits=("q0", "nope"),
                          on_error=lambda msg, tb: errors.append((msg, tb)))
    with worker:
        worker.step()
        assert worker.step() == "error"
    assert errors and "nope" in errors[0][0] + errors[0][1]
    assert worker.stats["errors"] == 1


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="triggers.windw"):
        validate_calibration({"triggers": {"windw": 10}})
    with pytest.raises(ConfigError, match="triage node"):
        validate_calibration({"triage_nodes": ["nonexistent"]})


def test_worker_reports_idle_after_a_pass_without_experiments():
    from qplane.calibration.graph import CalibrationGraph
    from qplane.calibration.worker import CalibrationWorker

    backend = SyntheticBackend(qubits=("q0", "q1"), seed=1)
    graph = CalibrationGraph.default(backend, backend.ledger())
    for q in backend.qubits():
        graph.mark_calibrated(q)
    with CalibrationWorker(graph, backend.qubits()) as worker:
        assert [worker.step() for _ in range(3)] == ["maintain q0", "maintain q1", "idle"]
    assert backend.experiments == []
