"""The eleventh generation of held-out families: sweeps kept blind while the gate, the fits and
the second opinion are tuned after the tenth generation's measurement.

Generations 1–10 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen10``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, by a helper that did
not run the gate, the fits' verdicts or the second opinion on them and did not read how the
gate decides (only a check that every case is well formed and analysable, and that each good
family's truth is right on noiseless data). Each brings a readout, noise, layout or failure
kind that neither the train families nor generations 1–10 use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/dbm_gain_telegraph``: a notch resonator's transmitted power read
  by a spectrum analyser in ``dBm`` (−60 … −40 dBm off resonance), the HEMT's gain
  switching between two values 0.05–0.25 dB apart (random telegraph noise, 20–80 points a
  dwell); absolute ``MHz``; truth ``f_r`` (``dBm`` is monotone in ``|S21|``);
- ``readout_frequency/interleaved_halves_mhz``: the assignment fidelity recorded in two
  interleaved halves (every even frequency first, then every odd one) with the amplifier's
  gain 3–10 % lower in the second half (the SNR steps down), a small thermal population and a
  decay floor; absolute ``MHz``; truth the noiseless optimum (the dressed frequencies'
  midpoint: ``χ < κ / 2``);
- ``rabi/telegraph_offset_iq``: averaged IQ with a random telegraph offset (a charge trap near
  the readout resonator switching, 5–20 points a dwell, 5–15 % of the contrast, along a random
  direction); phase and damping as gen7's; amplitudes in ``mV``; the node's prior (4 % off);
- ``ramsey/reversed_repeats_spam_steps``: the delays swept 2–3 times, each pass from the longest
  delay down, the readout's contrast and offset stepping between passes (the readout
  re-tuned by a concurrent node); binomial shots; delays in ``ns``; truth the fringe frequency;
- ``t1/two_segment_dropped_points``: a dense segment to ``τ`` and a coarse one to 5–7 ``τ``
  (two linear grids), 3–8 points lost to a digitiser time-out (their rows missing); averaged IQ;
  delays in ``µs``;
- ``echo/shot_clipped_rail``: single-shot I values clipped at the digitiser's rail (5–25 % of
  one state's shots beyond it) before they are averaged: the mean of clipped shots is still
  affine in the population, so the decay keeps ``τ``; only I written (a magnitude);
- ``spectroscopy/quadratic_grid_descending_mhz``: a line swept from the top of the window down
  on a grid dense at the window's centre (spacing ∝ the distance from it), a baseline drifting
  linearly in time (5–20 % of the line's height over the sweep); absolute ``MHz``; truth the
  line's centre;
- ``drag/descending_passes_baseline_drift``: the DRAG fringe swept twice from the largest β
  down, the population's offset drifting linearly in time across both passes (0.01–0.04);
  binomial shots; truth β*.

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``cz/window_below_operating_point`` (off_range): the amplitude window 0.45–0.55 … 0.75–0.85
  of the CZ amplitude (a flux line's attenuation changed): the fringe only falls toward a
  minimum outside it (binomial shots, ``mV``);
- ``readout_amplitude/resonator_telegraph_shift`` (anomalous): the readout resonator shifted
  by a switching TLS on 3–8-point dwells: the separation drops 2–4× on those points and the
  fidelity jumps between two curves (populations of ``2 N`` shots);
- ``readout_duration/pi_pulse_muted`` (no_signal): the π pulse's channel muted, both
  preparations in |0⟩: the fidelity is one half plus shot noise at every duration (``ns``);
- ``randomized_benchmarking/coherent_error_oscillation`` (anomalous): a coherent error the few
  random sequences do not twirl away: the survival oscillates about the decay (30–60 % of its
  amplitude, a period of 3–8 sampled lengths);
- ``resonator_spectroscopy/window_off_dbm`` (off_range): the window centred on a previous
  cooldown's frequency, the resonator 1.5–3 spans away: a cable ripple and a slope in ``dBm``;
- ``spectroscopy/charge_parity_doublet`` (anomalous): an offset-charge-sensitive qubit whose
  parity switches faster than a point is averaged: two lines of about half height, 1.5–4
  linewidths apart;
- ``ramsey/divider_coarse_ns`` (undersampled): the AWG's clock divider left at a coarse
  setting: whole-``ns`` delays 0.6–1.4 fringes a step apart (binomial shots);
- ``echo/alternate_refocus_dropped`` (anomalous): a sequencer bug drops the refocusing π on
  every other delay: those points are a detuned Ramsey (fringes, a short T2*), a zig-zag
  between two curves (binomial shots, ``µs``).

Experiment settings: as gen7–gen10, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen11_set(1, seed=0)
>>> len(cases) == len(GEN11), all(c.family in GEN11 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtri

from qplane.calibration.domain import Case, case_from_parts
from qplane.calibration.domain_gen6 import _iq_plane, _lorentz
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p
from qplane.calibration.domain_gen8 import _amplitude_errors
from qplane.calibration.domain_gen9 import fixed_threshold_fidelity
from qplane.calibration.domain_gen10 import (_binomial, _readout_draw, thermal_fidelity,
                                              thermal_fidelity_best)

#: family -> (kind, mode)
GEN11 = {
    "resonator_spectroscopy/dbm_gain_telegraph": ("resonator_spectroscopy", "ok"),
    "readout_frequency/interleaved_halves_mhz": ("readout_frequency", "ok"),
    "rabi/telegraph_offset_iq": ("rabi", "ok"),
    "ramsey/reversed_repeats_spam_steps": ("ramsey", "ok"),
    "t1/two_segment_dropped_points": ("t1", "ok"),
    "echo/shot_clipped_rail": ("echo", "ok"),
    "spectroscopy/quadratic_grid_descending_mhz": ("spectroscopy", "ok"),
    "drag/descending_passes_baseline_drift": ("drag", "ok"),
    "cz/window_below_operating_point": ("cz", "off_range"),
    "readout_amplitude/resonator_telegraph_shift": ("readout_amplitude", "anomalous"),
    "readout_duration/pi_pulse_muted": ("readout_duration", "no_signal"),
    "randomized_benchmarking/coherent_error_oscillation": ("randomized_benchmarking",
                                                           "anomalous"),
    "resonator_spectroscopy/window_off_dbm": ("resonator_spectroscopy", "off_range"),
    "spectroscopy/charge_parity_doublet": ("spectroscopy", "anomalous"),
    "ramsey/divider_coarse_ns": ("ramsey", "undersampled"),
    "echo/alternate_refocus_dropped": ("echo", "anomalous"),
}

__all__ = ["GEN11", "PRIOR_ERROR", "clipped_mean", "gen11_set", "interleaved_halves",
           "make_gen11_case", "power_dbm", "quadratic_grid", "telegraph"]


# --- readout chains and layouts ---------------------------------------------------------------

def telegraph(n: int, dwell: float, rng: np.random.Generator) -> np.ndarray:
    """A random telegraph signal over ``n`` acquired points: booleans that switch with
    probability ``1 / dwell`` from one point to the next (``dwell`` the mean dwell, in points),
    each state visited at least once.

    >>> s = telegraph(50, 5.0, np.random.default_rng(0))
    >>> len(s), bool(s.any() and not s.all())
    (50, True)
    """
    flips = rng.random(n) < 1 / dwell
    flips[0] = rng.random() < 0.5
    state = np.cumsum(flips) % 2 == 1
    if state.all() or not state.any():                       # the switch happens once at least
        state[int(rng.integers(n // 3, 2 * n // 3)):] ^= True
    return state


def power_dbm(magnitude: np.ndarray, reference_dbm: float) -> np.ndarray:
    """The power a spectrum analyser reads for transmitted amplitudes ``magnitude`` (relative to
    the line's off-resonant transmission, whose power is ``reference_dbm``): ``reference +
    20 log10 |S21|``, in dBm.

    >>> float(power_dbm(np.array([0.1]), -50.0)[0])
    -70.0
    """
    return reference_dbm + 20 * np.log10(np.asarray(magnitude, dtype=float))


def interleaved_halves(grid: np.ndarray) -> np.ndarray:
    """The acquisition order of a sweep recorded in two interleaved halves: every even point
    of ``grid`` first, then every odd one.

    >>> interleaved_halves(np.arange(5)).tolist()
    [0, 2, 4, 1, 3]
    """
    grid = np.asarray(grid)
    return np.concatenate([grid[0::2], grid[1::2]])


def quadratic_grid(centre: float, span: float, n: int) -> np.ndarray:
    """``n`` points across ``centre ± span / 2``, dense at the centre: ``centre + (span / 2)
    u |u|`` for ``u`` uniform in [−1, 1] (the spacing grows with the distance from the centre).

    >>> quadratic_grid(0.0, 2.0, 5).tolist()
    [-1.0, -0.25, 0.0, 0.25, 1.0]
    """
    u = np.linspace(-1, 1, n)
    return centre + span / 2 * u * np.abs(u)


def clipped_mean(mu: np.ndarray, sigma: float, rail: float) -> np.ndarray:
    """The mean of ``N(mu, sigma)`` shots clipped to ``[−rail, rail]`` (a digitiser's range).

    >>> round(float(clipped_mean(np.array([0.0]), 1.0, 50.0)[0]), 12)
    0.0
    """
    from scipy.special import ndtr

    def pdf(z: np.ndarray) -> np.ndarray:
        return np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)

    mu = np.asarray(mu, dtype=float)
    a, b = (-rail - mu) / sigma, (rail - mu) / sigma
    return (-rail * ndtr(a) + rail * (1 - ndtr(b)) + mu * (ndtr(b) - ndtr(a))
            + sigma * (pdf(a) - pdf(b)))


def _iq_noise(n: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    return scale * (rng.normal(size=n) + 1j * rng.normal(size=n))


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    fr = float(rng.uniform(4e9, 8e9))
    kappa = float(rng.uniform(0.2e6, 2e6))
    span = kappa * rng.uniform(10, 25)
    n = int(rng.integers(301, 1202))
    ref = float(rng.uniform(-60, -40))                          # dBm off resonance
    depth = rng.uniform(0.5, 0.95)
    if family == "resonator_spectroscopy/dbm_gain_telegraph":
        centre = fr + float(rng.uniform(-0.15, 0.15) * span)
        x = np.linspace(centre - span / 2, centre + span / 2, n)
        s21 = 1 - depth / (1 + 2j * (x - fr) / kappa)
        m = np.abs(s21 + _iq_noise(n, rng.uniform(0.003, 0.015), rng))
        jump = rng.uniform(0.05, 0.25) * telegraph(n, rng.uniform(20, 80), rng)
        return dict(x=x, y=power_dbm(m, ref) + jump, stype="magnitude", unit="MHz",
                    truth={"center": fr}, noise="power_dbm_gain_telegraph")
    # window_off_dbm: the window 1.5-3 spans away from the resonator
    centre = fr + float(rng.choice([-1, 1]) * rng.uniform(1.5, 3.0) * span)
    x = np.linspace(centre - span / 2, centre + span / 2, n)
    s21 = 1 - depth / (1 + 2j * (x - fr) / kappa)
    period = span * rng.uniform(2, 4)                            # a cable's standing wave
    ripple = rng.uniform(0.03, 0.1) * np.cos(2 * math.pi * (x - centre) / period
                                             + rng.uniform(-np.pi, np.pi))
    slope = rng.uniform(-0.3, 0.3) * (x - centre) / span
    m = np.abs(s21 + _iq_noise(n, rng.uniform(0.003, 0.015), rng))
    return dict(x=x, y=power_dbm(m, ref) + ripple + slope, stype="magnitude", unit="MHz",
                truth={}, noise="power_dbm_background_only")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # interleaved_halves_mhz: even points first, then odd ones at a lower gain
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))                     # per state
    floor = float(rng.uniform(0.01, 0.04))
    p_th = float(rng.uniform(0.005, 0.03))
    best = thermal_fidelity_best(tilt=0.0, **r)
    current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
    half = kappa * float(rng.uniform(2, 3.5))
    x = interleaved_halves(np.linspace(current - half, current + half,
                                       int(rng.integers(31, 62))))
    second = np.arange(len(x)) >= (len(x) + 1) // 2
    drop = float(rng.uniform(0.90, 0.97))
    fid = np.where(second, thermal_fidelity(x, tilt=0.0, p_th=p_th, floor=floor,
                                            **(r | {"snr": r["snr"] * drop})),
                   thermal_fidelity(x, tilt=0.0, p_th=p_th, floor=floor, **r))
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={"center": best}, noise="binomial_interleaved_gain_step")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # telegraph_offset_iq
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    n = int(rng.integers(41, 102))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    p = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0,
                float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
    c0, d = _iq_plane(rng)
    trap = abs(d) * rng.uniform(0.05, 0.15) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    z = (c0 + d * p + trap * telegraph(n, rng.uniform(5, 20), rng)
         + _iq_noise(n, abs(d) * rng.uniform(0.005, 0.02), rng))
    return dict(x=x, y=z, stype="iq", unit="mV", prior=prior, truth={"pi_amplitude": api},
                noise="iq_random_telegraph_offset")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    shots = int(rng.integers(100, 601))
    if family == "ramsey/reversed_repeats_spam_steps":
        det = float(rng.uniform(0.3e6, 3e6))
        f = det * (1 + float(rng.uniform(-0.03, 0.03)))          # the prior's error
        t2 = float(rng.uniform(5e-6, 50e-6))
        top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(8, 25) / f)
        n = max(int(rng.integers(40, 91)), int(4 * top * f) + 1)
        grid = np.linspace(0, top, n)[::-1]                       # the longest delay first
        passes = int(rng.integers(2, 4))
        x = np.tile(grid, passes)
        fringe = np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
        k = np.repeat(np.arange(passes), n)
        contrast = 1 - rng.uniform(0.0, 0.15, passes)[k]           # the readout re-tuned
        offset = rng.uniform(-0.04, 0.04, passes)[k]
        p = 0.5 + offset + contrast * amp * fringe
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="ns",
                    shots=shots, truth={"frequency": abs(f)},
                    noise="binomial_reversed_repeats_spam_steps", settings={"detuning": det})
    # divider_coarse_ns: whole-ns delays, 0.6-1.4 fringes a step
    det = float(rng.uniform(5e6, 40e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    step = max(round(float(rng.uniform(0.6, 1.4)) / f * 1e9), 1) * 1e-9
    n = int(rng.integers(40, 81))
    x = np.arange(n) * step
    t2 = x[-1] / float(rng.uniform(1, 3))
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="ns", shots=shots,
                truth={}, noise="binomial_divider_coarse_ns", settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # two_segment_dropped_points
    tau = float(rng.uniform(10e-6, 200e-6))
    dense = np.linspace(0, tau, int(rng.integers(20, 41)))
    coarse = np.linspace(tau, tau * rng.uniform(5, 7), int(rng.integers(10, 21)))[1:]
    grid = np.concatenate([dense, coarse])
    lost = rng.choice(np.arange(1, len(grid)), int(rng.integers(3, 9)), replace=False)
    x = np.delete(grid, lost)
    n = len(x)
    p = rng.uniform(0.0, 0.05) + rng.uniform(0.8, 0.95) * np.exp(-x / tau)
    c0, d = _iq_plane(rng)
    z = c0 + d * p + _iq_noise(n, abs(d) * rng.uniform(0.005, 0.02), rng)
    return dict(x=x, y=z, stype="iq", unit="us", truth={"tau": tau},
                noise="iq_two_segment_dropped")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(40, 101))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    a = rng.uniform(0.6, 0.95) * rng.choice([-1, 1])
    p = 0.5 + a / 2 * np.exp(-x / tau)
    if family == "echo/shot_clipped_rail":
        shots = int(rng.integers(500, 2001))
        sigma = float(rng.uniform(0.5, 1.5))                       # a shot's noise
        mu0 = sigma * float(rng.uniform(-0.3, 0.3))
        mu1 = mu0 + sigma * float(rng.uniform(2.5, 5) * rng.choice([-1, 1]))
        beyond = float(rng.uniform(0.05, 0.25))                  # of |1>'s shots past the rail
        rail = abs(mu1) - sigma * float(ndtri(beyond))
        excited = rng.random((shots, n)) < p[None, :]
        raw = np.where(excited, mu1, mu0) + sigma * rng.normal(size=(shots, n))
        y = np.clip(raw, -rail, rail).mean(axis=0) * rng.uniform(0.5, 50)   # volts per unit
        return dict(x=x, y=y, stype="magnitude", unit="us", truth={"tau": tau},
                    noise="magnitude_shot_clipped_rail")
    # alternate_refocus_dropped: every other point a detuned Ramsey
    stray = float(rng.uniform(0.2e6, 2e6))
    t2s = tau * float(rng.uniform(0.1, 0.4))
    ramsey = 0.5 + a / 2 * np.exp(-x / t2s) * np.cos(2 * math.pi * stray * x)
    p = np.where(np.arange(n) % 2 == 1, ramsey, p)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={}, noise="binomial_alternate_pulse_dropped")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))
    span = width * rng.uniform(12, 25)
    centre = f0 + float(rng.uniform(-0.2, 0.2) * span)
    h = rng.uniform(0.2, 1.0) * rng.choice([-1, 1])
    base = rng.uniform(0.5, 2.0)
    if family == "spectroscopy/quadratic_grid_descending_mhz":
        n = int(rng.integers(80, 201))
        x = quadratic_grid(f0, span, n)[::-1]                       # from the top down
        drift = h * rng.uniform(0.05, 0.2) * rng.choice([-1, 1]) * np.linspace(0, 1, n)
        y = (base + drift + h * _lorentz(x, centre, width)
             + abs(h) * rng.uniform(0.01, 0.05) * rng.normal(size=n))
        return dict(x=x, y=y, stype="magnitude", unit="MHz", truth={"center": centre},
                    noise="magnitude_quadratic_grid_time_drift")
    # charge_parity_doublet: two half-height lines
    n = int(rng.integers(100, 251))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    split = width * float(rng.uniform(1.5, 4))
    w = float(rng.uniform(0.4, 0.6))
    line = w * _lorentz(x, centre - split / 2, width) + (1 - w) * _lorentz(x, centre + split / 2,
                                                                          width)
    y = base + h * line + abs(h) * rng.uniform(0.01, 0.04) * rng.normal(size=n)
    return dict(x=x, y=y, stype="magnitude", unit="Hz", truth={},
                noise="magnitude_charge_parity_doublet")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # descending_passes_baseline_drift
    best = float(rng.uniform(0.05, 0.6) * rng.choice([-1, 1]))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 1.1))
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    grid = np.linspace(current + span / 2, current - span / 2, int(rng.integers(21, 42)))
    x = np.tile(grid, 2)
    off, amp = float(rng.uniform(0.02, 0.1)), float(rng.uniform(0.3, 0.9))
    drift = rng.uniform(0.01, 0.04) * rng.choice([-1, 1]) * np.linspace(0, 1, len(x))
    p = off + drift + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={"center": best}, noise="binomial_descending_passes_drift")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # window_below_operating_point
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    x = best * np.linspace(rng.uniform(0.45, 0.55), rng.uniform(0.75, 0.85),
                           int(rng.integers(31, 62)))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    shots = int(rng.integers(1000, 4001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                truth={}, noise="binomial_window_below_pi")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # resonator_telegraph_shift: a TLS moves the resonator on some points
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    best = float(grid[np.argmax(1 - (e0 + e1) / 2)])
    x = best * math.exp(rng.normal(0, 0.15)) * np.exp(np.linspace(-0.7, 0.7, int(
        rng.integers(25, 46))))
    shifted = telegraph(len(x), rng.uniform(3, 8), rng)
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    s0, s1 = _amplitude_errors(x, width * rng.uniform(2, 4), eps_d, onset, c_t)
    e0, e1 = np.where(shifted, s0, e0), np.where(shifted, s1, e1)
    shots = int(rng.integers(1000, 5001))
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="V", shots=2 * shots, truth={},
                noise="binomial_resonator_telegraph_shift")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # pi_pulse_muted: both preparations in |0>, the threshold where the node put it
    snr = float(rng.uniform(3, 8)) / math.sqrt(1e-6)
    rate = 1 / float(rng.uniform(30e-9, 150e-9))
    t1 = float(rng.uniform(20e-6, 80e-6))
    x = np.unique(np.round(np.geomspace(rng.uniform(50e-9, 150e-9), rng.uniform(1.5e-6, 4e-6),
                                        int(rng.integers(21, 36))) / 1e-9)) * 1e-9
    miss_g, _ = fixed_threshold_fidelity(x, snr, t1, rate, 0.0)
    shots = int(rng.integers(1000, 3001))
    f = 1 - (rng.binomial(shots, np.clip(miss_g, 0, 1))
             + rng.binomial(shots, np.clip(1 - miss_g, 0, 1))) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="ns", shots=2 * shots, truth={},
                noise="binomial_pi_muted")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # coherent_error_oscillation: the survival oscillates about the decay
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))
    tau = -1 / math.log(1 - 2 * r)
    m = np.unique(np.round(np.linspace(1, tau * rng.uniform(2, 4), int(rng.integers(20, 41)))))
    period = (m[1] - m[0]) * float(rng.uniform(3, 8))
    c = float(rng.uniform(0.3, 0.6))
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    p = b + a * np.exp(-m / tau) * (1 + c * np.cos(2 * math.pi * m / period
                                                   + rng.uniform(-np.pi, np.pi)))
    shots = int(rng.integers(100, 501))
    return dict(x=m, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_coherent_oscillation")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen11_case(family: str, rng: np.random.Generator) -> Case:
    """One case of an eleventh-generation held-out ``family`` (see :data:`GEN11`)."""
    kind, mode = GEN11[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen11_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every eleventh-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen11_case(f, rng) for f in GEN11 for _ in range(per_family)]
