"""Train families for the QEC lab's nodes that had no second opinion: DRAG, CZ and the readout
tone's amplitude and duration (session 4).

Each draws the physics-shaped curve its analysis kind fits (:mod:`qplane.calibration.kinds_qec`)
with random parameters, sweep layouts (uniform, jittered, dense at one end) and noise
(binomial at the node's shots, Gaussian or ``1/f^a`` technical noise on a population), in the
failure modes ``ok``, ``off_range`` (the feature outside the sweep), ``undersampled`` (too few
points), ``noisy`` (2-5 shots) and ``no_signal`` (a constant: a dead drive, flux line or
readout). It is a generator of its own, not the simulated lab's device model: the benchmark
(``qplane bench calibration``, ``qec_nodes``) measures the second opinion on the simulated
lab's data, which no training case comes from.

>>> cases = qec_train_set(1, seed=0)
>>> sorted({c.kind for c in cases}) == sorted(QEC_KINDS), {c.mode for c in cases} >= {"ok"}
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _layout, _pink

QEC_KINDS = ("drag", "cz", "readout_amplitude", "readout_duration")
QEC_MODES = ("ok", "off_range", "undersampled", "noisy", "no_signal")
TRAIN_FAMILIES = {k: (f"{k}/train",) for k in QEC_KINDS}
_LAYOUTS = ("uniform", "uniform", "uniform", "jitter", "power", "dense_end")


def _erfc(z: np.ndarray) -> np.ndarray:
    from scipy.special import erfc

    return erfc(z)


def _observe(p: np.ndarray, rng: np.random.Generator, mode: str, shots: int
             ) -> tuple[np.ndarray, int, str]:
    if mode == "noisy":
        shots = int(rng.integers(2, 6))
    noise = "binomial" if mode == "noisy" else str(rng.choice(["binomial", "gaussian", "pink"]))
    y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
    if noise != "binomial":
        level = float(rng.uniform(0.001, 0.01))
        y = y + rng.normal(0, level, len(p))
        if noise == "pink":
            y = y + rng.uniform(0.3, 1.0) * level * _pink(len(p), rng, rng.uniform(0.5, 1.5))
    return y, shots, noise


def make_qec_case(kind: str, mode: str, rng: np.random.Generator) -> Case:
    """One train case of a QEC node's analysis kind (see the module)."""
    layout = str(rng.choice(_LAYOUTS))
    n = int(rng.integers(5, 7)) if mode == "undersampled" else int(rng.integers(21, 61))
    truth: dict[str, float] = {}
    settings: dict[str, Any] = {}
    if kind == "drag":
        best = float(rng.uniform(-0.4, 0.4))
        span = float(rng.uniform(0.8, 1.6))
        half_period = span * float(rng.uniform(0.6, 1.2))   # minimum to maximum: one minimum
        center = best + rng.uniform(-0.25, 0.25) * span
        if mode == "off_range" and rng.random() < 0.5:
            # the minimum beyond the sweep, no other one inside it
            half_period = float(rng.uniform(1.2 * span, 2.0 * span))
            center = best + rng.choice([-1, 1]) * span * rng.uniform(0.6, 0.9)
        elif mode == "off_range":   # (session 5) the window on a maximum between two minima
            half_period = float(span * rng.uniform(0.7, 1.0))
            center = best + rng.choice([-1, 1]) * (half_period + rng.uniform(-0.15, 0.15)
                                                   * span)
        x = _layout(center - span / 2, center + span / 2, n, rng, layout=layout)
        off, amp = rng.uniform(0.0, 0.1), rng.uniform(0.3, 0.9)
        p = off + amp * np.sin(np.pi / (2 * half_period) * (x - best)) ** 2
        shots = int(rng.integers(100, 1000))
        settings["scale"] = 1.0
        truth["center"] = best
    elif kind == "cz":
        best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
        setting = best * (1 + rng.uniform(-0.06, 0.06))
        if mode == "off_range":
            setting = best * (rng.uniform(1.3, 1.6) if rng.random() < 0.5 else
                              rng.uniform(0.55, 0.75))
        lo, hi = rng.uniform(0.75, 0.85), rng.uniform(1.15, 1.25)
        x = setting * _layout(lo, hi, n, rng, layout=layout)
        off, amp = rng.uniform(0.45, 0.55), rng.uniform(0.4, 0.5)   # P1 = (1 + cos phi) / 2
        p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
        shots = int(rng.integers(1000, 4000))
        truth["cz_amplitude"] = best
    else:
        amplitude = kind == "readout_amplitude"
        best = float(math.exp(rng.uniform(math.log(0.02), math.log(0.3)))) if amplitude else \
            float(math.exp(rng.uniform(math.log(0.3e-6), math.log(3e-6))))
        kb = rng.uniform(1.2, 2.0)                  # k * best (amplitude) or k * sqrt(best)
        b = rng.uniform(0.3, 0.6)
        f0 = rng.uniform(0.93, 0.995)
        if amplitude:
            k = kb / best
            a = b * 2 * k / math.sqrt(math.pi) * math.exp(-kb**2) * 0.1**4 / (4 * best**3)
        else:
            k = kb / math.sqrt(best)
            a = b * k * math.exp(-kb**2) / math.sqrt(math.pi * best) * 1e-6
        ratio = (0.7 if amplitude else 1.0) * rng.uniform(0.8, 1.2)
        setting = best * math.exp(rng.uniform(-0.4, 0.4) * ratio)
        if mode == "off_range":
            setting = best * math.exp(rng.choice([-1, 1]) * ratio * rng.uniform(1.3, 1.8))
        x = setting * np.exp(ratio * _layout(-1.0, 1.0, n, rng, layout=layout))
        if amplitude:
            p = f0 - a * (x / 0.1) ** 4 - b * _erfc(k * x)
        else:
            p = f0 - a * x / 1e-6 - b * _erfc(k * np.sqrt(x))
        shots = 2 * int(rng.integers(1000, 8000))
        truth["best"] = best
    if mode == "no_signal":
        p = np.full_like(x, float(np.median(p)) if kind != "drag" else float(p.min()))
    y, shots, noise = _observe(np.clip(p, 0, 1), rng, mode, shots)
    unit = {"drag": "", "cz": "V", "readout_amplitude": "V", "readout_duration": "s"}[kind]
    return Case(kind, mode, f"{kind}/train", x, y, "population", unit, shots, settings, truth,
                noise)


def qec_train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` train cases of every QEC kind × mode."""
    rng = np.random.default_rng(seed)
    return [make_qec_case(k, m, rng) for k in QEC_KINDS for m in QEC_MODES
            for _ in range(per_cell)]
