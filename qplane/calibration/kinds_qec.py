"""The analysis kinds of the QEC lab's further nodes, and their fit models.

Registered into :data:`~qplane.calibration.kinds.KINDS` and
:data:`~qplane.calibration.fit_models.FIT_MODELS` on import (``kinds`` imports this module),
so :func:`qplane.calibration.analyse` and ``qplane calibration analyse FILE`` take them:

==============================  ===========================  =================================
kind (experiment)               models                       key → values
==============================  ===========================  =================================
``resonator_spectroscopy``      Lorentzian / Gaussian dip,   ``center`` → resonator frequency,
                                constant, linear or Fano     linewidth
                                background; a phase: also
                                two arctangent steps on a
                                cable delay's slope
``readout_frequency``           flat-topped peak             ``peak`` → the best frequency
(assignment fidelity vs         ``offset + (amplitude +
the readout tone)               skew·u) · e^(−u⁴)``,
                                ``u = (x − c)/w``; or the
                                dispersive overlap
                                ``offset + amplitude ·
                                erf(k |S₀ − S₁|)``
``readout_amplitude``           ``offset − a (A/0.1 V)⁴ −    ``best`` → the amplitude of the
                                b erfc(k A)``, or with       highest fidelity
                                transitions that saturate,
                                ``a r/(1 + r)``, ``r =
                                (A/onset)⁴``
``readout_duration``            ``offset − a t/1 µs −        ``best`` → the duration of the
                                b erfc(k √t)``               highest fidelity
``drag``                        ``offset + amplitude ·       ``center`` → the DRAG coefficient
                                sin²(π w (x − c))``
``randomized_benchmarking``     exponential with offset      ``tau`` → error per Clifford
                                                             ``(1 − e^(−1/τ))/2``
``cz``                          ``offset + amplitude ·       ``cz_amplitude`` → the flux
                                cos(π/2 (1 + (x/c)²))``      amplitude of conditional phase π
==============================  ===========================  =================================

The readout fidelity's peak is flat-topped (the decay during the readout floors the error
while the separation is ample), so its model is a fourth-order super-Gaussian (with a skew term when the data ask for it;
the key is the fitted curve's maximum). Amplitude and duration have physics-shaped models:
the blobs' overlap falls as ``erfc`` of a separation growing as ``A`` (``√t``), while
measurement-induced transitions grow as ``A⁴`` (decay during the readout as ``t``); ``best``
is where the two slopes cancel. ``drag`` and ``cz`` also check that the fitted extremum is a
minimum (:class:`IsMinimum`).

>>> import numpy as np
>>> from qplane.calibration import analyse
>>> a = np.linspace(0.16, 0.24, 31)
>>> p = 0.02 + 0.95 * (1 + np.cos(np.pi / 2 * (1 + (a / 0.2) ** 2))) / 2
>>> r = analyse("cz", a, p, shots=400, second_opinion=False)
>>> r.outcome.value, round(r.values["cz_amplitude"].value, 4)
('success', 0.2)
"""

from __future__ import annotations

import math
import numpy as np

from qplane.calibration.criteria import Criterion, InRange, Resolved
from qplane.calibration.fit_models import FIT_MODELS, FitModel, _mesh, _span_step
from qplane.calibration.fits import MODELS
from qplane.calibration.kinds import (
    AnalysisKind,
    _range,
    _spec_candidates,
    _spec_criteria,
    _spec_resolution,
    _uncertainty,
    register_kind,
)


class IsMinimum(Criterion):
    """The fitted extremum is a minimum: its ``curvature`` (the model's second derivative
    there, where the model derives one) or else its ``amplitude`` is positive at
    ``significance`` sigma.

    The curvature is what the data fix even when the amplitude is not: a sin² whose period
    is long next to the sweep is a parabola near its minimum, and its amplitude and frequency
    trade off (a readout that compresses the signal, as the phase of the reflected tone
    does, flattens the fringe that way), while their product, the curvature, stays sharp.
    """

    name, check = "minimum", "range"

    def __init__(self, significance: float = 3.0, *, what: str = "the setting"):
        self.significance, self.what = significance, what

    def evaluate(self, ctx):
        name = "curvature" if "curvature" in ctx.fit.params else "amplitude"
        a, e = ctx.fit.params.get(name, math.nan), ctx.fit.errors.get(name, math.inf)
        z = a / e if e > 0 else math.inf * np.sign(a)
        return self._result(bool(z >= self.significance), z, self.significance,
                            f"no minimum: the fit finds a maximum where {self.what} should "
                            f"minimise the signal ({z:.1f} sigma); widen the sweep around the "
                            "current setting")


class SettlesAt(Criterion):
    """A decay's fitted asymptote (``offset``) lies within ``tolerance`` of where the physics
    puts it, at ``significance`` sigma: a single qubit's randomized-benchmarking survival
    settles at 1/2 (the depolarised state; the readout's assignment errors move it by half
    their difference, a few per cent).

    A survival that settles well above 1/2 means the sequences leave population somewhere the
    discriminator reads as the survival state (leakage to ``|2⟩`` assigned to ``|0⟩``); well
    below, a readout that mis-assigns. The decay constant fitted to such data is not the error
    per Clifford. Judged on populations only (a magnitude or IQ projection has no scale).
    """

    name, check = "asymptote", "shape"

    def __init__(self, expected: float, tolerance: float, significance: float = 2.0, *,
                 what: str = "the depolarised qubit's 1/2"):
        self.expected, self.tolerance = expected, tolerance
        self.significance, self.what = significance, what

    def evaluate(self, ctx):
        v = ctx.fit.params.get("offset", math.nan)
        e = ctx.fit.errors.get("offset", math.inf)
        if not (math.isfinite(v) and math.isfinite(e)):
            return self._result(None, math.nan, self.tolerance, "no asymptote fitted")
        off = abs(v - self.expected) - self.significance * e
        return self._result(bool(off <= self.tolerance), abs(v - self.expected),
                            self.tolerance,
                            f"the survival settles at {v:.3f} ± {e:.3f}, not at {self.what} "
                            f"(tolerance {self.tolerance:g}): leakage read as a qubit state "
                            "or a readout that mis-assigns; check the discriminator and the "
                            "leakage before trusting the error per Clifford")


class PeakBracketed(Criterion):
    """The sweep brackets the fitted peak: from the peak the fitted curve falls to *both* ends
    of the sweep, each fall at least ``min_fall`` times the median per-point noise.

    A window that lies beside the optimum (built around a previous cooldown's frequency, a
    side of the dressed pair) sees the fidelity only fall; a flat-topped model still puts
    its top somewhere in or near the window, where nothing in the data marks a maximum. The
    sign follows the fit's amplitude (an error rate's optimum is its minimum).
    """

    name, check = "bracketed", "range"

    def __init__(self, key: str = "peak", min_fall: float = 5.0):
        self.key, self.min_fall = key, min_fall

    def evaluate(self, ctx):
        fit = ctx.fit
        peak = fit.params.get(self.key, math.nan)
        noise = float(np.median(ctx.sigma))
        if not (math.isfinite(peak) and noise > 0):
            return self._result(None, math.nan, self.min_fall, "no peak to bracket")
        top, lo, hi = fit.evaluate(np.array([peak, ctx.x.min(), ctx.x.max()]))
        sign = 1.0 if fit.params.get("amplitude", 1.0) >= 0 else -1.0
        fall = min(sign * (top - lo), sign * (top - hi)) / noise
        side = "low" if sign * (top - lo) <= sign * (top - hi) else "high"
        return self._result(bool(fall >= self.min_fall), float(fall), self.min_fall,
                            f"off range: the signal does not fall from the fitted peak toward "
                            f"the sweep's {side} end ({fall:.1f} noise sigma, < "
                            f"{self.min_fall:g}): the optimum is not inside the window; "
                            "centre the sweep on the current setting, or widen it")


# --- models ----------------------------------------------------------------------------------

def _flat_top_basis(x, *, center, width):
    return np.stack([np.ones_like(x * center), np.exp(-((x - center) / width) ** 4)], axis=-1)


def _skewed_top_basis(x, *, center, width):
    u = (x - center) / width
    return np.stack([np.ones_like(x * center), np.exp(-u ** 4), u * np.exp(-u ** 4)], axis=-1)


def _skewed_derive(p, options):
    # the maximum of a·e^(-u⁴) + b·u·e^(-u⁴): a(-4u³) + b(1 - 4u⁴) = 0, near u = b / (4a)
    a, b = p["amplitude"], p["skew"]
    u = 0.0
    for _ in range(30):
        g = -4 * a * u**3 + b * (1 - 4 * u**4)
        dg = -12 * a * u**2 - 16 * b * u**3
        if dg == 0:
            break
        u = max(min(u - g / dg, 0.9), -0.9)
    return {"peak": p["center"] + u * p["width"]}


def _flat_top_grid(x):
    span, step = _span_step(x)
    return _mesh(center=np.linspace(x.min(), x.max(), min(4 * len(x), 200)),
                 width=np.maximum(span * np.array([0.1, 0.2, 0.35, 0.6, 1.0]), step))


def _flat_top_bounds(x):
    span, step = _span_step(x)
    return {"center": (x.min() - span / 2, x.max() + span / 2), "width": (step / 4, 4 * span)}


def _separation(x, center, width, ratio):
    """``|S21(|0⟩) − S21(|1⟩)|`` of a notch of linewidth ``width`` whose two dressed
    resonances lie at ``center ∓ ratio · width``, per unit of depth: ``4 r / √((1 + 4(u + r)²)
    (1 + 4(u − r)²))`` with ``u = (x − center) / width``; its maximum is at ``center`` for
    ``ratio ≤ 1/2`` (a dispersive shift ``2χ`` up to the linewidth)."""
    u = (x - center) / width
    return 4 * ratio / np.sqrt((1 + 4 * (u + ratio) ** 2) * (1 + 4 * (u - ratio) ** 2))


def _dispersive_basis(x, *, center, width, ratio, snr):
    from scipy.special import erf

    return np.stack([np.ones_like(x * center), erf(snr * _separation(x, center, width, ratio))],
                    axis=-1)


def _dispersive_grid(x):
    span, step = _span_step(x)
    return _mesh(center=np.linspace(x.min(), x.max(), min(2 * len(x), 100)),
                 width=np.maximum(span * np.array([0.05, 0.1, 0.2, 0.4]), step),
                 ratio=np.array([0.2, 0.35, 0.5]), snr=np.array([0.5, 1.0, 2.0, 4.0]))


def _dispersive_bounds(x):
    span, step = _span_step(x)
    return {"center": (x.min() - span / 2, x.max() + span / 2), "width": (step / 4, 4 * span),
            "ratio": (0.01, 0.5), "snr": (0.01, 50.0)}


def _sin2_basis(x, *, center, frequency):
    return np.stack([np.ones_like(x * center), np.sin(np.pi * frequency * (x - center)) ** 2],
                    axis=-1)


def _sin2_derive(p, options):
    # the second derivative at the centre: 2 π² f² a (positive at a minimum)
    return {"curvature": 2 * (math.pi * p["frequency"]) ** 2 * p["amplitude"]}


def _sin2_grid(x):
    span, step = _span_step(x)
    return _mesh(center=np.linspace(x.min(), x.max(), min(4 * len(x), 200)),
                 frequency=np.geomspace(0.2 / span, 0.5 / step, 40))


def _sin2_bounds(x):
    span, step = _span_step(x)
    return {"center": (x.min() - span, x.max() + span), "frequency": (0.02 / span, 1 / step)}


def _cz_basis(x, *, cz_amplitude):
    return np.stack([np.ones_like(x * cz_amplitude),
                     np.cos(np.pi / 2 * (1 + (x / cz_amplitude) ** 2))], axis=-1)


def _cz_grid(x):
    lo, hi = max(float(np.min(np.abs(x))), 1e-6), float(np.max(np.abs(x)))
    return {"cz_amplitude": np.geomspace(lo / 1.5, hi * 1.5, 300)}


def _cz_bounds(x):
    hi = float(np.max(np.abs(x)))
    return {"cz_amplitude": (hi / 50, 10 * hi)}


#: The fixed scales of the readout models' power-law terms (keeps the columns comparable).
_AMPLITUDE_SCALE, _DURATION_SCALE = 0.1, 1e-6


def _erfc(z):
    from scipy.special import erfc

    return erfc(z)


def _ro_amp_basis(x, *, k):
    return np.stack([np.ones_like(x * k), -(x / _AMPLITUDE_SCALE) ** 4 * np.ones_like(k),
                     -_erfc(k * x)], axis=-1)


def _ro_amp_saturating_basis(x, *, k, onset):
    # onset 0 (a start from the plain model, which lacks it): no transitions
    r = (x / np.where(onset > 0, onset, np.inf)) ** 4
    return np.stack([np.ones_like(x * k * onset), -r / (1 + r), -_erfc(k * x)], axis=-1)


def _ro_amp_saturating_best(p, options):
    a, b, k, s = p["a"], p["b"], p["k"], p["onset"]
    g = lambda x: (b * 2 * k / math.sqrt(math.pi) * math.exp(-(k * x) ** 2)   # noqa: E731
                   - a * 4 * (x / s) ** 4 / x / (1 + (x / s) ** 4) ** 2)
    return {"best": _root(g, 1e-6, 10.0) if a > 0 and b > 0 and s > 0 else math.nan}


def _ro_amp_saturating_grid(x):
    top = float(np.max(np.abs(x)))
    return _mesh(k=np.geomspace(0.3 / top, 30 / top, 60),
                 onset=top * np.array([0.5, 1.0, 2.0, 4.0]))


def _ro_amp_saturating_bounds(x):
    top = float(np.max(np.abs(x)))
    return {**_k_bounds(1.0)(x), "onset": (top / 20, 50 * top)}


def _ro_dur_basis(x, *, k):
    return np.stack([np.ones_like(x * k), -(x / _DURATION_SCALE) * np.ones_like(k),
                     -_erfc(k * np.sqrt(np.maximum(x, 0.0)))], axis=-1)


def _root(g, lo, hi):
    """The root of a decreasing ``g`` on ``[lo, hi]`` (log bisection), NaN if none."""
    if not (g(lo) > 0 > g(hi)):
        return math.nan
    for _ in range(90):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if g(mid) > 0 else (lo, mid)
    return math.sqrt(lo * hi)


def _ro_amp_best(p, options):
    a, b, k = p["a"], p["b"], p["k"]
    g = lambda x: (b * 2 * k / math.sqrt(math.pi) * math.exp(-(k * x) ** 2)   # noqa: E731
                   - 4 * a * x**3 / _AMPLITUDE_SCALE**4)
    return {"best": _root(g, 1e-6, 10.0) if a > 0 and b > 0 else math.nan}


def _ro_dur_best(p, options):
    a, b, k = p["a"], p["b"], p["k"]
    g = lambda t: (b * k * math.exp(-k * k * t) / math.sqrt(math.pi * t)   # noqa: E731
                   - a / _DURATION_SCALE)
    return {"best": _root(g, 1e-10, 1e-3) if a > 0 and b > 0 else math.nan}


def _k_grid(power):
    def grid(x):
        top = float(np.max(np.abs(x))) ** power
        return {"k": np.geomspace(0.3 / top, 30 / top, 200)}
    return grid


def _k_bounds(power):
    def bounds(x):
        top = float(np.max(np.abs(x))) ** power
        return {"k": (0.05 / top, 100 / top)}
    return bounds


# --- resonator phase --------------------------------------------------------------------------

def _phase_basis(x, *, center, width, width_ratio):
    """The phase of a resonator's response: two arctangent steps at its frequency (a one-port
    reflection ``arg(1 − 2η/(1 + 2iδ))`` unwraps to ``−atan(2δ/(2η − 1)) − atan(2δ)``, a notch
    ``arg(1 − η/(1 + 2iδ))`` to ``atan(2δ/(1 − η)) − atan(2δ)``, ``δ = (f − f_r)/κ``): the
    wider step's width is the linewidth ``κ``, the other's ``width_ratio`` of it (``|κ_ext −
    κ_int|`` for a reflection, ``κ_int`` for a notch), on the linear phase of an
    uncompensated cable delay."""
    u = x - center
    return np.stack([np.arctan(2 * u / width), np.arctan(2 * u / (width * width_ratio)),
                     np.ones_like(u), u / (width * 10)], axis=-1)


def _phase_grid(x):
    span, step = _span_step(x)
    widths = np.maximum(span * np.array([0.01, 0.03, 0.1, 0.3]), step)
    return _mesh(center=np.linspace(x.min(), x.max(), min(2 * len(x), 200)), width=widths,
                 width_ratio=np.array([0.2, 0.5, 0.8]))


def _phase_bounds(x):
    span, step = _span_step(x)
    return {"center": (x.min() - span / 2, x.max() + span / 2), "width": (step / 20, 2 * span),
            "width_ratio": (1e-3, 1.0)}


#: a resonator read in phase (``signal_type="phase"``): its frequency where the phase turns
RESONATOR_PHASE = FitModel("resonator_phase", ("center", "width", "width_ratio"),
                           ("step", "second_step", "offset", "slope"), _phase_basis,
                           _phase_grid, _phase_bounds)


def _resonator_candidates(s):
    """The dip's models; for a phase, also :data:`RESONATOR_PHASE` (a phase turns through a
    step at the resonance: a dip describes it only when the excursion is small)."""
    out = _spec_candidates(s)
    if s.get("signal_type") == "phase" and not s.get("model"):
        out = out + [RESONATOR_PHASE]
    return out


for _m in (RESONATOR_PHASE,
           FitModel("readout_amplitude", ("k",), ("offset", "a", "b"), _ro_amp_basis,
                    _k_grid(1.0), _k_bounds(1.0), _ro_amp_best),
           # measurement-induced transitions that saturate: r / (1 + r), r = (A / onset)⁴
           FitModel("readout_amplitude_saturating", ("k", "onset"), ("offset", "a", "b"),
                    _ro_amp_saturating_basis, _ro_amp_saturating_grid,
                    _ro_amp_saturating_bounds, _ro_amp_saturating_best),
           FitModel("readout_duration", ("k",), ("offset", "a", "b"), _ro_dur_basis,
                    _k_grid(0.5), _k_bounds(0.5), _ro_dur_best),
           FitModel("flat_top", ("center", "width"), ("offset", "amplitude"), _flat_top_basis,
                    _flat_top_grid, _flat_top_bounds,
                    lambda p, o: {"peak": p["center"]}),
           FitModel("skewed_top", ("center", "width"), ("offset", "amplitude", "skew"),
                    _skewed_top_basis, _flat_top_grid, _flat_top_bounds, _skewed_derive),
           # the assignment fidelity of a dispersive readout: the blobs' overlap falls as
           # erfc of their separation, the difference of the two dressed notch responses
           FitModel("dispersive_overlap", ("center", "width", "ratio", "snr"),
                    ("offset", "amplitude"), _dispersive_basis, _dispersive_grid,
                    _dispersive_bounds, lambda p, o: {"peak": p["center"]}),
           FitModel("sin2_minimum", ("center", "frequency"), ("offset", "amplitude"),
                    _sin2_basis, _sin2_grid, _sin2_bounds, _sin2_derive),
           FitModel("cz_phase", ("cz_amplitude",), ("offset", "amplitude"), _cz_basis, _cz_grid,
                    _cz_bounds)):
    FIT_MODELS.setdefault(_m.name, _m)
    MODELS.setdefault(_m.name, lambda x, _m=_m, **p: _m.evaluate(x, p))


# --- kinds -----------------------------------------------------------------------------------

register_kind(AnalysisKind(
    "resonator_spectroscopy", "resonator_spectroscopy", "Hz", lambda s: "center",
    _resonator_candidates, _spec_criteria, _spec_resolution,
    lambda fit, s: {"frequency": ("center", "Hz"), "linewidth": ("width", "Hz")},
    options={"lineshape": "lorentzian", "background": "auto", "max_relative_error": 0.05,
             "min_points_per_feature": 1.5},
    scale=lambda fit, s: fit.params.get("width")))


def _peak_criteria(x, fit, s):
    lo, hi = _range(s, float(x.min()), float(x.max()))
    return [InRange("peak", lo, hi, hint="centre the sweep on the current setting, or widen "
                                         "it"),
            PeakBracketed("peak", float(s["min_peak_fall"])),
            Resolved(s["min_points_per_feature"], feature="peak width"),
            _uncertainty("peak", s, s.get("scale"))]


def _peak_resolution(x, fit, s):
    return abs(fit.params["width"]) / _span_step(x)[1] if fit.converged else math.nan


def _peak_values(unit):
    return lambda fit, s: {"center": ("peak", unit), "fidelity": (
        lambda f: (f.params["offset"] + f.params["amplitude"],
                   math.hypot(f.errors["offset"], f.errors["amplitude"])), "")}


for _name, _exp, _unit in (("readout_frequency", "readout_fidelity_frequency", "Hz"),):
    register_kind(AnalysisKind(
        _name, _exp, _unit, lambda s: "peak",
        lambda s: [FIT_MODELS["flat_top"], FIT_MODELS["skewed_top"],
                   FIT_MODELS["dispersive_overlap"]],
        _peak_criteria, _peak_resolution, _peak_values(_unit),
        options={"max_relative_error": 0.05, "min_points_per_feature": 3.0, "scale": None,
                 "min_peak_fall": 5.0},
        scale=lambda fit, s: s.get("scale") or fit.params.get("width")))


def _ro_criteria(x, fit, s):
    lo, hi = _range(s, float(x.min()), float(x.max()))
    return [InRange("best", lo, hi, hint="the best value lies outside the sweep; centre the "
                                         "sweep on the current setting, or widen it"),
            _uncertainty("best", s)]


for _name, _exp, _unit, _err in (("readout_amplitude", "readout_fidelity_amplitude", "V", 0.1),
                                 ("readout_duration", "readout_fidelity_duration", "s", 0.3)):
    register_kind(AnalysisKind(
        _name, _exp, _unit, lambda s: "best",
        lambda s, _n=_name: [FIT_MODELS[n] for n in (_n, f"{_n}_saturating")
                             if n in FIT_MODELS],
        _ro_criteria, lambda x, fit, s: len(x),
        lambda fit, s, _u=_unit: {"best": ("best", _u)},
        options={"max_relative_error": _err}))


def _drag_criteria(x, fit, s):
    lo, hi = _range(s, float(x.min()), float(x.max()))
    return [InRange("center", lo, hi), IsMinimum(what="the ideal DRAG coefficient"),
            Resolved(s["min_points_per_feature"], feature="fringe"),
            _uncertainty("center", s, s.get("scale"))]


def _drag_resolution(x, fit, s):
    f = abs(fit.params.get("frequency", 0.0))
    return 1 / (f * _span_step(x)[1]) if fit.converged and f > 0 else math.nan


register_kind(AnalysisKind(
    "drag", "drag", "", lambda s: "center", lambda s: [FIT_MODELS["sin2_minimum"]],
    _drag_criteria, _drag_resolution,
    lambda fit, s: {"drag_beta": ("center", ""), "contrast": ("amplitude", "")},
    options={"max_relative_error": 0.05, "min_points_per_feature": 4.0, "scale": 1.0},
    scale=lambda fit, s: s.get("scale")))


def _rb_criteria(x, fit, s):
    lo, hi = _range(s, _span_step(x)[1], 3.0 * float(x.max()))
    settles = ([SettlesAt(float(s["asymptote"]), float(s["asymptote_tolerance"]))]
               if s.get("signal_type", "population") == "population"
               and s.get("asymptote") is not None else [])
    return [*settles,
            InRange("tau", lo, hi, hint="lengthen the sequences (the decay is slower than "
                                        "the sweep) or shorten them"),
            Resolved(s["min_points_per_feature"], feature="decay constant"),
            _uncertainty("tau", s)]


def _epc(fit):
    tau, e = fit.params["tau"], fit.errors["tau"]
    r = (1 - math.exp(-1 / tau)) / 2 if tau > 0 else math.nan
    return r, math.exp(-1 / tau) / (2 * tau**2) * e if tau > 0 else math.inf


register_kind(AnalysisKind(
    "randomized_benchmarking", "randomized_benchmarking", "", lambda s: "tau",
    lambda s: [FIT_MODELS["exponential"]], _rb_criteria,
    lambda x, fit, s: abs(fit.params["tau"]) / _span_step(x)[1] if fit.converged else math.nan,
    lambda fit, s: {"error_per_clifford": (_epc, ""), "tau": ("tau", "")},
    options={"max_relative_error": 0.25, "min_points_per_feature": 2.0, "asymptote": 0.5,
             "asymptote_tolerance": 0.07}))


def _cz_criteria(x, fit, s):
    lo, hi = _range(s, float(np.min(x)), float(np.max(x)))
    return [InRange("cz_amplitude", lo, hi), IsMinimum(what="the CZ amplitude"),
            _uncertainty("cz_amplitude", s)]


register_kind(AnalysisKind(
    "cz", "cz_conditional_phase", "V", lambda s: "cz_amplitude",
    lambda s: [FIT_MODELS["cz_phase"]], _cz_criteria,
    lambda x, fit, s: (abs(fit.params["cz_amplitude"]) / _span_step(x)[1]
                       if fit.converged else math.nan),
    lambda fit, s: {"cz_amplitude": ("cz_amplitude", "V"), "contrast": ("amplitude", "")},
    options={"max_relative_error": 0.01}))
