"""Fit models for calibration experiments, with initial guesses, uncertainties and chi².

Each model is fitted in two stages: a robust grid search over the one nonlinear parameter that
makes least squares hard (a frequency, a decay time, a centre), solving the linear parameters
exactly at every grid point; then :func:`scipy.optimize.curve_fit` refines all parameters from
that start, weighted by the shot-noise standard deviation of each point. The result carries
one-sigma uncertainties (from the covariance, ``absolute_sigma=True``) and the reduced chi² of
the residuals against shot noise, which the quality gate (:mod:`qplane.calibration.gates`) reads.
Given ``shots``, a second pass weights each point by the binomial noise of the *fitted*
population rather than the measured one.

Signals are excited-state populations in [0, 1] measured with ``shots`` projective shots per
point, so the noise of a point with population ``p`` is ``sqrt(p (1 - p) / shots)``
(:func:`shot_noise`).

>>> x = np.linspace(0, 40e-6, 41)
>>> y = 0.02 + 0.9 * np.exp(-x / 12e-6)
>>> fit = fit_exponential(x, y, shot_noise(y, 1000))
>>> fit.converged, round(fit.params["tau"] * 1e6, 3)
(True, 12.0)
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from typing import Any, Callable

import numpy as np
from scipy import optimize, stats

#: The smallest per-point noise used, in population units, so a point at exactly 0 or 1
#: still carries weight 1/sigma² < inf.
_MIN_POPULATION = 0.5


@dataclasses.dataclass(frozen=True)
class FitResult:
    """The outcome of fitting one model to one sweep.

    Attributes:
        model: name of the model (a key of :data:`MODELS`).
        params: best-fit parameters by name.
        errors: one-sigma uncertainties by name (``inf`` where the covariance is singular).
        chi2_red: reduced chi² of the residuals against the given noise (with ``shots``
            given, the binomial deviance per degree of freedom, its low-count equivalent).
        dof: degrees of freedom (points minus parameters).
        chi2_flat: reduced chi² of a constant (no-signal) model, for the signal test.
        converged: whether the optimiser converged to finite parameters.
        message: why it did not converge, or ``""``.
        points: how many data points were fitted.
    """

    model: str
    params: dict[str, float]
    errors: dict[str, float]
    chi2_red: float
    dof: int
    chi2_flat: float
    converged: bool
    message: str = ""
    points: int = 0

    @property
    def p_value(self) -> float:
        """Probability of a chi² at least this large from shot noise alone."""
        if self.dof <= 0 or not math.isfinite(self.chi2_red):
            return 0.0
        return float(stats.chi2.sf(self.chi2_red * self.dof, self.dof))

    def relative_error(self, name: str, scale: float | None = None) -> float:
        """Uncertainty of ``name`` relative to ``scale`` (default: the value itself)."""
        scale = abs(self.params[name]) if scale is None else abs(scale)
        if scale == 0 or not math.isfinite(scale):
            return math.inf
        return self.errors[name] / scale

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """The fitted curve at ``x``."""
        if self.model not in MODELS:  # the models of fit_models register themselves on import
            importlib.import_module("qplane.calibration.fit_models")
        return MODELS[self.model](np.asarray(x, dtype=float), **self.params)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (infinities as strings)."""
        def clean(v: float) -> float | str:
            return v if math.isfinite(v) else str(v)
        return {
            "model": self.model,
            "params": {k: clean(v) for k, v in self.params.items()},
            "errors": {k: clean(v) for k, v in self.errors.items()},
            "chi2_red": clean(self.chi2_red), "dof": self.dof,
            "chi2_flat": clean(self.chi2_flat), "converged": self.converged,
            "message": self.message, "points": self.points,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def failed_fit(model: str, names: tuple[str, ...], message: str, *, points: int = 0
               ) -> FitResult:
    """A :class:`FitResult` for a fit that could not be made."""
    nan = {n: math.nan for n in names}
    return FitResult(model=model, params=nan, errors={n: math.inf for n in names},
                     chi2_red=math.inf, dof=0, chi2_flat=math.nan, converged=False,
                     message=message, points=points)


def shot_noise(population: np.ndarray, shots: int | np.ndarray) -> np.ndarray:
    """One-sigma projection noise of populations measured with ``shots`` shots per point.

    The population is clipped to ``[0.5/shots, 1 - 0.5/shots]`` so no point has zero noise.

    >>> shot_noise(np.array([0.5]), 100).round(3)
    array([0.05])
    """
    shots = np.asarray(shots, dtype=float)
    p = np.clip(np.asarray(population, dtype=float), _MIN_POPULATION / shots,
                1 - _MIN_POPULATION / shots)
    return np.sqrt(p * (1 - p) / shots)


# --- models ----------------------------------------------------------------------------------

def lorentzian(x: np.ndarray, *, center: float, width: float, amplitude: float,
               offset: float) -> np.ndarray:
    """A Lorentzian peak of full width at half maximum ``width``."""
    half = width / 2
    return offset + amplitude * half**2 / ((x - center) ** 2 + half**2)


def rabi(x: np.ndarray, *, pi_amplitude: float, contrast: float, offset: float) -> np.ndarray:
    """Rabi oscillation in drive amplitude: population ``offset + contrast·sin²(π x / 2x_π)``."""
    return offset + contrast * (1 - np.cos(np.pi * x / pi_amplitude)) / 2


def ramsey(x: np.ndarray, *, frequency: float, t2: float, amplitude: float, phase: float,
           offset: float) -> np.ndarray:
    """Damped Ramsey fringes: ``offset + amplitude·exp(-x/t2)·cos(2π f x + phase)``."""
    return offset + amplitude * np.exp(-x / t2) * np.cos(2 * np.pi * frequency * x + phase)


def exponential(x: np.ndarray, *, tau: float, amplitude: float, offset: float) -> np.ndarray:
    """Exponential decay ``offset + amplitude·exp(-x/tau)`` (T1, Hahn echo)."""
    return offset + amplitude * np.exp(-x / tau)


#: Model name -> function of (x, **params).
MODELS: dict[str, Callable[..., np.ndarray]] = {
    "lorentzian": lorentzian,
    "rabi": rabi,
    "ramsey": ramsey,
    "exponential": exponential,
}


# --- fitting ---------------------------------------------------------------------------------

def _grid_lstsq(basis: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[int, np.ndarray]:
    """Batched weighted least squares over a grid of bases ``(grid, points, k)``.

    Returns the index of the best grid point and its coefficients.
    """
    a = basis * w[None, :, None]
    yw = y * w
    m = np.einsum("gnk,gnl->gkl", a, a) + 1e-12 * np.eye(basis.shape[2])
    rhs = np.einsum("gnk,n->gk", a, yw)
    coef = np.linalg.solve(m, rhs[..., None])[..., 0]
    r = np.einsum("gnk,gk->gn", a, coef) - yw
    chi2 = np.einsum("gn,gn->g", r, r)
    chi2[~np.isfinite(chi2)] = np.inf
    i = int(np.argmin(chi2))
    return i, coef[i]


def _flat_chi2(y: np.ndarray, sigma: np.ndarray) -> float:
    w = 1 / sigma**2
    mean = float(np.sum(w * y) / np.sum(w))
    dof = max(len(y) - 1, 1)
    return float(np.sum(((y - mean) / sigma) ** 2) / dof)


def _refine(model: str, x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
            start: dict[str, float], bounds: dict[str, tuple[float, float]]) -> FitResult:
    """Refine ``start`` with curve_fit; a failure becomes an unconverged :class:`FitResult`."""
    names = tuple(start)
    func = MODELS[model]
    chi2_flat = _flat_chi2(y, sigma)
    lo = [bounds.get(n, (-np.inf, np.inf))[0] for n in names]
    hi = [bounds.get(n, (-np.inf, np.inf))[1] for n in names]
    p0 = [min(max(start[n], lo[i]), hi[i]) for i, n in enumerate(names)]
    dof = len(x) - len(names)
    if dof < 1:
        return failed_fit(model, names, f"{len(x)} points cannot fit {len(names)} parameters")
    try:
        popt, pcov = optimize.curve_fit(
            lambda xx, *p: func(xx, **dict(zip(names, p))), x, y, p0=p0, sigma=sigma,
            absolute_sigma=True, bounds=(lo, hi), max_nfev=1500,
        )
    except (RuntimeError, ValueError, optimize.OptimizeWarning) as e:
        return dataclasses.replace(failed_fit(model, names, f"optimiser failed: {e}"),
                                   chi2_flat=chi2_flat, points=len(x))
    params = dict(zip(names, map(float, popt)))
    if not np.all(np.isfinite(popt)):
        return dataclasses.replace(failed_fit(model, names, "optimiser returned non-finite values"),
                                   chi2_flat=chi2_flat, points=len(x))
    diag = np.diag(pcov) if np.all(np.isfinite(pcov)) else np.full(len(names), np.inf)
    errors = {n: float(math.sqrt(d)) if d >= 0 else math.inf for n, d in zip(names, diag)}
    resid = (func(x, **params) - y) / sigma
    return FitResult(model=model, params=params, errors=errors,
                     chi2_red=float(resid @ resid / dof), dof=dof, chi2_flat=chi2_flat,
                     converged=True, points=len(x))


def _fit(model: str, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, start: dict[str, float],
         bounds: dict[str, tuple[float, float]], shots: int | None) -> FitResult:
    """Refine from ``start``; with ``shots``, refit once weighting by the fitted curve's noise.

    Weighting by the data's own noise (``sigma`` from the measured populations) under-weights
    points that happen to land near 0 or 1; the second pass uses the binomial noise of the
    fitted population instead (Pearson's chi²), which is what the residual check assumes.
    """
    fit = _refine(model, x, y, sigma, start, bounds)
    if shots is None:
        return fit
    # The constant (no-signal) model judged the same way: binomial deviance about the mean.
    flat = binomial_deviance(y, np.full_like(y, float(np.mean(y))), shots) / max(len(y) - 1, 1)
    fit = dataclasses.replace(fit, chi2_flat=flat)
    if not fit.converged:
        return fit
    model_sigma = shot_noise(fit.evaluate(x), shots)
    second = _refine(model, x, y, model_sigma, fit.params, bounds)
    if not second.converged:
        return fit
    dev = binomial_deviance(y, second.evaluate(x), shots)
    return dataclasses.replace(second, chi2_red=dev / second.dof, chi2_flat=flat)


def binomial_deviance(y: np.ndarray, p: np.ndarray, shots: int) -> float:
    """Twice the log-likelihood ratio of the saturated binomial model to the populations ``p``.

    Asymptotically chi²-distributed like Pearson's sum, but far closer to it when points have
    only a few counts (populations near 0 or 1), so the residual check does not reject healthy
    data for its Poisson tails.

    >>> round(binomial_deviance(np.array([0.5]), np.array([0.5]), 100), 6)
    0.0
    """
    k = np.asarray(y, dtype=float) * shots
    mu = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9) * shots
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(k > 0, k * np.log(k / mu), 0.0)
        t2 = np.where(shots - k > 0, (shots - k) * np.log((shots - k) / (shots - mu)), 0.0)
    return float(2 * np.sum(t1 + t2))


def _prepare(x: Any, y: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), y.shape).copy()
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"sweep and signal must be 1-D of one length, got {x.shape}, {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(sigma) & (sigma > 0)
    return x[ok], y[ok], sigma[ok]


def fit_lorentzian(x: Any, y: Any, sigma: Any, *, shots: int | None = None) -> FitResult:
    """Fit a Lorentzian peak (or dip): qubit spectroscopy.

    >>> f = np.linspace(4.98e9, 5.02e9, 81)
    >>> y = lorentzian(f, center=5.003e9, width=4e6, amplitude=0.8, offset=0.05)
    >>> fit = fit_lorentzian(f, y, 0.01)
    >>> round(fit.params["center"] / 1e6, 3), round(fit.params["width"] / 1e6, 3)
    (5003.0, 4.0)
    """
    names = ("center", "width", "amplitude", "offset")
    x, y, sigma = _prepare(x, y, sigma)
    if len(x) < 5:
        return failed_fit("lorentzian", names, f"only {len(x)} usable points", points=len(x))
    span = float(x.max() - x.min())
    step = span / max(len(x) - 1, 1)
    centers = np.linspace(x.min(), x.max(), min(4 * len(x), 400))
    widths = np.maximum(span * np.array([0.01, 0.03, 0.1, 0.3]), step)
    cc, ww = (g.ravel() for g in np.meshgrid(centers, widths))
    shape = (ww[:, None] / 2) ** 2 / ((x[None, :] - cc[:, None]) ** 2 + (ww[:, None] / 2) ** 2)
    basis = np.stack([shape, np.ones_like(shape)], axis=2)
    i, coef = _grid_lstsq(basis, y, 1 / sigma)
    start = {"center": float(cc[i]), "width": float(ww[i]), "amplitude": float(coef[0]),
             "offset": float(coef[1])}
    bounds = {"width": (step / 20, 2 * span), "amplitude": (-2.0, 2.0),
              "center": (x.min() - span / 2, x.max() + span / 2)}
    return _fit("lorentzian", x, y, sigma, start, bounds, shots)


def fit_rabi(x: Any, y: Any, sigma: Any, *, shots: int | None = None) -> FitResult:
    """Fit a Rabi oscillation in drive amplitude for the π amplitude.

    >>> a = np.linspace(0, 1.0, 41)
    >>> fit = fit_rabi(a, rabi(a, pi_amplitude=0.42, contrast=0.9, offset=0.03), 0.01)
    >>> round(fit.params["pi_amplitude"], 4)
    0.42
    """
    names = ("pi_amplitude", "contrast", "offset")
    x, y, sigma = _prepare(x, y, sigma)
    if len(x) < 5:
        return failed_fit("rabi", names, f"only {len(x)} usable points", points=len(x))
    span = float(x.max())
    step = float(np.min(np.diff(np.sort(x)))) if len(x) > 1 else span
    if span <= 0:
        return failed_fit("rabi", names, "the amplitude sweep must reach above zero")
    apis = np.geomspace(max(step, span / 50), 4 * span, 400)
    shape = (1 - np.cos(np.pi * x[None, :] / apis[:, None])) / 2
    i, coef = _grid_lstsq(np.stack([shape, np.ones_like(shape)], axis=2), y, 1 / sigma)
    start = {"pi_amplitude": float(apis[i]), "contrast": float(coef[0]), "offset": float(coef[1])}
    return _fit("rabi", x, y, sigma, start, {"pi_amplitude": (step / 4, 20 * span)}, shots)


def fit_ramsey(x: Any, y: Any, sigma: Any, *, shots: int | None = None) -> FitResult:
    """Fit damped Ramsey fringes for the fringe frequency and T2*.

    >>> t = np.linspace(0, 10e-6, 101)
    >>> y = ramsey(t, frequency=1.2e6, t2=6e-6, amplitude=0.45, phase=0.0, offset=0.5)
    >>> fit = fit_ramsey(t, y, 0.01)
    >>> round(fit.params["frequency"] / 1e6, 4), round(fit.params["t2"] * 1e6, 3)
    (1.2, 6.0)
    """
    names = ("frequency", "t2", "amplitude", "phase", "offset")
    x, y, sigma = _prepare(x, y, sigma)
    if len(x) < 7:
        return failed_fit("ramsey", names, f"only {len(x)} usable points", points=len(x))
    span = float(x.max() - x.min())
    step = span / (len(x) - 1)
    nyquist = 0.5 / step
    freqs = np.linspace(0.25 / span, nyquist, min(8 * len(x), 800))
    t2s = span * np.array([0.3, 1.0, 3.0, 30.0])
    ff, tt = (g.ravel() for g in np.meshgrid(freqs, t2s))
    env = np.exp(-x[None, :] / tt[:, None])
    arg = 2 * np.pi * ff[:, None] * x[None, :]
    basis = np.stack([env * np.cos(arg), env * np.sin(arg), np.ones_like(env)], axis=2)
    i, coef = _grid_lstsq(basis, y, 1 / sigma)
    start = {"frequency": float(ff[i]), "t2": float(tt[i]),
             "amplitude": float(math.hypot(coef[0], coef[1])),
             "phase": float(math.atan2(-coef[1], coef[0])), "offset": float(coef[2])}
    bounds = {"frequency": (0.0, 1.5 * nyquist), "t2": (step / 4, 1000 * span),
              "amplitude": (0.0, 2.0), "phase": (-2 * np.pi, 2 * np.pi)}
    return _fit("ramsey", x, y, sigma, start, bounds, shots)


def fit_exponential(x: Any, y: Any, sigma: Any, *, shots: int | None = None) -> FitResult:
    """Fit an exponential decay for its time constant (T1, or T2 from a Hahn echo)."""
    names = ("tau", "amplitude", "offset")
    x, y, sigma = _prepare(x, y, sigma)
    if len(x) < 4:
        return failed_fit("exponential", names, f"only {len(x)} usable points", points=len(x))
    span = float(x.max() - x.min())
    step = span / (len(x) - 1)
    taus = np.geomspace(step / 4, 50 * span, 300)
    shape = np.exp(-x[None, :] / taus[:, None])
    i, coef = _grid_lstsq(np.stack([shape, np.ones_like(shape)], axis=2), y, 1 / sigma)
    start = {"tau": float(taus[i]), "amplitude": float(coef[0]), "offset": float(coef[1])}
    return _fit("exponential", x, y, sigma, start, {"tau": (step / 20, 1000 * span)}, shots)


@dataclasses.dataclass(frozen=True)
class ReadoutFit:
    """Discrimination of single-shot IQ readout of |0⟩ and |1⟩.

    Attributes:
        angle: rotation (radians) that puts the |0⟩→|1⟩ axis along +I.
        threshold: decision threshold along that axis (a shot above it reads 1).
        fidelity: assignment fidelity ``1 - (P(1|0) + P(0|1)) / 2``.
        fidelity_error: its binomial one-sigma uncertainty.
        separation_snr: blob distance over the mean blob width.
        center0, center1: the blob centres (complex I + iQ).
        sigma: the mean blob width (one standard deviation along the axis).
    """

    angle: float
    threshold: float
    fidelity: float
    fidelity_error: float
    separation_snr: float
    center0: complex
    center1: complex
    sigma: float

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("center0", "center1"):
            d[k] = [float(d[k].real), float(d[k].imag)]
        return d


def fit_readout(shots0: Any, shots1: Any) -> ReadoutFit:
    """Find the discrimination angle, threshold and assignment fidelity from IQ shots.

    Args:
        shots0, shots1: complex IQ points (or (n, 2) arrays of I, Q) measured after preparing
            |0⟩ and |1⟩.

    >>> rng = np.random.default_rng(1)
    >>> z0 = rng.normal(0, 1, 4000) + 1j * rng.normal(0, 1, 4000)
    >>> z1 = 4j + rng.normal(0, 1, 4000) + 1j * rng.normal(0, 1, 4000)
    >>> r = fit_readout(z0, z1)
    >>> round(r.angle, 2), round(r.fidelity, 2)
    (1.57, 0.98)
    """
    z0, z1 = as_complex(shots0), as_complex(shots1)
    if len(z0) < 2 or len(z1) < 2:
        raise ValueError("readout needs at least two shots of each state")
    c0, c1 = complex(np.mean(z0)), complex(np.mean(z1))
    angle = float(np.angle(c1 - c0))
    rot = np.exp(-1j * angle)
    p0, p1 = (z0 * rot).real, (z1 * rot).real
    sigma = float((np.std(p0) + np.std(p1)) / 2)
    # Best threshold: scan the pooled projections, minimising the total misassignment.
    candidates = np.sort(np.concatenate([p0, p1]))
    s0, s1 = np.sort(p0), np.sort(p1)
    err0 = 1 - np.searchsorted(s0, candidates, side="right") / len(s0)  # P(1|0)
    err1 = np.searchsorted(s1, candidates, side="right") / len(s1)      # P(0|1)
    i = int(np.argmin(err0 + err1))
    threshold = float(candidates[i])
    fidelity = float(1 - (err0[i] + err1[i]) / 2)
    n = (len(z0) + len(z1)) / 2
    return ReadoutFit(
        angle=angle, threshold=threshold, fidelity=fidelity,
        fidelity_error=float(math.sqrt(max(fidelity * (1 - fidelity), 1 / n) / n)),
        separation_snr=float(abs(c1 - c0) / sigma) if sigma > 0 else math.inf,
        center0=c0, center1=c1, sigma=sigma,
    )


def as_complex(points: Any) -> np.ndarray:
    """IQ points as a 1-D complex array (accepts complex arrays or (n, 2) real arrays)."""
    a = np.asarray(points)
    if np.iscomplexobj(a):
        return a.ravel().astype(complex)
    if a.ndim == 2 and a.shape[1] == 2:
        return a[:, 0] + 1j * a[:, 1]
    raise ValueError(f"IQ points must be complex or of shape (n, 2), got {a.dtype} {a.shape}")
