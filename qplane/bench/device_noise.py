"""``qplane bench device_noise``: decoders given nominal, learned and true noise on device noise.

Simulated devices with per-qubit noise built from settings vs truth
(:mod:`qplane.bench._devices`): ``calibrated``, ``drifted``, ``miscalibrated`` and the
``uniform`` control (the nominal circuit's own noise: nominal is the truth, so what learning
gains there is reweighting, not device learning). Per device, distance (rounds = d) and basis
(:func:`~qplane.bench._cases.bench_case`): training shots and fresh test shots from separate
seeds; PyMatching and correlated PyMatching with the nominal DEM, with DEMs learned
(:func:`qplane.noise.learn_noise`: pairwise, full and hybrid, :mod:`qplane.bench._estimators`)
from 10k, 30k, 100k and 1M training shots, and with the true DEM (the device circuit's own); the
shipped neural models (nominal DEM) on the first ``--neural-shots`` test shots; ``neural-soft``
with the LEARNED DEMs (:mod:`qplane.bench._soft_rows`) on the first ``--soft-shots`` of the
miscalibrated and drifted devices, compared on the same shots with correlated PyMatching given
the same learned DEM; and ``true-on-nominal``, the truth's probabilities on the nominal
structure: what an estimator on that structure could reach at best. Every decoder is compared
with nominal PyMatching on the same shots: logical error rate with a 95 % Wilson interval, the
paired counts only one of the two gets wrong and an exact McNemar p-value, and the ratio
LER(nominal PyMatching) / LER(decoder). The estimator's time per 1M shots at d = 5 is measured
on one core (structure cached, and the first call). Results: ``runs/bench/device_noise.json``
(``--update-results``: ``bench/results/device_noise.json``; the README table via ``qplane bench
tables``; the targets measured by :mod:`qplane.bench._summary`). ``--add-to FILE`` adds a run's
rows (a new estimator's, say) to the cases of an existing results file, checked to have decoded
the same test shots (:func:`~qplane.bench._summary.add_rows`). The studies: ``--drift-only``
(:mod:`qplane.bench._drifting`), ``--finetune-only`` at ``--finetune-distance``
(:mod:`qplane.bench._finetune`), ``--fresh-only`` (:mod:`qplane.bench._fresh_gain`).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from qplane.bench._cases import bench_case
from qplane.bench._devices import DEVICES, NOMINAL_P
from qplane.bench._drifting import drifting_run
from qplane.bench._estimators import ALL_ESTIMATORS, ESTIMATORS, TRAIN, time_estimator
from qplane.bench._finetune import finetune_key, neural_finetune
from qplane.bench._results import write_results
from qplane.bench._summary import add_rows, load_results, summarise
from qplane.progress import track

__all__ = ["add_arguments", "bench_case", "main"]

DISTANCES = (3, 5, 7)
BASES = ("X", "Z")
TEST_SHOTS = 200_000
QUICK = {"distances": (3, 5), "shots": 20_000, "train": (10_000, 30_000), "neural_shots": 2_000}
#: ``neural_soft_over_correlated_learned``: neural-soft with a learned DEM better than correlated
#: PyMatching with the same learned DEM (LER ratio above 1, McNemar p below 0.05) on the
#: miscalibrated device (issue 13)
TARGETS = {"correlated_learned_over_nominal_d5": 1.4, "correlated_learned_over_nominal_d7": 1.8,
           "learned_30k_within_of_true": 0.02, "estimator_s_per_1m_d5": 0.5,
           "neural_soft_over_correlated_learned": 1.0}

def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``ap``."""
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: d = 3, 5; 20k test shots; learned from 10k, 30k")
    ap.add_argument("--shots", type=int, default=None, help=f"test shots per case "
                    f"(default {TEST_SHOTS:,})")
    ap.add_argument("--shots-at", nargs="+", default=[], metavar="D=SHOTS",
                    help="test shots at one distance, overriding --shots (e.g. 7=50000)")
    ap.add_argument("--distances", type=int, nargs="+", default=None, help="code distances")
    ap.add_argument("--devices", nargs="+", default=list(DEVICES), choices=DEVICES,
                    help="simulated devices (default: all)")
    ap.add_argument("--bases", nargs="+", default=list(BASES), choices=BASES,
                    help="memory bases (default: both)")
    ap.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ALL_ESTIMATORS,
                    help="estimators to learn with (default: pairwise full; full-plain: the "
                         "full estimator without its shrinkage)")
    ap.add_argument("--no-timing", action="store_true",
                    help="skip the estimator timing (1M shots at d = 5; with --resume: keep the "
                         "file's)")
    ap.add_argument("--resume", nargs="?", const="", default=None, metavar="FILE",
                    help="keep the cases a partial results file (default --out; the file is "
                         "written after every case) already holds for the same settings, and "
                         "run only the others")
    ap.add_argument("--train", type=int, nargs="+", default=None,
                    help="training shot counts to learn from (default 10k 30k 100k 1M)")
    ap.add_argument("--neural-shots", type=int, default=20_000,
                    help="test shots the shipped neural models decode (0: skip)")
    ap.add_argument("--soft-shots", type=int, default=20_000,
                    help="test shots neural-soft with the learned DEMs decodes on the "
                         "miscalibrated and drifted devices (0: skip)")
    ap.add_argument("--seed", type=int, default=0, help="device fabrication seed")
    ap.add_argument("--drift-windows", type=int, default=12,
                    help="windows of the drifting-run comparison (0: skip it)")
    ap.add_argument("--finetune-only", action="store_true",
                    help="run only the neural fine-tuning comparison and add it to --out's "
                         "file (key 'finetune' at d = 3, 'finetune_dD' at another distance)")
    ap.add_argument("--finetune-distance", type=int, default=3,
                    help="distance of the fine-tuning comparison (default 3)")
    ap.add_argument("--finetune-minutes", type=float, default=6.0,
                    help="fine-tuning wall-clock budget in minutes (default 6)")
    ap.add_argument("--finetune-steps", type=int, default=3000,
                    help="fine-tuning steps the learning-rate schedule is planned for (it "
                         "decays over them; the budget may stop it earlier; default 3000)")
    ap.add_argument("--finetune-lr", type=float, default=0.0005,
                    help="peak fine-tuning learning rate (warm-up, then cosine decay to 10 %% "
                         "over --finetune-steps)")
    ap.add_argument("--finetune-hard-fraction", type=float, default=0.0,
                    help="share of each fine-tuning batch mined from PyMatching failures")
    ap.add_argument("--finetune-test-shots", type=int, default=100_000,
                    help="fresh test shots of the fine-tuning comparison (default 100,000)")
    ap.add_argument("--drift-only", action="store_true",
                    help="run only the drifting-run comparison and add it to --out's file")
    ap.add_argument("--fresh-only", type=int, default=None, metavar="D",
                    help="re-measure only the miscalibrated device's learned-correlated gain at "
                         "distance D on fresh test shots (qplane.bench._fresh_gain; key "
                         "'fresh_dD' of --out's file): --train's largest count, --estimators, "
                         "--shots test shots per basis (default 1M)")
    ap.add_argument("--relabel", nargs="+", default=[], metavar="OLD=NEW",
                    help="with --add-to: first rename the file's rows of estimator OLD to NEW "
                         "(e.g. hybrid=hybrid-normal after the shrinkage's default prior "
                         "changed), so this run's rows of OLD are added beside them")
    ap.add_argument("--add-to", default=None, metavar="FILE",
                    help="add this run's rows to the cases of a results file instead of "
                         "replacing it (e.g. a new estimator's rows): each case must decode the "
                         "same test shots (its nominal and true rows must agree), rows already "
                         "there are kept, the targets are summarised again; writes --out")
    ap.add_argument("--rows-from", nargs="+", default=[], metavar="RUN",
                    help="with --add-to: decode nothing, add the rows of these results files "
                         "(earlier runs' --out, complete or a stopped run's per-case snapshot) "
                         "to --add-to's cases, each checked as --add-to checks; writes --out")
    ap.add_argument("--out", default=os.path.join("runs", "bench", "device_noise.json"),
                    help="results JSON")



def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``; print a summary and write the JSON."""
    quick = args.quick
    if args.rows_from:
        if not args.add_to:
            raise SystemExit("--rows-from needs --add-to FILE: the results file to add the rows to")
        merged = load_results(args.add_to)
        for path in args.rows_from:
            run = load_results(path)
            if not run.get("cases"):
                raise SystemExit(f"--rows-from: {path} holds no cases; give a device_noise "
                                 "results file")
            merged = add_rows(merged, run)
        print(f"wrote {write_results(args.out, merged)}")
        return 0
    drift_windows = 3 if quick else args.drift_windows
    if args.drift_only or args.finetune_only or args.fresh_only:
        import json

        try:
            with open(args.out, encoding="utf-8") as f:
                results = json.load(f)
        except (OSError, ValueError):
            results = {"benchmark": "device_noise"}
        if args.drift_only:
            results["drift"] = drifting_run(windows=drift_windows, seed=args.seed)
            print(json.dumps({k: v for k, v in results["drift"].items() if k != "per_window"}))
        if args.fresh_only:
            from qplane.bench._fresh_gain import fresh_gain

            key = f"fresh_d{args.fresh_only}"
            results[key] = fresh_gain(distance=args.fresh_only,
                                      estimators=tuple(args.estimators),
                                      train_shots=max(args.train or TRAIN),
                                      test_shots=args.shots or 1_000_000, seed=args.seed)
            print(json.dumps(results[key]))
        if args.finetune_only:
            key = finetune_key(args.finetune_distance)
            results[key] = neural_finetune(
                distance=args.finetune_distance, max_minutes=args.finetune_minutes,
                steps=args.finetune_steps, lr=args.finetune_lr,
                hard_fraction=args.finetune_hard_fraction,
                test_shots=args.finetune_test_shots, seed=args.seed)
            print(json.dumps(results[key]))
        results.pop("written", None)
        print(f"wrote {write_results(args.out, results)}")
        return 0
    distances = tuple(args.distances or (QUICK["distances"] if quick else DISTANCES))
    shots = args.shots or (QUICK["shots"] if quick else TEST_SHOTS)
    train = tuple(args.train or (QUICK["train"] if quick else TRAIN))
    neural_shots = min(args.neural_shots, shots) if not quick else QUICK["neural_shots"]
    soft_shots = min(args.soft_shots, shots) if not quick else QUICK["neural_shots"]
    started = time.perf_counter()
    try:
        shots_at = {int(k): int(v) for k, v in (x.split("=") for x in args.shots_at)}
    except ValueError as e:
        raise SystemExit(f"--shots-at takes D=SHOTS pairs such as 7=50000: {e}") from e
    estimators = tuple(args.estimators)
    settings = {"quick": quick, "test_shots": shots,
                "test_shots_at": {str(k): v for k, v in shots_at.items()},
                "train_shots": list(train), "distances": list(distances),
                "estimators": list(estimators), "nominal_p": NOMINAL_P,
                "neural_shots": neural_shots, "soft_shots": soft_shots, "seed": args.seed}
    existing = load_results(args.out)           # what --out holds now: its fine-tuning study is kept
    previous = load_results(args.resume or args.out) if args.resume is not None else {}
    done: dict[tuple, dict] = {}
    if all(previous.get(k) == v for k, v in settings.items() if k != "distances"):
        done = {(c["device"], c["distance"], c["basis"]): c for c in previous.get("cases", [])}
    else:
        if previous:
            print("--resume: the file's settings differ from these; running every case")
        previous = {}
    timing = (previous.get("estimator_timing") or {} if args.no_timing
              else time_estimator(repeats=1 if quick else 3))
    structures: dict = {}
    grid = [(dev, d, b) for d in distances for dev in args.devices for b in args.bases]
    cases: list[dict[str, Any]] = []

    def snapshot(complete: bool) -> dict[str, Any]:
        return {"benchmark": "device_noise", **settings, "complete": complete,
                "estimator_timing": timing, "targets": TARGETS,
                "measured": summarise(cases, timing), "cases": cases,
                "seconds": time.perf_counter() - started + previous.get("seconds", 0.0),
                "machine": {"load_average": list(os.getloadavg())}}

    for dev, d, b in track(grid, "device-noise cases", label=lambda c: f"{c[0]} d={c[1]} {c[2]}"):
        case = done.get((dev, d, b)) or bench_case(
            dev, d, b, shots=shots_at.get(d, shots), train=train, estimators=estimators,
            neural_shots=min(neural_shots, shots_at.get(d, shots)), structures=structures,
            soft_shots=min(soft_shots, shots_at.get(d, shots)), seed=args.seed)
        cases.append(case)
        write_results(args.out, snapshot(False))
    results = snapshot(True)
    if args.add_to:
        try:
            relabel = dict(x.split("=", 1) for x in args.relabel)
        except ValueError as e:
            raise SystemExit(f"--relabel takes OLD=NEW estimator names: {e}") from e
        bad = [v for v in relabel.values() if v not in ALL_ESTIMATORS]
        if bad:
            raise SystemExit(f"--relabel: unknown estimator {bad[0]!r}; use one of "
                             f"{', '.join(ALL_ESTIMATORS)}")
        merged = add_rows(load_results(args.add_to), results, relabel=relabel)
        print(f"wrote {write_results(args.out, merged)}")
        return 0
    results["drift"] = (drifting_run(windows=drift_windows, seed=args.seed,
                                     shots=5_000 if quick else 20_000)
                        if drift_windows else previous.get("drift") or existing.get("drift"))
    for key in sorted({*existing, *previous}):
        if key.startswith("finetune") and (existing.get(key) or previous.get(key)):
            results[key] = existing.get(key) or previous.get(key)
    path = write_results(args.out, results)
    for c in cases:
        best = min(c["rows"], key=lambda r: r["ler"])
        nom = next(r for r in c["rows"] if r["decoder"] == "pymatching/nominal")
        print(f"{c['device']:>13} d={c['distance']} {c['basis']}: nominal PM {nom['ler']:.5f}, "
              f"best {best['decoder']} {best['ler']:.5f}")
    print(f"wrote {path}")
    return 0
