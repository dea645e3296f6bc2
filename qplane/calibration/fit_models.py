"""Fit models with the terms real data needs, one engine to fit them, and model selection.

Every model here is *linear in its amplitudes*: ``y = B(x; θ) @ a``, where ``θ`` are a few
nonlinear parameters (a centre and width, a frequency and damping, a time constant) and ``a``
the linear ones (offsets, amplitudes, background slopes). :func:`fit_model` searches a grid of
``θ`` solving ``a`` exactly at each point (batched weighted least squares), then refines all
parameters with :func:`scipy.optimize.curve_fit`; derived values (the π amplitude of a Rabi
oscillation with a phase, a fringe's amplitude) get their uncertainties from the covariance by
the delta method. :func:`select_model` fits several nested candidates and keeps the simplest one
the data do not reject (an F-test, independent of the noise's overall scale).

Models (:data:`FIT_MODELS`):

- spectroscopy: ``lorentzian`` / ``gaussian`` peaks or dips (``width`` is the FWHM) on a
  constant, linear (``_linear``) or Fano (``_fano``: a dispersive term, the interference of a
  resonance with a background path; the centre is the pole, not the apparent minimum) background;
- Rabi: ``rabi_simple`` (``offset + contrast·sin²``), ``rabi_phase`` (a rotation-angle offset),
  ``rabi_damped`` (phase and damping): the π amplitude is where the fitted rotation reaches π;
- Ramsey: ``ramsey_fringes`` (damped cosine, any frequency down to 0) and ``ramsey_decay``
  (zero detuning: no fringe); ``ramsey_chirp`` (the frequency drifting linearly along the
  sweep), the alternative the Ramsey gate tests the fringes against;
- T1 / echo: ``exponential`` (with an offset); ``stretched_exponential`` (``exp(-(x/τ)^β)``),
  the alternative the T1 gate tests the exponential against.

>>> x = np.linspace(0, 1.0, 61)
>>> y = 0.5 - 0.45 * np.exp(-0.8 * x) * np.cos(np.pi * x / 0.4 * (1 - 0.15 / np.pi) + 0.15)
>>> fit = fit_model(FIT_MODELS["rabi_damped"], x, y, np.full(61, 0.01))
>>> round(fit.params["pi_amplitude"], 4), round(fit.params["phase"], 3)
(0.4, 0.15)
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from qplane.calibration.fits import MODELS, FitResult, failed_fit

_LN2x4 = 4 * math.log(2)


@dataclasses.dataclass(frozen=True)
class FitModel:
    """A model ``y = basis(x; nonlinear) @ linear`` with its grid, bounds and derived values.

    Attributes:
        name: the model's name (a key of :data:`FIT_MODELS`).
        nonlinear: names of the nonlinear parameters (searched on a grid).
        linear: names of the linear parameters (solved exactly).
        basis: ``basis(x, **theta) -> (grid, points, len(linear))`` for ``x`` of shape
            ``(1, points)`` and each ``theta`` of shape ``(grid, 1)``.
        grid: ``grid(x) -> {name: 1-D array}``, the flattened grid of starting points.
        bounds: ``bounds(x) -> {name: (low, high)}`` for the nonlinear parameters.
        derive: ``derive(params, options) -> {name: value}``, values computed from the
            parameters (uncertainties by the delta method).
        applies: ``applies(x) -> bool``, whether the model can be fitted to this sweep
            (None: any; a term only some layouts can determine).
    """

    name: str
    nonlinear: tuple[str, ...]
    linear: tuple[str, ...]
    basis: Callable[..., np.ndarray]
    grid: Callable[[np.ndarray], dict[str, np.ndarray]]
    bounds: Callable[[np.ndarray], dict[str, tuple[float, float]]]
    derive: Callable[[Mapping[str, float], Mapping[str, Any]], dict[str, float]] | None = None
    applies: Callable[[np.ndarray], bool] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.nonlinear + self.linear

    def evaluate(self, x: Any, params: Mapping[str, float]) -> np.ndarray:
        """The model at ``x`` for ``params`` (extra, derived entries are ignored)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        theta = {n: np.array([[params[n]]], dtype=float) for n in self.nonlinear}
        b = self.basis(x[None, :], **theta)[0]
        return b @ np.array([params[n] for n in self.linear], dtype=float)


def _mesh(**axes: np.ndarray) -> dict[str, np.ndarray]:
    grids = np.meshgrid(*axes.values(), indexing="ij")
    return {k: g.ravel() for k, g in zip(axes, grids)}


def _span_step(x: np.ndarray) -> tuple[float, float]:
    xs = np.sort(x)
    span = float(xs[-1] - xs[0]) if len(xs) > 1 else 1.0
    d = np.diff(xs)
    step = float(np.median(d[d > 0])) if np.any(d > 0) else span
    return max(span, 1e-300), max(step, 1e-300)


# --- spectroscopy ----------------------------------------------------------------------------

def _line(shape: str, x: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
    if shape == "lorentzian":
        h = w / 2
        return h**2 / ((x - c) ** 2 + h**2)
    return np.exp(-_LN2x4 * (x - c) ** 2 / w**2)


def _peak_model(shape: str, background: str) -> FitModel:
    linear = ("amplitude", "offset") + {"constant": (), "linear": ("slope",),
                                         "fano": ("dispersion", "slope")}[background]

    def basis(x, *, center, width):
        peak = _line(shape, x, center, width)
        cols = [peak, np.ones_like(peak)]
        if background == "fano":
            h = width / 2
            cols.append(h * (x - center) / ((x - center) ** 2 + h**2) * 2)
        if background != "constant":
            cols.append((x - center) / width / 10)
        return np.stack(cols, axis=-1)

    def grid(x):
        span, step = _span_step(x)
        return _mesh(center=np.linspace(x.min(), x.max(), min(4 * len(x), 400)),
                     width=np.maximum(span * np.array([0.01, 0.03, 0.1, 0.3]), step))

    def bounds(x):
        span, step = _span_step(x)
        return {"width": (step / 20, 2 * span), "center": (x.min() - span / 2, x.max() + span / 2)}

    name = shape if background == "constant" else f"{shape}_{background}"
    return FitModel(name, ("center", "width"), linear, basis, grid, bounds)


# --- Rabi ------------------------------------------------------------------------------------

def _rabi_model(phase: bool, damping: bool) -> FitModel:
    nonlinear = ("frequency",) + (("damping",) if damping else ())
    linear = ("mean", "a_cos") + (("a_sin",) if phase else ())

    def basis(x, *, frequency, damping=None):
        # damping grows with the drive's magnitude: a negative amplitude (a ± sweep) is the
        # same drive with its phase flipped
        env = np.exp(-damping * np.abs(x)) if damping is not None else np.ones_like(frequency * x)
        arg = 2 * np.pi * frequency * x
        cols = [np.ones_like(arg), env * np.cos(arg)]
        if phase:
            cols.append(env * np.sin(arg))
        return np.stack(cols, axis=-1)

    def grid(x):
        span, step = _span_step(x)
        top = float(np.max(np.abs(x)))
        api = np.geomspace(max(step, top / 50), 4 * top, 300)
        axes = {"frequency": 1 / (2 * api)}
        if damping:
            axes["damping"] = np.array([0.0, 0.3, 1.0, 3.0]) / top
        return _mesh(**axes)

    def bounds(x):
        span, step = _span_step(x)
        top = float(np.max(np.abs(x)))
        b = {"frequency": (1 / (80 * top), 1 / step)}
        if damping:
            b["damping"] = (0.0, 20 / top)
        return b

    def derive(p, options):
        a_sin = p.get("a_sin", 0.0)
        r = math.hypot(p["a_cos"], a_sin)
        phi = math.atan2(a_sin, -p["a_cos"])
        if options.get("sign_free") and abs(phi) > math.pi / 2:
            r, phi = -r, (phi - math.pi + math.pi) % (2 * math.pi) - math.pi
        turn = (math.pi - phi) % (2 * math.pi)
        return {"pi_amplitude": turn / (2 * math.pi * p["frequency"]), "phase": phi,
                "contrast": 2 * r, "offset": p["mean"] - r}

    name = "rabi_" + ("damped" if damping else "phase" if phase else "simple")
    if damping and not phase:
        name = "rabi_damped_nophase"
    return FitModel(name, nonlinear, linear, basis, grid, bounds, derive)


# --- Ramsey ----------------------------------------------------------------------------------

def _fringe_columns(env, arg):
    """Offset and the two quadratures of a fringe of phase ``arg`` under envelope ``env``."""
    return np.stack([np.ones_like(arg), env * np.cos(arg), env * np.sin(arg)], axis=-1)


def _ramsey_basis(x, *, frequency, t2):
    return _fringe_columns(np.exp(-x / t2), 2 * np.pi * frequency * x)


def _ramsey_grid(x):
    span, step = _span_step(x)
    nyquist = 0.5 / step
    return _mesh(frequency=np.linspace(0.0, nyquist, min(8 * len(x), 800)),
                 t2=(span + float(x.min())) * np.array([0.1, 0.3, 1.0, 3.0, 30.0]))


def _ramsey_bounds(x):
    span, step = _span_step(x)
    return {"frequency": (0.0, 0.75 / step), "t2": (step / 4, 1000 * (span + float(x.min())))}


def _ramsey_derive(p, options):
    return {"amplitude": math.hypot(p["a_cos"], p["a_sin"]),
            "phase": math.atan2(-p["a_sin"], p["a_cos"])}


def _chirp_basis(x, *, frequency, chirp, t2):
    return _fringe_columns(np.exp(-x / t2), 2 * np.pi * (frequency * x + chirp * x * x / 2))


def _chirp_grid(x):
    g = _ramsey_grid(x)
    return {**g, "chirp": np.zeros_like(g["frequency"])}


def _chirp_bounds(x):
    span, step = _span_step(x)
    top = max(float(np.max(x)), span)
    return {**_ramsey_bounds(x), "chirp": (-0.75 / step / top, 0.75 / step / top)}


def _decay_columns(e):
    """Offset and amplitude of a decay of shape ``e``."""
    return np.stack([np.ones_like(e), e], axis=-1)


def _decay_basis(x, *, tau):
    return _decay_columns(np.exp(-x / tau))


def _decay_grid(x):
    span, step = _span_step(x)
    return {"tau": np.geomspace(step / 4, 50 * (span + float(x.min())), 300)}


def _decay_bounds(x):
    span, step = _span_step(x)
    return {"tau": (step / 20, 1000 * (span + float(x.min())))}


def _t2_grid(x):
    return {"t2": _decay_grid(x)["tau"]}


def _t2_bounds(x):
    return {"t2": _decay_bounds(x)["tau"]}


def _ramsey_decay_basis(x, *, t2):
    return _decay_basis(x, tau=t2)


#: Every model by name.
FIT_MODELS: dict[str, FitModel] = {m.name: m for m in [
    *(_peak_model(s, b) for s in ("lorentzian", "gaussian")
      for b in ("constant", "linear", "fano")),
    _rabi_model(False, False), _rabi_model(True, False), _rabi_model(False, True),
    _rabi_model(True, True),
    FitModel("ramsey_fringes", ("frequency", "t2"), ("offset", "a_cos", "a_sin"), _ramsey_basis,
             _ramsey_grid, _ramsey_bounds, _ramsey_derive),
    # a fringe whose frequency drifts linearly along the sweep (``chirp`` in Hz/s): the
    # alternative the Ramsey gate tests the damped cosine against
    FitModel("ramsey_chirp", ("frequency", "chirp", "t2"), ("offset", "a_cos", "a_sin"),
             _chirp_basis, _chirp_grid, _chirp_bounds, _ramsey_derive),
    FitModel("ramsey_decay", ("t2",), ("offset", "amplitude"), _ramsey_decay_basis, _t2_grid,
             _t2_bounds),
    FitModel("exponential", ("tau",), ("offset", "amplitude"), _decay_basis, _decay_grid,
             _decay_bounds),
]}
def _stretched_basis(x, *, tau, beta):
    e = np.exp(-(np.abs(x) / tau) ** beta)
    return np.stack([np.ones_like(e), e], axis=-1)


def _stretched_grid(x):
    return _mesh(tau=_decay_grid(x)["tau"][::3], beta=np.array([0.5, 0.75, 1.0, 1.5, 2.0, 3.0]))


def _stretched_bounds(x):
    return {**_decay_bounds(x), "beta": (0.25, 6.0)}


#: A decay that need not be exponential (``beta`` 1 is the exponential): the alternative the
#: T1 gate tests the exponential against (:class:`~qplane.calibration.criteria.ShapeTest`).
FIT_MODELS["stretched_exponential"] = FitModel(
    "stretched_exponential", ("tau", "beta"), ("offset", "amplitude"), _stretched_basis,
    _stretched_grid, _stretched_bounds)
for _name, _model in FIT_MODELS.items():
    MODELS.setdefault(_name, lambda x, _m=_model, **p: _m.evaluate(x, p))


# --- fitting ---------------------------------------------------------------------------------

def _grid_start(model: FitModel, x: np.ndarray, y: np.ndarray, w: np.ndarray
                ) -> dict[str, float]:
    grid = model.grid(x)
    theta = {k: v[:, None] for k, v in grid.items()}
    basis = model.basis(x[None, :], **theta)
    a = basis * w[None, :, None]
    yw = y * w
    k = basis.shape[2]
    m = np.einsum("gnk,gnl->gkl", a, a)
    m = m + 1e-10 * np.eye(k) * (np.trace(m, axis1=1, axis2=2)[:, None, None] / k + 1e-300)
    coef = np.linalg.solve(m, np.einsum("gnk,n->gk", a, yw)[..., None])[..., 0]
    r = np.einsum("gnk,gk->gn", a, coef) - yw
    chi2 = np.einsum("gn,gn->g", r, r)
    chi2[~np.isfinite(chi2)] = np.inf
    i = int(np.argmin(chi2))
    start = {n: float(grid[n][i]) for n in model.nonlinear}
    start.update({n: float(c) for n, c in zip(model.linear, coef[i])})
    return start


def flat_chi2(y: np.ndarray, sigma: np.ndarray) -> float:
    """Reduced chi² of the best constant (the no-signal model) against ``sigma``."""
    w = 1 / sigma**2
    mean = float(np.sum(w * y) / np.sum(w))
    return float(np.sum(((y - mean) / sigma) ** 2) / max(len(y) - 1, 1))


def fit_model(model: FitModel, x: Any, y: Any, sigma: Any, *,
              options: Mapping[str, Any] | None = None,
              starts: Sequence[Mapping[str, float]] = ()) -> FitResult:
    """Fit ``model`` to ``(x, y)`` with per-point noise ``sigma``: grid search, then curve_fit.

    ``starts``: further starting points (parameters missing from one start at 0), each refined
    as well; the lowest chi² wins (:func:`select_model` starts a model from the fits of the
    simpler candidates it contains, so a richer model never fits worse than a nested one).

    Returns a :class:`~qplane.calibration.fits.FitResult` whose ``params`` hold the model's
    parameters and its derived values, each with a one-sigma ``errors`` entry.
    """
    options = dict(options or {})
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), y.shape)
    names = model.names
    n = len(x)
    if n < len(names) + 1:
        return failed_fit(model.name, names, f"only {n} usable points for {len(names)} "
                          "parameters", points=n)
    chi2f = flat_chi2(y, sigma)
    bnd = model.bounds(x)
    lo = [bnd.get(k, (-np.inf, np.inf))[0] for k in names]
    hi = [bnd.get(k, (-np.inf, np.inf))[1] for k in names]

    def func(xx, *p):
        return model.evaluate(xx, dict(zip(names, p)))

    best: tuple[float, np.ndarray, np.ndarray] | None = None
    error = "no start"
    for start in [_grid_start(model, x, y, 1 / sigma), *starts]:
        p0 = [float(start.get(k, 0.0)) for k in names]
        p0 = [min(max(v, lo[i] + 1e-12 * abs(lo[i])), hi[i]) if math.isfinite(lo[i])
              else v for i, v in enumerate(p0)]
        p0 = [min(max(v, lo[i]), hi[i]) for i, v in enumerate(p0)]
        try:
            with np.errstate(all="ignore"):
                popt, pcov = optimize.curve_fit(func, x, y, p0=p0, sigma=sigma,
                                                absolute_sigma=True, bounds=(lo, hi),
                                                max_nfev=2000, x_scale="jac")
        except (RuntimeError, ValueError, optimize.OptimizeWarning,
                np.linalg.LinAlgError) as e:
            error = f"optimiser failed: {e}"
            continue
        if not np.all(np.isfinite(popt)):
            error = "optimiser returned non-finite values"
            continue
        r = (func(x, *popt) - y) / sigma
        chi2 = float(r @ r)
        if math.isfinite(chi2) and (best is None or chi2 < best[0]):
            best = (chi2, popt, pcov)
    if best is None:
        return dataclasses.replace(failed_fit(model.name, names, error), chi2_flat=chi2f,
                                   points=n)
    _, popt, pcov = best
    params = dict(zip(names, map(float, popt)))
    pcov = _scaled_covariance(model, x, sigma, params, pcov)
    params, errors = derived_errors(model, params, pcov, options)
    resid = (model.evaluate(x, params) - y) / sigma
    dof = n - len(names)
    return FitResult(model=model.name, params=params, errors=errors,
                     chi2_red=float(resid @ resid / dof), dof=dof, chi2_flat=chi2f,
                     converged=True, points=n)

def _scaled_covariance(model: FitModel, x: np.ndarray, sigma: np.ndarray,
                       params: Mapping[str, float], fallback: np.ndarray) -> np.ndarray:
    """The fit's covariance ``(J'J)^-1`` with each parameter in units of its own sensitivity.

    curve_fit's pseudo-inverse drops singular values below a cut-off relative to the largest,
    so when the parameters' scales differ by many decades (a line's centre in Hz beside a depth
    of 1e-12 W) the small direction is dropped and its error comes out as zero. Scaling each
    column of the weighted Jacobian to unit norm first makes the errors independent of the
    units of the signal (the same cut-off as curve_fit's, after the scaling). ``fallback``
    (curve_fit's) is kept if the Jacobian is not finite."""
    j = jacobian(model, x, params) / sigma[:, None]
    if not np.all(np.isfinite(j)):
        return fallback
    return _normal_inverse(j)


def _normal_inverse(j: np.ndarray) -> np.ndarray:
    """``(J'J)^-1`` of a weighted Jacobian ``j`` (points × parameters), each column scaled to
    unit norm before the pseudo-inverse (curve_fit's cut-off, relative to the largest singular
    value), so parameters whose scales differ by many decades all keep their direction."""
    norm = np.linalg.norm(j, axis=0)
    norm = np.where(norm > 0, norm, 1.0)
    _, s, vt = np.linalg.svd(j / norm, full_matrices=False)
    keep = s > np.finfo(float).eps * max(j.shape) * s[0]
    v = vt[keep].T / s[keep]
    return (v @ v.T) / np.outer(norm, norm)


def derived_errors(model: FitModel, params: Mapping[str, float], pcov: np.ndarray,
                   options: Mapping[str, Any] | None = None
                   ) -> tuple[dict[str, float], dict[str, float]]:
    """Parameters with the model's derived values, and one-sigma errors of all of them from
    the covariance ``pcov`` of ``model.names`` (derived values by the delta method)."""
    options = dict(options or {})
    names = model.names
    params = {k: float(params[k]) for k in names}
    ok_cov = bool(np.all(np.isfinite(pcov)))
    diag = np.diag(pcov) if ok_cov else np.full(len(names), np.inf)
    errors = {k: float(math.sqrt(d)) if d >= 0 else math.inf for k, d in zip(names, diag)}
    if model.derive is not None:
        derived = model.derive(params, options)
        jac = np.zeros((len(derived), len(names)))
        for j, k in enumerate(names):
            h = 1e-6 * max(abs(params[k]), errors[k] if math.isfinite(errors[k]) else 0, 1e-30)
            up = model.derive({**params, k: params[k] + h}, options)
            dn = model.derive({**params, k: params[k] - h}, options)
            for i, d in enumerate(derived):
                jac[i, j] = (up[d] - dn[d]) / (2 * h)
        dcov = jac @ pcov @ jac.T if ok_cov else np.full((len(derived),) * 2, np.inf)
        for i, d in enumerate(derived):
            params[d] = float(derived[d])
            v = dcov[i, i]
            errors[d] = float(math.sqrt(v)) if np.isfinite(v) and v >= 0 else math.inf
    return params, errors


def jacobian(model: FitModel, x: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """``d model(x) / d parameter``, ``(points, len(model.names))``, by central differences."""
    cols = []
    for k in model.names:
        h = 1e-6 * max(abs(params[k]), 1e-30)
        up = model.evaluate(x, {**params, k: params[k] + h})
        dn = model.evaluate(x, {**params, k: params[k] - h})
        cols.append((up - dn) / (2 * h))
    return np.stack(cols, axis=-1)


def correlated_errors(model: FitModel, x: Any, sigma: Any, params: Mapping[str, float],
                      correlation: Any, *, variance: float = 1.0,
                      options: Mapping[str, Any] | None = None) -> dict[str, float]:
    """One-sigma errors of a least-squares fit when the noise is correlated.

    The sandwich covariance ``(J'J)^-1 J' C J (J'J)^-1`` of the weighted Jacobian ``J``
    (``d model / d parameter / sigma``), ``C = variance * R`` with ``R`` the Toeplitz matrix
    of the normalised noise's autocorrelation ``correlation`` (``correlation[k]`` at lag
    ``k``, ``correlation[0] = 1``). White noise (``R = 1``, ``variance = 1``) gives the usual
    covariance; correlated noise (1/f, drifts) carries fewer independent points than it has,
    and every parameter's error grows by what its own sensitivity pattern sees of it.
    """
    from scipy.linalg import toeplitz

    x = np.asarray(x, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), x.shape)
    rho = np.zeros(len(x))
    c = np.asarray(correlation, dtype=float)[:len(x)]
    rho[:len(c)] = c
    rho[0] = 1.0
    j = jacobian(model, x, params) / sigma[:, None]
    if not np.all(np.isfinite(j)):
        return {k: math.inf for k in params}
    try:
        inv = _normal_inverse(j)
    except np.linalg.LinAlgError:
        return {k: math.inf for k in params}
    cov = variance * inv @ (j.T @ toeplitz(rho) @ j) @ inv
    return derived_errors(model, params, cov, options)[1]


def f_test(simple: FitResult, complex_: FitResult) -> float:
    """p-value of the F-test that ``complex_`` (more parameters) fits no better than ``simple``.

    Both fits must use the same data and noise; the test is independent of the noise's scale.
    """
    k1 = simple.points - simple.dof
    k2 = complex_.points - complex_.dof
    if k2 <= k1 or complex_.dof <= 0 or not (simple.converged and complex_.converged):
        return 1.0
    c1, c2 = simple.chi2_red * simple.dof, complex_.chi2_red * complex_.dof
    if c2 <= 0:
        return 0.0 if c1 > 0 else 1.0
    f = ((c1 - c2) / (k2 - k1)) / (c2 / complex_.dof)
    return float(stats.f.sf(f, k2 - k1, complex_.dof)) if f > 0 else 1.0


def key_shift(simple: FitResult, complex_: FitResult, key: str) -> float:
    """p-value of a Hausman test that ``simple`` (nested in ``complex_``) does not bias ``key``.

    If the simpler model is right both estimates are consistent and their difference has
    variance ``error_complex² - error_simple²``; a larger shift means the terms the simpler
    model lacks move the key (a Rabi phase, a background slope), so the richer model is kept
    even when the curves look alike to the F-test.
    """
    if key not in simple.params or key not in complex_.params or not (
            simple.converged and complex_.converged):
        return 1.0
    d = complex_.params[key] - simple.params[key]
    ec, es = complex_.errors.get(key, math.inf), simple.errors.get(key, math.inf)
    if not (math.isfinite(ec) and math.isfinite(es) and math.isfinite(d)):
        return 1.0
    var = max(ec**2 - es**2, 0.1 * ec**2)
    return float(stats.chi2.sf(d * d / var, 1)) if var > 0 else 1.0


def select_model(models: Sequence[FitModel], x: Any, y: Any, sigma: Any, *,
                 alpha: float = 1e-3, options: Mapping[str, Any] | None = None,
                 key: str | None = None, key_alpha: float = 0.05, aic_margin: float = 10.0
                 ) -> tuple[FitResult, dict[str, FitResult]]:
    """Fit every candidate; keep the simplest the data do not reject.

    Candidates are grouped by their number of parameters; within a group the lowest chi²
    wins; a larger group's winner replaces the current choice when the F-test rejects the
    current one at ``alpha`` or, given the ``key`` parameter and a richer model that contains
    the current one (at the current fit's parameters, the extra ones 0, it draws the same
    curve), when the key moves between the two beyond what their errors allow
    (:func:`key_shift` at ``key_alpha``). Each model also
    starts from the fits of the candidates nested in it. Given the ``key``, a candidate whose
    Akaike criterion
    (:func:`aic`) lies more than ``aic_margin`` below the chosen one's (a likelihood ratio of
    e⁵ ≈ 150 for ``aic_margin`` 10) replaces it. Returns the chosen fit and every candidate's
    fit by name.
    """
    fits: dict[str, FitResult] = {}
    names = {m.name: set(m.names) for m in models}
    by_name = {m.name: m for m in models}
    nests: set[tuple[str, str]] = set()    # (simple, rich): rich reproduces simple's curve
    xa = np.asarray(x, dtype=float)
    for m in sorted(models, key=lambda m: len(m.names)):
        starts = []
        for name, f in fits.items():
            if f.converged and names[name] < names[m.name]:
                curve = by_name[name].evaluate(xa, f.params)
                rich = m.evaluate(xa, {k: f.params.get(k, 0.0) for k in m.names})
                if np.allclose(rich, curve, rtol=1e-9, atol=1e-12 * (np.ptp(curve) or 1.0)):
                    nests.add((name, m.name))
                    starts.append(f.params)
        fits[m.name] = fit_model(m, x, y, sigma, options=options, starts=starts)
    fits = {m.name: fits[m.name] for m in models}
    by_size: dict[int, list[FitResult]] = {}
    for m in models:
        by_size.setdefault(len(m.names), []).append(fits[m.name])
    chosen: FitResult | None = None
    for size in sorted(by_size):
        ok = [f for f in by_size[size] if f.converged]
        if not ok:
            continue
        best = min(ok, key=lambda f: f.chi2_red)
        if chosen is None or f_test(chosen, best) < alpha or (
                key is not None and (chosen.model, best.model) in nests
                and key_shift(chosen, best, key) < key_alpha):
            chosen = best
    if chosen is None:
        chosen = fits[models[0].name]
    # the steps above compare one size with the next: a model two terms richer that the data
    # clearly prefer (a damping that only helps with its zero point) is missed when the term
    # between helps little alone; the Akaike criterion weighs every candidate at once
    ok = [f for f in fits.values() if f.converged and f.dof > 0]
    if key is not None and chosen.converged and ok:
        best = min(ok, key=aic)
        if aic(chosen) - aic(best) > aic_margin:
            chosen = best
    return chosen, fits


def aic(fit: FitResult) -> float:
    """Akaike's criterion ``chi² + 2 k`` of ``fit`` (``k`` its parameters) against its noise."""
    return fit.chi2_red * fit.dof + 2 * (fit.points - fit.dof)


# the shapes real data take beyond these (curved backgrounds, stretched Ramsey envelopes, a
# compressing Rabi drive) register themselves into FIT_MODELS
importlib.import_module("qplane.calibration.fit_shapes")
