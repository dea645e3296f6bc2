"""The eighteenth generation of held-out families: sweeps kept blind while the gate, the fits
and the second opinion are tuned after the seventeenth generation's measurement.

Generations 1–17 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen17``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, in session 16 after
the seventeenth generation's one measurement, to be measured once, blind, by a later session,
by a helper that did not run the gate, the fits' verdicts or the second opinion on them and
did not read how the gate decides (only a check that every case is well formed and
analysable, and that each good family's truth is right on noiseless data). Each brings a
readout, noise, layout or failure kind that neither the train families nor generations 1–17
use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``ramsey/charge_parity_beating``: an offset-charge-sensitive qubit whose charge parity
  switches many times during a point's averaging: two fringes of equal weight at ``f (1 ±
  s / 2)`` (``s`` 2–5 %), a slow beating (``cos(π f s t)``) under the fringe; binomial shots,
  ``µs``; truth the two frequencies' mean ``f`` (as a physicist reports it);
- ``resonator_spectroscopy/cable_loss_db_slope``: a notch resonator's ``|S21|`` seen through
  a line whose insertion loss (3–12 dB) changes linearly in dB across the window (0.5–2 dB
  from edge to edge: a filter's roll-off near the readout band), the baseline sloped in dB
  under the dip; absolute ``GHz``; truth ``f_r``;
- ``rabi/dac_integral_nonlinearity``: the AWG's DAC with a cubic integral nonlinearity, the
  amplitude played ``x (1 + c (x / x_max)²)`` (``|c|`` 1–4 %, either sign, ``x_max`` the
  window's top): the Rabi oscillation's angle slightly non-linear in the nominal axis; phase
  and damping as gen7's, binomial shots, ``mV``; truth the *nominal* amplitude that plays a π
  pulse (the setting a physicist writes back), the node's prior 4 % off it;
- ``t1/two_day_interleaved_delays``: two days' delay sets of 15–30 points each (the second
  grid offset by half a step) merged and sorted, ``T1`` drifting 3–8 % between the days and
  the readout re-tuned in between (its errors 20 % apart): a decay whose points alternate
  between two slightly different curves; binomial shots, ``µs``; truth the two days' mean
  ``τ``;
- ``spectroscopy/stark_shifted_repeated_passes``: the line averaged over 3–6 passes while the
  drive source's output drifts (±30 % in power from pass to pass): each pass's line AC-Stark
  shifted in proportion to its power (0.2–0.5 widths per unit of relative power) and power
  broadened with it, the average a slightly broadened, asymmetric line; binomial shots,
  absolute ``MHz``; truth the mean of the passes' centres;
- ``cz/readout_offset_linear_drift``: the conditional-phase fringe acquired in order while
  the readout's offset drifts linearly (0.005–0.02 over the sweep, a HEMT warming), a slight
  tilt under the fringe; binomial shots, ``mV``; truth the CZ amplitude;
- ``randomized_benchmarking/two_seed_sets_averaged``: two seeds' sets of 5–10 sequences a
  length, each sequence's survival scattering about ``B + A p^m`` (sequence-dependent
  coherent errors, 0.01–0.03, growing with the length), the two sets' means averaged point
  by point on log-spaced lengths; binomial shots; truth ``τ`` (``τ = −1 / ln p``);
- ``echo/shot_budget_cut_midway``: the run shortened part-way (after 40–60 % of the points)
  to fit the fridge's schedule: the later points average only 20–40 % of the nominal shots
  (the file giving the nominal), the noise larger on the decay's tail; ``µs``; truth ``τ``.

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``spectroscopy/lo_stepped_twice_per_point`` (anomalous): the sequencer steps the LO twice
  per point (a leftover second step of 2–4 line widths): each point averages the population
  at ``f`` and at ``f + D``, two half-height copies of the line ``D`` apart (binomial shots,
  ``MHz``);
- ``readout_frequency/qubit_parked_far_detuned`` (no_signal): the qubit parked at a flux point
  far from the resonator, its dispersive shift 20–50 times smaller than the node expects: the
  dressed pair unresolved, the fidelity a few % above 1/2 across the window (populations of
  ``2 N`` shots, ``MHz``);
- ``readout_amplitude/awg_max_clamped_axis`` (anomalous): the amplitudes recorded as played
  (the AWG's readback), clamped at its maximum from 55–70 % of the points on: the last third
  or more of the points repeat one amplitude, the optimum out of reach (populations of ``2 N``
  shots, ``mV``);
- ``readout_duration/window_after_pulse_end`` (no_signal): the integration window starts 8–14
  ring-down times after the readout pulse ended: only the resonator's ring-down tail is
  integrated and the fidelity stays near 1/2 at every duration (``ns``, ``2 N`` shots);
- ``drag/window_from_neighbour_beta`` (off_range): the ``β`` window copied from the
  neighbour's file: narrow (0.3–0.45) and with the qubit's best ``β`` 0.5–1 window width
  beyond its near edge, only the fringe's rising flank inside (binomial shots);
- ``t1/delay_register_overflow`` (anomalous): the delay register counts 4 ns cycles in 16 bits
  and wraps at 262.144 µs: the delays asked for (to 4–6 ``τ``, ``τ`` 80–150 µs) are played
  modulo the wrap, so the decay restarts from the top after every wrap (binomial shots,
  ``µs``);
- ``randomized_benchmarking/two_lengths_repeated_rows`` (undersampled): only two lengths (1
  and 1–3 ``τ``), each written as 10–20 rows (one a seed): a decay with two distinct abscissae
  (binomial shots);
- ``resonator_spectroscopy/window_between_mux_resonators`` (off_range): a window 6–12
  linewidths wide left between two multiplexed resonators, 6 or more linewidths from either:
  only the dips' tails, no minimum (``|S21|``, absolute ``GHz``).

Experiment settings: as gen7–gen17, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen18_set(1, seed=0)
>>> len(cases) == len(GEN18), all(c.family in GEN18 for c in cases)
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
GEN18 = {
    "ramsey/charge_parity_beating": ("ramsey", "ok"),
    "resonator_spectroscopy/cable_loss_db_slope": ("resonator_spectroscopy", "ok"),
    "rabi/dac_integral_nonlinearity": ("rabi", "ok"),
    "t1/two_day_interleaved_delays": ("t1", "ok"),
    "spectroscopy/stark_shifted_repeated_passes": ("spectroscopy", "ok"),
    "cz/readout_offset_linear_drift": ("cz", "ok"),
    "randomized_benchmarking/two_seed_sets_averaged": ("randomized_benchmarking", "ok"),
    "echo/shot_budget_cut_midway": ("echo", "ok"),
    "spectroscopy/lo_stepped_twice_per_point": ("spectroscopy", "anomalous"),
    "readout_frequency/qubit_parked_far_detuned": ("readout_frequency", "no_signal"),
    "readout_amplitude/awg_max_clamped_axis": ("readout_amplitude", "anomalous"),
    "readout_duration/window_after_pulse_end": ("readout_duration", "no_signal"),
    "drag/window_from_neighbour_beta": ("drag", "off_range"),
    "t1/delay_register_overflow": ("t1", "anomalous"),
    "randomized_benchmarking/two_lengths_repeated_rows": ("randomized_benchmarking",
                                                         "undersampled"),
    "resonator_spectroscopy/window_between_mux_resonators": ("resonator_spectroscopy",
                                                             "off_range"),
}

#: a 16-bit delay register counting 4 ns clock cycles wraps at this delay (s)
DELAY_REGISTER_WRAP = 2**16 * 4e-9

__all__ = ["DELAY_REGISTER_WRAP", "GEN18", "PRIOR_ERROR", "db_slope", "gen18_set",
           "inl_nominal", "make_gen18_case", "parity_fringe", "wrapped_delays"]


# --- readout chains and physics ---------------------------------------------------------------

def parity_fringe(t: np.ndarray, mean: float, split: float, phase: float = 0.0) -> np.ndarray:
    """A Ramsey fringe of a charge-parity-switching qubit: two fringes of equal weight at
    ``mean (1 ± split / 2)``, i.e. ``cos(2π mean t + phase) cos(π mean split t)``.

    >>> t = np.linspace(0, 1e-5, 7)
    >>> bool(np.allclose(parity_fringe(t, 1e6, 0.04),
    ...      np.cos(2 * np.pi * 1e6 * t) * np.cos(np.pi * 1e6 * 0.04 * t)))
    True
    """
    t = np.asarray(t, dtype=float)
    lo, hi = mean * (1 - split / 2), mean * (1 + split / 2)
    return 0.5 * (np.cos(2 * math.pi * lo * t + phase) + np.cos(2 * math.pi * hi * t + phase))


def db_slope(f: np.ndarray, loss_db: float, slope_db: float) -> np.ndarray:
    """A line's transmission magnitude for an insertion loss of ``loss_db`` at the window's
    centre falling linearly by ``slope_db`` from its first to its last frequency:
    ``10^(−L(f) / 20)``.

    >>> db_slope(np.array([0.0, 1.0, 2.0]), 20.0, 2.0).round(4).tolist()
    [0.1122, 0.1, 0.0891]
    """
    f = np.asarray(f, dtype=float)
    u = (f - (f[0] + f[-1]) / 2) / (f[-1] - f[0])
    return 10 ** (-(loss_db + slope_db * u) / 20)


def inl_nominal(played: float, coefficient: float, full_scale: float) -> float:
    """The nominal amplitude a DAC with a cubic integral nonlinearity (``played = x (1 + c
    (x / full_scale)²)``) needs to play ``played``: the real root, by Newton's method.

    >>> x = inl_nominal(0.5, 0.03, 1.0)
    >>> round(x * (1 + 0.03 * x**2), 12), round(inl_nominal(0.5, 0.0, 1.0), 12)
    (0.5, 0.5)
    """
    x = played
    for _ in range(50):
        g = x * (1 + coefficient * (x / full_scale) ** 2) - played
        x -= g / (1 + 3 * coefficient * (x / full_scale) ** 2)
    return float(x)


def wrapped_delays(t: np.ndarray, wrap: float = DELAY_REGISTER_WRAP) -> np.ndarray:
    """The delays a register that wraps at ``wrap`` plays for the requested delays ``t``.

    >>> (wrapped_delays(np.array([0.0, 0.2, 0.3, 0.5]), 0.25) / 0.05).round(6).tolist()
    [0.0, 4.0, 1.0, 0.0]
    """
    return np.mod(np.asarray(t, dtype=float), wrap)


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    fr = float(rng.uniform(4e9, 8e9))
    depth = float(rng.uniform(0.4, 0.9))
    kappa = float(rng.uniform(0.3e6, 3e6))
    sigma = float(rng.uniform(0.002, 0.008))
    if family == "resonator_spectroscopy/cable_loss_db_slope":
        span = kappa * rng.uniform(8, 16)
        centre = fr + float(rng.uniform(-0.15, 0.15) * span)
        n = int(rng.integers(201, 602))
        x = np.linspace(centre - span / 2, centre + span / 2, n)
        line = db_slope(x, float(rng.uniform(3, 12)), float(rng.uniform(0.5, 2.0)))
        mag = np.abs(notch(x, fr, kappa, depth) + sigma * (rng.normal(size=n)
                                                           + 1j * rng.normal(size=n)))
        return dict(x=x, y=line * mag, stype="magnitude", unit="GHz", truth={"center": fr},
                    noise="magnitude_cable_loss_db_slope")
    # window_between_mux_resonators: 6-12 linewidths wide, 4-8 linewidths from either dip
    width = kappa * float(rng.uniform(6, 12))
    gap = width + kappa * float(rng.uniform(10, 16))
    lo = fr + float(rng.uniform(4, 8)) * kappa + width / 2          # the window's centre
    lo = min(lo, fr + gap - 4 * kappa - width / 2)
    n = int(rng.integers(201, 402))
    x = np.linspace(lo - width / 2, lo + width / 2, n)
    mag = np.abs(notch(x, fr, kappa, depth)) * np.abs(
        notch(x, fr + gap, kappa * float(rng.uniform(0.7, 1.4)), float(rng.uniform(0.4, 0.9))))
    y = float(rng.uniform(0.05, 1.0)) * (mag + sigma / 2 * rng.normal(size=n))
    return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={},
                noise="magnitude_between_two_mux_dips")


def _line(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return 1 / (1 + (2 * (x - centre) / width) ** 2)


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))                         # FWHM
    span = width * rng.uniform(10, 20)
    centre = f0 + float(rng.uniform(-0.25, 0.25) * span)
    x = np.linspace(f0 - span / 2, f0 + span / 2, int(rng.integers(81, 242)))
    p_th = float(rng.uniform(0.005, 0.03))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    shots = int(rng.integers(200, 1001))
    if family == "spectroscopy/stark_shifted_repeated_passes":
        # 3-6 passes, the source's power drifting: each pass's line Stark shifted (down) by
        # its own power, and power broadened with it
        k = int(rng.integers(3, 7))
        power = 1 + np.sort(rng.uniform(-0.3, 0.3, k))             # relative, pass by pass
        shift = float(rng.uniform(0.2, 0.5)) * width                # at the nominal power
        centres = centre - shift * (power - power.mean())          # about their mean
        height = float(rng.uniform(0.3, 0.45))
        pe = np.mean([p_th + height * pw / (1 + 0.3 * pw) * _line(x, c, width * math.sqrt(
            1 + 0.3 * pw)) for pw, c in zip(power, centres)], axis=0)
        p = e0 + (1 - e0 - e1) * pe
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="MHz",
                    shots=shots, truth={"center": float(np.mean(centres))},
                    noise="binomial_stark_drifting_passes_mean")
    # lo_stepped_twice_per_point: each point averages f and f + D (D 2-4 widths)
    d = width * float(rng.uniform(2, 4)) * float(rng.choice([-1, 1]))
    height = float(rng.uniform(0.35, 0.48))
    pe = p_th + height * (_line(x, centre, width) + _line(x + d, centre, width)) / 2
    p = e0 + (1 - e0 - e1) * pe
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="MHz", shots=shots,
                truth={}, noise="binomial_two_lo_steps_per_point")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # dac_integral_nonlinearity: played = x (1 + c (x / full scale)^2), |c| 1-4 %
    api = float(rng.uniform(0.05, 0.8))                             # the played pi amplitude
    full = api * float(rng.uniform(2.2, 3.0))                       # the window's top
    c = float(rng.uniform(0.01, 0.04) * rng.choice([-1, 1]))
    nominal = inl_nominal(api, c, full)
    prior = _prior(rng, nominal)
    x = np.linspace(0, full, int(rng.integers(31, 81)))
    played = x * (1 + c * (x / full) ** 2)
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    phase = float(rng.uniform(0.0, 0.2) * rng.choice([-1, 1]))
    s = _rabi_p(played, api, phase, float(rng.uniform(0.05, 0.3)), 0.0, 1.0, 0.0)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * s, shots, rng), stype="population",
                unit="mV", shots=shots, prior=prior, truth={"pi_amplitude": nominal},
                noise="binomial_dac_cubic_inl")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # charge_parity_beating: two fringes of equal weight split by 2-5 %, the truth their mean
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    split = float(rng.uniform(0.02, 0.05))
    t2 = float(rng.uniform(20e-6, 80e-6))
    top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(6, 15) / f)
    n = max(int(rng.uniform(8, 14) * top * f), 30)
    x = np.linspace(0, top, n)
    p = 0.5 + amp * np.exp(-x / t2) * parity_fringe(x, f, split, ph)
    shots = int(rng.integers(100, 801))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={"frequency": abs(f)}, noise="binomial_charge_parity_split_fringes",
                settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    p_th = float(rng.uniform(0.005, 0.03))
    top = float(rng.uniform(0.85, 0.97))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    shots = int(rng.integers(200, 1001))
    if family == "t1/two_day_interleaved_delays":
        # two days' delay sets (one grid, the other offset by half a step), T1 drifting
        # 3-8 % either way between them and the readout re-tuned (errors a little apart)
        tau = float(rng.uniform(10e-6, 150e-6))
        drift = float(rng.uniform(0.03, 0.08) * rng.choice([-1, 1]))
        taus = (tau * (1 - drift / 2), tau * (1 + drift / 2))
        m = int(rng.integers(15, 31))
        step = tau * float(rng.uniform(4, 6)) / m
        xs, ys = [], []
        for day, t in enumerate(taus):
            x = (np.arange(m) + day / 2) * step
            d0 = e0 * float(rng.uniform(0.8, 1.2))
            d1 = e1 * float(rng.uniform(0.8, 1.2))
            excited = p_th + (top - p_th) * np.exp(-x / t)
            xs.append(x)
            ys.append(_binomial(d0 + (1 - d0 - d1) * excited, shots, rng))
        x, y = np.concatenate(xs), np.concatenate(ys)
        order = np.argsort(x, kind="stable")
        return dict(x=x[order], y=y[order], stype="population", unit="us", shots=shots,
                    truth={"tau": float(np.mean(taus))}, noise="binomial_two_day_t1_drift")
    # delay_register_overflow: requested delays to 4-6 tau beyond the register's wrap
    tau = float(rng.uniform(80e-6, 150e-6))
    n = int(rng.integers(40, 81))
    x = np.linspace(0, tau * rng.uniform(4, 6), n)
    excited = p_th + (top - p_th) * np.exp(-wrapped_delays(x) / tau)
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * excited, shots, rng), stype="population",
                unit="us", shots=shots, truth={}, noise="binomial_delay_register_wraps")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # shot_budget_cut_midway: from 40-60 % of the points on, 20-40 % of the nominal shots
    tau = float(rng.uniform(20e-6, 150e-6))
    n = int(rng.integers(40, 101))
    a = float(rng.uniform(0.35, 0.48))
    shots = int(rng.integers(200, 1001))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    p = e0 + (1 - e0 - e1) * (0.5 + a * np.exp(-x / tau))
    cut = int(n * rng.uniform(0.4, 0.6))
    per = np.where(np.arange(n) < cut, shots, max(int(shots * rng.uniform(0.2, 0.4)), 20))
    return dict(x=x, y=rng.binomial(per, np.clip(p, 0, 1)) / per, stype="population",
                unit="us", shots=shots, truth={"tau": tau}, noise="binomial_shots_cut_midway")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # window_from_neighbour_beta: the best beta 0.5-1 span beyond the window's near edge
    best = float(rng.uniform(-0.6, 0.6))
    span = float(rng.uniform(0.3, 0.45))
    half = float(rng.uniform(1.0, 1.6)) * float(rng.uniform(0.6, 0.9))
    side = float(rng.choice([-1, 1]))
    centre = best + side * (span / 2 + float(rng.uniform(0.5, 1.0)) * span)
    x = np.linspace(centre - span / 2, centre + span / 2, int(rng.integers(21, 42)))
    off, amp = float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.3, 0.9))
    level = off + amp * np.sin(math.pi / (2 * half) * (x - best)) ** 2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(level, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_neighbours_beta_window")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # readout_offset_linear_drift: the readout's offset drifting 0.005-0.02 over the sweep
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    x = np.linspace(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35),
                    int(rng.integers(31, 62)))
    target = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    drift = float(rng.uniform(0.005, 0.02) * rng.choice([-1, 1])) * np.linspace(-0.5, 0.5,
                                                                                 len(x))
    y = _binomial(e0 + drift + (1 - e0 - e1) * target, shots, rng)
    return dict(x=x, y=y, stype="population", unit="mV", shots=shots,
                truth={"cz_amplitude": best}, noise="binomial_readout_offset_ramp")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # qubit_parked_far_detuned: chi 20-50 times smaller than the node expects
    r = _readout_draw(rng)
    kappa = r["kappa"]
    r["chi"] = r["chi"] / float(rng.uniform(20, 50))
    shots = int(rng.integers(1000, 5001))
    current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
    half = kappa * float(rng.uniform(2, 3.5))
    x = np.linspace(current - half, current + half, int(rng.integers(31, 72)))
    fid = thermal_fidelity(x, tilt=0.0, p_th=float(rng.uniform(0.005, 0.03)),
                           floor=float(rng.uniform(0.01, 0.04)), **r)
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={}, noise="binomial_chi_far_detuned_qubit")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # awg_max_clamped_axis: the amplitudes recorded as played, clamped at the AWG's maximum
    # (below the best amplitude) for the last 30-45 % of the points
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    best = float(grid[np.argmax(1 - (e0 + e1) / 2)])
    current = best * math.exp(rng.normal(0, 0.15))
    n = int(rng.integers(21, 42))
    requested = current * np.exp(np.linspace(-0.9, 0.9, n))
    k = int(n * rng.uniform(0.55, 0.7))
    x = np.minimum(requested, requested[k])
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    shots = int(rng.integers(1000, 5001))
    return dict(x=x, y=_binomial(1 - (e0 + e1) / 2, 2 * shots, rng), stype="population",
                unit="mV", shots=2 * shots, truth={}, noise="binomial_awg_clamped_played_axis")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # window_after_pulse_end: only the resonator's ring-down (1/kappa 50-200 ns) is left
    from scipy.special import erfc

    x = np.unique(np.round(np.linspace(rng.uniform(20e-9, 80e-9), rng.uniform(0.8e-6, 3e-6),
                                       int(rng.integers(25, 61))) / 4e-9)) * 4e-9
    ring = float(rng.uniform(50e-9, 200e-9))
    late = float(rng.uniform(8, 14)) * ring                         # after the pulse's end
    snr = float(rng.uniform(3, 8)) / math.sqrt(200e-9)
    # the ring-down's integrated signal: the amplitude e^(-t / 2 ring) from `late` on
    signal = 2 * ring * math.exp(-late / (2 * ring)) * (1 - np.exp(-x / (2 * ring)))
    e = 0.5 * erfc(snr * signal / np.sqrt(x) / (2 * math.sqrt(2)))
    shots = int(rng.integers(1000, 3001))
    return dict(x=x, y=_binomial(1 - e, 2 * shots, rng), stype="population", unit="ns",
                shots=2 * shots, truth={}, noise="binomial_window_after_ring_down")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    b = float(rng.uniform(0.46, 0.52))
    a = min(float(rng.uniform(0.4, 0.5)), 0.97 - b)               # SPAM: never all surviving
    shots = int(rng.integers(100, 501))
    if family == "randomized_benchmarking/two_seed_sets_averaged":
        # two seeds' sets of 5-10 sequences a length, each sequence's survival scattering
        # (sequence-dependent coherent errors), the two sets averaged point by point
        m = np.unique(np.round(np.geomspace(1, tau * rng.uniform(3, 6),
                                            int(rng.integers(25, 51)))))
        k = int(rng.integers(5, 11))
        spread = float(rng.uniform(0.01, 0.03))
        sets = []
        for _ in range(2):
            seq = b + a * p**m[:, None] + spread * np.sqrt(1 - p ** (2 * m[:, None])) \
                * rng.normal(size=(len(m), k))
            sets.append(rng.binomial(shots, np.clip(seq, 0, 1)).mean(axis=1) / shots)
        return dict(x=m, y=(sets[0] + sets[1]) / 2, stype="population", unit="", shots=shots,
                    truth={"tau": tau}, noise="binomial_two_seed_sets_mean")
    # two_lengths_repeated_rows: lengths 1 and 1-3 tau, each repeated as 10-20 rows
    long = float(round(tau * rng.uniform(1, 3)))
    reps = int(rng.integers(10, 21))
    m = np.repeat([1.0, long], reps)
    return dict(x=m, y=_binomial(b + a * p**m, shots, rng), stype="population", unit="",
                shots=shots, truth={}, noise="binomial_two_lengths_repeated")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen18_case(family: str, rng: np.random.Generator) -> Case:
    """One case of an eighteenth-generation held-out ``family`` (see :data:`GEN18`)."""
    kind, mode = GEN18[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen18_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every eighteenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen18_case(f, rng) for f in GEN18 for _ in range(per_family)]
