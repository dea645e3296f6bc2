"""The aliasing check: an oscillation sampled too coarsely fits a slower alias that looks
resolved, and only a prior on the frequency (the value the lab expects) can tell.

On sweep points ``x_m = m Δ`` an oscillation of frequency ``f`` and one of ``k/Δ ± f`` take
the same values (the sampling theorem: below two points per period the frequency is
ambiguous). A Rabi sweep whose step exceeds half the Rabi period (the π amplitude) therefore
fits a slow alias that passes every residual and resolution test. A node knows the π amplitude
it calibrated last (the sweep is built from it), and ``analyse`` takes it as the setting
``expected_pi_amplitude`` (in the sweep's units) with ``expected_tolerance`` (relative):

:class:`NotAliased` refuses the data (``bad_data``, check ``sampling``, *aliased*) when the
fitted π amplitude is farther from the expected one than the tolerance while an alias of the
fitted oscillation on the sweep's step is within it *and* fits the data as well (its reduced
chi² within :data:`ALIAS_CHI2_RATIO` of the fit's; on a non-uniform sweep a false alias does
not). A fitted value far from the expected one with no alias near it is not aliasing (the
check passes; a bounded update or the node's compare judges such a change).

>>> import numpy as np
>>> from qplane.calibration import analyse
>>> x = np.arange(14) * 0.3                       # step 0.3 V, true π amplitude 0.2 V
>>> p = 0.05 + 0.45 * (1 - np.cos(np.pi * x / 0.2))
>>> p = p + np.random.default_rng(0).normal(0, 0.01, 14)
>>> r = analyse("rabi", x, p, sigma=0.01, second_opinion=False)
>>> r.passed, round(r.values["pi_amplitude"].value, 3)                   # a slow alias
(True, 0.6)
>>> r = analyse("rabi", x, p, sigma=0.01, second_opinion=False, expected_pi_amplitude=0.21)
>>> r.passed, r.gate.check, r.reason.split(":")[0]
(False, 'sampling', 'aliased')
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from qplane.calibration.criteria import Criterion

#: an alias "fits as well" when its reduced chi² is at most this multiple of the fit's
ALIAS_CHI2_RATIO = 1.5
#: aliases ``k/Δ ± f`` searched up to this ``k``
MAX_ALIAS_ORDER = 50


def aliases(frequency: float, step: float, low: float, high: float) -> list[tuple[int, float]]:
    """The aliases ``(±k, k/step ± frequency)`` of ``frequency`` on a sweep of ``step``
    whose frequencies lie in ``[low, high]`` (``-k``: the mirrored alias ``k/step - f``).

    >>> [(k, round(f, 3)) for k, f in aliases(0.3, 1.0, 0.0, 2.0)]
    [(-1, 0.7), (1, 1.3), (-2, 1.7)]
    """
    out = []
    for k in range(1, MAX_ALIAS_ORDER + 1):
        for sign in (-1, 1):
            f = k / step + sign * frequency
            if low <= f <= high and f > 0:
                out.append((sign * k, f))
        if k / step - frequency > high:
            break
    return out


class NotAliased(Criterion):
    """The fitted oscillation is not an alias of the expected one (see the module).

    ``expected``: the expected value of ``key`` (SI; None: not tested); ``tolerance``: how
    far (relative) a fitted value may lie from it and still count as the expected
    oscillation. The fit must have a ``frequency`` whose value scales as ``1 / key``
    (a Rabi π amplitude, a period).
    """

    name, check = "aliasing", "sampling"

    def __init__(self, expected: float | None, tolerance: float = 0.25, *,
                 key: str = "pi_amplitude", setting: str = "expected_pi_amplitude"):
        self.expected, self.tolerance, self.key, self.setting = expected, tolerance, key, setting

    def evaluate(self, ctx):
        from qplane.calibration.fit_models import FIT_MODELS, _span_step

        fit, e = ctx.fit, self.expected
        value = float(fit.params.get(self.key, math.nan))
        f = float(fit.params.get("frequency", math.nan))
        model = FIT_MODELS.get(fit.model)
        if e is None or not (e > 0 and value > 0 and f > 0) or model is None:
            return self._result(True, math.nan, self.tolerance, "not tested: no expected value")
        limit = math.log1p(self.tolerance)
        off = abs(math.log(value / e))
        if off <= limit:
            return self._result(True, value / e - 1, self.tolerance,
                                f"{self.key} within {self.tolerance:.0%} of the expected")
        step = _span_step(ctx.x)[1]
        # alias frequencies whose value (∝ 1/f) lies within the tolerance of the expected
        lo, hi = f * value / (e * (1 + self.tolerance)), f * value * (1 + self.tolerance) / e
        near = aliases(f, step, lo, hi)
        if not near:
            return self._result(True, value / e - 1, self.tolerance,
                                f"{self.key} far from the expected, but no alias near it")
        k, fa = min(near, key=lambda a: abs(math.log(f * value / (a[1] * e))))
        alias = self._refit(model, ctx, k, fa)
        ratio = alias.chi2_red / fit.chi2_red if alias.converged and fit.chi2_red > 0 \
            else math.inf
        if not ratio <= ALIAS_CHI2_RATIO:
            return self._result(True, value / e - 1, self.tolerance,
                                f"an alias near the expected fits worse (chi2 ratio "
                                f"{ratio:.2f})")
        shown = value * f / fa
        return self._result(False, value / e - 1, self.tolerance,
                            f"aliased: the fitted {self.key} {value:.4g} is {value / e:.2f}× "
                            f"the expected {e:.4g} ({self.setting}), and an alias of it on the "
                            f"sweep's step {step:.4g}, {shown:.4g}, within {self.tolerance:.0%}"
                            f" of the expected, fits as well (chi2 ratio {ratio:.2f}): the "
                            f"step is longer than half the oscillation's period; use a finer "
                            f"sweep")

    def _refit(self, model, ctx, k, fa):
        """The fit started at (and held near) the alias ``fa`` of the fitted frequency."""
        from qplane.calibration.fit_models import fit_model

        p = dict(ctx.fit.params)
        f = p["frequency"]
        start = {**p, "frequency": fa}
        if k < 0:   # the mirrored alias: the sine term and the drive's curvature flip
            start = {**start, **{n: -p[n] for n in ("a_sin",) if n in p}}
        if "compression" in p:
            start["compression"] = p["compression"] * (f / fa) * (1 if k > 0 else -1)
        grid = {n: np.array([start[n]]) for n in model.nonlinear}

        def bounds(x, _b=model.bounds):
            return {**_b(x), "frequency": (0.9 * fa, 1.1 * fa)}

        held = dataclasses.replace(model, grid=lambda x: grid, bounds=bounds)
        return fit_model(held, ctx.x, ctx.y, ctx.sigma, starts=[start])
