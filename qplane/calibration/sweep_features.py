"""Features version 5 of the second opinion: the sweep in units of its own fitted scale.

Versions 2–4 (:func:`qplane.calibration.classifier.analysis_features`) see the sweep on its
*normalised* range (0 at its start, 1 at its end): a Rabi over 20 π amplitudes and one over 2
look alike there, and so do an echo window 50 decay constants long and one 5 long. Version 5
adds what the physics fixes, from the fit's own scale (a line's centre and width, a Rabi's π
amplitude, a Ramsey's fringe period or its decay time, a decay constant):

- two channels on a *canonical grid* of 64 points in units of that scale (:data:`GRIDS`): the
  signal there (as channel 0 normalises it; 0 where the sweep has no points) and the number of
  sweep points in each grid cell (coverage and sampling in physical units);
- :data:`PHYSICS_SCALARS`: the window's span, coarsest and median step, start and end in units
  of the scale; how much of the window the fitted curve is flat; a noise scale derived from the
  data alone (the median absolute point-to-point difference) relative to the signal's range
  and to the analysis's noise estimate; the longest run of residuals of one sign, the largest
  local mean of the residuals; the fit's signal to the data-derived noise; points per unit of
  the scale; the scale's relative error.

Everything here is invariant to the sweep's units, offset, point count and order and to the
signal's gain and offset (tests/calibration/test_sweep_features.py).

>>> import numpy as np
>>> from qplane.calibration.analysis import analyse
>>> x = np.linspace(0, 200e-6, 60)
>>> r = analyse("t1", x, 0.05 + 0.9 * np.exp(-x / 40e-6), shots=1000)
>>> chans, scal = physics_features(r)
>>> chans.shape, scal.shape, round(float(scal[1]), 2)   # span = 5 decay constants
((2, 64), (14,), 0.54)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

LENGTH = 64
#: kind -> (low, high) of the canonical grid, in units of the kind's fitted scale
GRIDS = {"spectroscopy": (-8.0, 8.0), "rabi": (0.0, 8.0), "ramsey": (0.0, 12.0),
         "t1": (0.0, 10.0), "echo": (0.0, 10.0)}
PHYSICS_SCALARS = ("valid", "span", "max_step", "median_step", "start", "end", "flat",
                   "data_noise", "noise_ratio", "sign_run", "local_mean", "fit_snr",
                   "points_per_scale", "scale_error")


def _squash(v: float, lo: float, hi: float) -> float:
    """``log10(v)`` mapped from ``[lo, hi]`` onto ``[0, 1]`` (clipped; 0 for v ≤ 0 or NaN)."""
    if not math.isfinite(v) or v <= 0:
        return 0.0
    return (min(max(math.log10(v), lo), hi) - lo) / (hi - lo)


def fitted_scale(result: Any) -> tuple[float, float, float] | None:
    """``(origin, scale, relative error)``: the sweep is read as ``(x - origin) / scale``; None
    when the kind has no canonical scale or the fit did not give one."""
    fit = result.fit
    if not fit.converged or result.kind not in GRIDS:
        return None
    p, e = fit.params, fit.errors
    origin, name = 0.0, None
    if result.kind == "spectroscopy":
        origin, name = p.get("center", math.nan), "width"
    elif result.kind == "rabi":
        name = "pi_amplitude"
    elif result.kind == "ramsey":
        f = p.get("frequency", 0.0)
        if math.isfinite(f) and abs(f) > 0 and abs(f) * (result.x.max() - result.x.min()) > 0.5:
            scale = 1.0 / abs(f)
            rel = abs(e.get("frequency", math.nan) / f)
            return 0.0, scale, rel
        name = "t2"
    else:
        name = "tau"
    scale = abs(p.get(name, math.nan))
    if not (math.isfinite(scale) and scale > 0 and math.isfinite(origin)):
        return None
    return origin, scale, abs(e.get(name, math.nan)) / scale


def data_noise(x: np.ndarray, y: np.ndarray) -> float:
    """A noise scale from the data alone: the median absolute difference of neighbouring points
    (in sweep order) over √2, times 1.4826 (the standard deviation for Gaussian white noise;
    a smooth signal between neighbours adds little when points are dense)."""
    if len(y) < 3:
        return 0.0
    d = np.diff(y[np.argsort(x, kind="stable")])
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _longest_run(signs: np.ndarray) -> int:
    best = run = 0
    prev = 0.0
    for s in signs:
        run = run + 1 if s == prev and s != 0 else 1
        prev = s
        best = max(best, run)
    return best


def physics_features(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(2, LENGTH)`` channels on the canonical grid and ``(len(PHYSICS_SCALARS),)`` scalars
    for an :class:`~qplane.calibration.analysis.AnalysisResult` (zeros where there is no
    canonical scale)."""
    chans = np.zeros((2, LENGTH), dtype=np.float32)
    scal = np.zeros(len(PHYSICS_SCALARS), dtype=np.float32)
    x, y = np.asarray(result.x, float), np.asarray(result.y, float)
    fs = fitted_scale(result)
    if fs is None or len(x) < 3 or not x.max() > x.min():
        return chans, scal
    origin, scale, rel = fs
    z = (x - origin) / scale
    o = np.argsort(z, kind="stable")
    z, y = z[o], y[o]
    med = float(np.median(y))
    lo, hi = np.percentile(y, [5, 95])
    rng = float(hi - lo) or float(np.std(y)) or 1.0
    g0, g1 = GRIDS[result.kind]
    grid = np.linspace(g0, g1, LENGTH)
    inside = (grid >= z[0]) & (grid <= z[-1])
    chans[0] = np.where(inside, np.clip(np.interp(grid, z, (y - med) / rng), -3, 3), 0.0)
    counts = np.histogram(z, bins=LENGTH, range=(g0, g1))[0]
    chans[1] = np.minimum(np.log1p(counts) / math.log1p(8), 1.0)
    steps = np.diff(z)
    steps = steps[steps > 0]
    span = float(z[-1] - z[0])
    fc = result.fit.evaluate(np.asarray(result.x, float))[o]
    frange = float(fc.max() - fc.min())
    sd = data_noise(z, y)
    sigma = float(np.mean(result.noise.sigma))
    r = (y - fc) / np.maximum(np.asarray(result.noise.sigma, float)[o], 1e-300)
    w = max(3, len(r) // 8)
    local = np.convolve(r, np.ones(w) / w, mode="valid")
    scal[:] = (
        1.0,
        _squash(span, -2, 3),
        _squash(float(steps.max()) if len(steps) else 0.0, -3, 1),
        _squash(float(np.median(steps)) if len(steps) else 0.0, -3, 1),
        math.tanh(z[0] / 3),
        math.tanh(z[-1] / 10),
        float(np.mean(np.abs(fc - np.median(fc)) < 0.05 * frange)) if frange > 0 else 1.0,
        _squash(sd / rng, -3, 0.5),
        _squash(sd / sigma, -1.5, 1.5) if sigma > 0 else 0.0,
        _longest_run(np.sign(r)) / len(r),
        min(float(np.max(np.abs(local))) * math.sqrt(w) / 10, 1.0) if len(local) else 0.0,
        _squash(frange / sd, -1, 3) if sd > 0 else 1.0,
        _squash(len(z) / span, -2, 3) if span > 0 else 0.0,
        _squash(rel, -4, 1),
    )
    return chans, np.nan_to_num(scal, nan=0.0, posinf=1.0, neginf=0.0)
