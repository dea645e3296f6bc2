"""The fifth generation of held-out families: sweeps kept blind while the gate and the fits
were tuned in session 5.

The fourth generation (:mod:`qplane.calibration.domain_gen4`) was looked at in session 5's
planning, so it no longer measures transfer honestly. These families were written and
committed *before* anything was tuned or trained in session 5, with noises, sweep layouts,
shapes and bad-data kinds that neither the train families nor any earlier held-out generation
use:

- noises: random telegraph noise (a readout offset switching between two levels, Markov in
  acquisition order), multiplicative (gain) noise on the signal, ADC quantisation, two
  interleaved acquisition passes with an offset and rotation step between them (IQ), and
  heteroscedastic Gaussian noise whose per-point ``sigma`` is *given* to the analysis;
- layouts: shuffled acquisition order (the sweep arrives unsorted), every point measured
  2–3 times (repeats), a sweep with a gap (30–45 % of the range missing), a layout dense at
  the window's centre (``sinh``), a delay sweep that starts late (0.3–0.8 decay constants);
- shapes: a line on a curved (quadratic) background, a Rabi whose drive compresses at high
  amplitude (``tanh``), a Ramsey with a Gaussian envelope;
- bad data: an aliased Rabi (the step longer than half a Rabi period: under-sampled), a line
  whose centre lies just outside the window (only its tail shows: off range), a Ramsey whose
  readout drops out part-way (anomalous), an echo window 25–60 decay constants long (off
  range), a flat Rabi with telegraph noise only (no signal), a T1 with a coherent oscillation
  on its decay (anomalous).

>>> cases = gen5_set(1, seed=0)
>>> len(cases) == len(GEN5), all(c.family in GEN5 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _to_units

#: family -> (kind, mode)
GEN5 = {
    "spectroscopy/curved_sigma": ("spectroscopy", "ok"),
    "rabi/compressed_telegraph": ("rabi", "ok"),
    "ramsey/gauss_repeats": ("ramsey", "ok"),
    "t1/gap_quantised": ("t1", "ok"),
    "echo/two_pass_late": ("echo", "ok"),
    "rabi/aliased": ("rabi", "undersampled"),
    "spectroscopy/edge_tail": ("spectroscopy", "off_range"),
    "ramsey/dropout": ("ramsey", "anomalous"),
    "echo/too_long": ("echo", "off_range"),
    "rabi/dead_telegraph": ("rabi", "no_signal"),
    "t1/oscillating": ("t1", "anomalous"),
}


def _telegraph(n: int, rng: np.random.Generator, dwell: float) -> np.ndarray:
    """A two-level (±1) Markov signal with a mean dwell of ``dwell`` points."""
    flips = rng.random(n) < 1.0 / dwell
    flips[0] = False
    return rng.choice([-1.0, 1.0]) * np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0)


def _gain(y: np.ndarray, rng: np.random.Generator, sigma: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray | None]:
    """A magnitude reading of ``y`` with a random gain, sign and offset (and ``sigma`` with it)."""
    gain = math.exp(rng.uniform(math.log(1e-3), math.log(1e2))) * rng.choice([-1, 1])
    out = rng.normal(0, 10) * abs(gain) + gain * y
    return out, (None if sigma is None else abs(gain) * sigma)


def _sinh_layout(lo: float, hi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Points dense at the window's centre, sparse at its edges."""
    k = rng.uniform(1.5, 2.5)
    u = np.sinh(k * np.linspace(-1, 1, n)) / math.sinh(k)
    return (lo + hi) / 2 + (hi - lo) / 2 * u


def _spectroscopy(family: str, rng: np.random.Generator) -> tuple[Any, ...]:
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 4e6))
    half = width / 2
    span = width * rng.uniform(10, 20)
    depth = rng.uniform(0.3, 0.7) * rng.choice([-1, 1])
    sigma = None
    if family == "spectroscopy/curved_sigma":
        n = int(rng.integers(60, 161))
        x = _sinh_layout(f0 - span / 2, f0 + span / 2, n, rng)
        center = f0 + rng.uniform(-0.2, 0.2) * span
        u = (x - f0) / (span / 2)
        bg = 0.5 + rng.uniform(0.05, 0.15) * abs(depth) * rng.choice([-1, 1]) * u**2
        line = depth * half**2 / ((x - center) ** 2 + half**2)
        # heteroscedastic: the averaging time changes along the sweep; sigma is given
        s = rng.uniform(0.01, 0.03) * np.exp(rng.uniform(-0.7, 0.7) * np.linspace(-1, 1, n))
        y, sigma = _gain(bg + line + rng.normal(size=n) * s, rng, s)
        return x, y, "magnitude", None, {"center": center}, "heteroscedastic_sigma", sigma
    # edge_tail: the centre 0.5-2 linewidths beyond the window's edge
    n = int(rng.integers(40, 121))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    side = rng.choice([-1, 1])
    center = f0 + side * (span / 2 + rng.uniform(0.5, 2.0) * width)
    bg = 0.5 + rng.uniform(-0.05, 0.05) * (x - f0) / span
    p = bg + depth * half**2 / ((x - center) ** 2 + half**2)
    y = p * (1 + rng.uniform(0.01, 0.03) * rng.normal(size=n)) + rng.normal(0, 0.005, n)
    y, _ = _gain(y, rng)
    return x, y, "magnitude", None, {}, "multiplicative", None


def _rabi(family: str, rng: np.random.Generator) -> tuple[Any, ...]:
    api = float(rng.uniform(0.05, 0.8))
    c, off = rng.uniform(0.6, 0.95), rng.uniform(0, 0.08)
    if family == "rabi/aliased":   # the step 1.15-1.8 pi amplitudes: the fringes alias
        step = api * rng.uniform(1.15, 1.8)
        n = int(rng.integers(9, 17))
        x = np.arange(n) * step
        p = off + c / 2 * (1 - np.cos(np.pi * x / api))
        shots = int(rng.integers(200, 1001))
        y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
        return x, y, "population", shots, {}, "binomial", None
    n = int(rng.integers(30, 91))
    x = np.linspace(0, api * rng.uniform(2.0, 3.0), n)
    level = float(rng.uniform(0.005, 0.02))
    telegraph = rng.uniform(1.0, 2.5) * level * _telegraph(n, rng, rng.uniform(3, 15))
    if family == "rabi/dead_telegraph":   # nothing but a switching readout offset
        y = off + 0.5 * c * rng.uniform(0, 1) + telegraph + rng.normal(0, level, n)
        order = rng.permutation(n)
        return x[order], y[order], "population", None, {}, "telegraph", None
    # compressed drive: the rotation angle saturates as tanh(x / xs), xs 8-15 pi amplitudes
    phase = float(rng.uniform(0, 0.2) * rng.choice([-1, 1]))
    damping = float(rng.uniform(0, 0.4) / api)
    xs = api * rng.uniform(8, 15)
    g = np.tanh(x / xs) / math.tanh(api / xs)
    theta = phase + (np.pi - phase) * g
    p = off + c / 2 * (1 - np.exp(-damping * x) * np.cos(theta))
    y = p + telegraph + rng.normal(0, level, n)   # telegraph in acquisition order ...
    order = rng.permutation(n)                       # ... which is shuffled
    return x[order], y[order], "population", None, {"pi_amplitude": api}, "telegraph", None


def _ramsey(family: str, rng: np.random.Generator) -> tuple[Any, ...]:
    det = float(rng.uniform(0.4e6, 2.5e6))
    f = det + float(rng.uniform(-0.03, 0.03) * det)
    amp, ph = rng.uniform(0.35, 0.5), rng.uniform(-0.3, 0.3)
    settings = {"detuning": det}
    if family == "ramsey/gauss_repeats":
        t2 = float(rng.uniform(8e-6, 50e-6))
        top = min(rng.uniform(1.0, 2.0) * t2, rng.uniform(8, 30) / f)
        m = max(int(rng.integers(30, 80)), int(4 * top * f))
        reps = int(rng.integers(2, 4))
        x = np.repeat(np.linspace(0, top, m), reps)
        p = 0.5 + amp * np.exp(-(x / t2) ** 2) * np.cos(2 * np.pi * f * x + ph)
        level = float(rng.uniform(0.005, 0.02))
        y = p * (1 + rng.uniform(0.01, 0.04) * rng.normal(size=len(x))) + \
            rng.normal(0, level, len(x))
        y, _ = _gain(y, rng)
        return x, y, "magnitude", None, {"frequency": abs(f)}, "multiplicative", None, settings
    # dropout: a long-lived fringe whose readout goes flat after 40-70 % of the sweep
    t2 = float(rng.uniform(40e-6, 100e-6))
    top = rng.uniform(8, 20) / f
    n = max(int(rng.integers(60, 150)), int(5 * top * f))
    x = np.linspace(0, top, n)
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * np.pi * f * x + ph)
    cut = int(n * rng.uniform(0.4, 0.7))
    p[cut:] = 0.5 + rng.choice([-1, 1]) * rng.uniform(0.15, 0.3)
    shots = int(rng.integers(200, 1001))
    y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
    return x, y, "population", shots, {}, "binomial", None, settings


def _quantise(y: np.ndarray, step: float) -> np.ndarray:
    return np.round(y / step) * step


def _decay(family: str, rng: np.random.Generator) -> tuple[Any, ...]:
    tau = float(rng.uniform(10e-6, 200e-6))
    a, off = rng.uniform(0.5, 0.95), rng.uniform(0, 0.1)
    kind = family.split("/")[0]
    if kind == "echo":
        a, off = -a / 2, 0.5
    level = float(rng.uniform(0.005, 0.02))
    if family == "t1/gap_quantised":
        n = int(rng.integers(40, 121))
        top = tau * rng.uniform(4, 6)
        x = np.linspace(0, top, n)
        start = rng.uniform(0.25, 0.45) * top
        x = x[(x < start) | (x > start + rng.uniform(0.3, 0.45) * top)]
        p = off + a * np.exp(-x / tau)
        y = _quantise(p + rng.normal(0, level, len(x)), level * rng.uniform(0.5, 1.5))
        y, _ = _gain(y, rng)
        return x, y, "magnitude", None, {"tau": tau}, "quantised", None
    if family == "t1/oscillating":   # a coherent exchange with a TLS on top of the decay
        n = int(rng.integers(40, 121))
        x = np.linspace(0, tau * rng.uniform(3, 5), n)
        m, period = rng.uniform(0.25, 0.45), tau * rng.uniform(0.4, 1.0)
        p = off + a * np.exp(-x / tau) * (1 + m * np.cos(2 * np.pi * x / period +
                                                         rng.uniform(0, 2 * np.pi)))
        y = p + rng.normal(0, level, n)
        return x, y, "population", None, {}, "gaussian", None
    if family == "echo/too_long":   # 25-60 decay constants: the decay is in 1-2 points
        n = int(rng.integers(25, 61))
        x = np.linspace(0, tau * rng.uniform(25, 60), n)
    else:   # two_pass_late: the first delay 0.3-0.8 decay constants in
        n = int(rng.integers(30, 100))
        x = np.linspace(tau * rng.uniform(0.3, 0.8), tau * rng.uniform(4, 6), n)
    p = off + a * np.exp(-x / tau)
    # averaged IQ in two interleaved passes, an offset and rotation step between them
    c0 = complex(*rng.normal(0, 1, 2))
    d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    second = (np.arange(n) % 2 == 1)
    step = rng.uniform(0.5, 1.5) * level * rng.choice([-1, 1])
    rot = np.where(second, np.exp(1j * rng.uniform(0.01, 0.04) * rng.choice([-1, 1])), 1.0)
    z = c0 + d * rot * (p + step * second) + abs(d) * level * (rng.normal(size=n)
                                                                 + 1j * rng.normal(size=n))
    truth = {"tau": tau} if family == "echo/two_pass_late" else {}
    return x, z, "iq", None, truth, "iq_two_pass", None


def make_gen5_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a fifth-generation held-out ``family`` (see :data:`GEN5`)."""
    kind, mode = GEN5[family]
    settings: dict[str, Any] = {}
    if kind == "spectroscopy":
        x, signal, stype, shots, truth, noise, sigma = _spectroscopy(family, rng)
    elif kind == "rabi":
        x, signal, stype, shots, truth, noise, sigma = _rabi(family, rng)
    elif kind == "ramsey":
        x, signal, stype, shots, truth, noise, sigma, settings = _ramsey(family, rng)
    else:
        x, signal, stype, shots, truth, noise, sigma = _decay(family, rng)
    if sigma is not None:
        settings["sigma"] = sigma
    xs, unit = _to_units(np.asarray(x, dtype=float), kind, rng)
    if mode != "ok":
        truth = {}
    return Case(kind, mode, family, xs, np.asarray(signal), stype, unit, shots, settings,
                truth, noise)


def gen5_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every fifth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen5_case(f, rng) for f in GEN5 for _ in range(per_family)]
