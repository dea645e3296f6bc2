"""``qplane bench calibration``: the analysis (fit + gate) and the second opinion on held-out data.

Sets, none used for tuning or training (:mod:`qplane.calibration.domain` lists the families):

``families``  the *held-out* families of :mod:`qplane.calibration.domain`: good data (a Ramsey
              0.05–1.95 µs window on a healthy qubit, zero-detuning Ramsey, real-like Rabi with
              phase and damping in averaged IQ, Fano resonator dips, Gaussian lines read as
              phase, log-spaced T1/echo with random-walk drift) and bad data (aliased Ramsey,
              too-short T1, an empty spectroscopy window, Rabi short of π, a TLS-split line,
              beating Ramsey, a T1 that drops mid-sweep), each with its truth;
``families_gen4`` the fourth generation (:mod:`qplane.calibration.domain_gen4`), written and
              committed before session 4 tuned or trained anything, kept blind until its final
              measurement;
``families_gen5`` the fifth generation (:mod:`qplane.calibration.domain_gen5`), written and
              committed before session 5 tuned or trained anything, kept blind until its final
              measurement (a development set since);
``families_gen6`` the sixth generation (:mod:`qplane.calibration.domain_gen6`), written and
              committed before session 6 tuned or trained anything, kept blind until its final
              measurement (a development set since);
``families_gen7`` the seventh generation (:mod:`qplane.calibration.domain_gen7`), written and
              committed before session 7 tuned or trained anything, kept blind until its one
              measurement in session 7 (``bench/results/calibration_gen7_blind.json``; a
              development set since). Its cases carry the experiment settings a node passes (a
              Rabi's ``expected_pi_amplitude``, with the prior's error), and two of its kinds
              are QEC-lab nodes (resonator spectroscopy, randomized benchmarking);
``families_gen8`` the eighth generation (:mod:`qplane.calibration.domain_gen8`), written and
              committed before session 9 tuned or trained anything, kept blind until its one
              measurement in session 9 (``bench/results/calibration_gen8_blind.json``; a
              development set since). Half of its families are the QEC lab's DRAG, CZ and
              readout amplitude and duration nodes;
``families_gen9`` the ninth generation (:mod:`qplane.calibration.domain_gen9`), written and
              committed before session 10 tuned or trained anything, kept blind until its one
              measurement in session 10 (``bench/results/calibration_gen9_blind.json``; a
              development set since). It covers every analysis kind, the readout frequency
              among them (held out for the first time);
``families_gen10`` the tenth generation (:mod:`qplane.calibration.domain_gen10`), written and
              committed before session 12 tuned or trained anything, kept blind until its one
              measurement in session 12 (``bench/results/calibration_gen10_blind.json``; a
              development set since). It covers every analysis kind;
``families_gen11`` the eleventh generation (:mod:`qplane.calibration.domain_gen11`), written
              and committed in session 12 after the tenth generation's measurement and before
              anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen11_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen12`` the twelfth generation (:mod:`qplane.calibration.domain_gen12`), written
              and committed in session 13 after the eleventh generation's measurement and
              before anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen12_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen13`` the thirteenth generation (:mod:`qplane.calibration.domain_gen13`), written
              and committed in session 13 after the twelfth generation's measurement and
              before anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen13_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen14`` the fourteenth generation (:mod:`qplane.calibration.domain_gen14`), written
              and committed in session 15 after the thirteenth generation's measurement and
              before anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen14_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen15`` the fifteenth generation (:mod:`qplane.calibration.domain_gen15`), written
              and committed in session 15 after the fourteenth generation's measurement and
              before anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen15_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen16`` the sixteenth generation (:mod:`qplane.calibration.domain_gen16`), written
              and committed in session 16 after the fifteenth generation's measurement and
              before anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen16_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen17`` the seventeenth generation (:mod:`qplane.calibration.domain_gen17`),
              written and committed in session 16 after the sixteenth generation's measurement
              and before anything was tuned on it, kept blind until its one measurement
              (``bench/results/calibration_gen17_blind.json``; a development set since). It
              covers every analysis kind;
``families_gen18`` the eighteenth generation (:mod:`qplane.calibration.domain_gen18`),
              written and committed in session 16 after the seventeenth generation's
              measurement and before anything was tuned on it, kept blind until its one
              measurement by a later session: the generation the targets are judged on now. It
              covers every analysis kind;
``heldout``   fresh seeds of qplane's own generator (every node type and failure mode);
``simlab``    data from the simulated lab's own device model (its physics, readout chain and
              drift, a different simulator from the training one), spoiled as each failure mode
              needs: sweeps shifted off the feature, too few points or shots, a discriminator
              threshold at its limit (no signal). No ``anomalous`` cases.

Targets on ``families_gen18`` (and reported for ``families_gen17``, ``families_gen16``, ``families_gen15``,
``families_gen14``, ``families_gen13``, ``families_gen12``, ``families_gen11``, ``families_gen10``, ``families_gen9``, ``families_gen8``,
``families_gen7``, ``families_gen6``, ``families_gen5``, ``families_gen4`` and ``families``): the gate accepts ≥ 90 % of good data and rejects 100 % of bad; the fitted value lies within 2σ of the truth on ≥ 90 % of
accepted good data; Rabi π-amplitude bias
< 2 % with phase and damping present (every accepted case of every held-out Rabi family);
the second opinion's outcome class right on ≥ 90 %.
On the node sets: the model's and the gate's class accuracy, and how many bad-data cases the
gate alone, the model alone and both accept.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qplane.bench._results import write_results
from qplane.progress import track

if TYPE_CHECKING:
    import numpy as np

    from qplane.calibration import Node
    from qplane.calibration.classifier import LearnedSecondOpinion
    from qplane.device import ExperimentData, ExperimentRequest

#: The gate's failed check -> the outcome class it amounts to (the gate-alone baseline).
CHECK_CLASS = {"passed": "expected", "range": "suboptimal_sweep", "sampling": "suboptimal_sweep",
               "noise": "suboptimal_sweep", "residuals": "anomalous", "converged": "anomalous",
               "signal": "no_signal"}


_WORK: tuple[Any, list[Any]] | None = None


def _call(i: int) -> Any:
    fn, items = _WORK
    return fn(items[i])


def _pmap(fn: Any, items: list[Any], jobs: int) -> list[Any]:
    """``[fn(i) for i in items]``, in ``jobs`` forked processes when ``jobs > 1`` (order kept;
    the items reach the workers by the fork, so they need not pickle, only the results)."""
    global _WORK
    if jobs <= 1 or len(items) < 2:
        return [fn(i) for i in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORK = (fn, items)
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_call, range(len(items)),
                                 chunksize=max(1, len(items) // (4 * jobs))))
    finally:
        _WORK = None


def _verdicts(opinion: Any, feats: list[Any]) -> list[Any]:
    out = []
    for i in range(0, len(feats), 256):
        out += opinion.predict_features(feats[i:i + 256])
    return out


def _node_of_kind() -> dict[str, str]:
    """Experiment kind -> the name of the node type that runs it."""
    from qplane.calibration import NODE_TYPES

    return {cls.experiment: name for name, cls in NODE_TYPES.items()}


def node_for(data: ExperimentData) -> Node:
    """A fresh node of the type that analyses ``data`` (a Ramsey node with its detuning)."""
    from qplane.calibration import NODE_TYPES
    from qplane.device import ExperimentKind

    node = NODE_TYPES[_node_of_kind()[data.kind.value]]()
    if data.kind is ExperimentKind.RAMSEY:
        node.spec["detuning"] = data.settings.get("artificial_detuning", node.spec["detuning"])
    return node


def simlab_cases(per_cell: int, *, seed: int) -> list[tuple[ExperimentData, str]]:
    """Labelled cases from the simulated lab's device model (d = 3, drifting)."""
    import numpy as np

    from qplane.calibration import NODE_TYPES, StationBackend
    from qplane.calibration.run import read_settings
    from qplane.device import SINGLE_QUBIT_KINDS, ExperimentKind
    from qplane.drivers import open_station
    from qplane.sim_instruments import sim_lab_config

    rng = np.random.default_rng(seed)
    lab = open_station(sim_lab_config(distance=3, seed=seed, drift=True), simulate=True)
    try:
        backend = StationBackend.from_lab(lab)
        qpu = backend.device
        qubits = qpu.qubits()
        out = []
        for _ in range(per_cell):
            qpu.advance_clock(float(rng.uniform(0, 1800)))
            qpu.calibrate_perfectly()
            truth = qpu.truth()
            for kind in SINGLE_QUBIT_KINDS:
                q = str(rng.choice(qubits))
                i = qpu.layout.index(q)
                node = NODE_TYPES[_node_of_kind()[kind.value]]()
                settings = read_settings(backend, q)
                check = bool(rng.random() < 0.4)
                for mode in ("ok", "off_range", "undersampled", "noisy", "no_signal"):
                    if kind is ExperimentKind.READOUT_IQ and mode in ("off_range",
                                                                       "undersampled"):
                        continue
                    req = _spoil(node.request(q, settings, check=check), mode, truth, i, rng)
                    if mode == "no_signal":
                        thr = lab.controls.get("readout_threshold", q)
                        lab.controls.set("readout_threshold", q, 2.0)
                        try:
                            if kind is ExperimentKind.READOUT_IQ:  # blobs merged: dead readout
                                continue
                            out.append((backend.run_experiment(req), mode))
                        finally:
                            lab.controls.set("readout_threshold", q, thr)
                    else:
                        out.append((backend.run_experiment(req), mode))
        return out
    finally:
        lab.close()


def _spoil(req: ExperimentRequest, mode: str, truth: Any, i: int,
           rng: np.random.Generator) -> ExperimentRequest:
    from qplane.calibration.synthetic import spoil_request
    from qplane.device import ExperimentKind

    decay = float(truth.t1[i] if req.kind is ExperimentKind.T1 else truth.t2_echo[i])
    return spoil_request(req, mode, frequency=float(truth.frequency[i]),
                         pi_amplitude=float(truth.pi_amplitude[i]), decay=decay, rng=rng)


#: The QEC lab's nodes the benchmark spoils, with the modes each can be spoiled into (a
#: resonator's magnitude does not get noisier with fewer shots in the simulated lab: no
#: ``noisy``; with its window moved 30 MHz away it has no dip: ``no_signal``).
QEC_NODES = ("resonator_spectroscopy", "readout_frequency", "readout_amplitude",
             "readout_duration", "drag", "randomized_benchmarking", "cz")


def _qec_parameters(name: str, p: Any) -> dict[str, Any]:
    import dataclasses

    modes = {"ok": p, "undersampled": dataclasses.replace(p, points=5, check_points=5)}
    if name == "resonator_spectroscopy":
        modes["no_signal"] = dataclasses.replace(p, start=30e6, stop=38e6)
        return modes
    modes["noisy"] = dataclasses.replace(p, shots=3, check_shots=3)
    if name == "randomized_benchmarking":
        modes["off_range"] = dataclasses.replace(p, stop=60.0)
    else:   # the sweep moved by 0.8 of its span: the feature at its edge or outside
        span = p.stop - p.start
        modes["off_range"] = dataclasses.replace(p, start=p.start + 0.8 * span,
                                                 stop=p.stop + 0.8 * span)
    return modes


def _qec_rows(name: str, *, seed: int, qubits: tuple[str, ...]) -> list[dict[str, Any]]:
    """One QEC node's spoiled runs on a fresh simulated lab (so each node's data do not depend
    on the others' or on ``--jobs``): the gate's verdict and the second opinion's features."""
    from qplane.calibration import NODE_TYPES, StationBackend
    from qplane.calibration.classifier import analysis_features
    from qplane.calibration.run import read_settings
    from qplane.drivers import open_station
    from qplane.sim_instruments import sim_lab_config

    lab = open_station(sim_lab_config(distance=3, drift=False, optional_controls=True,
                                      seed=seed), simulate=True)
    rows = []
    try:
        lab.station.components["qpu"].calibrate_perfectly()
        backend = StationBackend.from_lab(lab)
        node = NODE_TYPES[name]()
        for q in qubits:
            settings = read_settings(backend, q, tuple(node.controls))
            for mode, par in _qec_parameters(name, node.default_parameters).items():
                for check in (False, True):
                    data = backend.run_experiment(node.request(q, settings, check=check,
                                                               parameters=par))
                    a = node.analyse(data)
                    truth = _mode_class()[mode]
                    rows.append({"mode": mode, "truth": truth,
                                 "gate_ok": a.gate.passed == (truth == "expected"),
                                 "features": analysis_features(a.result)})
    finally:
        lab.close()
    return rows


def evaluate_qec(opinion: "LearnedSecondOpinion", *, seed: int,
                 qubits: tuple[str, ...] = ("q0", "q3", "q6", "q9", "q12", "q15"),
                 jobs: int = 1, compare: "LearnedSecondOpinion | None" = None
                 ) -> dict[str, Any]:
    """The second opinion and the gate on the QEC lab's nodes' data from the simulated lab
    (d = 3, calibrated, optional controls bound), each node's sweep spoiled as
    :func:`_qec_parameters` says, full sweep and check: per node, the model's outcome-class
    accuracy, how often it accepts exactly what should be accepted, and whether the node asks
    it (``Node.second_opinion``); with ``compare``, that model's on the same data."""
    import functools

    import numpy as np

    from qplane.calibration import NODE_TYPES

    per_node = _pmap(functools.partial(_qec_rows, seed=seed, qubits=qubits), list(QEC_NODES),
                     jobs)
    out: dict[str, Any] = {}
    for name, rows in zip(QEC_NODES, per_node):
        feats = [r.pop("features") for r in rows]
        models = {"model": opinion, "compare_model": compare}
        entry: dict[str, Any] = {"asks_second_opinion": bool(NODE_TYPES[name].second_opinion),
                                 "cases": len(rows),
                                 "gate_accept_accuracy": float(np.mean([r["gate_ok"]
                                                                        for r in rows]))}
        for key, op in models.items():
            if op is None:
                continue
            labels = [v.label for v in _verdicts(op, feats)]
            entry[f"{key}_class_accuracy"] = float(np.mean([lb == r["truth"]
                                                            for lb, r in zip(labels, rows)]))
            entry[f"{key}_accept_accuracy"] = float(np.mean(
                [(lb == "expected") == (r["truth"] == "expected") for lb, r in zip(labels, rows)]))
            if key == "model":
                entry["model_classes"] = {m: dict(collections.Counter(
                    lb for lb, r in zip(labels, rows) if r["mode"] == m))
                    for m in dict.fromkeys(r["mode"] for r in rows)}
        out[name] = entry
    return out


def _mode_class() -> dict[str, str]:
    # the classifier module needs torch: imported when a benchmark runs, not when the CLI starts
    from qplane.calibration.classifier import MODE_CLASS

    return MODE_CLASS


def _set_row(item: tuple[Any, str]) -> tuple[dict[str, Any], Any]:
    from qplane.calibration.classifier import features

    data, mode = item
    gate = node_for(data).analyse(data).gate
    return ({"kind": data.kind.value, "mode": mode, "truth": _mode_class()[mode],
             "gate_class": CHECK_CLASS[gate.check], "gate_accepts": gate.passed},
            features(data))


def evaluate(cases: list[tuple[ExperimentData, str]], opinion: "LearnedSecondOpinion", *,
             jobs: int = 1, compare: "LearnedSecondOpinion | None" = None) -> dict[str, Any]:
    """Gate and model on ``cases``: accuracies, acceptance of bad data, per-mode breakdown."""
    import numpy as np

    done = _pmap(_set_row, cases, jobs)
    rows = [r for r, _ in done]
    feats = [f for _, f in done]
    for r, v in zip(rows, _verdicts(opinion, feats)):
        r["model_class"], r["model_accepts"] = v.label, v.label == "expected"
    prev = None
    if compare is not None:
        prev = float(np.mean([v.label == r["truth"] for v, r in
                              zip(_verdicts(compare, feats), rows)]))
    n = len(rows)
    bad = [r for r in rows if r["truth"] != "expected"]
    good = [r for r in rows if r["truth"] == "expected"]

    def frac(items: list[dict[str, Any]], key: str) -> float:
        return float(np.mean([bool(r[key]) for r in items])) if items else float("nan")

    for r in rows:
        r["model_ok"] = r["model_class"] == r["truth"]
        r["gate_ok"] = r["gate_class"] == r["truth"]
        r["both_accept"] = r["gate_accepts"] and r["model_accepts"]
    per_mode = collections.defaultdict(list)
    per_kind = collections.defaultdict(list)
    for r in rows:
        per_mode[r["mode"]].append(r)
        per_kind[r["kind"]].append(r)
    return {
        "cases": n,
        "model_class_accuracy": frac(rows, "model_ok"),
        **({"compare_model_class_accuracy": prev} if prev is not None else {}),
        "gate_class_accuracy": frac(rows, "gate_ok"),
        "bad_data_cases": len(bad),
        "bad_accepted": {"gate_alone": int(sum(r["gate_accepts"] for r in bad)),
                         "model_alone": int(sum(r["model_accepts"] for r in bad)),
                         "gate_and_model": int(sum(r["both_accept"] for r in bad))},
        "bad_accepted_that_either_rejects": int(sum(
            r["both_accept"] and not (r["gate_accepts"] and r["model_accepts"]) for r in bad)),
        "good_cases": len(good),
        "good_rejected": {"gate_alone": int(sum(not r["gate_accepts"] for r in good)),
                          "model_alone": int(sum(not r["model_accepts"] for r in good)),
                          "gate_and_model": int(sum(not r["both_accept"] for r in good))},
        "disagreements_flagged": int(sum(r["gate_accepts"] != r["model_accepts"] for r in rows)),
        "per_mode": {m: {"cases": len(v), "model_class_accuracy": frac(v, "model_ok"),
                         "gate_class_accuracy": frac(v, "gate_ok")} for m, v in per_mode.items()},
        "per_kind": {k: {"cases": len(v), "model_class_accuracy": frac(v, "model_ok"),
                         "gate_class_accuracy": frac(v, "gate_ok")} for k, v in per_kind.items()},
    }


#: held-out mode -> the outcome class the second opinion should give
_KEY = {"spectroscopy": "frequency", "rabi": "pi_amplitude", "ramsey": "fringe_frequency",
        "t1": "t1", "echo": "t2_echo",
        # the QEC-lab kinds of the seventh generation
        "resonator_spectroscopy": "frequency", "randomized_benchmarking": "tau",
        # the QEC-lab kinds of the eighth generation
        "drag": "drag_beta", "cz": "cz_amplitude", "readout_amplitude": "best",
        "readout_duration": "best",
        # the QEC-lab kind of the ninth generation
        "readout_frequency": "center"}


def _analyse_case(case: Any) -> Any:
    from qplane.calibration.analysis import analyse

    return analyse(case.kind, second_opinion=False, **case.analyse_args())


def evaluate_families(cases: list[Any], opinion: "LearnedSecondOpinion", *, jobs: int = 1,
                      compare: "LearnedSecondOpinion | None" = None) -> dict[str, Any]:
    """Gate, fit accuracy and second opinion on held-out family cases (with truth); with
    ``compare``, that model's class accuracy on the same analyses too."""
    from qplane.calibration.classifier import analysis_features

    rows = []
    results = _pmap(_analyse_case, cases, jobs) if jobs > 1 else [
        _analyse_case(c) for c in track(cases, "held-out families")]
    feats = [analysis_features(r) for r in results]
    verdicts = _verdicts(opinion, feats)
    before = _verdicts(compare, feats) if compare is not None else [None] * len(cases)
    for c, r, v, pv in zip(cases, results, verdicts, before):
        row = {"family": c.family, "kind": c.kind, "mode": c.mode, "good": c.good,
               "noise": c.noise, "signal_type": c.signal_type, "accepted": r.passed,
               "check": r.gate.check, "truth_class": _mode_class()[c.mode],
               "model_class": v.label, "within_2sigma": None, "relative_bias": None}
        row["model_ok"] = row["model_class"] == row["truth_class"]
        if pv is not None:
            row["compare_ok"] = pv.label == row["truth_class"]
        if c.good and r.passed:
            key = "t2_star" if "t2" in c.truth else _KEY[c.kind]
            value, truth = r.values[key], next(iter(c.truth.values()))
            row["within_2sigma"] = bool(abs(value.value - truth) <= 2 * value.error)
            row["relative_bias"] = float(value.value / truth - 1)
            row["pull"] = float((value.value - truth) / value.error)
        rows.append(row)
    out = _summary(rows)
    from qplane.calibration.domain import FIRST_HELDOUT

    first = [r for r in rows if r["family"] in FIRST_HELDOUT]
    if 0 < len(first) < len(rows):
        out["first_families"] = {k: v for k, v in _summary(first).items() if k != "per_family"}
    return out


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np

    good = [r for r in rows if r["good"]]
    bad = [r for r in rows if not r["good"]]
    fitted = [r for r in good if r["within_2sigma"] is not None]
    # every held-out Rabi family has a phase and damping
    rabi = [r["relative_bias"] for r in fitted if r["kind"] == "rabi"]

    def mean(vals: list[Any]) -> float:
        return float(np.mean(vals)) if vals else float("nan")

    def worst(vals: list[Any]) -> float:
        return float(max(map(abs, vals))) if vals else float("nan")

    fams: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in rows:
        fams[r["family"]].append(r)
    return {
        "cases": len(rows), "good_cases": len(good), "bad_cases": len(bad),
        "gate_accepts_good": mean([r["accepted"] for r in good]),
        "gate_rejects_bad": mean([not r["accepted"] for r in bad]),
        "within_2sigma": mean([r["within_2sigma"] for r in fitted]),
        "rabi_bias_mean": mean(rabi), "rabi_bias_abs_mean": mean([abs(b) for b in rabi]),
        "rabi_bias_abs_max": worst(rabi),
        "rabi_pull_rms": float(np.sqrt(mean([r["pull"] ** 2 for r in fitted
                                             if r["kind"] == "rabi"]))),
        "model_class_accuracy": mean([r["model_ok"] for r in rows]),
        **({"compare_model_class_accuracy": mean([r["compare_ok"] for r in rows])}
           if rows and "compare_ok" in rows[0] else {}),
        "flagged": int(sum((r["model_class"] == "expected") != r["accepted"] for r in rows)),
        "per_family": {f: {"cases": len(v), "mode": v[0]["mode"],
                           "gate_accepts": mean([r["accepted"] for r in v]),
                           "within_2sigma": mean([r["within_2sigma"] for r in v
                                                  if r["within_2sigma"] is not None]),
                           "bias_abs_max": worst([r["relative_bias"] for r in v
                                                  if r["relative_bias"] is not None]),
                           "model_class_accuracy": mean([r["model_ok"] for r in v]),
                           **({"compare_model_class_accuracy": mean([r["compare_ok"]
                                                                      for r in v])}
                              if "compare_ok" in v[0] else {}),
                           "model_classes": dict(collections.Counter(r["model_class"]
                                                                     for r in v)),
                           "rejected_by": dict(collections.Counter(r["check"] for r in v
                                                                   if not r["accepted"]))}
                       for f, v in sorted(fams.items())},
    }


TARGETS = {"gate_accepts_good": 0.9, "gate_rejects_bad": 1.0, "within_2sigma": 0.9,
           "rabi_bias_abs_max": 0.02, "model_class_accuracy": 0.9}


def targets_met(fam: dict[str, Any]) -> dict[str, bool]:
    """Which of :data:`TARGETS` a family summary meets."""
    return {
        "gate_accepts_good": fam["gate_accepts_good"] >= TARGETS["gate_accepts_good"],
        "gate_rejects_bad": fam["gate_rejects_bad"] >= TARGETS["gate_rejects_bad"],
        "within_2sigma": fam["within_2sigma"] >= TARGETS["within_2sigma"],
        "rabi_bias": fam["rabi_bias_abs_max"] < TARGETS["rabi_bias_abs_max"],
        "model_class_accuracy": fam["model_class_accuracy"] >= TARGETS["model_class_accuracy"],
    }


#: held-out generation -> its seed's offset from the benchmark's seed (``run_benchmark``; a
#: generation's blind measurement, ``scripts/blind_generation.py``, draws the same cases)
GENERATION_SEED_OFFSET = {4: 6, 5: 8, 6: 10, 7: 12, 8: 14, 9: 16, 10: 18, 11: 20, 12: 22, 13: 24,
                          14: 26, 15: 28, 16: 30, 17: 32, 18: 34}


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
             "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth")


def generation_name(n: int) -> str:
    """Generation ``n``'s ordinal, as the tables name it.

    >>> generation_name(13), generation_name(23)
    ('thirteenth', '23rd')
    """
    if 1 <= n <= len(_ORDINALS):
        return _ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def generation(n: int) -> tuple[dict[str, Any], Any]:
    """Held-out generation ``n``'s families and its set (``GEN{n}``, ``gen{n}_set`` of
    ``qplane.calibration.domain_gen{n}``)."""
    import importlib

    module = importlib.import_module(f"qplane.calibration.domain_gen{n}")
    return getattr(module, f"GEN{n}"), getattr(module, f"gen{n}_set")


def run_benchmark(*, per_family: int = 30, per_cell: int = 6, sim_per_cell: int = 2,
                  seed: int = 777, model: str | None = None,
                  compare_model: str | None = None, jobs: int = 1,
                  out: str = "runs/bench/calibration.json") -> dict[str, Any]:
    """Run every set; write and return the results (``compare_model``: a second classifier
    judged on the same analyses, e.g. the one the shipped model replaced)."""
    # classifier and training need torch: imported when the benchmark runs, not at CLI start
    from qplane.calibration.classifier import LearnedSecondOpinion
    from qplane.calibration.domain import HELDOUT, heldout_set
    from qplane.calibration.training import dataset

    # generation -> (its families, its set, its seed's offset from ``seed``)
    generations = {n: (*generation(n), offset) for n, offset in GENERATION_SEED_OFFSET.items()}
    opinion = LearnedSecondOpinion.load(model) if model else LearnedSecondOpinion.load()
    prev = LearnedSecondOpinion.load(compare_model) if compare_model else None
    kw = {"jobs": jobs, "compare": prev}
    t0 = time.time()
    results: dict[str, Any] = {"benchmark": "calibration", "targets": TARGETS,
                               "heldout_families": sorted(HELDOUT),
                               **{f"gen{n}_families": sorted(families)
                                  for n, (families, _, _) in generations.items()},
                               "model_card": opinion.card, "sets": {}}
    if compare_model:
        results["compare_model"] = Path(compare_model).name
    if prev is not None:
        results["compare_model_card"] = prev.card
    results["families"] = evaluate_families(heldout_set(per_family, seed=seed), opinion, **kw)
    for n, (_, make_set, offset) in generations.items():
        results[f"families_gen{n}"] = evaluate_families(make_set(per_family, seed=seed + offset),
                                                        opinion, **kw)
    results["targets_met"] = targets_met(results["families"])
    for n in generations:
        results[f"targets_met_gen{n}"] = targets_met(results[f"families_gen{n}"])
    sets = {"heldout": dataset(per_cell, seed=seed),
            "simlab": simlab_cases(sim_per_cell, seed=seed + 2)}
    for name, cases in track(sets.items(), "calibration sets", label=lambda item: item[0]):
        results["sets"][name] = evaluate(cases, opinion, **kw)
    results["qec_nodes"] = evaluate_qec(opinion, seed=seed + 4, **kw)
    results["seconds"] = round(time.time() - t0, 1)
    write_results(out, results, default=float)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--per-family", type=int, default=30,
                        help="cases per held-out family (default: 30)")
    parser.add_argument("--per-cell", type=int, default=6,
                        help="qplane-generator cases per (node type, failure mode)")
    parser.add_argument("--sim-per-cell", type=int, default=2,
                        help="simulated-lab rounds (each: every kind x mode once)")
    parser.add_argument("--seed", type=int, default=777, help="random seed (default: 777)")
    parser.add_argument("--model", default=None, help="classifier safetensors (default: shipped)")
    parser.add_argument("--compare-model", default=None,
                        help="a second classifier judged on the same analyses (e.g. the candidate "
                             "qplane/calibration/models/sweep_classifier_v3.safetensors)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes for the analyses (default: 1; results do not depend "
                             "on it)")
    parser.add_argument("--out", default="runs/bench/calibration.json", help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``; print the tables."""
    res = run_benchmark(per_family=args.per_family, per_cell=args.per_cell,
                        sim_per_cell=args.sim_per_cell, seed=args.seed, model=args.model,
                        compare_model=args.compare_model, jobs=args.jobs, out=args.out)
    newest = max(GENERATION_SEED_OFFSET)
    for n in sorted(GENERATION_SEED_OFFSET, reverse=True):   # the newest, blind, first
        label = f"{generation_name(n)}-generation"
        if n == newest:
            label += " (blind)"
        elif n >= 7:   # measured once, blind, before anything was tuned on it
            label += f" (its blind numbers: calibration_gen{n}_blind.json)"
        _print_families(label, res[f"families_gen{n}"])
    _print_families("earlier generations", res["families"])
    _print_sets(res)
    print(f"wrote {args.out} ({res['seconds']} s)")
    return 0


def _print_families(label: str, f: dict[str, Any]) -> None:
    print(f"{label} held-out families: {f['cases']} cases; gate accepts "
          f"{f['gate_accepts_good']:.3f} of good, rejects {f['gate_rejects_bad']:.3f} of bad; "
          f"within 2σ "
          f"{f['within_2sigma']:.3f}; Rabi |bias| max {f['rabi_bias_abs_max']:.4f}; model "
          f"class accuracy {f['model_class_accuracy']:.3f}"
          + (f" (compare model {f['compare_model_class_accuracy']:.3f})"
             if "compare_model_class_accuracy" in f else ""))
    if "first_families" in f:
        o = f["first_families"]
        print(f"  the first session's {o['cases']} cases: accepts {o['gate_accepts_good']:.3f}, "
              f"rejects {o['gate_rejects_bad']:.3f}, within 2σ {o['within_2sigma']:.3f}, Rabi "
              f"|bias| max {o['rabi_bias_abs_max']:.4f}, model {o['model_class_accuracy']:.3f}")
    for name, r in f["per_family"].items():
        print(f"  {name:<30} {r['mode']:<13} accepts {r['gate_accepts']:.2f}  2σ "
              f"{r['within_2sigma']:.2f}  model {r['model_class_accuracy']:.2f}")


def _print_sets(res: dict[str, Any]) -> None:
    print(f"{'set':<9} {'cases':>6} {'model acc':>10} {'gate acc':>9} "
          f"{'bad acc. gate/model/both':>26} {'good rej. gate/model/both':>26}")
    for name, r in res["sets"].items():
        ba, gr = r["bad_accepted"], r["good_rejected"]
        print(f"{name:<9} {r['cases']:>6} {r['model_class_accuracy']:>10.4f} "
              f"{r['gate_class_accuracy']:>9.4f} "
              f"{ba['gate_alone']:>12}/{ba['model_alone']}/{ba['gate_and_model']:<6}"
              f"{gr['gate_alone']:>14}/{gr['model_alone']}/{gr['gate_and_model']}")
    print(f"{'QEC node':<24} {'asks':>5} {'cases':>6} {'model class':>12} {'model accept':>13} "
          f"{'gate accept':>12}")
    for name, r in res["qec_nodes"].items():
        print(f"{name:<24} {'yes' if r['asks_second_opinion'] else 'no':>5} {r['cases']:>6} "
              f"{r['model_class_accuracy']:>12.2f} {r['model_accept_accuracy']:>13.2f} "
              f"{r['gate_accept_accuracy']:>12.2f}")
