"""The seventeenth generation of held-out families: sweeps kept blind while the gate, the fits
and the second opinion are tuned after the sixteenth generation's measurement.

Generations 1–16 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen16``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, in session 16 after
the sixteenth generation's one measurement, by a helper that did not run the gate, the fits'
verdicts or the second opinion on them and did not read how the gate decides (only a check
that every case is well formed and analysable, and that each good family's truth is right on
noiseless data). Each brings a readout, noise, layout or failure kind that neither the train
families nor generations 1–16 use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/vna_group_delay_format``: a notch resonator read in the VNA's
  *group delay* format (``−dφ / dω`` of ``S21``, in ``ns``, a finite difference over a
  smoothing aperture of 0.5–1.5 % of the points either side): the cable's delay (20–80 ns) as
  a flat baseline and the resonance a sharp, symmetric dip in the delay at ``f_r`` (its depth
  ``(1 / (1 − d) − 1) / (π κ)``, tens of ns to µs), the phase noise growing where ``|S21|`` is
  small; absolute ``GHz``; truth ``f_r``;
- ``spectroscopy/neighbour_shifted_readout_resonator``: the qubit read through a resonator that
  a neighbouring qubit's state also shifts (a shared readout bus): the neighbour is thermally
  excited in 5–20 % of the shots, and in those shots the readout sits off the resonator and
  its assignment errors are 3–6 times larger: the population read is a mixture of two affine
  maps of the line, still an affine map of it; binomial shots, absolute ``MHz``; truth the
  line's centre;
- ``rabi/dense_near_prior_grid``: a coarse grid from 0 to 2–3 times the node's prior (15–25
  points) merged with a dense one within ±20 % of the prior (20–40 points), where the π
  amplitude is expected: a non-uniform layout, dense near the feature; phase and damping as
  gen7's, binomial shots, ``mV``; the node's prior (4 % off);
- ``ramsey/thermal_spectator_zz_mixture``: a neighbour coupled by ZZ (``ζ`` 25–50 % of the
  fringe frequency) is thermally excited in 4–10 % of the shots: in those the fringe runs at
  ``f ± ζ``, a weak second frequency beating under the main fringe; binomial shots, ``µs``;
  truth the main fringe frequency (the neighbour in its ground state);
- ``t1/bayesian_adaptive_delays``: delays chosen by a sequential Bayesian design from a prior
  ``τ`` (20 % off): most of them where a delay tells most about ``τ`` (a Gamma-distributed
  cloud about 1.3 prior ``τ``), a point at zero and 2–3 anchors at 5–6 prior ``τ``; written
  sorted, a non-uniform grid with clusters and gaps; binomial shots, ``µs``; truth ``τ``;
- ``echo/detuned_refocusing_pulse``: the refocusing pulse played 10–30 % of its Rabi frequency
  off resonance (a stale qubit frequency): it flips only ``η = Ω² / W² sin²(π W / 2Ω)``
  (91–99 %) of the coherence, the rest an unrefocused free-induction part (``T2*`` 0.5–2 µs,
  beating at the residual detuning) over within the first few µs; binomial shots, ``µs``;
  truth ``τ``;
- ``cz/uint8_exported_population``: the conditional-phase fringe exported as an 8-bit image
  row (a chevron saved as a PNG): every population rounded to ``k / 255``, a step comparable
  with the shot noise; ``mV``, the file giving the shots; truth the CZ amplitude;
- ``randomized_benchmarking/leakage_postselected_counts``: the qubit leaks to |2⟩ (rate 5–30 %
  of the error per Clifford, seeping back 1–4 times as fast) and a three-state readout
  discards the leaked shots: each length averages only its kept shots (falling with the
  length toward 50–80 % of the nominal, the file giving the nominal), the survival of the kept
  shots ``B + A p^m``; truth ``τ`` (``τ = −1 / ln p``).

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``readout_frequency/digitiser_stuck_buffer`` (anomalous): the digitiser's DMA stalls part-way
  through the sweep (after 30–60 % of the points) and hands back its last buffer for every
  later point: the fidelity repeats one value exactly to the end of the window (populations
  of ``2 N`` shots, ``MHz``);
- ``readout_amplitude/axis_order_lost`` (anomalous): the amplitudes acquired in a random order
  and the fidelities written in acquisition order, but the amplitude axis written sorted (the
  permutation lost): every fidelity paired with the wrong amplitude, a scatter with no curve
  (populations of ``2 N`` shots, ``mV``);
- ``readout_duration/time_of_flight_unset`` (anomalous): the integration's time of flight left
  at zero while the line delays the readout 40–70 % of the longest duration: the shorter
  windows integrate only noise (fidelity 1/2) and the curve starts rising only beyond the
  line's delay (``ns``, ``2 N`` shots);
- ``drag/stale_waveform_cache`` (no_signal): the AWG caches waveforms by name and the DRAG
  pulse's name leaves out ``β``: every point plays the first point's pulse, so the population
  is one level of the fringe at every ``β`` (binomial shots);
- ``randomized_benchmarking/lengths_step_past_decay`` (undersampled): the lengths on a linear
  grid stepped by 3–5 ``τ`` (a sweep copied from a far better qubit's settings): the survival
  has settled by the second length (binomial shots);
- ``resonator_spectroscopy/zoom_window_on_flank`` (off_range): a zoom window 0.1–0.3 linewidths
  wide, left 0.6–1.5 linewidths beside ``f_r`` (the resonator moved since the survey): only a
  slice of the dip's flank, no minimum (``|S21|``, absolute ``GHz``);
- ``t1/cosmic_ray_burst`` (anomalous): a fast acquisition (100–300 shots a point, a few ms
  each, delays in order) hit by a cosmic-ray burst early in the decay: the quasiparticles cut
  ``T1`` to 2–10 % of its value at one point and recover over 2–5 points, a block of points
  dropped to the thermal floor and climbing back to the curve (binomial shots, ``µs``);
- ``echo/jpa_self_oscillation_dropouts`` (anomalous): the JPA pumped at its threshold breaks
  into self-oscillation on stretches of 2–5 consecutive points (a quarter of the points, one
  stretch in the decay's first third): its output swamps the readout, whose contrast falls
  to 0–10 % there, so those points read 1/2 in blocks under the decay (binomial shots,
  ``µs``).

Experiment settings: as gen7–gen16, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen17_set(1, seed=0)
>>> len(cases) == len(GEN17), all(c.family in GEN17 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, case_from_parts
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p
from qplane.calibration.domain_gen8 import _amplitude_errors
from qplane.calibration.domain_gen10 import _binomial, _readout_draw, thermal_fidelity
from qplane.calibration.domain_gen13 import notch

#: family -> (kind, mode)
GEN17 = {
    "resonator_spectroscopy/vna_group_delay_format": ("resonator_spectroscopy", "ok"),
    "spectroscopy/neighbour_shifted_readout_resonator": ("spectroscopy", "ok"),
    "rabi/dense_near_prior_grid": ("rabi", "ok"),
    "ramsey/thermal_spectator_zz_mixture": ("ramsey", "ok"),
    "t1/bayesian_adaptive_delays": ("t1", "ok"),
    "echo/detuned_refocusing_pulse": ("echo", "ok"),
    "cz/uint8_exported_population": ("cz", "ok"),
    "randomized_benchmarking/leakage_postselected_counts": ("randomized_benchmarking", "ok"),
    "readout_frequency/digitiser_stuck_buffer": ("readout_frequency", "anomalous"),
    "readout_amplitude/axis_order_lost": ("readout_amplitude", "anomalous"),
    "readout_duration/time_of_flight_unset": ("readout_duration", "anomalous"),
    "drag/stale_waveform_cache": ("drag", "no_signal"),
    "randomized_benchmarking/lengths_step_past_decay": ("randomized_benchmarking",
                                                        "undersampled"),
    "resonator_spectroscopy/zoom_window_on_flank": ("resonator_spectroscopy", "off_range"),
    "t1/cosmic_ray_burst": ("t1", "anomalous"),
    "echo/jpa_self_oscillation_dropouts": ("echo", "anomalous"),
}

__all__ = ["GEN17", "PRIOR_ERROR", "burst_rates", "dropout_mask", "gen17_set", "group_delay",
           "make_gen17_case", "refocused_fraction", "uint8_codes"]


# --- readout chains and physics ---------------------------------------------------------------

def group_delay(f: np.ndarray, s21: np.ndarray, aperture: int) -> np.ndarray:
    """A VNA's group delay ``−dφ / dω`` of the trace ``s21`` at frequencies ``f``: the unwrapped
    phase differenced over ``aperture`` points either side (fewer at the edges).

    >>> f = np.linspace(0.0, 1e6, 11)
    >>> np.allclose(group_delay(f, np.exp(-2j * np.pi * f * 50e-9), 2), 50e-9)
    True
    """
    f = np.asarray(f, dtype=float)
    phase = np.unwrap(np.angle(s21))
    i = np.arange(len(f))
    lo, hi = np.maximum(i - aperture, 0), np.minimum(i + aperture, len(f) - 1)
    return -(phase[hi] - phase[lo]) / (2 * math.pi * (f[hi] - f[lo]))


def refocused_fraction(detuning: float) -> float:
    """The part of the coherence a nominal π pulse refocuses when played ``detuning`` (in
    units of its Rabi frequency) off resonance: ``Ω² / W² sin²(π W / 2Ω)``, ``W = √(Ω² + δ²)``.

    >>> refocused_fraction(0.0), round(refocused_fraction(0.3), 4)
    (1.0, 0.913)
    """
    w = math.sqrt(1 + detuning**2)
    return math.sin(math.pi * w / 2) ** 2 / w**2


def uint8_codes(p: np.ndarray) -> np.ndarray:
    """Populations exported as 8-bit codes and read back: ``round(255 p) / 255``.

    >>> uint8_codes(np.array([0.0, 0.5, 0.999, 1.0])).round(6).tolist()
    [0.0, 0.501961, 1.0, 1.0]
    """
    return np.round(255 * np.clip(np.asarray(p, dtype=float), 0, 1)) / 255


def burst_rates(n: int, at: int, peak: float, recovery: float) -> np.ndarray:
    """The extra decay rate at each of ``n`` points acquired in order when a burst of rate
    ``peak`` hits point ``at`` and recovers with ``recovery`` points: ``peak e^(−(i − at) /
    recovery)`` from ``at`` on, zero before.

    >>> burst_rates(5, 2, 1.0, 1.0).round(4).tolist()
    [0.0, 0.0, 1.0, 0.3679, 0.1353]
    """
    i = np.arange(n)
    return np.where(i >= at, peak * np.exp(-(i - at) / recovery), 0.0)


def dropout_mask(n: int, rng: np.random.Generator, first_before: int) -> np.ndarray:
    """Which of ``n`` points acquired in order fall in stretches of 2–5 points (about a
    quarter of the points), the first stretch starting before ``first_before``.

    >>> m = dropout_mask(60, np.random.default_rng(0), 20)
    >>> bool(m[:25].any()), bool(0.1 < m.mean() < 0.45)
    (True, True)
    """
    mask = np.zeros(n, dtype=bool)
    i = int(rng.integers(1, max(first_before, 2)))
    while i < n:
        length = int(rng.integers(2, 6))
        mask[i:i + length] = True
        i += length + int(rng.integers(6, 15))
    return mask


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    fr = float(rng.uniform(4e9, 8e9))
    depth = float(rng.uniform(0.4, 0.9))
    kappa = float(rng.uniform(0.3e6, 3e6))
    sigma = float(rng.uniform(0.002, 0.008))
    if family == "resonator_spectroscopy/vna_group_delay_format":
        span = kappa * rng.uniform(6, 12)
        centre = fr + float(rng.uniform(-0.15, 0.15) * span)
        n = int(rng.integers(201, 602))
        x = np.linspace(centre - span / 2, centre + span / 2, n)
        cable = float(rng.uniform(20e-9, 80e-9))
        s21 = notch(x, fr, kappa, depth) * np.exp(-2j * math.pi * x * cable)
        s21 = s21 + sigma * (rng.normal(size=n) + 1j * rng.normal(size=n))
        aperture = max(1, int(round(n * rng.uniform(0.005, 0.015))))
        return dict(x=x, y=group_delay(x, s21, aperture) / 1e-9, stype="magnitude",
                    unit="GHz", truth={"center": fr}, noise="group_delay_aperture_phase")
    # zoom_window_on_flank: 0.1-0.3 linewidths wide, 0.6-1.5 linewidths beside f_r
    width = kappa * float(rng.uniform(0.1, 0.3))
    centre = fr + kappa * float(rng.uniform(0.6, 1.5) * rng.choice([-1, 1]))
    n = int(rng.integers(101, 402))
    x = np.linspace(centre - width / 2, centre + width / 2, n)
    mag = np.abs(notch(x, fr, kappa, depth))
    y = float(rng.uniform(0.05, 1.0)) * (mag + sigma / 2 * rng.normal(size=n))
    return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={},
                noise="magnitude_zoom_on_dip_flank")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # neighbour_shifted_readout_resonator: two affine readouts, mixed by the neighbour's state
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))                         # FWHM
    span = width * rng.uniform(10, 20)
    centre = f0 + float(rng.uniform(-0.25, 0.25) * span)
    x = np.linspace(f0 - span / 2, f0 + span / 2, int(rng.integers(81, 242)))
    p_th = float(rng.uniform(0.005, 0.03))
    height = float(rng.uniform(0.3, 0.48))
    pe = p_th + height / (1 + (2 * (x - centre) / width) ** 2)
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    scale = float(rng.uniform(3, 6))
    f0_, f1_ = min(e0 * scale, 0.3), min(e1 * scale, 0.4)           # the shifted readout's
    w = float(rng.uniform(0.05, 0.2))
    p = (1 - w) * (e0 + (1 - e0 - e1) * pe) + w * (f0_ + (1 - f0_ - f1_) * pe)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="MHz", shots=shots,
                truth={"center": centre}, noise="binomial_neighbour_state_readout_mixture")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # dense_near_prior_grid
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    coarse = np.linspace(0, prior * rng.uniform(2.0, 3.0), int(rng.integers(15, 26)))
    dense = np.linspace(0.8 * prior, 1.2 * prior, int(rng.integers(20, 41)))
    x = np.unique(np.concatenate([coarse, dense]))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    s = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0, 1.0, 0.0)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * s, shots, rng), stype="population",
                unit="mV", shots=shots, prior=prior, truth={"pi_amplitude": api},
                noise="binomial_dense_near_prior_grid")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # thermal_spectator_zz_mixture
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    f2 = f * (1 + float(rng.uniform(0.25, 0.5) * rng.choice([-1, 1])))
    w = float(rng.uniform(0.04, 0.1))
    t2 = float(rng.uniform(20e-6, 80e-6))
    top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(6, 15) / f)
    n = max(int(rng.uniform(8, 14) * top * f), 30)
    x = np.linspace(0, top, n)
    fringe = (1 - w) * np.cos(2 * math.pi * f * x + ph) + w * np.cos(2 * math.pi * f2 * x + ph)
    p = 0.5 + amp * np.exp(-x / t2) * fringe
    shots = int(rng.integers(100, 801))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={"frequency": abs(f)}, noise="binomial_spectator_zz_mixture",
                settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    p_th = float(rng.uniform(0.005, 0.03))
    tau = float(rng.uniform(10e-6, 150e-6))
    top = float(rng.uniform(0.85, 0.97))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    if family == "t1/bayesian_adaptive_delays":
        guess = tau * float(np.exp(np.clip(rng.normal(0, 0.2), -0.3, 0.3)))
        n = int(rng.integers(30, 61))
        cloud = guess * rng.gamma(4.0, 1.3 / 4.0, n - 4)
        anchors = guess * rng.uniform(5, 6, int(rng.integers(2, 4)))
        x = np.unique(np.round(np.concatenate([[0.0], cloud, anchors]) / 1e-9)) * 1e-9
        excited = p_th + (top - p_th) * np.exp(-x / tau)
        shots = int(rng.integers(200, 1001))
        return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * excited, shots, rng),
                    stype="population", unit="us", shots=shots, truth={"tau": tau},
                    noise="binomial_bayesian_adaptive_delays")
    # cosmic_ray_burst: T1 cut to 2-10 % at one early point, recovering over 2-5 points
    n = int(rng.integers(40, 81))
    x = np.linspace(0, tau * rng.uniform(4, 6), n)
    at = int(rng.integers(int(0.1 * n), int(0.3 * n)))
    rate = 1 / tau + burst_rates(n, at, 1 / (tau * float(rng.uniform(0.02, 0.1))),
                                 float(rng.uniform(2, 5)))
    excited = p_th + (top - p_th) * np.exp(-x * rate)
    shots = int(rng.integers(100, 301))
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * excited, shots, rng), stype="population",
                unit="us", shots=shots, truth={}, noise="binomial_cosmic_ray_quasiparticles")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(20e-6, 150e-6))
    n = int(rng.integers(40, 101))
    a = float(rng.uniform(0.35, 0.48))
    shots = int(rng.integers(200, 1001))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    if family == "echo/detuned_refocusing_pulse":
        eta = refocused_fraction(float(rng.uniform(0.1, 0.3)))
        t2s, resid = float(rng.uniform(0.5e-6, 2e-6)), float(rng.uniform(0.2e6, 1e6))
        fid = np.exp(-(x / t2s) ** 2) * np.cos(2 * math.pi * resid * x)
        p = 0.5 + a * (eta * np.exp(-x / tau) + (1 - eta) * fid)
        return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * p, shots, rng), stype="population",
                    unit="us", shots=shots, truth={"tau": tau},
                    noise="binomial_detuned_refocus_pulse")
    # jpa_self_oscillation_dropouts: the contrast collapses on stretches of points
    read = e0 + (1 - e0 - e1) * (0.5 + a * np.exp(-x / tau))
    mid = e0 + (1 - e0 - e1) * 0.5
    contrast = np.where(dropout_mask(n, rng, n // 3), rng.uniform(0.0, 0.1, n), 1.0)
    p = mid + contrast * (read - mid)
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={}, noise="binomial_jpa_self_oscillation_blocks")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # stale_waveform_cache: every point plays the first point's pulse
    best = float(rng.uniform(-0.6, 0.6))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 0.9))
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    x = np.linspace(current - span / 2, current + span / 2, int(rng.integers(21, 42)))
    off, amp = float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.3, 0.9))
    level = off + amp * math.sin(math.pi / (2 * half) * (x[0] - best)) ** 2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(np.full(len(x), level), shots, rng), stype="population",
                unit="", shots=shots, truth={}, noise="binomial_stale_cached_waveform")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # uint8_exported_population
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    x = np.linspace(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35),
                    int(rng.integers(31, 62)))
    target = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    y = uint8_codes(_binomial(e0 + (1 - e0 - e1) * target, shots, rng))
    return dict(x=x, y=y, stype="population", unit="mV", shots=shots,
                truth={"cz_amplitude": best}, noise="uint8_image_population_codes")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # digitiser_stuck_buffer: the last good value repeated from 30-60 % of the points on
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))
    current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
    half = kappa * float(rng.uniform(2, 3.5))
    x = np.linspace(current - half, current + half, int(rng.integers(31, 72)))
    fid = thermal_fidelity(x, tilt=0.0, p_th=float(rng.uniform(0.005, 0.03)),
                           floor=float(rng.uniform(0.01, 0.04)), **r)
    y = _binomial(fid, 2 * shots, rng)
    stall = int(len(x) * rng.uniform(0.3, 0.6))
    y[stall:] = y[stall - 1]
    return dict(x=x, y=y, stype="population", unit="MHz", shots=2 * shots, truth={},
                noise="binomial_digitiser_buffer_stuck")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # axis_order_lost: fidelities in acquisition order against a sorted axis
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    current = float(grid[np.argmax(1 - (e0 + e1) / 2)]) * math.exp(rng.normal(0, 0.15))
    n = int(rng.integers(21, 42))
    x = current * np.exp(np.linspace(-0.9, 0.9, n))
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    shots = int(rng.integers(1000, 5001))
    measured = _binomial(1 - (e0 + e1) / 2, 2 * shots, rng)
    order = rng.permutation(n)                                   # the acquisition order
    return dict(x=x, y=measured[order], stype="population", unit="mV", shots=2 * shots,
                truth={}, noise="binomial_axis_acquisition_order_lost")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # time_of_flight_unset: only the part beyond the line's delay integrates the signal
    from scipy.special import erfc

    x = np.unique(np.round(np.linspace(rng.uniform(20e-9, 80e-9), rng.uniform(0.8e-6, 3e-6),
                                       int(rng.integers(25, 61))) / 4e-9)) * 4e-9
    delay = float(x.max() * rng.uniform(0.4, 0.7))
    t = np.maximum(x - delay, 0.0)
    snr = float(rng.uniform(3, 8)) / math.sqrt(200e-9)
    t1 = float(rng.uniform(20e-6, 80e-6))
    e = 0.5 * erfc(snr * np.sqrt(t) / (2 * math.sqrt(2)))
    fid = 1 - (e + e + (1 - np.exp(-t / (2 * t1))) * (1 - 2 * e)) / 2
    shots = int(rng.integers(1000, 3001))
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="ns",
                shots=2 * shots, truth={}, noise="binomial_time_of_flight_unset")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    shots = int(rng.integers(100, 501))
    if family == "randomized_benchmarking/leakage_postselected_counts":
        m = np.unique(np.round(np.linspace(1, tau * rng.uniform(3, 6),
                                           int(rng.integers(25, 51)))))
        leak = r * float(rng.uniform(0.05, 0.3))
        seep = leak * float(rng.uniform(1, 4))
        leaked = leak / (leak + seep) * (1 - np.exp(-(leak + seep) * m))
        kept = np.maximum(rng.binomial(shots, 1 - leaked), 1)
        y = rng.binomial(kept, np.clip(b + a * p**m, 0, 1)) / kept
        return dict(x=m, y=y, stype="population", unit="", shots=shots, truth={"tau": tau},
                    noise="binomial_leakage_postselected_counts")
    # lengths_step_past_decay: a step of 3-5 tau
    step = round(tau * float(rng.uniform(3, 5)))
    m = 1 + step * np.arange(int(rng.integers(20, 41)))
    return dict(x=m.astype(float), y=_binomial(b + a * p**m, shots, rng), stype="population",
                unit="", shots=shots, truth={}, noise="binomial_lengths_step_beyond_decay")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen17_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a seventeenth-generation held-out ``family`` (see :data:`GEN17`)."""
    kind, mode = GEN17[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen17_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every seventeenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen17_case(f, rng) for f in GEN17 for _ in range(per_family)]
