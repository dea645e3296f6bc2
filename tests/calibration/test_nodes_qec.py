"""The QEC lab's further nodes (resonator, readout frequency and amplitude, DRAG, RB, CZ) on the simulated lab:
the fit recovers the truth, the gate refuses bad and no-signal data, the update is bounded by
the controls' limits, and the nodes run in a graph end to end; a miscalibrated CZ raises the
QEC circuit's detection fraction and the CZ node brings it back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pymatching
import pytest

from qplane.calibration import SettingsLedger, StationBackend, analyse
from qplane.calibration.figures import render_png
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.nodes import NODE_TYPES
from qplane.calibration.nodes_qec import QEC_DEPENDENCIES, CzNode, DragNode
from qplane.calibration.run import run_node
from qplane.drivers import open_station
from qplane.sim_instruments import sim_lab_config
from qplane.sim_instruments.gate_physics import error_per_clifford

#: node -> (control, miscalibration, kind of offset, |written - truth| allowed)
CASES = {
    "resonator_spectroscopy": ("readout_frequency", 1.5e6, "add", 0.4e6),
    "readout_frequency": ("readout_frequency", 0.4e6, "add", 30e3),
    "readout_amplitude": ("readout_amplitude", 1.3, "mul", 0.015),
    "readout_duration": ("readout_duration", 1.6, "mul", 0.1e-6),
    "drag": ("drag_beta", 0.2, "add", 0.01),
    "cz": ("cz_amplitude", 1.05, "mul", 0.004),
}


@pytest.fixture
def lab():
    lab = open_station(sim_lab_config(distance=3, drift=False, optional_controls=True, seed=2),
                       simulate=True)
    yield lab
    lab.close()


def _setup(lab):
    qpu = lab.station.components["qpu"]
    qpu.calibrate_perfectly()
    backend = StationBackend.from_lab(lab)
    return qpu, backend, SettingsLedger(backend, clock=backend.now)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("qubit", ["q0", "q9"])
def test_node_calibrates_back_to_the_truth(lab, name, qubit):
    qpu, backend, ledger = _setup(lab)
    control, off, how, allowed = CASES[name]
    true = qpu.true_settings()[f"{qubit}.{control}"]
    c = lab.controls
    c.set(control, qubit, true + off if how == "add" else true * off)
    check = run_node(NODE_TYPES[name](), qubit, backend, ledger, mode="check")
    assert check.outcome.value == "out_of_spec", check.reason
    run = run_node(NODE_TYPES[name](), qubit, backend, ledger, mode="calibrate")
    assert run.outcome.value == "success", run.reason
    assert abs(c.get(control, qubit) - true) <= allowed
    assert [ch.control for ch in run.changes] == [control]
    assert render_png(run)[:4] == b"\x89PNG"
    # and the calibrated setting now checks in spec
    assert run_node(NODE_TYPES[name](), qubit, backend, ledger, mode="check").outcome.value \
        == "in_spec"


def test_randomized_benchmarking_measures_the_error_per_clifford(lab):
    qpu, backend, ledger = _setup(lab)
    q = "q4"
    i = qpu.layout.index(q)
    expected = error_per_clifford(float(np.sum(qpu.error_rates().h[i])))
    run = run_node(NODE_TYPES["randomized_benchmarking"](), q, backend, ledger, mode="check")
    assert run.outcome.value == "in_spec", run.reason
    r = run.analysis.result.values["error_per_clifford"]
    assert abs(r.value - expected) <= 3 * r.error
    # a 4 % π-amplitude error raises it beyond a 1e-3 spec: the data check says out of spec
    lab.controls.set("pi_amplitude", q, 1.04 * lab.controls.get("pi_amplitude", q))
    bad = run_node(NODE_TYPES["randomized_benchmarking"](max_error=1e-3), q, backend, ledger,
                   mode="check")
    assert bad.outcome.value == "out_of_spec" and "error per Clifford" in bad.reason
    assert bad.changes == ()
    # a 10 % error decays within the first sequence lengths: under-resolved, bad data
    lab.controls.set("pi_amplitude", q, 1.1 / 1.04 * lab.controls.get("pi_amplitude", q))
    fast = run_node(NODE_TYPES["randomized_benchmarking"](), q, backend, ledger, mode="check")
    assert fast.outcome.value == "bad_data"


@pytest.mark.parametrize("kind,x", [("cz", np.linspace(0.16, 0.24, 41)),
                                    ("drag", np.linspace(-0.1, 1.1, 41)),
                                    ("resonator_spectroscopy", 7e9 + np.linspace(-4e6, 4e6, 81)),
                                    ("readout_frequency", 7e9 + np.linspace(-1e6, 1e6, 41)),
                                    ("readout_amplitude", np.geomspace(0.05, 0.25, 31)),
                                    ("readout_duration", np.geomspace(2e-7, 2e-6, 25)),
                                    ("randomized_benchmarking", np.arange(0, 3100, 100.0))])
def test_gate_refuses_no_signal(kind, x):
    rng = np.random.default_rng(1)
    y = np.clip(0.5 + rng.normal(0, 0.01, len(x)), 0, 1)
    r = analyse(kind, x, y, shots=1000, second_opinion=False)
    assert r.outcome.value == "bad_data"
    assert r.gate.check in ("signal", "converged", "range", "noise")


def test_cz_gate_refuses_a_maximum_and_a_jump():
    a = np.linspace(0.16, 0.24, 41)
    rng = np.random.default_rng(2)
    up = 0.97 - 0.95 * (1 + np.cos(np.pi / 2 * (1 + (a / 0.2) ** 2))) / 2   # inverted: a maximum
    r = analyse("cz", a, np.clip(up + rng.normal(0, 0.01, 41), 0, 1), shots=1000,
                second_opinion=False)
    assert r.outcome.value == "bad_data" and r.gate.check == "range"
    good = 0.02 + 0.95 * (1 + np.cos(np.pi / 2 * (1 + (a / 0.2) ** 2))) / 2
    jump = good + np.where(a > 0.205, 0.25, 0.0)                            # a TLS mid-sweep
    r = analyse("cz", a, np.clip(jump + rng.normal(0, 0.01, 41), 0, 1), shots=1000,
                second_opinion=False)
    assert r.outcome.value == "bad_data"


def test_update_is_bounded_by_the_controls_limits(lab):
    qpu, backend, ledger = _setup(lab)
    q = "q2"
    c = lab.controls
    b = c.binding("cz_amplitude", q)
    true = qpu.true_settings()[f"{q}.cz_amplitude"]
    c.set("cz_amplitude", q, 1.05 * true)
    c._bindings[("cz_amplitude", q)] = dataclasses.replace(b, max_step=0.001)
    try:
        run = run_node(CzNode(), q, backend, ledger, mode="calibrate")
    finally:
        c._bindings[("cz_amplitude", q)] = b
    assert run.outcome.value == "out_of_spec" and "update refused" in run.reason
    assert c.get("cz_amplitude", q) == pytest.approx(1.05 * true)
    assert ledger.refused >= 1


def test_graph_runs_the_nodes_end_to_end(lab):
    qpu, backend, ledger = _setup(lab)
    config = {n: {"depends_on": d, "timeout": 3600.0} for n, d in
              (("spectroscopy", ()), ("rabi", ("spectroscopy",)),
               ("ramsey", ("spectroscopy", "rabi")))}
    config.update({n: {"depends_on": list(QEC_DEPENDENCIES[n])} for n in
                   ("resonator_spectroscopy", "readout_frequency", "readout_amplitude", "drag",
                    "cz", "randomized_benchmarking")})
    graph = CalibrationGraph.from_config(config, backend, ledger)
    q = "q5"
    c = lab.controls
    c.set("cz_amplitude", q, 1.06 * c.get("cz_amplitude", q))
    c.set("drag_beta", q, c.get("drag_beta", q) - 0.15)
    outcomes = graph.maintain_all([q])
    assert outcomes[("randomized_benchmarking", q)] in ("in_spec", "success")
    assert outcomes[("cz", q)] == "success"
    truth = qpu.true_settings()
    assert abs(c.get("cz_amplitude", q) / truth[f"{q}.cz_amplitude"] - 1) < 0.01
    assert abs(c.get("drag_beta", q) - truth[f"{q}.drag_beta"]) < 0.02
    assert {r.node for r in graph.runs} >= {"cz", "drag", "randomized_benchmarking"}


def test_miscalibrated_cz_raises_the_detection_fraction_and_the_node_restores_it(lab):
    qpu, backend, ledger = _setup(lab)
    c = lab.controls
    names = qpu.qubits()

    matcher = pymatching.Matching.from_detector_error_model(
        qpu.decoding_circuit().detector_error_model(decompose_errors=True))

    def detection_and_ler(shots=20000):
        sampler = qpu.circuit().compile_detector_sampler(seed=5)
        dets, obs = sampler.sample(shots, separate_observables=True)
        wrong = np.any(matcher.decode_batch(dets) != obs, axis=1)
        return float(np.mean(dets)), float(np.mean(wrong))

    calibrated, ler_calibrated = detection_and_ler()
    for q in names:
        c.set("cz_amplitude", q, 1.04 * c.get("cz_amplitude", q))
    miscalibrated, ler_miscalibrated = detection_and_ler()
    errors = qpu.error_rates()
    assert errors.cz_phase is not None and np.all(errors.cz_phase > 0)
    assert miscalibrated > 1.15 * calibrated
    assert ler_miscalibrated > 1.5 * ler_calibrated
    node = CzNode()
    for q in names:
        assert run_node(node, q, backend, ledger, mode="calibrate").outcome.value == "success"
    restored, ler_restored = detection_and_ler()
    assert restored < calibrated * 1.03 and restored < miscalibrated
    assert ler_restored < 1.25 * ler_calibrated and ler_restored < ler_miscalibrated


def test_drag_node_without_signal_in_its_sweep_is_bad_data(lab):
    qpu, backend, ledger = _setup(lab)
    q = "q1"
    # a sweep far narrower than the fringe: a constant fits
    node = DragNode(parameters=dataclasses.replace(DragNode.default_parameters, start=-0.002,
                                                   stop=0.002))
    run = run_node(node, q, backend, ledger, mode="calibrate")
    assert run.outcome.value == "bad_data"
    assert run.changes == ()


class _Opinion:
    """A second opinion that always sees an anomaly; records what it was asked about."""

    VERDICT = {"label": "anomalous", "mode": "anomalous", "confidence": 1.0, "action": "flag"}

    def __init__(self):
        self.asked = []

    def classify(self, data):
        self.asked.append(("data", data.kind.value))
        return dict(self.VERDICT)

    def classify_analysis(self, result):
        self.asked.append(("analysis", result.kind))
        return dict(self.VERDICT)


def test_qec_nodes_of_a_trained_shape_ask_the_second_opinion_on_their_analysis(lab):
    from qplane.calibration.classifier import KIND_ANALOGUES

    qpu, backend, ledger = _setup(lab)
    asking = {n for n in QEC_DEPENDENCIES if NODE_TYPES[n].second_opinion}
    assert asking == {"resonator_spectroscopy", "readout_frequency", "randomized_benchmarking"}
    assert asking <= set(KIND_ANALOGUES)
    op = _Opinion()
    run = run_node(NODE_TYPES["resonator_spectroscopy"](), "q2", backend, ledger,
                   mode="check", second_opinion=op)
    # advisory: the gate's outcome stands, the disagreement is recorded and flagged
    assert run.outcome.value == "in_spec" and run.flagged and run.verdict["label"] == "anomalous"
    assert op.asked[0] == ("analysis", "resonator_spectroscopy")
    run = run_node(DragNode(), "q2", backend, ledger, mode="check", second_opinion=op)
    assert run.verdict is None and not run.flagged and len(op.asked) == 1

    class RawOnly:                       # an opinion of the raw data only is asked on them
        VERDICT = _Opinion.VERDICT
        classify = _Opinion.classify

        def __init__(self):
            self.asked = []

    raw = RawOnly()
    run = run_node(NODE_TYPES["randomized_benchmarking"](), "q2", backend, ledger,
                   mode="check", second_opinion=raw)
    assert raw.asked == [("data", "randomized_benchmarking")] and run.flagged


def test_drag_minimum_judged_by_curvature_when_the_fringe_is_long():
    """A DRAG fringe whose period is long next to the sweep (a compressing readout, the
    phase of the reflected tone) is a parabola: amplitude and frequency trade off and the
    amplitude alone is not significant, but the curvature at the minimum is; the same data
    turned upside down (a maximum) are still refused."""
    x = np.linspace(-0.6, 0.6, 41)
    rng = np.random.default_rng(3)
    y = 0.02 + 3.0 * np.sin(np.pi * 0.15 * (x - 0.1)) ** 2 + rng.normal(0, 0.005, 41)
    r = analyse("drag", x, y, signal_type="phase", second_opinion=False)
    assert r.outcome.value == "success", r.reason
    assert abs(r.values["drag_beta"].value - 0.1) < 3 * r.values["drag_beta"].error
    minimum = next(c for c in r.gate.criteria if c.name == "minimum")
    assert minimum.passed and minimum.value > 3
    flipped = analyse("drag", x, -y, signal_type="population", second_opinion=False)
    assert flipped.outcome.value == "bad_data" and flipped.gate.check == "range"


def test_readout_frequency_fits_the_dispersive_overlap_over_a_wide_survey():
    """Assignment fidelity vs the readout tone over a survey many linewidths wide: the blobs'
    overlap (erfc of the separation of the two dressed notch responses) has long tails the
    flat-topped peak cannot follow; the dispersive model fits them and finds the midpoint."""
    from scipy.special import erfc

    rng = np.random.default_rng(5)
    mid, kappa, chi, shots = 7.1e9, 1.2e6, 0.4e6, 3000
    f = np.concatenate([np.linspace(mid - 5e6, mid + 4e6, 21),
                        np.linspace(mid - 1.1e6, mid + 1.3e6, 31)])
    s21 = lambda f0: 0.8 / (1 + 2j * (f - f0) / kappa)   # noqa: E731
    sep = 4.5 * np.abs(s21(mid - chi) - s21(mid + chi)) / 0.8
    error = 0.5 * erfc(sep / (2 * np.sqrt(2))) + 0.01
    fidelity = 1 - rng.binomial(2 * shots, error) / (2 * shots)
    r = analyse("readout_frequency", f / 1e6, fidelity, signal_type="magnitude", units="MHz",
                second_opinion=False)
    assert r.outcome.value == "success", r.reason
    assert r.fit.model == "dispersive_overlap"
    assert abs(r.values["center"].value - mid) < 3 * r.values["center"].error


def test_readout_amplitude_with_saturating_transitions():
    """Measurement-induced transitions that saturate (``c r / (1 + r)``, ``r = (A/onset)⁴``)
    bend the fidelity's fall at high amplitude away from the plain ``A⁴``: the saturating
    candidate follows them and finds the optimum."""
    from scipy.special import erfc

    rng = np.random.default_rng(2)
    width, onset, c_t, shots = 0.03, 0.15, 0.25, 4000

    def error(a):
        r = (a / onset) ** 4
        return 0.5 * erfc(a / width / (2 * np.sqrt(2))) + 0.01 + c_t * r / (1 + r)

    grid = np.geomspace(0.01, 1.0, 20001)
    best = float(grid[np.argmin(error(grid))])
    a = best * np.exp(np.linspace(-0.7, 0.7, 31))
    fidelity = 1 - rng.binomial(2 * shots, error(a)) / (2 * shots)
    r = analyse("readout_amplitude", a, fidelity, signal_type="magnitude", second_opinion=False)
    assert r.outcome.value == "success", r.reason
    assert r.fit.model == "readout_amplitude_saturating"
    assert abs(r.values["best"].value - best) < 3 * r.values["best"].error
