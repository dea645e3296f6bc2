"""The residual test under correlated technical noise: structure is judged after whitening
by the noise's own short-range correlation.

A readout offset that switches (telegraph noise from a fluctuator) or wanders
(Ornstein–Uhlenbeck) moves runs of neighbouring points together, and the residual tests of
:class:`~qplane.calibration.criteria.ResidualsWhite` read such runs as structure the model
misses. What a missing term leaves is different: a jump, a beating, a dropout, an oscillation
on a decay are deterministic at the signal's own scale. :class:`ResidualsWhiteCorrelated`
fits white plus exponentially correlated noise to the residuals
(:func:`~qplane.calibration.noise.correlated_noise`, restricted likelihood); when its
correlation length is short next to the feature — at most ``max_length_fraction`` of the
points per feature (π amplitude, fringe, linewidth, decay constant) — it whitens the
residuals with that correlation (``L⁻¹ z``, ``R = L L'``, in units of the noise model's
profiled variance, so the excess scatter is the correlated noise's) and runs the residual
tests on the whitened ones; the data are refused only when they fail both ways. Else (no correlation shown, or one as long as the
feature, which a misfit also produces) the tests run as before.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from qplane.calibration.criteria import ResidualsWhite

#: the longest correlation (as a fraction of the points per feature) whitened away
MAX_LENGTH_FRACTION = 0.125


class ResidualsWhiteCorrelated(ResidualsWhite):
    """:class:`~qplane.calibration.criteria.ResidualsWhite` on residuals whitened by their
    short-range correlated noise (see the module)."""

    def __init__(self, p_value: float = 1e-4, max_structure: float = 0.015, *,
                 min_shots: int = 25, max_length_fraction: float = MAX_LENGTH_FRACTION):
        super().__init__(p_value, max_structure, min_shots=min_shots)
        self.max_length_fraction = max_length_fraction

    def evaluate(self, ctx):
        first = super().evaluate(ctx)
        if first.passed is not False:
            return first
        whitened = self._whitened(ctx)
        if whitened is None:
            return first
        second = super().evaluate(whitened)
        if second.passed is False:
            return first
        return dataclasses.replace(second, reason=second.reason + " (after whitening the "
                                   "short-range correlated noise)")

    def _whitened(self, ctx):
        from scipy.linalg import cholesky, solve_triangular, toeplitz

        from qplane.calibration.fit_models import FIT_MODELS, jacobian
        from qplane.calibration.noise import CORRELATION_LENGTHS, correlated_noise

        model = FIT_MODELS.get(ctx.fit.model)
        per_feature = ctx.resolution
        if model is None or not (math.isfinite(per_feature) and per_feature > 0):
            return None
        longest = self.max_length_fraction * per_feature
        lengths = tuple(v for v in CORRELATION_LENGTHS if v <= longest)
        if not lengths:
            return None
        z = ctx.residuals / ctx.sigma
        jac = jacobian(model, ctx.x, ctx.fit.params) / ctx.sigma[:, None]
        jac = jac[:, np.all(np.isfinite(jac), axis=0)]
        variance, rho, share = correlated_noise(jac, z, lengths=lengths)
        if not share > 0:
            return None
        try:
            c = cholesky(toeplitz(rho), lower=True)
        except np.linalg.LinAlgError:
            return None
        # in units of the correlated noise model (its variance profiled): what remains of
        # the residuals once that noise is accounted for
        zw = solve_triangular(c, z, lower=True) / math.sqrt(max(variance, 1e-300))
        fit = dataclasses.replace(ctx.fit, chi2_red=float(zw @ zw) / max(ctx.fit.dof, 1))
        return dataclasses.replace(ctx, fit=fit, y=fit.evaluate(ctx.x) + zw * ctx.sigma)
