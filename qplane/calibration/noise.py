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
    return NoiseEstimate(np.full(r.shape, floor), "data", floor, 0.0, diff)
