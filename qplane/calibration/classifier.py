"""The learned second opinion: a small network that looks at a node's raw data and classifies it.

It predicts one of the failure modes of :data:`~qplane.calibration.synthetic.FAILURE_MODES`,
reported as an outcome class (:data:`CLASSES`: ``expected``, ``suboptimal_sweep``,
``anomalous``, ``no_signal``) with a corrective action (:data:`ACTIONS`). It never writes a
setting: :func:`~qplane.calibration.run.run_node` records its verdict beside the fit's gate,
updates only when the gate passes *and* the verdict is ``expected``, and flags disagreements.

Input features (:func:`features`), the same for every node type so one model serves all:

- sweeps: the signal resampled to :data:`LENGTH` points along the sweep index (channel 0), the
  same divided by its shot noise and centred (channel 1), and the signal's point-to-point
  differences in noise units (channel 2);
- readout IQ: histograms along the |0⟩→|1⟩ axis of the |0⟩ and |1⟩ shots, and across it for
  the |1⟩ shots;
- scalars: the experiment kind (one-hot), log points, log shots, and for Ramsey the number of
  sweep steps per expected fringe.

The network is a three-layer 1-D CNN with global pooling and a two-layer head (about 10 k
parameters at width 24), trained by :mod:`qplane.calibration.training` on simulated sweeps; the weights
ship in ``qplane/calibration/models/`` with their model card in the safetensors metadata.

>>> import numpy as np
>>> from qplane.calibration.synthetic import make_case
>>> data, _, _ = make_case("t1", "ok", np.random.default_rng(0))
>>> x, s = features(data)
>>> x.shape, s.shape
((3, 64), (9,))
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from qplane.device import ExperimentData, ExperimentKind
from qplane.errors import QplaneError

LENGTH = 64
KINDS = tuple(k.value for k in ExperimentKind)
#: The failure modes the network predicts (its output channels, in order).
MODES = ("ok", "off_range", "undersampled", "noisy", "anomalous", "no_signal")
#: Outcome classes, and which class each mode belongs to.
CLASSES = ("expected", "suboptimal_sweep", "anomalous", "no_signal")
MODE_CLASS = {"ok": "expected", "off_range": "suboptimal_sweep",
              "undersampled": "suboptimal_sweep", "noisy": "suboptimal_sweep",
              "anomalous": "anomalous", "no_signal": "no_signal"}
#: The corrective action suggested for each mode.
ACTIONS = {"ok": "none",
           "off_range": "shift or widen the sweep: the feature lies outside it",
           "undersampled": "use more points (a finer sweep)",
           "noisy": "take more shots per point",
           "anomalous": "flag for a person: the data does not follow the model (TLS, jump)",
           "no_signal": "check the apparatus (drive, readout chain), then widen the sweep"}
NUM_SCALARS = len(KINDS) + 3
MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = MODELS_DIR / "sweep_classifier.safetensors"
CARD_KEY = "qplane.model_card"


def features(data: ExperimentData) -> tuple[np.ndarray, np.ndarray]:
    """The network's input for one data set: ``(3, LENGTH)`` channels and scalars."""
    kind = ExperimentKind(data.kind)
    scal = np.zeros(NUM_SCALARS, dtype=np.float32)
    scal[KINDS.index(kind.value)] = 1.0
    n = len(data.sweep)
    scal[len(KINDS)] = math.log(max(n, 1)) / math.log(2001)
    scal[len(KINDS) + 1] = math.log(max(data.shots, 1)) / math.log(1e5)
    x = np.zeros((3, LENGTH), dtype=np.float32)
    if kind is ExperimentKind.READOUT_IQ:
        z0, z1 = np.asarray(data.iq0), np.asarray(data.iq1)
        c0, c1 = z0.mean(), z1.mean()
        axis = (c1 - c0) / abs(c1 - c0) if abs(c1 - c0) > 0 else 1.0
        p0, p1 = (z0 - c0) / axis, (z1 - c0) / axis
        sep = max(abs(c1 - c0), float(np.std(p0.imag)) * 2, 1e-9)
        edges = np.linspace(-1.5, 2.5, LENGTH + 1)
        x[0] = np.histogram(p0.real / sep, edges)[0]
        x[1] = np.histogram(p1.real / sep, edges)[0]
        x[2] = np.histogram(p1.imag / sep + 0.5, edges)[0]
        x /= max(float(x.max()), 1.0)
        return x, scal
    y = np.asarray(data.signal, dtype=float)
    grid = np.linspace(0, n - 1, LENGTH)
    yi = np.interp(grid, np.arange(n), y)
    m = float(np.mean(y))
    noise = math.sqrt(max(m * (1 - m), 0.01) / data.shots)
    x[0] = yi
    x[1] = np.clip((yi - m) / noise, -30, 30) / 10
    d = np.diff(y) / noise
    x[2] = np.clip(np.interp(grid, np.arange(len(d)) + 0.5, d) if len(d) else 0, -30, 30) / 10
    if kind is ExperimentKind.RAMSEY:
        det = abs(data.settings.get("artificial_detuning", 0.0))
        step = (data.sweep.max() - data.sweep.min()) / max(n - 1, 1)
        scal[len(KINDS) + 2] = min(1.0 / (det * step), 50.0) / 10 if det * step > 0 else 0.0
    return x, scal


class SweepClassifier(nn.Module):
    """A small 1-D CNN over :func:`features` → logits over :data:`MODES`."""

    def __init__(self, width: int = 24):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(3, width, 5, padding=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2, stride=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2, stride=2), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Linear(2 * width + NUM_SCALARS, 64), nn.ReLU(),
                                  nn.Linear(64, len(MODES)))

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        h = torch.cat([h.mean(-1), h.amax(-1), s], dim=1)
        return self.head(h)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The second opinion on one data set."""

    mode: str
    label: str
    confidence: float
    action: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LearnedSecondOpinion:
    """Loads a trained :class:`SweepClassifier` and classifies :class:`ExperimentData`.

    Implements :class:`~qplane.calibration.run.SecondOpinion`.
    """

    def __init__(self, model: SweepClassifier, card: dict[str, Any]):
        self.model = model.eval()
        self.card = card

    @classmethod
    def load(cls, path: str | Path = DEFAULT_MODEL) -> "LearnedSecondOpinion":
        """Load weights and model card from a safetensors file."""
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = Path(path)
        if not path.exists():
            raise QplaneError(f"no classifier model at {path}; train one with "
                              "`qplane calibration train-classifier --out PATH`")
        with safe_open(str(path), framework="pt") as f:
            card = json.loads((f.metadata() or {}).get(CARD_KEY, "{}"))
        model = SweepClassifier(width=int(card.get("width", 24)))
        model.load_state_dict(load_file(str(path)))
        return cls(model, card)

    def predict(self, batch: list[ExperimentData]) -> list[Verdict]:
        """Verdicts for several data sets at once."""
        xs, ss = zip(*(features(d) for d in batch))
        with torch.no_grad():
            logits = self.model(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ss)))
            prob = torch.softmax(logits, dim=1).numpy()
        out = []
        for p in prob:
            mode_p = {m: float(v) for m, v in zip(MODES, p)}
            class_p = {c: sum(v for m, v in mode_p.items() if MODE_CLASS[m] == c)
                       for c in CLASSES}
            label = max(class_p, key=class_p.get)
            mode = max((m for m in MODES if MODE_CLASS[m] == label), key=mode_p.get)
            out.append(Verdict(mode, label, class_p[label], ACTIONS[mode]))
        return out

    def classify(self, data: ExperimentData) -> dict[str, Any]:
        """The verdict on one data set as a dict (``label``, ``mode``, ``confidence``, ``action``)."""
        return self.predict([data])[0].to_dict()


def save_model(model: SweepClassifier, card: dict[str, Any], path: str | Path) -> None:
    """Write weights with ``card`` (JSON) in the safetensors metadata."""
    from safetensors.torch import save_file

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={CARD_KEY: json.dumps(card)})


def shipped_opinion() -> "LearnedSecondOpinion":
    """The shipped model, loaded once per process (it is read-only)."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = LearnedSecondOpinion.load()
    return _SHIPPED


_SHIPPED: "LearnedSecondOpinion | None" = None
