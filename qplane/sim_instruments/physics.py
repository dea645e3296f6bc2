"""Simulating the calibration experiments of :mod:`qplane.device.experiments`.

One qubit at a time, with Bloch vectors in the frame rotating at the drive frequency
(``z = P0 − P1``; the qubit precesses at ``Δ = 2π (f_q − f_d)``). A square pulse of amplitude
``a`` and phase ``φ`` rotates about ``(Ω cos φ, Ω sin φ, Δ)`` by ``sqrt(Ω² + Δ²)·t_p`` with
``Ω = π a / (a_π t_p)``; free evolution for ``τ`` precesses by ``Δτ``, shrinks the transverse
part by ``e^(−τ/T2)`` and relaxes ``z`` towards ``1 − 2 p_th`` with ``T1`` (``T2 = T2*`` for
Ramsey, ``T2E`` in a Hahn echo). Spectroscopy uses the closed-form Bloch steady state. Each
point then gets ``shots`` single shots: the number of qubits found in ``|1⟩`` is binomial in
``P1``, and each is read through the discriminator's assignment errors (``e01``, ``e10`` from
:func:`~qplane.sim_instruments.noise.readout_errors`), so ``signal`` carries exactly the
projection noise and readout errors a device has. The closed forms the data follow are in
:mod:`qplane.device.experiments`.

>>> from qplane.sim_instruments.device import DeviceModel, DeviceProfile
>>> from qplane.device import ExperimentRequest
>>> truth = DeviceModel(1, seed=1, drift=False).truth_at(0.0)
>>> q = QubitSettings(drive_frequency=truth.frequency[0], pi_amplitude=truth.pi_amplitude[0],
...                   readout_angle=0.0, readout_threshold=0.0)
>>> req = ExperimentRequest("t1", "q0", [0.0, 1e-3], shots=200)
>>> data = simulate(req, truth, 0, q, DeviceProfile(), np.random.default_rng(0), time=0.0)
>>> data.signal.shape
(2,)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from qplane.device import SWEEP_UNITS, ExperimentData, ExperimentKind, ExperimentRequest
from qplane.sim_instruments.device import DeviceProfile, TruthState
from qplane.sim_instruments.noise import readout_errors


@dataclasses.dataclass(frozen=True)
class QubitSettings:
    """One qubit's control settings, as the electronics hold them."""

    drive_frequency: float
    pi_amplitude: float
    readout_angle: float
    readout_threshold: float


def _rotate(r: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate Bloch vectors ``r`` (…, 3) about unit ``axis`` (…, 3) by ``angle`` (…)."""
    c, s = np.cos(angle)[..., None], np.sin(angle)[..., None]
    dot = np.sum(axis * r, axis=-1, keepdims=True)
    return r * c + np.cross(axis, r) * s + axis * dot * (1 - c)


def pulse(r: np.ndarray, amplitude: np.ndarray | float, *, a_pi: float, detuning: float,
          t_p: float, phase: np.ndarray | float = 0.0) -> np.ndarray:
    """Apply a square pulse (``detuning`` in rad/s)."""
    amplitude = np.broadcast_to(np.asarray(amplitude, dtype=float), r.shape[:-1])
    phase = np.broadcast_to(np.asarray(phase, dtype=float), r.shape[:-1])
    omega = np.pi * amplitude / (a_pi * t_p)
    eff = np.sqrt(omega ** 2 + detuning ** 2)
    safe = np.where(eff > 0, eff, 1.0)
    axis = np.stack([omega * np.cos(phase), omega * np.sin(phase),
                     np.full_like(omega, detuning)], axis=-1) / safe[..., None]
    return np.where((eff > 0)[..., None], _rotate(r, axis, eff * t_p), r)


def evolve(r: np.ndarray, tau: np.ndarray | float, *, detuning: float, t1: float, t2: float,
           z_eq: float) -> np.ndarray:
    """Free evolution for ``tau`` seconds."""
    tau = np.broadcast_to(np.asarray(tau, dtype=float), r.shape[:-1])
    phi = detuning * tau
    c, s = np.cos(phi), np.sin(phi)
    decay = np.exp(-tau / t2)
    x = (r[..., 0] * c - r[..., 1] * s) * decay
    y = (r[..., 0] * s + r[..., 1] * c) * decay
    z = z_eq + (r[..., 2] - z_eq) * np.exp(-tau / t1)
    return np.stack([x, y, z], axis=-1)


def excited_population(req: ExperimentRequest, truth: TruthState, i: int, s: QubitSettings,
                       profile: DeviceProfile) -> np.ndarray:
    """The ideal ``P1`` at every sweep point (before readout), for qubit index ``i``."""
    p_th = float(truth.residual_excited[i])
    z_eq = 1.0 - 2.0 * p_th
    t1, t2s, t2e = float(truth.t1[i]), float(truth.t2_star[i]), float(truth.t2_echo[i])
    a_pi, t_p = float(truth.pi_amplitude[i]), profile.pulse_duration
    f_q = float(truth.frequency[i])
    detuning = 2 * np.pi * (f_q - s.drive_frequency)
    x = req.sweep
    start = np.tile([0.0, 0.0, z_eq], (len(x), 1))
    kind = req.kind
    if kind is ExperimentKind.QUBIT_SPECTROSCOPY:
        omega = 2 * np.pi * profile.spectroscopy_rabi_frequency
        d = 2 * np.pi * (f_q - x)
        sat = omega ** 2 * t1 * t2s
        return p_th + (1 - 2 * p_th) * 0.5 * sat / (1 + (d * t2s) ** 2 + sat)
    kw = dict(a_pi=a_pi, detuning=detuning, t_p=t_p)
    free = dict(detuning=detuning, t1=t1, z_eq=z_eq)
    half_pi = 0.5 * s.pi_amplitude
    if kind is ExperimentKind.RABI_AMPLITUDE:
        r = pulse(start, x, **kw)
    elif kind is ExperimentKind.RAMSEY:
        r = pulse(start, half_pi, **kw)
        r = evolve(r, x, t2=t2s, **free)
        r = pulse(r, half_pi, phase=-2 * np.pi * req.artificial_detuning * x, **kw)
    elif kind is ExperimentKind.T1:
        r = evolve(pulse(start, s.pi_amplitude, **kw), x, t2=t2s, **free)
    elif kind is ExperimentKind.HAHN_ECHO:
        r = pulse(start, half_pi, **kw)
        r = evolve(r, x / 2, t2=t2e, **free)
        r = pulse(r, s.pi_amplitude, **kw)
        r = evolve(r, x / 2, t2=t2e, **free)
        r = pulse(r, half_pi, **kw)
    elif kind is ExperimentKind.READOUT_IQ:
        r = np.stack([start[0], pulse(start[1:], s.pi_amplitude, **kw)[0]])
    else:  # pragma: no cover - ExperimentKind is closed
        raise ValueError(kind)
    return np.clip((1.0 - r[:, 2]) / 2.0, 0.0, 1.0)


def simulate(req: ExperimentRequest, truth: TruthState, i: int, s: QubitSettings,
             profile: DeviceProfile, rng: np.random.Generator, *, time: float) -> ExperimentData:
    """Run ``req`` on qubit index ``i`` and return its raw data (finite shots, readout errors)."""
    p1 = excited_population(req, truth, i, s, profile)
    e01, e10 = readout_errors(truth, np.array([s.readout_angle]),
                              np.array([s.readout_threshold]), profile.readout_duration)
    e01, e10 = float(e01[i] if e01.size > 1 else e01[0]), float(e10[i] if e10.size > 1 else e10[0])
    settings = {"drive_frequency": s.drive_frequency, "pi_amplitude": s.pi_amplitude,
                "pulse_duration": profile.pulse_duration, "readout_angle": s.readout_angle,
                "readout_threshold": s.readout_threshold}
    if req.kind is ExperimentKind.RAMSEY:
        settings["artificial_detuning"] = req.artificial_detuning
    if req.kind is ExperimentKind.QUBIT_SPECTROSCOPY:
        settings["spectroscopy_rabi_frequency"] = profile.spectroscopy_rabi_frequency
    delays = req.sweep if req.kind in (ExperimentKind.RAMSEY, ExperimentKind.T1,
                                       ExperimentKind.HAHN_ECHO) else np.zeros(len(req.sweep))
    duration = float(req.shots * np.sum(profile.repetition_time + delays))
    iq0 = iq1 = None
    if req.kind is ExperimentKind.READOUT_IQ:
        iq0, signal0 = _iq_shots(p1[0], truth, i, s, profile, rng, req.shots)
        iq1, signal1 = _iq_shots(p1[1], truth, i, s, profile, rng, req.shots)
        signal = np.array([signal0, signal1])
    else:
        ones = rng.binomial(req.shots, p1)
        assigned = rng.binomial(ones, 1.0 - e10) + rng.binomial(req.shots - ones, e01)
        signal = assigned / req.shots
    return ExperimentData(kind=req.kind, qubit=req.qubit, sweep=req.sweep,
                          sweep_unit=SWEEP_UNITS[req.kind], signal=signal, shots=req.shots,
                          settings=settings, time=time, duration=duration, iq0=iq0, iq1=iq1)


def _iq_shots(p1: float, truth: TruthState, i: int, s: QubitSettings, profile: DeviceProfile,
              rng: np.random.Generator, shots: int) -> tuple[np.ndarray, float]:
    excited = rng.random(shots) < p1
    p_decay = 1.0 - math.exp(-profile.readout_duration / (2.0 * float(truth.t1[i])))
    excited &= rng.random(shots) >= p_decay
    centre = np.where(excited, truth.iq1[i], truth.iq0[i])
    sigma = float(truth.iq_sigma[i])
    iq = centre + sigma * (rng.standard_normal(shots) + 1j * rng.standard_normal(shots))
    bits = np.real(iq * np.exp(-1j * s.readout_angle)) > s.readout_threshold
    return iq, float(np.mean(bits))
