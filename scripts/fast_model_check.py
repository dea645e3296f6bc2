"""A fast (distilled) model against its teacher on the decoder benchmark's test shots.

For each distance, noise strength and basis of ``qplane bench decoder``'s grid, the same test
shots (the benchmark's seeds, from ``TEST_SEED_BASE``) are decoded by the teacher (fp32, its
card's rules), the fast model (int8 and fp32 ONNX, its card's rules), each with uncorrelated and
with correlated residual matching, and by both PyMatching variants. Every pair is compared shot
for shot: errors, the discordant counts and the exact McNemar p-value, per (d, p) with both bases
pooled, and over all p. The fast model's network time (ONNX int8 and fp32, torch fp32; batch
1024; 1 thread) is measured beside the teacher's on the same shots.

    python scripts/fast_model_check.py --distance 5                  # d5-fast vs d5
    python scripts/fast_model_check.py --distance 3 --shots 50000 --out runs/bench/fast_d3.json
    python scripts/fast_model_check.py --distance 5 --fresh --fast runs/decoder/NEW.safetensors \
        --against d5-fast        # a candidate against the shipped fast model (both int8)

``--validation`` decodes validation shots instead (seeds from ``VALIDATION_SEED_BASE + 2^36``:
the validation range, which training never reaches, beside the seeds the cards' rules are
chosen on): for choosing between candidates, with more shots than a card's validation; the
bench's test shots and ``--fresh`` are for the one final test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

PAIRS = (("fast-int8", "teacher"), ("fast-int8-correlated", "teacher-correlated"),
         ("fast-fp32", "teacher"), ("fast-fp32-correlated", "teacher-correlated"),
         ("fast-int8", "fast-fp32"), ("fast-int8-correlated", "fast-fp32-correlated"),
         ("fast-int8", "pymatching"), ("fast-int8-correlated", "pymatching-correlated"),
         ("teacher", "pymatching"), ("teacher-correlated", "pymatching-correlated"))


def _network_time(compiled, events: np.ndarray, repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` network microseconds per shot on ``events`` (batch 1024): wall clock,
    and this thread's CPU time (what one core pays; the wall clock also counts waiting for a
    core on a shared machine)."""
    compiled.site_logits(events[:64])
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.thread_time()
        compiled.site_logits(events[:1024])
        best_cpu = min(best_cpu, time.thread_time() - cpu)
        best = min(best, time.perf_counter() - start)
    n = min(1024, len(events))
    return 1e6 * best / n, 1e6 * best_cpu / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distance", type=int, default=5)
    parser.add_argument("--teacher", default=None, help="default: dN")
    parser.add_argument("--fast", default=None, help="default: dN-fast")
    parser.add_argument("--shots", type=int, default=None, help="per (p, basis); default: the bench's")
    parser.add_argument("--against", default=None,
                        help="another fast model (e.g. the shipped dN-fast) decoded in int8 beside "
                             "--fast: rows other-int8[-correlated], compared shot for shot")
    parser.add_argument("--ps", type=float, nargs="+", default=None)
    parser.add_argument("--out", default=None, help="default: runs/bench/fast_dN.json")
    parser.add_argument("--fresh", action="store_true",
                        help="decode fresh shots (seeds from VERIFY_SEED_BASE + 2^29, which no "
                             "training, validation, benchmark or verify run uses) instead of "
                             "the benchmark's test shots")
    parser.add_argument("--fresh-set", type=int, default=0,
                        help="with --fresh: which fresh set (seeds from VERIFY_SEED_BASE + 2^29 + "
                             "N * 2^25); 0 is the one sessions 4-7 used, so a new candidate's one "
                             "final test takes a number never used before (docs/decoder.md)")
    parser.add_argument("--validation", action="store_true",
                        help="decode validation shots (seeds from VALIDATION_SEED_BASE + 2^36) to "
                             "choose between candidates; never the final test")
    parser.add_argument("--calibration-shots", type=int, default=None,
                        help="int8 calibration shots per DEM (default: the decoder's, "
                             "qplane.decoder.backends.CALIBRATION_SHOTS)")
    args = parser.parse_args(argv)
    if args.fresh and args.validation:
        parser.error("--fresh (test shots) and --validation (choosing shots) exclude each other")
    if args.fresh_set and not args.fresh:
        parser.error("--fresh-set N picks a set of fresh shots: give --fresh with it")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from qplane.bench.decoder import BASES, SHOTS, mcnemar
    from qplane.codes import memory_circuit
    from qplane.decoder.data import TEST_SEED_BASE, VALIDATION_SEED_BASE
    from qplane.decoder import backends
    from qplane.decoder.neural import NeuralDecoder
    from qplane.decoder.verify import VERIFY_SEED_BASE

    if args.calibration_shots:
        backends.CALIBRATION_SHOTS = int(args.calibration_shots)

    d = args.distance
    teacher, fast = args.teacher or f"d{d}", args.fast or f"d{d}-fast"
    ps = args.ps or sorted(SHOTS[d])
    out = Path(args.out or f"runs/bench/fast_d{d}.json")
    pairs = PAIRS + ((("fast-int8", "other-int8"), ("fast-int8-correlated", "other-int8-correlated"),
                      ("other-int8", "teacher"), ("other-int8-correlated", "teacher-correlated"))
                     if args.against else ())
    fails: dict[tuple[float, str], dict[str, np.ndarray]] = {}
    timing: dict[str, float] = {}
    for p in ps:
        for bi, basis in enumerate(BASES):
            circuit = memory_circuit(distance=d, rounds=d, basis=basis, p=p)
            dem = circuit.detector_error_model(decompose_errors=True)
            shots = args.shots or SHOTS[d][p]
            base = (VERIFY_SEED_BASE + (1 << 29) + (args.fresh_set << 25) if args.fresh
                    else VALIDATION_SEED_BASE + (1 << 36) if args.validation
                    else TEST_SEED_BASE)  # else the bench's
            seed = base + 1_000_000 * d + 1000 * round(p * 1e4) + bi
            events, obs = circuit.compile_detector_sampler(seed=seed).sample(
                shots, separate_observables=True)
            truth = np.packbits(obs, axis=1, bitorder="little")
            packed = np.packbits(events, axis=1, bitorder="little")
            row: dict[str, np.ndarray] = {}
            for name, model, options in (("teacher", teacher, {}),
                                         ("fast-fp32", fast, {"backend": "onnx"}),
                                         ("fast-int8", fast, {"backend": "onnx", "precision": "int8"}),
                                         *((("other-int8", args.against,
                                             {"backend": "onnx", "precision": "int8"}),)
                                           if args.against else ())):
                unc = NeuralDecoder(model=model, device="cpu", threads=1, **options
                                    ).compile_decoder_for_dem(dem=dem)
                cor = NeuralDecoder(model=model, device="cpu", threads=1, correlated=True,
                                    **options).compile_decoder_for_dem(dem=dem)
                if bi == 0 and p == ps[-1]:
                    wall, cpu = _network_time(unc, events)
                    timing[f"{name} network us/shot (batch 1024, 1 thread), wall"] = wall
                    timing[f"{name} network us/shot (batch 1024, 1 thread), CPU"] = cpu
                logits = unc.site_logits(events)
                for suffix, compiled in (("", unc), ("-correlated", cor)):
                    pred, _ = compiled.decode_from_logits(events, logits)
                    row[name + suffix] = np.any(pred != truth, axis=1)
                if name == "teacher":
                    for suffix, matching in (("", unc.matching), ("-correlated", cor.matching)):
                        kw = {"enable_correlations": True} if suffix else {}
                        pred = matching.decode_batch(packed, bit_packed_shots=True,
                                                     bit_packed_predictions=True, **kw)
                        row["pymatching" + suffix] = np.any(pred != truth, axis=1)
            fails[(p, basis)] = row
            print(f"d={d} p={p} {basis}: " + ", ".join(f"{k} {int(v.sum())}" for k, v in row.items()),
                  file=sys.stderr, flush=True)
    comparisons = []
    for label, keys in [(str(p), [(p, b) for b in BASES]) for p in ps] + [("all", list(fails))]:
        for a, b in pairs:
            fa = np.concatenate([fails[k][a] for k in keys])
            fb = np.concatenate([fails[k][b] for k in keys])
            only_a, only_b = int((fa & ~fb).sum()), int((fb & ~fa).sum())
            comparisons.append({"p": label, "a": a, "b": b, "shots": len(fa),
                                "errors_a": int(fa.sum()), "errors_b": int(fb.sum()),
                                "only_a": only_a, "only_b": only_b,
                                "mcnemar_p": mcnemar(only_a, only_b)})
    result = {"distance": d, "teacher": teacher, "fast": fast, "against": args.against,
              "ps": ps, "fresh": args.fresh,
              "fresh_set": args.fresh_set if args.fresh else None, "validation": args.validation,
              "calibration_shots": backends.CALIBRATION_SHOTS,
              "load_average": os.getloadavg(), "timing": timing, "comparisons": comparisons}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    for c in comparisons:
        print(f"p={c['p']:>5} {c['a']:>22} vs {c['b']:<22} {c['errors_a']:>5} / {c['errors_b']:<5}"
              f" discordant {c['only_a']:>4} / {c['only_b']:<4} McNemar p {c['mcnemar_p']:.3g}")
    for k, v in timing.items():
        print(f"{k}: {v:.1f}")
    print(f"load average {result['load_average']}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
