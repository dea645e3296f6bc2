"""``qplane bench decoder``: the shipped pre-decoders against PyMatching on fresh test shots.

Every decoder sees the same test shots, sampled with seeds from
:data:`qplane.decoder.data.TEST_SEED_BASE` (training and validation never use them). Per
distance, noise strength and basis it records, for uncorrelated PyMatching, correlated
PyMatching, pre-decoder + each (the card's rules) and the ``clear`` mode: logical errors per shot
with a 95% Wilson interval, the paired counts of shots only one of two decoders gets wrong with an
exact McNemar (binomial) p-value, and residual vs input detection-event density. Per distance it
times each stage (network, residual matching, total) per shot and per round at batch 1 and 1024,
on this machine's CPU (one torch thread unless ``--threads`` says otherwise), and the network
alone per backend (torch fp32, ONNX fp32, ONNX int8) at batch 1024 with 1 and 2 threads, wall
clock and the thread's CPU time (``network_cpu_us_per_shot``: what one core pays on a shared
machine), and the same for the distilled fast model where one is shipped (``dN-fast``), whose
int8 network also decodes every test shot with both matchers beside dN's fp32 one
(:mod:`qplane.bench._fast_model`: the cost target is judged on it).
Correlated PyMatching is the main baseline of every neural row; the int8 network runs beside
the float one on the same shots (McNemar: no significant loss); Tesseract (``pip install
qplane[bench]``, near-optimal) decodes a prefix of the shots at d = 3, 5 and 7
(:data:`REFERENCE_SHOTS`) as the reference, and ``neural-soft`` (the network gating hard shots
to Tesseract, :mod:`qplane.decoder.neural_soft`; its d = 7 options chosen on validation shots,
:data:`SOFT_OPTIONS`) decodes every shot there: compared with correlated PyMatching (the
>= 1.15x targets at d = 5, p = 0.005 and d = 7, p = 0.003, and "never significantly worse" on
every case) and with Tesseract alone on the same shots (what the network adds). Results go to
``runs/bench/decoder.json``; ``--update-results`` writes the committed
``bench/results/decoder.json`` and the markdown table in ``docs/decoder.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

from qplane.bench._fast_model import (FAST_DECODERS, FAST_PAIRS, compile_fast, decode_fast,
                                      fast_model, network_cost_target)
from qplane.bench._results import write_results
from qplane.progress import track

#: Test shots per basis, by distance and p (the issue's grid; sized for a 2-core CPU). At d = 7,
#: p = 0.003 PyMatching fails about 1 shot in 700: 2 x 50k shots give ~140 failures, enough for
#: McNemar to see a 15 % difference.
SHOTS = {
    3: {0.002: 50_000, 0.003: 50_000, 0.005: 50_000},
    5: {0.002: 20_000, 0.003: 40_000, 0.005: 40_000},
    7: {0.002: 5_000, 0.003: 50_000, 0.005: 20_000},
}
QUICK_SHOTS = 2_000
BASES = ("X", "Z")
DECODERS = ("pymatching", "pymatching-correlated", "neural", "neural-correlated", "neural-clear",
            "neural-correlated-int8", "neural-soft", "tesseract") + FAST_DECODERS
#: Correlated PyMatching is the main baseline of every neural row; the int8 network is checked
#: against the float one; Tesseract (near-optimal) is the reference, on a subset of the shots.
PAIRS = (("neural", "pymatching"), ("neural-correlated", "pymatching-correlated"),
         ("neural", "pymatching-correlated"), ("neural-clear", "pymatching-correlated"),
         ("neural-clear", "pymatching"), ("pymatching-correlated", "pymatching"),
         ("neural-correlated-int8", "neural-correlated"),
         ("neural-correlated-int8", "pymatching-correlated"),
         ("tesseract", "pymatching-correlated"), ("neural-correlated", "tesseract"),
         ("neural-soft", "pymatching-correlated"), ("neural-soft", "tesseract")) + FAST_PAIRS
#: Shots per basis decoded by the reference (Tesseract, long beam: ~0.1 ms per shot at d = 3,
#: ~6 ms at d = 5, tens of ms at d = 7 on this CPU). ``neural-soft`` (the network gating shots to
#: Tesseract) is compared with it on these shots: what the network adds over Tesseract alone.
REFERENCE_SHOTS = {3: 20_000, 5: 5_000, 7: 500}
#: Distances where ``neural-soft`` runs (its residual decoder is Tesseract), on every test shot.
SOFT_DISTANCES = (3, 5, 7)
#: ``neural-soft`` options per distance where they differ from its defaults (chosen on
#: validation shots, docs/decoder.md "neural-soft at d = 7"; the same as its pipeline config).
SOFT_OPTIONS: dict[int, dict[str, Any]] = {7: {"gate_fraction": 0.005}}
QUICK_REFERENCE_SHOTS = 200
#: Network backends timed per distance (batch 1024, 1 and 2 threads).
BACKENDS = (("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8"))
MARK_START, MARK_END = "<!-- bench:decoder:start -->", "<!-- bench:decoder:end -->"


def mcnemar(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    >>> round(mcnemar(10, 30), 4)
    0.0022
    """
    import scipy.stats

    n = only_a + only_b
    return 1.0 if n == 0 else float(scipy.stats.binomtest(only_a, n, 0.5).pvalue)


def model_for(distance: int) -> str:
    """The shipped model the configs use at ``distance`` (``"d7"`` beyond 7)."""
    from qplane.decoder.model_file import shipped_models

    names = shipped_models()
    want = f"d{min(distance, 7)}"
    return want if want in names else "auto"


def _decode_all(events, packed, truth, neural, neural_corr, matching, matching_corr, clear_rule,
                int8=None, reference=None, reference_shots=0, soft=None):
    """Failures (bool per shot) and residual events of every decoder on one shot set.

    ``int8``: the correlated decoder with the int8 ONNX network; ``reference``: a compiled
    reference decoder run on the first ``reference_shots`` shots; ``soft``: a compiled
    ``neural-soft`` decoder (given the float network's logits).
    """
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    logits = neural.site_logits(events)
    network_s = time.perf_counter() - start
    if int8 is not None:
        pred, residual = int8.decode_from_logits(events, int8.site_logits(events))
        out["neural-correlated-int8"] = {"fail": np.any(pred != truth, axis=1),
                                         "residual": int(residual.sum())}
    if soft is not None:
        pred, gated = soft.decode_events(events, logits)
        out["neural-soft"] = {"fail": np.any(pred != truth, axis=1),
                              "residual": int(events.sum()), "gated": int(gated.sum())}
    if reference is not None and reference_shots:
        sub = packed[:reference_shots]
        pred = reference.decode_shots_bit_packed(bit_packed_detection_event_data=sub)
        out["tesseract"] = {"fail": np.any(pred != truth[:reference_shots], axis=1),
                            "residual": int(events[:reference_shots].sum())}
    for name, m, kw in (("pymatching", matching, {}),
                        ("pymatching-correlated", matching_corr, {"enable_correlations": True})):
        pred = m.decode_batch(packed, bit_packed_shots=True, bit_packed_predictions=True, **kw)
        out[name] = {"fail": np.any(pred != truth, axis=1), "residual": int(events.sum())}
    for name, compiled, rule in (("neural", neural, None), ("neural-correlated", neural_corr, None),
                                 ("neural-clear", neural, clear_rule)):
        pred, residual = compiled.decode_from_logits(events, logits, rule=rule)
        out[name] = {"fail": np.any(pred != truth, axis=1), "residual": int(residual.sum())}
    return out, network_s


def _reference(circuit):
    """Tesseract (long beam) compiled for the circuit's undecomposed DEM, or ``None`` when the
    ``tesseract-decoder`` package is not installed (``pip install qplane[bench]``)."""
    try:
        import tesseract_decoder
    except ImportError:
        return None
    decoders = tesseract_decoder.make_tesseract_sinter_decoders_dict()
    return decoders["tesseract-long-beam"].compile_decoder_for_dem(
        dem=circuit.detector_error_model(decompose_errors=False))


def _has_tesseract() -> bool:
    import importlib.util

    return importlib.util.find_spec("tesseract_decoder") is not None


def _soft(model: str, dem, distance: int):
    """The ``neural-soft`` decoder (its validation-chosen options, :data:`SOFT_OPTIONS`) on
    the CPU."""
    from qplane.decoder.neural_soft import NeuralSoftDecoder

    return NeuralSoftDecoder(model=model, device="cpu", **SOFT_OPTIONS.get(distance, {})
                             ).compile_decoder_for_dem(dem=dem)


def _network_row(compiled, events, rounds: int) -> dict[str, float]:
    """The network's time per shot on ``events`` (the better of two), wall clock and on-CPU.

    On a shared machine the wall clock counts time spent waiting for a core; the calling
    thread's CPU time (one intra-op thread) is what one core pays.
    """
    compiled.site_logits(events[:64])  # warm-up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(2):  # the better of two: the machine is shared
        start, cpu = time.perf_counter(), time.thread_time()
        compiled.site_logits(events)
        best_cpu = min(best_cpu, time.thread_time() - cpu)
        best = min(best, time.perf_counter() - start)
    return {"network_us_per_shot": 1e6 * best / len(events),
            "network_cpu_us_per_shot": 1e6 * best_cpu / len(events),
            "total_us_per_shot": 1e6 * best / len(events),
            "total_us_per_round": 1e6 * best / len(events) / rounds}


def _network_3d(compiled, dem):
    """``compiled``'s int8 network written with 3D convolutions (``planar=False``)."""
    import numpy as np
    import torch

    from qplane.decoder.backends import build_network, calibration_volumes

    geometry = compiled.geometry
    return build_network(compiled.net, backend="onnx", device="cpu",
                         torch_device=torch.device("cpu"), precision="int8", threads=1,
                         calibration=calibration_volumes(dem, geometry),
                         site_index=np.asarray(compiled.sites.site_index),
                         shape=geometry.shape, planar=False)


def _timing(circuit, dem, model: str, rounds: int) -> dict[str, Any]:
    """Per-stage time per shot and per round at batch 1 and 1024, and network time per backend."""
    import numpy as np
    import pymatching
    import torch

    from qplane.decoder.data import TEST_SEED_BASE
    from qplane.decoder.neural import NeuralDecoder

    dets = circuit.compile_detector_sampler(seed=TEST_SEED_BASE - 1).sample(
        1024, bit_packed=True)
    result: dict[str, Any] = {}
    for name, correlated in (("neural", False), ("neural-correlated", True)):
        for batch, count in ((1, 200), (1024, 1024)):
            compiled = NeuralDecoder(model=model, device="cpu", correlated=correlated,
                                     batch_size=1024).compile_decoder_for_dem(dem=dem)
            compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets[:2])  # warm-up
            compiled.network_seconds = compiled.matching_seconds = 0.0
            start = time.perf_counter()
            for i in range(0, count, batch):
                compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets[i:i + batch])
            total = time.perf_counter() - start
            result[f"{name}/batch{batch}"] = {
                "network_us_per_shot": 1e6 * compiled.network_seconds / count,
                "matching_us_per_shot": 1e6 * compiled.matching_seconds / count,
                "total_us_per_shot": 1e6 * total / count,
                "total_us_per_round": 1e6 * total / count / rounds,
            }
    events = np.unpackbits(dets, axis=1, bitorder="little", count=dem.num_detectors).astype(bool)
    from qplane.decoder.volume import SyndromeGeometry

    distance = SyndromeGeometry.from_dem(dem).distance
    if distance in SOFT_DISTANCES and _has_tesseract():
        soft = _soft(model, dem, distance)
        soft.decode_events(events[:64])  # warm-up
        soft.network_seconds = soft.matching_seconds = soft.residual_seconds = 0.0
        soft.shots = soft.shots_gated = 0
        start = time.perf_counter()
        soft.decode_events(events)
        total = time.perf_counter() - start
        result["neural-soft/batch1024"] = {
            "network_us_per_shot": 1e6 * soft.network_seconds / len(events),
            "matching_us_per_shot": 1e6 * (soft.matching_seconds + soft.residual_seconds
                                           ) / len(events),
            "residual_us_per_shot": 1e6 * soft.residual_seconds / len(events),
            "gated_fraction": soft.gated_fraction,
            "total_us_per_shot": 1e6 * total / len(events),
            "total_us_per_round": 1e6 * total / len(events) / rounds}
        reference = _reference(circuit)  # Tesseract alone, every shot: the cost neural-soft saves
        start = time.perf_counter()
        reference.decode_shots_bit_packed(bit_packed_detection_event_data=dets[:256])
        total = (time.perf_counter() - start) / 256
        result["tesseract/batch256"] = {"total_us_per_shot": 1e6 * total,
                                        "total_us_per_round": 1e6 * total / rounds}
    previous = torch.get_num_threads()
    for backend, precision in BACKENDS:
        for threads in (1, 2):
            compiled = NeuralDecoder(model=model, device="cpu", correlated=True, backend=backend,
                                     precision=precision, threads=threads,
                                     batch_size=1024).compile_decoder_for_dem(dem=dem)
            result[f"network {backend} {precision}/batch1024/threads{threads}"] = _network_row(
                compiled, events, rounds)
    # The distilled fast model, where one is shipped for this distance ("fast network" rows;
    # its LER against the shipped model is the neural-fast rows').
    from qplane.decoder.model_file import shipped_models

    if f"{model}-fast" in shipped_models():
        for backend, precision in BACKENDS:
            compiled = NeuralDecoder(model=f"{model}-fast", device="cpu", correlated=True,
                                     backend=backend, precision=precision, threads=1,
                                     batch_size=1024).compile_decoder_for_dem(dem=dem)
            result[f"fast network {backend} {precision}/batch1024/threads1"] = _network_row(
                compiled, events, rounds)
            if backend == "onnx" and precision == "int8":
                # The same int8 network as a 3D graph (before the 2D form): what the 2D form saves.
                compiled.network = _network_3d(compiled, dem)
                result["fast network onnx int8 3d graph/batch1024/threads1"] = _network_row(
                    compiled, events, rounds)
    torch.set_num_threads(previous)
    for name, kw in (("pymatching", {}), ("pymatching-correlated", {"enable_correlations": True})):
        m = pymatching.Matching.from_detector_error_model(dem, **kw)
        for batch, count in ((1, 200), (1024, 1024)):
            start = time.perf_counter()
            for i in range(0, count, batch):
                m.decode_batch(dets[i:i + batch], bit_packed_shots=True,
                               bit_packed_predictions=True, **kw)
            total = time.perf_counter() - start
            result[f"{name}/batch{batch}"] = {"total_us_per_shot": 1e6 * total / count,
                                              "total_us_per_round": 1e6 * total / count / rounds}
    return result


def run_benchmark(*, quick: bool = False, shots: int | None = None,
                  out: str = "runs/bench/decoder.json", markdown: str | None = None,
                  distances: tuple[int, ...] = (3, 5, 7), threads: int = 1,
                  merge: bool = False) -> dict[str, Any]:
    """Run the benchmark; write JSON (and the markdown table); return the results.

    With ``merge``, results of distances not run now are kept from an existing ``out``.
    """
    import numpy as np
    import torch

    import qplane
    from qplane.analysis import wilson_interval
    from qplane.codes import memory_circuit
    from qplane.decoder.data import TEST_SEED_BASE
    from qplane.decoder.model import get_spec
    from qplane.decoder.model_file import file_sha256, read_card, resolve_model_path
    from qplane.decoder.neural import NeuralDecoder

    torch.set_num_threads(threads)
    rows, comparisons, timings, models = [], [], {}, {}
    began = time.perf_counter()
    for d in track(distances, "decoder distances", label=lambda d: f"d={d}"):
        model = model_for(d)
        path = resolve_model_path(model) if model != "auto" else None
        fast = fast_model(model) if model != "auto" else None
        for p, default_shots in SHOTS[d].items():
            n = QUICK_SHOTS if quick else (shots or default_shots)
            fails: dict[str, list[np.ndarray]] = {k: [] for k in DECODERS}
            residual = {k: 0 for k in DECODERS}
            events_in, detectors, network_s, notes, used = 0, 0, 0.0, [], None
            gated = [0]
            for bi, basis in enumerate(BASES):
                circuit = memory_circuit(distance=d, rounds=d, basis=basis, p=p)
                dem = circuit.detector_error_model(decompose_errors=True)
                neural = NeuralDecoder(model=model, device="cpu").compile_decoder_for_dem(dem=dem)
                neural_corr = NeuralDecoder(model=model, device="cpu", correlated=True
                                            ).compile_decoder_for_dem(dem=dem)
                int8 = NeuralDecoder(model=model, device="cpu", correlated=True, backend="onnx",
                                     precision="int8").compile_decoder_for_dem(dem=dem)
                used = neural.sha256
                fast_compiled = compile_fast(fast, dem) if fast else None
                seed = TEST_SEED_BASE + 1_000_000 * d + 1000 * round(p * 1e4) + bi
                events, obs = circuit.compile_detector_sampler(seed=seed).sample(
                    n, separate_observables=True)
                packed = np.packbits(events, axis=1, bitorder="little")
                truth = np.packbits(obs, axis=1, bitorder="little")
                ref_n = min(n, QUICK_REFERENCE_SHOTS if quick else REFERENCE_SHOTS.get(d, 0))
                reference = _reference(circuit) if ref_n else None
                soft = (_soft(model, dem, d) if d in SOFT_DISTANCES and _has_tesseract()
                        else None)
                result, seconds = _decode_all(events, packed, truth, neural, neural_corr,
                                              neural.matching, neural_corr.matching,
                                              neural.card_rule("clear"), int8=int8,
                                              reference=reference, reference_shots=ref_n,
                                              soft=soft)
                if fast_compiled:
                    result.update(decode_fast(fast_compiled, events, truth))
                gated[0] += result.get("neural-soft", {}).get("gated", 0)
                network_s += seconds
                for k in DECODERS:
                    if k in result:
                        fails[k].append(result[k]["fail"])
                        residual[k] += result[k]["residual"]
                events_in += int(events.sum())
                detectors += events.size
                notes += neural.notes
                if p == max(SHOTS[d]) and bi == 1 and d not in timings:
                    timings[d] = _timing(circuit, dem, model, d)
            fail = {k: np.concatenate(v) for k, v in fails.items() if v}
            for k in fail:
                e, k_shots = int(fail[k].sum()), len(fail[k])
                lo, hi = wilson_interval(e, k_shots)
                density = (residual[k] / (detectors * k_shots / (n * len(BASES)))
                           if k == "tesseract" else residual[k] / detectors)
                rows.append({"distance": d, "rounds": d, "p": p, "decoder": k, "shots": k_shots,
                             "errors": e, "ler": e / k_shots, "ci95": [lo, hi],
                             "input_density": events_in / detectors,
                             "residual_density": 0.0 if k == "tesseract" else density,
                             "model": (fast if k in FAST_DECODERS else model)
                             if k.startswith("neural") else None,
                             **({"gated_fraction": gated[0] / k_shots}
                                if k == "neural-soft" else {}),
                             "model_sha256": (fast_compiled[k].sha256 if k in FAST_DECODERS
                                              else used) if k.startswith("neural") else None})
            for a, b in PAIRS:
                if not (fails[a] and fails[b]):
                    continue
                # Paired on the shots both decoded (the reference decodes a prefix per basis).
                fa, fb = [], []
                for xa, xb in zip(fails[a], fails[b]):
                    m = min(len(xa), len(xb))
                    fa.append(xa[:m])
                    fb.append(xb[:m])
                fa, fb = np.concatenate(fa), np.concatenate(fb)
                only_a = int((fa & ~fb).sum())
                only_b = int((fb & ~fa).sum())
                ea, eb = int(fa.sum()), int(fb.sum())
                comparisons.append({"distance": d, "p": p, "a": a, "b": b, "shots": len(fa),
                                    "errors_a": ea, "errors_b": eb, "only_a_wrong": only_a,
                                    "only_b_wrong": only_b, "mcnemar_p": mcnemar(only_a, only_b),
                                    "ler_ratio_b_over_a": (eb / ea) if ea else None,
                                    "network_us_per_shot": 1e6 * network_s / (n * len(BASES))})
            print(f"d={d} p={p}: " + ", ".join(f"{k} {int(fail[k].sum())}/{len(fail[k])}"
                                               for k in fail)
                  + f" shots ({time.perf_counter() - began:.0f} s)", flush=True)
        if path is not None:
            card = read_card(path)
            spec = get_spec(card.spec)
            models[model] = {"file": str(path.relative_to(Path(qplane.__file__).parent.parent))
                             if path.is_absolute() else str(path),
                             "sha256": file_sha256(path), "bytes": path.stat().st_size,
                             "spec": card.spec, "parameters": spec.num_parameters(
                                 num_classes=len(card.classes)),
                             "receptive_field": spec.receptive_field, "rules": card.rules,
                             "trained": {"distances": card.distances, "p": card.noise["p"],
                                         "steps": card.training.get("steps"),
                                         "shots": card.training.get("shots")}}
    seconds = round(time.perf_counter() - began, 1)
    # Shots per basis by distance (a merged file keeps each distance's own count).
    shots_per_basis = {str(d): "quick" if quick else (shots or SHOTS[d]) for d in distances}
    if merge and Path(out).exists():
        # Keep the other distances of an earlier run (distances can be run one at a time).
        old = json.loads(Path(out).read_text())
        keep = lambda items: [x for x in items if x["distance"] not in distances]  # noqa: E731
        rows = keep(old["rows"]) + rows
        comparisons = keep(old["comparisons"]) + comparisons
        timings = {**{int(k): v for k, v in old["timing"].items() if int(k) not in distances},
                   **timings}
        models = {**{k: v for k, v in old["models"].items()
                     if not any(k == model_for(d) for d in distances)}, **models}
        seconds += old.get("seconds", 0)
        before = old.get("shots_per_basis")
        for k in sorted({str(x["distance"]) for x in rows} - set(shots_per_basis)):
            shots_per_basis[k] = before.get(k) if isinstance(before, dict) else before
        shots_per_basis = dict(sorted(shots_per_basis.items()))
        order = lambda x: (x["distance"], x["p"])  # noqa: E731
        rows.sort(key=order)
        comparisons.sort(key=order)
    results = {"benchmark": "decoder", "qplane_version": qplane.__version__,
               "machine": {"cpu": platform.processor() or platform.machine(),
                           "torch_threads": threads, "torch": torch.__version__},
               "shots_per_basis": shots_per_basis,
               "bases": list(BASES), "seconds": seconds,
               "models": models, "rows": rows, "comparisons": comparisons,
               "timing": {str(k): v for k, v in sorted(timings.items())},
               "targets": evaluate_targets(comparisons, rows, {str(k): v for k, v in timings.items()})}
    write_results(out, results, indent=1, default=_jsonable)
    if markdown:
        write_markdown(results, markdown)
    return results


def _jsonable(value):
    import numpy as np

    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def evaluate_targets(comparisons: list[dict], rows: list[dict],
                     timing: dict | None = None) -> list[dict]:
    """The issue's targets, each with the measured numbers and whether it is met."""
    targets = []
    for c in comparisons:
        if (c["a"], c["b"]) == ("neural", "pymatching") and c["p"] in (0.003, 0.005):
            better = c["only_a_wrong"] < c["only_b_wrong"] and c["mcnemar_p"] < 0.05
            entry = {"target": f"pre-decoder + PyMatching beats PyMatching with significance, "
                               f"d={c['distance']} p={c['p']}",
                     "errors": [c["errors_a"], c["errors_b"]], "mcnemar_p": c["mcnemar_p"],
                     "ratio": c["ler_ratio_b_over_a"], "met": bool(better)}
            if c["distance"] == 5 and c["p"] == 0.005:
                entry["target"] += " and >= 1.15x"
                entry["met"] = bool(better and (c["ler_ratio_b_over_a"] or 0) >= 1.15)
            targets.append(entry)
        if (c["a"], c["b"]) == ("neural-correlated", "pymatching-correlated"):
            worse = c["only_a_wrong"] > c["only_b_wrong"] and c["mcnemar_p"] < 0.05
            targets.append({"target": f"pre-decoder + correlated no worse than correlated, "
                                      f"d={c['distance']} p={c['p']}",
                            "errors": [c["errors_a"], c["errors_b"]], "mcnemar_p": c["mcnemar_p"],
                            "ratio": c["ler_ratio_b_over_a"], "met": not worse,
                            "beats": bool(c["only_a_wrong"] < c["only_b_wrong"]
                                          and c["mcnemar_p"] < 0.05)})
    for c in comparisons:
        pair = (c["a"], c["b"])
        significant = c["mcnemar_p"] < 0.05
        if pair == ("neural-correlated", "pymatching-correlated") and (c["distance"], c["p"]) in (
                (5, 0.005), (7, 0.003)):
            ratio = c["ler_ratio_b_over_a"] or 0
            targets.append({"target": f"neural-correlated >= 1.15x better than correlated "
                                      f"PyMatching, significant, d={c['distance']} p={c['p']}",
                            "errors": [c["errors_a"], c["errors_b"]], "ratio": ratio,
                            "mcnemar_p": c["mcnemar_p"],
                            "met": bool(ratio >= 1.15 and significant
                                        and c["only_a_wrong"] < c["only_b_wrong"])})
        if pair == ("neural-soft", "pymatching-correlated"):
            ratio = c["ler_ratio_b_over_a"] or 0
            better = significant and c["only_a_wrong"] < c["only_b_wrong"]
            worse = significant and c["only_a_wrong"] > c["only_b_wrong"]
            if (c["distance"], c["p"]) in ((5, 0.005), (7, 0.003)):
                targets.append({"target": "neural-soft (network + Tesseract) >= 1.15x better than "
                                          f"correlated PyMatching, significant, d={c['distance']} "
                                          f"p={c['p']}",
                                "errors": [c["errors_a"], c["errors_b"]], "ratio": ratio,
                                "mcnemar_p": c["mcnemar_p"], "met": bool(ratio >= 1.15 and better)})
            targets.append({"target": f"neural-soft never significantly worse than correlated "
                                      f"PyMatching, d={c['distance']} p={c['p']}",
                            "errors": [c["errors_a"], c["errors_b"]], "ratio": ratio,
                            "mcnemar_p": c["mcnemar_p"], "met": not worse, "beats": better})
        if pair == ("neural-correlated-int8", "neural-correlated"):
            loss = c["only_a_wrong"] > c["only_b_wrong"] and significant
            targets.append({"target": f"int8 network: no significant LER loss against fp32, "
                                      f"d={c['distance']} p={c['p']}",
                            "errors": [c["errors_a"], c["errors_b"]],
                            "mcnemar_p": c["mcnemar_p"], "met": not loss})
    int8_ok = all(t["met"] for t in targets if t["target"].startswith("int8 network"))
    cost = network_cost_target(comparisons, timing, int8_ok=int8_ok)
    if cost is not None:
        targets.append(cost)
    by_key = {(r["distance"], r["p"], r["decoder"]): r for r in rows}
    for (d, p, name), r in by_key.items():
        if name != "neural-clear":
            continue
        base = by_key[(d, p, "pymatching")]
        cmp = next(c for c in comparisons if c["distance"] == d and c["p"] == p
                   and (c["a"], c["b"]) == ("neural-clear", "pymatching"))
        reduction = 1 - r["residual_density"] / base["residual_density"] if base["residual_density"] else 0.0
        no_cost = not (cmp["only_a_wrong"] > cmp["only_b_wrong"] and cmp["mcnemar_p"] < 0.05)
        targets.append({"target": f"clear mode: >= 40% fewer residual detection events at no LER "
                                  f"cost, d={d} p={p}",
                        "residual_reduction": reduction, "errors": [r["errors"], base["errors"]],
                        "mcnemar_p": cmp["mcnemar_p"], "met": bool(reduction >= 0.4 and no_cost)})
    return targets


def markdown_table(results: dict[str, Any]) -> str:
    """The benchmark as markdown: LER table, comparisons, timing, models."""
    lines = [f"Measured by `qplane bench decoder` (qplane {results['qplane_version']}, "
             f"{results['machine']['torch_threads']} torch thread, {results['seconds']:.0f} s); "
             f"both bases pooled, rounds = d, shots per basis: `{results['shots_per_basis']}`.", "",
             "| d | p | decoder | shots | errors | LER (95% CI) | residual / input detection density |",
             "|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        lo, hi = r["ci95"]
        ratio = r["residual_density"] / r["input_density"] if r["input_density"] else 0
        lines.append(f"| {r['distance']} | {r['p']} | {r['decoder']} | {r['shots']} | {r['errors']} "
                     f"| {r['ler']:.2e} ({lo:.1e}–{hi:.1e}) | {ratio:.3f} |")
    gated = [f"d={r['distance']} p={r['p']}: {100 * r['gated_fraction']:.1f} %"
             for r in results["rows"] if "gated_fraction" in r]
    if gated:
        lines += ["", "Shots neural-soft sent to Tesseract: " + ", ".join(gated) + "."]
    lines += ["", "| d | p | A vs B | errors A / B | only A wrong | only B wrong | McNemar p | LER B / A |",
              "|---|---|---|---|---|---|---|---|"]
    for c in results["comparisons"]:
        ratio = f"{c['ler_ratio_b_over_a']:.3f}" if c["ler_ratio_b_over_a"] else "–"
        lines.append(f"| {c['distance']} | {c['p']} | {c['a']} vs {c['b']} | {c['errors_a']} / "
                     f"{c['errors_b']} | {c['only_a_wrong']} | {c['only_b_wrong']} | "
                     f"{c['mcnemar_p']:.2g} | {ratio} |")
    lines += ["", "Time per shot on this CPU (µs; per round in brackets):", "",
              "| d | decoder / batch | network | residual matching | total |", "|---|---|---|---|---|"]
    for d, stages in results["timing"].items():
        for key, t in stages.items():
            net = f"{t['network_us_per_shot']:.1f}" if "network_us_per_shot" in t else "–"
            mat = f"{t['matching_us_per_shot']:.1f}" if "matching_us_per_shot" in t else "–"
            lines.append(f"| {d} | {key} | {net} | {mat} | {t['total_us_per_shot']:.1f} "
                         f"({t['total_us_per_round']:.1f}) |")
    lines += ["", "| model | spec | parameters | receptive field | file bytes | sha256 |",
              "|---|---|---|---|---|---|"]
    for name, m in results["models"].items():
        lines.append(f"| {name} | {m['spec']} | {m['parameters']} | {m['receptive_field']} | "
                     f"{m['bytes']} | `{m['sha256']}` |")
    lines += ["", "| target | met | measured |", "|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {'yes' if t['met'] else '**no**'} | "
                     f"{t.get('detail', '–')} |")
    return "\n".join(lines)


def write_markdown(results: dict[str, Any], path: str) -> None:
    """Replace the text between the benchmark markers in ``path`` (append them if missing)."""
    file = Path(path)
    text = file.read_text() if file.exists() else ""
    block = f"{MARK_START}\n{markdown_table(results)}\n{MARK_END}"
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--quick", action="store_true", help="small shot counts (smoke run)")
    parser.add_argument("--shots", type=int, default=None, help="test shots per (d, p, basis)")
    parser.add_argument("--out", default="runs/bench/decoder.json", help="results file")
    parser.add_argument("--markdown", default=None,
                        help="markdown file whose benchmark table is replaced")
    parser.add_argument("--distances", type=int, nargs="+", default=[3, 5, 7],
                        help="code distances to run (default: 3 5 7)")
    parser.add_argument("--merge", action="store_true",
                        help="keep other distances' results from an existing --out")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (recorded with the timings)")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``."""
    run_benchmark(quick=args.quick, shots=args.shots, out=args.out, markdown=args.markdown,
                  distances=tuple(args.distances), merge=args.merge, threads=args.threads)
    print(f"wrote {args.out}" + (f" and the table in {args.markdown}" if args.markdown else ""))
    return 0
