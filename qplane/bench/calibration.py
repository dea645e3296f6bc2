"""``qplane bench calibration``: the learned second opinion beside the fit's quality gate alone.

Held-out sets, none seen in training:

``heldout``   fresh seeds of the training distribution (every node type and failure mode);
``shifted``   qubits drawn with 1.5× the spread (wider blobs, T1 and T2 further out) and settings
              drifted 2.5–3.5× as far as in training: noise and drift levels not trained on;
``simlab``    data from the simulated lab's own device model (its physics, readout chain and
              drift, a different simulator from the training one), spoiled as each failure mode
              needs: sweeps shifted off the feature, too few points or shots, a discriminator
              threshold at its limit (no signal). The device model has no anomaly generator,
              so this set has no ``anomalous`` cases.

For every case it records the gate's outcome and the model's verdict, and reports: the model's
accuracy on the outcome class (target ≥ 95 %), the gate's (its failed check mapped to a class),
and for accepting data: how many bad-data cases the gate alone, the model alone and both
together accept (an update needs both, so together never accept what either rejects).
"""

from __future__ import annotations

import argparse
import collections
import time
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
    from qplane.device import ExperimentKind
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
            for kind in ExperimentKind:
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


def _mode_class() -> dict[str, str]:
    # the classifier module needs torch: imported when a benchmark runs, not when the CLI starts
    from qplane.calibration.classifier import MODE_CLASS

    return MODE_CLASS


def evaluate(cases: list[tuple[ExperimentData, str]], opinion: "LearnedSecondOpinion"
             ) -> dict[str, Any]:
    """Gate and model on ``cases``: accuracies, acceptance of bad data, per-mode breakdown."""
    import numpy as np

    verdicts = []
    for i in range(0, len(cases), 256):
        verdicts += opinion.predict([d for d, _ in cases[i:i + 256]])
    rows = []
    for (data, mode), v in zip(cases, verdicts):
        gate = node_for(data).analyse(data).gate
        rows.append({"kind": data.kind.value, "mode": mode, "truth": _mode_class()[mode],
                     "gate_class": CHECK_CLASS[gate.check], "gate_accepts": gate.passed,
                     "model_class": v.label, "model_accepts": v.label == "expected"})
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


def run_benchmark(*, per_cell: int = 60, sim_per_cell: int = 6, seed: int = 777,
                  model: str | None = None, out: str = "runs/bench/calibration.json"
                  ) -> dict[str, Any]:
    """Run every set; write and return the results."""
    # classifier and training need torch: imported when the benchmark runs, not at CLI start
    from qplane.calibration.classifier import LearnedSecondOpinion
    from qplane.calibration.training import dataset

    opinion = LearnedSecondOpinion.load(model) if model else LearnedSecondOpinion.load()
    t0 = time.time()
    sets = {
        "heldout": dataset(per_cell, seed=seed),
        "shifted": dataset(per_cell, seed=seed + 1, spread=1.5, drift=(2.5, 3.5)),
        "simlab": simlab_cases(sim_per_cell, seed=seed + 2),
    }
    results: dict[str, Any] = {"benchmark": "calibration", "target_class_accuracy": 0.95,
                               "model_card": opinion.card, "sets": {}}
    for name, cases in track(sets.items(), "calibration sets", label=lambda item: item[0]):
        results["sets"][name] = evaluate(cases, opinion)
    all_cases = [c for cases in sets.values() for c in cases]
    results["overall"] = {k: v for k, v in evaluate(all_cases, opinion).items()
                          if k not in ("per_mode", "per_kind")}
    results["seconds"] = round(time.time() - t0, 1)
    write_results(out, results, default=float)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--per-cell", type=int, default=60,
                        help="synthetic cases per (node type, failure mode) and set")
    parser.add_argument("--sim-per-cell", type=int, default=6,
                        help="simulated-lab rounds (each: every kind x mode once)")
    parser.add_argument("--seed", type=int, default=777, help="random seed (default: 777)")
    parser.add_argument("--model", default=None, help="classifier safetensors (default: shipped)")
    parser.add_argument("--out", default="runs/bench/calibration.json", help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``; print the table."""
    res = run_benchmark(per_cell=args.per_cell, sim_per_cell=args.sim_per_cell, seed=args.seed,
                        model=args.model, out=args.out)
    print(f"{'set':<9} {'cases':>6} {'model acc':>10} {'gate acc':>9} "
          f"{'bad acc. gate/model/both':>26} {'good rej. gate/model/both':>26}")
    for name, r in {**res["sets"], "overall": res["overall"]}.items():
        ba, gr = r["bad_accepted"], r["good_rejected"]
        print(f"{name:<9} {r['cases']:>6} {r['model_class_accuracy']:>10.4f} "
              f"{r['gate_class_accuracy']:>9.4f} "
              f"{ba['gate_alone']:>12}/{ba['model_alone']}/{ba['gate_and_model']:<6}"
              f"{gr['gate_alone']:>14}/{gr['model_alone']}/{gr['gate_and_model']}")
    print(f"wrote {args.out} ({res['seconds']} s)")
    return 0
