"""The twelfth generation of held-out families: sweeps kept blind while the gate, the fits and
the second opinion are tuned after the eleventh generation's measurement.

Generations 1–11 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen11``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, by a helper that did
not run the gate, the fits' verdicts or the second opinion on them and did not read how the
gate decides (only a check that every case is well formed and analysable, and that each good
family's truth is right on noiseless data). Each brings a readout, noise, layout or failure
kind that neither the train families nor generations 1–11 use, modelled on what labs record.
Where generations 1–11 put the good data on the single-qubit kinds, here half the good
families are the QEC-lab kinds (CZ, readout amplitude, randomized benchmarking, the
resonator).

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/reflection_phase_wrapped_rad``: the phase (rad) of an overcoupled
  reflection resonator, which winds through 2π across the line, with a residual cable delay
  (5–40 ns) and an arbitrary phase offset, written wrapped into (−π, π]; absolute ``GHz``;
  truth ``f_r`` (where the resonator's own phase turns fastest);
- ``readout_amplitude/permuted_pink_gain``: the assignment fidelity vs the readout amplitude,
  acquired in a random permutation (the sweep written in acquisition order) while the HEMT's
  gain wanders as 1/f noise in time (2–6 % rms of the separation); populations of ``2 N``
  shots; ``V``; truth the noiseless optimum;
- ``rabi/adc8_averaged_iq``: averaged IQ written as signed 8-bit codes (an FPGA averager's
  output word; the full scale 1.2–3 times the largest excursion, so one code is 0.5–3 % of the
  contrast); phase and damping as gen7's; amplitudes in ``mV``; the node's prior (4 % off);
- ``ramsey/student_t_iq_us``: averaged IQ whose technical noise is heavy tailed (Student t
  with 2.5–5 degrees of freedom: mains and ground-loop spikes that survive averaging); delays
  in ``µs``; truth the fringe frequency;
- ``t1/heralded_postselected``: a heralding measurement before the π pulse, each point's
  population computed from the shots heralded in |0⟩ only (the kept count varies point to
  point with the thermal population, 3–12 %, and the herald's error); the qubit re-thermalises
  toward its thermal population with the same ``τ``; delays in ``µs``;
- ``spectroscopy/chebyshev_nodes_homodyne_ghz``: frequencies on Chebyshev nodes (dense at the
  window's edges), the magnitude of a homodyne signal whose qubit response lies at an angle
  (< 75°) to the background's phasor (the line's shape is the magnitude of a complex sum, its
  maximum still at the centre); ``GHz``; truth the line's centre;
- ``cz/attenuator_db_steps``: the CZ flux amplitude set by a step attenuator in 0.1–0.25 dB
  steps from the top of the window down (a geometric, descending grid in ``mV``); binomial
  shots; truth the CZ amplitude;
- ``randomized_benchmarking/sequences_thinning``: one point per sequence length, the mean of
  ``k`` random sequences (their survivals spread as gen7's) where ``k`` falls from 20–40 at
  the shortest length to 3–5 at the longest (the long sequences cost the time); binomial
  shots; truth ``τ`` (``p^m``, ``τ = −1 / ln p``).

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``echo/trigger_before_sequence`` (no_signal): the digitiser triggered before the pulses
  play: every point reads the thermal ground state, averaged IQ with a 1/f drift of the
  readout's offset in time, delays in ``µs``;
- ``drag/long_train_aliased`` (undersampled): a train of 8–20 ±π pulse pairs shrinks the DRAG
  fringe's period by the train's length while the β grid stays coarse: 1.1–1.9 half-periods a
  step (binomial shots);
- ``readout_frequency/window_beyond_dressed_pair`` (off_range): the window (2–4 linewidths
  wide) starting 0.4–1 linewidth beyond the dressed resonances' midpoint, on one side (built
  around a previous cooldown's frequency): the fidelity only falls across it (populations of
  ``2 N`` shots, ``MHz``);
- ``readout_duration/demod_if_mismatch`` (anomalous): the integration's demodulation frequency
  left at a stale IF (0.3–1.5 MHz off after the readout tone was retuned): the integrated
  separation beats as ``|sin(π δ t)|``, so the fidelity falls and recovers 2–4 times across the
  window (``ns``, ``2 N`` shots);
- ``t1/pulse_heating_rise`` (anomalous): the π pulse's dissipation heats the qubit's
  environment (phonons, then quasiparticles reaching the junction 2–4 ``τ`` later, a logistic
  onset 0.3–0.6 ``τ`` wide): after the decay the excited population rises again to 15–35 %
  (averaged IQ, ``µs``);
- ``randomized_benchmarking/lengths_far_too_short`` (off_range): the longest sequence 2–6 % of
  the decay length (a sweep copied from a worse qubit's fast-decay settings): the survival
  hardly falls (binomial shots);
- ``ramsey/virtual_z_not_applied`` (off_range): the sequencer's phase update (the virtual
  detuning) disabled, so the fringe runs at the qubit's residual detuning, 1–3 % of the one
  set: 0.08–0.6 fringe over the window (binomial shots, ``ns``, the set detuning passed);
- ``spectroscopy/photon_number_split`` (anomalous): residual readout photons (a thermal or
  leaking readout tone, mean 0.5–2) split the qubit line into 3–5 resolved peaks ``2 χ``
  apart with Poisson weights (``MHz``).

Experiment settings: as gen7–gen11, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen12_set(1, seed=0)
>>> len(cases) == len(GEN12), all(c.family in GEN12 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _pink, case_from_parts
from qplane.calibration.domain_gen6 import _iq_plane, _lorentz
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p
from qplane.calibration.domain_gen8 import _amplitude_errors
from qplane.calibration.domain_gen10 import _binomial, _readout_draw, thermal_fidelity
from qplane.calibration.domain_gen11 import _iq_noise

#: family -> (kind, mode)
GEN12 = {
    "resonator_spectroscopy/reflection_phase_wrapped_rad": ("resonator_spectroscopy", "ok"),
    "readout_amplitude/permuted_pink_gain": ("readout_amplitude", "ok"),
    "rabi/adc8_averaged_iq": ("rabi", "ok"),
    "ramsey/student_t_iq_us": ("ramsey", "ok"),
    "t1/heralded_postselected": ("t1", "ok"),
    "spectroscopy/chebyshev_nodes_homodyne_ghz": ("spectroscopy", "ok"),
    "cz/attenuator_db_steps": ("cz", "ok"),
    "randomized_benchmarking/sequences_thinning": ("randomized_benchmarking", "ok"),
    "echo/trigger_before_sequence": ("echo", "no_signal"),
    "drag/long_train_aliased": ("drag", "undersampled"),
    "readout_frequency/window_beyond_dressed_pair": ("readout_frequency", "off_range"),
    "readout_duration/demod_if_mismatch": ("readout_duration", "anomalous"),
    "t1/pulse_heating_rise": ("t1", "anomalous"),
    "randomized_benchmarking/lengths_far_too_short": ("randomized_benchmarking", "off_range"),
    "ramsey/virtual_z_not_applied": ("ramsey", "off_range"),
    "spectroscopy/photon_number_split": ("spectroscopy", "anomalous"),
}

__all__ = ["GEN12", "PRIOR_ERROR", "adc_codes", "attenuator_grid", "chebyshev_nodes",
           "demod_separation", "gen12_set", "heralded", "make_gen12_case",
           "reflection", "sequences_per_length", "wrap_rad"]


# --- readout chains and layouts ---------------------------------------------------------------

def chebyshev_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    """The ``n`` Chebyshev nodes of ``[lo, hi]`` in ascending order: ``(lo + hi) / 2 − (hi −
    lo) / 2 · cos((2k + 1) π / 2n)`` (dense at both edges, sparse at the centre).

    >>> np.round(chebyshev_nodes(0.0, 2.0, 3), 6).tolist()
    [0.133975, 1.0, 1.866025]
    """
    k = np.arange(n)
    return (lo + hi) / 2 - (hi - lo) / 2 * np.cos((2 * k + 1) * math.pi / (2 * n))


def adc_codes(z: np.ndarray, full_scale: float, bits: int = 8) -> np.ndarray:
    """Averaged IQ ``z`` written as signed ``bits``-bit codes for I and Q (``full_scale`` the
    value of the largest positive code), rounded and clipped to the word's range.

    >>> adc_codes(np.array([0.5 + 0.25j, 2.0 - 2.0j]), 1.0).tolist()
    [(64+32j), (127-128j)]
    """
    top = 2 ** (bits - 1) - 1
    lsb = full_scale / top

    def word(v: np.ndarray) -> np.ndarray:
        return np.clip(np.round(v / lsb), -top - 1, top)

    z = np.asarray(z)
    return word(z.real) + 1j * word(z.imag)


def wrap_rad(phi: np.ndarray) -> np.ndarray:
    """Phases wrapped into ``(−π, π]``, as an instrument writes them.

    >>> np.round(wrap_rad(np.array([3.5, -3.5, np.pi])), 6).tolist()
    [-2.783185, 2.783185, 3.141593]
    """
    w = np.mod(np.asarray(phi, dtype=float) + math.pi, 2 * math.pi) - math.pi
    return np.where(w == -math.pi, math.pi, w)


def reflection(f: np.ndarray, fr: float, kappa: float, external: float) -> np.ndarray:
    """``S11`` of a one-port reflection resonator at ``f``: ``1 − 2 η / (1 + 2i (f − f_r) /
    κ)`` with ``η = κ_ext / κ`` (``η > 1/2``: overcoupled, the phase winds through 2π).

    >>> complex(reflection(np.array([5.0]), 5.0, 1.0, 0.8)[0])
    (-0.6000000000000001+0j)
    """
    return 1 - 2 * external / (1 + 2j * (np.asarray(f, dtype=float) - fr) / kappa)


def heralded(p_th: float, herald_error: float) -> tuple[float, float]:
    """What a herald before the sequence keeps: the fraction of shots it assigns to |0⟩ (each
    shot thermally excited with probability ``p_th``, the herald wrong with ``herald_error``)
    and the fraction of those kept that started in |1⟩ all the same.

    >>> heralded(0.0, 0.02), heralded(0.1, 0.0)
    ((0.98, 0.0), (0.9, 0.0))
    """
    keep = (1 - p_th) * (1 - herald_error) + p_th * herald_error
    return keep, p_th * herald_error / keep


def attenuator_grid(top: float, step_db: float, n: int) -> np.ndarray:
    """``n`` amplitudes from ``top`` down in steps of ``step_db`` of a step attenuator:
    ``top · 10^(−k step / 20)``.

    >>> np.round(attenuator_grid(1.0, 20.0, 3), 6).tolist()
    [1.0, 0.1, 0.01]
    """
    return top * 10 ** (-np.arange(n) * step_db / 20)


def demod_separation(t: np.ndarray, delta: float) -> np.ndarray:
    """The integrated separation of a steady readout signal demodulated ``delta`` off its
    frequency, over a window ``t``: ``|∫₀ᵗ e^(2πi δ s) ds| = |sin(π δ t)| / (π δ)`` (``t`` at
    ``delta = 0``).

    >>> float(demod_separation(np.array([2.0]), 0.0)[0]), float(demod_separation(np.array([1.0]), 1.0)[0]) < 1e-12
    (2.0, True)
    """
    t = np.asarray(t, dtype=float)
    if delta == 0:
        return t
    return np.abs(np.sin(math.pi * delta * t)) / (math.pi * delta)


def sequences_per_length(m: np.ndarray, first: int, last: int) -> np.ndarray:
    """How many random sequences each length ``m`` gets: ``first`` at the shortest, ``last`` at
    the longest, geometric in the length between (the long sequences cost the time).

    >>> sequences_per_length(np.array([2, 51, 100]), 40, 4).tolist()
    [40, 13, 4]
    """
    m = np.asarray(m, dtype=float)
    u = (m - m.min()) / (m.max() - m.min())
    return np.round(first * (last / first) ** u).astype(int)


def _student_t(n: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    dof = float(rng.uniform(2.5, 5))
    return scale * (rng.standard_t(dof, n) + 1j * rng.standard_t(dof, n))


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # reflection_phase_wrapped_rad
    fr = float(rng.uniform(4e9, 8e9))
    kappa = float(rng.uniform(0.2e6, 2e6))
    eta = float(rng.uniform(0.6, 0.9))
    span = kappa * rng.uniform(10, 25)
    n = int(rng.integers(201, 802))
    centre = fr + float(rng.uniform(-0.15, 0.15) * span)
    x = np.linspace(centre - span / 2, centre + span / 2, n)
    delay = float(rng.uniform(5e-9, 40e-9))                     # the uncompensated cable
    s = reflection(x, fr, kappa, eta) * np.exp(-2j * math.pi * (x - centre) * delay
                                              + 1j * rng.uniform(-np.pi, np.pi))
    s = s + _iq_noise(n, rng.uniform(0.003, 0.015), rng)
    return dict(x=x, y=wrap_rad(np.angle(s)), stype="phase", unit="GHz", truth={"center": fr},
                noise="phase_rad_reflection_wrapped_delay")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # permuted_pink_gain: a random acquisition order, the HEMT's gain 1/f in time
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    best = float(grid[np.argmax(1 - (e0 + e1) / 2)])
    n = int(rng.integers(25, 46))
    x = best * math.exp(rng.normal(0, 0.15)) * np.exp(np.linspace(-0.7, 0.7, n))
    x = x[rng.permutation(n)]
    gain = 1 + rng.uniform(0.02, 0.06) * _pink(n, rng)        # in acquisition order
    e0, e1 = _amplitude_errors(x, width / gain, eps_d, onset, c_t)
    shots = int(rng.integers(1000, 5001))
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="V", shots=2 * shots, truth={"best": best},
                noise="binomial_permuted_pink_gain")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # adc8_averaged_iq
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    n = int(rng.integers(41, 102))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    p = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0,
                float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
    c0, d = _iq_plane(rng)
    z = c0 + d * p + _iq_noise(n, abs(d) * rng.uniform(0.005, 0.02), rng)
    full = float(np.max(np.abs(np.concatenate([z.real, z.imag]))) * rng.uniform(1.2, 3.0))
    return dict(x=x, y=adc_codes(z, full), stype="iq", unit="mV", prior=prior,
                truth={"pi_amplitude": api}, noise="iq_adc8_codes")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    if family == "ramsey/student_t_iq_us":
        f = det * (1 + float(rng.uniform(-0.03, 0.03)))          # the prior's error
        t2 = float(rng.uniform(5e-6, 50e-6))
        top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(8, 25) / f)
        n = max(int(rng.integers(50, 121)), int(4 * top * f) + 1)
        x = np.linspace(0, top, n)
        p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
        c0, d = _iq_plane(rng)
        z = c0 + d * p + _student_t(n, abs(d) * rng.uniform(0.005, 0.02), rng)
        return dict(x=x, y=z, stype="iq", unit="us", truth={"frequency": abs(f)},
                    noise="iq_student_t_technical", settings={"detuning": det})
    # virtual_z_not_applied: the fringe at the residual detuning only
    f = det * float(rng.uniform(0.01, 0.03)) * rng.choice([-1, 1])
    top = float(rng.uniform(8, 20)) / det
    t2 = top * float(rng.uniform(2, 6))
    n = int(rng.integers(40, 91))
    x = np.linspace(0, top, n)
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    shots = int(rng.integers(100, 601))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="ns", shots=shots,
                truth={}, noise="binomial_virtual_z_disabled", settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(30, 81))
    x = np.linspace(0, tau * rng.uniform(4, 6), n)
    if family == "t1/heralded_postselected":
        p_th = float(rng.uniform(0.03, 0.12))
        keep, q = heralded(p_th, float(rng.uniform(0.01, 0.03)))
        shots = int(rng.integers(300, 2001))
        kept = np.maximum(rng.binomial(shots, keep, n), 1)      # varies point to point
        p = p_th + (1 - q - p_th) * np.exp(-x / tau)            # re-thermalising with tau
        e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.08))
        read = p * (1 - e1) + (1 - p) * e0
        y = rng.binomial(kept, np.clip(read, 0, 1)) / kept
        return dict(x=x, y=y, stype="population", unit="us", shots=shots, truth={"tau": tau},
                    noise="binomial_heralded_postselected")
    # pulse_heating_rise: the population re-rises toward a hot level
    hot, late = float(rng.uniform(0.15, 0.35)), tau * float(rng.uniform(2, 4))
    onset = tau * float(rng.uniform(0.3, 0.6))
    x = np.linspace(0, tau * rng.uniform(6, 10), n)
    p = rng.uniform(0.8, 0.95) * np.exp(-x / tau) + hot / (1 + np.exp(-(x - late) / onset))
    c0, d = _iq_plane(rng)
    z = c0 + d * p + _iq_noise(n, abs(d) * rng.uniform(0.005, 0.02), rng)
    return dict(x=x, y=z, stype="iq", unit="us", truth={}, noise="iq_pulse_heating_rise")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # trigger_before_sequence: every point the thermal ground state
    tau = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(40, 101))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    p = np.full(n, float(rng.uniform(0.01, 0.08)))
    c0, d = _iq_plane(rng)
    drift = abs(d) * rng.uniform(0.01, 0.04) * (_pink(n, rng) + 1j * _pink(n, rng))
    z = c0 + d * p + drift + _iq_noise(n, abs(d) * rng.uniform(0.005, 0.02), rng)
    return dict(x=x, y=z, stype="iq", unit="us", truth={}, noise="iq_trigger_early_pink_drift")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))
    span = width * rng.uniform(12, 25)
    centre = f0 + float(rng.uniform(-0.2, 0.2) * span)
    if family == "spectroscopy/chebyshev_nodes_homodyne_ghz":
        n = int(rng.integers(80, 201))
        x = chebyshev_nodes(f0 - span / 2, f0 + span / 2, n)
        base = rng.uniform(0.5, 2.0)
        h = base * rng.uniform(0.1, 0.6)
        angle = float(rng.uniform(-1.3, 1.3))                    # |angle| < 75 degrees
        s = base + h * np.exp(1j * angle) * _lorentz(x, centre, width)
        y = np.abs(s + _iq_noise(n, h * rng.uniform(0.01, 0.04), rng))
        return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={"center": centre},
                    noise="magnitude_homodyne_chebyshev")
    # photon_number_split: Poisson-weighted peaks 2 chi apart
    n = int(rng.integers(150, 301))
    chi2 = width * float(rng.uniform(2, 5))
    nbar = float(rng.uniform(0.5, 2.0))
    peaks = int(rng.integers(3, 6))
    weights = np.array([math.exp(-nbar) * nbar**k / math.factorial(k) for k in range(peaks)])
    lines = [centre + chi2 * (peaks - 1) / 2 - chi2 * k for k in range(peaks)]
    span = chi2 * (peaks - 1) + width * rng.uniform(10, 16)
    x = np.linspace(centre - span / 2, centre + span / 2, n)
    h = rng.uniform(0.2, 1.0) * rng.choice([-1, 1])
    line = sum(w * _lorentz(x, c, width) for w, c in zip(weights / weights.max(), lines))
    y = rng.uniform(0.5, 2.0) + h * line + abs(h) * rng.uniform(0.01, 0.04) * rng.normal(size=n)
    return dict(x=x, y=y, stype="magnitude", unit="MHz", truth={},
                noise="magnitude_photon_number_split")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # attenuator_db_steps: a descending geometric grid in dB steps
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    step = float(rng.uniform(0.1, 0.25))
    top = best * float(rng.uniform(1.2, 1.35))
    n = int(math.ceil(20 * math.log10(top / (best * rng.uniform(0.7, 0.82))) / step)) + 1
    x = attenuator_grid(top, step, max(n, 21))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    shots = int(rng.integers(1000, 4001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                truth={"cz_amplitude": best}, noise="binomial_attenuator_db_steps")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    shots = int(rng.integers(100, 501))
    if family == "randomized_benchmarking/sequences_thinning":
        m = np.unique(np.round(np.linspace(1, tau * rng.uniform(2.5, 5),
                                           int(rng.integers(20, 41)))))
        k = sequences_per_length(m, int(rng.integers(20, 41)), int(rng.integers(3, 6)))
        decay = p**m
        spread = rng.uniform(0.05, 0.2) * a * np.sqrt(decay * (1 - decay))
        y = np.empty(len(m))
        for i in range(len(m)):   # the mean of k sequences, each read with `shots`
            seq = np.clip(b + a * decay[i] + spread[i] * rng.normal(size=k[i]), 0, 1)
            y[i] = float(np.mean(rng.binomial(shots, seq) / shots))
        return dict(x=m, y=y, stype="population", unit="", shots=shots, truth={"tau": tau},
                    noise="binomial_sequences_thinning")
    # lengths_far_too_short: the longest 2-6 % of the decay length
    top = max(tau * float(rng.uniform(0.02, 0.06)), 25.0)
    m = np.unique(np.round(np.linspace(1, top, int(rng.integers(20, 31)))))
    y = _binomial(b + a * p**m, shots, rng)
    return dict(x=m, y=y, stype="population", unit="", shots=shots, truth={},
                noise="binomial_lengths_far_too_short")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # long_train_aliased: the fringe's half-period shrunk by the train length
    best = float(rng.uniform(0.05, 0.6) * rng.choice([-1, 1]))
    pairs = int(rng.integers(8, 21))
    half = float(rng.uniform(1.0, 1.6)) * float(rng.uniform(0.6, 1.1)) / pairs
    step = half * float(rng.uniform(1.1, 1.9))
    n = int(rng.integers(21, 42))
    current = best + float(rng.uniform(-0.15, 0.15))
    x = current + step * (np.arange(n) - (n - 1) / 2)
    off, amp = float(rng.uniform(0.02, 0.1)), float(rng.uniform(0.3, 0.9))
    p = off + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_long_train_aliased")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # window_beyond_dressed_pair
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))
    side = float(rng.choice([-1, 1]))
    near = r["mid"] + side * float(rng.uniform(0.4, 1.0)) * kappa
    x = np.sort(np.linspace(near, near + side * float(rng.uniform(2, 4)) * kappa,
                            int(rng.integers(31, 62))))
    fid = thermal_fidelity(x, tilt=0.0, p_th=float(rng.uniform(0.005, 0.03)),
                           floor=float(rng.uniform(0.01, 0.04)), **r)
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={}, noise="binomial_window_beyond_dressed")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # demod_if_mismatch: the separation beats as |sin(pi delta t)|
    from scipy.special import erfc

    delta = float(rng.uniform(0.3e6, 1.5e6))
    top = float(rng.uniform(2, 4)) / delta
    x = np.unique(np.round(np.linspace(rng.uniform(20e-9, 60e-9), top,
                                       int(rng.integers(30, 61))) / 1e-9)) * 1e-9
    snr = float(rng.uniform(3, 8)) / math.sqrt(200e-9)           # σ per sqrt(s) of window
    t1 = float(rng.uniform(20e-6, 80e-6))
    s = snr * demod_separation(x, delta) / np.sqrt(x)
    e = 0.5 * erfc(s / (2 * math.sqrt(2)))
    decay = 1 - np.exp(-x / (2 * t1))                   # about half the decays misassigned
    shots = int(rng.integers(1000, 3001))
    f = 1 - (rng.binomial(shots, np.clip(e, 0, 1))
             + rng.binomial(shots, np.clip(e + decay * (1 - 2 * e), 0, 1))) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="ns", shots=2 * shots, truth={},
                noise="binomial_demod_if_beat")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen12_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a twelfth-generation held-out ``family`` (see :data:`GEN12`)."""
    kind, mode = GEN12[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen12_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every twelfth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen12_case(f, rng) for f in GEN12 for _ in range(per_family)]
