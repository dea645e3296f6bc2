"""Training the learned second opinion on domain-randomised sweeps (CPU, a few minutes).

``qplane calibration train-classifier --out qplane/calibration/models/sweep_classifier.safetensors``

The data are two sets, each of every node type and failure mode:

- :func:`~qplane.calibration.synthetic.make_case`: the nodes' own requests on qplane's
  single-qubit generator (readout has no sweep, so no ``off_range``/``undersampled`` there),
  the qubit drawn at the training spread and its settings drifted 0.5–1.5× the nominal drift;
- :func:`~qplane.calibration.domain.train_set`: the *train* families of
  :mod:`qplane.calibration.domain` (random ranges, point counts, noise types and levels —
  binomial, Gaussian, 1/f technical, averaged IQ — gains, offsets, units).

Inputs are :func:`~qplane.calibration.classifier.features` (layout-invariant: the normalised
sweep, the normalised signal, the fit's residuals and the gate's numbers). Validation uses fresh
seeds of the same distributions; the benchmark (``qplane bench calibration``) evaluates on the
*held-out* families of :mod:`qplane.calibration.domain`, which training never sees.

>>> cases = dataset(1, seed=0)   # qplane's own generator; domain.train_set is the other half
>>> len(cases), sorted({m for _, m in cases})[:2]
(34, ['anomalous', 'no_signal'])
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import torch

from qplane.calibration.classifier import (
    MODE_CLASS,
    MODES,
    LearnedSecondOpinion,
    SweepClassifier,
    features,
)
from qplane.calibration.synthetic import make_case
from qplane.device import SINGLE_QUBIT_KINDS, ExperimentData, ExperimentKind

READOUT_MODES = ("ok", "noisy", "anomalous", "no_signal")


def modes_for(kind: ExperimentKind) -> tuple[str, ...]:
    """The failure modes that exist for an experiment kind."""
    return READOUT_MODES if kind is ExperimentKind.READOUT_IQ else MODES


def dataset(per_cell: int, *, seed: int, spread: float = 1.0,
            drift: tuple[float, float] = (0.5, 1.5)) -> list[tuple[ExperimentData, str]]:
    """``per_cell`` labelled cases for every (kind, mode) pair."""
    rng = np.random.default_rng(seed)
    out = []
    for kind in SINGLE_QUBIT_KINDS:
        for mode in modes_for(kind):
            for _ in range(per_cell):
                data, _, _ = make_case(kind, mode, rng, spread=spread,
                                       drift=float(rng.uniform(*drift)))
                out.append((data, mode))
    return out


def feature_cases(per_cell: int, domain_per_cell: int, *, seed: int, log: Any = None
                  ) -> list[tuple[tuple[np.ndarray, np.ndarray], str]]:
    """Features and modes of both training sets (see the module)."""
    from qplane.calibration.analysis import analyse
    from qplane.calibration.classifier import analysis_features
    from qplane.calibration.domain import train_set

    out = [(features(d), m) for d, m in dataset(per_cell, seed=seed)]
    if log:
        log(f"{len(out)} synthetic cases analysed")
    for c in train_set(domain_per_cell, seed=seed + 500):
        r = analyse(c.kind, second_opinion=False, **c.analyse_args())
        out.append((analysis_features(r), c.mode))
    return out


def tensors(cases: list[tuple[tuple[np.ndarray, np.ndarray], str]]) -> tuple[torch.Tensor, ...]:
    xs, ss = zip(*(f for f, _ in cases))
    y = [MODES.index(m) for _, m in cases]
    return (torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ss)),
            torch.tensor(y, dtype=torch.long))


def class_accuracy(model: SweepClassifier,
                   cases: list[tuple[tuple[np.ndarray, np.ndarray], str]]) -> float:
    """Accuracy on the outcome class (what the benchmark's target is stated on)."""
    op = LearnedSecondOpinion(model, {})
    verdicts = op.predict_features([f for f, _ in cases])
    model.train()
    return float(np.mean([v.label == MODE_CLASS[m] for v, (_, m) in zip(verdicts, cases)]))


def train(*, per_cell: int = 20, domain_per_cell: int = 20, epochs: int = 60, seed: int = 1,
          width: int = 24, lr: float = 3e-3, weight_decay: float = 1e-4, log: Any = print,
          cases: list[Any] | None = None, val_cases: list[Any] | None = None
          ) -> tuple[SweepClassifier, dict[str, Any]]:
    """Train a classifier; returns it and its model card.

    ``cases`` / ``val_cases``: precomputed :func:`feature_cases` (the analysis is the slow
    part), instead of generating them from ``seed``.
    """
    from qplane.calibration.classifier import FEATURES_VERSION
    from qplane.calibration.domain import NOISES, TRAIN_FAMILIES

    torch.manual_seed(seed)
    t0 = time.time()
    train_cases = cases if cases is not None else feature_cases(per_cell, domain_per_cell,
                                                                seed=seed, log=log)
    if val_cases is None:
        val_cases = feature_cases(max(per_cell // 5, 3), max(domain_per_cell // 5, 3),
                                  seed=seed + 1000)
    x, s, y = tensors(train_cases)
    log(f"{len(train_cases)} training cases analysed in {time.time() - t0:.1f} s")
    model = SweepClassifier(width=width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(y)
    for epoch in range(epochs):
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(x[idx], s[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            log(f"epoch {epoch + 1}: loss {total / n:.4f}, validation class accuracy "
                f"{class_accuracy(model, val_cases):.4f}")
    fingerprint = hashlib.sha256(x.numpy().tobytes()[:1_000_000]).hexdigest()[:16]
    card = {
        "name": "sweep_classifier", "format_version": 2, "features_version": FEATURES_VERSION,
        "width": width, "parameters": sum(p.numel() for p in model.parameters()),
        "modes": list(MODES), "classes": sorted(set(MODE_CLASS.values())),
        "training": {"seed": seed, "per_cell": per_cell, "domain_per_cell": domain_per_cell,
                     "cases": len(train_cases), "epochs": epochs, "lr": lr,
                     "weight_decay": weight_decay,
                     "optimizer": "AdamW, cosine schedule, batch 64",
                     "synthetic": {"spread": 1.0, "drift": [0.5, 1.5]},
                     "domain_families": sorted(f for v in TRAIN_FAMILIES.values() for f in v),
                     "domain_noises": list(NOISES),
                     "data_fingerprint": fingerprint,
                     "seconds": round(time.time() - t0, 1),
                     "command": "qplane calibration train-classifier"},
        "validation": {"cases": len(val_cases),
                       "class_accuracy": class_accuracy(model, val_cases)},
    }
    return model, card
