"""``analyse``: one calibration data set from any lab → values, outcome, gate, second opinion.

>>> import numpy as np
>>> from qplane.calibration import analyse
>>> t = np.linspace(0, 200, 41)                                      # ns
>>> rng = np.random.default_rng(0)
>>> p = 0.03 + 0.9 * np.exp(-t / 45) + rng.normal(0, 0.01, 41)       # a 45 ns T1
>>> r = analyse("t1", t, p, units="ns", second_opinion=False)
>>> r.outcome.value, r.values["t1"].text
('success', '44.23 ± 0.53 ns')

Signal types: ``population`` (fraction of shots in |1⟩; with ``shots``, the shot noise is
binomial), ``magnitude`` and ``phase`` (any scale and offset; phase is unwrapped), ``iq``
(complex points, or ``(n, 2)`` I and Q: projected onto the line along which they vary most).
Without ``sigma`` the noise is estimated from the data (:mod:`~qplane.calibration.noise`);
nothing assumes binomial noise unless the signal is a population with ``shots``.

The fit is the simplest candidate the data do not reject (:func:`~qplane.calibration.
fit_models.select_model`), the gate is the kind's criteria (:mod:`~qplane.calibration.kinds`),
and the second opinion (:mod:`~qplane.calibration.classifier`) is advisory: it is recorded, and
a disagreement with the gate sets ``flagged``, but it never changes the outcome.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np

from qplane.calibration.criteria import GateContext
from qplane.calibration.fit_models import select_model
from qplane.calibration.fits import FitResult
from qplane.calibration.gates import GateResult, Outcome
from qplane.calibration.kinds import AnalysisKind, kind_for
from qplane.calibration.noise import SIGNAL_TYPES, NoiseEstimate, estimate, initial_sigma
from qplane.calibration.readout_passes import PassAlignment, realign
from qplane.calibration.units import convert, format_value, to_si
from qplane.errors import AnalysisError


@dataclasses.dataclass(frozen=True)
class Value:
    """One measured value with its one-sigma uncertainty, in SI ``unit``."""

    value: float
    error: float
    unit: str = ""

    @property
    def text(self) -> str:
        """``value ± error`` with a sensible prefix."""
        return format_value(self.value, self.unit, error=self.error)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | str:
            return float(v) if math.isfinite(v) else str(v)
        return {"value": clean(self.value), "error": clean(self.error), "unit": self.unit}


@dataclasses.dataclass(frozen=True)
class AnalysisResult:
    """What :func:`analyse` made of one data set.

    Attributes:
        kind: the analysis kind.
        outcome: ``success`` when the gate passed, else why not (``bad_data``, ``fit_failed``).
        reason: the deciding criterion's reason (or the key value when passed).
        values: measured values with uncertainties, SI units.
        gate: the gate's verdict with every criterion's number (``gate.criteria``).
        fit: the chosen fit; ``candidates``: every candidate's reduced chi² by model name.
        noise: the noise model used.
        resolution: points per feature.
        second_opinion: the learned second opinion's verdict (a dict) or None.
        flagged: the second opinion disagrees with the gate (a person should look).
        x, y, sigma: the data as analysed (SI sweep, real signal, per-point noise).
        settings: the settings the kind used.
    """

    kind: str
    outcome: Outcome
    reason: str
    values: dict[str, Value]
    gate: GateResult
    fit: FitResult
    candidates: dict[str, float]
    noise: NoiseEstimate
    resolution: float
    x: np.ndarray
    y: np.ndarray
    signal_type: str
    shots: int | None
    settings: Mapping[str, Any]
    second_opinion: dict[str, Any] | None = None
    #: readout glitches left out of the fit and the gate (:func:`glitches`)
    left_out: int = 0
    #: each later pass's readout against the first's, when the sweep was re-aligned
    #: (:mod:`~qplane.calibration.readout_passes`)
    pass_alignment: PassAlignment | None = None

    @property
    def passed(self) -> bool:
        return self.gate.passed

    @property
    def flagged(self) -> bool:
        v = self.second_opinion
        return v is not None and (v.get("label") == "expected") != self.gate.passed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        def clean(v: Any) -> Any:
            return str(v) if isinstance(v, float) and not math.isfinite(v) else v
        return {
            "kind": self.kind, "outcome": self.outcome.value, "reason": self.reason,
            "values": {k: v.to_dict() for k, v in self.values.items()},
            "gate": {"check": self.gate.check,
                     "criteria": [c.to_dict() for c in self.gate.criteria]},
            "fit": self.fit.to_dict(), "candidates": {k: clean(v) for k, v in
                                                      self.candidates.items()},
            "noise": self.noise.to_dict(), "resolution": clean(float(self.resolution)),
            "signal_type": self.signal_type, "points": int(len(self.x)),
            "points_left_out": self.left_out,
            "pass_alignment": None if self.pass_alignment is None
            else self.pass_alignment.to_dict(),
            "second_opinion": self.second_opinion, "flagged": self.flagged,
        }

    def card(self) -> str:
        """A readable summary: values, the gate criterion by criterion, the second opinion."""
        lines = [f"{self.kind}: {self.outcome.value} — {self.reason}"]
        for name, v in self.values.items():
            lines.append(f"  {name:<18} {v.text}")
        others = ", ".join(f"{k} {v:.3g}" for k, v in self.candidates.items()
                           if k != self.fit.model)
        lines.append(f"  {'model':<18} {self.fit.model} (reduced chi2 {self.fit.chi2_red:.3g}"
                     + (f"; also tried: {others}" if others else "") + ")")
        n = self.noise
        if self.left_out:
            lines.append(f"  {'left out':<18} {self.left_out} readout glitches")
        if self.pass_alignment is not None:
            lines.append(f"  {'passes':<18} {self.pass_alignment.text}")
        lines.append(f"  {'noise':<18} {n.source}: median sigma {float(np.median(n.sigma)):.3g}"
                     + (f", shot {n.shot:.3g}" if n.shot else "")
                     + (f", technical {n.technical:.3g}" if math.isfinite(n.technical) else ""))
        lines.append("  gate:")
        for c in self.gate.criteria:
            mark = {True: "pass", False: "FAIL", None: " -- "}[c.passed]
            lines.append(f"    {mark}  {c.name:<12} {c.value:.4g} (threshold {c.threshold})")
        v = self.second_opinion
        if v is not None:
            lines.append(f"  second opinion: {v.get('label')} ({v.get('confidence', 0):.2f})"
                         + (" — disagrees with the gate: flagged for a person"
                            if self.flagged else ""))
        return "\n".join(lines)


def _raw_signal(signal: Any, signal_type: str) -> np.ndarray:
    """The signal as a 1-D array: complex for ``iq``, real otherwise (shapes checked)."""
    if signal_type not in SIGNAL_TYPES:
        raise AnalysisError(f"signal_type must be one of {', '.join(SIGNAL_TYPES)}, "
                            f"got {signal_type!r}")
    a = np.asarray(signal)
    if signal_type == "iq":
        if not np.iscomplexobj(a):
            if a.ndim == 2 and a.shape[1] == 2:
                a = a[:, 0] + 1j * a[:, 1]
            else:
                raise AnalysisError(f"iq signals are complex, or (points, 2) arrays of I and "
                                    f"Q; got shape {a.shape}")
        return a.astype(complex)
    if np.iscomplexobj(a):
        raise AnalysisError(f"a {signal_type} signal is real; pass signal_type='iq' for "
                            "complex IQ points")
    return a.astype(float)


def _signal(a: np.ndarray, signal_type: str, signal_units: str | None
            ) -> tuple[np.ndarray, dict[str, float]]:
    """The real signal the fit sees, from the finite points of :func:`_raw_signal` in sweep
    order, and facts about it (the IQ quadrature's noise).

    IQ is projected onto the line along which the points vary most; a phase is unwrapped
    along the sweep, so only after dropped (NaN) points are left out and the points are in
    sweep order (a NaN inside the unwrap would spoil every point after it).
    """
    if signal_type == "iq":
        if len(a) < 3:   # too few points to find the axis (refused as under-sampled)
            return a.real.astype(float), {}
        c = a - np.mean(a)
        m = np.stack([c.real, c.imag])
        u, _, _ = np.linalg.svd(m @ m.T)
        axis = u[0, 0] + 1j * u[1, 0]
        y = (c / axis).real
        across = (c / axis).imag
        return y, {"quadrature_noise": float(np.std(np.diff(across)) / math.sqrt(2))}
    y = a.astype(float)
    if signal_type == "phase":
        base, factor = to_si(signal_units) if signal_units else ("rad", 1.0)
        y = np.unwrap(y * factor)
    return y, {}


def analyse(kind: str, sweep: Any, signal: Any, *, signal_type: str = "population",
            sigma: Any = None, shots: int | None = None, units: str | None = None,
            signal_units: str | None = None, second_opinion: Any = True,
            **experiment_settings: Any) -> AnalysisResult:
    """Fit, gate and (optionally) second-opinion one calibration data set.

    Args:
        kind: ``spectroscopy``, ``rabi``, ``ramsey``, ``t1``, ``echo`` (or their experiment
            names, ``qubit_spectroscopy`` ...), or any registered kind.
        sweep: the swept values, ``(points,)``, in ``units``.
        signal: ``(points,)`` real values, or complex / ``(points, 2)`` for ``iq``.
        signal_type: ``population``, ``magnitude``, ``phase`` or ``iq``.
        sigma: per-point one-sigma noise of ``signal`` (scalar or ``(points,)``); estimated
            from the data when omitted.
        shots: shots per point (population signals: binomial shot noise plus a technical
            floor from the data).
        units: the sweep's unit with any SI prefix (``ns``, ``µs``, ``MHz``, ``GHz``, ``mV``);
            default the kind's SI unit.
        signal_units: for ``phase``: ``rad`` (default) or ``deg``.
        second_opinion: ``True`` for the shipped learned model, ``False``/``None`` for none,
            or an object with ``classify_analysis(result)``.
        **experiment_settings: the kind's settings and gate thresholds, e.g. ``detuning``
            (Ramsey, Hz; 0 for no artificial detuning), ``background`` / ``lineshape``
            (spectroscopy: ``auto`` tries constant, linear, Fano and quadratic backgrounds),
            ``envelope`` (Ramsey: ``auto`` exponential or stretched ``exp(-(t/T2*)^β)``, or
            ``exponential``), ``expected_pi_amplitude`` (Rabi: the π amplitude the lab
            expects, in the sweep's ``units``; a fit farther from it than
            ``expected_tolerance``, default 25 %, whose alias on the sweep's step lies near
            it is refused as *aliased*: :mod:`~qplane.calibration.aliasing`), ``drive``
            (Rabi: ``linear`` or ``auto``, which also tries a compressing drive),
            ``model_uncertainty`` (the key's error widened by the candidates' spread; on for
            Rabi), ``asymptote`` / ``asymptote_tolerance`` (randomized benchmarking: where
            a population's survival settles, default 1/2 ± 0.07; 1/4 for two qubits),
            ``max_relative_error``, ``low``/``high`` (the accepted range), ``model``
            (force one fit model); unknown names are refused, listing the known.

    Raises:
        AnalysisError: shapes, units, kinds or settings that cannot be analysed.
    """
    spec = kind_for(kind)
    settings = spec.settings(experiment_settings)
    for name in spec.sweep_settings:   # given in the sweep's units, like the sweep
        if settings.get(name) is not None:
            settings[name] = float(convert(np.asarray(float(settings[name])), units,
                                           spec.sweep_unit))
    x = np.asarray(convert(np.asarray(sweep, dtype=float), units, spec.sweep_unit), dtype=float)
    a = _raw_signal(signal, signal_type)
    if x.ndim != 1 or a.shape != x.shape:
        raise AnalysisError(f"sweep and signal must be 1-D of one length; got {x.shape} and "
                            f"{a.shape}")
    s = None if sigma is None else np.broadcast_to(np.asarray(sigma, dtype=float), a.shape)
    ok = np.isfinite(x) & np.isfinite(a)
    if s is not None:
        bad = ok & ~(np.isfinite(s) & (s > 0))
        if bad.any():
            raise AnalysisError(
                f"sigma must be positive and finite at every point; {int(bad.sum())} of "
                f"{int(ok.sum())} points have sigma {float(s[bad][0]):g} (for noiseless data "
                "leave sigma out: the noise is then estimated from the data)")
    order = np.argsort(x[ok], kind="stable")
    x = x[ok][order]
    y, facts = _signal(a[ok][order], signal_type, signal_units)
    s = None if s is None else s[ok][order]
    result = _analyse(spec, x, y, s, shots, signal_type, settings)
    opinion = _opinion(second_opinion)
    if opinion is not None:
        result = dataclasses.replace(result, second_opinion=opinion.classify_analysis(result))
    return result


def residual_correlation(z: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """The autocorrelation of normalised residuals ``z`` at lags ``0 .. max_lag``.

    Bartlett-tapered (weights ``1 - k / (max_lag + 1)``, so the Toeplitz matrix built from it
    is positive semi-definite); ``max_lag`` defaults to a quarter of the points.

    >>> rho = residual_correlation(np.random.default_rng(0).normal(size=400))
    >>> float(rho[0]), bool(abs(rho[1]) < 0.1)
    (1.0, True)
    """
    z = np.asarray(z, dtype=float)
    n = len(z)
    lag = max(1, n // 4) if max_lag is None else max(1, min(int(max_lag), n - 1))
    c = z - np.mean(z)
    den = float(np.sum(c * c))
    if den <= 0:
        return np.eye(1, lag + 1)[0]
    full = np.correlate(c, c, mode="full")[n - 1:n + lag] / den
    return full * (1 - np.arange(lag + 1) / (lag + 1))


def glitches(z: np.ndarray, threshold: float = 5.0, *, max_run: int = 2,
             quiet_within: float = 3.0, max_fraction: float = 0.1, min_points: int = 30
             ) -> np.ndarray:
    """Readout glitches among normalised residuals ``z``: points beyond ``threshold`` robust
    standard deviations, in runs of at most ``max_run`` neighbours whose neighbours on either
    side lie within ``quiet_within`` (a narrow line's peak has shoulders) and are not both on
    the run's side (:func:`_shouldered`: a narrow line sampled at 1.5 points per linewidth
    lifts its neighbours a little), at most ``max_fraction`` of the points (none below
    ``min_points`` points, or when more are that far out: then it is structure or heavy
    noise, for the gate to judge).

    A glitch (a missed trigger, a cosmic ray, a readout that momentarily loses lock) moves a
    point or two far off, anywhere; a feature the model misses (a second line, a jump) moves
    a run of neighbours. The analysis leaves glitches out of the fit and the gate (a robust
    fit) and reports how many (``AnalysisResult.left_out``).

    >>> z = np.random.default_rng(1).normal(size=60)
    >>> z[[10, 11, 40]] = [9.0, -7.0, 12.0]         # two glitches side by side, one alone
    >>> z[20:24] = 8.0                               # a feature four points wide
    >>> np.flatnonzero(glitches(z)).tolist()
    [10, 11, 40]
    """
    from qplane.calibration.criteria import robust_scale

    z = np.asarray(z, dtype=float)
    n = len(z)
    scale = robust_scale(z)
    out = np.zeros(n, dtype=bool)
    if n < min_points or not scale > 0:
        return out
    big = np.abs(z - np.median(z)) > threshold * scale
    i = 0
    while i < n:
        if big[i]:
            j = i
            while j < n and big[j]:
                j += 1
            side = [k for k in (i - 1, j) if 0 <= k < n]
            quiet = all(abs(z[k] - np.median(z)) <= quiet_within * scale for k in side)
            if j - i <= max_run and quiet and not _shouldered(z - np.median(z), i, j, side,
                                                              scale):
                out[i:j] = True
            i = j
        else:
            i += 1
    if out.sum() > max_fraction * n:
        return np.zeros(n, dtype=bool)
    return out


def _shouldered(c: np.ndarray, i: int, j: int, side: list[int], scale: float) -> bool:
    """Whether the run ``c[i:j]`` (one sign) has shoulders: every neighbour on its side (for
    one point alone, by at least one robust sigma and a tenth of its peak). A resolved
    feature (a narrow second line, 1.5 points per linewidth) has them; a glitch's neighbours
    are noise (both on a lone glitch's side that far with ~2.5 % chance)."""
    run = c[i:j]
    sign = np.sign(run[0])
    if not side or not np.all(np.sign(run) == sign):
        return False
    # two neighbours off together: shoulders need only lie on their side (a glitch pair's
    # do with ~1/4 chance); one point alone needs them a sigma out
    need = 0.0 if len(run) > 1 else max(scale, 0.1 * float(np.max(np.abs(run))))
    return all(sign * c[k] > need for k in side)


#: Sweeps longer than this skip the restricted-likelihood noise model (its cost grows as the
#: cube of the points); the residuals' tapered autocorrelation still widens their errors.
MAX_CORRELATED_POINTS = 400


def inflate_errors(fit: FitResult, x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
                   options: Mapping[str, Any] | None = None) -> FitResult:
    """``fit`` with its uncertainties widened for what the noise model missed.

    By the Birge ratio ``sqrt(reduced chi2)`` when the chi² is significantly high
    (p < 0.01); and when the normalised residuals are correlated (lag-1 autocorrelation beyond
    ``2/sqrt(n)``: 1/f noise, drifts), to the sandwich covariance of
    :func:`~qplane.calibration.fit_models.correlated_errors` with the residuals' tapered
    autocorrelation (:func:`residual_correlation`), parameter by parameter, whichever is
    larger. Correlated noise carries fewer independent points than it has, and a parameter
    sensitive to slow changes (an offset, a decay constant) loses more than a fast one.
    """
    from qplane.calibration.fit_models import FIT_MODELS, correlated_errors

    if not fit.converged or fit.dof <= 0:
        return fit
    birge = math.sqrt(max(1.0, fit.chi2_red)) if fit.p_value < 0.01 else 1.0
    errors = {n: e * birge for n, e in fit.errors.items()}
    z = (y - fit.evaluate(x)) / sigma
    c = z - np.mean(z)
    rho1 = float(np.sum(c[1:] * c[:-1]) / max(float(np.sum(c * c)), 1e-300))
    model = FIT_MODELS.get(fit.model)
    wides = []
    if rho1 > 2 / math.sqrt(len(z)) and model is not None:
        wides.append(correlated_errors(model, x, sigma, fit.params, residual_correlation(z),
                                       variance=max(1.0, fit.chi2_red), options=options))
    if model is not None and len(z) <= MAX_CORRELATED_POINTS:
        from qplane.calibration.fit_models import jacobian
        from qplane.calibration.noise import correlated_noise

        jac = jacobian(model, x, fit.params) / sigma[:, None]
        variance, rho, share = correlated_noise(jac[:, np.all(np.isfinite(jac), axis=0)], z)
        if share > 0:
            wides.append(correlated_errors(model, x, sigma, fit.params, rho,
                                           variance=max(1.0, variance), options=options))
    for wide in wides:
        errors = {n: max(e, wide.get(n, e)) if math.isfinite(wide.get(n, e)) else e
                  for n, e in errors.items()}
    if errors == fit.errors:
        return fit
    return dataclasses.replace(fit, errors=errors)


def _opinion(second_opinion: Any) -> Any:
    if second_opinion is True:
        from qplane.calibration.classifier import shipped_opinion

        return shipped_opinion()
    return second_opinion or None


def _analyse(spec: AnalysisKind, x: np.ndarray, y: np.ndarray, sigma: np.ndarray | None,
             shots: int | None, signal_type: str, settings: Mapping[str, Any]
             ) -> AnalysisResult:
    options = {"sign_free": True}
    # the kind's candidates and gate criteria also depend on how the signal was read
    typed = {**settings, "signal_type": signal_type}
    models = spec.models(typed, x)
    if len(x) < 3:
        from qplane.calibration.fits import failed_fit

        fit = failed_fit(models[0].name, models[0].names, f"only {len(x)} usable points",
                         points=len(x))
        noise = NoiseEstimate(np.ones_like(y), "data", math.nan, 0.0, math.nan)
        gate = GateResult(Outcome.BAD_DATA, f"under-sampled: only {len(x)} points; use a "
                          "finer sweep", "sampling")
        return AnalysisResult(spec.name, gate.outcome, gate.reason, {}, gate, fit, {}, noise,
                              math.nan, x, y, signal_type, shots, settings)
    s0 = initial_sigma(y, signal_type=signal_type, sigma=sigma, shots=shots)
    alpha = float(settings["alpha"])
    key = spec.key_for(settings) if settings.get("key_alpha") else None
    key_alpha = float(settings.get("key_alpha") or 0.0)
    first, _ = select_model(models, x, y, s0, alpha=alpha, options=options, key=key,
                            key_alpha=key_alpha)
    # a readout re-tuned between passes: each pass its own offset and gain, one physics
    aligned = realign(x, y, s0, first, lambda y2, s2: select_model(
        models, x, y2, s2, alpha=alpha, options=options, key=key, key_alpha=key_alpha)[0],
        options=options)
    alignment = None if aligned is None else aligned.alignment
    if aligned is not None:
        y, s0, first = aligned.y, aligned.sigma, aligned.fit
        sigma = None if sigma is None else aligned.sigma
    fitted = first.evaluate(x) if first.converged else np.full_like(y, float(np.mean(y)))
    noise = estimate(y - fitted, fitted, signal_type=signal_type, sigma=sigma, shots=shots)
    left_out = np.zeros(len(x), dtype=bool)
    if first.converged and settings.get("glitch_threshold") is not None:
        left_out = glitches((y - fitted) / noise.sigma, float(settings["glitch_threshold"]))
        steady = settings.get("steady_key")
        if left_out.any() and steady:
            from qplane.calibration.fluctuation import follows_other_key

            # points that lie on the model with another value of the key are a fluctuator's
            # other state, not glitches: kept, for the gate (fluctuation.KeySteady) to see
            if follows_other_key(first, x, y, noise.sigma, steady, left_out)[0]:
                left_out[:] = False
        if left_out.any():   # the robust fit: readout glitches left out of the fit and gate
            keep = ~left_out
            x, y, fitted = x[keep], y[keep], fitted[keep]
            sigma = None if sigma is None else sigma[keep]
            noise = estimate(y - fitted, fitted, signal_type=signal_type, sigma=sigma,
                             shots=shots)
    fit, fits = select_model(models, x, y, noise.sigma, alpha=alpha, options=options, key=key,
                             key_alpha=key_alpha)
    fit = inflate_errors(fit, x, y, noise.sigma, options)
    if settings.get("model_uncertainty") and fit.converged:
        from qplane.calibration.fit_models import FIT_MODELS, fit_model
        from qplane.calibration.model_uncertainty import with_model_uncertainty

        # models fitted for the model-choice error only, never chosen (a term the data
        # cannot pin down without fitting noise, e.g. a compressing drive)
        fits = {**fits, **{n: fit_model(FIT_MODELS[n], x, y, noise.sigma, options=options,
                                        starts=[fit.params])
                           for n in settings.get("uncertainty_models") or () if n not in fits}}
        fit = with_model_uncertainty(fit, fits, spec.key_for(settings))
    resolution = spec.resolution(x, fit, settings) if fit.converged else math.nan
    scale = spec.scale(fit, settings)
    ctx = GateContext(fit, x, y, noise.sigma, shots=shots, resolution=resolution, scale=scale)
    from qplane.calibration.criteria import Gate

    gate = Gate(spec.gate_criteria(x, fit, typed)).evaluate(ctx)
    values: dict[str, Value] = {}
    for name, (source, unit) in spec.values(fit, settings).items():
        if callable(source):
            v, e = source(fit)
        else:
            v, e = fit.params.get(source, math.nan), fit.errors.get(source, math.inf)
        values[name] = Value(float(v), float(e), unit)
    return AnalysisResult(spec.name, gate.outcome, gate.reason, values, gate, fit,
                          {k: f.chi2_red for k, f in fits.items()}, noise, resolution, x, y,
                          signal_type, shots, settings, left_out=int(left_out.sum()),
                          pass_alignment=alignment)
