"""The learned second opinion: a small network that looks at a node's raw data and classifies it.

It predicts one of the failure modes of :data:`~qplane.calibration.synthetic.FAILURE_MODES`,
reported as an outcome class (:data:`CLASSES`: ``expected``, ``suboptimal_sweep``,
``anomalous``, ``no_signal``) with a corrective action (:data:`ACTIONS`). It is strictly
advisory: :func:`~qplane.calibration.run.run_node` and :func:`~qplane.calibration.analyse`
record its verdict beside the gate's and flag a disagreement for a person; it never decides an
outcome and never writes a setting.

Input features (:func:`features`), the same for every kind so one model serves all, and
invariant to the sweep's layout (range, point count, spacing, units) and the signal's scale:

- sweeps (:func:`analysis_features`, from the analysis of the data): the signal, the fitted
  curve and the residuals in noise units, each resampled onto 64 points of the *normalised*
  sweep, the signal centred on its median and divided by its 5–95 % range; scalars: the kind
  (one-hot), log points, whether the signal's sign is free (not a population), and the gate's
  numbers — signal significance, residual structure, points per feature, relative
  uncertainty, the key's place in its range, reduced chi², each criterion passed or not;
- readout IQ: histograms along the |0⟩→|1⟩ axis of the |0⟩ and |1⟩ shots, and across it for
  the |1⟩ shots; the kind and log shots.

Features version 5 (session 6, :mod:`qplane.calibration.sweep_features`) adds two channels on
a canonical grid in units of the fit's own scale (decay constant, π amplitude, fringe period,
linewidth) and scalars of the window, its sampling and a data-derived noise in those units.

The network is a three-layer 1-D CNN with global pooling and a two-layer head (about 11 k
parameters at width 24), trained by :mod:`qplane.calibration.training` on domain-randomised
sweeps; the weights ship in ``qplane/calibration/models/`` with their model card in the
safetensors metadata.

>>> import numpy as np
>>> from qplane.calibration.synthetic import make_case
>>> data, _, _ = make_case("t1", "ok", np.random.default_rng(0))
>>> x, s = features(data)
>>> x.shape, s.shape
((5, 64), (47,))
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

from qplane.calibration.sweep_features import PHYSICS_SCALARS, physics_features
from qplane.device import SINGLE_QUBIT_KINDS, ExperimentData, ExperimentKind
from qplane.errors import QplaneError

LENGTH = 64
KINDS = tuple(k.value for k in SINGLE_QUBIT_KINDS)
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
MODELS_DIR = Path(__file__).parent / "models"
#: the shipped model (features version 2, sessions 1-3; still the default: see
#: :data:`CANDIDATE_MODEL`)
DEFAULT_MODEL = MODELS_DIR / "sweep_classifier.safetensors"
#: session 5's model (features version 4, warm-started from v3 on the wide, broad, QEC and
#: own train families), session 5's candidate: its validation class accuracy (0.875) is below
#: the 0.95 its card must show to ship (docs/calibration.md)
V4_MODEL = MODELS_DIR / "sweep_classifier_v4.safetensors"
#: session 6's model (features version 5, an ensemble of three trained from
#: ``config/calibration/classifier_v5.yaml``), the candidate, not the default: its validation
#: class accuracy (0.826) is below the 0.95 its card must show (docs/calibration.md,
#: *Session 6: the second opinion*)
V5_MODEL = MODELS_DIR / "sweep_classifier_v5.safetensors"
#: session 7's model (features version 5, three members trained from
#: ``config/calibration/classifier_v6.yaml``: qplane's generator at 12 per cell, the robust2
#: families and generations 1-6), the candidate, not the default (docs/calibration.md,
#: *Session 7: the second opinion*)
V6_MODEL = MODELS_DIR / "sweep_classifier_v6.safetensors"
#: session 13's model (features version 5, three members trained from
#: ``config/calibration/classifier_v7.yaml``: v6's sets, robust3 and generations 7-12, each
#: measured blind before it joined), the candidate, not the default: validation 0.838, below
#: the 0.95 its card must show (sweep_classifier_v7.md)
V7_MODEL = MODELS_DIR / "sweep_classifier_v7.safetensors"
#: session 16's model (features version 5, five members trained from
#: ``config/calibration/classifier_v8.yaml``: v7's sets and generations 13-15, each measured
#: blind before it joined), the candidate, not the default: validation 0.856, below the 0.95
#: its card must show (sweep_classifier_v8.md)
V8_MODEL = MODELS_DIR / "sweep_classifier_v8.safetensors"
CANDIDATE_MODEL = V8_MODEL
#: session 4's candidate (features version 3), kept for comparison
V3_MODEL = MODELS_DIR / "sweep_classifier_v3.safetensors"
CARD_KEY = "qplane.model_card"


#: the analysis kinds the network knows (one-hot), readout last
FEATURE_KINDS = ("spectroscopy", "rabi", "ramsey", "t1", "echo", "readout")
#: gate criteria whose pass/fail the network sees, in order
_CRITERIA = ("points", "signal", "residuals", "range", "resolution", "uncertainty")
#: scalars of features version 2 (the models of sessions 1-3 read only these)
BASE_SCALARS = len(FEATURE_KINDS) + 9 + len(_CRITERIA)
#: the QEC lab's kinds with a one-hot of their own (features version 3, appended after the
#: version-2 scalars, which mark them as ``spectroscopy`` as version 2 did)
QEC_FEATURE_KINDS = ("drag", "cz", "readout_amplitude", "readout_duration")
#: scalars of features version 3 (session 4's candidate reads these)
V3_SCALARS = BASE_SCALARS + len(QEC_FEATURE_KINDS)
#: features version 4 (session 5) appends: the ``minimum`` criterion (DRAG, CZ) and whether
#: the gate passed as a whole, the share of any other criteria that failed (criteria added
#: later reach the network without a new version), the fit's explained variance, the
#: residuals' lag-1 autocorrelation (correlated noise, structure left), the noise relative to
#: the signal's 5-95 % range, the share of points over 4 sigma off, and the fitted curve's
#: range relative to the data's
EXTRA_SCALARS = ("minimum", "gate", "other_failed", "explained", "autocorrelation",
                 "noise_to_range", "outliers", "fit_range")
V4_SCALARS = V3_SCALARS + len(EXTRA_SCALARS)
#: features version 5 (session 6) appends :data:`~qplane.calibration.sweep_features.PHYSICS_SCALARS`
#: (the window, its sampling and the noise in units of the fit's own scale) after version 4's
#: scalars and two channels on the canonical grid after the three of versions 2-4
NUM_SCALARS = V4_SCALARS + len(PHYSICS_SCALARS)
#: input channels of features version 5 (models of versions 2-4 read the first three)
CHANNELS = 5
#: the QEC lab's kinds the network judges as the kind of the same shape it was trained on
#: (their one-hot); a kind in neither is judged as ``spectroscopy`` (see docs/calibration.md,
#: *The learned second opinion*, for which kinds' nodes ask it)
KIND_ANALOGUES = {"resonator_spectroscopy": "spectroscopy", "readout_frequency": "spectroscopy",
                  "randomized_benchmarking": "t1"}
FEATURES_VERSION = 5
#: features version -> (channels, scalars) a model of that version reads
READS = {2: (3, BASE_SCALARS), 3: (3, V3_SCALARS), 4: (3, V4_SCALARS), 5: (CHANNELS, NUM_SCALARS)}


def _log(v: float, lo: float, hi: float) -> float:
    if not math.isfinite(v) or v <= 0:
        return 0.0 if v == 0 or not math.isfinite(v) and v < 0 else 1.0
    return (min(max(math.log10(v), lo), hi) - lo) / (hi - lo)


def analysis_features(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """The network's input for one :class:`~qplane.calibration.analysis.AnalysisResult`.

    Invariant to the sweep's layout, units and the signal's scale and offset: the data, the
    fitted curve and the normalised residuals resampled onto 64 points of the *normalised*
    sweep (0 at its start, 1 at its end, whatever its point count or spacing), the signal
    centred on its median and divided by its 5–95 % range; plus the fit's and the gate's
    numbers (signal significance, residual structure, resolution, relative uncertainty, the
    key's place in its range, which criteria passed).
    """
    x, y = np.asarray(result.x, float), np.asarray(result.y, float)
    scal = np.zeros(NUM_SCALARS, dtype=np.float32)
    kind = KIND_ANALOGUES.get(result.kind, result.kind)
    kind = kind if kind in FEATURE_KINDS else "spectroscopy"
    scal[FEATURE_KINDS.index(kind)] = 1.0
    if result.kind in QEC_FEATURE_KINDS:
        scal[BASE_SCALARS + QEC_FEATURE_KINDS.index(result.kind)] = 1.0
    chans = np.zeros((CHANNELS, LENGTH), dtype=np.float32)
    if len(x) < 2 or not x.max() > x.min():
        return chans, scal
    u = (x - x.min()) / (x.max() - x.min())
    grid = np.linspace(0, 1, LENGTH)
    med = float(np.median(y))
    lo, hi = np.percentile(y, [5, 95])
    scale = float(hi - lo) or float(np.std(y)) or 1.0
    chans[0] = np.clip(np.interp(grid, u, (y - med) / scale), -3, 3)
    fit = result.fit
    if fit.converged:
        chans[1] = np.clip(np.interp(grid, u, (fit.evaluate(x) - med) / scale), -3, 3)
        z = (y - fit.evaluate(x)) / result.noise.sigma
        chans[2] = np.clip(np.interp(grid, u, z), -5, 5) / 5
    k = len(FEATURE_KINDS)
    scal[k] = math.log10(max(len(x), 1)) / 3
    scal[k + 1] = float(result.signal_type != "population")
    scal[k + 2] = float(fit.converged)
    crit = {c.name: c for c in result.gate.criteria}
    sig = crit.get("signal")
    scal[k + 3] = min(sig.value, 50.0) / 50 if sig is not None and math.isfinite(sig.value) \
        else float(sig is not None and sig.value > 0)
    res = crit.get("residuals")
    scal[k + 4] = _log(res.value, -4, 0) if res is not None and res.passed is not None else 0
    rsl = crit.get("resolution")
    scal[k + 5] = _log(rsl.value, -1, 3) if rsl is not None and rsl.passed is not None else 0
    unc = crit.get("uncertainty")
    scal[k + 6] = _log(unc.value, -5, 1) if unc is not None and unc.passed is not None else 1
    rng = crit.get("range")
    if rng is not None and rng.passed is not None and isinstance(rng.threshold, str) \
            and rng.threshold.startswith("["):
        a, b = (float(t) for t in rng.threshold.strip("[]").split(","))
        scal[k + 7] = float(np.clip((rng.value - a) / (b - a), -1, 2)) if b > a else 0.0
    scal[k + 8] = _log(fit.chi2_red, -1, 3) if fit.converged else 1.0
    for i, name in enumerate(_CRITERIA):
        c = crit.get(name)
        scal[k + 9 + i] = 0.5 if c is None or c.passed is None else float(c.passed)
    _extra_scalars(scal[V3_SCALARS:V4_SCALARS], result, crit, y, med, scale,
                   chans[1] if fit.converged else None)
    chans[3:], scal[V4_SCALARS:] = physics_features(result)
    # a criterion without a number (a key the fit could not place: NaN) reads as 0, never NaN
    return chans, np.nan_to_num(scal, nan=0.0, posinf=1.0, neginf=0.0)


def _extra_scalars(out: np.ndarray, result: Any, crit: dict[str, Any], y: np.ndarray,
                   med: float, scale: float, curve: np.ndarray | None) -> None:
    """Features version 4's scalars (:data:`EXTRA_SCALARS`) into ``out``."""
    c = crit.get("minimum")
    out[0] = 0.5 if c is None or c.passed is None else float(c.passed)
    out[1] = float(bool(result.gate.passed))
    known = set(_CRITERIA) | {"minimum", "converged"}
    other = [c.passed for n, c in crit.items() if n not in known and c.passed is not None]
    out[2] = float(np.mean([not p for p in other])) if other else 0.0
    fit = result.fit
    if not fit.converged or len(y) < 3:
        out[3:] = (0.0, 0.5, _log(float(result.noise.sigma.mean()) / scale, -3, 1), 0.0, 0.0)
        return
    r = y - fit.evaluate(np.asarray(result.x, float))
    out[3] = float(np.clip(1 - np.var(r) / (np.var(y) or 1.0), 0, 1))
    z = r / result.noise.sigma
    zc = z - z.mean()
    den = float(np.dot(zc, zc))
    out[4] = (float(np.dot(zc[1:], zc[:-1])) / den + 1) / 2 if den > 0 else 0.5
    out[5] = _log(float(np.mean(result.noise.sigma)) / scale, -3, 1)
    out[6] = float(np.mean(np.abs(z) > 4))
    out[7] = float(np.clip((curve.max() - curve.min()) / 2, 0, 1)) if curve is not None else 0


def _readout_features(data: ExperimentData) -> tuple[np.ndarray, np.ndarray]:
    scal = np.zeros(NUM_SCALARS, dtype=np.float32)
    scal[FEATURE_KINDS.index("readout")] = 1.0
    scal[len(FEATURE_KINDS)] = math.log10(max(data.shots, 1)) / 5
    x = np.zeros((CHANNELS, LENGTH), dtype=np.float32)
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


def analyse_data(data: ExperimentData) -> Any:
    """A node's data analysed as its node does (population, shots): what the features see."""
    from qplane.calibration.analysis import analyse

    kind = ExperimentKind(data.kind)
    settings = {}
    if kind is ExperimentKind.RAMSEY:
        settings["detuning"] = float(data.settings.get("artificial_detuning", 0.0)) or None
    return analyse(kind.value, data.sweep, data.signal, shots=data.shots,
                   units=data.sweep_unit, second_opinion=False, **settings)


def features(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """The network's input: ``(3, LENGTH)`` channels and ``(NUM_SCALARS,)`` scalars, for an
    :class:`~qplane.device.ExperimentData` (readout IQ, or a sweep analysed as its node does)
    or an :class:`~qplane.calibration.analysis.AnalysisResult`."""
    if isinstance(data, ExperimentData):
        if ExperimentKind(data.kind) is ExperimentKind.READOUT_IQ:
            return _readout_features(data)
        return analysis_features(analyse_data(data))
    return analysis_features(data)


class SweepClassifier(nn.Module):
    """A small 1-D CNN over :func:`features` → logits over :data:`MODES`.

    ``scalars``: how many of the scalars it reads (:data:`BASE_SCALARS` for a features-version-2
    model, :data:`NUM_SCALARS` now).
    """

    def __init__(self, width: int = 24, scalars: int = NUM_SCALARS, channels: int = CHANNELS):
        super().__init__()
        self.scalars = scalars
        self.channels = channels
        self.conv = nn.Sequential(
            nn.Conv1d(channels, width, 5, padding=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2, stride=2), nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2, stride=2), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Linear(2 * width + scalars, 64), nn.ReLU(),
                                  nn.Linear(64, len(MODES)))

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h = self.conv(x[:, :self.channels])
        h = torch.cat([h.mean(-1), h.amax(-1), s[:, :self.scalars]], dim=1)
        return self.head(h)


class SweepEnsemble(nn.Module):
    """Several :class:`SweepClassifier` members; its output is the log of their mean
    probabilities (so a softmax of it is the ensemble's probability)."""

    def __init__(self, members: list[SweepClassifier]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.scalars = members[0].scalars
        self.channels = members[0].channels

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return torch.log(self.member_probs(x, s).mean(0).clamp_min(1e-12))

    def member_probs(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Each member's probabilities over :data:`MODES`: ``(members, batch, len(MODES))``."""
        return torch.stack([torch.softmax(m(x, s), dim=1) for m in self.members])


def build_model(card: dict[str, Any]) -> nn.Module:
    """The (untrained) network a model card describes: its features version's inputs, its
    width, and an ensemble when the card names ``members``; ``member_reads`` (a list of
    ``[channels, scalars, width]``, one per member) for an ensemble whose members read
    different inputs (features are versioned as prefixes, so an older model is a member)."""
    channels, scalars = READS.get(int(card.get("features_version", 2)), READS[FEATURES_VERSION])
    width = int(card.get("width", 24))
    if card.get("member_reads"):   # members of different inputs (e.g. v2 beside newer ones)
        return SweepEnsemble([SweepClassifier(int(w), int(sc), int(ch))
                              for ch, sc, w in card["member_reads"]])
    members = int(card.get("members", 0))
    if members:
        return SweepEnsemble([SweepClassifier(width, scalars, channels) for _ in range(members)])
    return SweepClassifier(width=width, scalars=scalars, channels=channels)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The second opinion on one data set; ``unsure``: its confidence is below the card's
    ``abstain_below``, or (a card with ``unsure_on_disagreement``, session 9) the members of
    its ensemble do not all name the same outcome class (a person should look, whatever the
    label)."""

    mode: str
    label: str
    confidence: float
    action: str
    unsure: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LearnedSecondOpinion:
    """Loads a trained :class:`SweepClassifier` and classifies :class:`ExperimentData`.

    Implements :class:`~qplane.calibration.run.SecondOpinion`.
    """

    def __init__(self, model: nn.Module, card: dict[str, Any]):
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
        model = build_model(card)
        model.load_state_dict(load_file(str(path)))
        return cls(model, card)

    def predict(self, batch: list[Any]) -> list[Verdict]:
        """Verdicts for several data sets (ExperimentData or AnalysisResult) at once."""
        return self.predict_features([features(d) for d in batch])

    def predict_features(self, feats: list[tuple[np.ndarray, np.ndarray]]) -> list[Verdict]:
        """Verdicts from precomputed :func:`features`."""
        xs, ss = zip(*feats)
        x, s = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ss))
        split = None
        with torch.no_grad():
            prob = torch.softmax(self.model(x, s), dim=1).numpy()
            if self.card.get("unsure_on_disagreement") and isinstance(self.model, SweepEnsemble):
                split = member_classes(self.model.member_probs(x, s).numpy())
                split = (split != split[:1]).any(0)
        out = []
        for i, p in enumerate(prob):
            mode_p = {m: float(v) for m, v in zip(MODES, p)}
            class_p = {c: sum(v for m, v in mode_p.items() if MODE_CLASS[m] == c)
                       for c in CLASSES}
            label = max(class_p, key=class_p.get)
            mode = max((m for m in MODES if MODE_CLASS[m] == label), key=mode_p.get)
            unsure = class_p[label] < float(self.card.get("abstain_below", 0.0)) \
                or (split is not None and bool(split[i]))
            out.append(Verdict(mode, label, class_p[label], ACTIONS[mode], unsure))
        return out

    def classify(self, data: ExperimentData) -> dict[str, Any]:
        """The verdict on one data set as a dict (``label``, ``mode``, ``confidence``, ``action``)."""
        return self.predict([data])[0].to_dict()

    def classify_analysis(self, result: Any) -> dict[str, Any]:
        """The verdict on an :class:`~qplane.calibration.analysis.AnalysisResult`."""
        return self.predict([result])[0].to_dict()


#: the mode index -> its outcome class's index in :data:`CLASSES`
_MODE_TO_CLASS = np.array([CLASSES.index(MODE_CLASS[m]) for m in MODES])


def member_classes(member_probs: np.ndarray) -> np.ndarray:
    """Each member's outcome class (index into :data:`CLASSES`) from its mode probabilities
    ``(members, batch, len(MODES))`` → ``(members, batch)`` (the class of largest summed
    probability, as :meth:`LearnedSecondOpinion.predict_features` names it).

    >>> p = np.zeros((2, 1, len(MODES))); p[0, 0, 0] = 1; p[1, 0, 1] = p[1, 0, 2] = 0.5
    >>> [CLASSES[c] for c in member_classes(p)[:, 0]]
    ['expected', 'suboptimal_sweep']
    """
    per_class = np.zeros(member_probs.shape[:2] + (len(CLASSES),))
    for j, c in enumerate(_MODE_TO_CLASS):
        per_class[..., c] += member_probs[..., j]
    return per_class.argmax(-1)


def save_model(model: nn.Module, card: dict[str, Any], path: str | Path) -> None:
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
