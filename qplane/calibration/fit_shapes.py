"""Fit models for the shapes real data take beyond the basic ones (session 6).

Registered into :data:`~qplane.calibration.fit_models.FIT_MODELS` on import (``fit_models``
imports this module), each containing a basic model (its extra parameter at 0 or 1 draws the
same curve), so :func:`~qplane.calibration.fit_models.select_model` keeps it only when the
data ask for it (the nested F-test, or for Rabi the key's Hausman test):

- ``lorentzian_quadratic``, ``gaussian_quadratic``: a line on a *curved* background
  (``offset + slope·u + curvature·u²``): a cable's or amplifier's frequency response over a
  wide window bends; a linear background leaves the bend in the residuals;
- ``ramsey_stretched`` (fringes) and ``ramsey_decay_stretched`` (zero detuning): an envelope
  ``exp(-(t/T2*)^β)``: β = 1 is the exponential (white frequency noise, Markovian
  dephasing), β = 2 the Gaussian of quasi-static (1/f, slow) frequency noise, and anything
  between when both act; ``ramsey_chirp_stretched``, the chirp alternative with that envelope
  (:class:`~qplane.calibration.criteria.ChirpTest`);
- ``rabi_compressed``: Rabi with phase, damping and a *compressing* (or expanding) drive, the
  rotation angle ``φ + 2π f x (1 − c x²)``: an amplifier or mixer saturating at high
  amplitude rotates less than linearly (``tanh`` to third order); the π amplitude is where
  the rotation reaches π (the smallest root).

>>> import numpy as np
>>> from qplane.calibration.fit_models import FIT_MODELS, fit_model
>>> x = np.linspace(0, 1.2, 61)
>>> theta = 0.1 + (np.pi - 0.1) * np.tanh(x / 4) / np.tanh(0.4 / 4)      # π at 0.4
>>> y = 0.5 - 0.45 * np.exp(-0.5 * x) * np.cos(theta)
>>> fit = fit_model(FIT_MODELS["rabi_compressed"], x, y, np.full(61, 0.002))
>>> round(fit.params["pi_amplitude"], 3)
0.4
"""

from __future__ import annotations

import math

import numpy as np

from qplane.calibration.fit_models import (
    FIT_MODELS,
    FitModel,
    _decay_columns,
    _fringe_columns,
    _mesh,
    _peak_model,
    _ramsey_bounds,
    _ramsey_derive,
    _ramsey_grid,
    _t2_bounds,
    _t2_grid,
)
from qplane.calibration.fits import MODELS

# --- a line on a curved background -----------------------------------------------------------


def _quadratic_peak(shape: str) -> FitModel:
    base = _peak_model(shape, "linear")

    def basis(x, *, center, width):
        b = base.basis(x, center=center, width=width)
        u = (x - center) / width / 10
        return np.concatenate([b, (u * u)[..., None]], axis=-1)

    return FitModel(f"{shape}_quadratic", base.nonlinear, base.linear + ("curvature",), basis,
                    base.grid, base.bounds)


# --- Ramsey with a stretched envelope --------------------------------------------------------

#: β of the envelope ``exp(-(t/T2*)^β)``: 1 (exponential) … 3; the grid starts at 1 and 2
BETA_BOUNDS = (0.5, 4.0)


def _envelope(x, t2, beta):
    return np.exp(-(np.abs(x) / t2) ** beta)


def _stretched_fringes_basis(x, *, frequency, t2, beta):
    return _fringe_columns(_envelope(x, t2, beta), 2 * np.pi * frequency * x)


def _stretched_fringes_grid(x):
    g = _ramsey_grid(x)
    n = len(g["frequency"])
    return {"frequency": np.tile(g["frequency"], 2), "t2": np.tile(g["t2"], 2),
            "beta": np.repeat([1.0, 2.0], n)}


def _with_beta(bounds):
    return lambda x: {**bounds(x), "beta": BETA_BOUNDS}


def _stretched_chirp_basis(x, *, frequency, chirp, t2, beta):
    return _fringe_columns(_envelope(x, t2, beta),
                           2 * np.pi * (frequency * x + chirp * x * x / 2))


def _stretched_chirp_grid(x):
    return {**_stretched_fringes_grid(x), "chirp": np.zeros(2 * len(_ramsey_grid(x)["t2"]))}


def _stretched_chirp_bounds(x):
    return {**FIT_MODELS["ramsey_chirp"].bounds(x), "beta": BETA_BOUNDS}


def _stretched_decay_basis(x, *, t2, beta):
    return _decay_columns(_envelope(x, t2, beta))


def _stretched_decay_grid(x):
    g = _t2_grid(x)["t2"]
    return _mesh(t2=g[::2], beta=np.array([1.0, 2.0]))


# --- Rabi with a compressing drive -----------------------------------------------------------

#: the compression's bound, as ``c·top²`` (the rotation stays monotonic below 1/3)
MAX_COMPRESSION = 0.3


def _compressed_basis(x, *, frequency, damping, compression):
    return _fringe_columns(np.exp(-damping * x),
                           2 * np.pi * frequency * x * (1 - compression * x * x))


def _compressed_grid(x):
    g = FIT_MODELS["rabi_damped"].grid(x)
    top = float(np.max(np.abs(x)))
    n = len(g["frequency"])
    return {"frequency": np.tile(g["frequency"], 3), "damping": np.tile(g["damping"], 3),
            "compression": np.repeat([-0.1, 0.0, 0.1], n) / top**2}


def _compressed_bounds(x):
    top = float(np.max(np.abs(x)))
    return {**FIT_MODELS["rabi_damped"].bounds(x),
            "compression": (-MAX_COMPRESSION / top**2, MAX_COMPRESSION / top**2)}


def _compressed_root(target: float, c: float) -> float:
    """The smallest positive ``x`` with ``x (1 - c x²) = target`` (NaN when none)."""
    if c == 0 or target <= 0:
        return target
    x = target
    for _ in range(50):
        f = x * (1 - c * x * x) - target
        d = 1 - 3 * c * x * x
        if d <= 0:
            return math.nan
        step = f / d
        x -= step
        if abs(step) <= 1e-13 * abs(x):
            break
    return x if x > 0 else math.nan


def _compressed_derive(p, options):
    base = FIT_MODELS["rabi_damped"].derive(p, options)
    turn_amplitude = base["pi_amplitude"]   # where a linear drive would reach π
    base["pi_amplitude"] = _compressed_root(turn_amplitude, p["compression"])
    return base


_MODELS = [
    _quadratic_peak("lorentzian"), _quadratic_peak("gaussian"),
    FitModel("ramsey_stretched", ("frequency", "t2", "beta"), ("offset", "a_cos", "a_sin"),
             _stretched_fringes_basis, _stretched_fringes_grid, _with_beta(_ramsey_bounds),
             _ramsey_derive),
    FitModel("ramsey_chirp_stretched", ("frequency", "chirp", "t2", "beta"),
             ("offset", "a_cos", "a_sin"), _stretched_chirp_basis, _stretched_chirp_grid,
             _stretched_chirp_bounds, _ramsey_derive),
    FitModel("ramsey_decay_stretched", ("t2", "beta"), ("offset", "amplitude"),
             _stretched_decay_basis, _stretched_decay_grid, _with_beta(_t2_bounds)),
    FitModel("rabi_compressed", ("frequency", "damping", "compression"),
             ("mean", "a_cos", "a_sin"), _compressed_basis, _compressed_grid,
             _compressed_bounds, _compressed_derive),
]
for _model in _MODELS:
    FIT_MODELS.setdefault(_model.name, _model)
    MODELS.setdefault(_model.name, lambda x, _m=_model, **p: _m.evaluate(x, p))
