"""One held-out generation's blind measurement: gate, fit accuracy and second opinion on it alone.

A new generation of held-out calibration families (``qplane/calibration/domain_genN.py``) is
measured once, on the code as it stands before anyone tunes on it, and that measurement is kept
beside ``bench/results/calibration.json`` (which later sessions rewrite on their own code). This
runs exactly what ``qplane bench calibration`` runs for ``families_genN`` (the same set, seed and
evaluation) without the other sets, so it takes minutes instead of the whole benchmark:

    python scripts/blind_generation.py --generation 15 --out runs/bench/calibration_gen15_blind.json

The results do not depend on ``--jobs``. Never point ``--out`` at a committed file from an
earlier measurement: a generation has one blind measurement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from qplane.bench.calibration import GENERATION_SEED_OFFSET as SEED_OFFSET


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generation", type=int, required=True, choices=sorted(SEED_OFFSET))
    ap.add_argument("--per-family", type=int, default=30)
    ap.add_argument("--seed", type=int, default=777, help="the benchmark's seed (default 777)")
    ap.add_argument("--compare-model",
                    default="qplane/calibration/models/sweep_classifier_v6.safetensors")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        sys.exit(f"{out} exists: a generation's blind measurement is written once")

    from qplane.bench.calibration import TARGETS, evaluate_families, generation, targets_met
    from qplane.calibration.classifier import LearnedSecondOpinion

    n = args.generation
    families, make_set = generation(n)
    t0 = time.time()
    opinion = LearnedSecondOpinion.load()
    compare = LearnedSecondOpinion.load(args.compare_model) if args.compare_model else None
    seed = args.seed + SEED_OFFSET[n]
    fam = evaluate_families(make_set(args.per_family, seed=seed), opinion, jobs=args.jobs,
                            compare=compare)
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    results = {"benchmark": "calibration", "measurement": f"generation {n}, blind",
               "code": rev, "seed": seed, "targets": TARGETS,
               f"gen{n}_families": sorted(families), "model_card": opinion.card,
               **({"compare_model": Path(args.compare_model).name} if compare else {}),
               f"families_gen{n}": fam, f"targets_met_gen{n}": targets_met(fam),
               "seconds": round(time.time() - t0, 1)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=float) + "\n")
    keys = ("cases", "gate_accepts_good", "gate_rejects_bad", "within_2sigma",
            "rabi_bias_abs_max", "model_class_accuracy", "compare_model_class_accuracy")
    print({k: fam[k] for k in keys if k in fam}, f"({results['seconds']} s) -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
