"""The noise of a sweep, estimated from the data itself.

Real calibration data carry more than projection noise: amplifier and digitiser noise, slow
drifts, the averaging of IQ points (not binomial at all). The noise model here is

``sigma_i² = shot_i² + technical²``

- ``shot_i``: the binomial projection noise of the *fitted* population at point ``i`` when the
  signal is a population measured with ``shots`` shots (zero otherwise);
- ``technical``: a floor estimated from the fit's residuals by their point-to-point
  differences (:func:`difference_noise`), which smooth structure (a misfit, a drift) hardly
  affects, so a wrong model is not explained away as noise;
- or, when the caller gives per-point ``sigma``, exactly that.

Correlated technical noise (1/f, Ornstein–Uhlenbeck, drifts) carries fewer independent points
than it has; :func:`correlated_noise` estimates how correlated from the fit's residuals (a
white plus exponentially correlated model, by restricted maximum likelihood, so what the fit
absorbed is accounted for), and the analysis widens the fit's errors with it.

>>> rng = np.random.default_rng(0)
>>> r = rng.normal(0, 0.02, 200) + np.linspace(0, 0.3, 200)   # white noise plus a slow ramp
>>> abs(difference_noise(r) - 0.02) < 0.002
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from qplane.calibration.fits import shot_noise

#: Signal types the analysis accepts.
SIGNAL_TYPES = ("population", "magnitude", "phase", "iq")


def difference_noise(values: Any, *, robust: bool = True) -> float:
    """White-noise standard deviation from point-to-point differences of ``values``.

    The mean square difference (the von Neumann estimator); with ``robust``, differences
    beyond four robust standard deviations are left out, so a jump or an outlier does not
    inflate it.
    """
    v = np.asarray(values, dtype=float)
    if len(v) < 3:
        return math.nan
    d = np.diff(v)
    if robust:  # mean square of the differences, those beyond 4 robust sigma left out
        mad = 1.4826 * float(np.median(np.abs(d - np.median(d))))
        if mad > 0:
            d = d[np.abs(d - np.median(d)) <= 4 * mad]
    return float(math.sqrt(np.mean(d**2) / 2))


@dataclasses.dataclass(frozen=True)
class NoiseEstimate:
    """The noise model of one data set.

    Attributes:
        sigma: per-point one-sigma noise used for the fit, ``(points,)``.
        source: ``given`` (the caller's sigma), ``shots+technical`` (binomial plus a floor
            from the data) or ``data`` (from the data alone).
        technical: the technical noise floor (signal units; 0 when the shot noise explains
            the residuals, NaN when sigma was given).
        shot: the median binomial shot noise (0 without shots).
        difference: the white noise seen in the residuals' point-to-point differences.
    """

    sigma: np.ndarray
    source: str
    technical: float
    shot: float
    difference: float

    def to_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | str:
            return float(v) if math.isfinite(v) else str(v)
        return {"source": self.source, "technical": clean(self.technical),
                "shot": clean(self.shot), "difference": clean(self.difference),
                "median_sigma": clean(float(np.median(self.sigma)))}


def initial_sigma(y: np.ndarray, *, signal_type: str, sigma: Any = None,
                  shots: int | None = None) -> np.ndarray:
    """The noise to start fitting with (before any residuals are known)."""
    if sigma is not None:
        return np.broadcast_to(np.asarray(sigma, dtype=float), y.shape).copy()
    floor = difference_noise(y)
    if not math.isfinite(floor) or floor <= 0:
        floor = max(float(np.std(y)) * 1e-3, 1e-12)
    if signal_type == "population" and shots:
        shot = shot_noise(np.clip(y, 0, 1), shots)
        return np.sqrt(shot**2 + (0.5 * floor) ** 2)
    return np.full(y.shape, floor)


def estimate(residuals: np.ndarray, fitted: np.ndarray, *, signal_type: str, sigma: Any = None,
             shots: int | None = None) -> NoiseEstimate:
    """The noise model from a fit's residuals (see the module)."""
    r = np.asarray(residuals, dtype=float)
    diff = difference_noise(r)
    if sigma is not None:
        s = np.broadcast_to(np.asarray(sigma, dtype=float), r.shape).copy()
        return NoiseEstimate(s, "given", math.nan, 0.0, diff)
    if signal_type == "population" and shots:
        shot = shot_noise(np.clip(fitted, 0, 1), shots)
        tech2 = max(0.0, (diff if math.isfinite(diff) else 0.0) ** 2 - float(np.mean(shot**2)))
        s = np.sqrt(shot**2 + tech2)
        return NoiseEstimate(s, "shots+technical", math.sqrt(tech2), float(np.median(shot)),
                             diff)
    floor = diff if math.isfinite(diff) and diff > 0 else max(float(np.std(r)), 1e-12)
    level = level_noise(r, fitted)
    if level is not None:
        return NoiseEstimate(level, "data, level-dependent", float(np.median(level)), 0.0, diff)
    return NoiseEstimate(np.full(r.shape, floor), "data", floor, 0.0, diff)


#: :func:`level_noise` keeps a level-dependent noise only when it beats a constant one at
#: this p-value (the likelihood-ratio test, its two extra parameters)
LEVEL_P_VALUE = 1e-2


def level_noise(residuals: Any, fitted: Any, *, p_value: float = LEVEL_P_VALUE,
                min_points: int = 20) -> np.ndarray | None:
    """A noise that depends on the signal's level, from a fit's residuals, or None.

    Photon counts (Poisson: the variance is the rate), populations without their shot count
    (binomial: ``p (1 - p)``), a gain that fluctuates (the noise grows with the signal):
    the noise of many readouts follows the signal's level, not the sweep. The variance is
    modelled as linear in the fitted level ``g`` (scaled to ``[0, 1]``), or piecewise linear
    through its values at ``g = 0, 1/2, 1`` (positive: log-parametrised), each kept only when
    it beats the simpler one by the likelihood-ratio test at ``p_value`` (scaled by 2/3:
    neighbouring differences share a point), fitted by maximum likelihood to the
    point-to-point differences of the residuals (``E[(r_{i+1} - r_i)²] = v_i + v_{i+1}``;
    smooth misfit hardly enters them). Points are weighted by what they carry: a Poisson
    trace's dark points are quieter than its bright ones.

    >>> rng = np.random.default_rng(0)
    >>> rate = 5 + 200 * np.sin(np.linspace(0, 3 * np.pi, 200)) ** 2
    >>> counts = rng.poisson(rate).astype(float)
    >>> s = level_noise(counts - rate, rate)
    >>> bool(s is not None and s.min() < 4 and s.max() > 12)   # sqrt(5) ... sqrt(205)
    True
    >>> level_noise(rng.normal(0, 3, 200), rate) is None          # white: a constant
    True
    """
    from scipy import optimize, stats

    r = np.asarray(residuals, dtype=float)
    f = np.asarray(fitted, dtype=float)
    n = len(r)
    span = float(np.ptp(f)) if n else 0.0
    if n < min_points or not span > 0:
        return None
    g = (f - float(np.min(f))) / span
    d2 = np.diff(r) ** 2
    # differences beyond 5 robust sigma (glitches, jumps) left out, as difference_noise does
    d = np.diff(r)
    mad = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    keep = np.abs(d - np.median(d)) <= 5 * mad if mad > 0 else np.ones(len(d), dtype=bool)
    if keep.sum() < min_points - 1:
        return None
    def nll(theta):
        v = np.interp(g, np.linspace(0, 1, len(theta)), np.exp(theta))
        pair = (v[1:] + v[:-1])[keep]
        return 0.5 * float(np.sum(np.log(pair) + d2[keep] / pair))

    v0 = math.log(max(float(np.mean(d2[keep])) / 2, 1e-300))
    chosen, chosen_nll = np.array([v0]), nll(np.array([v0]))
    for knots in (2, 3):   # linear in the level (Poisson), then with a bend (binomial)
        best = optimize.minimize(nll, np.interp(np.linspace(0, 1, knots),
                                                np.linspace(0, 1, len(chosen)), chosen),
                                 method="Nelder-Mead",
                                 options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 800})
        if not np.all(np.isfinite(best.x)):
            continue
        # 2 ΔlogL, times 2/3: neighbouring differences share a point (their squares
        # correlate by 1/4, so n differences carry about 2n/3 independent ones)
        stat = 2 * (chosen_nll - float(best.fun)) * 2 / 3
        if stat > 0 and float(stats.chi2.sf(stat, knots - len(chosen))) < p_value:
            chosen, chosen_nll = best.x, float(best.fun)
    if len(chosen) == 1:
        return None
    return np.sqrt(np.interp(g, np.linspace(0, 1, len(chosen)), np.exp(chosen)))


#: The grid :func:`correlated_noise` searches: the exponentially correlated share of the
#: noise variance, and its correlation length in points.
CORRELATED_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 0.95)
CORRELATION_LENGTHS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def correlated_noise(jac: np.ndarray, z: np.ndarray, *, shares: Any = CORRELATED_SHARES,
                     lengths: Any = CORRELATION_LENGTHS, min_ratio: float = 4.0
                     ) -> tuple[float, np.ndarray, float]:
    """The residuals' noise as white plus exponentially correlated (Ornstein–Uhlenbeck).

    ``z``: the fit's residuals in units of the noise model, in sweep order; ``jac``: the
    fit's weighted Jacobian (``d model / d parameter / sigma``, ``(points, parameters)``).
    The noise covariance is ``variance * R`` with ``R[i, j] = (1 - w) δ_ij + w a^|i-j|``,
    ``a = exp(-1 / length)``; ``(w, length)`` are chosen on the grid by the *restricted*
    likelihood of the residuals (their projection off the Jacobian's columns), which accounts
    for what the fit absorbed: a least-squares fit soaks up the slow part of correlated noise,
    so the residuals look less correlated than the noise was, and the plain autocorrelation
    of the residuals underestimates it. ``variance`` is profiled. Unless the correlated model
    beats white noise by twice the log-likelihood ``min_ratio`` (4: p ≈ 0.14 for its two
    parameters), the noise is taken as white (``w = 0``).

    Returns ``(variance, rho, w)``: ``rho[k]`` the correlation at lag ``k`` (``rho[0] = 1``),
    for :func:`~qplane.calibration.fit_models.correlated_errors`.

    >>> rng = np.random.default_rng(0)
    >>> x = np.linspace(0, 1, 120)
    >>> e = np.zeros(120)
    >>> for i in range(1, 120):
    ...     e[i] = 0.8 * e[i - 1] + 0.6 * rng.normal()        # correlated over ~4.5 points
    >>> j = np.stack([np.ones(120), x], axis=1)
    >>> z = e - j @ np.linalg.lstsq(j, e, rcond=None)[0]
    >>> variance, rho, w = correlated_noise(j, z)
    >>> w > 0.5, bool(rho[1] > 0.5)
    (True, True)
    """
    from scipy.linalg import cho_solve, cholesky, toeplitz

    z = np.asarray(z, dtype=float)
    jac = np.asarray(jac, dtype=float).reshape(len(z), -1)
    n = len(z)
    k = int(np.linalg.matrix_rank(jac)) if jac.size else 0
    m = n - k
    white = np.eye(1, n)[0]
    if m < 4:
        return 1.0, white, 0.0
    if k < jac.shape[1]:   # a rank-deficient Jacobian: its column space, orthonormal
        u, sv, _ = np.linalg.svd(jac, full_matrices=False)
        jac = u[:, :k]
    lags = np.arange(n)
    best: tuple[float, float, np.ndarray, float] | None = None
    null: float | None = None
    for w in shares:
        for length in (lengths if w > 0 else lengths[:1]):
            rho = w * math.exp(-1.0 / length) ** lags
            rho[0] = 1.0
            # restricted likelihood without a residual basis: log det R + log det J'R⁻¹J
            # (- log det J'J, a constant), and z' P z with P = R⁻¹ - R⁻¹J (J'R⁻¹J)⁻¹ J'R⁻¹
            try:
                c = cholesky(toeplitz(rho), lower=True)
                rz = cho_solve((c, True), z)
                ld = 2 * float(np.sum(np.log(np.diag(c))))
                if k:
                    rj = cho_solve((c, True), jac)
                    g = cholesky(jac.T @ rj, lower=True)
                    b = cho_solve((g, True), rj.T @ z)
                    quad = float(z @ rz - (rj.T @ z) @ b)
                    ld += 2 * float(np.sum(np.log(np.diag(g))))
                else:
                    quad = float(z @ rz)
            except np.linalg.LinAlgError:
                continue
            s2 = max(quad / m, 1e-300)
            ll = -0.5 * (m * math.log(s2) + ld)
            if w == 0:
                null = ll
            if best is None or ll > best[0]:
                best = (ll, s2, rho, float(w))
    if best is None:
        return 1.0, white, 0.0
    if null is not None and 2 * (best[0] - null) < min_ratio:   # not shown: white
        return 1.0, white, 0.0
    return best[1], best[2], best[3]
