"""Leave-one-generation-out validation of the session-6 second opinion (docs/calibration.md,
*Session 6: the second opinion*).

    OMP_NUM_THREADS=1 nice python scripts/second_opinion_logo.py \
        --config config/calibration/classifier_v5.yaml --out runs/so6/logo.json

For each of generations 1-6 (session 7; 1-5 in session 6): an ensemble trained on the
config's train sets minus that generation, measured on it (by default the generation's own
train-seed cases, which that fold does not train on); the shipped v2 and the v4 and v5
candidates on the same analyses. ``--drop`` leaves further sets out (ablations),
``--v4-features`` zeroes the version-5 inputs (channels 3-4, scalars after version 4's),
``--mask`` zeroes named inputs (:data:`MASKS`) in training and test, ``--with-v2`` adds the
shipped v2 as one more member of each fold's ensemble (averaged in probability).

Session 9: folds over generations 1-7; the v6 candidate is measured beside v2 / v4 / v5 (its
numbers on gens 1-6 are in-distribution: it was trained on them); each fold reports its first
member alone (``member1``: what a one-member fold of the same seed gives) and three rules for
``unsure`` with the share of the errors each marks (``unsure_rules``): the fixed
``abstain_below`` of the config, the members' disagreement, and a threshold chosen on the
config's validation sets without the held-out generation (``unsure_catch`` of the config,
default 0.5, with the disagreement rule when the config sets it).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

#: input groups ``--mask`` can zero: (channels, scalar indices)
MASKS = {"npoints": ((), (6,)), "signal_type": ((), (7,)),
         "normalised": ((0, 1, 2), ()), "canonical": ((3, 4), ())}


def main() -> int:
    from qplane.calibration.classifier import (
        V4_MODEL,
        V4_SCALARS,
        V5_MODEL,
        V6_MODEL,
        LearnedSecondOpinion,
        SweepEnsemble,
    )
    from qplane.calibration.training_ensemble import (
        BENCH_SEEDS, abstain_threshold, fit_ensemble, judge, load_config, rows_of)
    from qplane.calibration.training_sets import GENERATIONS, analysed, feature_rows

    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--drop", nargs="*", default=[])
    ap.add_argument("--members", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--input-noise", type=float, default=None)
    ap.add_argument("--v4-features", action="store_true")
    ap.add_argument("--mask", nargs="*", default=[], choices=sorted(MASKS))
    ap.add_argument("--with-v2", action="store_true")
    ap.add_argument("--per-family", type=int, default=30)
    ap.add_argument("--test", choices=("bench", "train"), default="train",
                    help="measure on the benchmark's seeds, or on the held-out generation's "
                         "train-seed cases (not trained on in that fold; default)")
    ap.add_argument("--generations", nargs="*", default=list(GENERATIONS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(args.config)
    for k in ("members", "epochs", "input_noise"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    sets = {k: v for k, v in cfg["train_sets"].items() if k not in args.drop}
    train = rows_of(sets, cfg["cache"], print)
    feats = feature_rows(train)

    def mask(fs):
        if not args.v4_features and not args.mask:
            return fs
        out = []
        for (x, s), m in fs:
            x, s = x.copy(), s.copy()
            if args.v4_features:
                x[3:] = 0
                s[V4_SCALARS:] = 0
            for name in args.mask:
                chans, scal = MASKS[name]
                x[list(chans)] = 0
                s[list(scal)] = 0
            out.append(((x, s), m))
        return out

    feats = mask(feats)
    old = {"v2": LearnedSecondOpinion.load(), "v4": LearnedSecondOpinion.load(V4_MODEL),
           "v5": LearnedSecondOpinion.load(V5_MODEL), "v6": LearnedSecondOpinion.load(V6_MODEL)}
    val_sets = {k: v for k, v in cfg.get("validation_sets", {}).items() if k not in args.drop}
    val = rows_of(val_sets, cfg["cache"], print) if val_sets else []
    val_feats = mask(feature_rows(val))
    res = {"config": args.config, "drop": args.drop, "test": args.test, "v4_features": args.v4_features,
           "mask": args.mask, "with_v2": args.with_v2,
           "members": cfg["members"], "epochs": cfg["epochs"],
           "input_noise": cfg["input_noise"], "generations": {}}
    t0 = time.process_time()
    for gen in args.generations:
        keep = [f for r, f in zip(train, feats) if r.generation != gen]
        model = fit_ensemble(keep, cfg)
        if args.with_v2:
            model = SweepEnsemble([old["v2"].model, *model.members]).eval()
        if args.test == "bench":
            test_rows = analysed(gen, args.per_family, seed=BENCH_SEEDS[gen], cache=cfg["cache"])
        else:   # the generation's own train-seed rows, which this fold does not train on
            test_rows = [r for r in train if r.generation == gen]
        test = mask(feature_rows(test_rows))
        rules = {"abstain_below": cfg["abstain_below"],
                 **({"unsure_on_disagreement": True} if cfg["unsure_on_disagreement"] else {})}
        g = judge(model, test, rules)
        if len(model.members) > 1:
            g["member1"] = judge(model.members[0], test)["class_accuracy"]
        fold_val = [f for r, f in zip(val, val_feats) if r.generation != gen]
        catch = float(cfg["unsure_catch"] if cfg["unsure_catch"] is not None else 0.5)
        calibrated = {k: v for k, v in rules.items() if k != "abstain_below"}
        calibrated["abstain_below"] = abstain_threshold(model, fold_val, catch=catch,
                                                        card=calibrated) if fold_val else 0.0
        g["unsure_rules"] = {
            "fixed": judge(model, test, {"abstain_below": cfg["abstain_below"]}),
            "disagreement": judge(model, test, {"unsure_on_disagreement": True}),
            "calibrated": {**judge(model, test, calibrated),
                           "abstain_below": calibrated["abstain_below"], "catch": catch,
                           "validation_cases": len(fold_val)}}
        g["trained_on"] = sorted({r.generation for r in train if r.generation != gen})
        g["train_cases"] = len(keep)
        raw = feature_rows(test_rows)   # the old models read their own, unmasked inputs
        if not args.with_v2:   # the same fold's members with v2 beside them, for comparison
            both = SweepEnsemble([old["v2"].model, *model.members]).eval()
            g["plus_v2"] = judge(both, test)["class_accuracy"]
        for name, op in old.items():
            g[name] = judge(op.model, raw)["class_accuracy"]
        fam = {}
        op = type(old["v2"])(model, rules)
        verdicts = op.predict_features([f for f, _ in test])
        from qplane.calibration.classifier import MODE_CLASS
        for r, v, (_, m) in zip(test_rows, verdicts, test):
            fam.setdefault(r.family, []).append(v.label == MODE_CLASS[m])
        g["per_family"] = {k: float(np.mean(v)) for k, v in sorted(fam.items())}
        res["generations"][gen] = g
        ur = g["unsure_rules"]
        print(f"{gen}: new {g['class_accuracy']:.3f} (member1 {g.get('member1', float('nan')):.3f}"
              f"; unsure {g['unsure']:.2f}, when sure "
              f"{g.get('class_accuracy_when_sure', 0):.3f}; unsure share / errors caught: "
              + ", ".join(f"{k} {v['unsure']:.2f}/{v.get('unsure_catches', float('nan')):.2f}"
                          for k, v in ur.items())
              + f") v2 {g['v2']:.3f} v5 {g['v5']:.3f} v6 {g['v6']:.3f} "
              f"plus v2 {g.get('plus_v2', float('nan')):.3f}; "
              f"worst {sorted(g['per_family'].items(), key=lambda kv: kv[1])[:3]}", flush=True)
    acc = [res["generations"][g]["class_accuracy"] for g in res["generations"]]
    n = [res["generations"][g]["cases"] for g in res["generations"]]
    res["pooled"] = float(np.dot(acc, n) / sum(n))
    res["mean_over_generations"] = float(np.mean(acc))
    for name in [*old, "plus_v2"][:len(old) + (not args.with_v2)]:
        a = [res["generations"][g][name] for g in res["generations"]]
        res[f"pooled_{name}"] = float(np.dot(a, n) / sum(n))
        res[f"mean_over_generations_{name}"] = float(np.mean(a))
    if all("member1" in res["generations"][g] for g in res["generations"]):
        a = [res["generations"][g]["member1"] for g in res["generations"]]
        res["pooled_member1"] = float(np.dot(a, n) / sum(n))
    res["unsure_rules"] = {}
    for rule in ("fixed", "disagreement", "calibrated"):
        per = [res["generations"][g]["unsure_rules"][rule] for g in res["generations"]]
        errors = [c["cases"] * (1 - acc) for c, acc in zip(per, acc)]
        res["unsure_rules"][rule] = {
            "unsure": float(np.dot([c["unsure"] for c in per], n) / sum(n)),
            "errors_caught": float(np.dot([c.get("unsure_catches", 0.0) for c in per], errors)
                                   / max(sum(errors), 1e-9))}
    res["cpu_s"] = round(time.process_time() - t0, 1)
    print(f"pooled {res['pooled']:.3f} (mean over generations {res['mean_over_generations']:.3f});"
          f" v2 {res['pooled_v2']:.3f} ({res['mean_over_generations_v2']:.3f}), v5 "
          f"{res['pooled_v5']:.3f} ({res['mean_over_generations_v5']:.3f}); plus v2 "
          f"{res.get('pooled_plus_v2', float('nan')):.3f}; v6 {res['pooled_v6']:.3f}; member1 "
          f"{res.get('pooled_member1', float('nan')):.3f}; unsure (share/errors caught) "
          + ", ".join(f"{k} {v['unsure']:.2f}/{v['errors_caught']:.2f}"
                      for k, v in res["unsure_rules"].items()) + f"; {res['cpu_s']} s CPU")
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
