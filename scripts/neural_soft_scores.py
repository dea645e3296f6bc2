"""Gate scores for ``neural-soft`` beyond the shipped one: a logical score and a small ensemble.

Session 4 found the network's gate (disagreement + ``sum min(q, 1 - q)``) tied a matching-only
gate on d = 7, p = 0.003 validation shots. This study records, per shot, candidate scores that
use the network differently, so that a gate can be *chosen on validation shots* and then
measured on test shots:

- ``uncertainty``: the shipped score, ``sum over sites of min(q, 1 - q)`` (the d7 network);
- ``wrong``: the network's probability that correlated PyMatching's logical answer is wrong,
  ``P(obs != cPM)`` with ``P(obs = 1) = (1 - prod over observable sites (1 - 2 q)) / 2``
  (sites independent given the syndrome): the uncertainty where it bears on the logical;
- ``*_fast``: the same from the distilled d5-fast network (int8 ONNX, ~8x cheaper than d7's)
  run on the d = 7 volume (fully convolutional, receptive field 9), and ``*_ens`` from the mean
  of both networks' logits; ``disagree_fast``: its hard corrections + correlated matching
  against correlated PyMatching (an ensemble member for the disagreement gate);
- ``weight`` and ``disagree_pm``: the matching-only gate of session 4 (no network).

Thresholds are the top-``f`` quantiles of the decoder's own 1,024 DEM-sampled shots (seed
``GATE_SEED``, exactly as :class:`~qplane.decoder.neural_soft.NeuralSoftDecoder`). Tesseract
(short beam, the DEM's sites) decodes the union of every gate up to ``--max-fraction`` plus every
shot correlated PyMatching gets wrong (a diagnostic only; gates never look at the truth), so each
gate's errors are exact. Splits and seeds as ``scripts/neural_soft_study.py`` (``test`` = the
decoder benchmark's shots).

    nice -n 10 python scripts/neural_soft_scores.py --split validation --basis Z \\
        --shots 25000 --out runs/d7/scores_val_Z.npz
    python scripts/neural_soft_scores.py --summarise runs/d7/scores_val_X.npz \\
        runs/d7/scores_val_Z.npz
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from neural_soft_study import print_ablation, seed_for, tesseract_failures  # noqa: E402

FRACTIONS = (0.0, 0.0025, 0.005, 0.01)
#: Continuous scores: each gets a threshold per fraction from the DEM-sampled shots.
CONTINUOUS = ("uncertainty", "wrong", "uncertainty_fast", "wrong_fast", "uncertainty_ens",
              "wrong_ens", "weight")


def flip_probability(logits: np.ndarray, obs_sites: np.ndarray) -> np.ndarray:
    """``P(observable flipped)`` per shot from site logits, sites independent.

    >>> flip_probability(np.array([[0.0, -50.0]]), np.array([True, True])).round(3).tolist()
    [0.5]
    """
    q = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)[:, obs_sites]))
    return 0.5 * (1.0 - np.prod(1.0 - 2.0 * q, axis=1))


def scores(soft, fast, events: np.ndarray) -> dict[str, np.ndarray]:
    """Every gate score for unpacked ``events``."""
    from qplane.decoder.neural_soft import HARD_RULE, uncertainty

    def logits_of(compiled):
        return np.concatenate([compiled.site_logits(events[i:i + 4096])
                               for i in range(0, len(events), 4096)])

    net = logits_of(soft.neural)
    fst = logits_of(fast)
    packed = np.packbits(events, axis=1, bitorder="little")
    corr, weight = soft.neural.matching.decode_batch(
        packed, bit_packed_shots=True, bit_packed_predictions=True, enable_correlations=True,
        return_weights=True)
    plain = soft.matching_uncorrelated.decode_batch(packed, bit_packed_shots=True,
                                                    bit_packed_predictions=True)
    hard, _ = soft.neural.decode_from_logits(events, net, rule=HARD_RULE)
    hard_fast, _ = fast.decode_from_logits(events, fst, rule=HARD_RULE)
    obs_sites = (soft.neural.sites.site_observables & np.uint64(1)).astype(bool)
    cpm_bit = (corr[:, 0] & 1).astype(bool)
    out = {"correlated": corr, "weight": np.asarray(weight, dtype=np.float64),
           "disagree_pm": np.any(corr != plain, axis=1),
           "disagree_net": np.any(corr != plain, axis=1) | np.any(corr != hard, axis=1),
           "disagree_fast": np.any(corr != hard_fast, axis=1)}
    for suffix, lg in (("", net), ("_fast", fst), ("_ens", 0.5 * (net + fst))):
        flip = flip_probability(lg, obs_sites)
        out["uncertainty" + suffix] = uncertainty(lg)
        out["wrong" + suffix] = np.where(cpm_bit, 1.0 - flip, flip)
    return out


def run(args) -> None:
    import torch

    from qplane.codes import memory_circuit
    from qplane.decoder.neural import NeuralDecoder
    from qplane.decoder.neural_soft import GATE_SEED, GATE_SHOTS, NeuralSoftDecoder

    torch.set_num_threads(1)
    circuit = memory_circuit(distance=args.distance, rounds=args.distance, basis=args.basis,
                             p=args.p)
    dem = circuit.detector_error_model(decompose_errors=True)
    soft = NeuralSoftDecoder(model=args.model, device="cpu", gate_fraction=0.0,
                             beam="short").compile_decoder_for_dem(dem=dem)
    fast = NeuralDecoder(model=args.fast_model, device="cpu", correlated=True, backend="onnx",
                         precision="int8").compile_decoder_for_dem(dem=dem)
    calib = scores(soft, fast, dem.compile_sampler(seed=GATE_SEED).sample(GATE_SHOTS)[0])
    thresholds = {k: np.array([np.inf if f <= 0 else np.quantile(calib[k], 1.0 - f)
                               for f in FRACTIONS]) for k in CONTINUOUS}
    began = time.perf_counter()
    events, obs = circuit.compile_detector_sampler(
        seed=seed_for(args.split, args.distance, args.p, args.basis)).sample(
            args.shots, separate_observables=True)
    s = scores(soft, fast, events)
    network_s = time.perf_counter() - began
    truth = np.packbits(obs, axis=1, bitorder="little")
    cpm_fail = np.any(s["correlated"] != truth, axis=1)
    candidates = s["disagree_net"] | s["disagree_fast"] | cpm_fail
    last = max(i for i, f in enumerate(FRACTIONS) if f <= args.max_fraction)
    for k in args.scores or CONTINUOUS:
        candidates |= s[k] >= thresholds[k][last]
    index = np.flatnonzero(candidates)
    print(f"{args.basis}: {args.shots} shots, networks+matching {network_s:.0f} s; "
          f"Tesseract on {len(index)} ({len(index) / args.shots:.2%})", flush=True)
    tess_fail, decoded, tess_s = tesseract_failures(soft, events, truth, index, chunk=128)
    print(f"{args.basis}: Tesseract {tess_s:.0f} s; correlated PyMatching errors "
          f"{int(cpm_fail.sum())}, Tesseract fixes {int((cpm_fail & ~tess_fail).sum())}",
          flush=True)
    np.savez_compressed(args.out, cpm_fail=cpm_fail, tess_fail=tess_fail, decoded=decoded,
                        fractions=np.array(FRACTIONS), network_s=network_s, tess_s=tess_s,
                        **{k: s[k] for k in s if k != "correlated"},
                        **{f"thr_{k}": v for k, v in thresholds.items()})


def gate_masks(z) -> dict[str, np.ndarray]:
    """``{name: bool (shots,)}`` for every gate at every fraction."""
    out = {}
    for i, f in enumerate(z["fractions"]):
        top = {k: z[k] >= z[f"thr_{k}"][i] for k in CONTINUOUS}
        net, ens = z["disagree_net"], z["disagree_net"] | z["disagree_fast"]
        out[f"shipped: disagree + uncertainty f={f:g}"] = net | top["uncertainty"]
        out[f"no network: PM disagree + weight f={f:g}"] = z["disagree_pm"] | top["weight"]
        out[f"disagree + wrong f={f:g}"] = net | top["wrong"]
        out[f"ensemble disagree + uncertainty_ens f={f:g}"] = ens | top["uncertainty_ens"]
        out[f"ensemble disagree + wrong_ens f={f:g}"] = ens | top["wrong_ens"]
        out[f"ensemble disagree + uncertainty f={f:g}"] = ens | top["uncertainty"]
        out[f"disagree + uncertainty + wrong f={f:g}"] = net | top["uncertainty"] | top["wrong"]
    return out


def summarise(paths: list[str]) -> None:
    from qplane.bench.decoder import mcnemar

    files = [np.load(p) for p in paths]
    cat = lambda key: np.concatenate([z[key] for z in files])  # noqa: E731
    cpm, tess, decoded = cat("cpm_fail"), cat("tess_fail"), cat("decoded")
    print(f"{len(cpm)} shots; correlated PyMatching {int(cpm.sum())} errors; Tesseract fixes "
          f"{int((cpm & ~tess).sum())} of them")
    masks = [gate_masks(z) for z in files]
    results = {}
    for name in masks[0]:
        gate = np.concatenate([m[name] for m in masks])
        if np.any(gate & ~decoded):
            print(f"{name}: outside the decoded union, skipped")
            continue
        fail = np.where(gate, tess, cpm)
        a, b = int((fail & ~cpm).sum()), int((cpm & ~fail).sum())
        results[name] = (gate, fail)
        print(f"{name}: gated {gate.mean():.2%}, errors {int(fail.sum())} (only soft {a} / only "
              f"cPM {b}, p {mcnemar(a, b):.2g})")
    print_ablation(results, lambda name: not name.startswith("no network"))

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distance", type=int, default=7)
    parser.add_argument("--p", type=float, default=0.003)
    parser.add_argument("--basis", choices=("X", "Z"), default="Z")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--shots", type=int, default=20000)
    parser.add_argument("--model", default="d7")
    parser.add_argument("--fast-model", default="d5-fast")
    parser.add_argument("--out", default="runs/scores.npz")
    parser.add_argument("--max-fraction", type=float, default=max(FRACTIONS),
                        help="the largest gate fraction whose shots Tesseract decodes")
    parser.add_argument("--scores", nargs="+", choices=CONTINUOUS, default=None,
                        help="the continuous scores whose top shots Tesseract decodes (all)")
    parser.add_argument("--summarise", nargs="+", metavar="NPZ")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.summarise)
    else:
        run(args)


if __name__ == "__main__":
    main()
