"""Gate criteria as objects: each judges one property of a fit and reports its number.

A :class:`Gate` is an ordered list of criteria. Every criterion is evaluated on a
:class:`GateContext` (the fit, the data, the noise model) and returns a
:class:`CriterionResult` — its name, the measured number, the threshold, passed or not — and
the first that fails decides the outcome and its reason. The same objects judge a node's fit
and a standalone one:

>>> import numpy as np
>>> from qplane.calibration.fit_models import FIT_MODELS, fit_model
>>> x = np.linspace(0, 100e-6, 41)
>>> y = 0.05 + 0.9 * np.exp(-x / 30e-6) + np.random.default_rng(1).normal(0, 0.01, 41)
>>> fit = fit_model(FIT_MODELS["exponential"], x, y, 0.01)
>>> gate = Gate([SignalPresent(), Converged(), InRange("tau", 0.0, 200e-6),
...              ResidualsWhite(), RelativeUncertainty("tau", 0.1)])
>>> result = gate.evaluate(GateContext(fit, x, y, np.full(41, 0.01)))
>>> result.outcome.value, [c.name for c in result.criteria if c.passed]
('success', ['signal', 'converged', 'range', 'residuals', 'uncertainty'])

The residual test (:class:`ResidualsWhite`) tolerates any level of white technical noise
(the noise is estimated from the data) and slow drifts small next to the signal, but catches
structure a wrong model leaves behind: the residuals, in units of the noise, are tested for
autocorrelation with the von Neumann ratio (mean square successive difference over variance,
2 for white noise), for a hidden periodicity with Fisher's g test (beating that inflates the
noise estimate), for a scatter that changes along the sweep (the Brown-Forsythe test over thirds: a
jump part-way through) and for excess scatter with chi² against the noise model; the structure a
failing test sees (the slow part's RMS, the periodic component's RMS, the scatter beyond the
noise model) must also be a sizeable fraction of the signal's peak-to-peak for the data to be
refused.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np
from scipy import stats

from qplane.calibration.fits import FitResult
from qplane.calibration.gates import GateResult, Outcome


@dataclasses.dataclass(frozen=True)
class GateContext:
    """What the criteria look at: the fit, the data it was fitted to and the noise used.

    Attributes:
        fit: the fit.
        x, y: the data (SI units, as fitted).
        sigma: per-point noise used by the fit.
        shots: shots per point, when known.
        resolution: points per feature (linewidth, period, fringe, decay), computed by the
            analysis kind; NaN when unknown.
        scale: what a relative uncertainty is relative to (default: the key's value).
    """

    fit: FitResult
    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    shots: int | None = None
    resolution: float = math.nan
    scale: float | None = None

    @property
    def residuals(self) -> np.ndarray:
        return self.y - self.fit.evaluate(self.x)

    @property
    def peak_to_peak(self) -> float:
        """The fitted curve's peak-to-peak over the swept range."""
        xs = np.linspace(float(self.x.min()), float(self.x.max()), 512)
        f = self.fit.evaluate(np.concatenate([xs, self.x]))
        return float(np.max(f) - np.min(f))


@dataclasses.dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict: its number, the threshold, passed (None: not evaluated)."""

    name: str
    check: str
    passed: bool | None
    value: float
    threshold: float | str
    reason: str
    outcome: Outcome = Outcome.BAD_DATA

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return str(v) if isinstance(v, float) and not math.isfinite(v) else v
        return {"name": self.name, "check": self.check, "passed": self.passed,
                "value": clean(float(self.value)), "threshold": clean(self.threshold),
                "reason": self.reason}


class Criterion:
    """Base of the gate criteria: ``evaluate(context) -> CriterionResult``."""

    name = ""
    check = ""
    needs_fit = True

    def evaluate(self, ctx: GateContext) -> CriterionResult:
        raise NotImplementedError

    def _result(self, passed: bool | None, value: float, threshold: Any, reason: str,
                outcome: Outcome = Outcome.BAD_DATA, check: str | None = None
                ) -> CriterionResult:
        return CriterionResult(self.name, check or self.check, passed, float(value), threshold,
                               reason, outcome)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class MinPoints(Criterion):
    """At least ``minimum`` usable points."""

    name, check, needs_fit = "points", "sampling", False

    def __init__(self, minimum: int = 7):
        self.minimum = minimum

    def evaluate(self, ctx):
        n = len(ctx.x)
        return self._result(n >= self.minimum, n, self.minimum,
                            f"under-sampled: only {n} points (need at least {self.minimum}); "
                            "use a finer sweep")


def _sigmas(p: float) -> float:
    return math.inf if p <= 0 else max(0.0, float(stats.norm.isf(p)))


def signal_sigma(fit: FitResult) -> float:
    """How many sigma a constant (no-signal) model is rejected by.

    The larger of two tests: the constant's chi² against the noise model, and (when the fit
    converged) the F-test of the fit against the constant, which needs no noise scale (so an
    overestimated noise floor does not hide a signal).
    """
    dof = fit.points - 1
    if not math.isfinite(fit.chi2_flat) or dof <= 0:
        return 0.0
    best = _sigmas(float(stats.chi2.sf(fit.chi2_flat * dof, dof)))
    k = fit.points - fit.dof
    if fit.converged and fit.dof > 0 and k > 1 and math.isfinite(fit.chi2_red):
        flat, resid = fit.chi2_flat * dof, fit.chi2_red * fit.dof
        if resid <= 0:
            return math.inf
        f = ((flat - resid) / (k - 1)) / (resid / fit.dof)
        if f > 0:
            best = max(best, _sigmas(float(stats.f.sf(f, k - 1, fit.dof))))
    return best


class SignalPresent(Criterion):
    """A constant is rejected at ``min_significance`` sigma against the noise model.

    With ``shots`` so few that one point's noise (at population 1/2) exceeds
    ``max_point_noise``, a missing signal reads "too noisy" (take more shots), not "no signal".
    """

    name, check, needs_fit = "signal", "signal", False

    def __init__(self, min_significance: float = 5.0, max_point_noise: float = 0.1):
        self.min_significance = min_significance
        self.max_point_noise = max_point_noise

    def evaluate(self, ctx):
        sig = signal_sigma(ctx.fit)
        ok = sig >= self.min_significance
        if not ok and ctx.shots is not None and math.sqrt(0.25 / ctx.shots) > self.max_point_noise:
            return self._result(False, sig, self.min_significance,
                                f"too noisy: {ctx.shots} shots per point (noise up to "
                                f"{math.sqrt(0.25 / ctx.shots):.2f}) hide any signal; take "
                                "more shots", check="noise")
        return self._result(ok, sig, self.min_significance,
                            f"no signal: a constant fits the data ({sig:.1f} sigma < "
                            f"{self.min_significance:g}); check the drive and readout, or "
                            "move the sweep to where the feature is")


class Converged(Criterion):
    """The optimiser converged to finite values."""

    name, check = "converged", "converged"

    def evaluate(self, ctx):
        return self._result(ctx.fit.converged, float(ctx.fit.converged), "converged",
                            f"fit did not converge: {ctx.fit.message}", Outcome.FIT_FAILED)


class InRange(Criterion):
    """``low <= key <= high`` (the swept range, or a kind-specific one)."""

    name, check = "range", "range"

    def __init__(self, key: str, low: float, high: float, *, what: str = "the swept range",
                 hint: str = "shift or widen the sweep"):
        self.key, self.low, self.high, self.what, self.hint = key, low, high, what, hint

    def evaluate(self, ctx):
        v = ctx.fit.params[self.key]
        if not self.low <= self.high:
            return self._result(False, v, f"{self.what}: none",
                                f"{self.key} cannot be judged: {self.what} is empty "
                                f"(low {self.low:.6g} > high {self.high:.6g}); {self.hint}")
        return self._result(self.low <= v <= self.high, v, f"[{self.low:.6g}, {self.high:.6g}]",
                            f"{self.key} = {v:.6g} lies outside {self.what} "
                            f"[{self.low:.6g}, {self.high:.6g}]; {self.hint}")


class Resolved(Criterion):
    """At least ``min_points_per_feature`` points per linewidth / period / fringe / decay."""

    name, check = "resolution", "sampling"

    def __init__(self, min_points_per_feature: float = 2.0, *, feature: str = "feature"):
        self.min_points_per_feature = min_points_per_feature
        self.feature = feature

    def evaluate(self, ctx):
        res = ctx.resolution
        return self._result(bool(res >= self.min_points_per_feature), res,
                            self.min_points_per_feature,
                            f"under-sampled: {res:.2f} points per {self.feature} < "
                            f"{self.min_points_per_feature:g}; use a finer sweep")


def von_neumann(z: np.ndarray) -> tuple[float, float]:
    """The von Neumann ratio of ``z`` and its one-sided p-value against white noise.

    >>> r, p = von_neumann(np.random.default_rng(0).normal(size=400))
    >>> 1.7 < r < 2.3 and p > 0.01
    True
    """
    n = len(z)
    if n < 4:
        return 2.0, 1.0
    c = z - np.mean(z)
    den = float(np.sum(c**2))
    if den <= 0:
        return 2.0, 1.0
    ratio = float(np.sum(np.diff(z) ** 2) / den)
    var = 4.0 * (n - 2) / ((n + 1) * (n - 1))
    return ratio, float(stats.norm.cdf((ratio - 2.0) / math.sqrt(var)))


def periodicity(r: np.ndarray) -> tuple[float, float]:
    """Fisher's g test for a hidden periodicity in ``r``: its p-value and the amplitude of the
    strongest Fourier component (the lowest two frequencies, slow trends, left to the
    autocorrelation test).

    >>> rng = np.random.default_rng(0)
    >>> p, a = periodicity(rng.normal(size=200))
    >>> p > 0.01
    True
    >>> p, a = periodicity(rng.normal(size=200) + np.sin(np.arange(200) * 0.9))
    >>> p < 1e-6, round(a, 1)
    (True, 1.0)
    """
    n = len(r)
    if n < 8:
        return 1.0, 0.0
    spec = np.fft.rfft(r - np.mean(r))
    power = np.abs(spec[3:(n - 1) // 2 + 1]) ** 2
    m = len(power)
    if m < 2 or float(np.sum(power)) <= 0:
        return 1.0, 0.0
    i = int(np.argmax(power))
    g = float(power[i] / np.sum(power))
    # P(g > x) ~ m (1 - x)^(m - 1) (first term of Fisher's exact series)
    p = float(min(1.0, m * (1 - g) ** (m - 1)))
    return p, float(2 * abs(spec[3 + i]) / n)


def stationarity(r: np.ndarray, sigma: np.ndarray, parts: int = 3) -> tuple[float, float]:
    """Whether the residuals' scatter changes along the sweep (a jump part-way through).

    The Brown-Forsythe (median Levene) test of equal variances of ``r / sigma`` over ``parts`` consecutive segments:
    its p-value, and the RMS the noisiest segment has beyond the quietest
    (``sqrt(max ms - min ms)`` of the raw residuals, isolated outliers left out:
    :func:`isolated_outliers`). Technical noise is stationary; a
    telegraphic jump or a line that moved mid-sweep is not.

    >>> rng = np.random.default_rng(0)
    >>> p, extra = stationarity(rng.normal(size=90), np.ones(90))
    >>> p > 0.01
    True
    """
    n = len(r)
    if n < 5 * parts:
        return 1.0, 0.0
    z = r / sigma
    segs = np.array_split(np.arange(n), parts)
    p = float(stats.levene(*(z[i] for i in segs), center="median").pvalue)
    keep = ~isolated_outliers(z)
    ms = [float(np.mean(r[i][keep[i]] ** 2)) if keep[i].any() else 0.0 for i in segs]
    return (p if math.isfinite(p) else 1.0), math.sqrt(max(0.0, max(ms) - min(ms)))


def robust_scale(v: np.ndarray) -> float:
    """The standard deviation of ``v`` from its median absolute deviation (1.4826 MAD).

    >>> v = np.random.default_rng(0).normal(0, 2.0, 400)
    >>> v[::20] += 50.0                                   # 5 % of the points far out
    >>> round(robust_scale(v), 1), round(float(np.std(v)), 1)
    (2.2, 11.1)
    """
    v = np.asarray(v, dtype=float)
    if len(v) == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def isolated_outliers(z: np.ndarray, threshold: float = 4.0, *, min_points: int = 30
                      ) -> np.ndarray:
    """Points beyond ``threshold`` robust standard deviations whose neighbours are not.

    Heavy-tailed technical noise and readout glitches put single points far out, anywhere;
    structure a model misses (a TLS, a split line, a jump) moves neighbouring points together.
    The excess-scatter and stationarity tests leave isolated outliers out, so the tails of the
    noise are not mistaken for structure while a feature of two or more points still counts.
    None below ``min_points`` points: on a sparse sweep one point can be a whole feature.

    >>> z = np.random.default_rng(1).normal(size=60)
    >>> z[10] = 9.0                  # a glitch
    >>> z[30:33] = 8.0               # a feature three points wide
    >>> np.flatnonzero(isolated_outliers(z)).tolist()
    [10]
    """
    z = np.asarray(z, dtype=float)
    n = len(z)
    scale = robust_scale(z)
    if n < max(min_points, 5) or not scale > 0:
        return np.zeros(n, dtype=bool)
    big = np.abs(z - np.median(z)) > threshold * scale
    left = np.concatenate([[False], big[:-1]])
    right = np.concatenate([big[1:], [False]])
    return big & ~left & ~right


class ResidualsWhite(Criterion):
    """No structure left in the residuals (see the module): refused when the residuals are
    structured at ``p_value`` *and* the structure's RMS exceeds ``max_structure`` of the
    signal's peak-to-peak. Populations from fewer than ``min_shots`` shots are not tested
    (their noise is far from Gaussian)."""

    name, check = "residuals", "residuals"

    def __init__(self, p_value: float = 1e-4, max_structure: float = 0.015, *,
                 min_shots: int = 25):
        self.p_value = p_value
        self.max_structure = max_structure
        self.min_shots = min_shots

    def evaluate(self, ctx):
        r = ctx.residuals
        z = r / ctx.sigma
        fit = ctx.fit
        ptp = ctx.peak_to_peak
        if not ptp > 0:
            return self._result(True, 0.0, self.max_structure, "no fitted signal to compare")
        if ctx.shots is not None and ctx.shots < self.min_shots:
            # a handful of counts per point: far from Gaussian, the tests do not apply (the
            # uncertainty criterion judges such data)
            return self._result(True, 0.0, self.max_structure,
                                f"not tested: {ctx.shots} shots per point")
        ratio, p_vn = von_neumann(z)
        p_g, amp = periodicity(r)
        # excess scatter and the jump without isolated outliers (heavy-tailed noise, glitches:
        # no structure, though they fail the Gaussian tests); a feature of >= 2 points stays
        keep = ~isolated_outliers(z)
        excess = math.sqrt(max(0.0, float(np.mean(r[keep] ** 2) - np.mean(ctx.sigma[keep] ** 2))))
        p_chi = fit.p_value
        if not keep.all() and fit.dof - int((~keep).sum()) > 0:
            p_chi = float(stats.chi2.sf(float(np.sum(z[keep] ** 2)),
                                        fit.dof - int((~keep).sum())))
        slow = math.sqrt(max(0.0, float(np.var(r)) - float(np.mean(np.diff(r) ** 2)) / 2))
        p_st, jump = stationarity(r, ctx.sigma)
        tests = {"autocorrelation": (p_vn, slow), "excess scatter": (p_chi, excess),
                 "periodicity": (p_g, amp / math.sqrt(2)), "stationarity": (p_st, jump)}
        worst = max(tests, key=lambda t: tests[t][1] / ptp if tests[t][0] < self.p_value else -1)
        p, rms = tests[worst]
        frac = rms / ptp
        ok = not (p < self.p_value and frac > self.max_structure)
        if ok:
            frac = max(v[1] / ptp for v in tests.values() if v[0] < self.p_value) \
                if any(v[0] < self.p_value for v in tests.values()) else 0.0
        return self._result(ok, frac, self.max_structure,
                            f"residuals: structure the model does not explain ({worst}: "
                            f"{frac:.1%} of the signal, > {self.max_structure:.1%}, p = "
                            f"{p:.1e}; von Neumann ratio {ratio:.2f}, reduced chi2 "
                            f"{fit.chi2_red:.2f}): the data do not follow the model (a TLS, a "
                            "jump, beating); flag for a person")


def passes(x: np.ndarray) -> np.ndarray:
    """Each point's pass over the sweep: 0 for the first point at its sweep value, 1 for the
    second, ... (``x`` in sweep order with repeated values in acquisition order, as a stable
    sort leaves them).

    >>> passes(np.array([1.0, 1.0, 2.0, 2.0, 3.0])).tolist()
    [0, 1, 0, 1, 0]
    """
    x = np.asarray(x, dtype=float)
    out = np.zeros(len(x), dtype=int)
    for i in range(1, len(x)):
        out[i] = out[i - 1] + 1 if x[i] == x[i - 1] else 0
    return out


class PassesAgree(Criterion):
    """Repeated passes over the sweep follow one curve: where the sweep's values are measured
    more than once, the model fitted to the first measurement at each value and the one fitted
    to the later ones are compared with the joint fit by the Chow test (an F-test, independent
    of the noise's scale: a systematic difference between the passes inflates a noise
    estimated from the data as much as it inflates the residuals; for a population with
    ``shots`` whose passes scatter about their own curves as their shot noise does (at
    p > 0.01), the chi² test against that noise, the least such points can have); refused
    when the two
    curves differ at ``p_value`` *and* by more than ``max_structure`` of the signal's
    peak-to-peak (half their RMS difference, the residual each pass carries).

    Two experiments written into one file (reference and interleaved benchmarking points,
    alternating), or a device that changed between passes, give data that zigzag between
    two curves; a single fit through them sees only scatter. Tested only when the later
    passes alone hold at least ``min_values`` distinct sweep values (a few re-measured
    points, repeated reference points, are too few for a curve).
    """

    name, check = "passes", "residuals"

    def __init__(self, p_value: float = 1e-4, max_structure: float = 0.015, *,
                 min_values: int = 8):
        self.p_value, self.max_structure, self.min_values = p_value, max_structure, min_values

    def evaluate(self, ctx):
        from qplane.calibration.fit_models import FIT_MODELS, fit_model

        later = passes(ctx.x) > 0
        model = FIT_MODELS.get(ctx.fit.model)
        k = ctx.fit.points - ctx.fit.dof
        n = len(ctx.x)
        values = len(np.unique(ctx.x[later]))
        if model is None or values < max(self.min_values, k + 2) or n - later.sum() < k + 2:
            return self._result(True, 0.0, self.max_structure,
                                f"not tested: {values} sweep values measured more than once")
        ptp = ctx.peak_to_peak
        sigma = ctx.sigma
        if ctx.shots:   # the binomial shot noise: the least noise these points can have
            from qplane.calibration.fits import shot_noise

            sigma = shot_noise(np.clip(ctx.fit.evaluate(ctx.x), 0, 1), ctx.shots)
        fits = [fit_model(model, ctx.x[m], ctx.y[m], sigma[m], starts=[ctx.fit.params])
                for m in (np.ones(n, dtype=bool), ~later, later)]
        if not (ptp > 0 and all(f.converged for f in fits)) or n - 2 * k <= 0:
            return self._result(True, 0.0, self.max_structure, "no fit of each pass")
        joint, *parts = fits
        split = sum(f.chi2_red * f.dof for f in parts)
        joint_chi2 = joint.chi2_red * joint.dof
        scale = split / (n - 2 * k)
        if ctx.shots and stats.chi2.sf(split, n - 2 * k) > 0.01:
            # each pass scatters about its own curve as its shots do: a chi² test
            p = float(stats.chi2.sf(joint_chi2 - split, k))
        else:
            f_stat = ((joint_chi2 - split) / k) / scale if split > 0 else math.inf
            p = float(stats.f.sf(f_stat, k, n - 2 * k)) if f_stat > 0 else 1.0
        xs = np.unique(ctx.x[later])
        rms = float(np.sqrt(np.mean((parts[0].evaluate(xs) - parts[1].evaluate(xs)) ** 2))) / 2
        frac = rms / ptp
        ok = not (p < self.p_value and frac > self.max_structure)
        return self._result(ok, frac if p < self.p_value else 0.0, self.max_structure,
                            f"passes: the repeated measurements follow another curve than the "
                            f"first ones (Chow test p = {p:.1e}; they differ by {frac:.1%} of "
                            f"the signal, > {self.max_structure:.1%}): two experiments mixed "
                            "in one file, or the device changed between passes; flag for a "
                            "person")


class ShapeTest(Criterion):
    """The fitted model against a richer ``alternative`` that contains it: refused when the
    alternative fits better at ``p_value`` (F-test) *and* the two curves differ by more than
    ``max_structure`` of the signal's peak-to-peak (RMS over the points).

    What a shape the model cannot take looks like when the residual tests lack the points to
    see it: a T1 that drops faster part-way through (a TLS, heating) is no exponential, and a
    stretched exponential tells it from one with a single extra parameter.
    """

    name, check = "shape", "residuals"

    def __init__(self, alternative: Any, p_value: float = 1e-4, max_structure: float = 0.015,
                 *, what: str = "a richer model", name: str = "shape"):
        self.alternative, self.p_value, self.max_structure = alternative, p_value, max_structure
        self.what, self.name = what, name

    def __repr__(self) -> str:
        return (f"ShapeTest(alternative={getattr(self.alternative, 'name', self.alternative)!r}, "
                f"p_value={self.p_value!r}, max_structure={self.max_structure!r})")

    def evaluate(self, ctx):
        return self._shape(ctx, self.alternative, [ctx.fit.params])

    def _shape(self, ctx, alternative, starts):
        from qplane.calibration.fit_models import f_test, fit_model

        ptp = ctx.peak_to_peak
        alt = fit_model(alternative, ctx.x, ctx.y, ctx.sigma, starts=starts)
        if not (alt.converged and ptp > 0):
            return self._result(True, 0.0, self.max_structure, "no alternative fit")
        p = f_test(ctx.fit, alt)
        rms = float(np.sqrt(np.mean((alt.evaluate(ctx.x) - ctx.fit.evaluate(ctx.x)) ** 2)))
        frac = rms / ptp
        ok = not (p < self.p_value and frac > self.max_structure)
        return self._result(ok, frac if p < self.p_value else 0.0, self.max_structure,
                            f"shape: {self.what} ({self.alternative.name}) fits better "
                            f"(p = {p:.1e}) and differs by {frac:.1%} of the signal (> "
                            f"{self.max_structure:.1%}): the data do not follow the model "
                            "(a decay that changes part-way: TLS, heating); flag for a person")


class ChirpTest(ShapeTest):
    """:class:`ShapeTest` of a Ramsey fringe against one whose frequency drifts linearly
    along the sweep (``ramsey_chirp``), its search started around the fitted frequency: a
    drift of up to ``max_drift`` of it over the sweep, the mean frequency kept.

    A fringe frequency that wanders during the sweep (a drifting qubit, a TLS moving) still
    fits a damped cosine, the drift absorbed into the decay, and with few shots the residual
    tests do not apply.
    """

    def __init__(self, p_value: float = 1e-4, max_structure: float = 0.015, *,
                 max_drift: float = 0.8):
        from qplane.calibration.fit_models import FIT_MODELS

        super().__init__(FIT_MODELS["ramsey_chirp"], p_value, max_structure,
                         what="a fringe whose frequency drifts during the sweep")
        self.max_drift = max_drift

    def __repr__(self) -> str:
        return (f"ChirpTest(p_value={self.p_value!r}, max_structure={self.max_structure!r}, "
                f"max_drift={self.max_drift!r})")

    def evaluate(self, ctx):
        from qplane.calibration.fit_models import _mesh

        p = ctx.fit.params
        f0, t2 = float(p.get("frequency", 0.0)), float(p.get("t2", 0.0))
        top = float(np.max(ctx.x))
        if not (f0 > 0 and t2 > 0 and top > 0):
            return self._result(True, 0.0, self.max_structure, "no fringe to test")
        kappa = np.linspace(-self.max_drift, self.max_drift, 81)
        g = _mesh(kappa=kappa, shift=np.linspace(-0.1, 0.1, 11), t2=t2 * np.array([1, 3, 10]))
        grid = {"chirp": g["kappa"] * f0 / top,
                "frequency": f0 * (1 + g["shift"] - g["kappa"] / 2), "t2": g["t2"]}
        alternative = self.alternative
        if "beta" in p:   # a stretched envelope: the chirp with the same envelope
            from qplane.calibration.fit_models import FIT_MODELS

            alternative = FIT_MODELS["ramsey_chirp_stretched"]
            grid["beta"] = np.full_like(grid["t2"], float(p["beta"]))
        model = dataclasses.replace(alternative, grid=lambda x: grid)
        return self._shape(ctx, model, [{**p, "chirp": 0.0}])


def standing_wave_chi2(x: np.ndarray, y: np.ndarray, sigma: np.ndarray,
                       periods: Sequence[float] = tuple(np.geomspace(0.25, 3.0, 40))) -> float:
    """The chi² of the best *standing wave* (offset, slope and one sinusoid whose period is
    ``periods`` times the window) against ``sigma``: the background a line must beat.

    >>> x = np.linspace(0, 1, 101)
    >>> y = 0.5 + 0.1 * np.sin(2 * np.pi * x / 1.3) + np.random.default_rng(0).normal(0, .01, 101)
    >>> bool(standing_wave_chi2(x, y, np.full(101, 0.01)) / 101 < 1.2)   # about the noise
    True
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    span = float(np.ptp(x)) or 1.0
    u = (x - float(np.mean(x))) / span
    w = 1.0 / np.asarray(sigma, dtype=float)
    best = math.inf
    for per in periods:
        k = 2 * np.pi / per
        a = np.stack([np.ones_like(u), u, np.cos(k * u), np.sin(k * u)], axis=1) * w[:, None]
        c, *_ = np.linalg.lstsq(a, y * w, rcond=None)
        best = min(best, float(np.sum((a @ c - y * w) ** 2)))
    return best


class LineNotBackground(Criterion):
    """A line broader than ``min_width_fraction`` of the window must fit the data better than
    a standing wave (:func:`standing_wave_chi2`): its chi² times ``min_chi2_ratio`` must not
    exceed the standing wave's. Narrow lines are not tested.

    A window with no line but a standing wave in its background (cable reflections, a
    ripple 1–3× the noise) is a significant signal, and one hump of it fits a broad
    Lorentzian; a real line is narrower than the window, or clearly not a sinusoid. Chosen on
    the train families and qplane's own generator: every good line at least 0.2 of its window
    wide beat the standing wave by a chi² ratio of 1.5 or more (check sweeps of 17–24 points,
    0.2–0.38 of the window wide: 2.6–8.4); the standing-wave-only windows that fitted a line
    had ratios 0.85–1.0.
    """

    name, check = "line", "signal"

    def __init__(self, min_width_fraction: float = 0.2, min_chi2_ratio: float = 1.2):
        self.min_width_fraction = min_width_fraction
        self.min_chi2_ratio = min_chi2_ratio

    def evaluate(self, ctx):
        fit = ctx.fit
        span = float(np.ptp(ctx.x)) or 1.0
        frac = abs(float(fit.params.get("width", 0.0))) / span
        if frac <= self.min_width_fraction or fit.dof <= 0:
            return self._result(True, math.inf, self.min_chi2_ratio,
                                f"line {frac:.2f} of the window wide: not tested")
        # points far off the line (glitches) left out of both chi²s: they would make any
        # two models look alike
        z = ctx.residuals / ctx.sigma
        keep = np.abs(z - np.median(z)) <= 4 * max(robust_scale(z), 1e-300)
        if keep.sum() < 8:
            keep[:] = True
        line = max(float(np.sum(z[keep] ** 2)), 1e-300)
        ratio = standing_wave_chi2(ctx.x[keep], ctx.y[keep], ctx.sigma[keep]) / line
        return self._result(bool(ratio >= self.min_chi2_ratio), ratio, self.min_chi2_ratio,
                            f"no signal: the line is {frac:.0%} of the window wide and a "
                            f"standing wave in the background fits as well (chi2 ratio "
                            f"{ratio:.2f} < {self.min_chi2_ratio:g}); no line in the window: "
                            "check the drive, or move / widen the sweep")


class RotatesAtZero(Criterion):
    """A Rabi's fitted ``phase`` (how far into its turn the oscillation is at zero drive
    amplitude) is at most ``max_phase`` radians beyond ``significance`` sigma.

    A drive's pulse shape and the readout give real data a phase of a few tenths of a radian
    (the π amplitude then differs from half the period by up to ~12 %, which the model with
    phase absorbs); a qubit that rotates with *no* pulse, at half a radian and more, is
    driven by something else: a mixer's carrier leaking through, a DC offset on the AWG's
    output, another channel's crosstalk. Its fitted π amplitude is not the pulse's.
    """

    name, check = "phase", "shape"

    def __init__(self, max_phase: float = 0.5, significance: float = 2.0):
        self.max_phase, self.significance = max_phase, significance

    def evaluate(self, ctx):
        phi = ctx.fit.params.get("phase", math.nan)
        e = ctx.fit.errors.get("phase", math.inf)
        if not (math.isfinite(phi) and math.isfinite(e)):
            return self._result(None, math.nan, self.max_phase, "no phase fitted")
        return self._result(bool(abs(phi) - self.significance * e <= self.max_phase),
                            abs(phi), self.max_phase,
                            f"the qubit rotates at zero drive amplitude: the oscillation is "
                            f"{abs(phi):.2f} ± {e:.2f} rad into its turn at zero (> "
                            f"{self.max_phase:g}); a leaking carrier, an AWG offset or "
                            "crosstalk drives it; fix the drive before calibrating π")


class RelativeUncertainty(Criterion):
    """``error(key) / scale <= max_relative_error`` (scale: the context's, else the value)."""

    name, check = "uncertainty", "noise"

    def __init__(self, key: str, max_relative_error: float = 0.1, *, scale: float | None = None):
        self.key, self.max_relative_error, self.scale = key, max_relative_error, scale

    def evaluate(self, ctx):
        scale = self.scale if self.scale is not None else ctx.scale
        rel = ctx.fit.relative_error(self.key, scale)
        return self._result(bool(rel <= self.max_relative_error), rel, self.max_relative_error,
                            f"too noisy: uncertainty of {self.key} is {rel:.3g} of its scale "
                            f"(> {self.max_relative_error:g}); take more shots")


class Gate:
    """An ordered list of criteria; the first that fails decides (see the module)."""

    def __init__(self, criteria: Sequence[Criterion]):
        self.criteria = tuple(criteria)

    def __repr__(self) -> str:
        return f"Gate({list(self.criteria)!r})"

    def evaluate(self, ctx: GateContext) -> GateResult:
        results: list[CriterionResult] = []
        first: CriterionResult | None = None
        for c in self.criteria:
            if c.needs_fit and not ctx.fit.converged and not isinstance(c, Converged):
                results.append(CriterionResult(c.name, c.check, None, math.nan, "",
                                               "not evaluated: no fit"))
                continue
            r = c.evaluate(ctx)
            results.append(r)
            if first is None and r.passed is False:
                first = r
        if first is not None:
            return GateResult(first.outcome, first.reason, first.check, tuple(results))
        fit = ctx.fit
        key = next((c.key for c in self.criteria if hasattr(c, "key")), None)
        reason = "all criteria passed"
        if key is not None:
            reason = (f"{key} = {fit.params[key]:.6g} ± {fit.errors[key]:.2g}, reduced chi2 "
                      f"{fit.chi2_red:.2f}")
        return GateResult(Outcome.SUCCESS, reason, "passed", tuple(results))
