"""The ninth generation of held-out families: sweeps kept blind while the gate, the fits and
the second opinion are tuned in session 10.

Generations 1–8 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen8``) have
all been measured and looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned or trained in session 10, by a
helper that did not run the gate, the fits' verdicts or the second opinion on them and did not
read how the gate decides (only a check that every case is well formed and analysable, and
that each good family's truth is right on noiseless data). Each brings a readout, noise, layout
or failure kind that neither the train families nor generations 1–8 use, modelled on what labs
record; every one of the twelve analysis kinds appears, among them ``readout_frequency``, which
no generation had held out.

Good data (the truth is what a physicist calls the answer):

- ``readout_frequency/permille_two_scans``: the assignment *error* ``1 − F`` in per mille
  (rounded to 0.1 ‰; a magnitude whose peak is a dip) vs the readout tone, from binomial
  shots of |0⟩ and |1⟩; the physics is the erfc overlap of the two dispersively shifted notch
  responses (``2χ`` 0.5–0.95 linewidths) plus a decay floor, not the kind's model; the file
  holds a coarse survey followed by a fine zoom around the survey's best point (unsorted, in
  ``MHz``); truth the midpoint of the dressed frequencies (the separation's maximum for
  ``2χ ≤ κ``);
- ``ramsey/median_of_shots``: each point the *median* of 300–1500 single-shot voltages at a
  low readout SNR (blobs 0.6–1.5 σ apart, no amplifier), so the signal is a smooth monotone
  function of the population (same fringe frequency), acquired in bit-reversed order under a
  slow linear drift of the voltage origin;
- ``rabi/shot_projection_iq``: averaged IQ built from single shots: projection noise
  (``∝ p (1 − p)``) on top of the blobs' width, excited shots decaying during the
  integration window (1–5 % of T1) smeared along the |0⟩–|1⟩ line; phase and damping as
  gen7's; amplitudes in ``mV``; the node's prior π amplitude (4 % off);
- ``t1/pulse_tube_references``: a magnitude whose gain is modulated 1–4 % by the cryostat's
  pulse tube (1.4 Hz, aliased by 0.3–2 s a point), a zero-delay reference point re-measured
  every 4–8 points (the sweep holds many repeated zeros, in acquisition order);
- ``echo/normalised_first_tail``: an echo divided by its own first (noisy) point, so every
  point shares one multiplicative error, with 3–5 asymptote points at 8–12 T2 after a gap;
  delays in ``ns``;
- ``spectroscopy/iq_lsb_centre_out``: averaged IQ from an on-board averager truncated to
  integer 12-bit codes (the line spans 8–30 codes, noise 0.3–1.5 codes), acquired from the
  window's centre outward under a drift of the IQ origin, in absolute ``MHz``;
- ``drag/phase_extra_centre``: DRAG read as the *phase* (rad) of the averaged reflected
  readout signal, a monotone nonlinear function of the population with noise added in the
  complex plane (heteroscedastic in phase); the central 3–7 points re-measured and appended;
- ``cz/awg_codes_dropped_triggers``: the CZ sweep in integer 14-bit AWG amplitude codes
  (dimensionless), binomial populations divided by the shots actually acquired where 10–30 %
  of the points lost 5–40 % of their triggers (the file gives the nominal shots); truth in
  codes.

Bad data (what a careful physicist refuses; the reason in brackets):

- ``resonator_spectroscopy/punch_out_telegraph`` (anomalous): driven at the punch-out power
  the resonator hops between its dressed and bare responses (2–6 linewidths apart) during the
  sweep (telegraph, 3–15 points a dwell): two resonances, neither trustworthy;
- ``readout_amplitude/labels_swapped`` (anomalous): the discriminator's labels are swapped,
  so the "fidelity" is ``1 − F``, below 50 % everywhere, a dip where the optimum is;
- ``readout_duration/ringup_longer_than_window`` (off_range): a high-Q readout resonator
  (ring-up 300–800 ns) measured on a window built from a current value 5–12× too short:
  independent shots per point, a threshold fixed at half the noiseless separation, the
  fidelity only rises;
- ``randomized_benchmarking/interleaved_mixed`` (anomalous): reference and interleaved RB
  points written into one file, alternating: two decays (τ 1.6–3× apart) at the same lengths;
- ``rabi/drive_detuned`` (anomalous): the drive 0.7–1.5 π rad per pulse off the qubit, so
  the fringes chirp and their contrast grows with amplitude: no π pulse exists (shot-projection
  IQ as ``rabi/shot_projection_iq``);
- ``ramsey/detuning_beyond_nyquist`` (undersampled): a detuning 10–30× larger than the window
  was planned for, 2.15–3.85 fringes a step: the data show a slow alias fringe;
- ``t1/window_starts_late`` (off_range): the delays start at 2.5–4 T1, so only the last
  2–8 % of the decay is in the window (shot-projection IQ, delays in ``us``);
- ``spectroscopy/drive_off_spur`` (no_signal): the drive line open: no qubit line, only a
  synthesizer spur picked up at one or two adjacent points (4–9 σ) in averaged IQ.

Experiment settings: as gen7 and gen8, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (the truth times
``1 + N(0, 4 %)``, in the sweep's units), a Ramsey its ``detuning``, the readout nodes their
shots as ``2 N`` where the signal is a population.

>>> cases = gen9_set(1, seed=0)
>>> len(cases) == len(GEN9), all(c.family in GEN9 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, case_from_parts
from qplane.calibration.domain_gen6 import _iq_plane
from qplane.calibration.domain_gen7 import PRIOR_ERROR, _prior, _rabi_p
from qplane.calibration.domain_gen8 import _amplitude_errors, _duration_truth, _ring_up

#: family -> (kind, mode)
GEN9 = {
    "readout_frequency/permille_two_scans": ("readout_frequency", "ok"),
    "ramsey/median_of_shots": ("ramsey", "ok"),
    "rabi/shot_projection_iq": ("rabi", "ok"),
    "t1/pulse_tube_references": ("t1", "ok"),
    "echo/normalised_first_tail": ("echo", "ok"),
    "spectroscopy/iq_lsb_centre_out": ("spectroscopy", "ok"),
    "drag/phase_extra_centre": ("drag", "ok"),
    "cz/awg_codes_dropped_triggers": ("cz", "ok"),
    "resonator_spectroscopy/punch_out_telegraph": ("resonator_spectroscopy", "anomalous"),
    "readout_amplitude/labels_swapped": ("readout_amplitude", "anomalous"),
    "readout_duration/ringup_longer_than_window": ("readout_duration", "off_range"),
    "randomized_benchmarking/interleaved_mixed": ("randomized_benchmarking", "anomalous"),
    "rabi/drive_detuned": ("rabi", "anomalous"),
    "ramsey/detuning_beyond_nyquist": ("ramsey", "undersampled"),
    "t1/window_starts_late": ("t1", "off_range"),
    "spectroscopy/drive_off_spur": ("spectroscopy", "no_signal"),
}

__all__ = ["GEN9", "PRIOR_ERROR", "bit_reversed", "centre_out", "gen9_set", "make_gen9_case",
           "median_signal", "readout_error", "shot_iq_mean"]


# --- acquisition orders -----------------------------------------------------------------------

def bit_reversed(n: int) -> np.ndarray:
    """The bit-reversed (van der Corput) acquisition order of ``n`` sweep indices, shape
    ``(n,)``: each index's binary digits reversed, those ``≥ n`` skipped.

    >>> bit_reversed(6).tolist()
    [0, 4, 2, 1, 5, 3]
    """
    bits = max(1, (n - 1).bit_length())
    rev = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(2**bits)]
    return np.array([i for i in rev if i < n])


def centre_out(n: int) -> np.ndarray:
    """The acquisition order from the sweep's centre outward: ``m, m+1, m−1, m+2, …`` with
    ``m = n // 2``, shape ``(n,)``.

    >>> centre_out(5).tolist()
    [2, 3, 1, 4, 0]
    """
    m, out = n // 2, [n // 2]
    for k in range(1, n):
        for i in (m + k, m - k):
            if 0 <= i < n:
                out.append(i)
    return np.array(out[:n])


# --- readouts ---------------------------------------------------------------------------------

def _decay_fraction(r: float) -> float:
    """The mean position (0: |0⟩, 1: |1⟩) of an excited shot that decays during an integration
    window ``r`` T1 long, given that it decays: ``E[t/T | t < T]`` of an exponential."""
    return 1 / r - math.exp(-r) / (1 - math.exp(-r))


def shot_iq_mean(p: np.ndarray, c0: complex, d: complex, r: float) -> np.ndarray:
    """The noiseless averaged IQ of :func:`_shot_iq`: ``c0 + d p (1 − q + q u)``, ``q`` the
    chance an excited shot decays during the window and ``u`` its mean position (affine in p,
    so every feature of the population stays where it is)."""
    q = 1 - math.exp(-r)
    return c0 + d * np.asarray(p) * (1 - q + q * _decay_fraction(r))


def _shot_iq(p: np.ndarray, c0: complex, d: complex, width: float, r: float, shots: int,
             rng: np.random.Generator) -> np.ndarray:
    """Averaged IQ of ``shots`` single shots per point: |1⟩ with chance ``p`` (projection
    noise), blobs of complex σ ``width`` per quadrature, an excited shot decaying at a time
    ``t`` of the window (T1 = window / ``r``) landing at ``c0 + d t / window``."""
    n = len(p)
    excited = rng.binomial(shots, np.clip(p, 0, 1))
    decayed = rng.binomial(excited, 1 - math.exp(-r))
    pos = np.empty(n)
    for i in range(n):   # decay times: an exponential truncated to the window
        u = rng.random(int(decayed[i]))
        pos[i] = excited[i] - decayed[i] + float(np.sum(
            -np.log1p(-u * (1 - math.exp(-r))) / r))
    blur = width / math.sqrt(shots) * (rng.normal(size=n) + 1j * rng.normal(size=n))
    return c0 + d * pos / shots + blur


def median_signal(p: np.ndarray, sep: float) -> np.ndarray:
    """The noiseless median of shots from ``N(0, 1)`` (|0⟩) and ``N(sep, 1)`` (|1⟩) mixed with
    weight ``p``: the root of ``(1 − p) Φ(m) + p Φ(m − sep) = ½`` (monotone in ``p``)."""
    from scipy.optimize import brentq
    from scipy.special import ndtr

    return np.array([brentq(lambda m: (1 - q) * ndtr(m) + q * ndtr(m - sep) - 0.5,
                            -10.0, sep + 10.0, xtol=1e-12) for q in np.asarray(p)])


def readout_error(f: np.ndarray, f0: float, f1: float, kappa: float, depth: float,
                  snr: float, floor: float) -> np.ndarray:
    """The assignment error ``1 − F`` at readout frequencies ``f``: notch responses of |0⟩ and
    |1⟩ at ``f0``, ``f1`` (linewidth ``kappa``, depth ``depth``), their separation ``snr``
    blob σ per unit of ``|S21₀ − S21₁|``, an erfc overlap plus the decay floor ``floor``
    (on |1⟩ only)."""
    from scipy.special import erfc

    s = snr * np.abs(depth / (1 + 2j * (f - f0) / kappa) - depth / (1 + 2j * (f - f1) / kappa))
    overlap = 0.5 * erfc(s / (2 * math.sqrt(2)))
    return overlap + floor / 2


# --- the families -----------------------------------------------------------------------------

def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    mid = float(rng.uniform(6e9, 7.5e9))
    kappa = float(rng.uniform(0.5e6, 3e6))
    chi = kappa * float(rng.uniform(0.5, 0.95)) / 2           # half the dispersive shift
    depth = float(rng.uniform(0.5, 0.95))
    sep_mid = abs(depth / (1 - 2j * chi / kappa) - depth / (1 + 2j * chi / kappa))
    snr = float(rng.uniform(3, 6)) / sep_mid                  # 3-6 blob sigma at the optimum
    floor = float(rng.uniform(0.01, 0.05))
    shots = int(rng.integers(1000, 5001))                     # per state

    def measure(f: np.ndarray) -> np.ndarray:
        e = readout_error(f, mid - chi, mid + chi, kappa, depth, snr, floor)
        e0 = e - floor / 2                                    # |0> has no decay
        e1 = np.clip(e + floor / 2, 0, 1)
        k = rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, e1)
        return np.round(1000 * k / (2 * shots), 1)

    current = mid + float(rng.uniform(-1.5, 1.5)) * kappa
    coarse = np.linspace(current - rng.uniform(3, 5) * kappa, current + rng.uniform(3, 5) * kappa,
                         int(rng.integers(15, 26)))
    yc = measure(coarse)
    best = float(coarse[np.argmin(yc)])                       # the lab's zoom centre
    half = kappa * float(rng.uniform(0.75, 1.2))
    fine = np.linspace(best - half, best + half, int(rng.integers(21, 42)))
    return dict(x=np.concatenate([coarse, fine]), y=np.concatenate([yc, measure(fine)]),
                stype="magnitude", unit="MHz", truth={"center": mid},
                noise="error_permille_two_scans")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    if family == "ramsey/median_of_shots":
        det = float(rng.uniform(0.5e6, 3e6))
        f = det * (1 + float(rng.uniform(-0.03, 0.03)))       # the prior's error
        t2 = float(rng.uniform(5e-6, 40e-6))
        top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(10, 40) / f)
        n = max(int(rng.integers(60, 151)), int(4 * top * f) + 1)
        x = np.linspace(0, top, n)
        p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
        sep, scale = float(rng.uniform(0.6, 1.5)), float(rng.uniform(1e-4, 1e-2))
        shots = int(rng.integers(300, 1501))
        order = bit_reversed(n)
        state = rng.random((n, shots)) < p[order, None]
        v = rng.normal(size=(n, shots)) + sep * state
        drift = rng.uniform(0.5, 2.0) * 1.25 / math.sqrt(shots) * rng.choice([-1, 1])
        y = np.median(v, axis=1) + drift * np.linspace(0, 1, n)
        return dict(x=x[order], y=scale * y, stype="magnitude", unit=None,
                    truth={"frequency": abs(f)}, noise="median_of_shots",
                    settings={"detuning": det})
    # detuning_beyond_nyquist: 2.15-3.85 fringes a step, the alias 0.15-0.35 of one from whole
    top = float(rng.uniform(5e-6, 20e-6))
    n = int(rng.integers(41, 102))
    x = np.linspace(0, top, n)
    frac = float(rng.uniform(0.15, 0.35))
    k = int(rng.integers(2, 4)) + (frac if rng.random() < 0.5 else 1 - frac)
    f = k / x[1]
    det = f * (1 + float(rng.uniform(-0.03, 0.03)))
    p = 0.5 + amp * np.exp(-x / (top * rng.uniform(1, 3))) * np.cos(2 * math.pi * f * x + ph)
    shots = int(rng.integers(100, 1001))
    return dict(x=x, y=rng.binomial(shots, np.clip(p, 0, 1)) / shots, stype="population",
                unit=None, shots=shots, truth={}, noise="binomial",
                settings={"detuning": det})


def _readout_chain(rng: np.random.Generator) -> dict[str, Any]:
    """A single-shot readout: IQ plane, blob width (separation 2-5 σ), window / T1, shots."""
    c0, d = _iq_plane(rng)
    return dict(c0=c0, d=d, width=abs(d) / float(rng.uniform(2, 5)),
                r=float(rng.uniform(0.01, 0.05)), shots=int(rng.integers(200, 1001)))


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    chain = _readout_chain(rng)
    if family == "rabi/shot_projection_iq":
        n = int(rng.integers(31, 82))
        x = np.linspace(0, prior * rng.uniform(2.0, 3.2), n)
        phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
        p = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0,
                    float(rng.uniform(0.75, 0.95)), float(rng.uniform(0.01, 0.06)))
        return dict(x=x, y=_shot_iq(p, rng=rng, **chain), stype="iq", unit="mV", prior=prior,
                    truth={"pi_amplitude": api}, noise="iq_shot_projection_decay")
    # drive_detuned: P = W^2/(W^2+D^2) sin^2(sqrt(W^2+D^2)/2), W = pi x / api, D rad a pulse
    n = int(rng.integers(41, 82))
    x = np.linspace(0, prior * rng.uniform(2.2, 3.0), n)
    w = math.pi * x / api
    dd = float(rng.uniform(0.7, 1.5) * math.pi)
    p = w**2 / (w**2 + dd**2) * np.sin(np.sqrt(w**2 + dd**2) / 2) ** 2
    return dict(x=x, y=_shot_iq(p, rng=rng, **chain), stype="iq", unit="mV", prior=prior,
                truth={}, noise="iq_shot_projection_decay")


def _decay(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tau = float(rng.uniform(10e-6, 200e-6))
    if family == "t1/pulse_tube_references":
        n = int(rng.integers(30, 91))
        delays = np.linspace(0, tau * rng.uniform(4, 6), n)
        every = int(rng.integers(4, 9))
        x = np.concatenate([np.concatenate([[0.0], chunk])
                            for chunk in np.array_split(delays, math.ceil(n / every))])
        p = rng.uniform(0.0, 0.08) + rng.uniform(0.6, 0.95) * np.exp(-x / tau)
        dt = float(rng.uniform(0.3, 2.0))                        # seconds a point
        gain = 1 + rng.uniform(0.01, 0.04) * np.sin(2 * math.pi * 1.4 * dt * np.arange(len(x))
                                                     + rng.uniform(0, 2 * math.pi))
        v0, dv = float(rng.normal(0, 1)), float(rng.uniform(0.5, 2) * rng.choice([-1, 1]))
        y = gain * (v0 + dv * p) + rng.normal(0, abs(dv) * rng.uniform(0.005, 0.02), len(x))
        return dict(x=x, y=y * 10 ** rng.uniform(-4, -2), stype="magnitude", unit=None,
                    truth={"tau": tau}, noise="gain_pulse_tube")
    if family == "echo/normalised_first_tail":
        n = int(rng.integers(40, 91))
        x = np.concatenate([np.linspace(0, tau * rng.uniform(2.5, 4), n),
                            np.sort(rng.uniform(8, 12, int(rng.integers(3, 6)))) * tau])
        a = rng.uniform(0.5, 0.95) * rng.choice([-1, 1])
        p = 0.5 + a / 2 * np.exp(-x / tau)
        v0, dv = 1.0, float(rng.uniform(0.5, 2.0))
        v = v0 + dv * p + rng.normal(0, dv * rng.uniform(0.005, 0.02), len(x))
        return dict(x=x, y=v / v[0], stype="magnitude", unit="ns", truth={"tau": tau},
                    noise="normalised_to_first_point")
    # window_starts_late: delays from 2.5-4 T1, shot-projection IQ
    n = int(rng.integers(40, 101))
    start = tau * rng.uniform(2.5, 4.0)
    x = np.linspace(start, start + tau * rng.uniform(3, 5), n)
    p = rng.uniform(0.0, 0.06) + rng.uniform(0.6, 0.95) * np.exp(-x / tau)
    return dict(x=x, y=_shot_iq(p, rng=rng, **_readout_chain(rng)), stype="iq", unit="us",
                truth={}, noise="iq_shot_projection_decay")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    width = float(rng.uniform(0.3e6, 3e6))
    span = width * rng.uniform(12, 25)
    n = int(rng.integers(80, 201))
    x = np.linspace(f0 - span / 2, f0 + span / 2, n)
    origin = complex(*rng.integers(-2000, 2001, 2))
    if family == "spectroscopy/iq_lsb_centre_out":
        center = f0 + float(rng.uniform(-0.25, 0.25) * span)
        half = width / 2
        line = half**2 / ((x - center) ** 2 + half**2)
        d = rng.uniform(8, 30) * np.exp(1j * rng.uniform(-np.pi, np.pi))   # in 12-bit codes
        order = centre_out(n)
        drift = rng.uniform(0.5, 3) * np.exp(1j * rng.uniform(-np.pi, np.pi)) * np.linspace(
            0, 1, n)                                                       # acquisition time
        level = float(rng.uniform(0.3, 1.5))
        z = origin + d * line[order] + drift + level * (rng.normal(size=n)
                                                        + 1j * rng.normal(size=n))
        return dict(x=x[order], y=np.floor(z.real) + 1j * np.floor(z.imag), stype="iq",
                    unit="MHz", truth={"center": center}, noise="iq_12bit_truncated_drift")
    # drive_off_spur: no line; a synthesizer spur at one or two adjacent points
    level = float(rng.uniform(0.5, 3.0))
    z = origin + level * (rng.normal(size=n) + 1j * rng.normal(size=n))
    at = int(rng.integers(5, n - 6))
    hit = slice(at, at + int(rng.integers(1, 3)))
    z[hit] += level * rng.uniform(4, 9) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    return dict(x=x, y=z, stype="iq", unit="MHz", truth={}, noise="iq_synthesizer_spur")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # phase_extra_centre: the phase of (1 - p) S0 + p S1, increasing with p
    best = float(rng.uniform(0.05, 0.6) * rng.choice([-1, 1]))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 1.1))                  # minimum to maximum
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    n = int(rng.integers(31, 62))
    grid = np.linspace(current - span / 2, current + span / 2, n)
    k = int(rng.integers(3, 8))
    x = np.concatenate([grid, grid[(n - k) // 2:(n - k) // 2 + k]])
    off, amp = float(rng.uniform(0.0, 0.1)), float(rng.uniform(0.3, 0.9))
    p = off + amp * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    shots = int(rng.integers(200, 1001))
    q = rng.binomial(shots, np.clip(p, 0, 1)) / shots
    beta, dalpha = float(rng.uniform(-1, 1)), float(rng.uniform(0.7, 2.0))
    s0, s1 = np.exp(1j * (beta - dalpha / 2)), np.exp(1j * (beta + dalpha / 2))
    noise = rng.uniform(0.003, 0.015) * (rng.normal(size=len(x)) + 1j * rng.normal(size=len(x)))
    return dict(x=x, y=np.angle((1 - q) * s0 + q * s1 + noise), stype="phase", unit="",
                truth={"center": best}, noise="phase_of_averaged_s21")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    best = float(rng.uniform(800, 6500))                        # 14-bit AWG codes
    current = best * (1 + float(rng.uniform(-0.05, 0.05)))
    n = int(rng.integers(31, 62))
    x = np.unique(np.round(current * np.linspace(0.8, 1.2, n)))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    p = off + amp * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    shots = int(rng.integers(1000, 4001))
    lost = rng.random(len(x)) < rng.uniform(0.1, 0.3)
    got = np.where(lost, np.round(shots * (1 - rng.uniform(0.05, 0.4, len(x)))), shots)
    got = got.astype(int)
    return dict(x=x, y=rng.binomial(got, np.clip(p, 0, 1)) / got, stype="population",
                unit="", shots=shots, truth={"cz_amplitude": best},
                noise="binomial_dropped_triggers")


def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # punch_out_telegraph: dressed and bare responses alternating (Markov in acquisition)
    fd = float(rng.uniform(6e9, 7.5e9))
    kappa = float(rng.uniform(0.3e6, 3e6))
    fb = fd + float(rng.uniform(2, 6) * kappa * rng.choice([-1, 1]))
    kb, db, dd = kappa * rng.uniform(0.3, 0.7), rng.uniform(0.6, 0.95), rng.uniform(0.4, 0.9)
    span = abs(fb - fd) + kappa * rng.uniform(6, 12)
    n = int(rng.integers(201, 602))
    x = np.linspace((fd + fb) / 2 - span / 2, (fd + fb) / 2 + span / 2, n)
    stay = 1 - 1 / rng.uniform(3, 15)
    bare = np.empty(n, dtype=bool)
    bare[0] = rng.random() < 0.5
    for i in range(1, n):
        bare[i] = bare[i - 1] if rng.random() < stay else not bare[i - 1]
    s21 = np.where(bare, 1 - db / (1 + 2j * (x - fb) / kb), 1 - dd / (1 + 2j * (x - fd) / kappa))
    noise = rng.uniform(0.005, 0.02) * (rng.normal(size=n) + 1j * rng.normal(size=n))
    gain = 10 ** -rng.uniform(2, 4)
    return dict(x=x, y=gain * np.abs(s21 + noise), stype="magnitude", unit="GHz", truth={},
                noise="vna_punch_out_telegraph")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # labels_swapped: the "fidelity" 1 - F of gen8's readout physics
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    current = float(grid[np.argmax(1 - (e0 + e1) / 2)]) * math.exp(rng.normal(0, 0.15))
    x = current * np.exp(np.linspace(-0.7, 0.7, int(rng.integers(21, 42))))
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    shots = int(rng.integers(1000, 5001))
    wrong = (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=wrong, stype="population", unit="mV", shots=2 * shots, truth={},
                noise="binomial_labels_swapped")


def fixed_threshold_fidelity(t: np.ndarray, snr: float, t1: float, rate: float,
                             prep: float) -> tuple[np.ndarray, np.ndarray]:
    """The assignment errors ``P(1|0)``, ``P(0|1)`` after integrating ``t`` with the threshold
    at half the noiseless separation ``snr g(t)`` (the model of gen8's
    ``_duration_truth``: ground ``N(0, t)``, excited ``N(snr g(min(τ, t)), t)``, ``τ ~
    Exp(t1)``, a fraction ``prep`` prepared in |0⟩)."""
    from scipy.special import ndtr

    t = np.asarray(t, dtype=float)
    theta = snr * _ring_up(t, rate) / 2
    sd = np.sqrt(t)
    u = t[:, None] * np.linspace(0, 1, 401)[None, :]
    w = np.exp(-u / t1) / t1
    inner = np.trapezoid(w * ndtr((theta[:, None] - snr * _ring_up(u, rate)) / sd[:, None]),
                         u, axis=1)
    stay = np.exp(-t / t1) * ndtr(-theta / sd)            # the threshold minus snr g(t)
    miss_g = 1 - ndtr(theta / sd)
    miss_e = prep * ndtr(theta / sd) + (1 - prep) * (inner + stay)
    return miss_g, miss_e


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # ringup_longer_than_window: the window from a current value 5-12x too short
    snr = float(rng.uniform(3, 8)) / math.sqrt(1e-6)
    rate = 1 / float(rng.uniform(300e-9, 800e-9))
    prep = float(rng.uniform(0.005, 0.02))
    t1 = float(rng.uniform(20e-6, 80e-6))
    best = _duration_truth(snr, t1, rate, prep)
    current = best / float(rng.uniform(5, 12))
    x = np.unique(np.maximum(np.round(current * np.exp(np.linspace(-1, 1, int(rng.integers(
        21, 32)))) / 1e-9), 1)) * 1e-9
    shots = int(rng.integers(1000, 3001))
    eg, ee = fixed_threshold_fidelity(x, snr, t1, rate, prep)
    f = 1 - (rng.binomial(shots, eg) + rng.binomial(shots, np.clip(ee, 0, 1))) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="ns", shots=2 * shots, truth={},
                noise="independent_traces_fixed_threshold")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # interleaved_mixed: reference and interleaved points alternating in one file
    r = math.exp(rng.uniform(math.log(5e-4), math.log(5e-3)))
    tau = -1 / math.log(1 - 2 * r)
    tau_int = tau / float(rng.uniform(1.6, 3.0))
    lengths = np.unique(np.round(np.geomspace(1, tau * rng.uniform(3, 5),
                                              int(rng.integers(12, 21)))))
    m = np.repeat(lengths, 2)
    t = np.where(np.arange(len(m)) % 2 == 0, tau, tau_int)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    shots = int(rng.integers(100, 501))
    return dict(x=m, y=rng.binomial(shots, np.clip(b + a * np.exp(-m / t), 0, 1)) / shots,
                stype="population", unit="", shots=shots, truth={},
                noise="binomial_two_decays_interleaved")


_MAKERS = {"readout_frequency": _readout_frequency, "ramsey": _ramsey, "rabi": _rabi,
           "t1": _decay, "echo": _decay, "spectroscopy": _spectroscopy, "drag": _drag,
           "cz": _cz, "resonator_spectroscopy": _resonator,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen9_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a ninth-generation held-out ``family`` (see :data:`GEN9`)."""
    kind, mode = GEN9[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen9_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every ninth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen9_case(f, rng) for f in GEN9 for _ in range(per_family)]
