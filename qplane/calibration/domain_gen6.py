"""The sixth generation of held-out families: sweeps kept blind while the gate, the fits and the
second opinion were tuned in session 6.

The fifth generation (:mod:`qplane.calibration.domain_gen5`) was measured and looked at in
session 5, so it no longer measures transfer honestly. These families were written and
committed *before* anything was tuned or trained in session 6, by a helper that did not run the
gate or the second opinion on them, with readouts, noises, sweep layouts, shapes and bad-data
kinds that neither the train families (``train``, ``train_broad``, ``train_wide``) nor any
earlier held-out generation use. Each is modelled on what real labs record:

- readouts and noises: photon counting (Poisson counts, the fluorescence or photon-counter
  readout of ions, NV centres and counter-read transmons), single-shot state assignment with
  asymmetric errors (SPAM: populations compressed into ``[e0, 1 - e1]``, relaxation during
  readout making ``e1 > e0``), readout phase in *degrees*, wrapped through ±180°, with
  dropped averages written as NaN, averaged IQ given as a ``(points, 2)`` array of I and Q,
  IQ whose local-oscillator phase drifts during the sweep (the whole IQ plane rotates), a
  12-16-bit ADC whose full scale clips the signal (integer counts), 1/f fluctuations of the
  readout amplifier's gain *and* phase (complex, multiplicative);
- layouts: amplitude sweeps from −A to +A (the default of common open frameworks), a
  spectroscopy sweep given as a detuning from the drive's LO (negative to positive, MHz),
  very coarse sweeps (9–13 points) and very fine ones (400–900 points), sweeps in GHz, mV,
  ns and ms, a delay step of whole fringe periods;
- shapes: the pulsed-spectroscopy line of a finite-length drive pulse (the Rabi formula, with
  its side lobes), a saturated (power-broadened) line, a Rabi with a drive offset (the LO
  leakage, a phase) and damping in the *absolute* rotation angle, a Ramsey under 50 Hz mains
  flux pick-up (averaged over the mains phase: a Bessel-like envelope), a T1 from a thermal
  excited-state population (it starts at ``1 - p_th`` and ends at ``p_th``), an echo decaying
  as a compressed exponential ``exp(-(t/T)^β)`` with β 1.0–1.5 (1/f dephasing; the truth is
  ``T``, the 1/e time);
- bad data: a Ramsey sampled at whole fringe periods (stroboscopic alias: under-sampled), a
  narrow window on the flank of a broad line (only a slope: off range), a survey showing the
  two-photon ``f02/2`` line beside ``f01`` (too much drive power: which line is the qubit is
  ambiguous, anomalous), a Rabi whose readout saturates the ADC (flat-topped fringes:
  anomalous), a Rabi with the drive off read through a 1/f-fluctuating amplifier (no signal),
  an echo of a spin qubit in a nuclear-spin bath (collapses and revivals at the Larmor
  period: anomalous).

Good data carry the truth the earlier generations carry (``center``, ``pi_amplitude``,
``frequency``, ``tau``, in SI); bad data carry none.

>>> cases = gen6_set(1, seed=0)
>>> len(cases) == len(GEN6), all(c.family in GEN6 for c in cases)
(True, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.calibration.domain import Case, _pink, case_from_parts
from qplane.calibration.domain_gen4 import _magnitude as _gain

#: family -> (kind, mode)
GEN6 = {
    "spectroscopy/pulsed_phase_deg": ("spectroscopy", "ok"),
    "spectroscopy/detuning_counts": ("spectroscopy", "ok"),
    "rabi/symmetric_counts": ("rabi", "ok"),
    "rabi/coarse_spam": ("rabi", "ok"),
    "ramsey/mains_iq_pairs": ("ramsey", "ok"),
    "t1/thermal_fine": ("t1", "ok"),
    "echo/stretched_lo_drift": ("echo", "ok"),
    "ramsey/stroboscopic": ("ramsey", "undersampled"),
    "spectroscopy/slope_only": ("spectroscopy", "off_range"),
    "spectroscopy/two_photon_line": ("spectroscopy", "anomalous"),
    "rabi/clipped_adc": ("rabi", "anomalous"),
    "rabi/drive_off_iq": ("rabi", "no_signal"),
    "echo/nuclear_revivals": ("echo", "anomalous"),
}


def _counts(rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Photon counts per point (Poisson, as floats)."""
    return rng.poisson(np.clip(rate, 0, None)).astype(float)


def _assigned(p: np.ndarray, rng: np.random.Generator, shots: int, e0: float, e1: float
              ) -> np.ndarray:
    """The fraction of ``shots`` assigned ``1`` when the qubit is in 1 with probability ``p``
    and the readout misassigns 0 -> 1 with ``e0`` and 1 -> 0 with ``e1``."""
    ones = rng.binomial(shots, np.clip(p, 0, 1))
    kept = rng.binomial(ones, 1 - e1)                  # true 1s read as 1
    false = rng.binomial(shots - ones, e0)             # true 0s read as 1
    return (kept + false) / shots


def _iq_plane(rng: np.random.Generator) -> tuple[complex, complex]:
    """A readout's ground point and its displacement per unit population (IQ plane)."""
    d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    c0 = abs(d) * rng.uniform(0.3, 1.5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
    return complex(c0), complex(d)


def _wrap_deg(phi: np.ndarray) -> np.ndarray:
    return (phi + 180.0) % 360.0 - 180.0


def _lorentz(x: np.ndarray, center: float, fwhm: float) -> np.ndarray:
    half = fwhm / 2
    return half**2 / ((x - center) ** 2 + half**2)


def _spectroscopy(family: str, rng: np.random.Generator) -> dict[str, Any]:
    f0 = float(rng.uniform(4e9, 7e9))
    if family == "spectroscopy/pulsed_phase_deg":
        # a rectangular drive pulse of area 0.5-1.0 pi: P(D) = W^2/(W^2+D^2) sin^2(t W'/2)
        rabi = float(rng.uniform(0.3e6, 3e6))            # Rabi frequency, Hz
        area = float(rng.uniform(0.5, 1.0) * math.pi)
        t = area / (2 * math.pi * rabi)
        span = rabi * rng.uniform(10, 20)
        n = max(int(rng.integers(80, 251)), int(3 * span / rabi))
        center = f0 + float(rng.uniform(-0.2, 0.2) * span)
        x = np.linspace(f0 - span / 2, f0 + span / 2, n)
        w, dw = 2 * math.pi * rabi, 2 * math.pi * (x - center)
        weff = np.sqrt(w**2 + dw**2)
        p = w**2 / weff**2 * np.sin(weff * t / 2) ** 2
        # the readout resonator's phase moves by 10-40 degrees with the qubit's state; the
        # trace sits near +-180 degrees, so the instrument's wrapped phase jumps by 360
        shift = float(rng.uniform(10, 40) * rng.choice([-1, 1]))
        base = 180.0 + float(rng.uniform(-1, 1)) * abs(shift)
        phi = base + shift * p + rng.normal(0, rng.uniform(0.01, 0.04) * abs(shift), n)
        phi = _wrap_deg(phi)
        dropped = rng.random(n) < rng.uniform(0.02, 0.06)   # failed averages: NaN
        phi[dropped] = np.nan
        return dict(x=x, y=phi, stype="phase", unit="GHz", truth={"center": center},
                    noise="phase_deg_wrapped_nan", settings={"signal_units": "deg"})
    if family == "spectroscopy/detuning_counts":
        # a saturated line: rho_ee = (s/2) / (1 + s + (2 D / gamma)^2), read by photon counts;
        # the sweep is the detuning from the drive's LO, negative to positive, in MHz
        gamma = float(rng.uniform(0.2e6, 1.5e6))
        s = math.exp(rng.uniform(0.0, math.log(30.0)))
        fwhm = gamma * math.sqrt(1 + s)
        span = fwhm * rng.uniform(6, 14)
        n = int(rng.integers(41, 142))
        x = np.linspace(-span / 2, span / 2, n)
        center = float(rng.uniform(-0.2, 0.2) * span)
        rho = (s / 2) / (1 + s + (2 * (x - center) / gamma) ** 2)
        dark, bright = rng.uniform(3, 30), rng.uniform(30, 300)
        y = _counts(dark + bright * 2 * rho, rng)
        return dict(x=x, y=y, stype="magnitude", unit="MHz", truth={"center": center},
                    noise="poisson", settings={})
    if family == "spectroscopy/slope_only":
        # a narrow window (0.3-0.6 linewidths) on the flank of a broad line, the centre
        # 0.6-1.2 linewidths away: a clear slope (15-40 noise sigma across the window)
        fwhm = float(rng.uniform(5e6, 20e6))
        span = fwhm * rng.uniform(0.3, 0.6)
        center = f0 + float(rng.choice([-1, 1]) * rng.uniform(0.6, 1.2) * fwhm)
        n = int(rng.integers(31, 102))
        x = np.linspace(f0 - span / 2, f0 + span / 2, n)
        line = rng.uniform(0.3, 0.7) * rng.choice([-1, 1]) * _lorentz(x, center, fwhm)
        level = np.ptp(line) / rng.uniform(15, 40)
        y = 0.5 + line + rng.normal(0, level, n)
        return dict(x=x, y=_gain(y, rng), stype="magnitude", unit=None, truth={},
                    noise="gaussian", settings={})
    # two_photon_line: a survey at high drive power shows f01 and the two-photon f02/2 line
    # alpha/2 below it (alpha 180-320 MHz), narrower and 0.3-1.0 times as high
    alpha = float(rng.uniform(180e6, 320e6))
    sep = alpha / 2
    w1 = float(rng.uniform(2e6, 6e6))
    w2 = w1 * rng.uniform(0.3, 0.7)
    span = sep * rng.uniform(1.4, 2.0)
    mid = f0 - sep / 2 + float(rng.uniform(-0.1, 0.1) * sep)
    n = min(int(1.5 * span / w2) + 1, 1200)
    x = np.linspace(mid - span / 2, mid + span / 2, n)
    depth = rng.uniform(0.4, 0.7) * rng.choice([-1, 1])
    line = _lorentz(x, f0, w1) + rng.uniform(0.3, 1.0) * _lorentz(x, f0 - sep, w2)
    y = 0.5 + depth * line + rng.normal(0, rng.uniform(0.005, 0.02), n)
    return dict(x=x, y=_gain(y, rng), stype="magnitude", unit=None, truth={},
                noise="gaussian", settings={})


def _rabi_population(x: np.ndarray, api: float, phase: float, kappa: float,
                     c: float, off: float) -> np.ndarray:
    """Population after a drive of amplitude ``x``: the rotation angle is ``phase + (pi -
    phase) x / api`` (pi at ``api``), the fringe damped by ``exp(-kappa |angle| / pi)``."""
    theta = phase + (math.pi - phase) * x / api
    return off + c / 2 * (1 - np.exp(-kappa * np.abs(theta) / math.pi) * np.cos(theta))


def _rabi(family: str, rng: np.random.Generator) -> dict[str, Any]:
    if family in ("rabi/symmetric_counts", "rabi/drive_off_iq"):
        # -A ... +A; a DC offset x0 on the drive (LO leakage) rotates by pi x0 / a already at
        # zero amplitude: the pi amplitude on the positive side is a - x0
        a = float(rng.uniform(0.05, 0.8))
        x0 = float(rng.uniform(0.02, 0.08) * a * rng.choice([-1, 1]))
        api = a - x0
        n = int(rng.integers(41, 102))
        top = a * rng.uniform(1.6, 2.6)
        x = np.linspace(-top, top, n)
        if family == "rabi/drive_off_iq":   # the drive is off: the thermal population only
            p = np.full(n, rng.uniform(0.02, 0.1))
            c0, d = _iq_plane(rng)
            gain = 1 + rng.uniform(0.005, 0.02) * _pink(n, rng)
            phase = np.deg2rad(rng.uniform(0.5, 2.0)) * _pink(n, rng)
            white = abs(d) * rng.uniform(0.005, 0.02)
            z = (c0 + d * p) * gain * np.exp(1j * phase) + white * (
                rng.normal(size=n) + 1j * rng.normal(size=n))
            return dict(x=x, y=z, stype="iq", unit="mV", truth={}, noise="iq_gain_phase_pink")
        p = _rabi_population(x, api, math.pi * x0 / a, float(rng.uniform(0.05, 0.3)),
                             float(rng.uniform(0.8, 0.95)), float(rng.uniform(0, 0.05)))
        y = _counts(rng.uniform(1, 10) + rng.uniform(30, 200) * p, rng)
        return dict(x=x, y=y, stype="magnitude", unit="mV", truth={"pi_amplitude": api},
                    noise="poisson")
    api = float(rng.uniform(0.05, 0.8))
    if family == "rabi/coarse_spam":
        # 9-13 points, at least 4 per pi amplitude; single-shot assignment errors
        n = int(rng.integers(9, 14))
        top = api * rng.uniform(1.6, min(2.4, (n - 1) / 4))
        x = np.linspace(0, top, n)
        phase = float(rng.uniform(0.05, 0.25) * rng.choice([-1, 1]))
        p = _rabi_population(x, api, phase, float(rng.uniform(0.05, 0.3)), 1.0, 0.0)
        shots = int(rng.integers(1000, 5001))
        y = _assigned(p, rng, shots, float(rng.uniform(0.01, 0.06)),
                      float(rng.uniform(0.06, 0.2)))
        xs_unit = str(rng.choice(["V", "mV"]))
        return dict(x=x, y=y, stype="population", unit=xs_unit, shots=shots,
                    truth={"pi_amplitude": api}, noise="single_shot_spam")
    # clipped_adc: the readout chain saturates the ADC on one side of the fringe
    n = int(rng.integers(40, 121))
    x = np.linspace(0, api * rng.uniform(2.0, 3.5), n)
    p = _rabi_population(x, api, float(rng.uniform(-0.2, 0.2)), float(rng.uniform(0, 0.3)),
                         float(rng.uniform(0.7, 0.95)), float(rng.uniform(0, 0.05)))
    y = p + rng.normal(0, rng.uniform(0.005, 0.015), n)
    full = 2 ** int(rng.choice([12, 14, 16]) - 1) - 1
    g = rng.choice([-1, 1]) * full * rng.uniform(0.6, 1.2) / np.ptp(p)
    q = rng.uniform(0.25, 0.5)                   # the fraction of the swing beyond full scale
    o = full - (np.max(g * p) - q * abs(g) * np.ptp(p))
    adc = np.clip(np.round(o + g * y), -full - 1, full)
    return dict(x=x, y=adc, stype="magnitude", unit=None, truth={}, noise="adc_clipped")


def _ramsey(family: str, rng: np.random.Generator) -> dict[str, Any]:
    det = float(rng.uniform(0.5e6, 3e6))
    f = det * (1 + float(rng.uniform(-0.03, 0.03)))
    amp, ph = rng.uniform(0.35, 0.5), rng.uniform(-0.3, 0.3)
    t2 = float(rng.uniform(10e-6, 60e-6))
    if family == "ramsey/mains_iq_pairs":
        # 50 Hz flux pick-up: quasi-static during one shot, a random mains phase per shot, so
        # each point averages the fringe over the mains' frequency excursion
        top = min(rng.uniform(1.0, 2.5) * t2, rng.uniform(8, 30) / f)
        n = max(int(rng.integers(60, 151)), int(4 * top * f) + 1)
        x = np.linspace(0, top, n)
        excursion = rng.uniform(0.5, 1.5) / (2 * math.pi * top)
        shots = int(rng.integers(200, 1001))
        mains = excursion * np.sin(rng.uniform(0, 2 * math.pi, (n, shots)))
        fringe = np.cos(2 * math.pi * (f + mains) * x[:, None] + ph).mean(axis=1)
        p = 0.5 + amp * np.exp(-x / t2) * fringe
        c0, d = _iq_plane(rng)
        level = abs(d) * rng.uniform(0.005, 0.02)
        z = c0 + d * p + level * (rng.normal(size=n) + 1j * rng.normal(size=n))
        return dict(x=x, y=np.stack([z.real, z.imag], axis=1), stype="iq", unit="ns",
                    truth={"frequency": abs(f)}, noise="iq_mains_pickup",
                    settings={"detuning": det})
    # stroboscopic: the delay step is 1 or 2 fringe periods (within 2 %): the data show only
    # the slow alias of the fringe
    k = int(rng.choice([1, 2]))
    step = k * (1 + rng.uniform(-0.02, 0.02)) / f
    n = int(rng.integers(30, 81))
    x = float(rng.uniform(0, 20e-9)) + np.arange(n) * step
    p = 0.5 + amp * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    shots = int(rng.integers(200, 1001))
    y = rng.binomial(shots, np.clip(p, 0, 1)) / shots
    return dict(x=x, y=y, stype="population", unit=None, shots=shots, truth={},
                noise="binomial", settings={"detuning": det})


def _decay(family: str, rng: np.random.Generator) -> dict[str, Any]:
    if family == "t1/thermal_fine":
        # a thermal excited population p_th: after the pi pulse 1 - p_th, relaxing to p_th;
        # 400-900 delays of 30-120 single shots each, with assignment errors
        tau = float(rng.uniform(10e-6, 200e-6))
        p_th = float(rng.uniform(0.08, 0.25))
        n = int(rng.integers(400, 901))
        x = np.linspace(0, tau * rng.uniform(4, 7), n)
        p = p_th + (1 - 2 * p_th) * np.exp(-x / tau)
        shots = int(rng.integers(30, 121))
        y = _assigned(p, rng, shots, float(rng.uniform(0.01, 0.04)),
                      float(rng.uniform(0.03, 0.1)))
        return dict(x=x, y=y, stype="population", unit="ms", shots=shots,
                    truth={"tau": tau}, noise="single_shot_spam")
    if family == "echo/stretched_lo_drift":
        # exp(-(t/T)^beta), beta 1.0-1.5; averaged IQ whose LO phase drifts 1-4 degrees
        tau = float(rng.uniform(10e-6, 200e-6))
        beta = float(rng.uniform(1.0, 1.5))
        n = int(rng.integers(40, 121))
        x = np.linspace(0, tau * rng.uniform(3, 5), n)
        a = rng.uniform(0.5, 0.95) * rng.choice([-1, 1])
        p = 0.5 + a / 2 * np.exp(-((x / tau) ** beta))
        c0, d = _iq_plane(rng)
        u = np.linspace(-0.5, 0.5, n)
        drift = np.deg2rad(rng.uniform(1, 4) * rng.choice([-1, 1])) * u
        level = abs(d) * rng.uniform(0.005, 0.02)
        z = (c0 + d * p) * np.exp(1j * drift) + level * (rng.normal(size=n)
                                                         + 1j * rng.normal(size=n))
        xs_unit = str(rng.choice(["ns", "us", "µs"]))
        return dict(x=x, y=z, stype="iq", unit=xs_unit, truth={"tau": tau},
                    noise="iq_lo_phase_drift")
    # nuclear_revivals: a spin qubit's echo in a nuclear-spin bath collapses and revives at
    # the Larmor period (3-8 revivals in the window), read by photoluminescence counts
    # summed over many repetitions (5e3-5e4 bright counts a point, 20-30 % contrast)
    tau = float(rng.uniform(20e-6, 400e-6))
    top = tau * rng.uniform(1.5, 3.0)
    larmor = top / rng.uniform(3, 8)
    n = max(int(rng.integers(80, 201)), int(12 * top / larmor))
    x = np.linspace(0, top, n)
    coherence = np.exp(-((x / tau) ** rng.uniform(1.0, 2.0))) * (
        1 - rng.uniform(0.6, 1.0) * np.sin(math.pi * x / larmor) ** 4)
    p1 = 0.5 - 0.5 * coherence
    y = _counts(math.exp(rng.uniform(math.log(5e3), math.log(5e4)))
                * (1 - rng.uniform(0.2, 0.3) * p1), rng)
    return dict(x=x, y=y, stype="magnitude", unit=None, truth={}, noise="poisson")


def make_gen6_case(family: str, rng: np.random.Generator) -> Case:
    """One case of a sixth-generation held-out ``family`` (see :data:`GEN6`)."""
    kind, mode = GEN6[family]
    if kind == "spectroscopy":
        c = _spectroscopy(family, rng)
    elif kind == "rabi":
        c = _rabi(family, rng)
    elif kind == "ramsey":
        c = _ramsey(family, rng)
    else:
        c = _decay(family, rng)
    return case_from_parts(kind, mode, family, c, rng)


def gen6_set(per_family: int, *, seed: int) -> list[Case]:
    """``per_family`` cases of every sixth-generation held-out family."""
    rng = np.random.default_rng(seed)
    return [make_gen6_case(f, rng) for f in GEN6 for _ in range(per_family)]
