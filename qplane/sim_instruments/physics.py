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
from typing import Any

import numpy as np

from qplane.device import SWEEP_UNITS, ExperimentData, ExperimentKind, ExperimentRequest
from qplane.sim_instruments.device import DeviceProfile, TruthState
from qplane.sim_instruments import gate_physics, readout_physics
from qplane.sim_instruments.noise import Settings, qubit_error_rates

#: The experiments of the optional controls (simulated by :func:`_gate_or_readout`).
_EXTENDED = (ExperimentKind.RESONATOR_SPECTROSCOPY, ExperimentKind.READOUT_FIDELITY_FREQUENCY,
             ExperimentKind.READOUT_FIDELITY_AMPLITUDE, ExperimentKind.READOUT_FIDELITY_DURATION,
             ExperimentKind.DRAG, ExperimentKind.RANDOMIZED_BENCHMARKING,
             ExperimentKind.CZ_CONDITIONAL_PHASE)


@dataclasses.dataclass(frozen=True)
class QubitSettings:
    """One qubit's control settings, as the electronics hold them."""

    drive_frequency: float
    pi_amplitude: float
    readout_angle: float
    readout_threshold: float
    # The optional controls (None: not bound, played at their ideal value).
    readout_frequency: float | None = None
    readout_amplitude: float | None = None
    readout_duration: float | None = None
    drag_beta: float | None = None
    cz_amplitude: float | None = None

    def optional(self, name: str, ideal: float) -> float:
        """The optional control ``name``'s setting, or ``ideal`` when it is not bound."""
        v = getattr(self, name)
        return float(ideal) if v is None else float(v)


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


def _one_qubit(truth: TruthState, i: int, s: QubitSettings, profile: DeviceProfile) -> Any:
    """Qubit ``i``'s QEC error rates (its settings over the whole truth; only ``i`` is used)."""
    n = len(truth.t1)
    full = Settings(**{name: None if v is None else np.full(n, float(v))
                       for name, v in dataclasses.asdict(s).items()})
    return qubit_error_rates(truth, full, profile)


def simulate(req: ExperimentRequest, truth: TruthState, i: int, s: QubitSettings,
             profile: DeviceProfile, rng: np.random.Generator, *, time: float) -> ExperimentData:
    """Run ``req`` on qubit index ``i`` and return its raw data (finite shots, readout errors)."""
    errors = _one_qubit(truth, i, s, profile)
    e01, e10 = float(errors.readout_e01[i]), float(errors.readout_e10[i])
    settings = {"drive_frequency": s.drive_frequency, "pi_amplitude": s.pi_amplitude,
                "pulse_duration": profile.pulse_duration, "readout_angle": s.readout_angle,
                "readout_threshold": s.readout_threshold}
    settings.update({k: v for k, v in dataclasses.asdict(s).items()
                     if k not in settings and v is not None})
    if req.kind in _EXTENDED:
        return _gate_or_readout(req, truth, i, s, profile, rng, time, settings, errors,
                                (e01, e10))
    p1 = excited_population(req, truth, i, s, profile)
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
    duration, iq0, iq1, p_t = profile.readout_duration, truth.iq0[i], truth.iq1[i], 0.0
    tone = (s.readout_frequency, s.readout_amplitude, s.readout_duration)
    if any(v is not None for v in tone):   # the readout tone's controls are bound
        ideal = [float(v[i]) for v in readout_physics.ideal_readout(truth, profile)]
        f, a, duration = (ideal[k] if v is None else float(v) for k, v in enumerate(tone))
        sep = float(readout_physics.separation(_slice(truth, i), profile, f, a, duration)[0])
        mid, axis = 0.5 * (iq0 + iq1), (iq1 - iq0) / abs(iq1 - iq0)
        iq0, iq1 = mid - 0.5 * sep * axis, mid + 0.5 * sep * axis
        p_t = float(readout_physics.transition_probability(profile, a))
    excited = rng.random(shots) < p1
    p_decay = 1.0 - math.exp(-duration / (2.0 * float(truth.t1[i])))
    excited &= rng.random(shots) >= p_decay
    if p_t > 0:
        excited ^= rng.random(shots) < p_t
    centre = np.where(excited, iq1, iq0)
    sigma = float(truth.iq_sigma[i])
    iq = centre + sigma * (rng.standard_normal(shots) + 1j * rng.standard_normal(shots))
    bits = np.real(iq * np.exp(-1j * s.readout_angle)) > s.readout_threshold
    return iq, float(np.mean(bits))


def _gate_or_readout(req: ExperimentRequest, truth: TruthState, i: int, s: QubitSettings,
                     profile: DeviceProfile, rng: np.random.Generator, time: float,
                     settings: dict[str, float], errors: Any,
                     readout: tuple[float, float]) -> ExperimentData:
    """The experiments of the optional controls (see :mod:`qplane.device.experiments`)."""
    x = req.sweep
    kind = req.kind
    p = profile
    ideal_f, ideal_a, ideal_t = (float(v[i]) for v in readout_physics.ideal_readout(truth, p))
    f = s.optional("readout_frequency", ideal_f)
    a = s.optional("readout_amplitude", ideal_a)
    t = s.optional("readout_duration", ideal_t)
    one = _slice(truth, i)
    per_point = p.repetition_time + np.zeros(len(x))
    if kind is ExperimentKind.RESONATOR_SPECTROSCOPY:
        mag = np.abs(readout_physics.response(x, float(truth.resonator_frequency[i]),
                                              float(truth.resonator_linewidth[i]),
                                              p.resonator_depth))
        noise = p.readout_sigma * p.readout_amplitude_nominal / max(a, 1e-3) / math.sqrt(req.shots)
        signal = np.clip(mag + noise * rng.standard_normal(len(x)), 0.0, 1.0)
        per_point = per_point + t
    elif kind in (ExperimentKind.READOUT_FIDELITY_FREQUENCY,
                  ExperimentKind.READOUT_FIDELITY_AMPLITUDE,
                  ExperimentKind.READOUT_FIDELITY_DURATION):
        f_, a_, t_ = (x if kind is ExperimentKind.READOUT_FIDELITY_FREQUENCY else f,
                      x if kind is ExperimentKind.READOUT_FIDELITY_AMPLITUDE else a,
                      x if kind is ExperimentKind.READOUT_FIDELITY_DURATION else t)
        sep = readout_physics.separation(one, p, f_, a_, t_)
        pt = readout_physics.transition_probability(p, a_)
        err = 0.5 * np.vectorize(math.erfc)(sep / (2 * p.readout_sigma * math.sqrt(2)))
        decay = 1 - np.exp(-np.asarray(t_) / (2 * float(truth.t1[i])))
        e01 = readout_physics._xor(err, pt)
        e10 = readout_physics._xor(decay * (1 - err) + (1 - decay) * err, pt)
        good = rng.binomial(req.shots, 1 - e01) + rng.binomial(req.shots, 1 - e10)
        signal = good / (2 * req.shots)
        per_point = 2 * (per_point + (x if kind is ExperimentKind.READOUT_FIDELITY_DURATION
                                      else t))
    else:
        p_th = float(truth.residual_excited[i])
        if kind is ExperimentKind.DRAG:
            settings["drag_pairs"] = float(gate_physics.DRAG_PAIRS)
            p1 = gate_physics.drag_population(x, float(truth.drag_beta[i]),
                                              p.drag_phase_per_beta)
            p1 = p_th + (1 - 2 * p_th) * p1
            per_point = per_point + 2 * gate_physics.DRAG_PAIRS * p.pulse_duration
        elif kind is ExperimentKind.RANDOMIZED_BENCHMARKING:
            r = gate_physics.error_per_clifford(float(np.sum(errors.h[i])))
            p1 = gate_physics.rb_population(x, r, p_th)
            per_point = per_point + x * gate_physics.PULSES_PER_CLIFFORD * p.pulse_duration
        else:  # CZ conditional phase
            p1 = gate_physics.cz_population(x, float(truth.cz_amplitude[i]))
            p1 = p_th + (1 - 2 * p_th) * p1
            per_point = per_point + p.cz_duration + 3 * p.pulse_duration
        e01, e10 = readout
        ones = rng.binomial(req.shots, np.clip(p1, 0.0, 1.0))
        assigned = rng.binomial(ones, 1.0 - e10) + rng.binomial(req.shots - ones, e01)
        signal = assigned / req.shots
    duration = float(req.shots * np.sum(per_point))
    return ExperimentData(kind=kind, qubit=req.qubit, sweep=x, sweep_unit=SWEEP_UNITS[kind],
                          signal=signal, shots=req.shots, settings=settings, time=time,
                          duration=duration)


def _slice(truth: TruthState, i: int) -> TruthState:
    """``truth`` for qubit ``i`` alone (arrays of length 1)."""
    return dataclasses.replace(truth, **{f.name: getattr(truth, f.name)[i:i + 1]
                                         for f in dataclasses.fields(truth) if f.name != "step"})
