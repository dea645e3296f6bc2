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
- ``ramsey_fringes_harmonic``: the damped fringe read through a readout that is a smooth
  monotone but not linear function of the population (counts with detector dead time, the
  median of weak single shots, the phase of the reflected tone): to second order the signal
  gains the fringe's square, a second harmonic under the squared envelope (three more
  amplitudes); the fringe frequency is unchanged;
- ``rabi_damped_zero``: Rabi with phase and damping in the rotation angle's magnitude,
  ``exp(-d |x - x0|)``, ``x0`` where the angle is zero: on a ``-A ... +A`` sweep the fringe
  decays to both sides of that point (fitted to sweeps through zero only);
- ``biexponential``: ``offset + amplitude e^(−t/τ) + amplitude_fast e^(−t ratio/τ)``, two
  populations (a TLS, a second state), the T1 gate's second shape alternative;
- ``rabi_distorted`` (session 15): the damped Rabi with phase read through a readout that is
  a smooth monotone but not linear function of the population (shots repeated faster than
  T1, so each starts with part of the last one's excitation; a detector that saturates): to
  second order the fringe ``−cos θ`` gains ``distortion · cos 2θ`` of the *same* rotation
  angle ``θ`` under the squared envelope, ``|distortion| ≤ 1/4`` (beyond, the readout would
  not be monotone). The extrema stay where the rotation is 0 and π, so the π amplitude is
  where ``θ`` reaches π, as in ``rabi_damped``;
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
    _decay_bounds,
    _decay_columns,
    _decay_grid,
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


# --- the line of a finite drive pulse --------------------------------------------------------

#: the pulse area ``θ = Ω T`` (rad) a pulsed line may have: weak (the sinc² limit) to 1.3 π
AREA_BOUNDS = (0.05, 4.0)


def _pulsed_shape(delta: np.ndarray, area: np.ndarray) -> np.ndarray:
    """The Rabi formula ``Ω²/(Ω²+Δ²) sin²(√(Ω²+Δ²) T / 2)`` at ``delta = Δ/Ω`` for pulse
    area ``θ = Ω T``, divided by its value on resonance ``sin²(θ/2)`` (1 at the centre)."""
    r = np.sqrt(1 + delta * delta)
    with np.errstate(invalid="ignore", divide="ignore"):   # area 0: no line (NaN)
        return np.sin(area * r / 2) ** 2 / (r * r) / np.sin(area / 2) ** 2


def _half_width(area: float) -> float:
    """``Δ/Ω`` where the pulsed line of area ``area`` falls to half its peak."""
    lo, hi = 0.0, 1.0
    while _pulsed_shape(np.array(hi), np.array(area)) > 0.5:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _pulsed_shape(np.array(mid), np.array(area)) > 0.5 else (lo, mid)
    return (lo + hi) / 2


_AREAS = np.linspace(AREA_BOUNDS[0], AREA_BOUNDS[1], 400)
_HALF = np.array([_half_width(a) for a in _AREAS])


def _pulsed_line(x, center, width, area):
    """The pulsed line of FWHM ``width`` (its side lobes set by ``area``), 1 at ``center``."""
    omega = width / (2 * np.interp(area, _AREAS, _HALF))   # the Rabi frequency, Hz
    return _pulsed_shape((x - center) / omega, area)


def _pulsed_model(background: str) -> FitModel:
    base = _peak_model("lorentzian", background)

    def basis(x, *, center, width, area):
        b = base.basis(x, center=center, width=width)
        return np.concatenate([_pulsed_line(x, center, width, area)[..., None], b[..., 1:]],
                              axis=-1)

    def grid(x):
        g = base.grid(x)
        areas = np.array([0.5, 1.6, 3.0])
        return {"center": np.tile(g["center"], 3), "width": np.tile(g["width"], 3),
                "area": np.repeat(areas, len(g["center"]))}

    def bounds(x):
        return {**base.bounds(x), "area": AREA_BOUNDS}

    name = "pulsed" if background == "constant" else f"pulsed_{background}"
    return FitModel(name, ("center", "width", "area"), base.linear, basis, grid, bounds)


# --- Ramsey with a stretched envelope --------------------------------------------------------

#: β of the envelope ``exp(-(t/T2*)^β)``: 1 (exponential) … 3; the grid starts at 1 and 2
BETA_BOUNDS = (0.5, 4.0)


def _envelope(x, t2, beta):
    return np.exp(-(np.abs(x) / t2) ** beta)


def _stretched_fringes_basis(x, *, frequency, t2, beta):
    return _fringe_columns(_envelope(x, t2, beta), 2 * np.pi * frequency * x)


def _harmonic_fringes_basis(x, *, frequency, t2):
    env, arg = np.exp(-x / t2), 2 * np.pi * frequency * x
    return np.stack([np.ones_like(arg), env * np.cos(arg), env * np.sin(arg), env**2,
                     env**2 * np.cos(2 * arg), env**2 * np.sin(2 * arg)], axis=-1)


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


# --- Rabi damped in the rotation angle, on a sweep through zero -------------------------------

def _two_sided(x) -> bool:
    """A sweep with at least 3 points on either side of zero amplitude (``-A ... +A``)."""
    x = np.asarray(x, dtype=float)
    return int(np.sum(x < 0)) >= 3 and int(np.sum(x > 0)) >= 3


def _zero_basis(x, *, frequency, damping, zero):
    return _fringe_columns(np.exp(-damping * np.abs(x - zero)), 2 * np.pi * frequency * x)


def _zero_grid(x):
    g = FIT_MODELS["rabi_damped"].grid(x)
    n = len(g["frequency"])
    shift = np.repeat([-0.1, 0.0, 0.1], n)       # of the π amplitude, 1 / (2 f)
    return {"frequency": np.tile(g["frequency"], 3), "damping": np.tile(g["damping"], 3),
            "zero": shift / (2 * np.tile(g["frequency"], 3))}


def _zero_bounds(x):
    top = float(np.max(np.abs(x)))
    return {**FIT_MODELS["rabi_damped"].bounds(x), "zero": (-top / 2, top / 2)}


# --- Rabi with a compressing drive -----------------------------------------------------------

#: the compression's bound, as ``c·top²`` (the rotation stays monotonic below 1/3)
MAX_COMPRESSION = 0.3
#: a monotone readout's second harmonic is at most a quarter of the fundamental
MAX_DISTORTION = 0.25


def _compressed_basis(x, *, frequency, damping, compression):
    return _fringe_columns(np.exp(-damping * np.abs(x)),
                           2 * np.pi * frequency * x * (1 - compression * x * x))


def _distorted_basis(x, *, frequency, damping, angle0, distortion):
    env = np.exp(-damping * np.abs(x))
    theta = 2 * np.pi * frequency * x + angle0
    return np.stack([np.ones_like(theta),
                     (distortion * env**2 * np.cos(2 * theta) - env * np.cos(theta)) / 2],
                    axis=-1)


def _distorted_grid(x):
    g = FIT_MODELS["rabi_damped"].grid(x)
    angles = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    n = len(g["frequency"])
    return {**{k: np.tile(v, len(angles)) for k, v in g.items()},
            "angle0": np.repeat(angles, n), "distortion": np.zeros(n * len(angles))}


def _distorted_bounds(x):
    return {**FIT_MODELS["rabi_damped"].bounds(x), "angle0": (-2 * math.pi, 2 * math.pi),
            "distortion": (-MAX_DISTORTION, MAX_DISTORTION)}


def _distorted_derive(p, options):
    # the fundamental as rabi_damped's quadratures: the same π amplitude, phase, contrast
    half = p["scale"] / 2
    return FIT_MODELS["rabi_damped"].derive(
        {"frequency": p["frequency"], "mean": p["mean"],
         "a_cos": -half * math.cos(p["angle0"]), "a_sin": half * math.sin(p["angle0"])},
        options)


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


def _biexponential_basis(x, *, tau, ratio):
    return np.stack([np.ones_like(x * tau), np.exp(-x / tau), np.exp(-x * ratio / tau)],
                    axis=-1)


def _biexponential_grid(x):
    return _mesh(tau=_decay_grid(x)["tau"][::4], ratio=np.geomspace(2.0, 40.0, 9))


def _biexponential_bounds(x):
    return {**_decay_bounds(x), "ratio": (1.05, 200.0)}


_MODELS = [
    _quadratic_peak("lorentzian"), _quadratic_peak("gaussian"),
    *(_pulsed_model(b) for b in ("constant", "linear")),
    FitModel("ramsey_stretched", ("frequency", "t2", "beta"), ("offset", "a_cos", "a_sin"),
             _stretched_fringes_basis, _stretched_fringes_grid, _with_beta(_ramsey_bounds),
             _ramsey_derive),
    FitModel("ramsey_fringes_harmonic", ("frequency", "t2"),
             ("offset", "a_cos", "a_sin", "square", "square_cos", "square_sin"),
             _harmonic_fringes_basis, _ramsey_grid, _ramsey_bounds, _ramsey_derive),
    FitModel("ramsey_chirp_stretched", ("frequency", "chirp", "t2", "beta"),
             ("offset", "a_cos", "a_sin"), _stretched_chirp_basis, _stretched_chirp_grid,
             _stretched_chirp_bounds, _ramsey_derive),
    FitModel("ramsey_decay_stretched", ("t2", "beta"), ("offset", "amplitude"),
             _stretched_decay_basis, _stretched_decay_grid, _with_beta(_t2_bounds)),
    # the damping grows with the rotation angle's magnitude, zero where the angle is (a DC
    # offset on the drive, LO leakage, moves that point off zero amplitude): on a sweep
    # through zero the two sides decay from there
    FitModel("rabi_damped_zero", ("frequency", "damping", "zero"), ("mean", "a_cos", "a_sin"),
             _zero_basis, _zero_grid, _zero_bounds, FIT_MODELS["rabi_damped"].derive,
             applies=_two_sided),
    FitModel("rabi_distorted", ("frequency", "damping", "angle0", "distortion"),
             ("mean", "scale"), _distorted_basis, _distorted_grid, _distorted_bounds,
             _distorted_derive),
    FitModel("rabi_compressed", ("frequency", "damping", "compression"),
             ("mean", "a_cos", "a_sin"), _compressed_basis, _compressed_grid,
             _compressed_bounds, _compressed_derive),
    # two populations decaying at ``tau`` and ``tau / ratio``: the second alternative the T1
    # gate tests the exponential against (a fast part the stretched form does not take)
    FitModel("biexponential", ("tau", "ratio"), ("offset", "amplitude", "amplitude_fast"),
             _biexponential_basis, _biexponential_grid, _biexponential_bounds),
]
for _model in _MODELS:
    FIT_MODELS.setdefault(_model.name, _model)
    MODELS.setdefault(_model.name, lambda x, _m=_model, **p: _m.evaluate(x, p))
