"""A key that does not hold still during the sweep: the noise that follows the model's
sensitivity to it, and outliers that follow the model at another value of it.

A fluctuator (a TLS switching in and out of resonance, a telegraphic charge) can make the
very value a node measures switch between two values while the sweep is taken. The points
then scatter about the fitted curve by ``Δkey · ∂f/∂key``: not at all where the curve does
not depend on the key (a T1 at zero delay and at long delays) and most where it does. Such
scatter is no technical noise (technical noise does not know where the model is sensitive),
yet the noise model, which estimates a flat technical floor from the residuals, absorbs it,
and the residual tests see white noise when the acquisition order was shuffled. Two tests
here:

- :func:`sensitivity_scatter`: whether the residuals' excess variance grows with the model's
  sensitivity to the key, ``var z = c (1 + t J²/σ²)`` (``J = ∂f/∂key``): the
  likelihood-ratio test of ``t = 0``, and the RMS of the scatter that ``t`` explains;
  :class:`KeySteady` refuses the data when it is significant and a sizeable part of the
  signal;
- :func:`follows_other_key`: whether a handful of outlying points (what the readout-glitch
  rule would leave out) lie on the model with another value of the key: a fluctuator that
  spent a few points in its other state, not glitches, which fall anywhere.

>>> import numpy as np
>>> rng = np.random.default_rng(3)
>>> x = np.linspace(0, 300e-6, 80)
>>> tau = np.where(rng.random(80) < 0.5, 60e-6, 25e-6)          # T1 switching point by point
>>> y = 0.05 + 0.85 * np.exp(-x / tau) + rng.normal(0, 0.01, 80)
>>> from qplane.calibration.fit_models import FIT_MODELS, fit_model
>>> fit = fit_model(FIT_MODELS["exponential"], x, y, np.full(80, 0.05))
>>> p, rms = sensitivity_scatter(fit, x, y, np.full(80, 0.05), "tau")
>>> bool(p < 1e-4), bool(rms > 0.05)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from qplane.calibration.criteria import Criterion, isolated_outliers, robust_scale
from qplane.calibration.fits import FitResult


def _key_jacobian(fit: FitResult, x: np.ndarray, key: str) -> np.ndarray | None:
    """``∂f/∂key`` at ``x`` (None when the key is no parameter of the fit's model)."""
    from qplane.calibration.fit_models import FIT_MODELS, jacobian

    model = FIT_MODELS.get(fit.model)
    if model is None or key not in model.names or key not in fit.params:
        return None
    j = jacobian(model, np.asarray(x, dtype=float), fit.params)[:, model.names.index(key)]
    return j if np.all(np.isfinite(j)) else None


def sensitivity_scatter(fit: FitResult, x: Any, y: Any, sigma: Any, key: str, *,
                        min_points: int = 20) -> tuple[float, float]:
    """Whether the residuals scatter more where the model is sensitive to ``key``.

    The normalised residuals ``z`` (isolated outliers left out:
    :func:`~qplane.calibration.criteria.isolated_outliers`) are modelled as Gaussian with
    variance ``c (1 + t u)``, ``u = J²/σ²`` scaled to a maximum of 1 (``J = ∂f/∂key``):
    ``t = 0`` is a noise that does not know the model's sensitivity (whatever its level,
    ``c`` is free), ``t > 0`` a key that fluctuates. The likelihood-ratio test of ``t = 0``
    (``c`` profiled; half a χ²(1) on the boundary) — a likelihood ratio rather than the
    score test, whose power is local: a fluctuator's scatter is many times the noise where
    the curve is sensitive and nothing where it is not.

    Returns ``(p_value, rms)``: ``rms`` the RMS over the points of the scatter that grows
    with the sensitivity, ``sqrt(mean(c t u σ²))`` in signal units. ``(1.0, 0.0)`` below
    ``min_points`` points or without a key derivative.
    """
    from scipy import optimize

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    s = np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
    n = len(y)
    j = _key_jacobian(fit, x, key) if fit.converged and n >= min_points else None
    if j is None or not np.any(j):
        return 1.0, 0.0
    z = (y - fit.evaluate(x)) / s
    keep = ~isolated_outliers(z)
    u = (j / s)[keep] ** 2
    e = z[keep] ** 2
    m = len(e)
    if m < min_points or not float(np.max(u)) > 0 or not float(np.mean(e)) > 0:
        return 1.0, 0.0
    u = u / float(np.max(u))

    def nll(log_t: float) -> float:   # c profiled: c = mean(z² / (1 + t u))
        g = 1 + math.exp(log_t) * u
        return 0.5 * float(np.sum(np.log(g)) + m * math.log(float(np.mean(e / g))))

    null = 0.5 * m * math.log(float(np.mean(e)))
    grid = np.linspace(-6, 8, 29)
    i = int(np.argmin([nll(v) for v in grid]))
    best = optimize.minimize_scalar(nll, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, 28)]),
                                    method="bounded")
    stat = 2 * (null - min(float(best.fun), nll(grid[i])))
    if not stat > 0:
        return 1.0, 0.0
    log_t = float(best.x) if best.fun <= nll(grid[i]) else float(grid[i])
    t = math.exp(log_t)
    c = float(np.mean(e / (1 + t * u)))
    return float(0.5 * stats.chi2.sf(stat, 1)), math.sqrt(
        float(np.mean(c * t * u * s[keep] ** 2)))


class KeySteady(Criterion):
    """The key holds still during the sweep: refused when the residuals' scatter grows with
    the model's sensitivity to ``key`` (:func:`sensitivity_scatter`) at ``p_value`` *and*
    the scatter it explains exceeds ``max_structure`` of the signal's peak-to-peak; or when
    the points beyond ``outlier_threshold`` robust sigma (at most ``max_outlier_fraction`` of
    them) lie on the model with another value of the key (:func:`follows_other_key`).

    A T1 that switches between two values (a TLS fluctuator) under a shuffled acquisition
    order scatters its points about the fit most where the curve depends on T1 and not at
    all at zero delay; technical noise, even level-dependent or telegraphic in the readout
    offset, does not follow the model's sensitivity.
    """

    name, check = "steady", "residuals"

    def __init__(self, key: str, p_value: float = 1e-4, max_structure: float = 0.015, *,
                 min_shots: int = 25, outlier_threshold: float = 5.0,
                 max_outlier_fraction: float = 0.1):
        self.key, self.p_value, self.max_structure = key, p_value, max_structure
        self.min_shots = min_shots
        self.outlier_threshold, self.max_outlier_fraction = outlier_threshold, \
            max_outlier_fraction

    def evaluate(self, ctx):
        ptp = ctx.peak_to_peak
        if not ptp > 0:
            return self._result(True, 0.0, self.max_structure, "no fitted signal to compare")
        if ctx.shots is not None and ctx.shots < self.min_shots:
            return self._result(True, 0.0, self.max_structure,
                                f"not tested: {ctx.shots} shots per point")
        z = ctx.residuals / ctx.sigma
        out = np.abs(z - np.median(z)) > self.outlier_threshold * robust_scale(z)
        if out.sum() <= self.max_outlier_fraction * len(z):
            follows, other, p2 = follows_other_key(ctx.fit, ctx.x, ctx.y, ctx.sigma, self.key,
                                                   out)
            if follows:
                return self._result(False, float(out.sum()), "outliers on one curve",
                                    f"residuals: {int(out.sum())} outlying points lie on the "
                                    f"model with {self.key} = {other:.4g} instead of "
                                    f"{ctx.fit.params[self.key]:.4g} (p = {p2:.2f}): "
                                    f"{self.key} switched during the sweep (a fluctuator, a "
                                    "TLS); flag for a person")
        p, rms = sensitivity_scatter(ctx.fit, ctx.x, ctx.y, ctx.sigma, self.key)
        frac = rms / ptp
        ok = not (p < self.p_value and frac > self.max_structure)
        return self._result(ok, frac if p < self.p_value else 0.0, self.max_structure,
                            f"residuals: the scatter grows with the sensitivity to {self.key} "
                            f"({frac:.1%} of the signal, > {self.max_structure:.1%}, p = "
                            f"{p:.1e}): {self.key} changed during the sweep (a fluctuator, a "
                            "TLS switching); flag for a person")

def follows_other_key(fit: FitResult, x: Any, y: Any, sigma: Any, key: str, points: Any, *,
                      min_points: int = 3, p_value: float = 0.05, min_ratio: float = 1.5,
                      span: float = 20.0) -> tuple[bool, float, float]:
    """Whether the ``points`` (a boolean mask: outliers) lie on the fitted model with another
    value of ``key``, every other parameter as fitted.

    The key is searched on a geometric grid from ``1/span`` to ``span`` times its value
    (positive keys only), then refined; the points *follow* it when there are at least
    ``min_points`` of them and their chi² about that curve is consistent with their noise
    (p > ``p_value``, ``k - 1`` degrees of freedom) and it differs from the fitted one by a
    factor of at least ``min_ratio`` (a smaller switch is within the spread the T1 spec
    allows, and a few same-sided glitches where the curve is steep fit a slightly different
    key by chance: one of 30 good glitchy development T1s did, at 14 %). Readout glitches
    fall anywhere, on either side, by any amount; a fluctuator's other state puts its
    points where the model with the other value runs, each as far out as the curves differ
    there.

    Returns ``(follows, other_key, p)``; ``(False, nan, 0)`` when not testable.

    >>> x = np.linspace(0, 300e-6, 60)
    >>> from qplane.calibration.fits import FitResult
    >>> fit = FitResult("exponential", {"tau": 30e-6, "offset": 0.05, "amplitude": 0.85},
    ...                 {}, 1.0, 57, 100.0, True, points=60)
    >>> y = fit.evaluate(x)
    >>> on = np.zeros(60, dtype=bool); on[[8, 12, 15]] = True      # three points at T1 90 µs
    >>> y[on] = 0.05 + 0.85 * np.exp(-x[on] / 90e-6)
    >>> ok, other, p = follows_other_key(fit, x, y, np.full(60, 0.01), "tau", on)
    >>> bool(ok), round(other * 1e6)
    (True, 90)
    >>> y[on] = fit.evaluate(x[on]) + np.array([0.1, -0.12, 0.08])   # glitches: either side
    >>> bool(follows_other_key(fit, x, y, np.full(60, 0.01), "tau", on)[0])
    False
    """
    from scipy import optimize

    from qplane.calibration.fit_models import FIT_MODELS

    m = np.asarray(points, dtype=bool)
    model = FIT_MODELS.get(fit.model)
    k = int(m.sum())
    value = float(fit.params.get(key, math.nan))
    if (k < min_points or model is None or key not in model.names or not fit.converged
            or not value > 0):
        return False, math.nan, 0.0
    xs = np.asarray(x, dtype=float)[m]
    ys = np.asarray(y, dtype=float)[m]
    ss = np.broadcast_to(np.asarray(sigma, dtype=float), np.shape(y))[m]

    def chi2(v: float) -> float:
        f = model.evaluate(xs, {**fit.params, key: v})
        return float(np.sum(((ys - f) / ss) ** 2)) if np.all(np.isfinite(f)) else math.inf

    grid = value * np.geomspace(1 / span, span, 241)
    c = np.array([chi2(v) for v in grid])
    i = int(np.argmin(c))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best = optimize.minimize_scalar(lambda u: chi2(math.exp(u)), bounds=(math.log(lo),
                                    math.log(hi)), method="bounded")
    other, c2 = (math.exp(best.x), float(best.fun)) if best.fun <= c[i] else (grid[i], c[i])
    p = float(stats.chi2.sf(c2, k - 1))
    far = max(other / value, value / other) >= min_ratio
    return bool(p > p_value and far), float(other), p
