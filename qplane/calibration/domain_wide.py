"""The wide train families (session 5): the second opinion's broadest domain randomisation.

Session 4's broad train families (:func:`~qplane.calibration.domain.broad_train_set`) widened
the layouts and added two noises; on the blind fourth generation the retrained model still
transferred no better than the old one (0.775 vs 0.767), missing most where a *background* or a
*correlated* noise looked like signal (a standing wave taken for a line) or a window's shape
was new (a far too short decay). These families randomise every axis at once, each case
drawing independently:

- layouts (:data:`LAYOUTS`): uniform, jittered, ``u^p`` dense at either end (p 1.5–4),
  geometric, Chebyshev, two segments (fine then coarse), a gap (a block of points missing),
  in ascending or descending acquisition order; 12–300 points;
- noises (:data:`NOISES`): binomial at 10–3000 shots, Gaussian, ``1/f^a``, random walk,
  Ornstein–Uhlenbeck with a correlation of 1–30 points, a linear or quadratic drift of the
  readout offset, a slow gain drift (multiplicative), Student-t, Laplace, bursts of adjacent
  outliers, a sinusoidal interference pick-up; one or two of them at once, at levels from
  0.3 % to 8 % of the contrast;
- backgrounds: constant, linear, quadratic or a standing wave (spectroscopy, and in
  ``no_signal`` for every kind: a window with structure but no feature);
- shapes per mode: lines Lorentzian, Gaussian, pseudo-Voigt or Fano (``ok``); Rabi with phase
  and damping; Ramsey detuned or at zero detuning; decays with an offset; ``anomalous`` a
  split or jumping line, a Rabi rate that changes, a beating, chirped or jumping Ramsey, a
  jumping or two-population decay; ``off_range`` the feature outside or only at the edge of
  the window, windows far too short for a decay or a π amplitude; ``undersampled`` aliased
  fringes, too few points per line or decay.

Signals are read as population, magnitude (random gain, sign, offset), phase or averaged IQ.
The ``noisy`` mode is left out (as in the other train families: an unknown-scale signal
drowned in noise is the same data as no signal).

These families share *ideas* with the first four held-out generations (which were looked at
and are development sets in session 5) but not their generators or parameter ranges; the
blind measurement is the fifth generation, written by another helper and not looked at
before the final benchmark.

>>> cases = wide_train_set(1, seed=0)
>>> len(cases), sorted({c.mode for c in cases})[:2]
(25, ['anomalous', 'no_signal'])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import SWEEP_KINDS, Case, _pink, _to_units

#: the modes drawn (``noisy`` left out, see the module)
WIDE_MODES = ("ok", "off_range", "undersampled", "anomalous", "no_signal")
LAYOUTS = ("uniform", "uniform", "jitter", "power", "dense_end", "geometric", "chebyshev",
           "two_segment", "gap")
NOISES = ("binomial", "gaussian", "pink", "walk", "ou", "offset_drift", "gain_drift",
          "student", "laplace", "bursts", "pickup")
TRAIN_FAMILIES = {k: (f"{k}/train_wide",) for k in SWEEP_KINDS}


def _unit_layout(n: int, rng: np.random.Generator, layout: str) -> np.ndarray:
    """``n`` points in [0, 1] (0 and 1 included), in increasing order."""
    u = np.linspace(0, 1, n)
    if layout == "jitter" and n > 2:
        u = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, n - 2)]))
    elif layout in ("power", "dense_end"):
        u = u ** rng.uniform(1.5, 4.0)
        if layout == "dense_end":
            u = 1 - u[::-1]
    elif layout == "geometric":
        u = (np.geomspace(1, rng.uniform(20, 500), n) - 1)
        u = u / u[-1]
    elif layout == "chebyshev":
        u = (1 - np.cos(np.pi * u)) / 2
    elif layout == "two_segment" and n > 5:
        cut, frac = rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.75)
        k = max(int(frac * n), 3)
        u = np.concatenate([np.linspace(0, cut, k, endpoint=False), np.linspace(cut, 1, n - k)])
    elif layout == "gap" and n > 8:
        m = int(n * rng.uniform(1.15, 1.4))
        full = np.linspace(0, 1, m)
        start = int(rng.integers(1, max(m - (m - n) - 1, 2)))
        u = np.delete(full, np.arange(start, start + (m - n)))[:n]
        u = (u - u[0]) / (u[-1] - u[0])
    return u


def _correlated(n: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Unit-variance correlated noise of ``kind``."""
    if kind == "pink":
        return _pink(n, rng, rng.uniform(0.5, 2.0))
    if kind == "walk":
        w = np.cumsum(rng.normal(size=n))
        return (w - w.mean()) / (np.std(w) or 1.0)
    length = rng.uniform(1, 30)   # Ornstein-Uhlenbeck, by a first-order filter
    a = math.exp(-1.0 / length)
    e = rng.normal(size=n) * math.sqrt(1 - a * a)
    out = np.empty(n)
    out[0] = rng.normal()
    for i in range(1, n):
        out[i] = a * out[i - 1] + e[i]
    return out


def _noise(p: np.ndarray, rng: np.random.Generator, kind: str, level: float,
           order: np.ndarray) -> np.ndarray:
    """``p`` plus technical noise of ``kind`` (in acquisition ``order``, 0 … 1)."""
    n = len(p)
    white = rng.normal(0, level, n)
    if kind in ("pink", "walk", "ou"):
        return p + rng.uniform(0.2, 0.7) * white + level * _correlated(n, rng, kind)
    if kind == "offset_drift":
        c = rng.uniform(0.5, 3) * level * rng.choice([-1, 1])
        q = rng.uniform(-2, 2) * level
        return p + white + c * (order - 0.5) + q * (order - 0.5) ** 2
    if kind == "gain_drift":
        return 0.5 + (p - 0.5) * (1 + rng.uniform(-0.1, 0.1) * (order - 0.5) * 2) + white
    if kind == "student":
        dof = rng.uniform(2.2, 5)
        return p + level * rng.standard_t(dof, n) / math.sqrt(dof / (dof - 2))
    if kind == "laplace":
        return p + level * rng.laplace(0, 1 / math.sqrt(2), n)
    if kind == "bursts":   # runs of 1-4 adjacent points 4-10 sigma off
        y = p + white
        for _ in range(int(rng.integers(1, 4))):
            start, length = int(rng.integers(0, n)), int(rng.integers(1, 5))
            y[start:start + length] += level * rng.uniform(4, 10) * rng.choice([-1, 1])
        return y
    if kind == "pickup":   # a sinusoidal interference in acquisition order
        cycles = rng.uniform(1.5, max(0.3 * n, 2.0))
        return p + white + rng.uniform(0.5, 2) * level * np.sin(
            2 * np.pi * cycles * order + rng.uniform(0, 2 * np.pi))
    return p + white


def _background(u: np.ndarray, rng: np.random.Generator, scale: float, ripple: bool
                ) -> np.ndarray:
    """A slow background over the normalised sweep ``u``: linear, quadratic or a standing
    wave (``ripple``), of size ``scale``."""
    kind = "ripple" if ripple else str(rng.choice(["none", "linear", "quadratic"]))
    if kind == "linear":
        return scale * rng.uniform(-1, 1) * (u - 0.5)
    if kind == "quadratic":
        return scale * rng.uniform(-1, 1) * ((u - 0.5) ** 2 - 1 / 12) * 4
    if kind == "ripple":
        return scale * np.sin(2 * np.pi * u / rng.uniform(0.3, 2.0) + rng.uniform(0, 6.3))
    return np.zeros_like(u)


def _line(x: np.ndarray, center: float, width: float, rng: np.random.Generator) -> np.ndarray:
    half = width / 2
    lor = half**2 / ((x - center) ** 2 + half**2)
    gau = np.exp(-4 * math.log(2) * (x - center) ** 2 / width**2)
    shape = str(rng.choice(["lorentz", "gauss", "voigt", "fano"]))
    if shape == "gauss":
        return gau
    if shape == "voigt":
        eta = rng.uniform(0.1, 0.9)
        return eta * lor + (1 - eta) * gau
    if shape == "fano":
        q = rng.uniform(0.1, 0.6) * rng.choice([-1, 1])
        return lor + q * half * (x - center) / ((x - center) ** 2 + half**2)
    return lor


def _spectroscopy(mode: str, n: int, rng: np.random.Generator, layout: str
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, float], dict[str, Any]]:
    f0, width = float(rng.uniform(4e9, 7e9)), float(rng.uniform(0.2e6, 5e6))
    span = width * rng.uniform(6, 30)
    n = max(n, int(2.5 * span / width))
    if mode == "undersampled":
        n = int(rng.integers(6, 12))
    u = _unit_layout(n, rng, layout if mode != "undersampled" else "uniform")
    x = f0 - span / 2 + span * u
    if mode == "undersampled":
        width = span / (n - 1) * rng.uniform(0.15, 0.5)
    center = f0 + rng.uniform(-0.3, 0.3) * span
    if mode == "off_range":
        center = f0 + rng.choice([-1, 1]) * span * rng.uniform(0.52, 0.8)
    amp = rng.uniform(0.2, 0.7) * rng.choice([-1, 1])
    ripple = rng.random() < 0.35
    bg = 0.5 + _background(u, rng, abs(amp) * rng.uniform(0.02, 0.15), ripple)
    line = _line(x, center, width, rng)
    if mode == "anomalous":
        if rng.random() < 0.5:   # split (two lines) or a second line
            split = rng.uniform(1.8, 5.0) * width
            line = 0.5 * (_line(x, center - split / 2, width, rng)
                          + _line(x, center + split / 2, width, rng))
        else:                    # the line jumps during the sweep
            cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
            moved = center + rng.choice([-1, 1]) * rng.uniform(0.15, 0.35) * span
            line = line.copy()
            line[cut:] = _line(x[cut:], moved, width, rng)
    p = bg + amp * line
    if mode == "no_signal":
        p = 0.5 + _background(u, rng, abs(amp) * rng.uniform(0.0, 0.1), ripple)
    return x, p, {"center": center}, {}


def _rabi(mode: str, n: int, rng: np.random.Generator, layout: str):
    api = float(rng.uniform(0.05, 0.8))
    phase = float(rng.uniform(-0.35, 0.35))
    damping = float(rng.uniform(0, 0.7) / api) if rng.random() < 0.7 else 0.0
    top = api * rng.uniform(1.6, 4.0)
    if mode == "off_range":
        top = api * rng.uniform(0.3, 0.75)
    if mode == "undersampled":
        n, layout = int(rng.integers(4, 6)), "uniform"
    x = top * _unit_layout(n, rng, layout)
    xa = x.copy()
    if mode == "anomalous":   # the Rabi rate changes part-way (a drive that jumps or droops)
        cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
        xa[cut:] = x[cut] + (x[cut:] - x[cut]) / rng.uniform(1.5, 2.5) * rng.choice([1, -1])
    c, off = rng.uniform(0.5, 0.95), rng.uniform(0, 0.1)
    p = off + c / 2 * (1 - np.exp(-damping * np.abs(xa)) * np.cos(phase + (np.pi - phase)
                                                                  * xa / api))
    if mode == "no_signal":
        p = off + _background(x / top, rng, rng.uniform(0, 0.03), rng.random() < 0.3)
    return x, p, {"pi_amplitude": api}, {}


def _ramsey(mode: str, n: int, rng: np.random.Generator, layout: str):
    det = float(rng.uniform(0.2e6, 3e6))
    t2 = float(rng.uniform(3e-6, 100e-6))
    f = det * (1 + rng.uniform(-0.05, 0.05))
    top = min(rng.uniform(0.8, 3.0) * t2, rng.uniform(5, 40) / f)
    zero = mode in ("ok", "no_signal", "off_range") and rng.random() < 0.2
    if zero:   # no artificial detuning: a decay (off range: far too short a window)
        det, f = 0.0, float(rng.uniform(0, 0.1) / t2)
        top = t2 * (rng.uniform(1.5, 4.0) if mode != "off_range" else rng.uniform(0.05, 0.2))
    lo = top * rng.uniform(0, 0.05)
    n = max(n, int(3 * (top - lo) * f * 2) + 4)
    if mode == "undersampled" and not zero:   # aliased
        n, layout = max(int((top - lo) * f / rng.uniform(0.55, 0.95)), 6), "uniform"
    if mode == "off_range" and not zero:   # less than a fringe in the window
        top = rng.uniform(0.2, 0.6) / f
        lo = 0.0
    x = lo + (top - lo) * _unit_layout(n, rng, layout)
    amp, ph = rng.uniform(0.3, 0.5), rng.uniform(-0.4, 0.4)
    phase = 2 * np.pi * f * x
    if mode == "anomalous":
        pick = rng.integers(3)
        if pick == 0:     # chirp: the frequency drifts along the sweep
            k = rng.uniform(0.2, 0.6) * rng.choice([-1, 1])
            phase = 2 * np.pi * f * x * (1 + k * (x - lo) / (top - lo))
        elif pick == 1:   # a frequency jump
            cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
            phase = phase.copy()
            phase[cut:] = 2 * np.pi * f * rng.uniform(1.25, 1.8) * x[cut:]
        else:             # beating of two frequencies
            f2 = f * (1 + rng.uniform(0.25, 0.7))
            p = 0.5 + amp * np.exp(-x / t2) * 0.5 * (np.cos(phase + ph)
                                                     + np.cos(2 * np.pi * f2 * x + ph))
    if not (mode == "anomalous" and pick == 2):
        p = 0.5 + amp * np.exp(-x / t2) * np.cos(phase + ph)
    if mode == "no_signal":
        p = 0.5 + _background(x / top, rng, rng.uniform(0, 0.03), rng.random() < 0.3)
    truth = {"frequency": abs(f)} if det else {"t2": t2}
    return x, p, truth, {"detuning": det}


def _decay(kind: str, mode: str, n: int, rng: np.random.Generator, layout: str):
    tau = float(rng.uniform(5e-6, 300e-6))
    top = tau * rng.uniform(2.5, 8)
    if mode == "off_range":
        top = tau * rng.uniform(0.03, 0.25)
    if mode == "undersampled":
        n, layout = int(rng.integers(4, 7)), "uniform"
    u = _unit_layout(n, rng, layout)
    x = top * (rng.uniform(0, 0.02) + u * (1 - 0.0))
    a, off = rng.uniform(0.4, 0.95), rng.uniform(0, 0.12)
    if kind == "echo":
        a, off = -a / 2, 0.5
    p = off + a * np.exp(-x / tau)
    if mode == "anomalous":
        pick = rng.integers(3)
        cut = int(rng.integers(max(len(x) // 8, 1), 2 * len(x) // 3))
        if pick == 0:     # the decay rate jumps part-way
            p[cut:] = off + a * np.exp(-x[cut] / tau - (x[cut:] - x[cut]) / (
                tau * rng.uniform(0.1, 0.3)))
        elif pick == 1:   # a fluctuator resets the population part-way
            p[cut:] = np.clip(p[cut:] + rng.uniform(0.2, 0.4) * np.sign(0.5 - p[cut:]), 0, 1)
        else:             # two populations
            w, r = rng.uniform(0.3, 0.7), rng.uniform(3, 15)
            p = off + a * ((1 - w) * np.exp(-x / tau) + w * np.exp(-x * r / tau))
    if mode == "no_signal":
        p = off + _background(u, rng, rng.uniform(0, 0.03), rng.random() < 0.3) + \
            (a * 0.5 if rng.random() < 0.5 else 0.0)
    return x, p, {"tau": tau}, {}


def make_wide_case(kind: str, mode: str, rng: np.random.Generator) -> Case:
    """One wide-train case of ``kind`` in ``mode`` (see the module)."""
    layout = str(rng.choice(LAYOUTS))
    n = int(math.exp(rng.uniform(math.log(12), math.log(300))))
    if kind == "spectroscopy":
        x, p, truth, settings = _spectroscopy(mode, n, rng, layout)
    elif kind == "rabi":
        x, p, truth, settings = _rabi(mode, n, rng, layout)
    elif kind == "ramsey":
        x, p, truth, settings = _ramsey(mode, n, rng, layout)
    else:
        x, p, truth, settings = _decay(kind, mode, n, rng, layout)
    descending = rng.random() < 0.3
    order = np.linspace(0, 1, len(x))[::-1] if descending else np.linspace(0, 1, len(x))
    noises = [str(rng.choice(NOISES))]
    if rng.random() < 0.3:
        noises.append(str(rng.choice(NOISES[1:])))
    level = float(math.exp(rng.uniform(math.log(0.003), math.log(0.08))))
    shots = None
    if noises[0] == "binomial":
        shots = int(math.exp(rng.uniform(math.log(10), math.log(3000))))
        y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
        stype = "population"
        for k in noises[1:]:
            y = _noise(y, rng, k, level * 0.5, order)
    else:
        y = p
        for k in noises:
            y = _noise(y, rng, k, level / math.sqrt(len(noises)), order)
        stype = str(rng.choice(["population", "magnitude", "magnitude", "phase", "iq"]))
    if stype in ("magnitude", "phase"):
        gain = math.exp(rng.uniform(math.log(1e-3), math.log(1e2))) * rng.choice([-1, 1])
        y = rng.normal(0, 10) * abs(gain) + gain * y
    elif stype == "iq":
        c0 = complex(*rng.normal(0, 1, 2))
        d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
        y = c0 + d * y + 1j * d / abs(d) * abs(d) * rng.normal(0, level, len(y))
    if descending:
        x, y = x[::-1], y[::-1]
    xs, unit = _to_units(x, kind, rng)
    return Case(kind, mode, f"{kind}/train_wide", xs, np.asarray(y), stype, unit, shots,
                settings, truth if mode == "ok" else {}, "+".join(noises))


def wide_train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` cases of every sweep kind × :data:`WIDE_MODES` from the wide families."""
    rng = np.random.default_rng(seed)
    return [make_wide_case(k, m, rng) for k in SWEEP_KINDS for m in WIDE_MODES
            for _ in range(per_cell)]
