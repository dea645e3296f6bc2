"""Scheduling the checks: per-qubit timeouts that follow the measured drift, the next due time,
and a second opinion that reviews only what can lead to a write."""

import dataclasses
import math

import pytest

from qplane.calibration.drift import DriftTimeouts
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.nodes import RamseyNode
from qplane.calibration.run import run_node
from qplane.calibration.synthetic import QubitTruth, SyntheticBackend
from qplane.calibration.worker import CalibrationWorker
from qplane.errors import ConfigError

TRUTH = QubitTruth(frequency=5.0e9, pi_amplitude=0.4)


def _graph(**kw):
    backend = SyntheticBackend(truth={"q0": TRUTH, "q1": TRUTH}, seed=3)
    graph = CalibrationGraph.default(backend, backend.ledger(), **kw)
    for q in backend.qubits():
        graph.mark_calibrated(q)
    return backend, graph


def _tracker(**kw):
    args = dict(tolerance=5e3, reference_rate=1e5, reference_timeout={"q0": 100.0, "*": 400.0},
                minimum=10.0, maximum=1000.0, memory=1800.0)
    return DriftTimeouts(**{**args, **kw})


def test_a_jump_shortens_the_qubits_timeout_and_quiet_checks_lengthen_it_again():
    dt = _tracker()
    assert (dt.timeout("q0"), dt.timeout("q5")) == (100.0, 400.0)   # per qubit, then "*"
    dt.observe("q0", time=100.0, since=0.0, offset=200e3)
    assert dt.timeout("q0") == 10.0 and dt.timeout("q5") == 400.0
    t = 100.0
    for _ in range(100):                 # a quiet qubit, well inside its tolerance
        dt.observe("q0", time=t + 30.0, since=t, offset=500.0)
        t += 30.0
    assert dt.timeout("q0") > 100.0      # slower than the reference rate: checked less often
    dt.observe("q1", time=50.0, since=0.0, offset=None)     # bad data counts as a jump
    assert dt.timeout("q1") < 400.0 / 20


def test_the_square_root_rule_between_its_bounds():
    dt = _tracker(prior=1e9)             # a prior so long that the rate stays the reference
    assert dt.rate("q0") == pytest.approx(1e5)
    fast = _tracker(reference_rate=1e5, prior=1.0)
    fast.observe("q0", time=1001.0, since=1.0, offset=math.sqrt(4e5 * 1000.0))
    # about four times the reference rate: half the reference timeout
    assert fast.timeout("q0") == pytest.approx(100.0 / 2, rel=0.01)


@pytest.mark.parametrize("kw, key", [({"minimum": 0.0}, "minimum"),
                                     ({"minimum": 50.0, "maximum": 20.0}, "minimum"),
                                     ({"reference_timeout": {"q0": -1.0}}, "reference_timeout")])
def test_bad_settings_are_refused_with_their_key(kw, key):
    with pytest.raises(ConfigError, match=key):
        _tracker(**kw)


def test_the_graph_uses_per_qubit_and_adaptive_timeouts_and_says_when_the_next_is_due():
    backend, graph = _graph()
    assert graph.timeout("ramsey", "q0") == 600.0          # the node's
    graph.set_timeout("ramsey", "q1", 50.0)
    assert graph.timeout("ramsey", "q1") == 50.0
    assert graph.next_due(("q0", "q1")) == pytest.approx(backend.now() + 50.0)
    with pytest.raises(ConfigError, match="timeout must be > 0"):
        graph.set_timeout("ramsey", "q1", 0.0)
    graph.adapt(_tracker(tolerance=5e3, reference_timeout=300.0))
    assert graph.timeout("ramsey", "q1") == 300.0          # the adaptive one decides now
    backend.advance(301.0)
    t = backend.truth["q0"]
    backend.truth["q0"] = dataclasses.replace(t, frequency=t.frequency + 40e3)
    assert graph.maintain("ramsey", "q0") == "success"     # checked, found 40 kHz off, fixed
    assert graph.timeout("ramsey", "q0") < 300.0 / 3       # the jump is remembered
    assert graph.maintain("ramsey", "q1") == "in_spec"
    assert graph.timeout("ramsey", "q1") > graph.timeout("ramsey", "q0")
    graph.state("rabi", "q1").failed = True
    assert graph.next_due(("q1",)) == -math.inf            # a failed node is due now


def test_the_worker_is_due_at_once_with_a_trigger_queued_and_never_without_maintenance():
    backend, graph = _graph()
    worker = CalibrationWorker(graph, backend.qubits())
    assert worker.next_due() == graph.next_due(backend.qubits()) > backend.now()
    worker._queue.append(("q0", ("q0",)))
    assert worker.next_due() == -math.inf
    assert CalibrationWorker(graph, backend.qubits(), maintain=False).next_due() == math.inf


class _Counting:
    def __init__(self):
        self.calls = 0

    def classify(self, data):
        self.calls += 1
        return {"label": "expected", "confidence": 1.0, "action": ""}


def test_review_writes_skips_only_the_checks_that_found_the_device_in_spec():
    backend = SyntheticBackend(truth={"q0": TRUTH}, seed=5)
    ledger, opinion, node = backend.ledger(), _Counting(), RamseyNode()
    quiet = run_node(node, "q0", backend, ledger, mode="check", second_opinion=opinion,
                     review="writes")
    assert quiet.outcome.value == "in_spec" and quiet.verdict is None and opinion.calls == 0
    t = backend.truth["q0"]
    backend.truth["q0"] = dataclasses.replace(t, frequency=t.frequency + 40e3)
    off = run_node(node, "q0", backend, ledger, mode="check", second_opinion=opinion,
                   review="writes")
    assert off.outcome.value == "out_of_spec" and off.verdict is not None and opinion.calls == 1
    run_node(node, "q0", backend, ledger, mode="calibrate", second_opinion=opinion,
             review="writes")
    assert opinion.calls == 2
    run_node(node, "q0", backend, ledger, mode="check", second_opinion=opinion)  # "all"
    assert opinion.calls == 3
    with pytest.raises(ConfigError, match="review must be one of"):
        run_node(node, "q0", backend, ledger, mode="check", review="some")
