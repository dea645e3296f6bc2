"""The readout re-aligned between repeated passes over one sweep.

A sweep measured in several passes (the delays swept two or three times, a DRAG fringe swept up
and down) is often read out through a readout that was re-tuned or drifted between the passes:
every pass is the same curve seen through its own offset and gain. The physics (a fringe
frequency, a decay constant, a line's centre) is what the passes share; the readout's affine map
is not. Fitted as one curve, such data zigzag between the passes, and the residual tests see
structure that is only the readout (a period of two points, a von Neumann ratio above 2).

:func:`align_passes` takes the joint fit, regresses each pass on it (an offset and a gain per
pass) and keeps the per-pass readouts only when they explain the passes' disagreement
significantly better than one readout does (an F-test, independent of the noise's scale), with
every pass's gain within ``max_gain_ratio`` of the first pass's. :func:`realign` then refits the
aligned data and keeps them only when the passes also share their physics: each pass fitted
alone (its own offset, amplitude *and* physics) must not beat the aligned joint fit at
``SHARED_P_VALUE`` (a Chow test on the parameters beyond offset and amplitude). A pass that
decays faster or rings at another frequency (two experiments in one file, a device that
changed) is not re-aligned: its data stay as measured, for
:class:`~qplane.calibration.criteria.PassesAgree` to refuse. The bar is deliberately low
(5 %): with offset and gain free per pass, a different decay over a short window can look
like a readout change, so alignment needs the data to show no sign of it.

>>> rng = np.random.default_rng(0)
>>> t = np.tile(np.linspace(0, 10, 40), 2)
>>> curve = np.exp(-t / 3)
>>> y = np.where(np.arange(80) < 40, 0.1 + 0.8 * curve, 0.15 + 0.7 * curve)
>>> y = y + rng.normal(0, 0.005, 80)
>>> order = np.argsort(t, kind="stable")
>>> t, y = t[order], y[order]
>>> fitted = 0.125 + 0.75 * np.exp(-t / 3)          # one curve through both passes
>>> aligned = align_passes(t, y, fitted, np.full(80, 0.005))
>>> round(aligned.alignment.gains[0], 2), round(aligned.alignment.offsets[0], 2)
(0.88, 0.06)
>>> float(np.std(aligned.y - (0.1 + 0.8 * np.exp(-t / 3)))) < 0.007
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping

import numpy as np
from scipy import stats

from qplane.calibration.criteria import passes
from qplane.calibration.fit_models import FIT_MODELS, fit_model
from qplane.calibration.fits import FitResult

#: a later pass's readout is re-aligned only when its own offset and gain beat the first
#: pass's at this p-value (the F-test of :func:`align_passes`)
ALIGN_P_VALUE = 1e-3
#: aligned passes must share their physics: each pass fitted alone must not beat the aligned
#: joint fit at this p-value (:func:`realign`)
SHARED_P_VALUE = 0.05
#: the largest ratio of a later pass's gain to the first pass's that is a readout re-tuned,
#: not a signal lost (a pass with a third of the contrast is refused, not rescaled)
MAX_GAIN_RATIO = 1.5


@dataclasses.dataclass(frozen=True)
class PassAlignment:
    """Each later pass's readout relative to the first pass's.

    Attributes:
        passes: how many passes the sweep has.
        gains: each later pass's gain over the first pass's (``y_k ≈ o_k + g_k y_0``).
        offsets: each later pass's offset ``o_k`` in the signal's units.
        p_value: the F-test's p-value for per-pass readouts against one readout.
        shared_p_value: the Chow test's p-value for one physics for all passes, once aligned
            (NaN before :func:`realign` tests it; 1 when the model has no parameter beyond
            offset and amplitude).
    """

    passes: int
    gains: tuple[float, ...]
    offsets: tuple[float, ...]
    p_value: float
    shared_p_value: float = math.nan

    @property
    def text(self) -> str:
        gains = ", ".join(f"{g:.3f}" for g in self.gains)
        offsets = ", ".join(f"{o:+.3g}" for o in self.offsets)
        return (f"readout re-aligned over {self.passes} passes (later passes' gain {gains}, "
                f"offset {offsets} against the first; p = {self.p_value:.1e}; one physics "
                f"for all passes p = {self.shared_p_value:.2f})")

    def to_dict(self) -> dict[str, Any]:
        return {"passes": self.passes, "gains": list(self.gains),
                "offsets": list(self.offsets), "p_value": self.p_value,
                "shared_p_value": self.shared_p_value}


@dataclasses.dataclass(frozen=True)
class AlignedData:
    """The signal and its noise mapped onto the first pass's readout (and, from
    :func:`realign`, the joint fit to them)."""

    y: np.ndarray
    sigma: np.ndarray
    alignment: PassAlignment
    fit: FitResult | None = None


def align_passes(x: np.ndarray, y: np.ndarray, fitted: np.ndarray, sigma: np.ndarray, *,
                 fit_parameters: int = 2, p_value: float = ALIGN_P_VALUE,
                 max_gain_ratio: float = MAX_GAIN_RATIO, min_values: int = 8
                 ) -> AlignedData | None:
    """The data on the first pass's readout, or None when one readout explains them.

    ``x`` sorted with repeated values in acquisition order (as :func:`analyse` leaves them),
    ``fitted`` the joint fit at ``x``, ``sigma`` the per-point noise, ``fit_parameters`` the
    joint fit's parameter count. None also when the sweep has one pass, when a pass holds
    fewer than ``min_values`` distinct sweep values (a few repeated reference points are not a
    curve), or when a pass's gain is not within ``max_gain_ratio`` of the first's.
    """
    x, y, fitted = (np.asarray(v, dtype=float) for v in (x, y, fitted))
    sigma = np.asarray(sigma, dtype=float)
    k = passes(x)
    n_pass = int(k.max()) + 1 if len(k) else 0
    if n_pass < 2 or not np.all(sigma > 0):
        return None
    w = 1.0 / sigma
    coef, chi2_split = [], 0.0
    for j in range(n_pass):
        m = k == j
        if len(np.unique(x[m])) < min_values:
            return None
        design = np.column_stack([np.ones(int(m.sum())), fitted[m]]) * w[m, None]
        sol, *_ = np.linalg.lstsq(design, y[m] * w[m], rcond=None)
        coef.append(sol)
        chi2_split += float(np.sum((design @ sol - y[m] * w[m]) ** 2))
    (a0, b0), later = coef[0], coef[1:]
    if not abs(b0) > 0:
        return None
    gains = [float(b / b0) for _, b in later]
    if not all(1 / max_gain_ratio <= g <= max_gain_ratio for g in gains):
        return None
    chi2_joint = float(np.sum(((y - fitted) * w) ** 2))
    extra = 2 * (n_pass - 1)
    dof = len(x) - fit_parameters - extra
    if dof <= 0 or not chi2_split > 0:
        return None
    f_stat = ((chi2_joint - chi2_split) / extra) / (chi2_split / dof)
    p = float(stats.f.sf(f_stat, extra, dof)) if f_stat > 0 else 1.0
    if not p < p_value:
        return None
    y2, s2 = y.copy(), sigma.copy()
    offsets = []
    for j, ((a, b), g) in enumerate(zip(later, gains), start=1):
        m = k == j
        y2[m] = a0 + b0 * (y[m] - a) / b
        s2[m] = sigma[m] * abs(b0 / b)
        offsets.append(float(a - g * a0))
    if not (np.all(np.isfinite(y2)) and math.isfinite(p)):
        return None
    return AlignedData(y2, s2, PassAlignment(n_pass, tuple(gains), tuple(offsets), p))


def shared_physics(fit: FitResult, x: np.ndarray, y: np.ndarray, sigma: np.ndarray, *,
                   options: Mapping[str, Any] | None = None) -> float:
    """The p-value that every pass follows ``fit``'s physics: the Chow test of each pass
    fitted alone (all the model's parameters its own) against ``fit`` (one physics; each pass
    its own offset and amplitude, as aligned data have them): ``(k - 2) (passes - 1)`` extra
    parameters. 1 when the model has nothing beyond offset and amplitude; 0 when the passes
    are too short to tell."""
    model = FIT_MODELS.get(fit.model)
    k = fit.points - fit.dof
    pk = passes(x)
    n_pass = int(pk.max()) + 1
    extra, dof = (k - 2) * (n_pass - 1), len(x) - k * n_pass
    if model is None or extra <= 0:
        return 1.0
    if dof <= 0:
        return 0.0
    split = 0.0
    for j in range(n_pass):
        m = pk == j
        alone = fit_model(model, x[m], y[m], sigma[m], options=options, starts=[fit.params])
        if not alone.converged:
            return 0.0
        split += alone.chi2_red * alone.dof
    joint = fit.chi2_red * fit.dof
    if not split > 0:
        return 0.0
    f_stat = ((joint - split) / extra) / (split / dof)
    return float(stats.f.sf(f_stat, extra, dof)) if f_stat > 0 else 1.0


def realign(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, fit: FitResult,
            refit: Callable[[np.ndarray, np.ndarray], FitResult], *,
            options: Mapping[str, Any] | None = None,
            shared_p_value: float = SHARED_P_VALUE) -> AlignedData | None:
    """The data re-aligned pass by pass (:func:`align_passes` from the joint ``fit``) and
    ``refit(y, sigma)`` on them, or None: when one readout explains the passes, when the
    refit fails, or when the aligned passes do not share their physics
    (:func:`shared_physics` below ``shared_p_value``)."""
    if not fit.converged:
        return None
    aligned = align_passes(x, y, fit.evaluate(x), sigma, fit_parameters=fit.points - fit.dof)
    if aligned is None:
        return None
    again = refit(aligned.y, aligned.sigma)
    if not again.converged:
        return None
    p = shared_physics(again, x, aligned.y, aligned.sigma, options=options)
    if not p >= shared_p_value:
        return None
    return dataclasses.replace(aligned, fit=again,
                               alignment=dataclasses.replace(aligned.alignment,
                                                             shared_p_value=p))
