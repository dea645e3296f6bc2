"""Analysis kinds: for each experiment, its fit candidates, gate criteria and reported values.

An :class:`AnalysisKind` is what :func:`qplane.calibration.analyse` needs to analyse one kind of
experiment: the SI unit of its sweep, the candidate :mod:`~qplane.calibration.fit_models` (the
simplest the data do not reject is kept), the key parameter, the gate's criteria built for the
sweep at hand (:mod:`~qplane.calibration.criteria`), and the values it reports. Adding a kind is
registering one (:func:`register_kind`): a new node (DRAG, a CZ phase, ...) gets the same noise
model, model selection, gate, card and CLI.

>>> sorted(KINDS)[:6]
['cz', 'drag', 'echo', 'rabi', 'ramsey', 'randomized_benchmarking']
>>> KINDS["ramsey"].sweep_unit, kind_for("qubit_spectroscopy").name
('s', 'spectroscopy')
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any, Callable, Mapping

import numpy as np

from qplane.calibration.aliasing import NotAliased
from qplane.calibration.criteria import (
    ChirpTest,
    Converged,
    Criterion,
    InRange,
    LineNotBackground,
    MinPoints,
    PassesAgree,
    RelativeUncertainty,
    ResidualsWhite,
    Resolved,
    RotatesAtZero,
    ShapeTest,
    SignalPresent,
)
from qplane.calibration.fit_models import FIT_MODELS, FitModel, _span_step
from qplane.calibration.fluctuation import KeySteady
from qplane.calibration.fits import FitResult
from qplane.errors import AnalysisError

#: Options every kind accepts (gate thresholds), with their defaults.
COMMON_OPTIONS = {"min_points": 7, "min_signal_significance": 5.0, "max_point_noise": 0.1,
                  "residual_p_value": 1e-4, "max_structure": 0.015, "alpha": 1e-3,
                  "model": None, "low": None, "high": None, "key_alpha": None,
                  # the key's error widened by the candidates' Akaike-weighted spread
                  # (model_uncertainty.py)
                  "model_uncertainty": False, "uncertainty_models": (),
                  # readout glitches (analysis.glitches) beyond this many robust sigma are
                  # left out of the fit and the gate; math.inf: every point is kept
                  "glitch_threshold": 5.0}


@dataclasses.dataclass(frozen=True)
class AnalysisKind:
    """How to analyse one kind of experiment.

    Attributes:
        name: the kind's name (``analyse(name, ...)``).
        experiment: the :class:`~qplane.device.ExperimentKind` value it analyses (or ``""``).
        sweep_unit: the SI unit its sweep is converted to.
        key: the parameter the gate judges (may depend on the settings: ``key_for``).
        candidates: ``candidates(settings) -> [FitModel]``, simplest first.
        criteria: ``criteria(x, fit, settings) -> [Criterion]``, in the order they decide,
            after the common ones (points, signal, converged, then the residual test: a
            value from a model the data do not follow means nothing); a
            :class:`~qplane.calibration.criteria.RelativeUncertainty` among them is judged
            last.
        resolution: ``resolution(x, fit, settings) -> points per feature``.
        values: ``values(fit, settings) -> {name: (param or callable, unit)}``.
        options: the kind's own options and their defaults (besides :data:`COMMON_OPTIONS`).
        scale: ``scale(fit, settings)`` -> what the key's uncertainty is relative to (None:
            the value).
        sweep_settings: the settings given in the sweep's units (an expected value).
    """

    name: str
    experiment: str
    sweep_unit: str
    key_for: Callable[[Mapping[str, Any]], str]
    candidates: Callable[[Mapping[str, Any]], list[FitModel]]
    criteria: Callable[[np.ndarray, FitResult, Mapping[str, Any]], list[Criterion]]
    resolution: Callable[[np.ndarray, FitResult, Mapping[str, Any]], float]
    values: Callable[[FitResult, Mapping[str, Any]], dict[str, tuple[float, float, str]]]
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    scale: Callable[[FitResult, Mapping[str, Any]], float | None] = lambda fit, s: None
    #: settings given in the sweep's units (converted to SI with the sweep)
    sweep_settings: tuple[str, ...] = ()

    def settings(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` merged over the defaults; unknown names are refused."""
        allowed = {**COMMON_OPTIONS, **self.options}
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            raise AnalysisError(f"{self.name} analysis has no setting {', '.join(unknown)}; "
                                f"known: {', '.join(sorted(allowed))}")
        return {**allowed, **{k: v for k, v in given.items() if v is not None}}

    def models(self, s: Mapping[str, Any], x: np.ndarray | None = None) -> list[FitModel]:
        """The fit candidates for settings ``s`` (those that apply to the sweep ``x``)."""
        if s.get("model"):
            if s["model"] not in FIT_MODELS:
                raise AnalysisError(f"unknown fit model {s['model']!r}; known: "
                                    f"{', '.join(FIT_MODELS)}")
            return [FIT_MODELS[s["model"]]]
        out = self.candidates(s)
        if x is not None:
            out = [m for m in out if m.applies is None or m.applies(x)] or out[:1]
        return out

    def gate_criteria(self, x: np.ndarray, fit: FitResult, s: Mapping[str, Any]
                      ) -> list[Criterion]:
        own = self.criteria(x, fit, s)
        last = [c for c in own if isinstance(c, RelativeUncertainty)]
        return [MinPoints(int(s["min_points"])),
                SignalPresent(s["min_signal_significance"], s["max_point_noise"]),
                Converged(), ResidualsWhite(s["residual_p_value"], s["max_structure"]),
                PassesAgree(s["residual_p_value"], s["max_structure"]),
                *[c for c in own if c not in last], *last]


#: Registered kinds by name.
KINDS: dict[str, AnalysisKind] = {}


def register_kind(kind: AnalysisKind) -> AnalysisKind:
    """Register ``kind`` (replacing one of the same name); returns it."""
    KINDS[kind.name] = kind
    return kind


def kind_for(name: str) -> AnalysisKind:
    """The kind named ``name`` or analysing the experiment ``name``."""
    if name in KINDS:
        return KINDS[name]
    for k in KINDS.values():
        if k.experiment == name:
            return k
    raise AnalysisError(f"unknown analysis kind {name!r}; known: {', '.join(sorted(KINDS))}")


def _range(s: Mapping[str, Any], low: float, high: float) -> tuple[float, float]:
    return (low if s.get("low") is None else float(s["low"]),
            high if s.get("high") is None else float(s["high"]))


def _uncertainty(key: str, s: Mapping[str, Any], scale: float | None = None) -> Criterion:
    return RelativeUncertainty(key, float(s["max_relative_error"]), scale=scale)


# --- spectroscopy ----------------------------------------------------------------------------

def _spec_candidates(s):
    # "pulsed": the line a finite drive pulse draws (the Rabi formula, side lobes and all)
    shapes = ("lorentzian", "gaussian", "pulsed") if s["lineshape"] == "auto" \
        else (s["lineshape"],)
    backs = ("constant", "linear", "fano", "quadratic") if s["background"] == "auto" \
        else (s["background"],)
    out = []
    for b in backs:
        for sh in shapes:
            name = sh if b == "constant" else f"{sh}_{b}"
            if name in FIT_MODELS:   # the pulsed line: constant and linear backgrounds only
                out.append(FIT_MODELS[name])
    if not out:
        raise AnalysisError(f"no {s['lineshape']} line on a {s['background']} background; "
                            "known: " + ", ".join(n for n in FIT_MODELS
                                                  if n.startswith(s["lineshape"])))
    return out


def _spec_criteria(x, fit, s):
    lo, hi = _range(s, float(x.min()), float(x.max()))
    line = [LineNotBackground(float(s["line_min_width_fraction"]))] \
        if s.get("line_min_width_fraction") is not None else []
    return [InRange("center", lo, hi), *line,
            Resolved(s["min_points_per_feature"], feature="linewidth"),
            _uncertainty("center", s)]


def _spec_resolution(x, fit, s):
    return abs(fit.params["width"]) / _span_step(x)[1] if fit.converged else math.nan


register_kind(AnalysisKind(
    "spectroscopy", "qubit_spectroscopy", "Hz", lambda s: "center", _spec_candidates,
    _spec_criteria, _spec_resolution,
    lambda fit, s: {"frequency": ("center", "Hz"), "linewidth": ("width", "Hz")},
    options={"lineshape": "auto", "background": "auto", "max_relative_error": 0.05,
             "min_points_per_feature": 1.5,
             # lines broader than this fraction of the window must beat a standing wave
             # (criteria.LineNotBackground); 1 or more: not tested
             "line_min_width_fraction": 0.2},
    scale=lambda fit, s: fit.params.get("width")))


# --- Rabi ------------------------------------------------------------------------------------

def _rabi_candidates(s):
    names = ["rabi_simple", "rabi_phase", "rabi_damped_nophase", "rabi_damped",
             "rabi_damped_zero",   # on sweeps through zero only
             "rabi_distorted"]     # a readout monotone but not linear in the population
    if s.get("drive") == "auto":   # a drive that compresses (saturates) at high amplitude
        names.append("rabi_compressed")
    return [FIT_MODELS[n] for n in names]


def _rabi_criteria(x, fit, s):
    step = _span_step(x)[1]
    lo, hi = _range(s, step, float(np.max(np.abs(x))))
    return [NotAliased(s.get("expected_pi_amplitude"), float(s["expected_tolerance"])),
            RotatesAtZero(float(s["max_phase"])), InRange("pi_amplitude", lo, hi),
            Resolved(s["min_points_per_feature"], feature="π amplitude"),
            _uncertainty("pi_amplitude", s)]


def _rabi_resolution(x, fit, s):
    return 2 * abs(fit.params["pi_amplitude"]) / _span_step(x)[1] if fit.converged else math.nan


def _rabi_values(fit, s):
    out = {"pi_amplitude": ("pi_amplitude", "V"), "contrast": ("contrast", ""),
           "phase": ("phase", "rad")}
    if "damping" in fit.params:
        out["damping"] = ("damping", "1/V")
    if "compression" in fit.params:
        out["compression"] = ("compression", "1/V²")
    return out


register_kind(AnalysisKind(
    "rabi", "rabi_amplitude", "V", lambda s: "pi_amplitude", _rabi_candidates, _rabi_criteria,
    _rabi_resolution, _rabi_values,
    # a missing phase moves the π amplitude by percents while the curves look alike to the
    # F-test: keep the richer model when the key shifts (fit_models.key_shift)
    options={"max_relative_error": 0.02, "min_points_per_feature": 4.0, "key_alpha": 0.05,
             # "linear": the linear drive; "auto": also one that compresses at high amplitude
             # (fit_shapes.rabi_compressed; not the default: on telegraph-noisy development
             # data it fitted noise as compression, 2.3 % off)
             "drive": "linear", "model_uncertainty": True,
             # fitted for the model-choice error only (model_uncertainty.py), never chosen
             "uncertainty_models": ("rabi_compressed",),
             # the π amplitude the lab expects (the calibrated one; in the sweep's units): a
             # fit farther from it than expected_tolerance (relative) whose alias on the
             # sweep's step lies near it is refused as aliased (aliasing.NotAliased)
             "expected_pi_amplitude": None, "expected_tolerance": 0.25,
             # the most the oscillation may be into its turn at zero amplitude (rad;
             # criteria.RotatesAtZero: more is a drive with no pulse, a leaking carrier)
             "max_phase": 0.5},
    sweep_settings=("expected_pi_amplitude",)))


# --- Ramsey ----------------------------------------------------------------------------------

def _detuning(s) -> float | None:
    d = s.get("detuning")
    return None if d is None else abs(float(d))


def _ramsey_key(s):
    return "t2" if _detuning(s) == 0.0 else "frequency"


def _ramsey_candidates(s):
    # the envelope: exponential, or exp(-(t/T2*)^β) (β = 2: quasi-static frequency noise)
    stretched = s.get("envelope", "auto") == "auto"
    if _detuning(s) == 0.0:
        return [FIT_MODELS[n] for n in ("ramsey_decay", *(("ramsey_decay_stretched",)
                                                           if stretched else ()),
                                        "ramsey_fringes")]
    # a readout nonlinear in the population: the fringe's square (ramsey_fringes_harmonic)
    return [FIT_MODELS[n] for n in ("ramsey_fringes", *(("ramsey_stretched",)
                                                         if stretched else ()),
                                    "ramsey_fringes_harmonic")]


def _ramsey_criteria(x, fit, s):
    span, step = _span_step(x)
    det = _detuning(s)
    if det == 0.0:   # zero detuning: the decay is the measurement
        lo, hi = _range(s, step, 5.0 * float(x.max()))
        return [InRange("t2", lo, hi), Resolved(2.0, feature="decay constant"),
                _uncertainty("t2", {"max_relative_error": s["t2_max_relative_error"]})]
    nyquist = 0.5 / step
    if det is None:
        lo, hi = _range(s, 1.0 / (span + float(x.min())), nyquist)
        what = "the frequencies this sweep resolves"
    else:
        # Beyond ±det/2 the offset's sign is ambiguous (fringes at det ± offset look alike).
        lo, hi = _range(s, max(1.0 / (span + float(x.min())), 0.5 * det), min(nyquist, 1.5 * det))
        what = "the fringes this detuning and sweep allow"
    crit: list[Criterion] = [ChirpTest(s["residual_p_value"], s["max_structure"]),
                             Resolved(s["min_points_per_feature"], feature="fringe"),
                             InRange("frequency", lo, hi, what=what,
                                     hint="find the qubit with spectroscopy first, or lengthen "
                                          "the sweep (at least one fringe)")]
    return crit + [_uncertainty("frequency", s)]


def _ramsey_resolution(x, fit, s):
    step = _span_step(x)[1]
    if not fit.converged:
        return math.nan
    if _detuning(s) == 0.0:
        return abs(fit.params["t2"]) / step
    fastest = max(abs(fit.params.get("frequency", 0.0)), _detuning(s) or 0.0)
    return 1 / (fastest * step) if fastest > 0 else math.inf


def _ramsey_values(fit, s):
    det = _detuning(s)
    out: dict[str, Any] = {"t2_star": ("t2", "s")}
    if "beta" in fit.params:
        out["envelope_exponent"] = ("beta", "")
    if "frequency" in fit.params:
        out["fringe_frequency"] = ("frequency", "Hz")
        if det is not None:
            out["frequency_offset"] = (lambda f: (f.params["frequency"] - det,
                                                  f.errors["frequency"]), "Hz")
    else:
        out["fringe_frequency"] = (lambda f: (0.0, math.inf), "Hz")
    return out


register_kind(AnalysisKind(
    "ramsey", "ramsey", "s", _ramsey_key, _ramsey_candidates, _ramsey_criteria,
    _ramsey_resolution, _ramsey_values,
    options={"detuning": None, "max_relative_error": 0.02, "t2_max_relative_error": 0.2,
             "min_points_per_feature": 3.0, "scale": None,
             # "auto": an exponential or stretched envelope, chosen on the data;
             # "exponential": the exponential only
             "envelope": "auto"},
    scale=lambda fit, s: s.get("scale")))


# --- T1 / echo -------------------------------------------------------------------------------

def _decay_criteria(x, fit, s):
    lo, hi = _range(s, _span_step(x)[1], 2.0 * float(x.max()))
    return [InRange("tau", lo, hi), Resolved(s["min_points_per_feature"], feature="decay "
                                             "constant"), _uncertainty("tau", s)]


def _t1_criteria(x, fit, s):
    # energy relaxation is exponential: a decay that is not (it speeds up part-way through: a
    # TLS, heating) is refused even where the residual tests lack the points to see it. Not
    # the echo, whose decay may be Gaussian-like under 1/f noise and is still a good T2E.
    shape = ShapeTest(FIT_MODELS["stretched_exponential"], s["shape_p_value"],
                      s["max_structure"], what="a non-exponential decay")
    # and a second alternative, two populations (a fast part the stretched form misses)
    two = ShapeTest(FIT_MODELS["biexponential"], s["two_rates_p_value"], s["max_structure"],
                    what="two populations decaying at different rates", name="two_rates")
    steady = [KeySteady(s["steady_key"], s["steady_p_value"], s["max_structure"])] \
        if s.get("steady_key") else []
    return [shape, two, *steady, *_decay_criteria(x, fit, s)]


def _decay_resolution(x, fit, s):
    return abs(fit.params["tau"]) / _span_step(x)[1] if fit.converged else math.nan


def _echo_candidates(s):
    # an echo's decay is exponential under white (Markovian) dephasing and compressed,
    # exp(-(t/T)^β) with β up to 3, under 1/f noise; T (the 1/e time) is T2E in both
    if s.get("envelope", "auto") == "auto":
        return [FIT_MODELS["exponential"], FIT_MODELS["stretched_exponential"]]
    return [FIT_MODELS["exponential"]]


def _decay_values(value):
    def values(fit, s):
        out = {value: ("tau", "s")}
        if "beta" in fit.params:
            out["envelope_exponent"] = ("beta", "")
        return out
    return values


for _name, _exp, _value, _crit, _cands in (
        ("t1", "t1", "t1", _t1_criteria, lambda s: [FIT_MODELS["exponential"]]),
        ("echo", "hahn_echo", "t2_echo", _decay_criteria, _echo_candidates)):
    register_kind(AnalysisKind(
        _name, _exp, "s", lambda s: "tau", _cands,
        _crit, _decay_resolution, _decay_values(_value),
        options={"max_relative_error": 0.2, "min_points_per_feature": 2.0,
                 # the T1 shape test's F-test level: 10⁻³ refused 40 of 60 two-population
                 # decays of the train-side tuning set (10⁻⁴: 37) for 1 of 150 good train
                 # T1s (10⁻⁴: 0); session 4, on 80 broad-train two-population decays and 160
                 # good train T1s in every broad-train noise: 10⁻² accepts 5 bad (10⁻³: 7)
                 # for the same 1 good refusal; the echo ignores it
                 "shape_p_value": 1e-2,
                 # the second shape alternative's (two rates; session 9): at 10⁻² it refused
                 # a good T1 in Ornstein–Uhlenbeck noise (p = 3.5·10⁻³, 1.6 % of the signal)
                 "two_rates_p_value": 1e-3,
                 # the echo's envelope: "auto" exponential or compressed exp(-(t/T)^β),
                 # chosen on the data; "exponential" the exponential only (T1 ignores it)
                 "envelope": "auto",
                 # T1 only: the key must hold still during the sweep (fluctuation.KeySteady:
                 # a T1 switching with a TLS); the echo's T2E may wander with 1/f noise
                 "steady_key": "tau" if _name == "t1" else None, "steady_p_value": 1e-4}))


# --- the QEC lab's further kinds (resonator, readout tone, DRAG, RB, CZ) ---------------------
importlib.import_module("qplane.calibration.kinds_qec")   # registers them
