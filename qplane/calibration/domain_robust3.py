"""The robust3 train families (session 9): *which kind of bad*, learned as physics.

Session 8's look at the seventh generation (a development set) found the second opinion's
errors almost all in the kind of bad, not in bad-or-good: a Ramsey window far longer than T2*
read as an anomaly (it is a sweep to fix), a good randomized-benchmarking decay with
sequence-to-sequence scatter read as a sweep to fix (it is good data), and a resonator driven
past bifurcation read as good or as a sweep to fix (it is an anomaly). No train family drew any
of these, nor any randomized-benchmarking or resonator-spectroscopy data at all. These families
(``{kind}/train_robust3``) draw them, each with its good (and, for the two new kinds, every
other) counterpart, so a mode is learned from the physics rather than from one layout:

- ``ramsey``: ``off_range``, fringes whose envelope dies within the first 1–12 % of the window
  (T2* far shorter than the window; 0.1–8 fringes survive, exponential to Gaussian envelope,
  the detuning resolved by the step, a first delay > 0 sometimes); ``ok``, windows of 0.8–4 T2*
  with at least 1.5 resolved fringes;
- ``randomized_benchmarking`` (integer Clifford lengths, geometric, linear or powers of two):
  ``ok``, decays to 1.5–6 decay constants, each length measured on 1–12 random sequences given
  as separate points (or averaged), with a sequence-to-sequence spread from coherent errors of
  up to ~3× the shot noise; ``off_range``, lengths far too short (< 0.2 τ) or far too long
  (the decay within the first points); ``undersampled``, 3–5 lengths; ``anomalous``, leakage
  (a second, slow decay of the asymptote), a step in acquisition order, or a non-Markovian
  oscillation; ``no_signal``, survival that does not depend on the length;
- ``resonator_spectroscopy`` (a complex transmission ``S21`` on a background with cable delay,
  a gain slope and an impedance-mismatch rotation, read as magnitude, power or IQ): ``ok``, a
  dip of depth 0.3–0.95 with at most a mild Kerr shift; ``anomalous``, a Kerr (Duffing)
  resonator driven 1.3–6× past its critical power: the shark fin with a jump where the
  following branch ends, swept up or down; or a dip split by an avoided crossing;
  ``off_range``, the dip beyond either edge; ``undersampled``, a step of 1–4 linewidths;
  ``no_signal``, the background only.

Noises (one or two, levels 0.3–6 %): binomial shots or the technical noises of
:mod:`~qplane.calibration.domain_robust`; layouts those of the robust families (and, for
benchmarking, its own length schedules); the acquisition order is the order the analysis
receives.

>>> cases = robust3_train_set(1, seed=0)
>>> len(cases), sorted({c.kind for c in cases})
(12, ['ramsey', 'randomized_benchmarking', 'resonator_spectroscopy'])
"""

from __future__ import annotations

import math

import numpy as np

from qplane.calibration.domain import Case, _to_units
from qplane.calibration.domain_robust import NOISES, ROBUST_LAYOUTS, _extra_noise, _layout
from qplane.calibration.domain_wide import _background
from qplane.calibration.units import to_si

#: kind -> the modes its robust3 family draws
KIND_MODES = {
    "ramsey": ("ok", "off_range"),
    "randomized_benchmarking": ("ok", "off_range", "undersampled", "anomalous", "no_signal"),
    "resonator_spectroscopy": ("ok", "off_range", "undersampled", "anomalous", "no_signal"),
}
TRAIN_FAMILIES = {k: (f"{k}/train_robust3",) for k in KIND_MODES}
#: the critical Kerr parameter of ``y [(delta - k y)^2 + 1] = 1`` (bistable beyond it)
KERR_CRITICAL = 8 / (3 * math.sqrt(3))
_FREQ_UNITS = ("Hz", "kHz", "MHz", "GHz")


def _ramsey(mode: str, rng: np.random.Generator):
    n = int(math.exp(rng.uniform(math.log(20), math.log(400))))
    top = float(math.exp(rng.uniform(math.log(1e-6), math.log(200e-6))))
    if mode == "off_range":   # the envelope's 1/e within the first 1-12 % of the window
        t2 = top * float(math.exp(rng.uniform(math.log(0.01), math.log(0.12))))
        fringes_in_t2 = float(math.exp(rng.uniform(math.log(0.1), math.log(8.0))))
        f = fringes_in_t2 / t2
        n = max(n, int(rng.uniform(4, 12) * top * f))   # the detuning resolved by the step
        n = min(n, 1000)
    else:   # 0.8-4 T2*, at least 1.5 fringes, at least 4 points a fringe
        t2 = top / rng.uniform(0.8, 4.0)
        f = rng.uniform(1.5, 30.0) / top
        n = min(max(n, int(4 * top * f) + 4), 1000)
    u, order = _layout(n, rng, str(rng.choice(ROBUST_LAYOUTS)))
    x = top * u
    if rng.random() < 0.25:   # a first delay > 0
        x = x + rng.uniform(0.0, 0.1) * top
    beta = float(rng.uniform(1.0, 2.0)) if rng.random() < 0.4 else 1.0
    amp = rng.uniform(0.25, 0.5)
    p = 0.5 + amp * np.exp(-(x / t2) ** beta) * np.cos(2 * math.pi * f * x
                                                        + rng.uniform(-0.5, 0.5))
    det = abs(f) * (1 + rng.uniform(-0.04, 0.04))   # the setting; the qubit's offset is off it
    return x, p, order, {"frequency": abs(f)}, {"detuning": det}


def _lengths(rng: np.random.Generator, top: float, count: int) -> np.ndarray:
    top = max(top, 3.0)
    pick = int(rng.integers(3))
    if pick == 0:
        m = np.geomspace(1, top, count)
    elif pick == 1:
        m = np.linspace(1, top, count)
    else:
        m = 2.0 ** np.arange(0, round(math.log2(top)) + 1)   # the power nearest ``top``
    return np.unique(np.maximum(np.round(m), 1))


def _benchmarking(mode: str, rng: np.random.Generator):
    r = float(math.exp(rng.uniform(math.log(2e-4), math.log(2e-2))))   # error per Clifford
    tau = -1 / math.log(1 - 2 * r)
    count = int(rng.integers(8, 31))
    top = tau * rng.uniform(1.5, 6.0)
    if mode == "undersampled":
        count = int(rng.integers(3, 5))
    lengths = _lengths(rng, top, count)
    if mode == "undersampled":
        lengths = np.unique(np.round(np.geomspace(1, max(top, 3.0), count)))
    elif mode == "off_range" and rng.random() < 0.5:   # far too short: < 20 % decays
        lengths = _lengths(rng, tau * rng.uniform(0.02, 0.2), count)
    elif mode == "off_range":   # far too long: evenly spaced, the decay within the first steps
        lengths = np.unique(np.round(np.linspace(1, tau * count * rng.uniform(1.5, 5), count)))
    k = int(rng.integers(1, 13))
    m = np.repeat(lengths, k)
    order = np.linspace(0, 1, len(m))
    if rng.random() < 0.4:   # the sequences interleaved over the lengths, not grouped
        m = np.tile(lengths, k)
    elif rng.random() < 0.2:
        order = rng.permutation(len(m)) / max(len(m) - 1, 1)
    a, b = rng.uniform(0.3, 0.5), rng.uniform(0.45, 0.55)
    decay = (1 - 2 * r) ** m
    # coherent errors: each random sequence's own survival scatters about the mean
    spread = rng.uniform(0, 0.3) * a * np.sqrt(decay * (1 - decay) + 1e-3)
    if k == 1 or rng.random() < 0.3:
        spread = spread / math.sqrt(k)
    seq = spread * rng.normal(size=len(m))
    p = b + a * decay
    if mode == "anomalous":
        pick = int(rng.integers(3))
        if pick == 0:   # leakage: the asymptote itself decays, slowly
            p = b * np.exp(-m / (tau * rng.uniform(2, 8))) + a * decay
        elif pick == 1:   # a step in acquisition time (readout or drive changed)
            p = np.where(order >= rng.uniform(0.3, 0.7), p + rng.uniform(0.1, 0.25)
                         * rng.choice([-1, 1]), p)
        else:   # a coherent, non-Markovian oscillation on the decay
            p = b + a * decay * (1 + rng.uniform(0.2, 0.5)
                                 * np.cos(2 * math.pi * m / (tau * rng.uniform(0.3, 1.0))))
    if mode == "no_signal":
        p = np.full(len(m), b + a * rng.uniform(0, 1))
    return m.astype(float), np.clip(p + seq, 0, 1), order, {"tau": tau}, {}


def _duffing_photons(delta: np.ndarray, k: float) -> np.ndarray:
    """The photon number (over its low-power maximum) of a Kerr resonator at detunings
    ``delta`` (half-linewidths), in the order swept: the branch followed until it ends, then
    the jump to the one left (``y [(delta - k y)^2 + 1] = 1``)."""
    out = np.empty(len(delta))
    prev = None
    for i, d in enumerate(delta):
        roots = np.roots([k * k, -2 * d * k, d * d + 1, -1])
        real = roots.real[(np.abs(roots.imag) < 1e-7 * (1 + np.abs(roots.real)))
                          & (roots.real > 0)]
        if not len(real):
            real = roots.real[[int(np.argmin(np.abs(roots.imag)))]]
        prev = float(real[np.argmin(np.abs(real - prev))] if prev is not None else real[0])
        out[i] = prev
    return np.clip(out, 0, 1)


def _resonator(mode: str, rng: np.random.Generator):
    kappa = float(math.exp(rng.uniform(math.log(0.1e6), math.log(5e6))))
    span = kappa * float(math.exp(rng.uniform(math.log(4), math.log(40))))
    n = int(math.exp(rng.uniform(math.log(40), math.log(800))))
    n = max(n, int(3 * span / kappa))
    layout = str(rng.choice(ROBUST_LAYOUTS))
    if mode == "undersampled":
        n, layout = max(int(span / (kappa * rng.uniform(1.0, 4.0))), 5), "uniform"
    elif mode == "anomalous":
        layout = "uniform"   # a power sweep is acquired in frequency order
    u, order = _layout(min(n, 1000), rng, layout)
    f0 = float(rng.uniform(4e9, 8e9))
    x = f0 - span / 2 + span * u
    fr = f0 + rng.uniform(-0.25, 0.25) * span
    if mode == "off_range":
        fr = f0 + rng.choice([-1, 1]) * (span / 2 + rng.uniform(0.5, 5.0) * kappa)
    k = float(rng.uniform(-0.5, 0.5)) if rng.random() < 0.5 else 0.0
    split = mode == "anomalous" and rng.random() < 0.25
    if mode == "anomalous" and not split:   # driven 1.3-6x past the critical power
        k = float(rng.uniform(1.3, 6.0)) * KERR_CRITICAL * rng.choice([-1, 1])
        x = fr + (x - fr) * max(1.0, (abs(k) / 2 + 6) * kappa / span) + k * kappa / 4
        if rng.random() < 0.5:
            order = 1 - order   # swept down
    delta = 2 * (x - fr) / kappa
    swept = np.argsort(order, kind="stable")
    y = np.empty(len(x))
    y[swept] = _duffing_photons(delta[swept], k) if k else 1 / (1 + delta[swept] ** 2)
    depth = rng.uniform(0.3, 0.95)
    phi = rng.uniform(-0.3, 0.3)   # impedance mismatch: a rotated (Fano-like) circle
    resp = depth * np.exp(1j * phi) / math.cos(phi) / (1 + 1j * (delta - k * y))
    if split:   # an avoided crossing with a TLS or the qubit: two dips
        g = rng.uniform(1.5, 4.0)
        resp = 0.5 * depth * (1 / (1 + 1j * (delta - g)) + 1 / (1 + 1j * (delta + g)))
    if mode == "no_signal":
        resp = np.zeros(len(x))
    # the cable delay left after its correction: at most a radian across the window
    delay = rng.uniform(0, 1.0) / (2 * math.pi * span)
    bg = (1 + _background(u, rng, rng.uniform(0, 0.2), rng.random() < 0.2)) \
        * np.exp(-2j * math.pi * (x - f0) * delay + 1j * rng.uniform(-math.pi, math.pi))
    return x, bg * (1 - resp), order, {"center": fr}, {}


def _observe(kind: str, p: np.ndarray, order: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, str, int | None, str]:
    """A real population ``p`` (or, for a resonator, complex ``S21``) as recorded: signal,
    signal type, shots, noise name."""
    level = float(math.exp(rng.uniform(math.log(0.003), math.log(0.06))))
    noises = [str(rng.choice(NOISES[1:]))]
    if rng.random() < 0.3:
        noises.append(str(rng.choice(NOISES[1:])))
    if np.iscomplexobj(p):   # a resonator's transmission
        scale = float(np.median(np.abs(p)))
        z = p + scale * level * (rng.normal(size=len(p)) + 1j * rng.normal(size=len(p)))
        pick = str(rng.choice(["magnitude", "power", "iq"]))
        if pick == "iq":
            return z * rng.uniform(1e-3, 1e2), "iq", None, "complex_gaussian"
        mag = np.abs(z)
        if rng.random() < 0.5:   # a technical noise on the detected signal too
            mag = np.abs(_extra_noise(mag, rng, noises[0], level * scale * 0.5, order)[0])
        y = mag**2 if pick == "power" else mag
        return y * rng.uniform(1e-3, 1e2), "magnitude", None, f"{pick}+{noises[0]}"
    if rng.random() < 0.5 or kind == "randomized_benchmarking":
        shots = int(math.exp(rng.uniform(math.log(30), math.log(2000))))
        y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
        if rng.random() < 0.3:
            y, _ = _extra_noise(y, rng, noises[0], level * 0.5, order)
            return y, "population", shots, f"binomial+{noises[0]}"
        return y, "population", shots, "binomial"
    y = p
    for name in noises:
        y, _ = _extra_noise(y, rng, name, level / math.sqrt(len(noises)), order)
    stype = str(rng.choice(["population", "magnitude", "iq"]))
    if stype == "magnitude":
        gain = math.exp(rng.uniform(math.log(1e-3), math.log(1e2))) * rng.choice([-1, 1])
        y = rng.normal(0, 10) * abs(gain) + gain * y
    elif stype == "iq":
        c0 = complex(*rng.normal(0, 1, 2))
        d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
        y = c0 + d * y + 1j * d * rng.normal(0, level, len(y))
    return y, stype, None, "+".join(noises)


def make_robust3_case(kind: str, mode: str, rng: np.random.Generator) -> Case:
    """One robust3-train case of ``kind`` (a key of :data:`KIND_MODES`) in ``mode``."""
    if mode not in KIND_MODES.get(kind, ()):
        raise ValueError(f"robust3 has no {kind!r} case in mode {mode!r}; it draws "
                         f"{ {k: list(v) for k, v in KIND_MODES.items()} }")
    maker = {"ramsey": _ramsey, "randomized_benchmarking": _benchmarking,
             "resonator_spectroscopy": _resonator}[kind]
    x, p, order, truth, settings = maker(mode, rng)
    y, stype, shots, noise = _observe(kind, p, order, rng)
    idx = np.argsort(order, kind="stable")   # the order the analysis receives
    x, y = np.asarray(x, float)[idx], np.asarray(y)[idx]
    if kind == "ramsey":
        xs, unit = _to_units(x, kind, rng)
    elif kind == "resonator_spectroscopy":
        unit = str(rng.choice(_FREQ_UNITS))
        xs = x / to_si(unit)[1]
    else:
        xs, unit = x, ""
    return Case(kind, mode, f"{kind}/train_robust3", xs, y, stype, unit, shots, settings,
                truth if mode == "ok" else {}, noise)


def robust3_train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` cases of every kind × mode of :data:`KIND_MODES`."""
    rng = np.random.default_rng(seed)
    return [make_robust3_case(k, m, rng) for k, modes in KIND_MODES.items() for m in modes
            for _ in range(per_cell)]
