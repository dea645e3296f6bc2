"""``qplane bench device_noise``: decoders given nominal, learned and true noise on device noise.

Simulated devices with per-qubit noise built from settings vs truth
(:mod:`qplane.sim_instruments.noise`): ``calibrated`` (perfect settings), ``drifted`` (settings
calibrated, the truth 1 h later), ``miscalibrated`` (calibrated but for four qubits: one
detuned 80 kHz, one π amplitude +10 %, one readout angle off 0.8 rad, one with T1 × 0.25), and
the ``uniform`` control (the nominal circuit's own noise: nominal is the truth, so what learning
gains there is reweighting, not device learning). Per device, distance (rounds = d) and basis:
training shots and fresh test shots from separate seeds; PyMatching and correlated PyMatching
with the nominal DEM, with DEMs learned (:func:`qplane.noise.learn_noise`: pairwise, full and
hybrid) from 10k, 30k, 100k and 1M training shots, and with the true DEM (the device circuit's own); the
shipped neural models (nominal DEM) on the first ``--neural-shots`` test shots; and
``true-on-nominal`` (:func:`true_on_nominal`), the truth's probabilities on the nominal
structure: what an estimator on that structure could reach at best. Every decoder is
compared with nominal PyMatching on the same shots: logical error rate with a 95 % Wilson
interval, the paired counts only one of the two gets wrong and an exact McNemar p-value, and the
ratio LER(nominal PyMatching) / LER(decoder). The estimator's time per 1M shots at d = 5 is
measured on one core (structure cached, and the first call). Results: ``runs/bench/
device_noise.json`` (``--update-results``: ``bench/results/device_noise.json``; the README table
via ``qplane bench tables``). ``--add-to FILE`` adds a run's rows (a new estimator's, say) to
the cases of an existing results file, checked to have decoded the same test shots
(:func:`add_rows`). ``--finetune-only`` runs the neural fine-tuning study at
``--finetune-distance`` (:func:`neural_finetune`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from typing import Any

from qplane.bench._results import write_results
from qplane.progress import track

DEVICES = ("calibrated", "drifted", "miscalibrated", "uniform")
DISTANCES = (3, 5, 7)
BASES = ("X", "Z")
TRAIN = (10_000, 30_000, 100_000, 1_000_000)
ESTIMATORS = ("pairwise", "full", "hybrid")
#: every estimator the bench can run: ``full-plain`` is the full estimator without its
#: shrinkage towards the pairwise solution (the least-squares fit alone), for comparison;
#: ``full-normal`` / ``hybrid-normal`` shrink with the one-scale normal prior (the default
#: before the two-scale mixture, ``prior="normal"``)
ALL_ESTIMATORS = ("pairwise", "full", "hybrid", "full-plain", "full-normal", "hybrid-normal")


def estimator_options(name: str) -> dict[str, Any]:
    """``learn_noise`` keywords of a bench estimator name.

    >>> estimator_options("full-plain"), estimator_options("hybrid-normal")
    ({'estimator': 'full', 'shrink': False}, {'estimator': 'hybrid', 'prior': 'normal'})
    """
    if name == "full-plain":
        return {"estimator": "full", "shrink": False}
    if name.endswith("-normal"):
        return {"estimator": name[: -len("-normal")], "prior": "normal"}
    return {"estimator": name}
NOMINAL_P = 0.004
TEST_SHOTS = 200_000
QUICK = {"distances": (3, 5), "shots": 20_000, "train": (10_000, 30_000), "neural_shots": 2_000}
TARGETS = {"correlated_learned_over_nominal_d5": 1.4, "correlated_learned_over_nominal_d7": 1.8,
           "learned_30k_within_of_true": 0.02, "estimator_s_per_1m_d5": 0.5}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of ``k`` successes in ``n``.

    >>> [round(x, 4) for x in wilson(10, 1000)]
    [0.0054, 0.0183]
    """
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    c = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    d = 1 + z * z / n
    return (max(0.0, (p + z * z / (2 * n) - c) / d), min(1.0, (p + z * z / (2 * n) + c) / d))


def device_circuit(device: str, distance: int, basis: str, *, seed: int = 0):
    """The true memory circuit of a simulated device (rounds = distance)."""
    import numpy as np
    from qplane.codes import memory_circuit
    from qplane.sim_instruments.device import DeviceModel, DeviceProfile
    from qplane.sim_instruments.noise import NoisyCircuitTemplate, Settings, qubit_error_rates

    if device == "uniform":
        return memory_circuit(distance=distance, rounds=distance, basis=basis, p=NOMINAL_P)
    tpl = NoisyCircuitTemplate(distance=distance, rounds=distance, basis=basis)
    profile = DeviceProfile()
    model = DeviceModel(len(tpl.layout.names), profile=profile, seed=seed, drift=True)
    truth0 = model.truth_at(0.0)
    settings = Settings.calibrated(truth0)
    truth = truth0
    if device == "drifted":
        truth = model.truth_at(3600.0)
    elif device == "miscalibrated":
        rng = np.random.default_rng(seed + 1000)
        a, b, c, d = rng.choice(len(tpl.layout.names), size=4, replace=False)
        f, amp, ang = (settings.drive_frequency.copy(), settings.pi_amplitude.copy(),
                       settings.readout_angle.copy())
        f[a] += 80e3
        amp[b] *= 1.10
        ang[c] += 0.8
        settings = dataclasses.replace(settings, drive_frequency=f, pi_amplitude=amp,
                                       readout_angle=ang)
        t1 = truth.t1.copy()
        t1[d] *= 0.25
        truth = dataclasses.replace(truth, t1=t1, t2_star=np.minimum(truth.t2_star, 2 * t1),
                                    t2_echo=np.minimum(truth.t2_echo, 2 * t1))
    elif device != "calibrated":
        raise ValueError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    errors = qubit_error_rates(truth, settings, profile, target_pulses=tpl.target_pulses,
                               data=tpl.data)
    return tpl.render(errors)


def true_on_nominal(true_dem, s):
    """The true DEM's probabilities put on the nominal structure: each (detectors, observables)
    symptom's true probability, shared among the nominal mechanisms with that symptom in their
    nominal proportions. The best any estimator on the nominal structure can do; what separates
    it from ``true`` is the true DEM's own decomposition of its hyperedges."""
    import numpy as np
    from qplane.noise import P_MAX, P_MIN, p_of_q, q_of_p, symptom_probabilities

    truth = symptom_probabilities(true_dem)
    keys = []
    for parts in s.components:
        dets: set[int] = set()
        obs: set[int] = set()
        for d, o in parts:
            dets ^= set(d)
            obs ^= set(o)
        keys.append((tuple(sorted(dets)), tuple(sorted(obs))))
    q_nom = q_of_p(np.clip(s.nominal, P_MIN, P_MAX))
    total: dict[tuple, float] = {}
    for k, q in zip(keys, q_nom):
        total[k] = total.get(k, 0.0) + q
    q = np.array([q_of_p(truth[k]) * qn / total[k] if k in truth and total[k] > 0 else qn
                  for k, qn in zip(keys, q_nom)])
    return s.to_dem(np.clip(p_of_q(q), P_MIN, P_MAX))


def _decode(dem, dets: np.ndarray, *, correlated: bool) -> np.ndarray:
    import numpy as np
    import pymatching

    kw = {"enable_correlations": True} if correlated else {}
    m = pymatching.Matching.from_detector_error_model(dem, **kw)
    return m.decode_batch(dets, bit_packed_shots=True, bit_packed_predictions=True, **kw)


def _compare(name: str, wrong: np.ndarray, ref: np.ndarray, **extra: Any) -> dict[str, Any]:
    import numpy as np
    from qplane.bench.decoder import mcnemar

    n, k = len(wrong), int(wrong.sum())
    only_ref, only_this = int(np.sum(ref & ~wrong)), int(np.sum(wrong & ~ref))
    lo, hi = wilson(k, n)
    k_ref = int(ref.sum())
    return {"decoder": name, "shots": n, "errors": k, "ler": k / n, "ler_lo": lo, "ler_hi": hi,
            "only_nominal_wrong": only_ref, "only_this_wrong": only_this,
            "mcnemar_p": mcnemar(only_ref, only_this),
            "gain_over_nominal_pm": (k_ref / k) if k else None, **extra}


def bench_case(device: str, distance: int, basis: str, *, shots: int, train: tuple[int, ...],
               estimators: tuple[str, ...], neural_shots: int, structures: dict,
               seed: int = 0) -> dict[str, Any]:
    """Every decoder on one device, distance and basis."""
    import numpy as np
    from qplane.noise import DemStructure, learn_noise, nominal_dem
    from qplane.codes import memory_circuit

    true_circuit = device_circuit(device, distance, basis, seed=seed)
    nominal = memory_circuit(distance=distance, rounds=distance, basis=basis, p=NOMINAL_P)
    key = (distance, basis)
    if key not in structures:
        structures[key] = DemStructure(nominal_dem(nominal))
    s = structures[key]
    nom_dem = s.to_dem(s.nominal)
    true_dem = nominal_dem(true_circuit)
    test = true_circuit.compile_detector_sampler(seed=10_000 + seed)
    dets, obs = test.sample(shots, separate_observables=True, bit_packed=True)
    train_dets = true_circuit.compile_detector_sampler(seed=20_000 + seed).sample(
        max(train), bit_packed=True) if train else None
    rows: list[dict[str, Any]] = []
    wrong_of: dict[str, np.ndarray] = {}
    learned = [("nominal", nom_dem, {})]
    for est in estimators:      # learned once, decoded by both matchers
        for n in train:
            t0 = time.perf_counter()
            m = learn_noise(train_dets[:n], s, **estimator_options(est))
            learned.append((f"learned-{est}-{n // 1000}k", m.to_dem(),
                            {"estimator": est, "train_shots": n,
                             "estimator_s": time.perf_counter() - t0,
                             "kept_nominal": m.kept_nominal}))
    learned.append(("true-on-nominal", true_on_nominal(true_dem, s), {}))
    learned.append(("true", true_dem, {}))
    for correlated in (False, True):
        matcher = "pymatching-correlated" if correlated else "pymatching"
        for label, dem, extra in learned:
            wrong = np.any(_decode(dem, dets, correlated=correlated) != obs, axis=1)
            wrong_of[f"{matcher}/{label}"] = wrong
            rows.append({"matcher": matcher, "weights": label, **extra,
                         "wrong": wrong})
    ref = wrong_of["pymatching/nominal"]
    out = []
    for r in rows:
        wrong = r.pop("wrong")
        true_wrong = wrong_of[f"{r['matcher']}/true"]
        c = _compare(f"{r['matcher']}/{r['weights']}", wrong, ref, **r)
        c["ler_over_true"] = (c["errors"] / max(int(true_wrong.sum()), 1))
        out.append(c)
    if neural_shots:
        out += _neural(distance, nom_dem, dets[:neural_shots], obs[:neural_shots],
                       ref[:neural_shots])
    detection_fraction = float(np.unpackbits(dets[:20_000], axis=1, count=s.num_detectors,
                                             bitorder="little").mean())
    return {"device": device, "distance": distance, "basis": basis, "test_shots": shots,
            "detection_fraction": detection_fraction, "nominal_p": NOMINAL_P, "rows": out}


def _neural(distance: int, dem, dets: np.ndarray, obs: np.ndarray,
            ref: np.ndarray) -> list[dict[str, Any]]:
    import numpy as np
    from qplane.bench.decoder import model_for
    from qplane.decoder.neural import NeuralDecoder

    out = []
    for name, correlated in (("neural", False), ("neural-correlated", True)):
        compiled = NeuralDecoder(model=model_for(distance), device="cpu",
                                 correlated=correlated).compile_decoder_for_dem(dem=dem)
        pred = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        wrong = np.any(pred != obs, axis=1)
        out.append(_compare(f"{name}/shipped", wrong, ref, matcher=name, weights="nominal",
                            model=model_for(distance)))
    return out


def drifting_run(*, distance: int = 5, basis: str = "Z", windows: int = 12,
                 window_s: float = 900.0, shots: int = 20_000, learn_windows: int = 2,
                 seed: int = 0) -> dict[str, Any]:
    """A drifting device, calibration off: static nominal vs live-learned vs oracle weights.

    Window ``k`` (``window_s`` simulated seconds each, truth at its start) is decoded by
    correlated PyMatching with the nominal DEM, with the DEM learned (pairwise) from the
    previous ``learn_windows`` windows' shots (what the live estimator holds then; window 0
    uses nominal), and with window ``k``'s true DEM (the oracle).
    """
    import numpy as np

    from qplane.codes import memory_circuit
    from qplane.noise import DemStructure, learn_noise, nominal_dem
    from qplane.sim_instruments.device import DeviceModel, DeviceProfile
    from qplane.sim_instruments.noise import NoisyCircuitTemplate, Settings, qubit_error_rates

    tpl = NoisyCircuitTemplate(distance=distance, rounds=distance, basis=basis)
    profile = DeviceProfile()
    model = DeviceModel(len(tpl.layout.names), profile=profile, seed=seed, drift=True)
    settings = Settings.calibrated(model.truth_at(0.0))
    s = DemStructure(nominal_dem(memory_circuit(distance=distance, rounds=distance, basis=basis,
                                                p=NOMINAL_P)))
    nominal = s.to_dem(s.nominal)
    history: list[np.ndarray] = []
    rows, wrong_all = [], {"nominal": [], "learned": [], "oracle": []}
    for k in range(windows):
        truth = model.truth_at(k * window_s)
        circuit = tpl.render(qubit_error_rates(truth, settings, profile,
                                               target_pulses=tpl.target_pulses, data=tpl.data))
        dets, obs = circuit.compile_detector_sampler(seed=30_000 + k).sample(
            shots, separate_observables=True, bit_packed=True)
        recent = history[-learn_windows:]
        learned = (learn_noise(np.concatenate(recent), s, estimator="pairwise").to_dem()
                   if recent else nominal)
        row: dict[str, Any] = {"window": k, "time_s": k * window_s}
        for name, dem in (("nominal", nominal), ("learned", learned),
                          ("oracle", nominal_dem(circuit))):
            wrong = np.any(_decode(dem, dets, correlated=True) != obs, axis=1)
            wrong_all[name].append(wrong)
            row[f"ler_{name}"] = float(wrong.mean())
        rows.append(row)
        history.append(dets)
    w = {k: np.concatenate(v) for k, v in wrong_all.items()}
    ler = {k: float(v.mean()) for k, v in w.items()}
    from qplane.bench.decoder import mcnemar

    only_nom = int(np.sum(w["nominal"] & ~w["learned"]))
    only_learned = int(np.sum(w["learned"] & ~w["nominal"]))
    return {"distance": distance, "basis": basis, "windows": windows, "window_s": window_s,
            "shots_per_window": shots, "learn_windows": learn_windows, "matcher":
            "pymatching-correlated", "calibration": "off", "per_window": rows,
            "ler": ler, "learned_over_oracle": ler["learned"] / ler["oracle"],
            "nominal_over_learned": ler["nominal"] / ler["learned"],
            "learned_vs_nominal": {"only_nominal_wrong": only_nom,
                                   "only_learned_wrong": only_learned,
                                   "mcnemar_p": mcnemar(only_nom, only_learned)}}


def neural_finetune(*, distance: int = 3, basis: str = "Z", device: str = "miscalibrated",
                    learn_shots: int = 100_000, steps: int = 3000, max_minutes: float = 6.0,
                    test_shots: int = 100_000, folder: str = "runs/bench/finetune",
                    hard_fraction: float = 0.0, lr: float = 0.0005,
                    seed: int = 0) -> dict[str, Any]:
    """The shipped model fine-tuned on the DEM learned from the device vs the shipped model.

    Learns the device's DEM (pairwise) from ``learn_shots`` shots, fine-tunes the shipped
    model on it (``train-decoder`` with ``noise: {model: learned, dem: ...}``, ``init`` the
    shipped file), and decodes fresh device shots with both (nominal DEM for the shipped one's
    residual matcher, learned for the fine-tuned), correlated and not, and the shipped model
    with the learned residual weights (``shipped-learned``: what the fine-tuning itself gains);
    McNemar against the shipped model and correlated PyMatching with learned weights. ``hard_fraction``: the
    share of each batch mined from shots PyMatching gets wrong (the shipped d5 and d7 were
    trained with 0.5). The test shots come from another seed than the learning shots.
    """
    import os as _os

    import numpy as np
    import torch

    from qplane.bench.decoder import mcnemar, model_for
    from qplane.codes import memory_circuit
    from qplane.decoder.model_file import shipped_models
    from qplane.decoder.neural import NeuralDecoder
    from qplane.decoder.training import TrainConfig, train
    from qplane.noise import learn_noise, nominal_dem

    true_circuit = device_circuit(device, distance, basis, seed=seed)
    nominal = nominal_dem(memory_circuit(distance=distance, rounds=distance, basis=basis,
                                         p=NOMINAL_P))
    learn = true_circuit.compile_detector_sampler(seed=40_000 + seed).sample(
        learn_shots, bit_packed=True)
    learned = learn_noise(learn, nominal, estimator="pairwise")
    _os.makedirs(folder, exist_ok=True)
    dem_path = _os.path.join(folder, f"learned-d{distance}-{device}.dem")
    with open(dem_path, "w", encoding="utf-8") as f:
        f.write(str(learned.to_dem()))
    shipped = str(shipped_models()[model_for(distance)])
    out = _os.path.join(folder, f"finetuned-d{distance}-{device}.safetensors")
    config = TrainConfig.from_dict(dict(
        name=f"finetune-d{distance}-{device}", distance=distance, rounds=distance, bases=[basis],
        noise={"model": "learned", "dem": dem_path, "p": NOMINAL_P}, spec="cnn-s", steps=steps,
        max_minutes=max_minutes, batch_size=64, lr=lr, seed=seed + 5, workers=0,
        hard_fraction=hard_fraction,
        init=shipped, validation_shots=5000, checkpoint_dir=_os.path.join(folder, "ck"),
        checkpoint_every=100, output=out, device="cpu"))
    t0 = time.perf_counter()
    summary = train(config, device=torch.device("cpu"))
    seconds = time.perf_counter() - t0
    dets, obs = true_circuit.compile_detector_sampler(seed=50_000 + seed).sample(
        test_shots, separate_observables=True, bit_packed=True)
    wrong = {}
    # shipped-learned: the shipped network with the learned residual weights, so that the
    # network's fine-tuning is told apart from the residual matcher's learned weights
    for label, model, dem, modes in (("shipped", shipped, nominal, (False, True)),
                                     ("shipped-learned", shipped, learned.to_dem(), (False,)),
                                     ("finetuned", out, learned.to_dem(), (False, True))):
        for correlated in modes:
            compiled = NeuralDecoder(model=model, device="cpu", correlated=correlated
                                     ).compile_decoder_for_dem(dem=dem)
            pred = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
            wrong[f"{label}{'-correlated' if correlated else ''}"] = np.any(pred != obs, axis=1)
    wrong["pymatching-correlated-learned"] = np.any(
        _decode(learned.to_dem(), dets, correlated=True) != obs, axis=1)
    rows = {k: {"errors": int(v.sum()), "ler": float(v.mean())} for k, v in wrong.items()}
    pairs = {}
    for a, b in (("shipped", "finetuned"), ("shipped-learned", "finetuned"),
                 ("shipped-correlated", "finetuned-correlated"),
                 ("pymatching-correlated-learned", "finetuned-correlated")):
        only_a, only_b = int(np.sum(wrong[a] & ~wrong[b])), int(np.sum(wrong[b] & ~wrong[a]))
        pairs[f"{b}_vs_{a}"] = {"only_a_wrong": only_a, "only_b_wrong": only_b,
                                "mcnemar_p": mcnemar(only_a, only_b),
                                "ratio": float(wrong[a].mean() / max(wrong[b].mean(), 1e-12))}
    return {"distance": distance, "basis": basis, "device": device, "learn_shots": learn_shots,
            "steps": int(summary.get("steps", steps)), "train_seconds": seconds,
            "max_minutes": max_minutes, "hard_fraction": hard_fraction, "lr": lr,
            "model": out, "shipped": model_for(distance),
            "test_shots": test_shots, "dem_hash": learned.hash, "rows": rows, "pairs": pairs}


def finetune_key(distance: int) -> str:
    """The results key of the fine-tuning comparison at ``distance``.

    >>> finetune_key(3), finetune_key(5)
    ('finetune', 'finetune_d5')
    """
    return "finetune" if distance == 3 else f"finetune_d{distance}"


def time_estimator(distance: int = 5, shots: int = 1_000_000, repeats: int = 3) -> dict[str, Any]:
    """Seconds per ``shots`` shots of each estimator at ``distance`` (one core, best of
    ``repeats``, the nominal structure cached; ``first_call_s``: building it included)."""
    import numpy as np
    from qplane.codes import memory_circuit
    from qplane.noise import DemStructure, learn_noise, nominal_dem

    dem = nominal_dem(memory_circuit(distance=distance, rounds=distance, basis="Z", p=NOMINAL_P))
    dets = dem.compile_sampler(seed=1).sample(shots, bit_packed=True)[0]
    out: dict[str, Any] = {"distance": distance, "shots": shots}
    for est in ESTIMATORS:
        t0 = time.perf_counter()
        s = DemStructure(dem)
        learn_noise(dets, s, estimator=est)
        first = time.perf_counter() - t0
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            learn_noise(dets, s, estimator=est)
            best = min(best, time.perf_counter() - t0)
        out[est] = {"s_per_1m": best * 1e6 / shots, "first_call_s_per_1m": first * 1e6 / shots}
    return out


def summarise(cases: list[dict[str, Any]], timing: dict[str, Any]) -> dict[str, Any]:
    """The targets, measured: per distance the miscalibrated device's gains over nominal
    uncorrelated PyMatching (both bases pooled) for every learned model and shot count, the
    nominal and true DEMs; each learned-from-30k decoder's LER over the true DEM's with the same
    matcher, and the worst of them per estimator and matcher."""
    def pooled(device, d, label, matcher):
        k = n = 0
        for c in cases:
            if c["device"] == device and c["distance"] == d:
                for r in c["rows"]:
                    if r["matcher"] == matcher and r["weights"] == label:
                        k, n = k + r["errors"], n + r["shots"]
        return k / n if n else None

    out: dict[str, Any] = {}
    estimators = tuple(sorted({r["estimator"] for c in cases for r in c["rows"]
                               if r.get("estimator")}))
    train = sorted({r["train_shots"] for c in cases for r in c["rows"] if r.get("train_shots")})
    for d in sorted({c["distance"] for c in cases}):
        nom = pooled("miscalibrated", d, "nominal", "pymatching")
        labels = ["nominal", "true"] + [f"learned-{e}-{n // 1000}k" for e in estimators
                                        for n in train]
        for label in labels:
            corr = pooled("miscalibrated", d, label, "pymatching-correlated")
            if nom and corr:
                name = label.replace("learned-", "")   # pairwise-30k -> pairwise_30k
                name = "_".join(name.rsplit("-", 1)) if name.startswith(estimators) else name
                out[f"miscalibrated_d{d}_correlated_{name}_gain"] = nom / corr
    within: dict[str, float] = {}
    worst: dict[str, float] = {}
    for c in cases:
        for r in c["rows"]:
            if r.get("train_shots") == 30_000:
                key = f"{c['device']}/d{c['distance']}/{c['basis']}/{r['decoder']}"
                within[key] = r["ler_over_true"]
                w = f"{r['matcher']}/{r['estimator']}"
                worst[w] = max(worst.get(w, 0.0), r["ler_over_true"])
    out["learned_30k_over_true"] = within
    out["learned_30k_over_true_worst"] = worst
    out["estimator_s_per_1m_d5"] = {e: timing[e]["s_per_1m"] for e in ESTIMATORS if e in timing}
    return out


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
    ap.add_argument("--out", default=os.path.join("runs", "bench", "device_noise.json"),
                    help="results JSON")


def add_rows(base: dict[str, Any], new: dict[str, Any],
             relabel: dict[str, str] | None = None) -> dict[str, Any]:
    """``base`` with the rows of ``new``'s cases it lacks added to its matching cases.

    A case matches on device, distance and basis, and must have decoded the same test shots:
    its ``pymatching/nominal`` and ``*/true`` rows must give the same errors in both (the
    shots come from fixed seeds, so they do when the settings agree). The estimators and
    training shot counts become the union; the targets are summarised again. ``relabel``
    (``{old: new}``): first the file's rows of estimator ``old`` are renamed estimator ``new``
    (an estimator whose default changed: its earlier rows keep what they measured under the
    name that says so, and the rerun rows take the name).
    """
    out = dict(base)
    index = {(c["device"], c["distance"], c["basis"]): c for c in base.get("cases", [])}
    cases = [dict(c, rows=[_relabelled(r, relabel or {}) for r in c["rows"]])
             for c in base.get("cases", [])]
    by_key = {(c["device"], c["distance"], c["basis"]): c for c in cases}
    for c in new.get("cases", []):
        key = (c["device"], c["distance"], c["basis"])
        if key not in index:
            raise SystemExit(f"--add-to: the file has no case {key}; run it in full instead")
        have = {r["decoder"]: r for r in by_key[key]["rows"]}
        for ref in ("pymatching/nominal", "pymatching/true", "pymatching-correlated/true"):
            theirs = next((r for r in c["rows"] if r["decoder"] == ref), None)
            if theirs is None or ref not in have or theirs["errors"] != have[ref]["errors"]:
                raise SystemExit(f"--add-to: case {key} decoded other shots than the file's "
                                 f"({ref} differs); use the file's --shots and --seed")
        by_key[key]["rows"] += [r for r in c["rows"] if r["decoder"] not in have]
    out["cases"] = cases
    relabel = relabel or {}
    old = [relabel.get(e, e) for e in base.get("estimators", [])]
    out["estimators"] = sorted({*old, *relabel, *new.get("estimators", [])},
                               key=lambda e: ALL_ESTIMATORS.index(e))
    out["added"] = [*base.get("added", []), {"estimators": new.get("estimators"),
                                             "train_shots": new.get("train_shots"),
                                             "cases": len(new.get("cases", [])),
                                             "seconds": new.get("seconds"),
                                             **({"relabelled": relabel} if relabel else {})}]
    out["measured"] = summarise(cases, base.get("estimator_timing") or {})
    out.pop("written", None)
    return out


def _relabelled(row: dict[str, Any], relabel: dict[str, str]) -> dict[str, Any]:
    """``row`` with its estimator renamed by ``relabel`` (its decoder and weights labels too)."""
    est = row.get("estimator")
    if est not in relabel:
        return row
    old, new = f"learned-{est}-", f"learned-{relabel[est]}-"
    return dict(row, estimator=relabel[est],
                weights=row["weights"].replace(old, new, 1),
                decoder=row["decoder"].replace(old, new, 1))


def _load(path: str) -> dict[str, Any]:
    """A results file's contents, or ``{}`` when there is none (or it is not JSON)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``; print a summary and write the JSON."""
    quick = args.quick
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
                "neural_shots": neural_shots, "seed": args.seed}
    existing = _load(args.out)           # what --out holds now: its fine-tuning study is kept
    previous = _load(args.resume or args.out) if args.resume is not None else {}
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
            seed=args.seed)
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
        merged = add_rows(_load(args.add_to), results, relabel=relabel)
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
