"""The fifteenth generation of held-out families: sweeps kept blind while the gate, the fits
and the second opinion are tuned after the fourteenth generation's measurement.

Generations 1–14 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen14``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, in session 15 after
the fourteenth generation's one measurement, by a helper that did not run the gate, the fits'
verdicts or the second opinion on them and did not read how the gate decides (only a check
that every case is well formed and analysable, and that each good family's truth is right on
noiseless data). Each brings a readout, noise, layout or failure kind that neither the train
families nor generations 1–14 use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/jitter_averaged_sweeps``: a notch resonator's ``|S21|`` averaged
  over many sweeps while its frequency jitters from sweep to sweep (TLS frequency noise,
  Gaussian, 0.05–0.3 linewidths rms): the average of the magnitudes (the limit of many sweeps,
  a Gauss–Hermite average), a dip broadened and made shallower but symmetric about the mean
  resonance; absolute ``MHz``; truth the mean ``f_r``;
- ``spectroscopy/stitched_lo_segments``: a wide survey stitched from 3–5 adjacent segments,
  the drive's LO hopping between them and the IF swept inside each; the readout's magnitude
  carries a constant offset per segment (the LO's leakage into the readout chain changes with
  each setting: steps of 2–5 % of the line's height at the seams); absolute ``MHz``; truth the
  line's centre;
- ``rabi/dbfs_amplitude_grid``: the amplitudes requested on a grid uniform in the AWG's dBFS
  (0.1 dB steps, 24–36 dB below the top of the window) and written converted to ``mV``: a
  geometric grid, dense at small amplitudes; phase and damping as gen7's; binomial shots; the
  node's prior (4 % off);
- ``ramsey/dead_time_offset_window``: a uniform delay grid that starts after a constant dead
  time of 2–5 µs (the sequencer's minimum wait), the fringe running in real time from the
  first π/2; binomial shots, ``µs``; truth the fringe frequency;
- ``t1/threshold_drift_shuffled_rounds``: single shots thresholded with a threshold that
  drifts in time (1/f, 1–3 % of the population traded between the two assignment errors), the
  delays acquired in 4–8 rounds, each in its own random order, the rounds averaged; ``µs``;
  truth ``τ``;
- ``echo/xy4_ns_grid``: a CPMG-style echo with four alternating X/Y refocusing pulses (XY-4),
  the total free evolution written in whole ``ns`` on a 16 ns sequencer grid, starting at the
  four pulses' own length (80–160 ns), the pulses' small errors lowering the contrast by a
  constant; binomial shots; truth ``τ``;
- ``cz/mux_readout_crosstalk``: the target read on a multiplexed line that picks up 3–8 % of
  the control qubit's readout (the control's population constant over the sweep): an affine
  map of the fringe; binomial shots, ``mV``; truth the CZ amplitude;
- ``randomized_benchmarking/log_lengths_majority_vote``: log-spaced lengths (unique integers
  of a geometric grid from 1) and each shot the majority of three repeated readouts, a SPAM
  floor of 3–8 % below 1 at length 0; binomial shots; truth ``τ`` (``p^m``, ``τ = −1 / ln
  p``).

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``readout_frequency/flux_jump_mid_sweep`` (anomalous): a flux jump (a vortex hopping)
  part-way through the sweep (35–65 % of the points, acquired in order) moves the qubit away
  from the resonator: its dispersive shift falls to 0.15–0.3 of its value and the fidelity
  drops onto a second, lower curve for the rest of the window (populations of ``2 N`` shots,
  ``MHz``);
- ``readout_amplitude/jpa_bistable_switch`` (anomalous): above a threshold amplitude in the
  window's middle part the JPA flips onto its low-gain branch (bistable): the SNR falls 3–5
  times at once and the fidelity jumps down by a step (populations of ``2 N`` shots, ``mV``);
- ``readout_duration/integration_weights_zeroed`` (no_signal): the integration weights' upload
  failed (all zero): every shot integrates to the same value and the tie is broken at random,
  so the fidelity is 1/2 at every duration (``ns``, ``2 N`` shots);
- ``drag/odd_pulse_count_inverted`` (anomalous): an off-by-one in the pulse train plays one
  extra π: the population is inverted, a *peak* near the top at ``β*`` where a dip belongs
  (binomial shots);
- ``ramsey/second_half_pi_missing`` (no_signal): the sequencer drops the second π/2 on every
  point: the qubit is read on the equator, 1/2 at every delay (T1 at least 20 windows long
  lowers it by under 0.025), no fringe (binomial shots, ``µs``);
- ``echo/refocus_off_frequency`` (no_signal): the refocusing pulse is played at a stale IF
  (tens of MHz off the qubit) on every point, so nothing refocuses: the free-induction decay
  (``T2*`` 0.1–0.4 µs) is over before the first delay (at least 3 ``T2*``), the trace flat at
  1/2 (binomial shots, ``µs``);
- ``spectroscopy/readout_tone_on_stark_shift`` (off_range): the readout tone left on during the
  drive Stark-shifts the qubit below the window (its centre 0.6–1.5 broadened widths beyond
  the lower edge) and broadens it 1.5–3 times: only the line's upper flank, rising toward the
  edge (binomial shots, absolute ``MHz``);
- ``t1/collapsed_below_first_step`` (undersampled): the window built from the nominal T1, the
  qubit's T1 collapsed after a thermal cycle (a TLS come into resonance) to a third to a half
  of the step: the decay is over by the second point (binomial shots, ``µs``).

Experiment settings: as gen7–gen14, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen15_set(1, seed=0)
>>> len(cases) == len(GEN15), all(c.family in GEN15 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _pink, case_from_parts
from qplane.calibration.domain_gen6 import _lorentz
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p
from qplane.calibration.domain_gen8 import _amplitude_errors
from qplane.calibration.domain_gen10 import _binomial, _readout_draw, thermal_fidelity
from qplane.calibration.domain_gen13 import notch

#: family -> (kind, mode)
GEN15 = {
    "resonator_spectroscopy/jitter_averaged_sweeps": ("resonator_spectroscopy", "ok"),
    "spectroscopy/stitched_lo_segments": ("spectroscopy", "ok"),
    "rabi/dbfs_amplitude_grid": ("rabi", "ok"),
    "ramsey/dead_time_offset_window": ("ramsey", "ok"),
    "t1/threshold_drift_shuffled_rounds": ("t1", "ok"),
    "echo/xy4_ns_grid": ("echo", "ok"),
    "cz/mux_readout_crosstalk": ("cz", "ok"),
    "randomized_benchmarking/log_lengths_majority_vote": ("randomized_benchmarking", "ok"),
    "readout_frequency/flux_jump_mid_sweep": ("readout_frequency", "anomalous"),
    "readout_amplitude/jpa_bistable_switch": ("readout_amplitude", "anomalous"),
    "readout_duration/integration_weights_zeroed": ("readout_duration", "no_signal"),
    "drag/odd_pulse_count_inverted": ("drag", "anomalous"),
    "ramsey/second_half_pi_missing": ("ramsey", "no_signal"),
    "echo/refocus_off_frequency": ("echo", "no_signal"),
    "spectroscopy/readout_tone_on_stark_shift": ("spectroscopy", "off_range"),
    "t1/collapsed_below_first_step": ("t1", "undersampled"),
}

__all__ = ["GEN15", "PRIOR_ERROR", "dbfs_grid", "gen15_set",
           "jitter_averaged_notch", "majority_error", "make_gen15_case", "segment_offsets",
           "sequencer_grid"]


# --- readout chains and layouts ---------------------------------------------------------------

def jitter_averaged_notch(f: np.ndarray, fr: float, kappa: float, depth: float, jitter: float,
                          nodes: int = 40) -> np.ndarray:
    """``|S21|`` of a notch resonator averaged over a Gaussian jitter of its frequency (rms
    ``jitter``): the Gauss–Hermite average of ``|1 − depth / (1 + 2i (f − f_r − δ) / κ)|``.

    >>> round(float(jitter_averaged_notch(np.array([5.0]), 5.0, 1.0, 0.6, 0.0)[0]), 12)
    0.4
    """
    u, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    f = np.asarray(f, dtype=float)
    return sum(wk * np.abs(notch(f, fr + jitter * uk, kappa, depth)) for uk, wk in zip(u, w))


def segment_offsets(n: int, segments: int, steps: np.ndarray) -> np.ndarray:
    """The per-point offset of a sweep of ``n`` points stitched from ``segments`` equal
    adjacent segments, the ``k``-th segment offset by ``steps[k]``.

    >>> segment_offsets(6, 3, np.array([0.0, 1.0, -1.0])).tolist()
    [0.0, 0.0, 1.0, 1.0, -1.0, -1.0]
    """
    return np.asarray(steps, dtype=float)[np.arange(n) * segments // n]


def dbfs_grid(top: float, span_db: float, n: int, step_db: float = 0.1) -> np.ndarray:
    """``n`` amplitudes uniform in dBFS from ``span_db`` below ``top`` to ``top``, each level
    rounded to the AWG's ``step_db``, converted to linear units.

    >>> dbfs_grid(1.0, 20.0, 3).round(6).tolist()
    [0.1, 0.316228, 1.0]
    """
    db = np.round(np.linspace(-span_db, 0.0, n) / step_db) * step_db
    return top * 10 ** (db / 20)


def sequencer_grid(start: float, stop: float, n: int, grid: float) -> np.ndarray:
    """``n`` delays from ``start`` to ``stop`` rounded to the sequencer's ``grid``, duplicates
    dropped.

    >>> sequencer_grid(80.0, 400.0, 5, 16.0).tolist()
    [80.0, 160.0, 240.0, 320.0, 400.0]
    """
    return np.unique(np.round(np.linspace(start, stop, n) / grid) * grid)


def majority_error(e: float) -> float:
    """The error of a majority vote of three independent readouts each wrong with ``e``:
    ``3e² − 2e³``.

    >>> majority_error(0.5), round(majority_error(0.1), 6)
    (0.5, 0.028)
    """
    return 3 * e**2 - 2 * e**3


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # jitter_averaged_sweeps
    fr = float(rng.uniform(4e9, 8e9))
    kappa = float(rng.uniform(0.3e6, 3e6))
    jitter = kappa * float(rng.uniform(0.05, 0.3))
    span = kappa * rng.uniform(8, 20)
    centre = fr + float(rng.uniform(-0.15, 0.15) * span)
    x = np.linspace(centre - span / 2, centre + span / 2, int(rng.integers(151, 602)))
    mag = jitter_averaged_notch(x, fr, kappa, float(rng.uniform(0.4, 0.9)), jitter)
    y = float(rng.uniform(0.05, 1.0)) * (mag + rng.uniform(0.002, 0.01) * rng.normal(size=len(x)))
    return dict(x=x, y=y, stype="magnitude", unit="MHz", truth={"center": fr},
                noise="magnitude_fr_jitter_averaged")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    shots = int(rng.integers(200, 1001))
    if family == "spectroscopy/stitched_lo_segments":
        width = float(rng.uniform(0.3e6, 3e6))
        span = width * rng.uniform(15, 30)
        centre = f0 + float(rng.uniform(-0.25, 0.25) * span)
        segments = int(rng.integers(3, 6))
        per = max(int(rng.integers(30, 81)), int(3 * span / width / segments) + 1)
        edges = np.linspace(f0 - span / 2, f0 + span / 2, segments + 1)
        step = (edges[1] - edges[0]) / per                        # the IF step
        x = np.concatenate([e + step * np.arange(per) for e in edges[:-1]])
        h = float(rng.uniform(0.3, 0.7))
        steps = h * rng.uniform(0.02, 0.05, segments) * rng.choice([-1, 1], segments)
        y = (1 + h * _lorentz(x, centre, width) * float(rng.choice([-1, 1]))
             + segment_offsets(len(x), segments, np.cumsum(steps))
             + rng.uniform(0.005, 0.02) * h * rng.normal(size=len(x)))
        return dict(x=x, y=float(rng.uniform(0.05, 2.0)) * y, stype="magnitude", unit="MHz",
                    truth={"center": centre}, noise="magnitude_stitched_lo_offsets")
    # readout_tone_on_stark_shift: the line below the window, broadened
    width = float(rng.uniform(0.3e6, 2e6)) * float(rng.uniform(1.5, 3))
    span = width * rng.uniform(10, 20)
    n = int(rng.integers(60, 201))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    centre = f0 - span / 2 - float(rng.uniform(0.6, 1.5)) * width
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    pe = float(rng.uniform(0.01, 0.05)) + float(rng.uniform(0.3, 0.48)) * _lorentz(x, centre, width)
    p = e0 + (1 - e0 - e1) * pe
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="MHz", shots=shots,
                truth={}, noise="binomial_readout_stark_shifted")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # dbfs_amplitude_grid
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    x = dbfs_grid(prior * float(rng.uniform(2.0, 3.0)), float(rng.uniform(24, 36)),
                  int(rng.integers(41, 102)))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    s = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0, 1.0, 0.0)
    shots = int(rng.integers(200, 1001))
    p = e0 + (1 - e0 - e1) * s
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                prior=prior, truth={"pi_amplitude": api}, noise="binomial_dbfs_amplitude_grid")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    shots = int(rng.integers(100, 801))
    if family == "ramsey/dead_time_offset_window":
        t2 = float(rng.uniform(20e-6, 80e-6))
        t0 = float(rng.uniform(2e-6, 5e-6))
        top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(6, 15) / f)
        n = max(int(rng.uniform(8, 14) * top * f), 30)
        x = np.linspace(t0, t0 + top, n)
        p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us",
                    shots=shots, truth={"frequency": abs(f)}, noise="binomial_dead_time_offset",
                    settings={"detuning": det})
    # second_half_pi_missing: read on the equator at every delay
    top = float(rng.uniform(6, 15)) / f
    t1 = top * float(rng.uniform(20, 100))
    x = np.linspace(0, top, max(int(rng.uniform(8, 14) * top * f), 30))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    p = e0 + (1 - e0 - e1) * 0.5 * np.exp(-x / t1)
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={}, noise="binomial_second_half_pi_missing", settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    e0, e1 = float(rng.uniform(0.03, 0.06)), float(rng.uniform(0.05, 0.1))
    p_th = float(rng.uniform(0.005, 0.03))
    n = int(rng.integers(30, 81))
    if family == "t1/threshold_drift_shuffled_rounds":
        tau = float(rng.uniform(10e-6, 150e-6))
        x = np.linspace(0, tau * rng.uniform(4, 6), n)
        excited = p_th + (rng.uniform(0.85, 0.97) - p_th) * np.exp(-x / tau)
        rounds, per = int(rng.integers(4, 9)), int(rng.integers(50, 251))
        drift = float(rng.uniform(0.01, 0.03)) * _pink(rounds * n, rng)   # in acquisition time
        y = np.zeros(n)
        for k in range(rounds):
            order = rng.permutation(n)                            # this round's order
            d = np.empty(n)
            d[order] = drift[k * n:(k + 1) * n]
            a0, a1 = np.clip(e0 + d, 0, 1), np.clip(e1 - d, 0, 1)  # the threshold trades them
            y += _binomial(a0 + (1 - a0 - a1) * excited, per, rng)
        return dict(x=x, y=y / rounds, stype="population", unit="us", shots=rounds * per,
                    truth={"tau": tau}, noise="binomial_threshold_drift_rounds")
    # collapsed_below_first_step: the step 2-3 times the actual T1
    step = float(rng.uniform(2e-6, 10e-6))
    tau = step / float(rng.uniform(2, 3))
    x = step * np.arange(n)
    excited = p_th + (rng.uniform(0.85, 0.97) - p_th) * np.exp(-x / tau)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * excited, shots, rng), stype="population",
                unit="us", shots=shots, truth={}, noise="binomial_t1_collapsed_below_step")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    shots = int(rng.integers(200, 1001))
    n = int(rng.integers(40, 101))
    if family == "echo/xy4_ns_grid":
        tau = float(rng.uniform(10e-6, 150e-6))
        t_pulses = 4 * float(rng.uniform(20, 40))                  # ns: the four π pulses
        x = sequencer_grid(t_pulses, tau * rng.uniform(3, 5) / 1e-9, n, 16.0) * 1e-9
        a = float(rng.uniform(0.35, 0.48)) * (1 - 4 * float(rng.uniform(0.02, 0.06)) ** 2)
        p = e0 + (1 - e0 - e1) * (0.5 + a * np.exp(-x / tau))
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="ns",
                    shots=shots, truth={"tau": tau}, noise="binomial_xy4_pulse_error_grid")
    # refocus_off_frequency: the free-induction decay over before the first delay
    t2s = float(rng.uniform(0.1e-6, 0.4e-6))
    tau = float(rng.uniform(10e-6, 150e-6))                       # the echo that should be
    top = tau * float(rng.uniform(3, 5))
    x = np.linspace(max(top / n, 3 * t2s), top, n)
    p = e0 + (1 - e0 - e1) * (0.5 + 0.45 * np.exp(-((x / t2s) ** 2)))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={}, noise="binomial_refocus_off_frequency")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # odd_pulse_count_inverted: a peak at beta* where a dip belongs
    best = float(rng.uniform(-0.6, 0.6))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 0.9))
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    x = np.linspace(current - span / 2, current + span / 2, int(rng.integers(21, 42)))
    off, amp = float(rng.uniform(0.02, 0.1)), float(rng.uniform(0.3, 0.9))
    p = 1 - (off + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_odd_pulse_count_inverted")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # mux_readout_crosstalk
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    x = np.linspace(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35),
                    int(rng.integers(31, 62)))
    target = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    c, control = float(rng.uniform(0.03, 0.08)), float(rng.uniform(0.05, 0.95))
    p = (1 - c) * target + c * control
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                truth={"cz_amplitude": best}, noise="binomial_mux_readout_crosstalk")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # flux_jump_mid_sweep: the dispersive shift falls part-way through
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))
    current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
    x = np.linspace(current - kappa * rng.uniform(2, 3.5), current + kappa * rng.uniform(2, 3.5),
                    int(rng.integers(51, 102)))
    p_th, floor = float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.01, 0.04))
    before = thermal_fidelity(x, tilt=0.0, p_th=p_th, floor=floor, **r)
    jumped = dict(r, chi=r["chi"] * float(rng.uniform(0.15, 0.3)))
    after = thermal_fidelity(x, tilt=0.0, p_th=p_th, floor=floor, **jumped)
    j = int(round(len(x) * rng.uniform(0.35, 0.65)))
    fid = np.where(np.arange(len(x)) < j, before, after)
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={}, noise="binomial_flux_jump_mid_sweep")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # jpa_bistable_switch: the SNR falls 3-5 times above a threshold amplitude
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    current = float(grid[np.argmax(1 - (e0 + e1) / 2)]) * math.exp(rng.normal(0, 0.15))
    u = np.linspace(-0.7, 0.7, int(rng.integers(21, 42)))
    x = current * np.exp(u)
    switch = float(rng.uniform(-0.25, 0.25))
    low = width * float(rng.uniform(3, 5))                        # the low-gain branch
    e0a, e1a = _amplitude_errors(x, width, eps_d, onset, c_t)
    e0b, e1b = _amplitude_errors(x, low, eps_d, onset, c_t)
    e0, e1 = np.where(u < switch, e0a, e0b), np.where(u < switch, e1a, e1b)
    shots = int(rng.integers(1000, 5001))
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="mV", shots=2 * shots, truth={},
                noise="binomial_jpa_bistable_switch")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # integration_weights_zeroed: every shot ties, broken at random
    x = np.unique(np.round(np.linspace(rng.uniform(16e-9, 80e-9), rng.uniform(0.8e-6, 3e-6),
                                       int(rng.integers(25, 61))) / 4e-9)) * 4e-9
    shots = int(rng.integers(1000, 3001))
    q = float(rng.uniform(0.3, 0.7))                              # P(assigned 1) on a tie
    f = 1 - (rng.binomial(shots, q, len(x)) + rng.binomial(shots, 1 - q, len(x))) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="ns", shots=2 * shots, truth={},
                noise="binomial_weights_zeroed_tie")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # log_lengths_majority_vote
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    spam = float(rng.uniform(0.03, 0.08))
    m = np.unique(np.round(np.geomspace(1, tau * rng.uniform(3, 6), int(rng.integers(36, 57)))))
    survival = 0.5 + (0.5 - spam) * p**m
    e0, e1 = float(rng.uniform(0.03, 0.08)), float(rng.uniform(0.05, 0.12))
    read0 = (1 - majority_error(e0)) * survival + majority_error(e1) * (1 - survival)
    shots = int(rng.integers(100, 501))
    return dict(x=m, y=_binomial(read0, shots, rng), stype="population", unit="", shots=shots,
                truth={"tau": tau}, noise="binomial_majority_vote_log_lengths")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen15_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a fifteenth-generation held-out ``family`` (see :data:`GEN15`)."""
    kind, mode = GEN15[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen15_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every fifteenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen15_case(f, rng) for f in GEN15 for _ in range(per_family)]
