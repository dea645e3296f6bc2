"""Training the learned second opinion on domain-randomised sweeps (CPU, a few minutes).

``qplane calibration train-classifier --out qplane/calibration/models/sweep_classifier_v3.safetensors``

The data are up to five sets, each of every node type (or analysis kind) and failure mode:

- :func:`~qplane.calibration.synthetic.make_case`: the nodes' own requests on qplane's
  single-qubit generator (readout has no sweep, so no ``off_range``/``undersampled`` there),
  the qubit drawn at the training spread and its settings drifted 0.5–1.5× the nominal drift;
- :func:`~qplane.calibration.domain.train_set`: the *train* families of
  :mod:`qplane.calibration.domain` (random ranges, point counts, noise types and levels —
  binomial, Gaussian, 1/f technical, averaged IQ — gains, offsets, units);
- :func:`~qplane.calibration.domain.broad_train_set` (session 4): the broad train families
  (wider layouts, Laplace noise and isolated spikes, Gaussian lines, larger Rabi phases and
  damping, zero-detuning Ramsey, two-population T1 decays);
- :func:`~qplane.calibration.domain_qec.qec_train_set` (session 4): DRAG, CZ and the readout
  amplitude and duration curves, so those nodes' data are a shape the model has seen.
- :func:`~qplane.calibration.domain_wide.wide_train_set` (session 5, ``wide_per_cell``): every
  axis randomised at once (layouts, correlated and drifting noises, backgrounds, line shapes,
  new anomalies); ``init`` warm-starts from an older model (:func:`warm_start`).

Inputs are :func:`~qplane.calibration.classifier.features` (layout-invariant: the normalised
sweep, the normalised signal, the fit's residuals and the gate's numbers). Validation uses fresh
seeds of the same distributions; the benchmark (``qplane bench calibration``) evaluates on the
*held-out* families of :mod:`qplane.calibration.domain` and
:mod:`qplane.calibration.domain_gen4`, which training never sees.

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


def feature_cases(per_cell: int, domain_per_cell: int, *, seed: int, log: Any = None,
                  broad_per_cell: int = 0, qec_per_cell: int = 0, wide_per_cell: int = 0
                  ) -> list[tuple[tuple[np.ndarray, np.ndarray], str]]:
    """Features and modes of the training sets (see the module): qplane's generator, the
    train families, and (session 4) the broad train families
    (:func:`~qplane.calibration.domain.broad_train_set`) and the QEC kinds' train families
    (:func:`~qplane.calibration.domain_qec.qec_train_set`), and (session 5) the wide train
    families (:func:`~qplane.calibration.domain_wide.wide_train_set`)."""
    from qplane.calibration.analysis import analyse
    from qplane.calibration.classifier import analysis_features
    from qplane.calibration.domain import broad_train_set, train_set
    from qplane.calibration.domain_qec import qec_train_set
    from qplane.calibration.domain_wide import wide_train_set

    out = [(features(d), m) for d, m in dataset(per_cell, seed=seed)]
    if log:
        log(f"{len(out)} synthetic cases analysed")
    sets = train_set(domain_per_cell, seed=seed + 500)
    if broad_per_cell:
        sets += broad_train_set(broad_per_cell, seed=seed + 600)
    if qec_per_cell:
        sets += qec_train_set(qec_per_cell, seed=seed + 700)
    if wide_per_cell:
        sets += wide_train_set(wide_per_cell, seed=seed + 800)
    for c in sets:
        r = analyse(c.kind, second_opinion=False, **c.analyse_args())
        out.append((analysis_features(r), c.mode))
    return out


def cached_feature_cases(path: Any, per_cell: int, domain_per_cell: int, *, seed: int,
                         log: Any = None, broad_per_cell: int = 0, qec_per_cell: int = 0,
                         wide_per_cell: int = 0) -> list[tuple[tuple[np.ndarray, np.ndarray], str]]:
    """:func:`feature_cases`, saved to ``path`` (NPZ) and read back from it when it holds the
    same arguments (the analysis is the slow part; retraining with other settings is not)."""
    from pathlib import Path

    from qplane.calibration.classifier import FEATURES_VERSION

    key = np.array([per_cell, domain_per_cell, seed, FEATURES_VERSION, broad_per_cell,
                    qec_per_cell, wide_per_cell])
    path = Path(path)
    if path.exists():
        with np.load(path) as f:
            if np.array_equal(f["key"], key):
                return [((x, s), str(m)) for x, s, m in zip(f["x"], f["s"], f["modes"])]
    extra = {"broad_per_cell": broad_per_cell, "qec_per_cell": qec_per_cell,
             "wide_per_cell": wide_per_cell}
    cases = feature_cases(per_cell, domain_per_cell, seed=seed, log=log,
                          **{k: v for k, v in extra.items() if v})
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, key=key, x=np.stack([x for (x, _), _ in cases]),
                        s=np.stack([s for (_, s), _ in cases]),
                        modes=np.array([m for _, m in cases]))
    return cases


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


def validation_sizes(per_cell: int, domain_per_cell: int, broad_per_cell: int = 0,
                     qec_per_cell: int = 0) -> tuple[int, int, int, int]:
    """The validation set's sizes for a training set's (about 40-50 % of it: the 0.95 bar
    of the card is judged on it).

    >>> validation_sizes(8, 8, 20, 14)
    (4, 4, 8, 6)
    """
    return (max(per_cell // 2, 3), max(domain_per_cell // 2, 3), 2 * broad_per_cell // 5,
            3 * qec_per_cell // 7)


def warm_start(path: Any) -> SweepClassifier:
    """A :class:`SweepClassifier` reading every scalar, with the weights of the model at
    ``path`` (an older features version: the head's input columns of the scalars it did not
    read start at 0, so it starts by predicting exactly what the old model predicts)."""
    old = LearnedSecondOpinion.load(path).model
    width = old.conv[0].out_channels
    model = SweepClassifier(width=width, channels=old.channels)
    state = old.state_dict()
    w = model.state_dict()["head.0.weight"].clone()
    w[:, :state["head.0.weight"].shape[1]] = state["head.0.weight"]
    w[:, state["head.0.weight"].shape[1]:] = 0
    state["head.0.weight"] = w
    model.load_state_dict(state)
    return model


def train(*, per_cell: int = 8, domain_per_cell: int = 8, broad_per_cell: int = 20,
          qec_per_cell: int = 14, epochs: int = 60, seed: int = 21, width: int = 24,
          lr: float = 3e-3, weight_decay: float = 1e-4, log: Any = print,
          cases: list[Any] | None = None, val_cases: list[Any] | None = None,
          cache: str | None = None, wide_per_cell: int = 0, init: Any = None
          ) -> tuple[SweepClassifier, dict[str, Any]]:
    """Train a classifier; returns it and its model card.

    ``cases`` / ``val_cases``: precomputed :func:`feature_cases` (the analysis is the slow
    part), instead of generating them from ``seed`` (validation: ``seed + 1000``, sizes
    :func:`validation_sizes`); ``cache``: a folder where the analysed cases are kept
    (:func:`cached_feature_cases`); ``init``: a model file to start from
    (:func:`warm_start`: its weights, the head's columns for scalars it did not read at 0).
    """
    from qplane.calibration.classifier import FEATURES_VERSION
    from qplane.calibration.domain import BROAD_NOISES, TRAIN_FAMILIES
    from qplane.calibration.domain_qec import TRAIN_FAMILIES as QEC_FAMILIES
    from qplane.calibration.domain_wide import TRAIN_FAMILIES as WIDE_FAMILIES

    torch.manual_seed(seed)
    t0 = time.time()
    sizes = (per_cell, domain_per_cell, broad_per_cell, qec_per_cell, wide_per_cell)
    val_sizes = validation_sizes(*sizes[:4]) + (3 * wide_per_cell // 8,)

    def analysed(name: str, n: tuple[int, ...], s: int) -> list[Any]:
        extra = {"broad_per_cell": n[2], "qec_per_cell": n[3], "wide_per_cell": n[4]}
        if cache:
            return cached_feature_cases(f"{cache}/{name}.npz", n[0], n[1], seed=s, log=log,
                                        **extra)
        return feature_cases(n[0], n[1], seed=s, log=log, **extra)

    if cases is None:
        cases = analysed("train", sizes, seed)
    train_cases = cases
    if val_cases is None:
        val_cases = analysed("val", val_sizes, seed + 1000)
    x, s, y = tensors(train_cases)
    log(f"{len(train_cases)} training cases analysed in {time.time() - t0:.1f} s")
    model = SweepClassifier(width=width) if init is None else warm_start(init)
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
                     "broad_per_cell": broad_per_cell, "qec_per_cell": qec_per_cell,
                     "wide_per_cell": wide_per_cell, "init": str(init) if init else None,
                     "domain_families": sorted([f for v in TRAIN_FAMILIES.values() for f in v]
                                               + [f for v in QEC_FAMILIES.values() for f in v]
                                               + ([f for v in WIDE_FAMILIES.values() for f in v]
                                                  if wide_per_cell else [])),
                     "domain_noises": list(BROAD_NOISES),
                     "data_fingerprint": fingerprint,
                     "seconds": round(time.time() - t0, 1),
                     "command": "qplane calibration train-classifier"},
        "validation": {"cases": len(val_cases), "seed": seed + 1000,
                       "sizes": list(val_sizes),
                       "class_accuracy": class_accuracy(model, val_cases)},
    }
    return model, card
