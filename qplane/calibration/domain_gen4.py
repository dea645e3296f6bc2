"""The fourth generation of held-out families: sweeps kept blind while the gate and the second
opinion were tuned and retrained in session 4.

The first three generations (:data:`qplane.calibration.domain.HELDOUT`) had been looked at
by the time of session 4, so they no longer measure transfer honestly. These families were
written and committed *before* anything was tuned or trained in that session, with noises,
sweep layouts and signal regimes that neither the train families nor the earlier held-out
families use:

- noises: Ornstein–Uhlenbeck (exponentially correlated) technical noise, a readout offset
  that drifts linearly along the sweep, very few shots (15–50 a point, a regime between the
  train families' 60–2000 and their noisy mode's 2–6), a readout SNR between the train
  families' good (0.5–4 %) and noisy (25–50 %) levels;
- layouts: descending sweeps (the data arrive high to low), two-segment sweeps (60 % of the
  points fine over the first 1.5 decay constants, the rest coarse), very few (15–24) and very
  many (150–300) points;
- shapes: a pseudo-Voigt line on a standing-wave (sinusoidal) background, a Ramsey whose
  fringe frequency drifts during the sweep (bad: anomalous), a window with only a
  standing-wave background (bad: no signal), an echo window far too short, sampled
  descending (bad: off range).

>>> cases = gen4_set(1, seed=0)
>>> len(cases) == len(GEN4), all(c.family in GEN4 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _to_units

#: family -> (kind, mode)
GEN4 = {
    "spectroscopy/ripple_voigt": ("spectroscopy", "ok"),
    "rabi/few_points_ou": ("rabi", "ok"),
    "ramsey/lowshot_descending": ("ramsey", "ok"),
    "t1/two_segment_ou": ("t1", "ok"),
    "echo/drift_iq": ("echo", "ok"),
    "ramsey/chirp": ("ramsey", "anomalous"),
    "spectroscopy/ripple_empty": ("spectroscopy", "no_signal"),
    "echo/too_short_descending": ("echo", "off_range"),
}


def _ou(n: int, rng: np.random.Generator, length: float) -> np.ndarray:
    """Unit-variance Ornstein–Uhlenbeck noise with a correlation of ``length`` points."""
    a = math.exp(-1.0 / length)
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = a * x[i - 1] + math.sqrt(1 - a * a) * e[i]
    return x


def _two_segment(top: float, tau: float, n: int) -> np.ndarray:
    fine = max(int(0.6 * n), 3)
    a = np.linspace(0.0, 1.5 * tau, fine, endpoint=False)
    b = np.linspace(1.5 * tau, top, n - fine)
    return np.concatenate([a, b])


def _magnitude(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gain = math.exp(rng.uniform(math.log(1e-3), math.log(1e2))) * rng.choice([-1, 1])
    return rng.normal(0, 10) * abs(gain) + gain * y


def _iq(p: np.ndarray, rng: np.random.Generator, noise: np.ndarray) -> np.ndarray:
    c0 = complex(*rng.normal(0, 1, 2))
    d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    ortho = abs(d) * rng.normal(0, float(np.std(noise)) or 1e-3, len(p))
    return c0 + d * (p + noise) + 1j * d / abs(d) * ortho


def make_gen4_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a fourth-generation held-out ``family`` (see :data:`GEN4`)."""
    kind, mode = GEN4[family]
    settings: dict[str, Any] = {}
    truth: dict[str, float] = {}
    shots = None
    if kind == "spectroscopy":
        f0 = float(rng.uniform(4e9, 7e9))
        width = float(rng.uniform(0.2e6, 5e6))
        span = width * rng.uniform(8, 20)
        n = int(rng.integers(41, 202))
        x = np.linspace(f0 - span / 2, f0 + span / 2, n)
        level = float(rng.uniform(0.04, 0.08))
        depth = rng.uniform(0.4, 0.8) * rng.choice([-1, 1])
        period = span * rng.uniform(0.5, 2.0)
        ripple = np.sin(2 * np.pi * (x - f0) / period + rng.uniform(0, 2 * np.pi))
        if mode == "ok":
            center = f0 + rng.uniform(-0.2, 0.2) * span
            half, eta = width / 2, rng.uniform(0.2, 0.8)
            lor = half**2 / ((x - center) ** 2 + half**2)
            gau = np.exp(-4 * math.log(2) * (x - center) ** 2 / width**2)
            line = depth * (eta * lor + (1 - eta) * gau)
            bg = 0.5 + rng.uniform(0.02, 0.06) * abs(depth) * ripple
            truth["center"] = center
        else:   # no line: a standing wave 1-3x the noise, nothing else
            line = 0.0
            bg = 0.5 + rng.uniform(1.0, 3.0) * level * ripple
        y = bg + line + rng.normal(0, level, n)
        signal, stype, noise = _magnitude(y, rng), "magnitude", "gaussian_low_snr"
    elif kind == "rabi":
        api = float(rng.uniform(0.05, 0.8))
        phase = float(rng.uniform(0, 0.15) * rng.choice([-1, 1]))
        damping = float(rng.uniform(0, 0.3) / api)
        n = int(rng.integers(15, 25))
        x = np.linspace(0, api * rng.uniform(2.0, 2.6), n)
        c, off = rng.uniform(0.6, 0.95), rng.uniform(0, 0.08)
        theta = phase + (np.pi - phase) * x / api
        p = off + c / 2 * (1 - np.exp(-damping * x) * np.cos(theta))
        level = float(rng.uniform(0.005, 0.03))
        y = p + level * (rng.normal(size=n) + rng.uniform(0.5, 1.0) *
                         _ou(n, rng, rng.uniform(2, 8)))
        signal, stype, noise = y, "population", "ou"
        truth["pi_amplitude"] = api
    elif kind == "ramsey":
        det = float(rng.uniform(0.5e6, 2e6))
        t2 = float(rng.uniform(10e-6, 60e-6))
        f = det + float(rng.uniform(-0.03, 0.03) * det)
        top = min(rng.uniform(1.0, 2.5) * t2, rng.uniform(8, 30) / det)
        n = int(rng.integers(150, 301))
        x = np.linspace(top, 0.0, n)   # descending
        amp, ph = rng.uniform(0.35, 0.5), rng.uniform(-0.3, 0.3)
        if mode == "ok":
            p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * np.pi * f * x + ph)
            truth["frequency"] = abs(f)
        else:   # the frequency drifts by 25-50 % during the sweep (in time order)
            k = rng.uniform(0.25, 0.5) * rng.choice([-1, 1])
            order = np.arange(n) / (n - 1)
            p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * np.pi * f * (1 + k * order) * x + ph)
        shots = int(rng.integers(15, 51))
        signal, stype, noise = rng.binomial(shots, np.clip(p, 0, 1)) / shots, "population", \
            "binomial_few"
        settings["detuning"] = det
    else:
        tau = float(rng.uniform(10e-6, 200e-6))
        a, off = rng.uniform(0.5, 0.95), rng.uniform(0, 0.1)
        if kind == "echo":
            a, off = -a / 2, 0.5
        level = float(rng.uniform(0.005, 0.03))
        if family == "t1/two_segment_ou":
            n = int(rng.integers(30, 120))
            x = _two_segment(tau * rng.uniform(4, 6), tau, n)
            p = off + a * np.exp(-x / tau)
            y = p + level * (rng.normal(size=n) + rng.uniform(0.5, 1.0) *
                             _ou(n, rng, rng.uniform(2, 8)))
            signal, stype, noise = _magnitude(y, rng), "magnitude", "ou"
        elif family == "echo/drift_iq":
            n = int(rng.integers(30, 120))
            x = np.linspace(0, tau * rng.uniform(3, 6), n)
            p = off + a * np.exp(-x / tau)
            drift = rng.uniform(0.01, 0.03) * abs(a) * rng.choice([-1, 1]) * \
                np.linspace(-1, 1, n)
            signal = _iq(p + drift, rng, rng.normal(0, level, n))
            stype, noise = "iq", "iq_offset_drift"
        else:   # far too short, sampled descending, few shots
            n = int(rng.integers(25, 80))
            x = np.linspace(tau * rng.uniform(0.05, 0.2), 0.0, n)
            p = off + a * np.exp(-x / tau)
            shots = int(rng.integers(15, 51))
            signal, stype, noise = rng.binomial(shots, np.clip(p, 0, 1)) / shots, \
                "population", "binomial_few"
        truth["tau"] = tau
    xs, unit = _to_units(x, kind, rng)
    if mode != "ok":
        truth = {}
    return Case(kind, mode, family, xs, np.asarray(signal), stype, unit, shots, settings,
                truth, noise)


def gen4_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every fourth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen4_case(f, rng) for f in GEN4 for _ in range(per_family)]
