"""The tenth generation of held-out families: sweeps kept blind while the gate, the fits and
the second opinion are tuned in session 12.

Generations 1–9 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen9``) have
all been measured and looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned or trained in session 12, by a
helper that did not run the gate, the fits' verdicts or the second opinion on them and did not
read how the gate decides (only a check that every case is well formed and analysable, and
that each good family's truth is right on noiseless data). Each brings a readout, noise, layout
or failure kind that neither the train families nor generations 1–9 use, modelled on what labs
record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/twpa_compressed_descending``: a notch resonator's ``|S21|`` read
  through a travelling-wave parametric amplifier driven 1–3 dB into compression (a Rapp
  model, smoothness 1: monotone, so the dip's minimum stays at ``f_r``), the amplifier's
  added noise entering before the compression and a HEMT's after it; swept from the top of
  the window down (descending, in ``GHz``); truth ``f_r``;
- ``readout_frequency/thermal_fidelity_descending_ghz``: the assignment fidelity vs the
  readout tone (binomial shots of both preparations, ``2 N``) with a thermal excited
  population of 2–10 % in both (the π pulse swaps it into |0⟩), a decay floor, and an SNR
  that tilts 2–8 % a linewidth across the band (the amplifier's noise temperature), so the
  optimum sits slightly off the dressed frequencies' midpoint; swept downward in ``GHz``;
  truth the maximum of the noiseless fidelity;
- ``rabi/rotated_i_wrong_angle``: averaged IQ rotated onto I with an angle calibrated on an
  earlier cooldown (15–40° off) and only I written (a magnitude: the contrast ``× cos`` of the
  error, the Q noise folded in); phase and damping as gen7's; the node's prior (4 % off);
- ``ramsey/one_over_f_phase_noise``: a Ramsey under 1/f frequency noise: a Gaussian decay
  ``exp(−(t/T_φ)²)`` times ``exp(−t / 2T1)``, and a zero-mean pink wander of the detuning
  (0.05–0.2 % rms) from one acquired point to the next; binomial shots; truth the mean
  fringe frequency;
- ``t1/heating_shuffled_repeats``: every delay 2–4 times, in a shuffled order, while the
  qubit's thermal population rises 1–4 % over the run (a heating line); binomial shots;
  delays in ``ms``;
- ``echo/iq_image_leakage``: averaged IQ through an IQ demodulator with a gain (5–20 %) and
  phase (3–15°) imbalance, which adds the mirror image ``β z*`` of every point (a real-linear
  map: the population stays affine), and an LO leakage offset;
- ``spectroscopy/flux_drift_khz``: the qubit's flux drifting linearly during the sweep
  (0.1–0.5 linewidths over the window) with 1/f flux jitter on top: the line is seen where
  the sweep meets the drifting qubit, at ``x* = (f_start − r x₀) / (1 − r)`` (``r`` the drift
  per unit of sweep), broadened by ``1 / (1 − r)``; absolute frequencies in ``kHz``; truth
  ``x*``;
- ``drag/shuffled_repeats``: the DRAG fringe with every β measured 2–3 times, all points in a
  shuffled order; binomial shots; truth β*.

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``cz/tls_crossing`` (anomalous): the CZ pulse takes the qubit through a two-level system
  near the operating point: a narrow swap (1–3 % of the amplitude wide, 30–70 % deep) of the
  control's excitation into the TLS, which then acquires no conditional phase, pulls the
  fringe toward its no-CZ level: a bump at the fringe's minimum;
- ``readout_amplitude/above_transitions`` (off_range): the window (``×e^(±0.7)``) built from a
  current value ``e^1.3``–``e^2`` above the optimum, entirely in the measurement-induced
  transitions: the fidelity only falls (population, ``2 N`` shots, ``mV``);
- ``readout_duration/tls_switching_t1`` (anomalous): a TLS switching in and out of resonance
  during the run (telegraph, 3–8 points a dwell) flips T1 between 30–80 µs and 1–3 µs: the
  fidelity jumps between two curves (independent traces, threshold at half the separation);
- ``randomized_benchmarking/heating_drift`` (anomalous): the sequence lengths swept 2–3
  times while the fridge heats: each pass's error per Clifford 1.5–2.5× the last, so every
  length carries two or three decays;
- ``t1/tls_beating`` (anomalous): the qubit resonant with a TLS: the excitation swaps back
  and forth (30–70 % contrast, 2–5 beats over the window) while it decays (averaged IQ);
- ``echo/amplifier_saturated_flat`` (no_signal): a leaked pump tone saturates the readout
  amplifier: the echo's contrast is 0.2–0.8 of the noise, on a flat saturated level;
- ``rabi/prior_wrong_prefix`` (undersampled): the prior π amplitude entered in V instead of
  mV, so the node's sweep ``0 … 2–3 × prior`` is clipped to the AWG's full scale (1 V): the
  true π amplitude is 0.6–1.5 fringes a step (binomial shots, ``mV``);
- ``readout_frequency/heterodyne_image_two_dips`` (anomalous): the heterodyne image sideband
  (30–60 % of the probe, at ``2 f_IF`` = 3–6 linewidths) also reads the resonator: the
  assignment *error* has two dips; populations of ``2 N`` shots in ``Hz``.

Experiment settings: as gen7–gen9, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen10_set(1, seed=0)
>>> len(cases) == len(GEN10), all(c.family in GEN10 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _pink, case_from_parts
from qplane.calibration.domain_gen6 import _iq_plane
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p
from qplane.calibration.domain_gen8 import _amplitude_errors, _duration_truth
from qplane.calibration.domain_gen9 import fixed_threshold_fidelity

#: family -> (kind, mode)
GEN10 = {
    "resonator_spectroscopy/twpa_compressed_descending": ("resonator_spectroscopy", "ok"),
    "readout_frequency/thermal_fidelity_descending_ghz": ("readout_frequency", "ok"),
    "rabi/rotated_i_wrong_angle": ("rabi", "ok"),
    "ramsey/one_over_f_phase_noise": ("ramsey", "ok"),
    "t1/heating_shuffled_repeats": ("t1", "ok"),
    "echo/iq_image_leakage": ("echo", "ok"),
    "spectroscopy/flux_drift_khz": ("spectroscopy", "ok"),
    "drag/shuffled_repeats": ("drag", "ok"),
    "cz/tls_crossing": ("cz", "anomalous"),
    "readout_amplitude/above_transitions": ("readout_amplitude", "off_range"),
    "readout_duration/tls_switching_t1": ("readout_duration", "anomalous"),
    "randomized_benchmarking/heating_drift": ("randomized_benchmarking", "anomalous"),
    "t1/tls_beating": ("t1", "anomalous"),
    "echo/amplifier_saturated_flat": ("echo", "no_signal"),
    "rabi/prior_wrong_prefix": ("rabi", "undersampled"),
    "readout_frequency/heterodyne_image_two_dips": ("readout_frequency", "anomalous"),
}

__all__ = ["GEN10", "PRIOR_ERROR", "drifting_line_centre", "gen10_set", "iq_imbalance",
           "make_gen10_case", "rapp_compress", "thermal_fidelity", "thermal_fidelity_best"]


# --- readout chains ---------------------------------------------------------------------------

def rapp_compress(m: np.ndarray, loss_db: float) -> np.ndarray:
    """An amplifier's output magnitude for input magnitudes ``m`` (a Rapp model, smoothness 1,
    unit small-signal gain) whose gain at the largest ``m`` has dropped by ``loss_db`` dB:
    ``m / √(1 + (m / m_sat)²)``, monotone in ``m``.

    >>> out = rapp_compress(np.array([0.1, 1.0]), 1.0)
    >>> round(float(20 * np.log10(out[1])), 6)
    -1.0
    """
    m = np.asarray(m, dtype=float)
    top = float(np.max(m))
    sat = top / math.sqrt(10 ** (loss_db / 10) - 1)
    return m / np.sqrt(1 + (m / sat) ** 2)


def iq_imbalance(z: np.ndarray, gain: float, phase: float) -> np.ndarray:
    """What an IQ demodulator with relative gain ``gain`` and quadrature phase error ``phase``
    (rad) records for the true phasors ``z``: ``I' = I``, ``Q' = gain (Q cos φ − I sin φ)``,
    i.e. ``α z + β z*`` (a real-linear map of the plane).

    >>> complex(iq_imbalance(np.array([1j]), 1.0, 0.0)[0])
    1j
    """
    z = np.asarray(z)
    return z.real + 1j * gain * (z.imag * math.cos(phase) - z.real * math.sin(phase))


def _separation(f: np.ndarray, mid: float, chi: float, kappa: float, depth: float
                ) -> np.ndarray:
    """``|S21₀ − S21₁|`` of notch responses at ``mid ∓ chi`` (linewidth ``kappa``)."""
    f = np.asarray(f, dtype=float)
    return np.abs(depth / (1 + 2j * (f - mid + chi) / kappa)
                  - depth / (1 + 2j * (f - mid - chi) / kappa))


def thermal_fidelity(f: np.ndarray, mid: float, chi: float, kappa: float, depth: float,
                     snr: float, tilt: float, p_th: float, floor: float) -> np.ndarray:
    """The assignment fidelity at readout frequencies ``f``: blobs ``snr (1 + tilt (f − mid) /
    kappa) |S21₀ − S21₁|`` σ apart (an erfc overlap ``e``), a thermal excited population
    ``p_th`` in both preparations and a decay floor ``floor`` on |1⟩:
    ``1 − ((1 − p_th)(2e + floor) + 2 p_th (1 − e)) / 2``."""
    from scipy.special import erfc

    s = snr * (1 + tilt * (np.asarray(f) - mid) / kappa) * _separation(f, mid, chi, kappa,
                                                                        depth)
    e = 0.5 * erfc(s / (2 * math.sqrt(2)))
    return 1 - ((1 - p_th) * (2 * e + floor) + 2 * p_th * (1 - e)) / 2


def thermal_fidelity_best(mid: float, chi: float, kappa: float, depth: float, snr: float,
                          tilt: float) -> float:
    """The frequency of the highest :func:`thermal_fidelity` (it falls with the overlap, so
    the highest SNR; ``p_th`` and the floor do not move it), found on a grid and refined."""
    from scipy.optimize import minimize_scalar

    def snr_at(u: np.ndarray) -> np.ndarray:   # u: the offset from mid in linewidths
        return (1 + tilt * u) * _separation(mid + u * kappa, mid, chi, kappa, depth)

    grid = np.linspace(-2, 2, 4001)
    i = int(np.argmax(snr_at(grid)))
    res = minimize_scalar(lambda u: -float(snr_at(np.array([u]))[0]),
                          bounds=(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]),
                          method="bounded", options={"xatol": 1e-10})
    return mid + float(res.x) * kappa


def drifting_line_centre(f_start: float, x0: float, r: float) -> float:
    """Where a sweep ``x = x₀ + s t`` meets a qubit drifting as ``f_start + r s t`` (``r`` the
    drift per unit of sweep): ``x* = (f_start − r x₀) / (1 − r)``.

    >>> drifting_line_centre(10.0, 0.0, 0.0), drifting_line_centre(10.0, 0.0, 0.5)
    (10.0, 20.0)
    """
    return (f_start - r * x0) / (1 - r)


def _binomial(p: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    return rng.binomial(shots, np.clip(p, 0, 1)) / shots


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # twpa_compressed_descending
    fr = float(rng.uniform(6e9, 7.5e9))
    kappa = float(rng.uniform(0.3e6, 3e6))
    span = kappa * rng.uniform(8, 20)
    n = int(rng.integers(201, 802))
    centre = fr + float(rng.uniform(-0.15, 0.15) * span)
    x = np.linspace(centre + span / 2, centre - span / 2, n)            # descending
    depth = rng.uniform(0.4, 0.9)
    s21 = 1 - depth / (1 + 2j * (x - fr) / kappa)
    added = rng.uniform(0.005, 0.02) * (rng.normal(size=n) + 1j * rng.normal(size=n))
    out = rapp_compress(np.abs(s21 + added), float(rng.uniform(1, 3)))
    out = out + rng.uniform(0.001, 0.004) * rng.normal(size=n)        # the HEMT's noise
    gain = 10 ** (rng.uniform(-1, 1))
    return dict(x=x, y=gain * out, stype="magnitude", unit="GHz", truth={"center": fr},
                noise="twpa_compression_descending")


def _readout_draw(rng: np.random.Generator) -> dict[str, float]:
    mid = float(rng.uniform(6e9, 7.5e9))
    kappa = float(rng.uniform(0.5e6, 3e6))
    chi = kappa * float(rng.uniform(0.5, 0.95)) / 2
    depth = float(rng.uniform(0.5, 0.95))
    snr = float(rng.uniform(3, 6)) / float(_separation(np.array([mid]), mid, chi, kappa,
                                                      depth)[0])
    return dict(mid=mid, chi=chi, kappa=kappa, depth=depth, snr=snr)


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))                     # per state
    floor = float(rng.uniform(0.01, 0.05))
    if family == "readout_frequency/thermal_fidelity_descending_ghz":
        tilt = float(rng.uniform(0.02, 0.08) * rng.choice([-1, 1]))
        p_th = float(rng.uniform(0.02, 0.10))
        best = thermal_fidelity_best(tilt=tilt, **r)
        current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
        half = kappa * float(rng.uniform(2, 3.5))
        x = np.linspace(current + half, current - half, int(rng.integers(31, 62)))
        fid = thermal_fidelity(x, tilt=tilt, p_th=p_th, floor=floor, **r)
        return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="GHz",
                    shots=2 * shots, truth={"center": best}, noise="binomial_thermal_tilted_snr")
    # heterodyne_image_two_dips: the image sideband 2 f_IF below also reads the resonator
    from scipy.special import erfc

    two_if = kappa * float(rng.uniform(3, 6))
    rho = float(rng.uniform(0.3, 0.6)) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    x = np.linspace(r["mid"] - kappa * rng.uniform(3, 4),
                    r["mid"] + two_if + kappa * rng.uniform(3, 4), int(rng.integers(41, 82)))

    def delta(f: np.ndarray) -> np.ndarray:
        d = r["depth"]
        return (d / (1 + 2j * (f - r["mid"] - r["chi"]) / kappa)
                - d / (1 + 2j * (f - r["mid"] + r["chi"]) / kappa))

    s = r["snr"] * np.abs(delta(x) + rho * delta(x - two_if))
    err = 0.5 * erfc(s / (2 * math.sqrt(2))) + floor / 2
    return dict(x=x, y=_binomial(err, 2 * shots, rng), stype="population", unit="Hz",
                shots=2 * shots, truth={}, noise="binomial_heterodyne_image")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    if family == "rabi/rotated_i_wrong_angle":
        api = float(rng.uniform(0.05, 0.8))
        prior = _prior(rng, api)
        n = int(rng.integers(31, 82))
        x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
        p = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0,
                    float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
        c0, d = _iq_plane(rng)
        z = c0 + d * p + abs(d) * rng.uniform(0.01, 0.04) * (rng.normal(size=n)
                                                             + 1j * rng.normal(size=n))
        wrong = math.radians(rng.uniform(15, 40)) * rng.choice([-1, 1])
        angle = float(np.angle(d)) + wrong                       # the lab's rotation
        y = np.real((z - c0 * (1 + rng.normal(0, 0.05))) * np.exp(-1j * angle))
        return dict(x=x, y=y, stype="magnitude", unit="mV", prior=prior,
                    truth={"pi_amplitude": api}, noise="i_quadrature_misrotated")
    # prior_wrong_prefix: the prior in V for mV, the sweep clipped to the AWG's 1 V
    n = int(rng.integers(41, 82))
    step = 1.0 / (n - 1)
    api = step / (2 * float(rng.uniform(0.6, 1.5)))               # fringes a step 0.6-1.5
    prior = _prior(rng, api) * 1000
    x = np.linspace(0, min(prior * rng.uniform(2.0, 3.0), 1.0), n)
    p = _rabi_p(x, api, phase, float(rng.uniform(0.002, 0.01)), 0.0,
                float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                prior=prior, truth={}, noise="binomial_full_scale_clipped")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # one_over_f_phase_noise
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.5e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))              # the prior's error
    t_phi = float(rng.uniform(5e-6, 40e-6))
    t1 = t_phi * float(rng.uniform(2, 10))
    top = min(rng.uniform(1.2, 2.0) * t_phi, rng.uniform(10, 40) / f)
    n = max(int(rng.integers(60, 151)), int(4 * top * f) + 1)
    x = np.linspace(0, top, n)
    wander = f * rng.uniform(5e-4, 2e-3) * _pink(n, rng)          # zero mean
    p = 0.5 + amp * np.exp(-(x / t_phi) ** 2 - x / (2 * t1)) * np.cos(
        2 * math.pi * (f + wander) * x + ph)
    shots = int(rng.integers(100, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit=None, shots=shots,
                truth={"frequency": abs(f)}, noise="binomial_one_over_f_frequency",
                settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(10e-6, 200e-6))
    if family == "t1/heating_shuffled_repeats":
        delays = np.linspace(0, tau * rng.uniform(4, 6), int(rng.integers(20, 41)))
        x = rng.permutation(np.repeat(delays, int(rng.integers(2, 5))))
        p0 = float(rng.uniform(0.005, 0.02))
        p_th = p0 + rng.uniform(0.01, 0.04) * np.linspace(0, 1, len(x))   # heating
        p = p_th + (rng.uniform(0.85, 0.97) - p_th) * np.exp(-x / tau)
        shots = int(rng.integers(200, 1001))
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="ms",
                    shots=shots, truth={"tau": tau}, noise="binomial_heating_shuffled")
    # tls_beating: the excitation swaps with a resonant TLS while it decays
    n = int(rng.integers(60, 151))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    g = math.pi * float(rng.uniform(2, 5)) / x[-1]                # 2-5 beats
    c = float(rng.uniform(0.3, 0.7))
    p = rng.uniform(0.0, 0.05) + rng.uniform(0.7, 0.95) * np.exp(-x / tau) * (
        1 - c * np.sin(g * x) ** 2)
    c0, d = _iq_plane(rng)
    z = c0 + d * p + abs(d) * rng.uniform(0.005, 0.02) * (rng.normal(size=n)
                                                          + 1j * rng.normal(size=n))
    return dict(x=x, y=z, stype="iq", unit=None, truth={}, noise="iq_tls_beating")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(40, 101))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    a = rng.uniform(0.6, 0.95) * rng.choice([-1, 1])
    p = 0.5 + a / 2 * np.exp(-x / tau)
    if family == "echo/iq_image_leakage":
        c0, d = _iq_plane(rng)
        z = c0 + d * p + abs(d) * rng.uniform(0.005, 0.02) * (rng.normal(size=n)
                                                              + 1j * rng.normal(size=n))
        gain = 1 + float(rng.uniform(0.05, 0.2) * rng.choice([-1, 1]))
        phi = math.radians(rng.uniform(3, 15)) * rng.choice([-1, 1])
        leak = abs(d) * rng.uniform(0.2, 1.0) * np.exp(1j * rng.uniform(-np.pi, np.pi))
        return dict(x=x, y=iq_imbalance(z, gain, phi) + leak, stype="iq", unit=None,
                    truth={"tau": tau}, noise="iq_imbalance_image")
    # amplifier_saturated_flat: the contrast 0.2-0.8 of the noise on a saturated level
    sigma = float(rng.uniform(0.005, 0.02))
    contrast = sigma * float(rng.uniform(0.2, 0.8)) / abs(a)
    level = float(rng.uniform(0.5, 2.0))
    y = level * (1 - contrast * p) + sigma * level * rng.normal(size=n)
    return dict(x=x, y=y, stype="magnitude", unit=None, truth={},
                noise="magnitude_saturated_amplifier")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # flux_drift_khz: the qubit drifts linearly (plus 1/f jitter) during an ascending sweep
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))
    span = width * rng.uniform(12, 25)
    n = int(rng.integers(80, 201))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    f_start = f0 + float(rng.uniform(-0.25, 0.25) * span)
    r = float(rng.uniform(0.1, 0.5) * rng.choice([-1, 1])) * width / span
    qubit = f_start + r * (x - x[0]) + width * rng.uniform(0.02, 0.05) * _pink(n, rng)
    half = width / 2
    line = half**2 / ((x - qubit) ** 2 + half**2)
    h = rng.uniform(0.2, 1.0) * rng.choice([-1, 1])
    y = rng.uniform(0.5, 2.0) + h * line + abs(h) * rng.uniform(0.01, 0.05) * rng.normal(size=n)
    return dict(x=x, y=y, stype="magnitude", unit="kHz",
                truth={"center": drifting_line_centre(f_start, float(x[0]), r)},
                noise="magnitude_flux_drift")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # shuffled_repeats
    best = float(rng.uniform(0.05, 0.6) * rng.choice([-1, 1]))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 1.1))
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    grid = np.linspace(current - span / 2, current + span / 2, int(rng.integers(21, 42)))
    x = rng.permutation(np.repeat(grid, int(rng.integers(2, 4))))
    off, amp = float(rng.uniform(0.0, 0.1)), float(rng.uniform(0.3, 0.9))
    p = off + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={"center": best}, noise="binomial_shuffled_repeats")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # tls_crossing: a narrow swap into a TLS near the operating point
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    current = best * (1 + float(rng.uniform(-0.05, 0.05)))
    x = current * np.linspace(0.8, 1.2, int(rng.integers(31, 62)))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    at, w = best * float(rng.uniform(0.92, 1.08)), best * float(rng.uniform(0.01, 0.03))
    swap = rng.uniform(0.3, 0.7) * (w / 2) ** 2 / ((x - at) ** 2 + (w / 2) ** 2)
    p = (1 - swap) * p + swap * off            # a swapped control acquires no conditional phase
    shots = int(rng.integers(1000, 4001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="V", shots=shots,
                truth={}, noise="binomial_tls_swap")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # above_transitions: the window above the optimum, in the induced transitions
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    best = float(grid[np.argmax(1 - (e0 + e1) / 2)])
    current = best * math.exp(rng.uniform(1.3, 2.0))
    x = current * np.exp(np.linspace(-0.7, 0.7, int(rng.integers(21, 42))))
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    shots = int(rng.integers(1000, 5001))
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="mV", shots=2 * shots, truth={},
                noise="binomial_induced_transitions")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # tls_switching_t1: T1 telegraphs between a long and a short value during the run
    snr = float(rng.uniform(3, 8)) / math.sqrt(1e-6)
    rate = 1 / float(rng.uniform(30e-9, 150e-9))
    prep = float(rng.uniform(0.005, 0.02))
    t1_long, t1_short = float(rng.uniform(30e-6, 80e-6)), float(rng.uniform(1e-6, 3e-6))
    best = _duration_truth(snr, t1_long, rate, prep)
    current = best * math.exp(rng.normal(0, 0.25))
    x = np.unique(np.maximum(np.round(current * np.exp(np.linspace(-1, 1, int(rng.integers(
        21, 32)))) / 2e-9), 1)) * 2e-9
    n = len(x)
    stay = 1 - 1 / rng.uniform(3, 8)
    short = np.empty(n, dtype=bool)
    short[0] = rng.random() < 0.5
    for i in range(1, n):
        short[i] = short[i - 1] if rng.random() < stay else not short[i - 1]
    if short.all() or not short.any():                             # the TLS visits once
        short[int(rng.integers(n // 3, 2 * n // 3)):] ^= True
    eg, ee = np.where(short, fixed_threshold_fidelity(x, snr, t1_short, rate, prep),
                      fixed_threshold_fidelity(x, snr, t1_long, rate, prep))
    shots = int(rng.integers(1000, 3001))
    f = 1 - (rng.binomial(shots, np.clip(eg, 0, 1)) + rng.binomial(shots, np.clip(ee, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="us", shots=2 * shots, truth={},
                noise="binomial_t1_switching_fixed_threshold")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # heating_drift: the lengths swept 2-3 times, the error growing pass by pass
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))
    tau = -1 / math.log(1 - 2 * r)
    lengths = np.unique(np.round(np.geomspace(1, tau * rng.uniform(3, 5),
                                              int(rng.integers(12, 21)))))
    passes = int(rng.integers(2, 4))
    growth = float(rng.uniform(1.5, 2.5))
    m = np.tile(lengths, passes)
    rates = r * growth ** np.repeat(np.arange(passes), len(lengths))
    t = -1 / np.log(1 - 2 * rates)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    shots = int(rng.integers(100, 501))
    return dict(x=m, y=_binomial(b + a * np.exp(-m / t), shots, rng), stype="population",
                unit="", shots=shots, truth={}, noise="binomial_heating_passes")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen10_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a tenth-generation held-out ``family`` (see :data:`GEN10`)."""
    kind, mode = GEN10[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen10_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every tenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen10_case(f, rng) for f in GEN10 for _ in range(per_family)]
