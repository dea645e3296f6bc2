"""The robust train families (session 6): bad-data modes and noise types randomised as physics.

Session 5's blind generation showed the second opinion failing on bad-data *kinds* that no train
family labelled (an aliased Rabi, a decay window far too long) and noises it had never seen.
These families (``{kind}/train_robust``) draw every failure mode in several physical variants,
each with random parameters, so that a mode is learned as physics rather than as one layout:

- ``undersampled``: too few points, or a uniform step of 0.55–0.95 or 1.05–1.9 half-periods
  (oscillations: the fringes alias), or a line narrower than 1–4 steps;
- ``off_range``: the feature outside the window (a line 0.2–4 linewidths beyond either edge or
  far beyond; less than a π amplitude or a fringe), a decay window far too short (0.03–0.25
  decay constants) or far too long (12–100 decay constants, the decay in the first points);
- ``anomalous``: a readout that drops out part-way (the signal goes flat at a random level), a
  jump, a split or second line, a changing Rabi rate, a chirp or beating, a rate change, a
  reset, two populations, a coherent oscillation on a decay;
- ``no_signal``: a flat signal with a background, a drift or a switching offset only;
- ``ok``: lines on flat, sloped, curved or rippled backgrounds (four shapes), Rabi with phase,
  damping and a drive nonlinearity, Ramsey with an exponential to Gaussian envelope, decays
  that start 0–1 decay constants late.

Noises (one or two at a time, levels 0.3–8 %): those of :mod:`~qplane.calibration.domain_wide`
plus random telegraph offsets (two levels, Markov dwell 2–30 points), multiplicative gain
noise, ADC quantisation, heteroscedastic noise (its per-point σ given to the analysis half of
the time), two interleaved passes with an offset step; layouts: those of the wide families plus
dense at the centre, repeated points and a shuffled acquisition order; signals read as a
population (binomial shots), a magnitude or phase with a random gain and offset, or averaged IQ.

>>> cases = robust_train_set(1, seed=0)
>>> len(cases), sorted({c.mode for c in cases})[:2]
(25, ['anomalous', 'no_signal'])
"""

from __future__ import annotations

import math

import numpy as np

from qplane.calibration.domain import SWEEP_KINDS, Case, _to_units
from qplane.calibration.domain_wide import LAYOUTS, _background, _line, _noise, _unit_layout

MODES = ("ok", "off_range", "undersampled", "anomalous", "no_signal")
TRAIN_FAMILIES = {k: (f"{k}/train_robust",) for k in SWEEP_KINDS}
#: noises of this module, besides those of the wide families
NEW_NOISES = ("telegraph", "multiplicative", "quantised", "heteroscedastic", "two_pass")
NOISES = ("binomial", "gaussian", "pink", "walk", "ou", "offset_drift", "student", "bursts",
          "pickup") + NEW_NOISES
ROBUST_LAYOUTS = LAYOUTS + ("dense_center", "repeats", "shuffled")
#: the session-7 families' noises: photon counts and single-shot assignment errors too
EXTENDED_NOISES = NOISES + ("poisson", "spam")


def _layout(n: int, rng: np.random.Generator, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Normalised sweep points in [0, 1] and the acquisition order (0 … 1) of each."""
    if layout == "dense_center":
        v = np.linspace(-1, 1, n)
        u = 0.5 + 0.5 * np.sign(v) * np.abs(v) ** rng.uniform(1.5, 3.0)
    elif layout == "repeats":
        reps = int(rng.integers(2, 5))
        u = np.repeat(np.linspace(0, 1, max(n // reps, 4)), reps)
    else:
        u = _unit_layout(n, rng, layout)
    order = np.linspace(0, 1, len(u))
    if layout == "shuffled":
        order = rng.permutation(len(u)) / max(len(u) - 1, 1)
    return u, order


def _aliasing_step(rng: np.random.Generator) -> float:
    """A uniform step in half-periods that aliases (never near a whole period)."""
    return float(rng.uniform(0.55, 0.95) if rng.random() < 0.4 else rng.uniform(1.05, 1.9))


def _dropout(p: np.ndarray, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The readout goes flat from a random point of the acquisition on."""
    lo, hi = float(np.min(p)), float(np.max(p))
    level = rng.uniform(lo - 0.3 * (hi - lo), hi + 0.3 * (hi - lo))
    out = p.copy()
    out[order >= rng.uniform(0.3, 0.8)] = level
    return out


def _pulsed_line(x: np.ndarray, center: float, width: float, rng: np.random.Generator
                 ) -> np.ndarray:
    """The line of a rectangular drive pulse of area 0.5-1 pi (the Rabi formula: a main lobe
    about ``width`` wide with side lobes), peak 1 at ``center``."""
    rabi = width / 1.6
    t = rng.uniform(0.5, 1.0) * math.pi / (2 * math.pi * rabi)
    w, dw = 2 * math.pi * rabi, 2 * math.pi * (x - center)
    weff = np.sqrt(w**2 + dw**2)
    p = w**2 / weff**2 * np.sin(weff * t / 2) ** 2
    return p / (math.sin(w * t / 2) ** 2 or 1.0)


def _spectroscopy(mode: str, n: int, rng: np.random.Generator, extended: bool = False):
    width = float(rng.uniform(0.2e6, 5e6))
    span = width * rng.uniform(6, 30)
    n = max(n, int(2.5 * span / width))
    if extended:   # very fine surveys too (up to 1000 points)
        n = min(n, 1000)
    if mode == "undersampled":
        n = max(int(span / (width * rng.uniform(1.0, 4.0))), 5)
        layout = "uniform"
    else:
        layout = str(rng.choice(ROBUST_LAYOUTS))
    u, order = _layout(n, rng, layout)
    f0 = float(rng.uniform(4e9, 7e9))
    x = f0 - span / 2 + span * u
    center = f0 + rng.uniform(-0.3, 0.3) * span
    if mode == "off_range":
        side = rng.choice([-1, 1])
        beyond = rng.uniform(0.2, 4.0) * width if rng.random() < 0.6 else \
            rng.uniform(0.05, 0.4) * span
        center = f0 + side * (span / 2 + beyond)
    amp = rng.uniform(0.15, 0.7) * rng.choice([-1, 1])
    bg = 0.5 + _background(u, rng, abs(amp) * rng.uniform(0.02, 0.3), rng.random() < 0.25)
    line = _line(x, center, width, rng)
    if extended and rng.random() < 0.25:
        line = _pulsed_line(x, center, width, rng)
    if mode == "anomalous":
        pick = int(rng.integers(4 if extended else 3))
        if pick == 0:
            split = rng.uniform(1.8, 5.0) * width
            line = 0.5 * (_line(x, center - split / 2, width, rng)
                          + _line(x, center + split / 2, width, rng))
        elif pick == 1:
            moved = center + rng.choice([-1, 1]) * rng.uniform(0.15, 0.35) * span
            line = np.where(order >= rng.uniform(0.3, 0.7), _line(x, moved, width, rng), line)
        elif pick == 2:
            return x, _dropout(bg + amp * line, order, rng), order, {"center": center}, {}
        else:   # a second line anywhere in the window (a two-photon or a TLS line), of
            # another width and 0.3-1 times as high: which one is the qubit is ambiguous
            other = f0 + rng.uniform(-0.45, 0.45) * span
            while abs(other - center) < 3 * width:
                other = f0 + rng.uniform(-0.45, 0.45) * span
            line = line + rng.uniform(0.3, 1.0) * _line(x, other, width * rng.uniform(0.3, 1.5),
                                                        rng)
    p = bg + amp * line
    if mode == "no_signal":
        p = 0.5 + _background(u, rng, abs(amp) * rng.uniform(0.0, 0.1), rng.random() < 0.3)
    if extended and rng.random() < 0.3:   # swept as a detuning from the drive's LO
        return x - f0, p, order, {"center": center - f0}, {}
    return x, p, order, {"center": center}, {}


def _rabi(mode: str, n: int, rng: np.random.Generator, extended: bool = False):
    api = float(rng.uniform(0.05, 0.8))
    top = api * rng.uniform(1.6, 4.0)
    layout = str(rng.choice(ROBUST_LAYOUTS))
    if mode == "off_range":
        top = api * rng.uniform(0.3, 0.75)
    coarse = extended and mode not in ("undersampled", "off_range") and rng.random() < 0.25
    if coarse:   # 8-14 points, at least 4 per pi amplitude: coarse but resolved
        n, layout = int(rng.integers(8, 15)), "uniform"
        top = api * rng.uniform(1.6, max(1.7, (n - 1) / 4))
    elif extended and mode != "undersampled":   # at least 4 points per pi amplitude
        n = max(n, int(4 * top / api) + 2)
    u, order = _layout(n, rng, layout)
    if mode == "undersampled":
        if rng.random() < 0.7:
            m = int(rng.integers(8, 30))
            u = np.arange(m) * _aliasing_step(rng) * api
            top = float(u[-1])
            u = u / top
        else:
            u = np.linspace(0, 1, int(rng.integers(4, 6)))
        order = np.linspace(0, 1, len(u))
    x = top * u
    if extended and mode != "undersampled" and rng.random() < 0.3:
        x = top * (2 * u - 1)   # -A ... +A (the default of common open frameworks)
        order = order if layout == "shuffled" else np.linspace(0, 1, len(u))
    phase = float(rng.uniform(-0.35, 0.35))
    damping = float(rng.uniform(0, 0.7) / api) if rng.random() < 0.6 else 0.0
    k = float(rng.uniform(-0.12, 0.08)) if rng.random() < 0.4 else 0.0   # drive nonlinearity
    r = x / api
    theta = phase + (math.pi - phase) * r * (1 + k * (r - 1))
    rate_change = mode == "anomalous" and rng.random() < 0.6
    if rate_change:   # the Rabi rate changes part-way
        cut = rng.uniform(0.3, 0.7)
        xa = np.where(order >= cut, x * rng.uniform(0.4, 0.7), x)
        theta = phase + (math.pi - phase) * xa / api
    c, off = rng.uniform(0.5, 0.95), rng.uniform(0, 0.1)
    p = off + c / 2 * (1 - np.exp(-damping * np.abs(x)) * np.cos(theta))
    if mode == "anomalous" and not rate_change:
        if extended and rng.random() < 0.4:   # the readout saturates: flat-topped fringes
            lo, hi = float(p.min()), float(p.max())
            cut = rng.uniform(0.25, 0.5) * (hi - lo)
            p = np.clip(p, lo + cut, hi) if rng.random() < 0.5 else np.clip(p, lo, hi - cut)
        else:
            p = _dropout(p, order, rng)
    if mode == "no_signal":
        p = off + c / 2 * rng.uniform(0, 1) + _background(u, rng, rng.uniform(0, 0.03),
                                                          rng.random() < 0.3)
    return x, p, order, {"pi_amplitude": api}, {}


def _ramsey(mode: str, n: int, rng: np.random.Generator, extended: bool = False):
    det = float(rng.uniform(0.2e6, 3e6))
    t2 = float(rng.uniform(3e-6, 100e-6))
    f = det * (1 + rng.uniform(-0.05, 0.05))
    top = min(rng.uniform(0.8, 3.0) * t2, rng.uniform(5, 40) / f)
    if mode == "off_range":
        top = rng.uniform(0.2, 0.6) / f
    n = max(n, int(6 * top * f) + 4)
    u, order = _layout(n, rng, str(rng.choice(ROBUST_LAYOUTS)))
    if mode == "undersampled":
        m = int(rng.integers(10, 60))
        u = np.arange(m) * _aliasing_step(rng) / (2 * f)
        top = float(u[-1])
        u = u / top
        order = np.linspace(0, 1, m)
    x = top * u
    if extended and mode != "undersampled" and rng.random() < 0.3:   # a first delay > 0
        x = x + rng.uniform(0.0, 0.15) * top
    beta = float(rng.uniform(1.0, 2.0)) if rng.random() < 0.4 else 1.0
    env = rng.uniform(0.3, 0.5) * np.exp(-(x / t2) ** beta)
    ph = rng.uniform(-0.4, 0.4)
    phase = 2 * np.pi * f * x
    if mode == "anomalous":
        pick = int(rng.integers(4))
        if pick == 0:
            phase = phase * (1 + rng.uniform(0.2, 0.6) * rng.choice([-1, 1]) * u)
        elif pick == 1:
            phase = np.where(order >= rng.uniform(0.3, 0.7), phase * rng.uniform(1.25, 1.8),
                             phase)
        elif pick == 2:
            f2 = f * (1 + rng.uniform(0.25, 0.7))
            p = 0.5 + env * 0.5 * (np.cos(phase + ph) + np.cos(2 * np.pi * f2 * x + ph))
            return x, p, order, {"frequency": abs(f)}, {"detuning": det}
        else:
            p = _dropout(0.5 + env * np.cos(phase + ph), order, rng)
            return x, p, order, {"frequency": abs(f)}, {"detuning": det}
    p = 0.5 + env * np.cos(phase + ph)
    if mode == "no_signal":
        p = 0.5 + _background(u, rng, rng.uniform(0, 0.03), rng.random() < 0.3)
    return x, p, order, {"frequency": abs(f)}, {"detuning": det}


def _decay(kind: str, mode: str, n: int, rng: np.random.Generator, extended: bool = False):
    tau = float(rng.uniform(5e-6, 300e-6))
    start = tau * rng.uniform(0, 1.0) if rng.random() < 0.3 else tau * rng.uniform(0, 0.02)
    top = tau * rng.uniform(2.5, 8)
    layout = str(rng.choice(ROBUST_LAYOUTS))
    if mode == "off_range":
        if rng.random() < 0.5:
            top, start = tau * rng.uniform(0.03, 0.25), 0.0
        else:
            top, start = tau * math.exp(rng.uniform(math.log(12), math.log(100))), 0.0
            n = max(int(rng.integers(12, 120)), 12)
            layout = str(rng.choice(["uniform", "uniform", "jitter", "repeats", "shuffled"]))
    if mode == "undersampled":
        n, layout = int(rng.integers(4, 7)), "uniform"
    u, order = _layout(n, rng, layout)
    x = start + (top - start) * u
    a, off = rng.uniform(0.4, 0.95), rng.uniform(0, 0.12)
    if kind == "echo":
        a, off = -a / 2, 0.5
    beta = 1.0
    if extended and kind == "echo" and rng.random() < 0.4:   # 1/f dephasing: compressed
        beta = float(rng.uniform(1.0, 1.6))
    elif extended and kind == "t1" and rng.random() < 0.3:   # a thermal excited population
        p_th = rng.uniform(0.05, 0.25)
        a, off = 1 - 2 * p_th, p_th
    p = off + a * np.exp(-(x / tau) ** beta)
    if mode == "anomalous":
        pick = int(rng.integers(6 if extended else 5))
        late = order >= rng.uniform(0.15, 0.65)
        if pick == 0:
            p = np.where(late, off + a * np.exp(-x / (tau * rng.uniform(0.1, 0.3))), p)
        elif pick == 1:
            p = np.where(late, p + rng.uniform(0.15, 0.4) * np.sign(0.5 - p), p)
        elif pick == 2:
            w, r = rng.uniform(0.3, 0.7), rng.uniform(3, 15)
            p = off + a * ((1 - w) * np.exp(-x / tau) + w * np.exp(-x * r / tau))
        elif pick == 3:   # a coherent exchange with a fluctuator on top of the decay
            m = rng.uniform(0.15, 0.5)
            p = off + a * np.exp(-x / tau) * (1 + m * np.cos(
                2 * np.pi * x / (tau * rng.uniform(0.2, 1.5)) + rng.uniform(0, 2 * np.pi)))
        elif pick == 4:
            p = _dropout(p, order, rng)
        else:   # collapses and revivals (a spin in a nuclear bath) at a Larmor period
            larmor = (x.max() - x.min()) / rng.uniform(3, 8)
            p = off + a * np.exp(-(x / tau) ** beta) * (
                1 - rng.uniform(0.6, 1.0) * np.sin(math.pi * x / larmor) ** 4)
    if mode == "no_signal":
        p = off + _background(u, rng, rng.uniform(0, 0.03), rng.random() < 0.3) + \
            (a * 0.5 if rng.random() < 0.5 else 0.0)
    return x, p, order, {"tau": tau}, {}


def _extra_noise(p: np.ndarray, rng: np.random.Generator, kind: str, level: float,
                 order: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``p`` with one noise of :data:`NOISES` (acquisition ``order``); the per-point σ when the
    noise is heteroscedastic and the σ is to be given."""
    n = len(p)
    if kind == "telegraph":
        rank = np.argsort(np.argsort(order))
        flips = rng.random(n) < 1.0 / rng.uniform(2, 30)
        state = np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0)[rank]
        return p + rng.uniform(0.5, 3) * level * state + rng.normal(0, level * 0.5, n), None
    if kind == "multiplicative":
        return p * (1 + rng.uniform(0.005, 0.05) * rng.normal(size=n)) + \
            rng.normal(0, level * 0.3, n), None
    if kind == "quantised":
        step = level * rng.uniform(0.3, 2.0)
        return np.round((p + rng.normal(0, level, n)) / step) * step, None
    if kind == "heteroscedastic":
        s = level * np.exp(rng.uniform(-1, 1) * np.linspace(-1, 1, n)[np.argsort(np.argsort(
            order))] if rng.random() < 0.5 else rng.uniform(-1, 1) * (order - 0.5) * 2)
        return p + s * rng.normal(size=n), (s if rng.random() < 0.5 else None)
    if kind == "two_pass":
        second = (np.argsort(np.argsort(order)) % 2 == 1)
        return p + rng.normal(0, level, n) + second * rng.uniform(0.5, 2) * level * \
            rng.choice([-1, 1]), None
    return _noise(p, rng, kind, level, order), None


def _counts(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photon counts: Poisson of a dark rate plus a bright rate times the population."""
    bright = math.exp(rng.uniform(math.log(20), math.log(5e4)))
    return rng.poisson(bright * (rng.uniform(0.02, 0.3) + np.clip(p, 0, None))).astype(float)


def _degrees(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phase readout in degrees near ±180, moving 5-60 degrees with the signal, wrapped."""
    lo, hi = np.nanpercentile(y, [2, 98])
    shift = rng.uniform(5, 60) * rng.choice([-1, 1]) / ((hi - lo) or 1.0)
    phi = 180 + rng.uniform(-30, 30) + shift * (y - lo)
    return (phi + 180) % 360 - 180


def make_robust_case(kind: str, mode: str, rng: np.random.Generator,
                     extended: bool = False) -> Case:
    """One robust-train case of ``kind`` in ``mode`` (see the module); ``extended``: the
    session-7 variants (:func:`robust2_train_set`)."""
    lo_n, hi_n = (8, 1000) if extended else (12, 300)
    n = int(math.exp(rng.uniform(math.log(lo_n), math.log(hi_n))))
    if kind == "spectroscopy":
        x, p, order, truth, settings = _spectroscopy(mode, n, rng, extended)
    elif kind == "rabi":
        x, p, order, truth, settings = _rabi(mode, n, rng, extended)
    elif kind == "ramsey":
        x, p, order, truth, settings = _ramsey(mode, n, rng, extended)
    else:
        x, p, order, truth, settings = _decay(kind, mode, n, rng, extended)
    pool = EXTENDED_NOISES if extended else NOISES
    noises = [str(rng.choice(pool))]
    if rng.random() < 0.35:
        noises.append(str(rng.choice(NOISES[1:])))
    level = float(math.exp(rng.uniform(math.log(0.003), math.log(0.08))))
    shots, sigma, stype = None, None, "population"
    if noises[0] == "spam":   # single-shot assignment errors compress the populations
        e0, e1 = rng.uniform(0.01, 0.06), rng.uniform(0.03, 0.2)
        p = e0 + (1 - e0 - e1) * np.clip(p, 0, 1)
        noises[0] = "binomial"
    if noises[0] == "binomial":
        shots = int(math.exp(rng.uniform(math.log(10), math.log(3000))))
        y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
        for k in noises[1:]:
            y, _ = _extra_noise(y, rng, k, level * 0.5, order)
    elif noises[0] == "poisson":
        y, stype = _counts(p, rng), "counts"
    else:
        y = p
        for k in noises:
            y, s = _extra_noise(y, rng, k, level / math.sqrt(len(noises)), order)
            sigma = s if len(noises) == 1 else None
        stype = str(rng.choice(["population", "magnitude", "magnitude", "phase", "iq"]))
    if stype in ("magnitude", "phase"):
        gain = math.exp(rng.uniform(math.log(1e-3), math.log(1e2))) * rng.choice([-1, 1])
        y = rng.normal(0, 10) * abs(gain) + gain * y
        sigma = None if sigma is None else abs(gain) * sigma
        if extended and stype == "phase" and rng.random() < 0.5:
            y, sigma = _degrees(y, rng), None
            settings = {**settings, "signal_units": "deg"}
    elif stype == "iq":
        c0 = complex(*rng.normal(0, 1, 2))
        d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
        y = c0 + d * y + 1j * d * rng.normal(0, level, len(y))
        if extended and rng.random() < 0.3:   # the LO phase drifts during the sweep
            y = c0 + (y - c0) * np.exp(1j * np.deg2rad(rng.uniform(-4, 4)) * (order - 0.5))
        sigma = None
    stype = "magnitude" if stype == "counts" else stype
    if extended and rng.random() < 0.1 and not np.iscomplexobj(y):   # dropped averages: NaN
        y = np.where(rng.random(len(y)) < rng.uniform(0.02, 0.06), np.nan, y)
        sigma = None
    if sigma is not None:
        settings = {**settings, "sigma": sigma}
    # the acquisition order is the order the analysis receives
    idx = np.argsort(order, kind="stable")
    if sigma is not None:
        settings["sigma"] = np.asarray(sigma)[idx]
    xs, unit = _to_units(np.asarray(x, float)[idx], kind, rng)
    y = np.asarray(y)[idx]
    if extended and np.iscomplexobj(y) and rng.random() < 0.3:   # I and Q as two columns
        y = np.stack([y.real, y.imag], axis=1)
    family = f"{kind}/train_robust2" if extended else f"{kind}/train_robust"
    return Case(kind, mode, family, xs, y, stype, unit, shots,
                settings, truth if mode == "ok" else {}, "+".join(noises))


def robust_train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` cases of every sweep kind × :data:`MODES` from the robust families."""
    rng = np.random.default_rng(seed)
    return [make_robust_case(k, m, rng) for k in SWEEP_KINDS for m in MODES
            for _ in range(per_cell)]


def robust2_train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` cases of every sweep kind × :data:`MODES` from the session-7 robust
    families (``{kind}/train_robust2``: the variants of :func:`make_robust_case` with
    ``extended``)."""
    rng = np.random.default_rng(seed)
    return [make_robust_case(k, m, rng, extended=True) for k in SWEEP_KINDS for m in MODES
            for _ in range(per_cell)]
