"""The eighth generation of held-out families: sweeps kept blind while the gate, the fits and
the second opinion were tuned in session 9.

Generations 1–7 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen7``) have
all been measured and looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned or trained in session 9, by a
helper that did not run the gate, the fits' verdicts or the second opinion on them (only a
check that every case is well formed and analysable). Each brings a readout, noise, layout or
failure kind that neither the train families (``train``, ``train_broad``, ``train_wide``,
``train_robust``, the QEC train set) nor generations 1–7 use, modelled on what labs record,
and half of them are the QEC lab's kinds that had no held-out family: ``drag``,
``readout_amplitude``, ``readout_duration`` and ``cz``.

Good data (the truth is what a physicist calls the answer):

- ``drag/if_leakage_iq``: repeated ±π pulse pairs vs the DRAG coefficient β read as
  heterodyne-demodulated averaged IQ with a residual IF leakage: a complex phasor (3–10 % of
  the state separation) that advances 0.3–2 rad from one acquired point to the next; the
  points are acquired in an interleaved order from both ends of the window (first, last,
  second, second-to-last …); truth β*;
- ``readout_amplitude/percent_rounded``: assignment fidelity vs the readout amplitude, written
  in *percent* rounded to 0.01 % (a magnitude: no shots given), from single shots of |0⟩ and
  |1⟩; its physics is an erfc overlap of the blobs, a constant decay during the readout and
  measurement-induced transitions that saturate (``(A/A_c)⁴ / (1 + (A/A_c)⁴)``), not the
  kind's model; the node's window ``×e^(±0.7)`` around a current value 15 % (1σ) off; truth
  the amplitude of the noiseless curve's maximum;
- ``readout_duration/one_trace_integrated``: every duration integrated from the *same* long
  recorded traces (a boxcar up to ``t`` on each shot, durations rounded to the digitiser's
  1–4 ns sample), so the errors of neighbouring points are strongly correlated; a resonator
  ring-up (30–150 ns), T1 decay during the readout, a 0.5–2 % preparation error and a threshold
  optimised per point on the data; durations in ``ns``; truth the maximum of the noiseless
  fidelity (semi-analytic);
- ``cz/interleaved_flux_memory``: the conditional-phase sweep acquired outside-in
  (alternately from both ends) through a flux line with a long-time-constant distortion: the
  applied amplitude keeps 0.5–2 % of the previous pulse's (``a + ε (a_prev − a)``); truth the
  steady-state amplitude of conditional phase π;
- ``rabi/leakage_third_blob``: a Rabi whose short pulses leak 1–4 % of the excited population
  into |2⟩ at the largest amplitudes, read as averaged IQ in which |2⟩ is a third blob off the
  |0⟩–|1⟩ line; phase and damping as gen7's; the node's prior π amplitude (4 % off);
- ``resonator_spectroscopy/vna_db``: a VNA trace of a notch resonator in *dB*
  (``20 log10 |S21|``) with 30–60 dB of line attenuation, a small impedance-mismatch
  asymmetry (|φ| ≤ 0.1 rad), a cable loss slope and the VNA's complex trace noise (so the noise
  in dB grows at the bottom of the dip); 201–1601 points in absolute ``Hz``; truth ``f_r``;
- ``ramsey/dead_time_counts``: a Ramsey read by a time-tagging photon counter with a
  non-paralysable dead time (20–100 % of the bright rate's interval: counts saturate as
  ``n / (1 + n τ)`` and are sub-Poissonian), integer counts per point;
- ``spectroscopy/mixer_image_khz``: spectroscopy swept as the IF offset from the drive LO in
  ``kHz`` (a 50–500 kHz line) through an IQ mixer with finite image rejection: a faint mirror
  line (2–6 % of the height) at minus the qubit's offset; truth the qubit's offset.

Bad data (what a careful physicist refuses; the expected outcome class in brackets):

- ``drag/minimum_outside_counts`` (off_range → suboptimal_sweep): the window on one flank of
  the fringe, its minimum 0.65–0.9 windows beyond the centre and no other extremum inside,
  written as the raw number of |1⟩ outcomes out of N (a magnitude);
- ``readout_duration/qubit_decays`` (off_range → suboptimal_sweep): the qubit's T1 dropped to
  1–4 µs, so the fidelity's maximum lies below the shortest duration of the window built from
  the old setting: the fidelity only falls;
- ``cz/below_pi_leaking`` (off_range → suboptimal_sweep): the window (×0.8–1.2 of a current
  value 30–45 % low) never reaches conditional phase π, and leakage to |02⟩ (read as |1⟩)
  rises toward its top;
- ``readout_amplitude/pump_off`` (no_signal): the parametric amplifier's pump is off: the
  blobs' separation is 2–5 % of their width over the whole window, the noiseless fidelity
  stays within 1 % of 50 % (percent, rounded);
- ``rabi/leakage_dominated`` (anomalous): a qutrit driven with pulses so short that the
  anharmonicity is only 1–2.5 π per pulse: most of the population goes to |2⟩ (three IQ
  blobs), no two-level π amplitude exists;
- ``resonator_spectroscopy/vacuum_rabi_split`` (anomalous): a frequency collision: the qubit
  within ``g`` of the resonator, so the dip is a vacuum-Rabi doublet of dressed modes
  (weights 0.3–0.7 each): which is the resonator is undefined;
- ``t1/leakage_cascade`` (anomalous): the π pulse leaked 15–35 % into |2⟩, which decays
  twice as fast through |1⟩ (a cascade: a rise then a decay), read as three-blob IQ;
- ``ramsey/log_spaced_aliased`` (undersampled → suboptimal_sweep): a T1's geometric (log)
  delay layout copied to a Ramsey: resolved at the short delays, 0.6–1.5 fringes a step at
  the long end.

Experiment settings: as gen7, each case carries what a production node passes to ``analyse``
and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (the node's current value, the
truth times ``1 + N(0, 4 %)``, in the sweep's units), a Ramsey its ``detuning``, the readout
nodes their shots as ``2 N`` (both states) where the signal is a population; DRAG, CZ and the
readout windows are built from a current value as the nodes build them.

>>> cases = gen8_set(1, seed=0)
>>> len(cases) == len(GEN8), all(c.family in GEN8 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, case_from_parts
from qplane.calibration.domain_gen6 import _iq_plane
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p

#: family -> (kind, mode)
GEN8 = {
    "drag/if_leakage_iq": ("drag", "ok"),
    "readout_amplitude/percent_rounded": ("readout_amplitude", "ok"),
    "readout_duration/one_trace_integrated": ("readout_duration", "ok"),
    "cz/interleaved_flux_memory": ("cz", "ok"),
    "rabi/leakage_third_blob": ("rabi", "ok"),
    "resonator_spectroscopy/vna_db": ("resonator_spectroscopy", "ok"),
    "ramsey/dead_time_counts": ("ramsey", "ok"),
    "spectroscopy/mixer_image_khz": ("spectroscopy", "ok"),
    "drag/minimum_outside_counts": ("drag", "off_range"),
    "readout_duration/qubit_decays": ("readout_duration", "off_range"),
    "cz/below_pi_leaking": ("cz", "off_range"),
    "readout_amplitude/pump_off": ("readout_amplitude", "no_signal"),
    "rabi/leakage_dominated": ("rabi", "anomalous"),
    "resonator_spectroscopy/vacuum_rabi_split": ("resonator_spectroscopy", "anomalous"),
    "t1/leakage_cascade": ("t1", "anomalous"),
    "ramsey/log_spaced_aliased": ("ramsey", "undersampled"),
}

__all__ = ["GEN8", "PRIOR_ERROR", "gen8_set", "make_gen8_case", "outside_in"]


def outside_in(n: int) -> np.ndarray:
    """The acquisition order that alternates between the ends of a sweep of ``n`` points:
    indices ``0, n−1, 1, n−2, …``, shape ``(n,)``.

    >>> outside_in(5).tolist()
    [0, 4, 1, 3, 2]
    """
    i = np.arange(n)
    return np.where(i % 2 == 0, i // 2, n - 1 - i // 2)


def _three_blobs(rng: np.random.Generator) -> tuple[complex, complex, complex]:
    """IQ centres of |0⟩, |1⟩ and |2⟩: |2⟩ 1.2–1.8 separations from |0⟩, 0.3–1.0 rad off the
    |0⟩–|1⟩ line."""
    c0, d = _iq_plane(rng)
    d2 = d * rng.uniform(1.2, 1.8) * np.exp(1j * rng.uniform(0.3, 1.0) * rng.choice([-1, 1]))
    return c0, c0 + d, complex(c0 + d2)


def _averaged_iq(pops: list[np.ndarray], blobs: tuple[complex, ...], level: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Averaged IQ of populations ``pops`` (one array per level) with white complex noise."""
    z = sum(p * b for p, b in zip(pops, blobs))
    n = len(pops[0])
    return z + level * (rng.normal(size=n) + 1j * rng.normal(size=n))


def _percent(f: np.ndarray) -> np.ndarray:
    return np.round(100 * f, 2)


# --- readout physics --------------------------------------------------------------------------

def _amplitude_errors(a: np.ndarray, width: float, eps_d: float, onset: float, c_t: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The assignment errors ``P(1|0)``, ``P(0|1)`` at readout amplitudes ``a``: the blobs'
    overlap (separation ``a / width`` σ), a decay during the readout ``eps_d`` and saturating
    measurement-induced transitions."""
    from scipy.special import erfc

    overlap = 0.5 * erfc(a / width / (2 * math.sqrt(2)))
    r = (a / onset) ** 4
    trans = c_t * r / (1 + r)
    return overlap + 0.4 * trans, overlap + 2 * eps_d + 1.6 * trans


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    width = float(rng.uniform(0.01, 0.06))           # the amplitude of a 1 σ separation (V)
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    best = float(grid[np.argmax(1 - (e0 + e1) / 2)])
    current = best * math.exp(rng.normal(0, 0.15))
    n = int(rng.integers(21, 42))
    x = current * np.exp(np.linspace(-0.7, 0.7, n))
    shots = int(rng.integers(1000, 5001))            # per state
    if family == "readout_amplitude/pump_off":
        # no separation to speak of: every error is the blobs' overlap
        width, eps_d, c_t = float(x[-1] / rng.uniform(0.02, 0.05)), 0.0, 0.0
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    truth = {"best": best} if family.endswith("percent_rounded") else {}
    return dict(x=x, y=_percent(f), stype="magnitude", unit="V", truth=truth,
                noise="percent_rounded")


def _ring_up(t: np.ndarray, rate: float) -> np.ndarray:
    """The integral of a ring-up ``1 − e^(−rate t)`` from 0 to ``t``."""
    return t - (1 - np.exp(-rate * t)) / rate


def _duration_truth(snr: float, t1: float, rate: float, prep: float) -> float:
    """The duration of the highest noiseless assignment fidelity: ground ``N(0, t)``, excited
    ``N(snr g(min(τ, t)), t)`` with ``τ ~ Exp(t1)`` (σ² per unit time 1, ``g`` the ring-up
    integral), a fraction ``prep`` of the excited preparations in |0⟩; optimal threshold."""
    from scipy.special import ndtr

    def fidelity(t: np.ndarray) -> np.ndarray:
        sd = np.sqrt(t)[:, None, None]
        top = snr * _ring_up(t, rate)[:, None, None]
        theta = top * np.linspace(0.05, 0.95, 61)[None, :, None]
        u = t[:, None, None] * np.linspace(0, 1, 121)[None, None, :]
        w = np.exp(-u / t1) / t1
        inner = np.trapezoid(w * ndtr((theta - snr * _ring_up(u, rate)) / sd), u, axis=2)
        stay = np.exp(-t / t1)[:, None] * ndtr((theta[..., 0] - top[..., 0]) / sd[..., 0])
        miss_e = prep * ndtr(theta[..., 0] / sd[..., 0]) + (1 - prep) * (inner + stay)
        miss_g = 1 - ndtr(theta[..., 0] / sd[..., 0])
        return np.max(1 - (miss_g + miss_e) / 2, axis=1)

    t = np.geomspace(0.02 / snr**2 + 1 / rate / 20, min(50 * t1, 400 / snr**2), 160)
    i = int(np.argmax(fidelity(t)))
    fine = np.geomspace(t[max(i - 1, 0)], t[min(i + 1, len(t) - 1)], 41)
    return float(fine[np.argmax(fidelity(fine))])


def _one_trace_fidelity(x: np.ndarray, snr: float, t1: float, rate: float, prep: float,
                        shots: int, rng: np.random.Generator) -> np.ndarray:
    """Fidelity at durations ``x`` (sorted) integrated from the same ``shots`` traces of each
    state, the threshold optimised per duration on the data."""
    steps = np.diff(np.concatenate([[0.0], x]))
    walk = np.cumsum(rng.normal(size=(2, shots, len(x))) * np.sqrt(steps), axis=2)
    tau = rng.exponential(t1, shots)
    tau[rng.random(shots) < prep] = 0.0
    excited = walk[1] + snr * _ring_up(np.minimum(tau[:, None], x[None, :]), rate)
    ground = walk[0]
    out = np.empty(len(x))
    for j in range(len(x)):
        top = snr * _ring_up(x[j:j + 1], rate)[0]
        theta = top * np.linspace(0.0, 1.0, 101)
        miss_g = np.mean(ground[:, j, None] > theta[None, :], axis=0)
        miss_e = np.mean(excited[:, j, None] < theta[None, :], axis=0)
        out[j] = float(np.max(1 - (miss_g + miss_e) / 2))
    return out


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    snr = float(rng.uniform(3, 8)) / math.sqrt(1e-6)   # separation in σ after 1 µs: 3-8
    rate = 1 / float(rng.uniform(30e-9, 150e-9))
    prep = float(rng.uniform(0.005, 0.02))
    bad = family == "readout_duration/qubit_decays"
    t1 = float(rng.uniform(1e-6, 4e-6) if bad else rng.uniform(15e-6, 80e-6))
    best = _duration_truth(snr, t1, rate, prep)
    current = best * (math.e * rng.uniform(2.0, 3.5) if bad else math.exp(rng.normal(0, 0.25)))
    n = int(rng.integers(21, 32))
    clock = float(rng.choice([1e-9, 2e-9, 4e-9]))
    x = np.unique(np.maximum(np.round(current * np.exp(np.linspace(-1, 1, n)) / clock), 1)
                  ) * clock
    shots = int(rng.integers(1000, 3001))
    y = _one_trace_fidelity(x, snr, t1, rate, prep, shots, rng)
    return dict(x=x, y=y, stype="population", unit="ns", shots=2 * shots,
                truth={} if bad else {"best": best}, noise="one_trace_cumulative")


# --- the QEC gates ----------------------------------------------------------------------------

def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    best = float(rng.uniform(0.05, 0.6) * rng.choice([-1, 1]))
    span = float(rng.uniform(1.0, 1.6))
    off, amp = float(rng.uniform(0.0, 0.1)), float(rng.uniform(0.3, 0.9))
    shots = int(rng.integers(200, 1001))
    n = int(rng.integers(31, 62))
    if family == "drag/if_leakage_iq":
        half = span * float(rng.uniform(0.6, 1.1))            # minimum to maximum
        current = best + float(rng.uniform(-0.15, 0.15)) * span
        x = np.linspace(current - span / 2, current + span / 2, n)
        p = off + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2
        q = rng.binomial(shots, np.clip(p, 0, 1)) / shots
        c0, d = _iq_plane(rng)
        order = outside_in(n)
        k = np.empty(n)
        k[order] = np.arange(n)                               # each point's acquisition slot
        leak = abs(d) * rng.uniform(0.03, 0.1) * np.exp(
            1j * (rng.uniform(0.3, 2.0) * k + rng.uniform(-np.pi, np.pi)))
        z = _averaged_iq([1 - q, q], (c0, c0 + d), abs(d) * rng.uniform(0.005, 0.015),
                         rng) + leak
        return dict(x=x[order], y=z[order], stype="iq", unit="", truth={"center": best},
                    noise="iq_if_leakage")
    # minimum_outside_counts: one flank, no extremum inside
    half = span * float(rng.uniform(1.5, 2.2))
    current = best + float(rng.choice([-1, 1]) * rng.uniform(0.65, 0.9)) * span
    x = np.linspace(current - span / 2, current + span / 2, n)
    p = off + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)).astype(float), stype="magnitude",
                unit="", truth={}, noise="binomial_raw_counts")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    n = int(rng.integers(31, 62))
    if family == "cz/interleaved_flux_memory":
        current = best * (1 + float(rng.uniform(-0.05, 0.05)))
        x = current * np.linspace(0.8, 1.2, n)
        order = outside_in(n)
        xa = x[order]                                          # acquisition order
        eps = float(rng.uniform(0.005, 0.02))
        applied = xa + eps * (np.concatenate([[xa[0]], xa[:-1]]) - xa)
        p = off + amp * np.cos(np.pi / 2 * (1 + (applied / best) ** 2))
        return dict(x=xa, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots,
                    stype="population", unit="V", shots=shots, truth={"cz_amplitude": best},
                    noise="binomial_flux_memory")
    # below_pi_leaking: the window below conditional phase pi, leakage rising to its top
    current = best * float(rng.uniform(0.55, 0.7))
    x = current * np.linspace(0.8, 1.2, n)
    p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    leak = rng.uniform(0.05, 0.2) * (x / x[-1]) ** 6
    p = (1 - leak) * p + leak
    return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots, stype="population",
                unit="V", shots=shots, truth={}, noise="binomial_leakage_02")


# --- the single-qubit kinds -------------------------------------------------------------------

def _qutrit_rabi(x: np.ndarray, api: float, alpha_t: float) -> tuple[np.ndarray, np.ndarray]:
    """|1⟩ and |2⟩ populations of a resonantly driven qutrit after a pulse of amplitude ``x``:
    rotation ``π x / api`` on 0–1 (``√2`` stronger on 1–2), anharmonicity ``alpha_t`` rad per
    pulse."""
    p1, p2 = np.empty(len(x)), np.empty(len(x))
    for i, a in enumerate(x):
        w = math.pi * a / api
        h = np.array([[0, w / 2, 0], [w / 2, 0, math.sqrt(2) * w / 2], [0, math.sqrt(2) * w / 2,
                                                                        alpha_t]])
        e, v = np.linalg.eigh(h)
        psi = v @ (np.exp(-1j * e) * v[0].conj())
        p1[i], p2[i] = abs(psi[1]) ** 2, abs(psi[2]) ** 2
    return p1, p2


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    n = int(rng.integers(31, 82))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    blobs = _three_blobs(rng)
    level = abs(blobs[1] - blobs[0]) * rng.uniform(0.004, 0.012)
    if family == "rabi/leakage_third_blob":
        phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
        p = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0,
                    float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
        p2 = rng.uniform(0.01, 0.04) * (x / x[-1]) ** 2 * p
        z = _averaged_iq([1 - p, p - p2, p2], blobs, level, rng)
        return dict(x=x, y=z, stype="iq", unit=None, prior=prior, truth={"pi_amplitude": api},
                    noise="iq_three_state_leakage")
    # leakage_dominated: anharmonicity only 1-2.5 pi per pulse
    p1, p2 = _qutrit_rabi(x, api, float(rng.uniform(1.0, 2.5) * math.pi * rng.choice([-1, 1])))
    z = _averaged_iq([1 - p1 - p2, p1, p2], blobs, level, rng)
    return dict(x=x, y=z, stype="iq", unit=None, prior=prior, truth={},
                noise="iq_three_state_leakage")


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # leakage_cascade: |2> (rate 2/T1) -> |1> (rate 1/T1) -> |0>
    t1 = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(40, 121))
    x = np.linspace(0, t1 * rng.uniform(4, 6), n)
    leak = float(rng.uniform(0.15, 0.35))
    g10, g21 = 1 / t1, 2 / t1
    p2 = leak * np.exp(-g21 * x)
    p1 = (1 - leak) * np.exp(-g10 * x) + leak * g21 / (g21 - g10) * (
        np.exp(-g10 * x) - np.exp(-g21 * x))
    blobs = _three_blobs(rng)
    z = _averaged_iq([1 - p1 - p2, p1, p2], blobs,
                     abs(blobs[1] - blobs[0]) * rng.uniform(0.004, 0.012), rng)
    return dict(x=x, y=z, stype="iq", unit=None, truth={}, noise="iq_three_state_leakage")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    amp, ph = rng.uniform(0.35, 0.5), rng.uniform(-0.3, 0.3)
    if family == "ramsey/dead_time_counts":
        det = float(rng.uniform(0.5e6, 3e6))
        f = det * (1 + float(rng.uniform(-0.03, 0.03)))       # the prior's error
        t2 = float(rng.uniform(5e-6, 40e-6))
        top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(10, 40) / f)
        n = max(int(rng.integers(60, 151)), int(4 * top * f) + 1)
        x = np.linspace(0, top, n)
        p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
        bright = float(rng.uniform(500, 5000))                 # counts a point, no dead time
        dark = bright * float(rng.uniform(0.05, 0.3))
        dead = float(rng.uniform(0.2, 1.0))                    # n tau at the bright rate
        mu = dark + (bright - dark) * p
        sat = 1 + dead * mu / bright
        y = np.round(rng.normal(mu / sat, np.sqrt(mu / sat**3)))
        return dict(x=x, y=np.maximum(y, 0), stype="magnitude", unit=None, truth={
            "frequency": abs(f)}, noise="counts_dead_time", settings={"detuning": det})
    # log_spaced_aliased: geometric delays, 0.6-1.5 fringes a step at the long end
    n = int(rng.integers(30, 61))
    top = float(rng.uniform(10e-6, 30e-6))
    x = np.geomspace(rng.uniform(10e-9, 50e-9), top, n)
    f = float(rng.uniform(0.6, 1.5) / (x[-1] - x[-2]))
    det = f * (1 + float(rng.uniform(-0.03, 0.03)))
    p = 0.5 + amp * np.exp(-x / (top * rng.uniform(1, 3))) * np.cos(2 * math.pi * f * x + ph)
    shots = int(rng.integers(100, 1001))
    return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots, stype="population",
                unit=None, shots=shots, truth={}, noise="binomial", settings={"detuning": det})


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # mixer_image_khz: the IF offset from the LO in kHz; the image line at minus the offset
    w = float(rng.uniform(50e3, 500e3))
    span = w * rng.uniform(12, 25)
    n = int(rng.integers(61, 202))
    x = np.linspace(-span / 2, span / 2, n)
    center = float(rng.uniform(0.15, 0.35) * span)
    half = w / 2

    def line(c: float) -> np.ndarray:
        return half**2 / ((x - c) ** 2 + half**2)

    height = rng.uniform(0.3, 0.7)
    p = rng.uniform(0.02, 0.08) + height * (line(center) + rng.uniform(0.02, 0.06) * line(-center))
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots, stype="population",
                unit="kHz", shots=shots, truth={"center": center}, noise="binomial_mixer_image")


def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    fr = float(rng.uniform(6e9, 7.5e9))
    kappa = float(rng.uniform(0.3e6, 3e6))                    # FWHM
    gain = 10 ** (-rng.uniform(30, 60) / 20)
    if family == "resonator_spectroscopy/vna_db":
        span = kappa * rng.uniform(8, 20)
        n = int(rng.choice([201, 401, 801, 1601]))
        x = np.linspace(fr - span / 2, fr + span / 2, n) + float(rng.uniform(-0.15, 0.15) * span)
        depth, phi = rng.uniform(0.3, 0.9), rng.uniform(-0.1, 0.1)
        s21 = 1 - depth * np.exp(1j * phi) / (1 + 2j * (x - fr) / kappa)
        s21 = gain * s21 * 10 ** (-rng.uniform(1, 5) * (x - fr) / 1e9 / 20)   # cable loss
        noise = gain * rng.uniform(0.005, 0.02) * (rng.normal(size=n) + 1j * rng.normal(size=n))
        return dict(x=x, y=20 * np.log10(np.abs(s21 + noise)), stype="magnitude", unit="Hz",
                    truth={"center": fr}, noise="vna_log_magnitude_db")
    # vacuum_rabi_split: dressed modes at the mean -/+ sqrt(g^2 + D^2/4)
    g = float(rng.uniform(2e6, 20e6))
    delta = float(rng.uniform(-1, 1) * g)                     # qubit - resonator
    sep = math.sqrt(g * g + delta * delta / 4)
    theta = 0.5 * math.atan2(2 * g, delta)
    modes = ((fr + delta / 2 - sep, math.cos(theta) ** 2), (fr + delta / 2 + sep,
                                                            math.sin(theta) ** 2))
    span = 2 * sep * rng.uniform(1.6, 3.0)
    n = int(rng.integers(401, 1202))
    x = np.linspace(fr + delta / 2 - span / 2, fr + delta / 2 + span / 2, n)
    gamma = kappa * rng.uniform(0.05, 0.2)                    # the qubit's own linewidth
    depth = rng.uniform(0.5, 0.9)
    s21 = 1 - sum(depth * wt * kappa / (wt * kappa + (1 - wt) * gamma + 2j * (x - fm))
                  for fm, wt in modes)
    noise = rng.uniform(0.005, 0.02) * (rng.normal(size=n) + 1j * rng.normal(size=n))
    return dict(x=x, y=gain * np.abs(s21 + noise), stype="magnitude", unit="Hz", truth={},
                noise="vna_complex")


_MAKERS = {"drag": _drag, "readout_amplitude": _readout_amplitude,
           "readout_duration": _readout_duration, "cz": _cz, "rabi": _rabi, "t1": _t1,
           "ramsey": _ramsey, "spectroscopy": _spectroscopy,
           "resonator_spectroscopy": _resonator}


def make_gen8_case(family: str, rng: np.random.Generator) -> Case:
    """One case of an eighth-generation held-out ``family`` (see :data:`GEN8`)."""
    kind, mode = GEN8[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen8_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every eighth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen8_case(f, rng) for f in GEN8 for _ in range(per_family)]
