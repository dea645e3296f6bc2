"""Training the learned second opinion on simulated sweeps (CPU, a few minutes).

``qplane calibration train-classifier --out qplane/calibration/models/sweep_classifier.safetensors``

The data are :func:`~qplane.calibration.synthetic.make_case` sweeps of every node type and
failure mode (readout has no sweep, so no ``off_range``/``undersampled`` there), with the qubit
drawn at the training spread (``spread=1``) and its settings drifted by ``drift`` in
``[0.5, 1.5]``. Validation uses fresh seeds of the same distribution; the benchmark
(``qplane bench calibration``) tests on further seeds *and* on wider spreads, stronger drift and
the simulated lab's own device, none of which training sees.

>>> cases = dataset(1, seed=0)
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
from qplane.device import ExperimentData, ExperimentKind

READOUT_MODES = ("ok", "noisy", "anomalous", "no_signal")


def modes_for(kind: ExperimentKind) -> tuple[str, ...]:
    """The failure modes that exist for an experiment kind."""
    return READOUT_MODES if kind is ExperimentKind.READOUT_IQ else MODES


def dataset(per_cell: int, *, seed: int, spread: float = 1.0,
            drift: tuple[float, float] = (0.5, 1.5)) -> list[tuple[ExperimentData, str]]:
    """``per_cell`` labelled cases for every (kind, mode) pair."""
    rng = np.random.default_rng(seed)
    out = []
    for kind in ExperimentKind:
        for mode in modes_for(kind):
            for _ in range(per_cell):
                data, _, _ = make_case(kind, mode, rng, spread=spread,
                                       drift=float(rng.uniform(*drift)))
                out.append((data, mode))
    return out


def tensors(cases: list[tuple[ExperimentData, str]]) -> tuple[torch.Tensor, ...]:
    xs, ss = zip(*(features(d) for d, _ in cases))
    y = [MODES.index(m) for _, m in cases]
    return (torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ss)),
            torch.tensor(y, dtype=torch.long))


def class_accuracy(model: SweepClassifier, cases: list[tuple[ExperimentData, str]]) -> float:
    """Accuracy on the outcome class (what the benchmark's target is stated on)."""
    op = LearnedSecondOpinion(model, {})
    verdicts = op.predict([d for d, _ in cases])
    model.train()
    return float(np.mean([v.label == MODE_CLASS[m] for v, (_, m) in zip(verdicts, cases)]))


def train(*, per_cell: int = 300, epochs: int = 40, seed: int = 1, width: int = 24,
          lr: float = 3e-3, log: Any = print) -> tuple[SweepClassifier, dict[str, Any]]:
    """Train a classifier; returns it and its model card."""
    torch.manual_seed(seed)
    t0 = time.time()
    train_cases = dataset(per_cell, seed=seed)
    val_cases = dataset(max(per_cell // 5, 4), seed=seed + 1000)
    x, s, y = tensors(train_cases)
    log(f"{len(train_cases)} training cases generated in {time.time() - t0:.1f} s")
    model = SweepClassifier(width=width)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(y)
    for epoch in range(epochs):
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, 128):
            idx = perm[i:i + 128]
            loss = torch.nn.functional.cross_entropy(model(x[idx], s[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            log(f"epoch {epoch + 1}: loss {total / n:.4f}, validation class accuracy "
                f"{class_accuracy(model, val_cases):.4f}")
    fingerprint = hashlib.sha256(x.numpy().tobytes()[:1_000_000]).hexdigest()[:16]
    card = {
        "name": "sweep_classifier", "format_version": 1, "width": width,
        "parameters": sum(p.numel() for p in model.parameters()),
        "modes": list(MODES), "classes": sorted(set(MODE_CLASS.values())),
        "training": {"seed": seed, "per_cell": per_cell, "cases": len(train_cases),
                     "epochs": epochs, "lr": lr, "optimizer": "AdamW, cosine schedule",
                     "spread": 1.0, "drift": [0.5, 1.5], "data_fingerprint": fingerprint,
                     "seconds": round(time.time() - t0, 1),
                     "command": "qplane calibration train-classifier"},
        "validation": {"cases": len(val_cases),
                       "class_accuracy": class_accuracy(model, val_cases)},
    }
    return model, card

