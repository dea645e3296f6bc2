"""The seventh generation of held-out families: sweeps kept blind while the gate, the fits and
the second opinion were tuned in session 7.

The sixth generation (:mod:`qplane.calibration.domain_gen6`) was measured and looked at in
session 6, so it no longer measures transfer honestly. These families were written and
committed *before* anything was tuned or trained in session 7, by a helper that did not run
the gate or the second opinion on them (only a check that every case is well formed and
analysable). Each family brings readouts, noises, layouts or failure kinds that neither the
train families (``train``, ``train_broad``, ``train_wide``, ``train_robust``, the QEC train
set) nor generations 1–6 use, modelled on what labs record:

Good data (the truth is what a physicist calls the answer):

- ``spectroscopy/adaptive_compressed``: an adaptive sampler's layout (a coarse grid, then
  refinement points clustered on the line, given in acquisition order), averaged IQ through a
  readout amplifier in soft compression (Rapp model, 0.3–0.9 dB at the largest signal: the IQ
  trajectory bends; the line stays symmetric, so its centre is the truth);
- ``rabi/jitter_squeezed``: shot-to-shot drive-amplitude jitter (2–6 %: a Gaussian damping in
  the rotation angle) beside an exponential damping and a phase, read through a
  phase-sensitive (JPA-like) amplifier whose IQ noise is 4–10× larger along one quadrature, at
  a random angle to the signal; amplitudes at the chip in µV (``uV``, after 40–60 dB);
- ``rabi/offset_window_p0``: a window starting at 0.3–0.6 π amplitudes, read as the *ground*
  population P(0), with a different number of repetitions per point (N, 2N or 4N: a restarted
  acquisition) and the per-point σ the lab computes from its counts;
- ``ramsey/clock_rounded``: delays requested on a grid that is not a multiple of the AWG's
  clock, applied rounded to 1–4 ns; the file holds the requested delays (errors in the sweep
  values, not in the signal); delays in ``μs`` (the Greek mu, U+03BC);
- ``t1/reference_ratio``: each point normalised by interleaved |0⟩ and |1⟩ reference
  measurements, ``(v − v0) / (v1 − v0)`` (a ratio of noisy quantities), with the readout
  drifting under it;
- ``echo/squeezed_ps``: the phase-sensitive amplifier's anisotropic IQ noise on an echo, delays
  in integer picoseconds (``ps``);
- ``resonator_spectroscopy/thermal_shadow`` (a QEC-lab node): the detected power |S21|² of a
  notch resonator (a scale of 1e-13–1e-11), 201–601 points in absolute ``MHz``, averaged
  over a 1–4 % thermal |1⟩ population whose dispersively shifted dip (1.5–4 linewidths away)
  is a faint second feature; the truth is the |0⟩ resonance;
- ``randomized_benchmarking/sequence_variance`` (a QEC-lab node): integer, roughly geometric
  Clifford lengths, each measured on 3–10 random sequences given as separate points, with a
  sequence-to-sequence spread (coherent errors) up to twice the shot noise; truth ``τ``
  (Cliffords), ``p = e^(−1/τ)``.

Bad data (what a careful physicist refuses):

- ``rabi/accumulator_wrap`` (anomalous): the integrated readout overflows a signed 16-bit
  accumulator near the fringe maxima and wraps by 65536;
- ``rabi/attenuator_removed`` (undersampled): the sweep is built from a π amplitude 16–29 dB
  above the truth (an attenuator changed), so it has only 2.2–3.6 points per fringe period;
- ``ramsey/coherence_lost`` (off_range): the node's long window (a detuning it resolves) on a
  qubit whose T2* dropped to 1–3 steps: less than one fringe, in the first few points;
- ``resonator_spectroscopy/bifurcation`` (anomalous): a Kerr resonator driven past
  bifurcation (a Duffing shark fin with a jump, swept up or down in acquisition order);
- ``t1/tls_switching`` (anomalous): T1 switching between two values (a fluctuator, telegraph
  in acquisition time) under a shuffled acquisition order;
- ``echo/zz_oscillation`` (anomalous): an echo oscillating at an unrefocused ZZ coupling to a
  spectator (2–6 periods over the window);
- ``spectroscopy/readout_off_resonance`` (no_signal): the readout tone parked off the
  resonator, so the qubit's state barely moves the IQ point (< 0.15 σ) under the
  phase-sensitive amplifier's noise.

Experiment settings: where a production node passes settings to ``analyse``, each case carries
what that node would pass, with a realistic prior error (the previous calibration is not the
truth): a Rabi case gives ``expected_pi_amplitude`` (in the sweep's units: the node's current π
amplitude, the truth times ``1 + N(0, 4 %)``; ×6–27 for ``attenuator_removed``), and its sweep
is built from that prior as the node builds it (multiples of the current value); a Ramsey case
gives ``detuning`` (exact: it is a setting), the qubit's offset from the drive being the prior
error. The nodes' *spec* thresholds (``max_relative_error``, the Ramsey node's ``scale``) are
the lab's policy, not experiment settings, and are not passed: the gate judges with the kinds'
defaults as on every other generation.

>>> cases = gen7_set(1, seed=0)
>>> len(cases) == len(GEN7), all(c.family in GEN7 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, case_from_parts
from qplane.calibration.domain_gen6 import _iq_plane

#: family -> (kind, mode)
GEN7 = {
    "spectroscopy/adaptive_compressed": ("spectroscopy", "ok"),
    "rabi/jitter_squeezed": ("rabi", "ok"),
    "rabi/offset_window_p0": ("rabi", "ok"),
    "ramsey/clock_rounded": ("ramsey", "ok"),
    "t1/reference_ratio": ("t1", "ok"),
    "echo/squeezed_ps": ("echo", "ok"),
    "resonator_spectroscopy/thermal_shadow": ("resonator_spectroscopy", "ok"),
    "randomized_benchmarking/sequence_variance": ("randomized_benchmarking", "ok"),
    "rabi/accumulator_wrap": ("rabi", "anomalous"),
    "rabi/attenuator_removed": ("rabi", "undersampled"),
    "ramsey/coherence_lost": ("ramsey", "off_range"),
    "resonator_spectroscopy/bifurcation": ("resonator_spectroscopy", "anomalous"),
    "t1/tls_switching": ("t1", "anomalous"),
    "echo/zz_oscillation": ("echo", "anomalous"),
    "spectroscopy/readout_off_resonance": ("spectroscopy", "no_signal"),
}
#: the relative error of a node's current π amplitude (the prior) against the truth
PRIOR_ERROR = 0.04


def _squeezed(n: int, rng: np.random.Generator, scale: float) -> tuple[np.ndarray, float]:
    """Phase-sensitive amplifier noise: complex, ``scale`` along the squeezed quadrature and
    4-10x that along the amplified one, at a random angle; and the squeezed σ."""
    ratio = rng.uniform(4, 10)
    axis = np.exp(1j * rng.uniform(-np.pi, np.pi))
    return axis * (ratio * scale * rng.normal(size=n) + 1j * scale * rng.normal(size=n)), scale


def _compress(z: np.ndarray, loss: float) -> np.ndarray:
    """A Rapp-model amplifier (smoothness 2) whose gain at the largest ``|z|`` has dropped by
    the fraction ``loss``."""
    top = float(np.max(np.abs(z)))
    sat = top / ((1 - loss) ** -4 - 1) ** 0.25
    return z / (1 + (np.abs(z) / sat) ** 4) ** 0.25


def _rabi_p(x: np.ndarray, api: float, phase: float, kappa: float, jitter: float,
            c: float, off: float) -> np.ndarray:
    """Excited population after a drive of amplitude ``x``: the angle ``phase + (π − phase)
    x / api``, damped by ``exp(−kappa |θ| / π)`` and, for a relative shot-to-shot amplitude
    jitter ``jitter``, by ``exp(−(jitter θ')² / 2)`` (θ' the amplitude-driven part)."""
    drive = (math.pi - phase) * x / api
    theta = phase + drive
    env = np.exp(-kappa * np.abs(theta) / math.pi - 0.5 * (jitter * drive) ** 2)
    return off + c / 2 * (1 - env * np.cos(theta))


def _prior(rng: np.random.Generator, value: float) -> float:
    return float(value * (1 + rng.normal(0, PRIOR_ERROR)))


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))
    span = width * rng.uniform(12, 25)
    center = f0 + float(rng.uniform(-0.25, 0.25) * span)
    half = width / 2
    if family == "spectroscopy/adaptive_compressed":
        coarse = np.linspace(f0 - span / 2, f0 + span / 2, int(rng.integers(20, 41)))
        guess = center + float(rng.uniform(-0.5, 0.5) * width)    # where the sampler refines
        fine = guess + width * rng.normal(0, 1.5, int(rng.integers(30, 81)))
        fine = fine[np.abs(fine - f0) < span / 2]                 # the sampler stays inside
        x = np.concatenate([coarse, fine])                        # acquisition order
        p = rng.uniform(0.3, 0.6) * half**2 / ((x - center) ** 2 + half**2)
        c0, d = _iq_plane(rng)
        level = abs(d) * rng.uniform(0.01, 0.03)
        z = c0 + d * p + level * (rng.normal(size=len(x)) + 1j * rng.normal(size=len(x)))
        loss = 1 - 10 ** (-rng.uniform(0.3, 0.9) / 20)            # 0.3-0.9 dB compression
        out = _compress(z, loss) + 0.2 * level * (rng.normal(size=len(x))
                                                  + 1j * rng.normal(size=len(x)))
        return dict(x=x, y=out, stype="iq", unit="GHz", truth={"center": center},
                    noise="iq_amplifier_compression")
    # readout_off_resonance: the state moves the IQ point by < 0.15 of the squeezed sigma
    n = int(rng.integers(60, 161))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    noise, sq = _squeezed(n, rng, rng.uniform(0.005, 0.03))
    shift = sq * rng.uniform(0.0, 0.15) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    p = half**2 / ((x - center) ** 2 + half**2)
    z = complex(*rng.normal(0, 1, 2)) + shift * p + noise
    return dict(x=x, y=z, stype="iq", unit=None, truth={}, noise="iq_phase_sensitive_amp")


def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    fr = float(rng.uniform(6e9, 7.5e9))
    kappa = float(rng.uniform(0.3e6, 3e6))                        # linewidth (FWHM)
    depth = rng.uniform(0.3, 0.8)
    gain = 10 ** rng.uniform(-13, -11)                            # detected power scale
    if family == "resonator_spectroscopy/thermal_shadow":
        span = kappa * rng.uniform(8, 20)
        n = int(rng.integers(201, 602))
        x = np.linspace(fr - span / 2, fr + span / 2, n) + float(rng.uniform(-0.2, 0.2) * span)
        shift = float(rng.uniform(1.5, 4.0) * kappa * rng.choice([-1, 1]))   # 2 chi
        p_th = rng.uniform(0.01, 0.04)

        def s21(f0: float) -> np.ndarray:
            return 1 - depth / (1 + 2j * (x - f0) / kappa)

        # a power detector averages |S21|^2 over the qubit's thermal state
        power = (1 - p_th) * np.abs(s21(fr)) ** 2 + p_th * np.abs(s21(fr + shift)) ** 2
        y = gain * (power + rng.uniform(0.015, 0.03) * depth * rng.normal(size=n))
        return dict(x=x, y=y, stype="magnitude", unit="MHz", truth={"center": fr},
                    noise="power_thermal_mixture")
    # bifurcation: y [(delta - k y)^2 + 1] = 1, y the photon number over its low-power
    # maximum, delta the detuning in half-linewidths, k = -(3-8) (beyond sqrt(3): bistable)
    k = -float(rng.uniform(3, 8))
    span = kappa / 2 * (abs(k) + rng.uniform(6, 12))
    n = int(rng.integers(151, 402))
    x = np.linspace(fr - span / 2, fr + span / 2, n) + k * kappa / 4
    up = bool(rng.random() < 0.5)
    x = x if up else x[::-1]                                      # the acquisition order
    delta = 2 * (x - fr) / kappa
    photons, prev = np.empty(n), None
    for i, dl in enumerate(delta):
        roots = np.roots([k * k, -2 * dl * k, dl * dl + 1, -1])
        real = roots[np.abs(roots.imag) < 1e-6].real     # (one root always lies in (0, 1])
        real = real[(real > 0) & (real <= 1 + 1e-6)]
        if not len(real):                                # a fold's near-double root
            real = roots[[np.argmin(np.abs(roots.imag))]].real
        prev = float(real[np.argmin(np.abs(real - prev))] if prev is not None
                     else real.min())
        photons[i] = prev
    s21 = 1 - depth / (1 + 1j * (delta - k * photons))
    y = gain * (np.abs(s21) ** 2 + rng.uniform(0.005, 0.02) * depth * rng.normal(size=n))
    return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={}, noise="power_duffing")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    api = float(rng.uniform(0.05, 0.8))
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    kappa = float(rng.uniform(0.05, 0.3))
    c, off = float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06))
    prior = _prior(rng, api)
    if family == "rabi/jitter_squeezed":
        att = 10 ** (-rng.uniform(40, 60) / 20)                   # amplitude at the chip
        api, prior = api * att, prior * att
        n = int(rng.integers(31, 82))
        x = np.linspace(0, prior * rng.uniform(2.0, 3.2), n)
        p = _rabi_p(x, api, phase, kappa, float(rng.uniform(0.02, 0.06)), c, off)
        c0, d = _iq_plane(rng)
        noise, _ = _squeezed(n, rng, abs(d) * rng.uniform(0.002, 0.008))
        return dict(x=x, y=c0 + d * p + noise, stype="iq", unit="uV", prior=prior,
                    truth={"pi_amplitude": api}, noise="iq_phase_sensitive_amp")
    if family == "rabi/offset_window_p0":
        n = int(rng.integers(25, 62))
        x = np.linspace(prior * rng.uniform(0.3, 0.6), prior * rng.uniform(2.4, 3.2), n)
        p = _rabi_p(x, api, phase, kappa, 0.0, c, off)
        shots = int(rng.integers(100, 401)) * rng.choice([1, 2, 4], n)
        ground = rng.binomial(shots, np.clip(1 - p, 0, 1))
        q = (ground + 1) / (shots + 2)                            # the lab's σ from its counts
        return dict(x=x, y=ground / shots, stype="population", unit=None, prior=prior,
                    truth={"pi_amplitude": api}, noise="binomial_varying_repetitions",
                    settings={"sigma": np.sqrt(q * (1 - q) / shots)})
    if family == "rabi/attenuator_removed":
        # the node's sweep (0 to 2.0-2.6 x the current value) from a prior 16-29 dB too large
        # (the prior is the old calibrated value; the truth is smaller by 16-29 dB)
        n = int(rng.choice([31, 41, 51, 61]))
        prior = float(rng.uniform(0.1, 0.8))
        x = np.linspace(0, prior * rng.uniform(2.0, 2.6), n)
        api = float(x[1] / rng.uniform(0.55, 0.9))
        p = _rabi_p(x, api, phase, kappa / 4, 0.0, c, off)
        shots = int(rng.integers(200, 1001))
        return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots, stype="population",
                    unit=None, shots=shots, prior=prior, truth={}, noise="binomial")
    # accumulator_wrap: an int16 accumulator wraps near the fringe maxima
    n = int(rng.integers(40, 101))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    p = _rabi_p(x, api, phase, kappa, 0.0, c, off)
    y = p + rng.normal(0, rng.uniform(0.005, 0.015), n)
    g = rng.uniform(2e4, 6e4) / np.ptp(p)
    q = rng.uniform(0.25, 0.5)                   # the fraction of the swing beyond full scale
    o = 32767 - (np.max(g * p) - q * g * np.ptp(p))
    raw = np.round(o + g * y)
    wrapped = (raw + 32768) % 65536 - 32768
    return dict(x=x, y=wrapped, stype="magnitude", unit=None, prior=prior, truth={},
                noise="int16_accumulator_wrap")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    det = float(rng.uniform(0.5e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))               # the prior's error
    amp, ph = rng.uniform(0.35, 0.5), rng.uniform(-0.3, 0.3)
    shots = int(rng.integers(100, 1001))
    if family == "ramsey/clock_rounded":
        t2 = float(rng.uniform(8e-6, 60e-6))
        top = min(rng.uniform(1.0, 2.5) * t2, rng.uniform(10, 40) / f)
        n = max(int(rng.integers(50, 151)), int(4 * top * f) + 1)
        x = np.linspace(0, top, n) + float(rng.uniform(0, 50e-9))
        clock = float(rng.choice([1e-9, 2e-9, 4e-9]))
        applied = np.round(x / clock) * clock
        p = 0.5 + amp * np.exp(-applied / t2) * np.cos(2 * math.pi * f * applied + ph)
        y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
        return dict(x=x, y=y, stype="population", unit="μs", shots=shots,
                    truth={"frequency": abs(f)}, noise="binomial_clock_rounded_delays",
                    settings={"detuning": det})
    # coherence_lost: the node's 10-30 us window, its detuning resolved by the step (0.1-0.3
    # fringes a step); T2* only 1-3 steps (1-7 % of the window): less than a fringe survives
    top = float(rng.uniform(10e-6, 30e-6))
    n = int(rng.integers(41, 102))
    x = np.linspace(0, top, n)
    det = float(rng.uniform(0.1, 0.3) / x[1])
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    t2 = float(x[1] * rng.uniform(1, 3))
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
    return dict(x=x, y=y, stype="population", unit=None, shots=shots, truth={},
                noise="binomial", settings={"detuning": det})


def _decay(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(10e-6, 200e-6))
    if family == "t1/reference_ratio":
        n = int(rng.integers(30, 91))
        x = np.linspace(0, tau * rng.uniform(4, 7), n)
        p = rng.uniform(0.02, 0.08) + rng.uniform(0.75, 0.92) * np.exp(-x / tau)
        u = np.linspace(-1, 1, n)
        v0 = 1.0 + rng.uniform(0.02, 0.1) * rng.choice([-1, 1]) * u      # drifting readout
        v1 = v0 + rng.uniform(0.5, 2.0) * (1 + rng.uniform(0.02, 0.08) * u)
        s = rng.uniform(0.005, 0.02) * (v1[0] - v0[0])
        r = rng.uniform(1.0, 2.0)                                    # references: fewer shots
        v = v0 + (v1 - v0) * p + rng.normal(0, s, n)
        m0, m1 = v0 + rng.normal(0, r * s, n), v1 + rng.normal(0, r * s, n)
        return dict(x=x, y=(v - m0) / (m1 - m0), stype="population", unit=None,
                    truth={"tau": tau}, noise="reference_ratio")
    if family == "t1/tls_switching":
        n = int(rng.integers(40, 121))
        x = np.linspace(0, tau * rng.uniform(4, 6), n)
        stay = 1 - 1 / rng.uniform(3, 10)                            # dwell 3-10 points
        state = np.empty(n, dtype=bool)
        state[0] = rng.random() < 0.5
        for i in range(1, n):
            state[i] = state[i - 1] if rng.random() < stay else not state[i - 1]
        fast = tau * rng.uniform(0.25, 0.5)
        order = rng.permutation(n)                                   # shuffled acquisition
        xa = x[order]
        a, off = rng.uniform(0.6, 0.95), rng.uniform(0.0, 0.08)
        p = off + a * np.exp(-xa / np.where(state, fast, tau))
        shots = int(rng.integers(200, 1001))
        return dict(x=xa, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots,
                    stype="population", unit=None, shots=shots, truth={},
                    noise="binomial_t1_telegraph")
    n = int(rng.integers(40, 121))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    a = rng.uniform(0.5, 0.95) * rng.choice([-1, 1])
    if family == "echo/squeezed_ps":
        p = 0.5 + a / 2 * np.exp(-x / tau)
        c0, d = _iq_plane(rng)
        noise, _ = _squeezed(n, rng, abs(d) * rng.uniform(0.002, 0.008))
        return dict(x=x, y=c0 + d * p + noise, stype="iq", unit="ps", truth={"tau": tau},
                    noise="iq_phase_sensitive_amp")
    # zz_oscillation: an unrefocused ZZ to a spectator, 2-6 periods over the window
    zz = rng.uniform(2, 6) / x[-1]
    p = 0.5 + a / 2 * np.exp(-x / tau) * np.cos(2 * math.pi * zz * x)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots, stype="population",
                unit=None, shots=shots, truth={}, noise="binomial")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(5e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    lengths = np.unique(np.round(np.geomspace(1, tau * rng.uniform(3, 6),
                                              int(rng.integers(12, 21)))))
    k = int(rng.integers(3, 11))                                   # sequences per length
    m = np.repeat(lengths, k)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    decay = p**m
    spread = rng.uniform(0.05, 0.2) * a * np.sqrt(decay * (1 - decay))
    survival = np.clip(b + a * decay + spread * rng.normal(size=len(m)), 0, 1)
    shots = int(rng.integers(100, 501))
    return dict(x=m, y=rng.binomial(shots, survival) / shots, stype="population", unit="",
                shots=shots, truth={"tau": tau}, noise="binomial_sequence_variance")


_MAKERS = {"spectroscopy": _spectroscopy, "resonator_spectroscopy": _resonator,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _decay, "echo": _decay,
           "randomized_benchmarking": _benchmarking}


def make_gen7_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a seventh-generation held-out ``family`` (see :data:`GEN7`)."""
    kind, mode = GEN7[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen7_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every seventh-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen7_case(f, rng) for f in GEN7 for _ in range(per_family)]
