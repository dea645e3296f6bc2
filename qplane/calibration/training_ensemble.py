"""The session-6 recipe of the second opinion: an ensemble trained from a config, validated
leave-one-generation-out.

``qplane calibration train-classifier --config config/calibration/classifier_v5.yaml``

The config (:func:`load_config`) names the analysed sets of
:mod:`~qplane.calibration.training_sets` to train on (``train_sets``: name → ``[size, seed]``)
and those of the card's validation (``validation_sets``, fresh seeds), the cache folder, and
the network's recipe: ``members`` (an ensemble of independently initialised
:class:`~qplane.calibration.classifier.SweepClassifier`, averaged in probability),
``epochs``, ``lr``, ``weight_decay``, ``label_smoothing``, ``width``, ``seed``,
``input_noise`` (Gaussian noise of that σ added to every input while training), and
``abstain_below`` (a verdict whose class probability is below it is marked ``unsure``) and
``with_v2`` (session 7: the shipped v2 model, unchanged, as one more member beside the trained
ones; the card then lists each member's inputs as ``member_reads``). Session 9:
``unsure_on_disagreement`` (a verdict is unsure when the members name different outcome
classes) and ``unsure_catch`` (when set, ``abstain_below`` is chosen on the validation sets,
never the test: the confidence below which that share of the validation errors lies,
:func:`abstain_threshold`).

``scripts/second_opinion_logo.py`` is the validation of transfer: for each generation of
:data:`~qplane.calibration.training_sets.GENERATIONS`, :func:`fit_ensemble` on the config's
sets *without that generation*, measured with :func:`judge` on it (families never in that
model's training).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qplane.calibration.classifier import (
    FEATURES_VERSION,
    MODE_CLASS,
    MODES,
    LearnedSecondOpinion,
    SweepClassifier,
    SweepEnsemble,
)
from qplane.calibration.training import tensors
from qplane.calibration.training_sets import AnalysedCase, analysed, feature_rows

#: the benchmark's seeds and size for the generations (what leave-one-out measures on)
BENCH_SEEDS = {"gen1": 777, "gen2": 777, "gen3": 777, "gen4": 783, "gen5": 785, "gen6": 787,
               "gen7": 789, "gen8": 791, "gen9": 793, "gen10": 795, "gen11": 797, "gen12": 799,
               "gen13": 801, "gen14": 803, "gen15": 805}
DEFAULTS = {"members": 3, "epochs": 40, "lr": 3e-3, "weight_decay": 1e-3,
            "label_smoothing": 0.05, "width": 24, "seed": 61, "abstain_below": 0.5,
            "input_noise": 0.0, "with_v2": False, "unsure_on_disagreement": False,
            "unsure_catch": None, "cache": "runs/calibration/cache_v5"}


def load_config(path: str | Path) -> dict[str, Any]:
    """The training config (YAML) with :data:`DEFAULTS` filled in."""
    import yaml

    with Path(path).open() as f:
        cfg = yaml.safe_load(f) or {}
    unknown = set(cfg) - set(DEFAULTS) - {"train_sets", "validation_sets"}
    if unknown:
        raise ValueError(f"unknown training config keys {sorted(unknown)}; known: "
                         f"{sorted(set(DEFAULTS) | {'train_sets', 'validation_sets'})}")
    return {**DEFAULTS, **cfg}


def rows_of(sets: dict[str, Any], cache: str | None, log: Any = None) -> list[AnalysedCase]:
    """The analysed rows of ``sets`` (name → ``[size, seed]``)."""
    out: list[AnalysedCase] = []
    for name, (n, seed) in sets.items():
        t0 = time.process_time()
        rows = analysed(name, int(n), seed=int(seed), cache=cache)
        if log:
            log(f"{name}: {len(rows)} cases ({time.process_time() - t0:.0f} s CPU)")
        out += rows
    return out


def fit_ensemble(feats: list[Any], cfg: dict[str, Any], log: Any = None) -> SweepEnsemble:
    """Train ``cfg['members']`` classifiers on ``feats`` (features, mode), each from its own
    seed, with label smoothing and class-balanced sampling weights (every mode weighs the
    same in the loss)."""
    x, s, y = tensors(feats)
    counts = torch.bincount(y, minlength=len(MODES)).float()
    weight = torch.where(counts > 0, counts.sum() / (len(MODES) * counts.clamp_min(1)), 0.0)
    members = []
    noise = float(cfg["input_noise"])
    for k in range(int(cfg["members"])):
        torch.manual_seed(int(cfg["seed"]) + 1000 * k)
        model = SweepClassifier(width=int(cfg["width"]))
        opt = torch.optim.AdamW(model.parameters(), lr=float(cfg["lr"]),
                                weight_decay=float(cfg["weight_decay"]))
        epochs = int(cfg["epochs"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
        for _ in range(epochs):
            perm = torch.randperm(len(y))
            for i in range(0, len(y), 64):
                idx = perm[i:i + 64]
                xb, sb = x[idx], s[idx]
                if noise:   # input noise: no single input decides alone
                    xb = xb + noise * torch.randn_like(xb)
                    sb = sb + noise * torch.randn_like(sb)
                loss = torch.nn.functional.cross_entropy(
                    model(xb, sb), y[idx], weight=weight,
                    label_smoothing=float(cfg["label_smoothing"]))
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
        members.append(model.eval())
        if log:
            log(f"member {k + 1}: trained on {len(y)} cases")
    return SweepEnsemble(members).eval()


def judge(model: torch.nn.Module, feats: list[Any], card: dict[str, Any] | None = None
          ) -> dict[str, Any]:
    """Class accuracy of ``model`` on ``feats``; with the card's ``abstain_below``, also the
    share marked unsure and the accuracy on the rest."""
    op = LearnedSecondOpinion(model, card or {})
    verdicts = []
    for i in range(0, len(feats), 512):
        verdicts += op.predict_features([f for f, _ in feats[i:i + 512]])
    ok = np.array([v.label == MODE_CLASS[m] for v, (_, m) in zip(verdicts, feats)])
    unsure = np.array([v.unsure for v in verdicts])
    out = {"cases": len(feats), "class_accuracy": float(ok.mean()) if len(ok) else 0.0,
           "unsure": float(unsure.mean()) if len(ok) else 0.0}
    if len(ok) and (~unsure).any():
        out["class_accuracy_when_sure"] = float(ok[~unsure].mean())
    if len(ok) and (~ok).any():   # the share of the errors that unsure marks
        out["unsure_catches"] = float(unsure[~ok].mean())
    return out


def abstain_threshold(model: torch.nn.Module, feats: list[Any], *, catch: float,
                      card: dict[str, Any] | None = None) -> float:
    """The ``abstain_below`` at which ``unsure`` marks the share ``catch`` of the errors on
    ``feats`` (validation cases, never the test), counting only the errors the card's other
    rule (``unsure_on_disagreement``) leaves unmarked; 0.0 when there are none.

    The threshold is the ``catch`` quantile of those errors' confidences (just above it), so
    on cases like the validation's about that share of the errors is marked; on shifted data,
    where the model is less sure, more are.
    """
    rule = {k: v for k, v in (card or {}).items() if k == "unsure_on_disagreement"}
    op = LearnedSecondOpinion(model, rule)
    verdicts = []
    for i in range(0, len(feats), 512):
        verdicts += op.predict_features([f for f, _ in feats[i:i + 512]])
    conf = np.array([v.confidence for v, (_, m) in zip(verdicts, feats)
                     if v.label != MODE_CLASS[m] and not v.unsure])
    if not len(conf):
        return 0.0
    return float(np.nextafter(np.quantile(conf, catch), 1.0))


def train_from_config(path: str | Path, log: Any = print) -> tuple[SweepEnsemble, dict[str, Any]]:
    """The ensemble of a config and its model card (validation on the config's fresh seeds)."""
    cfg = load_config(path)
    t0 = time.time()
    torch.set_num_threads(1)
    rows = rows_of(cfg["train_sets"], cfg["cache"], log)
    feats = feature_rows(rows)
    model = fit_ensemble(feats, cfg, log)
    if cfg["with_v2"]:
        from qplane.calibration.classifier import DEFAULT_MODEL

        model = SweepEnsemble([LearnedSecondOpinion.load(DEFAULT_MODEL).model,
                               *model.members]).eval()
    val_rows = rows_of(cfg["validation_sets"], cfg["cache"], log)
    card_bits = {"abstain_below": float(cfg["abstain_below"]),
                 **({"unsure_on_disagreement": True} if cfg["unsure_on_disagreement"] else {})}
    if cfg["unsure_catch"] is not None:   # chosen on the validation sets
        card_bits["abstain_below"] = abstain_threshold(
            model, feature_rows(val_rows), catch=float(cfg["unsure_catch"]), card=card_bits)
        card_bits["unsure_catch"] = float(cfg["unsure_catch"])
    val = judge(model, feature_rows(val_rows), card_bits)
    val["per_set"] = {name: judge(model, feature_rows([r for r in val_rows
                                                       if r.generation == name]))
                      ["class_accuracy"] for name in cfg["validation_sets"]}
    x = np.stack([f[0] for f, _ in feats])
    card = {
        "name": "sweep_classifier", "format_version": 3, "features_version": FEATURES_VERSION,
        "width": int(cfg["width"]), "members": len(model.members),
        "parameters": sum(p.numel() for p in model.parameters()),
        "modes": list(MODES), "classes": sorted(set(MODE_CLASS.values())), **card_bits,
        **({"with_v2": True, "member_reads": [[m.channels, m.scalars, m.conv[0].out_channels]
                                              for m in model.members]}
           if cfg["with_v2"] else {}),
        "training": {"config": str(path), "sets": cfg["train_sets"], "cases": len(feats),
                     "epochs": cfg["epochs"], "lr": cfg["lr"],
                     "weight_decay": cfg["weight_decay"],
                     "label_smoothing": cfg["label_smoothing"], "seed": cfg["seed"],
                     "input_noise": cfg["input_noise"],
                     "optimizer": "AdamW, cosine schedule, batch 64, class-balanced loss",
                     "generations": sorted({r.generation for r in rows
                                            if r.generation.startswith("gen")}),
                     "data_fingerprint": hashlib.sha256(x.tobytes()[:1_000_000]).hexdigest()[:16],
                     "seconds": round(time.time() - t0, 1),
                     "command": f"qplane calibration train-classifier --config {path}"},
        "validation": {"sets": cfg["validation_sets"], **val},
    }
    return model, card
