"""The quality gate every fit passes before anything is updated.

A fit is accepted only when all of these hold, checked in this order (the first that fails
names the outcome and the reason):

0. there are enough points at all (else ``bad_data``, "under-sampled");
1. there is a signal: a constant model is rejected by the data (else ``bad_data``, "no signal",
   or "too noisy" when so few shots were taken that their noise could hide one);
2. the fit converged to finite values (else ``fit_failed``);
3. the result lies inside the swept range (else ``bad_data``, "outside the swept range");
4. the sweep resolves the feature: enough points across a linewidth, a period or a decay
   (else ``bad_data``, "under-sampled");
5. the residuals are consistent with shot noise (reduced chi² below a bound that grows with
   the degrees of freedom; else ``bad_data``, "residuals");
6. the key parameter's uncertainty is small relative to its scale (else ``bad_data``,
   "too noisy").

A failed gate is a typed :class:`GateResult` that the node turns into its outcome, recorded per
qubit; it is never only a logged warning.

>>> fit = FitResult("rabi", {"pi_amplitude": 0.4}, {"pi_amplitude": 0.001}, 1.1, 30, 80.0, True,
...                 points=33)
>>> evaluate_gate(fit, GateCriteria(key="pi_amplitude", low=0.0, high=1.0),
...               resolution=20.0).outcome
<Outcome.SUCCESS: 'success'>
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import TYPE_CHECKING

from scipy import stats

from qplane.calibration.fits import FitResult

if TYPE_CHECKING:
    from qplane.calibration.criteria import CriterionResult


class Outcome(str, enum.Enum):
    """What became of one node run on one qubit.

    ``success`` (calibrated, update applied), ``in_spec`` (a check found nothing to do),
    ``out_of_spec`` (good data, but the device or setting is off: a check that calls for
    calibration, a device below its spec, or an update refused by limits), ``bad_data`` (the
    data cannot support a conclusion), ``fit_failed`` (the optimiser gave no result).
    """

    SUCCESS = "success"
    IN_SPEC = "in_spec"
    OUT_OF_SPEC = "out_of_spec"
    BAD_DATA = "bad_data"
    FIT_FAILED = "fit_failed"

    @property
    def good(self) -> bool:
        """Whether the data were trustworthy (success, in spec, or out of spec)."""
        return self in (Outcome.SUCCESS, Outcome.IN_SPEC, Outcome.OUT_OF_SPEC)


@dataclasses.dataclass(frozen=True)
class GateResult:
    """The gate's verdict on one fit: an outcome (success when passed) and why.

    ``criteria`` holds every criterion's own result (its number and threshold) when the gate
    was built from :class:`Criterion` objects (:class:`Gate`).
    """

    outcome: Outcome
    reason: str
    check: str = ""  # which criterion decided: converged, signal, sampling, range, residuals, noise
    criteria: tuple["CriterionResult", ...] = ()

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.SUCCESS


@dataclasses.dataclass(frozen=True)
class GateCriteria:
    """Per-node thresholds of the quality gate.

    Attributes:
        key: the fit parameter the node calibrates from.
        low, high: the range the key must lie in (the swept range, or a node-specific range).
        max_relative_error: largest accepted ``error(key) / scale``.
        min_points_per_feature: smallest accepted ``resolution`` (points per linewidth, period
            or decay constant) for the feature to count as resolved.
        min_signal_significance: the constant model must be rejected at this many sigma.
        residual_p_value: residuals are inconsistent with shot noise below this p-value.
        max_point_noise: the largest per-point shot noise (at population 1/2) at which a
            missing signal is believed absent rather than hidden by too few shots.
        min_points: fewer points than this are under-sampled whatever the fit says.
        sampling_first: judge sampling before the range (when the resolution is known from
            the sweep design rather than from the fit, as for Ramsey fringes).
    """

    key: str
    low: float
    high: float
    max_relative_error: float = 0.1
    min_points_per_feature: float = 2.0
    min_signal_significance: float = 5.0
    residual_p_value: float = 1e-4
    max_point_noise: float = 0.1
    min_points: int = 7
    sampling_first: bool = False


def signal_significance(fit: FitResult) -> float:
    """How many sigma a constant (no-signal) model is rejected by, from its chi².

    >>> round(signal_significance(FitResult("x", {}, {}, 1.0, 40, 0.5, True, points=41)), 1)
    0.0
    """
    dof = fit.points - 1
    if not math.isfinite(fit.chi2_flat) or dof <= 0:
        return 0.0
    p = float(stats.chi2.sf(fit.chi2_flat * dof, dof))
    if p <= 0:
        return math.inf
    return max(0.0, float(stats.norm.isf(p)))


def evaluate_gate(fit: FitResult, criteria: GateCriteria, *, resolution: float,
                  scale: float | None = None, shots: int | None = None) -> GateResult:
    """Run the quality gate on ``fit``.

    Args:
        fit: the fit to judge.
        criteria: the node's thresholds.
        resolution: points per feature of this sweep (the node computes it from the fit).
        scale: what the key's uncertainty is relative to (default: the key's value).
        shots: shots per point; when a signal is missing and so few shots were taken that
            their noise could hide it, the verdict is "too noisy" rather than "no signal".
    """
    if 0 < fit.points < criteria.min_points:
        return GateResult(Outcome.BAD_DATA,
                          f"under-sampled: only {fit.points} points (need at least "
                          f"{criteria.min_points}); use a finer sweep", "sampling")
    sig = signal_significance(fit)
    if math.isfinite(fit.chi2_flat) and sig < criteria.min_signal_significance:
        if shots is not None and math.sqrt(0.25 / shots) > criteria.max_point_noise:
            return GateResult(Outcome.BAD_DATA,
                              f"too noisy: {shots} shots per point (noise up to "
                              f"{math.sqrt(0.25 / shots):.2f}) hide any signal; take more shots",
                              "noise")
        return GateResult(Outcome.BAD_DATA,
                          f"no signal: a constant fits the data ({sig:.1f} sigma < "
                          f"{criteria.min_signal_significance:g})", "signal")
    if not fit.converged:
        return GateResult(Outcome.FIT_FAILED, f"fit did not converge: {fit.message}", "converged")
    sampling = None
    if not resolution >= criteria.min_points_per_feature:
        sampling = GateResult(Outcome.BAD_DATA,
                              f"under-sampled: {resolution:.2f} points per feature < "
                              f"{criteria.min_points_per_feature:g}; use a finer sweep",
                              "sampling")
    if sampling is not None and criteria.sampling_first:
        return sampling
    value = fit.params[criteria.key]
    if not criteria.low <= value <= criteria.high:
        return GateResult(Outcome.BAD_DATA,
                          f"{criteria.key} = {value:.6g} lies outside the swept range "
                          f"[{criteria.low:.6g}, {criteria.high:.6g}]; shift or widen the sweep",
                          "range")
    if sampling is not None:
        return sampling
    # Allow a few sigma of the chi² distribution before calling the residuals inconsistent.
    if fit.p_value < criteria.residual_p_value:
        return GateResult(Outcome.BAD_DATA,
                          f"residuals inconsistent with shot noise: reduced chi2 "
                          f"{fit.chi2_red:.2f} over {fit.dof} dof (p = {fit.p_value:.1e})",
                          "residuals")
    rel = fit.relative_error(criteria.key, scale)
    if not rel <= criteria.max_relative_error:
        return GateResult(Outcome.BAD_DATA,
                          f"too noisy: uncertainty of {criteria.key} is {rel:.3g} of its scale "
                          f"(> {criteria.max_relative_error:g}); take more shots", "noise")
    return GateResult(Outcome.SUCCESS,
                      f"{criteria.key} = {value:.6g} ± {fit.errors[criteria.key]:.2g}, "
                      f"reduced chi2 {fit.chi2_red:.2f}", "passed")
