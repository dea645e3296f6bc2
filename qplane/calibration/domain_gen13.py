"""The thirteenth generation of held-out families: sweeps kept blind while the gate, the fits
and the second opinion are tuned after the twelfth generation's measurement.

Generations 1–12 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen12``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, by a helper that did
not run the gate, the fits' verdicts or the second opinion on them and did not read how the
gate decides (only a check that every case is well formed and analysable, and that each good
family's truth is right on noiseless data). Each brings a readout, noise, layout or failure
kind that neither the train families nor generations 1–12 use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/lockin_lag_smear``: a notch resonator's ``|S21|`` read through a
  lock-in amplifier whose output filter's time constant is 0.25–1 of the dwell per point: each
  point is partly the previous one (a first-order smear along the ascending sweep, of the
  complex signal and its noise alike, lagging the line by at most one step, a step at most a
  tenth of the linewidth); absolute ``MHz``; truth ``f_r``;
- ``spectroscopy/interleaved_combs_warmup``: the frequencies acquired as 3–6 interleaved
  combs (pass ``j`` measures points ``j, j + K, …``) while the digitiser's DC offset settles
  as the rack warms (an exponential approach, 2–8 % of the line's height, with a time
  constant of 0.3–1.5 acquisitions): the file sorted by frequency carries a comb-periodic
  offset; magnitude, ``GHz``; truth the line's centre;
- ``rabi/block_rearm_transient``: the amplitude sweep acquired in contiguous blocks of 8–16
  points with a dead time between them (the AWG reloading its waveforms); the readout
  amplifier's gain overshoots 3–8 % on the first point after each dead time and settles
  within two points; averaged IQ, phase and damping as gen7's, ``mV``; the node's prior (4 %
  off);
- ``ramsey/random_sorted_delays``: delays drawn uniformly at random over the window (a
  randomised acquisition, on average 6–12 points a fringe and at least 30, gaps and
  clusters), written sorted;
  binomial shots, ``µs``; truth the fringe frequency;
- ``t1/aircon_cycle_passes_iq``: the mean of 2–4 passes of the delay sweep while the IQ
  offset follows the air conditioning's cycle (a sinusoid in time, 8–20 min period, 1–4 % of
  the contrast; each pass 1–4 min); averaged IQ, ``µs``; truth ``τ``;
- ``cz/square_root_grid``: the flux amplitudes on a grid uniform in the qubit's frequency
  shift (``∝ amplitude²``: the amplitudes are square roots of a uniform grid, denser at the
  top of the window); binomial shots, ``mV``; truth the CZ amplitude;
- ``readout_frequency/jpa_gain_profile``: the separation amplified by a JPA whose gain profile
  (Lorentzian in power, 15–22 dB peak, 5–15 linewidths wide) is centred 1–4 linewidths off the
  dressed pair's midpoint, the HEMT's noise behind it: the SNR ``∝ √(G / (G + n_H))`` falls
  across the band; populations of ``2 N`` shots, ``MHz``; truth the noiseless optimum;
- ``randomized_benchmarking/powers_of_two_seed_rows``: sequence lengths 1, 2, 4, … up to the
  first power of two beyond 2–5 ``τ`` (10–14 lengths), each acquired with 2–3 independent
  sets of random sequences written as separate rows (repeated lengths; the sets' survivals
  spread as gen7's); binomial shots; truth ``τ`` (``p^m``, ``τ = −1 / ln p``).

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``rabi/carrier_leak_offset`` (anomalous): the drive mixer's carrier leaks through at 25–50 %
  of the π amplitude, at an angle to the pulse's quadrature: the rotation angle is ``π |x + ε
  e^{iφ}| / a_π``, so the oscillation starts at 12–50 % excited population and its first
  maximum is not at the π amplitude (binomial shots, ``mV``, the prior passed);
- ``echo/refocus_at_two_pi`` (anomalous): the refocusing pulse's amplitude doubled (a 2π
  pulse): nothing is refocused, the trace is a Ramsey at the residual detuning (1.5–3 fringes
  within ``T2*``, ``T2*`` an eighth to a quarter of the window) then flat at 1/2 (binomial
  shots, ``µs``);
- ``drag/drive_lo_unlocked`` (no_signal): the drive's LO lost its reference lock and runs tens
  of MHz off: no pulse rotates the qubit; the population stays at the thermal level (1–4 %)
  with a 1/f drift of the readout in time (binomial shots);
- ``readout_amplitude/extra_attenuator`` (off_range): a 16–24 dB attenuator left in the readout
  line: the window built around the nominal optimum delivers a sixth to a sixteenth of the
  amplitude, so the fidelity only rises across it, from barely above chance (populations of
  ``2 N`` shots, ``V``);
- ``readout_duration/unused_digitiser_input`` (no_signal): the integration reads the
  digitiser's unused input: the assignment is a coin toss at every duration (``ns``, ``2 N``
  shots);
- ``readout_frequency/step_wider_than_pair`` (undersampled): a survey's window, 20–31 points
  3–4.5 linewidths apart around the dressed pair: the fidelity's peak (1.5–2.8 linewidths
  wide at half its height) holds at most one point (populations of ``2 N`` shots, ``MHz``);
- ``cz/leakage_to_two_bump`` (anomalous): leakage to |02⟩ (read as |1⟩) near the operating
  point, a Gaussian bump in amplitude 3–6 % of it wide with 30–60 % leaked at its top: the dip
  is lifted and split, not a cosine (binomial shots, ``mV``);
- ``randomized_benchmarking/leak_read_as_ground`` (anomalous): the qubit leaks to |2⟩ (the
  leaked population settling at 30–60 %, over 0.5–2 ``τ``) and the discriminator assigns |2⟩
  to |0⟩: the survival ends at 0.6–0.8, well above 1/2 (binomial shots).

Experiment settings: as gen7–gen12, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen13_set(1, seed=0)
>>> len(cases) == len(GEN13), all(c.family in GEN13 for c in cases)
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
GEN13 = {
    "resonator_spectroscopy/lockin_lag_smear": ("resonator_spectroscopy", "ok"),
    "spectroscopy/interleaved_combs_warmup": ("spectroscopy", "ok"),
    "rabi/block_rearm_transient": ("rabi", "ok"),
    "ramsey/random_sorted_delays": ("ramsey", "ok"),
    "t1/aircon_cycle_passes_iq": ("t1", "ok"),
    "cz/square_root_grid": ("cz", "ok"),
    "readout_frequency/jpa_gain_profile": ("readout_frequency", "ok"),
    "randomized_benchmarking/powers_of_two_seed_rows": ("randomized_benchmarking", "ok"),
    "rabi/carrier_leak_offset": ("rabi", "anomalous"),
    "echo/refocus_at_two_pi": ("echo", "anomalous"),
    "drag/drive_lo_unlocked": ("drag", "no_signal"),
    "readout_amplitude/extra_attenuator": ("readout_amplitude", "off_range"),
    "readout_duration/unused_digitiser_input": ("readout_duration", "no_signal"),
    "readout_frequency/step_wider_than_pair": ("readout_frequency", "undersampled"),
    "cz/leakage_to_two_bump": ("cz", "anomalous"),
    "randomized_benchmarking/leak_read_as_ground": ("randomized_benchmarking", "anomalous"),
}

__all__ = ["GEN13", "PRIOR_ERROR", "combs_order", "gen13_set", "jpa_snr_factor",
           "leaked_survival", "lockin_smear", "make_gen13_case", "notch", "rearm_gain",
           "square_root_grid"]


# --- readout chains and layouts ---------------------------------------------------------------

def lockin_smear(z: np.ndarray, alpha: float) -> np.ndarray:
    """A lock-in's first-order output filter along a sweep: each point ``α`` of the previous
    output and ``1 − α`` of its own input (``α = exp(−dwell / time constant)``), the first
    point settled.

    >>> lockin_smear(np.array([0.0, 1.0, 1.0]), 0.5).tolist()
    [0.0, 0.5, 0.75]
    """
    z = np.asarray(z)
    out = np.empty_like(z)
    out[0] = z[0]
    for i in range(1, len(z)):
        out[i] = alpha * out[i - 1] + (1 - alpha) * z[i]
    return out


def notch(f: np.ndarray, fr: float, kappa: float, depth: float) -> np.ndarray:
    """``S21`` of a notch (hanger) resonator: ``1 − depth / (1 + 2i (f − f_r) / κ)``.

    >>> complex(notch(np.array([5.0]), 5.0, 1.0, 0.6)[0])
    (0.4+0j)
    """
    return 1 - depth / (1 + 2j * (np.asarray(f, dtype=float) - fr) / kappa)


def combs_order(n: int, k: int) -> np.ndarray:
    """When each of ``n`` sorted points is acquired in ``k`` interleaved combs (pass ``j``
    measures points ``j, j + k, …``): the acquisition index of every point.

    >>> combs_order(7, 3).tolist()
    [0, 3, 5, 1, 4, 6, 2]
    """
    order = np.concatenate([np.arange(j, n, k) for j in range(k)])
    when = np.empty(n, dtype=int)
    when[order] = np.arange(n)
    return when


def rearm_gain(n: int, block: int, overshoot: float, settle: float) -> np.ndarray:
    """The readout gain of ``n`` points acquired in blocks of ``block`` with a dead time
    before each: ``1 + overshoot · exp(−j / settle)`` at the ``j``-th point of a block.

    >>> np.round(rearm_gain(4, 2, 0.1, 1.0), 4).tolist()
    [1.1, 1.0368, 1.1, 1.0368]
    """
    j = np.arange(n) % block
    return 1 + overshoot * np.exp(-j / settle)


def square_root_grid(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` amplitudes uniform in their square (the frequency shift) from ``lo`` to ``hi``.

    >>> np.round(square_root_grid(0.0, 2.0, 3), 6).tolist()
    [0.0, 1.414214, 2.0]
    """
    return np.sqrt(np.linspace(lo**2, hi**2, n))


def jpa_snr_factor(f: np.ndarray, centre: float, bandwidth: float, peak_db: float,
                   hemt: float) -> np.ndarray:
    """The factor a JPA gives the SNR at ``f``: ``√(G / (G + n_H))`` with ``G`` Lorentzian in
    power (``peak_db`` at ``centre``, ``bandwidth`` its full width at half the power gain) and
    ``n_H`` the HEMT's noise referred to the JPA's input (in quanta of the JPA's own).

    >>> round(float(jpa_snr_factor(np.array([0.0]), 0.0, 1.0, 20.0, 100.0)[0]) ** 2, 12)
    0.5
    """
    g = 10 ** (peak_db / 10) * _lorentz(np.asarray(f, dtype=float), centre, bandwidth)
    return np.sqrt(g / (g + hemt))


def leaked_survival(m: np.ndarray, p: float, a: float, leak: float, rate: float
                    ) -> np.ndarray:
    """RB survival when the qubit leaks: the leaked population ``leak (1 − (1 − rate)^m)``
    read as |0⟩, the rest depolarising as ``1/2 + a p^m``.

    >>> float(leaked_survival(np.array([0]), 0.99, 0.45, 0.4, 0.01)[0])
    0.95
    """
    m = np.asarray(m, dtype=float)
    leaked = leak * (1 - (1 - rate) ** m)
    return leaked + (1 - leaked) * (0.5 + a * p**m)


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # lockin_lag_smear
    fr = float(rng.uniform(4e9, 8e9))
    kappa = float(rng.uniform(0.2e6, 3e6))
    span = kappa * rng.uniform(8, 20)
    n = max(int(rng.integers(201, 602)), int(10 * span / kappa) + 1)   # step ≤ κ / 10
    centre = fr + float(rng.uniform(-0.15, 0.15) * span)
    x = np.linspace(centre - span / 2, centre + span / 2, n)
    alpha = math.exp(-1 / float(rng.uniform(0.25, 1.0)))           # time constant / dwell
    s = notch(x, fr, kappa, float(rng.uniform(0.4, 0.9)))
    s = (s + _iq_noise(n, rng.uniform(0.005, 0.02), rng)) * rng.uniform(0.05, 2.0) * np.exp(
        1j * rng.uniform(-np.pi, np.pi))
    return dict(x=x, y=np.abs(lockin_smear(s, alpha)), stype="magnitude", unit="MHz",
                truth={"center": fr}, noise="magnitude_lockin_time_constant")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # interleaved_combs_warmup
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))
    span = width * rng.uniform(12, 25)
    centre = f0 + float(rng.uniform(-0.2, 0.2) * span)
    n = int(rng.integers(80, 241))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    k = int(rng.integers(3, 7))
    t = combs_order(n, k) / n                                    # in acquisitions
    h = float(rng.uniform(0.2, 1.0) * rng.choice([-1, 1]))
    offset = abs(h) * rng.uniform(0.02, 0.08) * rng.choice([-1, 1]) * (
        1 - np.exp(-t / rng.uniform(0.3, 1.5)))
    y = (rng.uniform(0.5, 2.0) + offset + h * _lorentz(x, centre, width)
         + abs(h) * rng.uniform(0.01, 0.04) * rng.normal(size=n))
    return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={"center": centre},
                noise="magnitude_combs_dc_warmup")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    n = int(rng.integers(41, 102))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    if family == "rabi/block_rearm_transient":
        phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
        p = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0,
                    float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
        gain = rearm_gain(n, int(rng.integers(8, 17)), float(rng.uniform(0.03, 0.08)),
                          float(rng.uniform(0.4, 0.7)))
        c0, d = _iq_plane(rng)
        z = c0 + d * gain * p + _iq_noise(n, abs(d) * rng.uniform(0.005, 0.02), rng)
        return dict(x=x, y=z, stype="iq", unit="mV", prior=prior, truth={"pi_amplitude": api},
                    noise="iq_block_rearm_overshoot")
    # carrier_leak_offset: the rotation angle pi |x + eps e^{i phi}| / api
    eps = api * float(rng.uniform(0.25, 0.5))
    leak = eps * np.exp(1j * rng.uniform(0.6, 2.5) * rng.choice([-1, 1]))
    theta = math.pi * np.abs(x + leak) / api
    p = rng.uniform(0.01, 0.04) + rng.uniform(0.8, 0.95) / 2 * (1 - np.cos(theta))
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                prior=prior, truth={}, noise="binomial_carrier_leak")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # random_sorted_delays
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    t2 = float(rng.uniform(5e-6, 50e-6))
    top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(6, 15) / f)
    n = max(int(rng.uniform(6, 12) * top * f), 30)
    x = np.sort(np.concatenate([[0.0], rng.uniform(0, top, n - 1)]))
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    shots = int(rng.integers(100, 801))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={"frequency": abs(f)}, noise="binomial_random_delays",
                settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # aircon_cycle_passes_iq: the mean of passes under a cyclic IQ offset
    tau = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(30, 81))
    x = np.linspace(0, tau * rng.uniform(4, 6), n)
    p = rng.uniform(0.8, 0.95) * np.exp(-x / tau) + rng.uniform(0.01, 0.05)
    c0, d = _iq_plane(rng)
    passes = int(rng.integers(2, 5))
    period, duration = float(rng.uniform(8, 20)), float(rng.uniform(1, 4))   # minutes
    t = (np.arange(passes)[:, None] * n + np.arange(n)[None, :]) * duration / n
    cycle = np.exp(1j * rng.uniform(-np.pi, np.pi)) * abs(d) * rng.uniform(0.01, 0.04) * np.sin(
        2 * math.pi * t / period + rng.uniform(0, 2 * math.pi))
    z = np.mean(c0 + d * p[None, :] + cycle + np.array(
        [_iq_noise(n, abs(d) * rng.uniform(0.01, 0.03), rng) for _ in range(passes)]), axis=0)
    return dict(x=x, y=z, stype="iq", unit="us", truth={"tau": tau},
                noise="iq_aircon_cycle_passes")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # refocus_at_two_pi: a Ramsey at the residual detuning, nothing refocused
    t2e = float(rng.uniform(20e-6, 200e-6))
    top = t2e * float(rng.uniform(3, 5))
    t2s = top * float(rng.uniform(1 / 8, 1 / 4))
    det = float(rng.uniform(1.5, 3)) / t2s
    n = int(rng.integers(80, 151))
    x = np.linspace(0, top, n)
    p = 0.5 + rng.uniform(0.35, 0.48) * np.exp(-x / t2s) * np.cos(
        2 * math.pi * det * x + rng.uniform(-0.3, 0.3))
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={}, noise="binomial_refocus_two_pi")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # drive_lo_unlocked: no rotation at all, the readout drifting
    n = int(rng.integers(21, 42))
    x = float(rng.uniform(-0.3, 0.3)) + float(rng.uniform(0.02, 0.08)) * (
        np.arange(n) - (n - 1) / 2)
    p = rng.uniform(0.01, 0.04) + rng.uniform(0.003, 0.01) * _pink(n, rng)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_drive_lo_unlocked")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    if family == "cz/square_root_grid":
        x = square_root_grid(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35),
                             int(rng.integers(25, 62)))
        p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV",
                    shots=shots, truth={"cz_amplitude": best}, noise="binomial_square_root_grid")
    # leakage_to_two_bump: leaked population (read as |1>) lifts and splits the dip
    x = np.linspace(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35),
                    int(rng.integers(31, 62)))
    leak = rng.uniform(0.3, 0.6) * np.exp(
        -0.5 * ((x - best * rng.uniform(0.98, 1.02)) / (best * rng.uniform(0.03, 0.06))) ** 2)
    p = (1 - leak) * (off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))) + leak
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                truth={}, noise="binomial_leakage_two_bump")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))
    p_th, floor = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.01, 0.04))
    if family == "readout_frequency/jpa_gain_profile":
        jpa = dict(centre=r["mid"] + float(rng.uniform(1, 4) * rng.choice([-1, 1])) * kappa,
                   bandwidth=kappa * float(rng.uniform(5, 15)),
                   peak_db=float(rng.uniform(15, 22)), hemt=float(rng.uniform(10, 40)))
        ref = float(jpa_snr_factor(np.array([r["mid"]]), **jpa)[0])

        def fidelity(f: np.ndarray) -> np.ndarray:
            snr = r["snr"] * jpa_snr_factor(f, **jpa) / ref
            return thermal_fidelity(f, r["mid"], r["chi"], kappa, r["depth"], snr, 0.0,
                                    p_th, floor)

        grid = r["mid"] + np.linspace(-2, 2, 40001) * kappa
        best = float(grid[np.argmax(fidelity(grid))])
        current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
        x = np.linspace(current - kappa * rng.uniform(1.5, 3), current + kappa *
                        rng.uniform(1.5, 3), int(rng.integers(31, 72)))
        return dict(x=x, y=_binomial(fidelity(x), 2 * shots, rng), stype="population",
                    unit="MHz", shots=2 * shots, truth={"best": best},
                    noise="binomial_jpa_gain_profile")
    # step_wider_than_pair: a survey's step reused
    step = kappa * float(rng.uniform(3.0, 4.5))
    n = int(rng.integers(20, 32))
    x = r["mid"] + step * (np.arange(n) - (n - 1) / 2 + float(rng.uniform(-0.5, 0.5)))
    fid = thermal_fidelity(x, tilt=0.0, p_th=p_th, floor=floor, **r)
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={}, noise="binomial_step_wider_than_pair")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # extra_attenuator: the window around the nominal optimum, 16-24 dB less delivered
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    nominal = float(grid[np.argmax(1 - (e0 + e1) / 2)]) * math.exp(rng.normal(0, 0.15))
    x = nominal * np.exp(np.linspace(-0.7, 0.7, int(rng.integers(21, 42))))
    e0, e1 = _amplitude_errors(x * 10 ** (-rng.uniform(16, 24) / 20), width, eps_d, onset, c_t)
    shots = int(rng.integers(1000, 5001))
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="V", shots=2 * shots, truth={},
                noise="binomial_extra_attenuator")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # unused_digitiser_input: a coin toss at every duration
    x = np.unique(np.round(np.linspace(rng.uniform(20e-9, 100e-9), rng.uniform(1e-6, 4e-6),
                                       int(rng.integers(25, 61))) / 1e-9)) * 1e-9
    shots = int(rng.integers(1000, 3001))
    f = 1 - (rng.binomial(shots, 0.5, len(x)) + rng.binomial(shots, 0.5, len(x))) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="ns", shots=2 * shots, truth={},
                noise="binomial_unused_digitiser_input")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    shots = int(rng.integers(100, 501))
    if family == "randomized_benchmarking/powers_of_two_seed_rows":
        m = np.repeat(2.0 ** np.arange(int(math.ceil(math.log2(tau * rng.uniform(2, 5)))) + 1),
                      int(rng.integers(2, 4)))
        decay = p**m
        spread = rng.uniform(0.05, 0.2) * a * np.sqrt(decay * (1 - decay))
        y = _binomial(b + a * decay + spread * rng.normal(size=len(m)), shots, rng)
        return dict(x=m, y=y, stype="population", unit="", shots=shots, truth={"tau": tau},
                    noise="binomial_powers_of_two_seed_rows")
    # leak_read_as_ground: the survival settles well above 1/2
    m = np.unique(np.round(np.linspace(1, tau * rng.uniform(2, 5), int(rng.integers(20, 41)))))
    y = leaked_survival(m, p, a, float(rng.uniform(0.3, 0.6)), 1 / (tau * rng.uniform(0.5, 2)))
    return dict(x=m, y=_binomial(y, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_leak_read_as_ground")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen13_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a thirteenth-generation held-out ``family`` (see :data:`GEN13`)."""
    kind, mode = GEN13[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen13_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every thirteenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen13_case(f, rng) for f in GEN13 for _ in range(per_family)]
