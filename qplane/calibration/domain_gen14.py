"""The fourteenth generation of held-out families: sweeps kept blind while the gate, the fits
and the second opinion are tuned after the thirteenth generation's measurement.

Generations 1–13 (:mod:`qplane.calibration.domain`, ``domain_gen4`` … ``domain_gen13``) have
all been measured or looked at, so none of them measures transfer honestly any more. These
families were written and committed *before* anything was tuned on them, in session 15 after
the thirteenth generation's one measurement, by a helper that did not run the gate, the fits'
verdicts or the second opinion on them and did not read how the gate decides (only a check
that every case is well formed and analysable, and that each good family's truth is right on
noiseless data). Each brings a readout, noise, layout or failure kind that neither the train
families nor generations 1–13 use, modelled on what labs record.

Good data (the truth is what a physicist calls the answer):

- ``resonator_spectroscopy/vna_segment_sweep_ifbw``: a VNA's *segmented* sweep of a notch
  resonator's ``|S21|``: a dense centre segment (101–301 points, 2–4 linewidths either side
  of the expected resonance, which is 0.3–1.5 linewidths off ``f_r``) at a narrow IF
  bandwidth, and two sparse wing segments (15–40 points each, out to 8–20 linewidths) at an
  IF bandwidth 4–25 times wider, so the complex trace noise is 2–5 times larger in the wings;
  one trace sorted by frequency, absolute ``GHz``; truth ``f_r``;
- ``spectroscopy/power_broadened_saturating``: qubit spectroscopy driven well into saturation
  (saturation parameter ``s`` 3–30): the steady-state excited population
  ``(s / 2) / (1 + s + (2Δ / γ)²)``, a Lorentzian whose height saturates toward 1/2 and whose
  width is broadened by ``√(1 + s)``, read through a thermal population (1–5 %) and
  asymmetric assignment errors; binomial shots, absolute ``MHz``; truth the line's centre;
- ``rabi/fast_repetition_memory``: the shots repeated every 0.5–2 ``T1`` (no active reset):
  each shot starts with ``r = e^(−t_rep / T1)`` of the previous shot's excitation, so a point's
  steady-state population is ``s / (1 − r + 2 r s)`` of the single-shot one ``s`` (monotone:
  the fringe is distorted, its maximum stays at the π amplitude); phase and damping as
  gen7's; binomial shots, ``mV``; the node's prior (4 % off);
- ``ramsey/there_and_back_fading``: the delays acquired there and back (every even point
  ascending, then every odd one descending) while the JPA's pump drifts and the readout's
  (symmetric) contrast fades linearly in time to 0.8–0.92 of its start: the fringe's
  amplitude jumps between neighbours, its zero crossings do not move; binomial shots, ``µs``;
  truth the fringe frequency;
- ``t1/ground_population_budget_ms``: a long-lived qubit (``τ`` 0.2–1.5 ms, delays in
  ``ms``) read as the *ground* population P(0) (rising), the shots per point cut at long
  delays to hold each point's wall time (``∝ t_rep / (t_rep + t)``, down to an eighth; the
  file gives the nominal shots); truth ``τ``;
- ``echo/phase_cycled_difference``: the echo measured twice per delay with the last π/2
  phase-cycled (+x and −x), the file holding half the difference of the two populations: the
  readout's offset and its 1/f drift cancel, the trace decays to zero (a signed magnitude, no
  shots), ``µs``; truth ``τ``;
- ``cz/pink_flux_offset_wander``: 1/f flux noise wanders the qubit's flux offset from one
  acquired point to the next (0.2–0.6 % rms of the CZ amplitude, zero mean): every point's
  effective amplitude is off by the wander; binomial shots, ``mV``; truth the CZ amplitude;
- ``randomized_benchmarking/averaged_iq_permuted_lengths``: RB read as averaged IQ (not an
  assigned population), the integer lengths acquired and written in a random permutation
  while the IQ origin drifts as 1/f noise in time (1–3 % of the state separation); truth
  ``τ`` (``p^m``, ``τ = −1 / ln p``).

Bad data (what a careful physicist refuses; the expected outcome in brackets):

- ``rabi/awg_output_clipping`` (off_range): the AWG's output stage saturates (a Rapp limiter,
  smoothness 2–5) at 0.55–0.8 of the π amplitude: the rotation angle stops growing at
  0.55–0.8 π, the population rises onto a plateau and the π amplitude is out of reach in the
  whole window (binomial shots, ``mV``, the prior passed);
- ``drag/beta_sign_alternating`` (anomalous): a sequencer table bug plays every other point
  with ``−β``: with ``β*`` 0.3–0.6 off zero the trace zig-zags between the fringe and its
  mirror image (binomial shots);
- ``readout_amplitude/ionisation_resonances`` (anomalous): measurement-induced state
  transitions at particular photon numbers (the ac-Stark-shifted qubit meeting level
  crossings): 2–4 narrow dips in the fidelity (15–35 % of |1⟩ lost at their bottoms, a few
  points wide, at least 0.2 apart in the log amplitude) across the window (populations of
  ``2 N`` shots, ``V``);
- ``readout_duration/length_register_wraps`` (anomalous): the integrator's length register
  (512, 1024 or 2048 ns) wraps, so a duration ``t`` integrates only ``t mod T``: the fidelity
  rises, drops to chance at each wrap and rises again (``ns``, ``2 N`` shots);
- ``readout_frequency/qubit_saturated_by_spur`` (no_signal): a spurious tone at the qubit's
  frequency (a leaking LO harmonic) keeps it saturated: both preparations are 49–49.8 %
  excited, the noiseless fidelity within 1 % of 1/2 across the window (populations of
  ``2 N`` shots, ``MHz``);
- ``randomized_benchmarking/recovery_gate_missing`` (no_signal): the sequences' final
  recovery Clifford is not played: every sequence ends in a random state and the survival is
  flat near 1/2 at every length (binomial shots);
- ``spectroscopy/narrow_line_coarse_survey`` (undersampled): a survey's step, 2.5–5 times the
  line's full width: at most one point of the line above its half height (averaged IQ,
  absolute ``MHz``);
- ``cz/flux_polarity_inverted`` (no_signal): the flux pulse's polarity inverted (a swapped
  cable or a sign in the driver) tunes the qubit away from the avoided crossing: the
  conditional phase stays below 0.01–0.03 rad across the window, the population flat at its
  no-CZ level (binomial shots, ``mV``).

Experiment settings: as gen7–gen13, each case carries what a production node passes to
``analyse`` and no spec thresholds: a Rabi its ``expected_pi_amplitude`` (in the sweep's
units), a Ramsey its ``detuning``, the readout nodes their shots as ``2 N``.

>>> cases = gen14_set(1, seed=0)
>>> len(cases) == len(GEN14), all(c.family in GEN14 for c in cases)
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
from qplane.calibration.domain_gen13 import notch

#: family -> (kind, mode)
GEN14 = {
    "resonator_spectroscopy/vna_segment_sweep_ifbw": ("resonator_spectroscopy", "ok"),
    "spectroscopy/power_broadened_saturating": ("spectroscopy", "ok"),
    "rabi/fast_repetition_memory": ("rabi", "ok"),
    "ramsey/there_and_back_fading": ("ramsey", "ok"),
    "t1/ground_population_budget_ms": ("t1", "ok"),
    "echo/phase_cycled_difference": ("echo", "ok"),
    "cz/pink_flux_offset_wander": ("cz", "ok"),
    "randomized_benchmarking/averaged_iq_permuted_lengths": ("randomized_benchmarking", "ok"),
    "rabi/awg_output_clipping": ("rabi", "off_range"),
    "drag/beta_sign_alternating": ("drag", "anomalous"),
    "readout_amplitude/ionisation_resonances": ("readout_amplitude", "anomalous"),
    "readout_duration/length_register_wraps": ("readout_duration", "anomalous"),
    "readout_frequency/qubit_saturated_by_spur": ("readout_frequency", "no_signal"),
    "randomized_benchmarking/recovery_gate_missing": ("randomized_benchmarking", "no_signal"),
    "spectroscopy/narrow_line_coarse_survey": ("spectroscopy", "undersampled"),
    "cz/flux_polarity_inverted": ("cz", "no_signal"),
}

__all__ = ["GEN14", "PRIOR_ERROR", "budget_shots", "gen14_set", "make_gen14_case",
           "rapp_limit", "repetition_memory", "saturated_line", "segment_sweep",
           "there_and_back_order", "wrapped_duration"]


# --- readout chains and layouts ---------------------------------------------------------------

def segment_sweep(fc: float, inner: float, outer: float, n_centre: int, n_wing: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A VNA's segmented sweep around ``fc``: ``n_centre`` points over ``fc ± inner`` and
    ``n_wing`` points on each wing out to ``fc ± outer`` (the wings' points at the centre
    segment's edges dropped); the frequencies, sorted, and whether each is a wing point.

    >>> f, wing = segment_sweep(0.0, 1.0, 3.0, 3, 3)
    >>> f.tolist(), wing.tolist()
    ([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], [True, True, False, False, False, True, True])
    """
    centre = np.linspace(fc - inner, fc + inner, n_centre)
    lo = np.linspace(fc - outer, fc - inner, n_wing)[:-1]
    hi = np.linspace(fc + inner, fc + outer, n_wing)[1:]
    f = np.concatenate([lo, centre, hi])
    wing = np.concatenate([np.ones(len(lo), bool), np.zeros(n_centre, bool),
                           np.ones(len(hi), bool)])
    return f, wing


def saturated_line(f: np.ndarray, centre: float, gamma: float, s: float) -> np.ndarray:
    """The steady-state excited population of a two-level system driven at saturation
    parameter ``s`` (``γ`` the unbroadened full width): ``(s / 2) / (1 + s + (2Δ / γ)²)``.

    >>> float(saturated_line(np.array([0.0]), 0.0, 1.0, 3.0)[0])
    0.375
    """
    d = 2 * (np.asarray(f, dtype=float) - centre) / gamma
    return (s / 2) / (1 + s + d**2)


def repetition_memory(s: np.ndarray, r: float) -> np.ndarray:
    """The steady-state excited population when each shot starts with ``r`` of the previous
    shot's excitation and the pulse leaves ``s`` of an initial ground state excited (and
    ``1 − s`` of an excited one): ``s / (1 − r + 2 r s)``.

    >>> repetition_memory(np.array([0.0, 0.5, 1.0]), 0.5).round(4).tolist()
    [0.0, 0.5, 0.6667]
    """
    s = np.asarray(s, dtype=float)
    return s / (1 - r + 2 * r * s)


def there_and_back_order(n: int) -> np.ndarray:
    """When each of ``n`` sorted points is acquired there and back (even points ascending,
    then odd points descending): the acquisition index of every point.

    >>> there_and_back_order(6).tolist()
    [0, 5, 1, 4, 2, 3]
    """
    order = np.concatenate([np.arange(0, n, 2), np.arange(n - 1 - (n % 2 == 1), 0, -2)])
    when = np.empty(n, dtype=int)
    when[order] = np.arange(n)
    return when


def budget_shots(t: np.ndarray, shots: int, t_rep: float) -> np.ndarray:
    """The shots a point at delay ``t`` gets when each point's wall time is held:
    ``shots · t_rep / (t_rep + t)``, at least an eighth of ``shots``.

    >>> budget_shots(np.array([0.0, 1.0, 100.0]), 800, 1.0).tolist()
    [800, 400, 100]
    """
    k = np.round(shots * t_rep / (t_rep + np.asarray(t, dtype=float))).astype(int)
    return np.maximum(k, shots // 8)


def rapp_limit(x: np.ndarray, limit: float, smooth: float) -> np.ndarray:
    """An amplifier output stage saturating at ``limit`` (Rapp model, smoothness ``smooth``):
    ``x / (1 + (|x| / limit)^(2 p))^(1 / 2 p)``.

    >>> round(float(rapp_limit(np.array([1.0]), 1.0, 1.0)[0]) ** 2, 12)
    0.5
    """
    x = np.asarray(x, dtype=float)
    return x / (1 + (np.abs(x) / limit) ** (2 * smooth)) ** (1 / (2 * smooth))


def wrapped_duration(t: np.ndarray, register: float) -> np.ndarray:
    """The integration length an integrator whose length register holds ``register`` applies
    for a requested duration ``t``: ``t mod register``.

    >>> wrapped_duration(np.array([0.5, 1.0, 1.5]), 1.0).tolist()
    [0.5, 0.0, 0.5]
    """
    return np.mod(np.asarray(t, dtype=float), register)


# --- the families -----------------------------------------------------------------------------

def _resonator(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # vna_segment_sweep_ifbw
    fr = float(rng.uniform(4e9, 8e9))
    kappa = float(rng.uniform(0.2e6, 3e6))
    fc = fr + float(rng.uniform(0.3, 1.5) * rng.choice([-1, 1])) * kappa   # expected f_r
    inner = kappa * float(rng.uniform(2, 4))
    outer = kappa * float(rng.uniform(8, 20))
    x, wing = segment_sweep(fc, inner, outer, int(rng.integers(101, 302)),
                            int(rng.integers(15, 41)))
    sigma = float(rng.uniform(0.003, 0.012))
    sigma = np.where(wing, sigma * rng.uniform(2, 5), sigma)      # √(IF bandwidth) ratio
    s = notch(x, fr, kappa, float(rng.uniform(0.4, 0.9))) + _iq_noise(len(x), 1.0, rng) * sigma
    gain = float(rng.uniform(0.02, 1.0))                          # the line's attenuation
    return dict(x=x, y=gain * np.abs(s), stype="magnitude", unit="GHz", truth={"center": fr},
                noise="magnitude_vna_segments_ifbw")


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    if family == "spectroscopy/power_broadened_saturating":
        gamma = float(rng.uniform(0.2e6, 1e6))
        sat = float(math.exp(rng.uniform(math.log(3), math.log(30))))
        width = gamma * math.sqrt(1 + sat)                        # the broadened full width
        span = width * rng.uniform(10, 20)
        centre = f0 + float(rng.uniform(-0.2, 0.2) * span)
        n = max(int(rng.integers(60, 201)), int(3 * span / width) + 1)
        x = np.linspace(f0 - span / 2, f0 + span / 2, n)
        p_th, e0, e1 = (float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.01, 0.03)),
                        float(rng.uniform(0.03, 0.08)))
        pe = p_th + (1 - 2 * p_th) * saturated_line(x, centre, gamma, sat)
        p = e0 + (1 - e0 - e1) * pe
        shots = int(rng.integers(200, 1001))
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="MHz",
                    shots=shots, truth={"center": centre}, noise="binomial_power_broadened")
    # narrow_line_coarse_survey: the step 2.5-5 full widths
    width = float(rng.uniform(20e3, 200e3))
    step = width * float(rng.uniform(2.5, 5))
    n = int(rng.integers(60, 151))
    x = f0 + step * (np.arange(n) - (n - 1) / 2)
    centre = f0 + float(rng.uniform(-0.3, 0.3)) * n * step
    c0, d = _iq_plane(rng)
    h = float(rng.uniform(0.3, 0.7))
    z = c0 + d * h * _lorentz(x, centre, width) + _iq_noise(n, abs(d) * rng.uniform(0.01, 0.03),
                                                            rng)
    return dict(x=x, y=z, stype="iq", unit="MHz", truth={}, noise="iq_coarse_survey_narrow")


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    api = float(rng.uniform(0.05, 0.8))
    prior = _prior(rng, api)
    n = int(rng.integers(41, 102))
    x = np.linspace(0, prior * rng.uniform(2.0, 3.0), n)
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    shots = int(rng.integers(200, 1001))
    if family == "rabi/fast_repetition_memory":
        phase = float(rng.uniform(0.08, 0.3) * rng.choice([-1, 1]))
        s = _rabi_p(x, api, phase, float(rng.uniform(0.05, 0.3)), 0.0, 1.0, 0.0)
        r = math.exp(-float(rng.uniform(0.5, 2.0)))               # t_rep in T1
        p = e0 + (1 - e0 - e1) * repetition_memory(s, r)
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV",
                    shots=shots, prior=prior, truth={"pi_amplitude": api},
                    noise="binomial_fast_repetition")
    # awg_output_clipping: the rotation angle saturates below pi
    applied = rapp_limit(x, api * float(rng.uniform(0.55, 0.8)), float(rng.uniform(2, 5)))
    s = 0.5 * (1 - np.exp(-0.1 * applied / api) * np.cos(math.pi * applied / api))
    p = e0 + (1 - e0 - e1) * s
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                prior=prior, truth={}, noise="binomial_awg_output_clipped")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # there_and_back_fading
    amp, ph = float(rng.uniform(0.35, 0.5)), float(rng.uniform(-0.3, 0.3))
    det = float(rng.uniform(0.3e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    t2 = float(rng.uniform(5e-6, 50e-6))
    top = min(rng.uniform(1.5, 3.0) * t2, rng.uniform(6, 15) / f)
    n = max(int(rng.uniform(8, 14) * top * f), 30)
    x = np.linspace(0, top, n)
    fringe = amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    fade = 1 - (1 - rng.uniform(0.8, 0.92)) * there_and_back_order(n) / (n - 1)
    p = 0.5 + fade * fringe
    shots = int(rng.integers(100, 801))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="us", shots=shots,
                truth={"frequency": abs(f)}, noise="binomial_there_and_back_fading",
                settings={"detuning": det})


def _t1(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # ground_population_budget_ms
    tau = float(rng.uniform(0.2e-3, 1.5e-3))
    n = int(rng.integers(30, 81))
    x = np.linspace(0, tau * rng.uniform(4, 6), n)
    p_th, e0, e1 = (float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.01, 0.03)),
                    float(rng.uniform(0.03, 0.08)))
    excited = p_th + (rng.uniform(0.85, 0.97) - p_th) * np.exp(-x / tau)
    p0 = 1 - (e0 + (1 - e0 - e1) * excited)
    shots = int(rng.integers(400, 2001))
    k = budget_shots(x, shots, tau * float(rng.uniform(0.3, 1.0)))
    return dict(x=x, y=rng.binomial(k, np.clip(p0, 0, 1)) / k, stype="population", unit="ms",
                shots=shots, truth={"tau": tau}, noise="binomial_ground_budget_shots")


def _echo(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # phase_cycled_difference
    tau = float(rng.uniform(10e-6, 200e-6))
    n = int(rng.integers(40, 101))
    x = np.linspace(0, tau * rng.uniform(3, 5), n)
    a = float(rng.uniform(0.35, 0.48))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    drift = rng.uniform(0.01, 0.04) * _pink(n, rng)               # the readout's offset
    shots = int(rng.integers(200, 1001))
    cycles = []
    for sign in (1, -1):
        p = e0 + (1 - e0 - e1) * (0.5 + sign * a * np.exp(-x / tau)) + drift
        cycles.append(_binomial(p, shots, rng))
    return dict(x=x, y=(cycles[0] - cycles[1]) / 2, stype="magnitude", unit="us",
                truth={"tau": tau}, noise="magnitude_phase_cycled_difference")


def _drag(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # beta_sign_alternating: every other point played with -beta
    best = float(rng.uniform(0.3, 0.6) * rng.choice([-1, 1]))
    span = float(rng.uniform(1.0, 1.6))
    half = span * float(rng.uniform(0.6, 0.9))
    current = best + float(rng.uniform(-0.15, 0.15)) * span
    x = np.linspace(current - span / 2, current + span / 2, int(rng.integers(21, 42)))
    played = np.where(np.arange(len(x)) % 2 == 1, -x, x)
    off, amp = float(rng.uniform(0.02, 0.1)), float(rng.uniform(0.3, 0.9))
    p = off + amp * np.sin(np.pi / (2 * half) * (played - best)) ** 2
    shots = int(rng.integers(200, 1001))
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_beta_sign_alternating")


def _cz(family: str, rng: np.random.Generator) -> dict[str, Any]:
    best = float(math.exp(rng.uniform(math.log(0.05), math.log(0.5))))
    off, amp = float(rng.uniform(0.45, 0.55)), float(rng.uniform(0.4, 0.5))
    shots = int(rng.integers(1000, 4001))
    n = int(rng.integers(31, 62))
    x = np.linspace(best * rng.uniform(0.65, 0.8), best * rng.uniform(1.2, 1.35), n)
    if family == "cz/pink_flux_offset_wander":
        applied = x + best * float(rng.uniform(0.002, 0.006)) * _pink(n, rng)
        p = off + amp * np.cos(np.pi / 2 * (1 + (applied / best) ** 2))
        return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV",
                    shots=shots, truth={"cz_amplitude": best}, noise="binomial_pink_flux_wander")
    # flux_polarity_inverted: the conditional phase stays below 0.01-0.03 rad
    phi = float(rng.uniform(0.01, 0.03)) * (x / x.max()) ** 2
    p = off + amp * np.cos(np.pi / 2 + phi)
    return dict(x=x, y=_binomial(p, shots, rng), stype="population", unit="mV", shots=shots,
                truth={}, noise="binomial_flux_polarity_inverted")


def _readout_frequency(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # qubit_saturated_by_spur: both preparations about half excited
    r = _readout_draw(rng)
    kappa = r["kappa"]
    shots = int(rng.integers(1000, 5001))
    current = r["mid"] + float(rng.uniform(-0.3, 0.3)) * kappa
    x = np.linspace(current - kappa * rng.uniform(1.5, 3), current + kappa * rng.uniform(1.5, 3),
                    int(rng.integers(31, 72)))
    fid = thermal_fidelity(x, tilt=0.0, p_th=float(rng.uniform(0.49, 0.498)),
                           floor=float(rng.uniform(0.01, 0.04)), **r)
    return dict(x=x, y=_binomial(fid, 2 * shots, rng), stype="population", unit="MHz",
                shots=2 * shots, truth={}, noise="binomial_qubit_saturated_spur")


def _readout_amplitude(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # ionisation_resonances: narrow dips where |1> is lost at particular photon numbers
    width = float(rng.uniform(0.01, 0.06))
    eps_d, c_t = float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.1, 0.3))
    onset = width * float(rng.uniform(4, 8))
    grid = np.geomspace(0.2 * width, 20 * width, 4001)
    e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
    current = float(grid[np.argmax(1 - (e0 + e1) / 2)]) * math.exp(rng.normal(0, 0.15))
    u = np.linspace(-0.7, 0.7, int(rng.integers(21, 42)))
    x = current * np.exp(u)
    e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
    k = int(rng.integers(2, 5))
    at = np.sort(rng.uniform(-0.6, 0.6, k))
    while k > 1 and np.min(np.diff(at)) < 0.2:                    # the dips resolved apart
        at = np.sort(rng.uniform(-0.6, 0.6, k))
    for c in at:
        e1 = e1 + rng.uniform(0.15, 0.35) * np.exp(-0.5 * ((u - c) / rng.uniform(0.04, 0.07)) ** 2)
    shots = int(rng.integers(1000, 5001))
    f = 1 - (rng.binomial(shots, np.clip(e0, 0, 1)) + rng.binomial(shots, np.clip(e1, 0, 1))
             ) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="V", shots=2 * shots, truth={},
                noise="binomial_ionisation_resonances")


def _readout_duration(family: str, rng: np.random.Generator) -> dict[str, Any]:
    # length_register_wraps: a duration t integrates t mod T
    from scipy.special import erfc

    register = float(rng.choice([512e-9, 1024e-9, 2048e-9]))
    x = np.unique(np.round(np.linspace(rng.uniform(20e-9, 60e-9), register * rng.uniform(2.2, 3.2),
                                       int(rng.integers(30, 61))) / 1e-9)) * 1e-9
    t = wrapped_duration(x, register)
    snr = float(rng.uniform(3, 8)) / math.sqrt(200e-9)           # σ per sqrt(s) of window
    t1 = float(rng.uniform(20e-6, 80e-6))
    e = 0.5 * erfc(snr * np.sqrt(t) / (2 * math.sqrt(2)))
    decay = 1 - np.exp(-t / (2 * t1))
    shots = int(rng.integers(1000, 3001))
    f = 1 - (rng.binomial(shots, np.clip(e, 0, 1))
             + rng.binomial(shots, np.clip(e + decay * (1 - 2 * e), 0, 1))) / (2 * shots)
    return dict(x=x, y=f, stype="population", unit="ns", shots=2 * shots, truth={},
                noise="binomial_length_register_wraps")


def _benchmarking(family: str, rng: np.random.Generator) -> dict[str, Any]:
    r = math.exp(rng.uniform(math.log(5e-4), math.log(3e-3)))     # error per Clifford
    p = 1 - 2 * r
    tau = -1 / math.log(p)
    a, b = rng.uniform(0.4, 0.5), rng.uniform(0.46, 0.52)
    m = np.unique(np.round(np.linspace(1, tau * rng.uniform(3, 6), int(rng.integers(25, 51)))))
    if family == "randomized_benchmarking/averaged_iq_permuted_lengths":
        m = rng.permutation(m)                                    # acquisition order
        c0, d = _iq_plane(rng)
        survival = b + a * p**m
        drift = abs(d) * rng.uniform(0.01, 0.03) * (_pink(len(m), rng) + 1j * _pink(len(m), rng))
        z = c0 + d * (1 - survival) + drift + _iq_noise(len(m), abs(d) * rng.uniform(0.005, 0.02),
                                                        rng)
        return dict(x=m, y=z, stype="iq", unit="", truth={"tau": tau},
                    noise="iq_permuted_lengths_drift")
    # recovery_gate_missing: a random final state at every length
    shots = int(rng.integers(100, 501))
    e0, e1 = float(rng.uniform(0.01, 0.04)), float(rng.uniform(0.03, 0.1))
    y = np.full(len(m), 1 - (e0 + (1 - e0 - e1) * 0.5))
    return dict(x=m, y=_binomial(y, shots, rng), stype="population", unit="", shots=shots,
                truth={}, noise="binomial_recovery_gate_missing")


_MAKERS = {"resonator_spectroscopy": _resonator, "readout_frequency": _readout_frequency,
           "rabi": _rabi, "ramsey": _ramsey, "t1": _t1, "echo": _echo,
           "spectroscopy": _spectroscopy, "drag": _drag, "cz": _cz,
           "readout_amplitude": _readout_amplitude, "readout_duration": _readout_duration,
           "randomized_benchmarking": _benchmarking}


def make_gen14_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a fourteenth-generation held-out ``family`` (see :data:`GEN14`)."""
    kind, mode = GEN14[family]
    return case_from_parts(kind, mode, family, _MAKERS[kind](family, rng), rng)


def gen14_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every fourteenth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen14_case(f, rng) for f in GEN14 for _ in range(per_family)]
