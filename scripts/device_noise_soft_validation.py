"""``neural-soft`` on a device's LEARNED noise, on validation shots only: which gate fraction?

The bench (``qplane bench device_noise``, :mod:`qplane.bench._soft_rows`) compiles
``neural-soft`` for the DEM learned (pairwise) from the device's training shots, with the
decoder bench's options (``gate_fraction`` 0.05 at d = 3, 5, chosen on nominal-noise validation
shots). This checks that choice on the device before the bench's test shots are decoded:
training shots from seed 60,000 and validation shots from seed 70,000 + basis (the bench uses
20,000 and 10,000), the DEM learned from 30k and 1M of those training shots, each gate fraction
against correlated PyMatching with the same learned DEM on the same shots (paired counts and
McNemar's exact p). One JSON line per (basis, DEM, fraction).

    nice -n 10 python scripts/device_noise_soft_validation.py --distance 5 --shots 5000 \\
        --fractions 0.02 0.05 0.1
"""

from __future__ import annotations

import argparse
import json
import time

#: seeds of the validation check, never the bench's (test 10,000, training 20,000)
TRAIN_SEED, VALIDATION_SEED = 60_000, 70_000


def run(args: argparse.Namespace) -> None:
    import numpy as np

    from qplane.bench._cases import decode
    from qplane.bench._devices import NOMINAL_P, device_circuit
    from qplane.bench.decoder import mcnemar, model_for
    from qplane.codes import memory_circuit
    from qplane.decoder.neural_soft import NeuralSoftDecoder
    from qplane.noise import DemStructure, learn_noise, nominal_dem

    d = args.distance
    for basis in args.bases:
        truth = device_circuit(args.device, d, basis, seed=0)
        s = DemStructure(nominal_dem(memory_circuit(distance=d, rounds=d, basis=basis,
                                                    p=NOMINAL_P)))
        train = truth.compile_detector_sampler(seed=TRAIN_SEED).sample(max(args.train),
                                                                       bit_packed=True)
        dems = {f"{n // 1000}k": learn_noise(train[:n], s, estimator="pairwise").to_dem()
                for n in args.train}
        dets, obs = truth.compile_detector_sampler(seed=VALIDATION_SEED + (basis == "Z")).sample(
            args.shots, separate_observables=True, bit_packed=True)
        events = np.unpackbits(dets, axis=1, bitorder="little", count=s.num_detectors
                               ).astype(bool)
        logits = None
        for label, dem in dems.items():
            corr = np.any(decode(dem, dets, correlated=True) != obs, axis=1)
            for f in args.fractions:
                start = time.perf_counter()
                compiled = NeuralSoftDecoder(model=model_for(d), device="cpu", gate_fraction=f
                                             ).compile_decoder_for_dem(dem=dem)
                if logits is None:
                    logits = compiled.neural.site_logits(events)
                pred, gated = compiled.decode_events(events, logits)
                soft = np.any(pred != obs, axis=1)
                a, b = int(np.sum(corr & ~soft)), int(np.sum(soft & ~corr))
                print(json.dumps({"distance": d, "basis": basis, "dem": label,
                                  "gate_fraction": f, "correlated_errors": int(corr.sum()),
                                  "soft_errors": int(soft.sum()), "only_correlated_wrong": a,
                                  "only_soft_wrong": b, "mcnemar_p": mcnemar(a, b),
                                  "gated": float(gated.mean()),
                                  "seconds": time.perf_counter() - start}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distance", type=int, default=5)
    ap.add_argument("--device", default="miscalibrated")
    ap.add_argument("--bases", nargs="+", default=["X", "Z"])
    ap.add_argument("--shots", type=int, default=5000, help="validation shots per basis")
    ap.add_argument("--train", type=int, nargs="+", default=[30_000, 1_000_000])
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    run(ap.parse_args())


if __name__ == "__main__":
    main()
