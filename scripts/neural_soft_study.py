"""Gate study for ``neural-soft``: which shots should Tesseract see, and does the network help?

For one (distance, p, basis, split) this decodes shots with correlated and uncorrelated
PyMatching, the network (its hard ``all`` 0.5 corrections + correlated matching, and its
uncertainty) and records, per shot, every gate score:

- ``disagree_net``: correlated PyMatching, uncorrelated PyMatching and the network's hard
  corrections do not all agree (the ``neural-soft`` disagreement gate);
- ``disagree_pm``: correlated and uncorrelated PyMatching disagree (no network);
- ``uncertainty``: the network's ``sum over sites of min(q, 1 - q)``;
- ``weight``: the correlated matching weight (no network);

and the thresholds each score gets for a set of gate fractions from the decoder's own 1024
DEM-sampled shots (exactly as :class:`qplane.decoder.neural_soft.NeuralSoftDecoder` sets its
uncertainty threshold). Tesseract (short beam, on the DEM's sites) then decodes the union of
every gate up to the largest fraction, plus every shot correlated PyMatching gets wrong (a
diagnostic only: how many of its failures Tesseract fixes; gates never look at the truth). A
gate's errors are then exact for any gate inside that union: correlated PyMatching's answer
outside the gate, Tesseract's inside. Everything goes to ``--out`` as an ``.npz``.

Splits: ``validation`` (seeds ``2^40 + 2^36 + ...``, disjoint from training, rule-selection and
test seeds) chooses; ``test`` (the decoder benchmark's seeds, ``2^44 + 10^6 d + 1000 round(10^4
p) + basis``, i.e. the same shots as ``qplane bench decoder``) measures.

    nice -n 10 python scripts/neural_soft_study.py --distance 7 --p 0.003 --basis Z \\
        --split validation --shots 50000 --out runs/d7/val_Z.npz
    python scripts/neural_soft_study.py --summarise runs/d7/val_X.npz runs/d7/val_Z.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np

FRACTIONS = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05)


def seed_for(split: str, distance: int, p: float, basis: str) -> int:
    from qplane.decoder.data import TEST_SEED_BASE, VALIDATION_SEED_BASE

    bi = ("X", "Z").index(basis)
    if split == "test":
        return TEST_SEED_BASE + 1_000_000 * distance + 1000 * round(p * 1e4) + bi
    return VALIDATION_SEED_BASE + (1 << 36) + 1_000_000 * distance + 1000 * round(p * 1e4) + bi


def scores(soft, events: np.ndarray) -> dict[str, np.ndarray]:
    """Every gate score (and correlated PyMatching's predictions) for unpacked events."""
    from qplane.decoder.neural_soft import HARD_RULE, uncertainty

    logits = np.concatenate([soft.neural.site_logits(events[i:i + 4096])
                             for i in range(0, len(events), 4096)])
    packed = np.packbits(events, axis=1, bitorder="little")
    corr, weight = soft.neural.matching.decode_batch(
        packed, bit_packed_shots=True, bit_packed_predictions=True, enable_correlations=True,
        return_weights=True)
    plain = soft.matching_uncorrelated.decode_batch(packed, bit_packed_shots=True,
                                                    bit_packed_predictions=True)
    hard, _ = soft.neural.decode_from_logits(events, logits, rule=HARD_RULE)
    return {"correlated": corr, "weight": np.asarray(weight, dtype=np.float64),
            "uncertainty": uncertainty(logits),
            "disagree_pm": np.any(corr != plain, axis=1),
            "disagree_net": np.any(corr != plain, axis=1) | np.any(corr != hard, axis=1)}


def run(args) -> None:
    import torch

    from qplane.codes import memory_circuit
    from qplane.decoder.neural_soft import GATE_SEED, GATE_SHOTS, NeuralSoftDecoder

    torch.set_num_threads(1)
    circuit = memory_circuit(distance=args.distance, rounds=args.distance, basis=args.basis,
                             p=args.p)
    dem = circuit.detector_error_model(decompose_errors=True)
    soft = NeuralSoftDecoder(model=args.model, device="cpu", gate_fraction=0.0,
                             beam=args.beam).compile_decoder_for_dem(dem=dem)
    calib = scores(soft, dem.compile_sampler(seed=GATE_SEED).sample(GATE_SHOTS)[0])
    fractions = [f for f in FRACTIONS if f <= args.max_fraction]
    thresholds = {k: np.array([np.inf if f <= 0 else np.quantile(calib[k], 1.0 - f)
                               for f in fractions]) for k in ("uncertainty", "weight")}
    began = time.perf_counter()
    events, obs = circuit.compile_detector_sampler(
        seed=seed_for(args.split, args.distance, args.p, args.basis)).sample(
            args.shots, separate_observables=True)
    s = scores(soft, events)
    network_s = time.perf_counter() - began
    truth = np.packbits(obs, axis=1, bitorder="little")
    cpm_fail = np.any(s["correlated"] != truth, axis=1)
    top = {k: s[k] >= thresholds[k][-1] for k in thresholds}
    candidates = s["disagree_net"] | top["uncertainty"] | top["weight"] | cpm_fail
    index = np.flatnonzero(candidates)
    print(f"{args.basis}: {args.shots} shots, network+matching {network_s:.0f} s; "
          f"Tesseract on {len(index)} ({len(index) / args.shots:.2%})", flush=True)
    tess_fail, decoded, tess_s = tesseract_failures(soft, events, truth, index, chunk=256)
    print(f"{args.basis}: Tesseract {tess_s:.0f} s ({1e3 * tess_s / max(1, len(index)):.1f} ms "
          f"per shot); correlated PyMatching errors {int(cpm_fail.sum())}", flush=True)
    np.savez_compressed(args.out, cpm_fail=cpm_fail, tess_fail=tess_fail, decoded=decoded,
                        weight=s["weight"], uncertainty=s["uncertainty"],
                        disagree_pm=s["disagree_pm"], disagree_net=s["disagree_net"],
                        fractions=np.array(fractions), thr_uncertainty=thresholds["uncertainty"],
                        thr_weight=thresholds["weight"], network_s=network_s, tess_s=tess_s,
                        tess_shots=len(index))


def tesseract_failures(soft, events: np.ndarray, truth: np.ndarray, index: np.ndarray, *,
                       chunk: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Tesseract (``soft.residual``) on the shots ``index`` only, ``chunk`` shots a call.

    Returns (failed, decoded, seconds): per shot whether Tesseract got the observables wrong
    (False where it did not decode), whether it decoded the shot, and the time it took.
    """
    began = time.perf_counter()
    tess = np.zeros((len(events), truth.shape[1]), dtype=np.uint8)
    for start in range(0, len(index), chunk):
        shots = index[start:start + chunk]
        tess[shots] = np.packbits(soft.residual.decode(events[shots]), axis=1,
                                  bitorder="little")
    seconds = time.perf_counter() - began
    decoded = np.zeros(len(events), dtype=bool)
    decoded[index] = True
    return np.any(tess != truth, axis=1) & decoded, decoded, seconds

def gate_masks(z) -> dict[str, np.ndarray]:
    """``{name: bool (shots,)}`` for every gate variant at every fraction."""
    out = {}
    for i, f in enumerate(z["fractions"]):
        unc = z["uncertainty"] >= z["thr_uncertainty"][i]
        wgt = z["weight"] >= z["thr_weight"][i]
        out[f"network (disagree + uncertainty) f={f:g}"] = z["disagree_net"] | unc
        out[f"no network (PM disagree + weight) f={f:g}"] = z["disagree_pm"] | wgt
        out[f"both f={f:g}"] = z["disagree_net"] | unc | wgt
    return out


def summarise(paths: list[str]) -> None:
    from qplane.bench.decoder import mcnemar

    files = [np.load(p) for p in paths]
    cpm = np.concatenate([z["cpm_fail"] for z in files])
    n = len(cpm)
    print(f"{n} shots; correlated PyMatching {int(cpm.sum())} errors; Tesseract fixes "
          f"{int((cpm & ~np.concatenate([z['tess_fail'] for z in files])).sum())} of them")
    masks = [gate_masks(z) for z in files]
    results = {}
    for name in masks[0]:
        gate = np.concatenate([m[name] for m in masks])
        decoded = np.concatenate([z["decoded"] for z in files])
        if np.any(gate & ~decoded):
            print(f"{name}: outside the decoded union, skipped")
            continue
        fail = np.where(gate, np.concatenate([z["tess_fail"] for z in files]), cpm)
        a, b = int((fail & ~cpm).sum()), int((cpm & ~fail).sum())
        print(f"{name}: gated {gate.mean():.2%}, errors {int(fail.sum())} "
              f"(only soft {a} / only cPM {b}, McNemar p {mcnemar(a, b):.2g}, "
              f"ratio {cpm.sum() / max(1, fail.sum()):.3f})")
        results[name] = (gate, fail)
    print_ablation(results, lambda name: name.startswith("network"))


def print_ablation(results: dict, is_network_gate) -> None:
    """Each network gate against the no-network gate that sends at least as many shots to
    Tesseract (the smallest such), shot for shot: what the network adds to the gate.

    ``results`` maps a gate's name to its (gated, failed) masks; ``is_network_gate(name)`` picks
    the gates to compare.
    """
    from qplane.bench.decoder import mcnemar
    for name, (gate, fail) in results.items():
        if not is_network_gate(name):
            continue
        rivals = [(g.mean(), k) for k, (g, _) in results.items()
                  if k.startswith("no network") and g.mean() >= gate.mean()]
        if not rivals:
            continue
        share, rival = min(rivals)
        other = results[rival][1]
        a, b = int((fail & ~other).sum()), int((other & ~fail).sum())
        print(f"ablation: {name} ({gate.mean():.2%}) {int(fail.sum())} vs {rival} ({share:.2%}) "
              f"{int(other.sum())}: only network-gated wrong {a} / only no-network wrong {b}, "
              f"McNemar p {mcnemar(a, b):.2g}")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distance", type=int, default=7)
    parser.add_argument("--p", type=float, default=0.003)
    parser.add_argument("--basis", choices=("X", "Z"), default="Z")
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--shots", type=int, default=20000)
    parser.add_argument("--model", default="d7")
    parser.add_argument("--beam", default="short")
    parser.add_argument("--out", default="runs/study.npz")
    parser.add_argument("--max-fraction", type=float, default=max(FRACTIONS),
                        help="the largest gate fraction studied (Tesseract decodes its union)")
    parser.add_argument("--summarise", nargs="+", metavar="NPZ")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.summarise)
    else:
        run(args)


if __name__ == "__main__":
    main()
