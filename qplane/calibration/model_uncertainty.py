"""The key's uncertainty from the choice of model: what the data cannot decide is an error.

:func:`~qplane.calibration.fit_models.select_model` keeps the simplest candidate the data do
not reject, and a richer candidate whose extra term (a Rabi phase, damping) the F-test cannot
see may still move the key by more than the chosen fit's error: on a compressing drive with a
phase, the phase-free fit's π amplitude lay 2–3.6 of its errors from the truth while the
richer fits were within 1. The candidates' Akaike weights ``w_i ∝ exp(-AIC_i / 2)``
(``AIC = chi² + 2 k`` against the one noise model) say how well the data support each; the
spread of their keys about the chosen one, ``Σ w_i (v_i - v)² / Σ w_i``, is added to the
chosen fit's variance (Burnham and Anderson's unconditional variance, the estimate kept). A
candidate the data reject has no weight, and where all candidates agree nothing changes.

>>> import numpy as np
>>> from qplane.calibration.fits import FitResult
>>> def fit(name, value, error, chi2, k):
...     return FitResult(model=name, params={"a": value}, errors={"a": error},
...                      chi2_red=chi2 / (50 - k), dof=50 - k, chi2_flat=9.0,
...                      converged=True, points=50)
>>> chosen = fit("simple", 1.00, 0.01, 50.0, 3)
>>> fits = {"simple": chosen, "rich": fit("rich", 1.03, 0.02, 49.0, 4)}
>>> round(model_spread(chosen, fits, "a"), 4)              # the rich one's shift, weighted
0.0184
>>> fits["rich"] = fit("rich", 1.03, 0.02, 80.0, 4)          # the data reject it
>>> model_spread(chosen, fits, "a") < 1e-4
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

from qplane.calibration.fits import FitResult


def model_spread(chosen: FitResult, fits: Mapping[str, FitResult], key: str) -> float:
    """The Akaike-weighted RMS of the candidates' ``key`` about ``chosen``'s (see the module);
    0 when no other candidate has a finite key."""
    rows = []
    for f in fits.values():
        v = f.params.get(key, math.nan)
        if not (f.converged and f.dof > 0 and math.isfinite(v)
                and math.isfinite(f.errors.get(key, math.inf))):
            continue
        k = f.points - f.dof
        rows.append((f.chi2_red * f.dof + 2 * k, v))
    if len(rows) < 2 or key not in chosen.params:
        return 0.0
    best = min(a for a, _ in rows)
    weights = [(math.exp(-(a - best) / 2), v) for a, v in rows]
    total = sum(w for w, _ in weights)
    v0 = chosen.params[key]
    return math.sqrt(sum(w * (v - v0) ** 2 for w, v in weights) / total)


def with_model_uncertainty(fit: FitResult, fits: Mapping[str, FitResult], key: str
                           ) -> FitResult:
    """``fit`` with the error of ``key`` widened by :func:`model_spread` (in quadrature)."""
    spread = model_spread(fit, fits, key)
    if not (spread > 0 and key in fit.errors):
        return fit
    return dataclasses.replace(fit, errors={**fit.errors,
                                            key: math.hypot(fit.errors[key], spread)})
