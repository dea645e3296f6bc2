"""The sixteenth generation of held-out families: sweeps kept blind while the gate, the fits
and the second opinion are tuned after the fifteenth generation's measurement.

Generations 1–15 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen15``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, in session 16 after
the fifteenth generation's one measurement, by a helper that did not run the gate, the fits'
verdicts or the second opinion on them and did not read how the gate decides (only a check
that every case is well formed and analysable, and that each good family's truth is right on
noiseless data). Each brings a readout, noise, layout or failure kind that neither the train
families nor generations 1–15 use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/impedance_mismatch_ripple``: a notch resonator's ``|S21|`` seen
  through a standing wave between two impedance mismatches of the line (reflection
  coefficients' product ``Γ`` 0.05–0.15): the trace multiplied by ``|1 / (1 − Γ e^(−2πi f /
  P))|``, a ripple whose period ``P`` is 1–3 times the window, so the baseline tilts and bends
  under the dip; absolute ``GHz``; truth ``f_r``;
- ``spectroscopy/square_pulse_sinc_sidelobes``: pulsed qubit spectroscopy with a short square
  drive pulse (0.2–1 µs, well inside ``T2``, pulse area 0.6–1 π on resonance): the excited
  population is the Rabi formula ``Ω² / (Ω² + Δ²) sin²(π √(Ω² + Δ²) T)``, a Fourier-limited
  line with sinc-like sidelobes either side (the window ±4–8 / ``T``); binomial shots through
  assignment errors, absolute ``MHz``; truth the line's centre;
- ``rabi/unequal_shot_counts``: the acquisition streams shots in packets and drops some, so
  each amplitude averages its own number of shots (40–100 % of the nominal, the file giving
  the nominal): binomial noise whose size varies from point to point; phase and damping as
  gen7's, ``mV``; the node's prior (4 % off);
- ``ramsey/residual_photon_stark_phase``: photons left in the readout resonator by the
  preceding measurement (active reset) decay with ``1 / κ`` = 20–100 ns and ac-Stark shift the
  qubit at the start of every delay: an extra phase ``A (1 − e^(−κ t))`` (``A`` 0.1–0.4 rad,
  either sign) bends the fringe's first points, its frequency afterwards the qubit's own detuning;
  binomial shots, ``µs``; truth the fringe frequency;
- ``t1/photon_counter_clicks``: read with a microwave photon counter (a Josephson
  photomultiplier) that clicks on |1⟩ with efficiency 0.6–0.9 and on |0⟩ with a dark-count
  probability of 2–8 %: the click probability ``d + (η − d) P1``, a low-contrast decay;
  binomial shots, ``µs``; truth ``τ``;
- ``echo/ef_shelved_readout``: before the readout an e–f π pulse shelves |1⟩ into |2⟩ (90–98 %
  efficient) so that decay during the readout no longer turns it into |0⟩; the three states
  discriminated as |0⟩ or not: the unshelved part read with |1⟩'s large error (8–20 %), the
  shelved part with |2⟩'s small one (1–3 %); binomial shots, ``µs``; truth ``τ``;
- ``cz/misset_threshold_conditional_phase``: the conditional-phase fringe read through a
  single-shot threshold left at 60–80 % of the way from |0⟩'s blob to |1⟩'s (SNR 3–5): the
  Gaussian blobs' errors strongly asymmetric (|1⟩ often read as |0⟩), an affine map of the
  fringe; binomial shots, ``mV``; truth the CZ amplitude;
- ``randomized_benchmarking/physical_gate_count_axis``: the lengths written as the average
  number of *physical* pulses of each length's sequences (1.875 per Clifford in the X/Y
  decomposition), not Cliffords: the survival decays as ``p^(x / 1.875)``; binomial shots;
  truth ``τ`` on the file's axis (``1.875 · (−1 / ln p)``).

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``readout_frequency/centred_on_bare_resonator`` (off_range): the window centred on the bare
  resonator frequency (from a high-power punch-out scan; a weakly coupled readout pushed by
  ``g² / Δ`` of 1.7–3 linewidths) with a half-width of 1.2–2 linewidths: the best readout
  frequency (the dressed pair's midpoint) 0.5–1 linewidth beyond the nearer edge, only the
  fidelity's falling flank in the window (populations of ``2 N`` shots, ``MHz``);
- ``readout_amplitude/digitiser_rail_collapse`` (anomalous): above an amplitude in the window's
  middle part the digitiser's input clips: first the brighter state's shots hit the rail, then
  both, the blobs' separation collapses within 0.05–0.15 of the log amplitude and the fidelity
  falls to 1/2 and stays there (populations of ``2 N`` shots, ``mV``);
- ``readout_duration/trigger_half_rate_background`` (anomalous): the readout pulse's trigger
  fires at half the acquisition rate, so every second duration integrates the background
  (no readout tone: both preparations read alike, fidelity 1/2) between the points of a normal
  curve (``ns``, ``2 N`` shots);
- ``drag/amplitude_unit_mismatch`` (no_signal): the pulse amplitude written in ``mV`` into a
  field that takes ``V``: the pulses rotate the qubit a thousandth of what they should and the
  population stays at the readout's ground level at every ``β`` (binomial shots);
- ``resonator_spectroscopy/vna_default_points_wide_span`` (undersampled): a VNA survey left at
  its default 201 points over a span of 600–1200 linewidths: a step of 3–6 linewidths, so the
  dip falls between points or on one of them (``|S21|``, absolute ``GHz``);
- ``t1/pi_pulse_on_neighbour_line`` (no_signal): the π pulse routed to the neighbour's drive
  line (an element mapping typo): the qubit is only excited through crosstalk (under 1.5 %),
  the trace flat at its thermal population (binomial shots, ``µs``);
- ``randomized_benchmarking/sequence_memory_truncated`` (anomalous): the sequence generator
  clamps every length to what fits the AWG's waveform memory (0.5–1.2 ``τ`` Cliffords, the
  recovery gate computed for what is played): the survival decays, then stops dead on a
  plateau 0.1–0.3 above the asymptote for every longer length (binomial shots);
- ``echo/delays_thousandfold_short`` (off_range): the delays written in ``µs`` into a field
  that takes ``ns``: the sequence plays (and the file records, in ``ns``) delays a thousand
  times shorter than the 3–5 ``τ`` intended, the trace flat at the echo's top, the decay
  beyond the window (binomial shots).

Experiment settings: as gen7–gen15, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen16_set(1, seed=0)
>>> len(cases) == len(GEN16), all(c.family in GEN16 for c in cases)
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
GEN16 = {
    "resonator_spectroscopy/impedance_mismatch_ripple": ("resonator_spectroscopy", "ok"),
    "spectroscopy/square_pulse_sinc_sidelobes": ("spectroscopy", "ok"),
    "rabi/unequal_shot_counts": ("rabi", "ok"),
    "ramsey/residual_photon_stark_phase": ("ramsey", "ok"),
    "t1/photon_counter_clicks": ("t1", "ok"),
    "echo/ef_shelved_readout": ("echo", "ok"),
    "cz/misset_threshold_conditional_phase": ("cz", "ok"),
    "randomized_benchmarking/physical_gate_count_axis": ("randomized_benchmarking", "ok"),
    "readout_frequency/centred_on_bare_resonator": ("readout_frequency", "off_range"),
    "readout_amplitude/digitiser_rail_collapse": ("readout_amplitude", "anomalous"),
    "readout_duration/trigger_half_rate_background": ("readout_duration", "anomalous"),
    "drag/amplitude_unit_mismatch": ("drag", "no_signal"),
    "resonator_spectroscopy/vna_default_points_wide_span": ("resonator_spectroscopy",
                                                            "undersampled"),
    "t1/pi_pulse_on_neighbour_line": ("t1", "no_signal"),
    "randomized_benchmarking/sequence_memory_truncated": ("randomized_benchmarking",
                                                          "anomalous"),
    "echo/delays_thousandfold_short": ("echo", "off_range"),
}

#: physical pulses per Clifford, on average, in the X/Y (π, π/2) decomposition
PULSES_PER_CLIFFORD = 1.875

__all__ = ["GEN16", "PRIOR_ERROR", "PULSES_PER_CLIFFORD", "gen16_set", "make_gen16_case",
           "photon_stark_phase", "rail_collapse", "shelved_readout", "square_pulse_line",
           "standing_wave", "threshold_errors"]


# --- readout chains and physics ---------------------------------------------------------------

def standing_wave(f: np.ndarray, gamma: float, period: float, phase: float = 0.0) -> np.ndarray:
    """The transmission magnitude of a line with a standing wave between two mismatches
    (their reflection coefficients' product ``gamma``, the round trip's ripple ``period`` in
    frequency): ``|1 / (1 − Γ e^(−i (2π f / P + φ)))|``.

    >>> standing_wave(np.array([0.0, 0.5]), 0.2, 1.0).round(6).tolist()
    [1.25, 0.833333]
    """
    f = np.asarray(f, dtype=float)
    return np.abs(1 / (1 - gamma * np.exp(-1j * (2 * math.pi * f / period + phase))))


def square_pulse_line(f: np.ndarray, centre: float, rabi: float, duration: float) -> np.ndarray:
    """The excited population after a square pulse of ``duration`` at Rabi frequency ``rabi``
    (Hz) and detuning ``f − centre``: ``Ω² / W² sin²(π W T)``, ``W = √(Ω² + Δ²)``.

    >>> float(square_pulse_line(np.array([0.0]), 0.0, 0.5, 1.0)[0])
    1.0
    >>> float(square_pulse_line(np.array([np.sqrt(3) / 2]), 0.0, 0.5, 1.0)[0]) < 1e-30
    True
    """
    d = np.asarray(f, dtype=float) - centre
    w = np.sqrt(rabi**2 + d**2)
    return rabi**2 / w**2 * np.sin(math.pi * w * duration) ** 2


def photon_stark_phase(t: np.ndarray, amplitude: float, decay: float) -> np.ndarray:
    """The extra phase a qubit picks up from resonator photons decaying with time constant
    ``decay`` (``1 / κ``) from the start of the delay: ``A (1 − e^(−t / decay))``.

    >>> photon_stark_phase(np.array([0.0, 1e9]), 0.3, 1.0).tolist()
    [0.0, 0.3]
    """
    return amplitude * (1 - np.exp(-np.asarray(t, dtype=float) / decay))


def shelved_readout(p1: np.ndarray, eta: float, e0: float, e1: float, e2: float) -> np.ndarray:
    """The probability of reading "not |0⟩" when |1⟩ is shelved into |2⟩ with efficiency
    ``eta`` before a readout that calls |0⟩ excited with ``e0``, |1⟩ ground with ``e1`` and
    |2⟩ ground with ``e2``: ``e0 + P1 (η (1 − e2) + (1 − η)(1 − e1) − e0)``.

    >>> shelved_readout(np.array([0.0, 1.0]), 1.0, 0.02, 0.2, 0.01).tolist()
    [0.02, 0.99]
    """
    p1 = np.asarray(p1, dtype=float)
    return e0 + p1 * (eta * (1 - e2) + (1 - eta) * (1 - e1) - e0)


def threshold_errors(snr: float, threshold: float) -> tuple[float, float]:
    """The assignment errors ``P(1|0)``, ``P(0|1)`` of unit-σ Gaussian blobs ``snr`` σ apart,
    the threshold at the fraction ``threshold`` of the way from |0⟩'s blob to |1⟩'s.

    >>> [round(e, 6) for e in threshold_errors(4.0, 0.5)]
    [0.02275, 0.02275]
    """
    from scipy.special import erfc

    return (float(0.5 * erfc(threshold * snr / math.sqrt(2))),
            float(0.5 * erfc((1 - threshold) * snr / math.sqrt(2))))


def rail_collapse(u: np.ndarray, fidelity: np.ndarray, at: float, width: float) -> np.ndarray:
    """The fidelity read through a digitiser that clips from ``u = at`` on (``u`` the log
    amplitude): unchanged below ``at``, falling linearly to 1/2 over ``width``, 1/2 beyond.

    >>> rail_collapse(np.array([0.0, 1.0, 1.5, 3.0]), np.full(4, 0.9), 1.0, 1.0).tolist()
    [0.9, 0.9, 0.7, 0.5]
    """
    u = np.asarray(u, dtype=float)
    keep = np.clip(1 - (u - at) / width, 0, 1)
    return 0.5 + (np.asarray(fidelity, dtype=float) - 0.5) * keep


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    fr = float(rng.uniform(4e9, 8e9))
    depth = float(rng.uniform(0.4, 0.9))
    if family == "resonator_spectroscopy/impedance_mismatch_ripple":
        kappa = float(rng.uniform(0.3e6, 3e6))
        span = kappa * rng.uniform(8, 20)
        centre = fr + float(rng.uniform(-0.15, 0.15) * span)
        x = np.linspace(centre - span / 2, centre + span / 2, int(rng.integers(151, 602)))
        ripple = standing_wave(x, float(rng.uniform(0.05, 0.15)), span * float(rng.uniform(1, 3)),
                               float(rng.uniform(-math.pi, math.pi)))
        mag = np.abs(notch(x, fr, kappa, depth)) * ripple
        y = float(rng.uniform(0.05, 1.0)) * (mag + rng.uniform(0.002, 0.01)
                                             * rng.normal(size=len(x)))
        return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={"center": fr},
                    noise="magnitude_standing_wave_ripple")
    # vna_default_points_wide_span: 201 points, a step of 3-6 linewidths
    kappa = float(rng.uniform(0.2e6, 1e6))
    step = kappa * float(rng.uniform(3, 6))
    x = fr + step * (np.arange(201) - 100 + float(rng.uniform(-60, 60)))
    slope = float(rng.uniform(-0.1, 0.1))                          # the cables' loss slope
    mag = np.abs(notch(x, fr, kappa, depth)) * (1 + slope * (x - x.mean()) / np.ptp(x))
    y = float(rng.uniform(0.05, 1.0)) * (mag + rng.uniform(0.002, 0.01) * rng.normal(size=201))
    return dict(x=x, y=y, stype="magnitude", unit="GHz", truth={},
                noise="magnitude_vna_201_points_wide_span")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # square_pulse_sinc_sidelobes
    f0 = float(rng.uniform(4e9, 7e9))
    duration = float(rng.uniform(0.2e-6, 1e-6))
    rabi = float(rng.uniform(0.3, 0.5)) / duration                # pulse area 0.6-1 pi
    half = float(rng.uniform(4, 8)) / duration
    centre = f0 + float(rng.uniform(-0.3, 0.3)) * half
    n = max(int(rng.integers(60, 201)), int(2 * half * duration * 6) + 1)   # 6 points per 1/T
    x = np.linspace(f0 - half, f0 + half, n)
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    p_th = float(rng.uniform(0.005, 0.03))
    pe = p_th + (1 - 2 * p_th) * square_pulse_line(x, centre, rabi, duration)
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * pe, shots, rng), stype="population",
                unit="MHz", shots=shots, truth={"center": centre},
                noise="binomial_square_pulse_sidelobes")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # unequal_shot_counts
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    n = int(rng.integers(41, 102))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
    s = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0, 1.0, 0.0)
    shots = int(rng.integers(200, 1001))
    kept = np.maximum(np.round(shots * rng.uniform(0.4, 1.0, n)).astype(int), 1)
    p = np.clip(e0 + (1 - e0 - e1) * s, 0, 1)
    return dict(x=x, y=rng.binomial(kept, p) / kept, stype="population", unit="mV",
                shots=shots, prior=prior, truth={"pi_amplitude": api},
                noise="binomial_unequal_shot_counts")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # residual_photon_stark_phase
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    t2 = float(rng.uniform(20e-6, 80e-6))
    top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(6, 15) / f)
    n = max(int(rng.uniform(8, 14) * top * f), 30)
    x = np.linspace(0, top, n)
    extra = photon_stark_phase(x, float(rng.uniform(0.1, 0.4) * rng.choice([-1, 1])),
                               float(rng.uniform(20e-9, 100e-9)))
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph + extra)
    shots = int(rng.integers(100, 801))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={"frequency": abs(f)}, noise="binomial_residual_photon_phase",
                settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    p_th = float(rng.uniform(0.005, 0.03))
    n = int(rng.integers(30, 81))
    tau = float(rng.uniform(10e-6, 150e-6))
    x = np.linspace(0, tau * rng.uniform(4, 6), n)
    shots = int(rng.integers(200, 1001))
    if family == "t1/photon_counter_clicks":
        eta, dark = float(rng.uniform(0.6, 0.9)), float(rng.uniform(0.02, 0.08))
        excited = p_th + (rng.uniform(0.85, 0.97) - p_th) * np.exp(-x / tau)
        return dict(x=x, y=_binomial(dark + (eta - dark) * excited, shots, rng),
                    stype="population", unit="us", shots=shots, truth={"tau": tau},
                    noise="binomial_photon_counter_clicks")
    # pi_pulse_on_neighbour_line: excited through crosstalk only
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    excited = p_th + float(rng.uniform(0.0, 0.015)) * np.exp(-x / tau)
    return dict(x=x, y=_binomial(e0 + (1 - e0 - e1) * excited, shots, rng), stype="population",
                unit="us", shots=shots, truth={}, noise="binomial_pi_on_neighbour_drive")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(20e-6, 150e-6))
    n = int(rng.integers(40, 101))
    a = float(rng.uniform(0.35, 0.48))
    shots = int(rng.integers(200, 1001))
    if family == "echo/ef_shelved_readout":
        x = np.linspace(0, tau * rng.uniform(3, 5), n)
        p1 = 0.5 + a * np.exp(-x / tau)
        p = shelved_readout(p1, float(rng.uniform(0.9, 0.98)), float(rng.uniform(0.01, 0.04)),
                            float(rng.uniform(0.08, 0.2)), float(rng.uniform(0.01, 0.03)))
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us",
                    shots=shots, truth={"tau": tau}, noise="binomial_ef_shelved_readout")
    # delays_thousandfold_short: the intended window / 1000, on a 1 ns grid
    x = np.unique(np.round(np.linspace(0, tau * rng.uniform(3, 5) / 1000, n) / 1e-9)) * 1e-9
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    p = e0 + (1 - e0 - e1) * (0.5 + a * np.exp(-x / tau))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="ns", shots=shots,
                truth={}, noise="binomial_delays_thousandfold_short")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # amplitude_unit_mismatch: the rotations a thousandth of the intended
    best = float(rng.uniform(-0.6, 0.6))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 0.9))
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    x = np.linspace(current - span / 2, current + span / 2, int(rng.integers(21, 42)))
    off, amp = float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.3, 0.9))
    p = off + 1e-6 * amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2   # (1/1000)^2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_amplitude_units_mismatch")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # misset_threshold_conditional_phase
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    x = np.linspace(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35),
                    int(rng.integers(31, 62)))
    target = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    e0, e1 = threshold_errors(float(rng.uniform(3, 5)), float(rng.uniform(0.6, 0.8)))
    p = e0 + (1 - e0 - e1) * target
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                truth={"cz_amplitude": best}, noise="binomial_misset_threshold_cphase")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # centred_on_bare_resonator: the dressed pair 0.5-1 linewidth beyond the nearer edge
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))
    half = kappa * float(rng.uniform(1.2, 2.0))
    bare = r["mid"] + (half + kappa * float(rng.uniform(0.5, 1.0))) * float(rng.choice([-1, 1]))
    x = np.linspace(bare - half, bare + half, int(rng.integers(31, 72)))
    fid = thermal_fidelity(x, tilt=0.0, p_th=float(rng.uniform(0.005, 0.03)),
                           floor=float(rng.uniform(0.01, 0.04)), **r)
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={}, noise="binomial_window_at_bare_resonator")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # digitiser_rail_collapse: the fidelity falls to 1/2 once both blobs clip
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    current = float(grid[np.argmax(1 - (e0 + e1) / 2)]) * math.exp(rng.normal(0, 0.15))
    u = np.linspace(-0.7, 0.7, int(rng.integers(21, 42)))
    x = current * np.exp(u)
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    fid = rail_collapse(u, 1 - (e0 + e1) / 2, float(rng.uniform(-0.3, 0.3)),
                        float(rng.uniform(0.05, 0.15)))
    shots = int(rng.integers(1000, 5001))
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="mV",
                shots=2 * shots, truth={}, noise="binomial_adc_rail_collapse")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # trigger_half_rate_background: every second duration integrates the background
    from scipy.special import erfc

    x = np.unique(np.round(np.linspace(rng.uniform(20e-9, 80e-9), rng.uniform(0.8e-6, 3e-6),
                                       int(rng.integers(25, 61))) / 4e-9)) * 4e-9
    snr = float(rng.uniform(3, 8)) / math.sqrt(200e-9)            # σ per sqrt(s) of window
    t1 = float(rng.uniform(20e-6, 80e-6))
    e = 0.5 * erfc(snr * np.sqrt(x) / (2 * math.sqrt(2)))
    fid = 1 - (e + e + (1 - np.exp(-x / (2 * t1))) * (1 - 2 * e)) / 2
    background = np.arange(len(x)) % 2 == int(rng.integers(0, 2))
    fid = np.where(background, 0.5, fid)
    shots = int(rng.integers(1000, 3001))
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="ns",
                shots=2 * shots, truth={}, noise="binomial_half_rate_trigger_background")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    shots = int(rng.integers(100, 501))
    if family == "randomized_benchmarking/physical_gate_count_axis":
        m = np.unique(np.round(np.linspace(1, tau * rng.uniform(3, 6),
                                           int(rng.integers(25, 51)))))
        x = PULSES_PER_CLIFFORD * m
        return dict(x=x, y=_binomial(b + a * p**m, shots, rng), stype="population", unit="",
                    shots=shots, truth={"tau": PULSES_PER_CLIFFORD * tau},
                    noise="binomial_physical_pulse_lengths")
    # sequence_memory_truncated: every length clamped to the memory's
    limit = tau * float(rng.uniform(0.5, 1.2))
    m = np.unique(np.round(np.linspace(1, limit * rng.uniform(2.5, 4), int(rng.integers(25, 51)))))
    played = np.minimum(m, round(limit))
    return dict(x=m, y=_binomial(b + a * p**played, shots, rng), stype="population", unit="",
                shots=shots, truth={}, noise="binomial_sequence_memory_truncated")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen16_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a sixteenth-generation held-out ``family`` (see :data:`GEN16`)."""
    kind, mode = GEN16[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen16_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every sixteenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen16_case(f, rng) for f in GEN16 for _ in range(per_family)]
