"""Domain-randomised calibration sweeps with known truth: training and held-out families.

:mod:`qplane.calibration.synthetic` follows qplane's own simulator and node requests; this
module draws the *variety* real labs produce, for training the second opinion and for
held-out evaluation (``qplane bench calibration``). A case is one sweep of one kind with a
failure mode (``ok`` or one of the bad modes), its truth (the key value for good data) and how
it was made (its *family*).

Two disjoint sets of families (:data:`TRAIN_FAMILIES`, :data:`HELDOUT_FAMILIES`):

- **train** (used for training and for tuning any threshold): sweeps over random ranges and
  point counts, uniform, jittered or dense at one end (:data:`TRAIN_LAYOUTS`; never
  geometric); noise binomial (population + shots), Gaussian technical, ``1/f^a`` technical
  (a in 0.5–1.5; never a random walk), averaged IQ; magnitudes with random gain, sign and
  offset; sweeps in random SI prefixes; Lorentzian lines on constant or linear backgrounds; Rabi with a small phase and mild
  damping; detuned Ramsey with several fringes; exponential decays with an offset.
- **held-out** (never used for tuning or training): Ramsey 0.05–1.95 µs on a healthy qubit,
  zero-detuning Ramsey, real-like Rabi (phase 0.1–0.3 rad and damping, averaged IQ), resonator
  dips on a Fano background (magnitude), Gaussian lines read as *phase* (a signal type training
  never sees), log-spaced T1/echo delays with random-walk drift; and bad data: aliased Ramsey,
  too-short T1, spectroscopy with no line in the window, Rabi sweeps short of π, a TLS-split
  line, beating Ramsey, a T1 that jumps mid-sweep; added later (never tuned on either): Rabi and
  Ramsey on a Chebyshev layout (dense at both ends) with Student-t noise (heavy tails), and a
  biexponential T1 (bad: anomalous); in session 3, T1 and spectroscopy with readout glitches
  (Gaussian noise, 3–8 % of the points 5–12 σ off; good data).

Session 4 added broad train families (``{kind}/train_broad``, :func:`broad_train_set`): layouts
also ``u^p`` with p 2.5–4, Laplace technical noise and one or two isolated spikes
(:data:`BROAD_NOISES`), Gaussian lines, Rabi phases to ±0.3 rad and damping to 0.6 per π
amplitude, zero-detuning Ramsey, two-population T1 decays (anomalous). They bring some *shapes*
of the earlier held-out families into training (not their noises or layouts); the blind
measurement since is :mod:`qplane.calibration.domain_gen4`.

Tuning heavy-tailed robustness uses the train families with ``make_case(..., noise="heavy")``
(a log-normal scale mixture of normals), a noise no held-out family has.

>>> rng = np.random.default_rng(0)
>>> case = make_case("t1", "ok", rng)
>>> case.kind, case.mode, case.family in TRAIN_FAMILIES["t1"], "tau" in case.truth
('t1', 'ok', True, True)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from qplane.calibration.units import to_si

SWEEP_KINDS = ("spectroscopy", "rabi", "ramsey", "t1", "echo")
MODES = ("ok", "off_range", "undersampled", "noisy", "anomalous", "no_signal")
NOISES = ("binomial", "gaussian", "pink", "iq")
#: Noises the broad train families (session 4) add: Laplace-distributed technical noise and
#: one or two isolated spikes (4-8 sigma) per sweep. Neither is a held-out noise of any
#: generation (Student-t, readout glitches at 3-8 % of the points, random walk, OU, drifts).
BROAD_NOISES = NOISES + ("laplace", "spikes")
#: ``{kind}/train`` (sessions 1-3) and ``{kind}/train_broad`` (session 4: wider layouts,
#: :data:`BROAD_NOISES`, Gaussian lines, larger Rabi phases and damping, zero-detuning Ramsey,
#: two-population T1 decays as anomalous; see :func:`make_case`)
TRAIN_FAMILIES = {k: (f"{k}/train", f"{k}/train_broad") for k in SWEEP_KINDS}
#: held-out family -> (kind, mode)
HELDOUT = {
    "ramsey/short_window": ("ramsey", "ok"), "ramsey/zero_detuning": ("ramsey", "ok"),
    "rabi/real_like": ("rabi", "ok"), "spectroscopy/fano": ("spectroscopy", "ok"),
    "spectroscopy/gaussian_phase": ("spectroscopy", "ok"), "t1/log_drift": ("t1", "ok"),
    "echo/log_drift": ("echo", "ok"),
    "ramsey/aliased": ("ramsey", "undersampled"), "t1/too_short": ("t1", "off_range"),
    "spectroscopy/empty_window": ("spectroscopy", "no_signal"),
    "rabi/short_of_pi": ("rabi", "off_range"), "spectroscopy/tls_split": ("spectroscopy",
                                                                          "anomalous"),
    "ramsey/beating": ("ramsey", "anomalous"), "t1/jump": ("t1", "anomalous"),
    # added in session 2 (never used for tuning or training): a layout (Chebyshev: dense at
    # both ends) and a noise (Student-t, heavy tails) no train family has; a T1 that is the
    # sum of two exponentials (a qubit coupled to a TLS)
    "rabi/chebyshev_t": ("rabi", "ok"), "ramsey/chebyshev_t": ("ramsey", "ok"),
    "t1/biexponential": ("t1", "anomalous"),
    # added in session 3 (never used for tuning or training, not looked at before the final
    # benchmark): readout glitches — Gaussian noise with 3-8 % of the points 5-12 sigma off
    "t1/glitches": ("t1", "ok"), "spectroscopy/glitches": ("spectroscopy", "ok"),
}
#: The held-out families of the first session (the comparison with its numbers).
FIRST_HELDOUT = tuple(list(HELDOUT)[:14])
HELDOUT_FAMILIES = {k: tuple(f for f, (kk, _) in HELDOUT.items() if kk == k) for k in SWEEP_KINDS}
_UNITS = {"spectroscopy": ("Hz", "kHz", "MHz", "GHz"), "rabi": ("V", "mV"),
          "ramsey": ("s", "us", "µs", "ns"), "t1": ("s", "us", "µs", "ns"),
          "echo": ("s", "us", "µs", "ns")}


@dataclasses.dataclass(frozen=True)
class Case:
    """One sweep: what :func:`~qplane.calibration.analyse` takes, and its truth.

    ``sweep`` is in ``units``; ``truth`` holds the key value (SI) for good data; ``good`` is
    whether a gate should accept it.
    """

    kind: str
    mode: str
    family: str
    sweep: np.ndarray
    signal: np.ndarray
    signal_type: str
    units: str
    shots: int | None
    settings: dict[str, Any]
    truth: dict[str, float]
    noise: str

    @property
    def good(self) -> bool:
        return self.mode == "ok"

    def analyse_args(self) -> dict[str, Any]:
        """Keyword arguments for :func:`~qplane.calibration.analyse` (besides the kind)."""
        return dict(sweep=self.sweep, signal=self.signal, signal_type=self.signal_type,
                    shots=self.shots, units=self.units, **self.settings)


def _pink(n: int, rng: np.random.Generator, exponent: float = 1.0) -> np.ndarray:
    f = np.fft.rfftfreq(n)
    amp = np.zeros_like(f)
    amp[1:] = f[1:] ** (-exponent / 2)
    x = np.fft.irfft(amp * (rng.normal(size=len(f)) + 1j * rng.normal(size=len(f))), n)
    return x / (np.std(x) or 1.0)


def _observe(p: np.ndarray, rng: np.random.Generator, noise: str, *, level: float,
             signal_type: str | None = None, drift: str = "pink"
             ) -> tuple[np.ndarray, str, int | None]:
    """Noisy observation of populations ``p`` under ``noise`` (see the module)."""
    n = len(p)
    if noise == "binomial":
        shots = int(round(math.exp(rng.uniform(math.log(60), math.log(2000)))))
        if level > 0.1:   # the noisy mode: a handful of shots
            shots = int(rng.integers(2, 6))
        return rng.binomial(shots, np.clip(p, 0, 1)) / shots, "population", shots
    if noise == "student":   # held out: heavy-tailed technical noise (t, 3 dof, unit variance)
        y = p + level * rng.standard_t(3, n) / math.sqrt(3)
    elif noise == "heavy":   # tuning only: heavy tails, a log-normal scale mixture of normals
        y = p + level * rng.normal(size=n) * np.exp(rng.normal(0, 0.6, n) - 0.36)
    elif noise == "laplace":   # broad train: Laplace technical noise (unit variance)
        y = p + level * rng.laplace(0, 1 / math.sqrt(2), n)
    elif noise == "spikes":    # broad train: one or two isolated spikes of 4-8 sigma
        y = p + rng.normal(0, level, n)
        hit = rng.choice(n, size=int(rng.integers(1, 3)), replace=False)
        y[hit] += level * rng.uniform(4, 8, len(hit)) * rng.choice([-1, 1], len(hit))
    elif noise == "glitch":   # held out: Gaussian noise, 3-8 % of the points off by 5-12 sigma
        y = p + rng.normal(0, level, n)
        hit = rng.random(n) < rng.uniform(0.03, 0.08)
        y[hit] += level * rng.uniform(5, 12, int(hit.sum())) * rng.choice([-1, 1], int(hit.sum()))
    else:
        y = p + rng.normal(0, level, n)
    if noise == "pink":
        if drift == "pink_random":   # train: 1/f^a technical noise, a in 0.5–1.5
            y = y + rng.uniform(0.3, 1.0) * level * _pink(n, rng, rng.uniform(0.5, 1.5))
        elif drift == "walk":
            w = np.cumsum(rng.normal(size=n))
            y = y + rng.uniform(0.3, 1.0) * level * (w - w.mean()) / (np.std(w) or 1.0)
        else:
            y = y + rng.uniform(0.3, 1.0) * level * _pink(n, rng)
    if noise == "iq":
        c0 = complex(*rng.normal(0, 1, 2))
        d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
        z = c0 + d * p + abs(d) * level * (rng.normal(size=n) + 1j * rng.normal(size=n))
        return z, "iq", None
    stype = signal_type or ("population" if rng.random() < 0.4 else "magnitude")
    if stype in ("magnitude", "phase"):
        gain = math.exp(rng.uniform(math.log(1e-3), math.log(1e2))) * rng.choice([-1, 1])
        y = rng.normal(0, 10) * abs(gain) + gain * y
    return y, stype, None


#: Non-uniform layouts of the train families (besides uniform): ``jitter`` (random points,
#: sorted), ``power`` (``u^p``, p 1.5–2.5: dense at the start, sparse at the end), ``dense_end``
#: (the mirror of ``power``). Geometric (log) spacing is held out (``*/log_drift``).
TRAIN_LAYOUTS = ("uniform", "uniform", "uniform", "jitter", "power", "dense_end")
#: The broad train families' layouts: also ``power`` / ``dense_end`` with p 2.5–4 (still
#: never geometric, Chebyshev, two-segment or descending: those are held out).
BROAD_LAYOUTS = TRAIN_LAYOUTS + ("power_wide", "dense_end_wide")


def _layout(lo: float, hi: float, n: int, rng: np.random.Generator, log: bool = False,
            layout: str = "uniform") -> np.ndarray:
    if log:
        return np.geomspace(max(lo, (hi - lo) / 200), hi, n)
    if layout == "uniform":
        return np.linspace(lo, hi, n)
    u = np.linspace(0, 1, n)
    if layout == "chebyshev":   # held out: dense at both ends
        u = (1 - np.cos(np.pi * u)) / 2
    elif layout == "jitter" and n > 2:
        u = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0, 1, n - 2)]))
    elif layout in ("power", "dense_end", "power_wide", "dense_end_wide"):
        u = u ** (rng.uniform(2.5, 4.0) if layout.endswith("_wide") else rng.uniform(1.5, 2.5))
        if layout.startswith("dense_end"):
            u = 1 - u[::-1]
    return lo + (hi - lo) * u


def _to_units(x_si: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    unit = str(rng.choice(_UNITS[kind]))
    _, factor = to_si(unit)
    return x_si / factor, unit


def case_from_parts(kind: str, mode: str, family: str, c: dict[str, Any],
                    rng: np.random.Generator) -> Case:
    """The :class:`Case` a held-out generation's maker describes in ``c``.

    ``c`` holds the sweep ``x`` in SI units, ``y``, ``stype``, ``noise``, ``truth`` (kept for
    good data only), and optionally ``unit`` (``None``: one of the kind's units drawn from
    ``rng``), ``shots``, ``settings`` and ``prior`` (the node's current π amplitude in SI,
    passed as ``expected_pi_amplitude`` in the sweep's units). A sweep in ``ps`` is rounded to
    whole picoseconds, as a file of integer picoseconds holds it.
    """
    x = np.asarray(c["x"], dtype=float)
    if c["unit"] is None:
        xs, unit = _to_units(x, kind, rng)
    else:
        unit = c["unit"]
        xs = x / to_si(unit)[1]
    if unit == "ps":
        xs = np.round(xs)
    settings = dict(c.get("settings", {}))
    if "prior" in c:
        settings["expected_pi_amplitude"] = float(c["prior"] / to_si(unit)[1])
    truth = c["truth"] if mode == "ok" else {}
    return Case(kind, mode, family, xs, np.asarray(c["y"]), c["stype"], unit, c.get("shots"),
                settings, truth, c["noise"])


def make_case(kind: str, mode: str, rng: np.random.Generator, *,
              family: str | None = None, noise: str | None = None) -> Case:
    """One case of ``kind`` with ``mode``; ``family`` a held-out family (default: train).

    ``noise`` forces the noise of a train case (the random draw still happens, so the stream
    of every other draw is unchanged): ``heavy`` (heavy tails, for tuning: the held-out
    families' Student-t and glitches stay unseen) or any of :data:`NOISES`.
    """
    family = family or f"{kind}/train"
    held = family in HELDOUT
    broad = family.endswith("/train_broad")
    layout = "uniform" if held else str(rng.choice(BROAD_LAYOUTS if broad else TRAIN_LAYOUTS))
    drawn = str(rng.choice(BROAD_NOISES if broad else NOISES))
    noise = noise or drawn
    if family.endswith("/glitches"):
        noise = "glitch"
    level = float(rng.uniform(0.005, 0.04))
    n = int(rng.integers(25, 160))
    settings: dict[str, Any] = {}
    truth: dict[str, float] = {}
    stype = None
    drift = "pink" if held else "pink_random"
    log = False
    if mode == "noisy":
        level = float(rng.uniform(0.25, 0.5))
    if kind == "spectroscopy":
        f0 = float(rng.uniform(4e9, 7e9))
        width = float(rng.uniform(0.2e6, 5e6))
        span = width * rng.uniform(8, 25)
        center = f0 + rng.uniform(-0.25, 0.25) * span
        amp = rng.uniform(0.25, 0.7) * rng.choice([-1, 1])
        n = max(n, int(2.5 * span / width))
        x = _layout(f0 - span / 2, f0 + span / 2, n, rng, layout=layout)
        if mode == "off_range":
            center = f0 + rng.choice([-1, 1]) * span * rng.uniform(0.55, 0.65)
        if mode == "undersampled":
            x = _layout(f0 - span / 2, f0 + span / 2, int(rng.integers(7, 12)), rng,
                        layout=layout)
            width = (x[1] - x[0]) * rng.uniform(0.2, 0.6)
        half = width / 2
        lorentz = half**2 / ((x - center) ** 2 + half**2)
        shape = lorentz
        bg = 0.5 - amp / 2 + (rng.uniform(-0.1, 0.1) if rng.random() < 0.5 else 0) * \
            (x - f0) / span
        if family == "spectroscopy/fano":
            q = rng.uniform(0.3, 1.0) * rng.choice([-1, 1])
            shape = lorentz + q * 2 * half * (x - center) / ((x - center) ** 2 + half**2) / 2
            stype, noise = "magnitude", "gaussian"
        if broad and rng.random() < 0.4:   # a Gaussian line (as population or magnitude)
            shape = np.exp(-4 * math.log(2) * (x - center) ** 2 / width**2)
        if family == "spectroscopy/gaussian_phase":
            shape = np.exp(-4 * math.log(2) * (x - center) ** 2 / width**2)
            stype, noise = "phase", str(rng.choice(["gaussian", "pink"]))
        if mode == "anomalous" and not held:   # train: the line jumps part-way through
            cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
            moved = center + rng.choice([-1, 1]) * rng.uniform(0.15, 0.3) * span
            shape = shape.copy()
            shape[cut:] = half**2 / ((x[cut:] - moved) ** 2 + half**2)
        if family == "spectroscopy/tls_split":
            split = rng.uniform(2.0, 4.0) * width
            a = half**2 / ((x - center + split / 2) ** 2 + half**2)
            b = half**2 / ((x - center - split / 2) ** 2 + half**2)
            shape = 0.5 * (a + b)
        p = bg + amp * shape
        if mode == "no_signal":
            p = bg
        truth["center"] = center
    elif kind == "rabi":
        api = float(rng.uniform(0.05, 0.8))
        phase = float(rng.uniform(-0.08, 0.08))
        damping = float(rng.uniform(0, 0.4) / api) if rng.random() < 0.5 else 0.0
        if broad and rng.random() < 0.6:   # the phase and damping real data have
            phase = float(rng.uniform(-0.3, 0.3))
            damping = float(rng.uniform(0, 0.6) / api)
        if family == "rabi/real_like":
            phase = float(rng.uniform(0.1, 0.3) * rng.choice([-1, 1]))
            damping = float(rng.uniform(0.2, 0.6) / api)
            noise = str(rng.choice(["iq", "pink"]))
        if family == "rabi/chebyshev_t":
            phase = float(rng.uniform(0.05, 0.3) * rng.choice([-1, 1]))
            damping = float(rng.uniform(0.1, 0.5) / api)
            noise, layout = "student", "chebyshev"
        top = api * rng.uniform(2.0, 3.5)
        if mode == "off_range":
            top = api * rng.uniform(0.4, 0.7)
        npts = int(rng.integers(4, 6)) if mode == "undersampled" else n
        x = _layout(0, top, npts, rng, layout=layout)
        c, off = rng.uniform(0.6, 0.95), rng.uniform(0, 0.08)
        xa = x.copy()
        if mode == "anomalous":
            cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
            xa[cut:] = x[cut:] / rng.uniform(1.5, 2.0)
        theta = phase + (np.pi - phase) * xa / api
        p = off + c / 2 * (1 - np.exp(-damping * xa) * np.cos(theta))
        if mode == "no_signal":
            p = np.full_like(x, off)
        truth["pi_amplitude"] = api
    elif kind == "ramsey":
        det = float(rng.uniform(0.3e6, 3e6))
        t2 = float(rng.uniform(5e-6, 80e-6))
        top = min(rng.uniform(1.0, 3.0) * t2, rng.uniform(6, 40) / det)
        lo = 0.0
        if family == "ramsey/short_window":
            det, t2 = 1e6, float(rng.uniform(20e-6, 80e-6))
            lo, top, n = 0.05e-6, 1.95e-6, int(rng.integers(39, 61))
        offset = float(rng.uniform(-0.03, 0.03) * det) if family != "ramsey/short_window" \
            else float(rng.uniform(-20e3, 20e3))
        f = det + offset
        zero = broad and mode in ("ok", "no_signal") and rng.random() < 0.25
        if family == "ramsey/zero_detuning" or zero:
            top = t2 * rng.uniform(1.5, 4.0)
            det, f = 0.0, float(rng.uniform(0, 0.1) / top)
        settings["detuning"] = det
        if family == "ramsey/chebyshev_t":   # good data: >= 3 points per fringe where sparsest
            noise, layout = "student", "chebyshev"
            n = max(n, int(3 * math.pi / 2 * (top - lo) * f) + 2)
        x = _layout(lo, top, n, rng, layout=layout)
        if mode == "undersampled":   # aliased: the step is longer than half a fringe
            x = _layout(0, top, max(int(top * f / rng.uniform(0.55, 0.95)), 8), rng,
                        layout=layout)
        if mode == "off_range":
            x = _layout(0, rng.uniform(0.3, 0.6) / f, n, rng, layout=layout)
        amp, ph = rng.uniform(0.35, 0.5), rng.uniform(-0.3, 0.3)
        p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * np.pi * f * x + ph)
        if mode == "anomalous" and not held:   # train: the frequency jumps part-way through
            cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
            p[cut:] = 0.5 + amp * np.exp(-x[cut:] / t2) * np.cos(
                2 * np.pi * f * rng.uniform(1.3, 1.7) * x[cut:] + ph)
        if family == "ramsey/beating":
            f2 = f + rng.uniform(0.3, 0.6) * f
            p = 0.5 + amp * np.exp(-x / t2) * 0.5 * (np.cos(2 * np.pi * f * x + ph)
                                                       + np.cos(2 * np.pi * f2 * x + ph))
        if mode == "no_signal":
            p = np.full_like(x, 0.5)
        truth["frequency"] = abs(f) if det else t2
        if not det:
            truth = {"t2": t2}
    else:
        tau = float(rng.uniform(10e-6, 200e-6))
        top = tau * rng.uniform(3, 6)
        if family.endswith("/log_drift"):
            log, drift, noise = True, "walk", str(rng.choice(["pink", "binomial", "gaussian"]))
        if mode == "off_range":
            top = tau * rng.uniform(0.05, 0.2)
        npts = int(rng.integers(5, 7)) if mode == "undersampled" else n
        x = _layout(0.0 if not log else top / 300, top, npts, rng, log=log, layout=layout)
        a, off = rng.uniform(0.5, 0.95), rng.uniform(0, 0.1)
        if kind == "echo":
            a, off = -a / 2, 0.5
        p = off + a * np.exp(-x / tau)
        if mode == "anomalous":
            cut = int(rng.integers(len(x) // 3, 2 * len(x) // 3))
            if held:   # held-out: T1 drops part-way through (early, where it shows)
                cut = int(rng.integers(len(x) // 8, len(x) // 4))
                p[cut:] = off + a * np.exp(-x[cut:] / (tau * rng.uniform(0.1, 0.3)))
            else:      # train: a fluctuator resets the population part-way through
                p[cut:] = np.clip(p[cut:] + rng.uniform(0.25, 0.4) * np.sign(0.5 - p[cut:]),
                                  0, 1)
        if broad and mode == "anomalous" and rng.random() < 0.5:
            # two populations: 30-70 % decaying 3-20x faster (a TLS, a second state)
            w, r = rng.uniform(0.3, 0.7), rng.uniform(3, 20)
            p = off + a * ((1 - w) * np.exp(-x / tau) + w * np.exp(-x * r / tau))
        if family == "t1/biexponential":   # held out: half the population decays 4-10x faster
            p = off + a * (0.5 * np.exp(-x / tau) + 0.5 * np.exp(-x / (tau * rng.uniform(0.1,
                                                                                      0.25))))
        if mode == "no_signal":
            p = np.full_like(x, off)
        truth["tau"] = tau
    y, stype, shots = _observe(np.clip(p, 0, 1) if noise == "binomial" else p, rng, noise,
                               level=level, signal_type=stype, drift=drift)
    xs, unit = _to_units(x, kind, rng)
    return Case(kind, mode, family, xs, y, stype, unit, shots, settings, truth, noise)


#: The modes the train families are drawn in: ``noisy`` comes from qplane's own generator
#: only (few shots), since a signal of unknown scale drowned in noise is the same data as no
#: signal at all (the two labels would contradict each other).
TRAIN_MODES = tuple(m for m in MODES if m != "noisy")


def train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` cases of every kind × mode of :data:`TRAIN_MODES` from the train families."""
    rng = np.random.default_rng(seed)
    cases = [make_case(k, m, rng) for k in SWEEP_KINDS for m in MODES for _ in range(per_cell)]
    return [c for c in cases if c.mode in TRAIN_MODES]


def broad_train_set(per_cell: int, *, seed: int) -> list[Case]:
    """``per_cell`` cases of every kind × mode of :data:`TRAIN_MODES` from the broad train
    families (``{kind}/train_broad``)."""
    rng = np.random.default_rng(seed)
    cases = [make_case(k, m, rng, family=f"{k}/train_broad") for k in SWEEP_KINDS for m in MODES
             for _ in range(per_cell)]
    return [c for c in cases if c.mode in TRAIN_MODES]


def heldout_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every held-out family (good and bad, see :data:`HELDOUT`)."""
    rng = np.random.default_rng(seed)
    return [make_case(k, m, rng, family=f) for f, (k, m) in HELDOUT.items()
            for _ in range(per_family)]
