"""Do *calibrated* network probabilities help Tesseract as priors on ``neural-soft``'s shots?

The shipped networks' raw probabilities made Tesseract worse at every prior weight
(docs/decoder.md, "neural-soft"). Here they are first calibrated by temperature scaling,
``logit' = logit / T + b``, with ``(T, b)`` fitted by binary cross-entropy against the exact site
labels of *gated* shots (the shots Tesseract sees) on one validation set (DEM-sampled, seeds
``2^40 + 2^37 + ...``), then used as priors (``blend_priors`` at several weights) on the gated
shots of a second validation set (the gate study's seeds, ``scripts/neural_soft_study.py``).
Errors are counted over the gated shots only (the other shots are correlated PyMatching's
either way). Validation shots only; nothing here touches test seeds.

    nice -n 10 python scripts/neural_soft_priors.py --distance 5 --p 0.005 --basis X
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def run(args) -> None:
    import torch

    from qplane.codes import memory_circuit
    from qplane.decoder.data import VALIDATION_SEED_BASE
    from qplane.decoder.neural_soft import NeuralSoftDecoder
    from qplane.decoder.site_priors import blend_priors, fit_temperature, site_bce

    torch.set_num_threads(1)
    bi = ("X", "Z").index(args.basis)
    circuit = memory_circuit(distance=args.distance, rounds=args.distance, basis=args.basis,
                             p=args.p)
    dem = circuit.detector_error_model(decompose_errors=True)
    soft = NeuralSoftDecoder(model=args.model, device="cpu", beam="short",
                             gate_fraction=args.gate_fraction).compile_decoder_for_dem(dem=dem)
    sites = soft.neural.sites
    # Set A (fit): DEM-sampled, with the fired mechanisms, so the site labels are exact.
    seed_a = VALIDATION_SEED_BASE + (1 << 37) + 1_000_000 * args.distance + 1000 * round(
        args.p * 1e4) + bi
    dets, _, errors = dem.compile_sampler(seed=seed_a).sample(args.fit_shots, return_errors=True)
    logits = soft.neural.site_logits(dets)
    gated, _ = soft.gate(dets, logits)
    labels = sites.labels(errors[gated])
    t, b = fit_temperature(logits[gated], labels)
    print(f"fit on {int(gated.sum())} gated of {args.fit_shots} shots: T = {t:.3f}, b = {b:.3f}; "
          f"site BCE raw {site_bce(logits[gated], labels):.5f}, calibrated "
          f"{site_bce(logits[gated] / t + b, labels):.5f}", flush=True)
    # Set B (evaluate): the gate study's validation shots.
    seed_b = VALIDATION_SEED_BASE + (1 << 36) + 1_000_000 * args.distance + 1000 * round(
        args.p * 1e4) + bi
    events, obs = circuit.compile_detector_sampler(seed=seed_b).sample(
        args.shots, separate_observables=True)
    logits = soft.neural.site_logits(events)
    gated, corr = soft.gate(events, logits)
    index = np.flatnonzero(gated)
    truth = obs[index]
    cpm = int(np.any(np.unpackbits(corr[index], axis=1, bitorder="little",
                                   count=obs.shape[1]).astype(bool) != truth, axis=1).sum())
    base = soft.residual.decode(events[index])
    print(f"{len(index)} gated of {args.shots}: correlated PyMatching {cpm} errors there, "
          f"Tesseract (DEM priors) {int(np.any(base != truth, axis=1).sum())}", flush=True)
    for name, lg in (("calibrated", logits[index] / t + b), ("raw", logits[index])):
        for w in args.weights:
            began = time.perf_counter()
            flips = soft.residual.decode(events[index], blend_priors(soft.residual.site_prior,
                                                                     lg, w))
            fail = np.any(flips != truth, axis=1)
            base_fail = np.any(base != truth, axis=1)
            print(f"{name} weight {w}: {int(fail.sum())} errors (only priors wrong "
                  f"{int((fail & ~base_fail).sum())}, only DEM wrong "
                  f"{int((base_fail & ~fail).sum())}; {time.perf_counter() - began:.0f} s)",
                  flush=True)
            if name == "raw":
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distance", type=int, default=5)
    parser.add_argument("--p", type=float, default=0.005)
    parser.add_argument("--basis", choices=("X", "Z"), default="X")
    parser.add_argument("--model", default="d5")
    parser.add_argument("--gate-fraction", type=float, default=0.05)
    parser.add_argument("--fit-shots", type=int, default=20000)
    parser.add_argument("--shots", type=int, default=4000)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    run(parser.parse_args())


if __name__ == "__main__":
    main()
