"""Per-qubit QEC noise derived from the mismatch between control settings and the truth.

The memory circuit a :class:`NoisyCircuitTemplate` builds is stim's generated rotated surface
code with its noise channels exactly where stim's own uniform model puts them (so sampling costs
about the same, and detector coordinates are stim's), but every channel's strength is computed
per qubit, by :func:`qubit_error_rates`, from physics. With ``Δf = f_q − f_d`` (true frequency
minus drive frequency), ``ε = a_set/a_π − 1`` (relative amplitude error), Pauli-twirled
(coherent errors become Pauli errors of the same probability):

* idling for ``t`` (amplitude damping + dephasing): ``p_x = p_y = (1 − e^(−t/T1))/4``,
  ``p_z = (1 − e^(−t/T2*))/2 − p_x``; plus the detuning's frame error, a Z rotation by
  ``φ = 2π Δf t``, which adds ``p_z += sin²(φ/2)`` (no dynamical decoupling on the data);
* one π/2 pulse (the H of the circuit is a Y/2 pulse and a virtual Z): over-rotation
  ``δ = (π/2) ε`` gives ``p_y += sin²(δ/2)``; the detuning during the pulse
  ``p_z += sin²(π Δf t_p)``; decoherence over ``t_p``; and the intrinsic floor
  ``gate_1q_floor`` spread evenly over X, Y, Z;
* a CX on control ``c`` and target ``t`` is a native CZ between two π/2 pulses on ``t``. The
  gate itself gets ``DEPOLARIZE2(p)`` with ``p = 1 − (1 − cz_floor)(1 − e_c)(1 − e_t)``, where
  ``e_c`` and ``e_t`` are each partner's own decoherence and detuning phase over ``t_cz``: a
  two-qubit gate is as bad as both its partners. The target's two pulses are errors on the
  target alone (an over-rotated pulse must not put X errors on the control, which the CX
  sequence would spread as hook errors): a data qubit's join its idling channel of the round,
  an ancilla's X/Y part its measurement flip (Pauli-twirled, so they add in probability);
* readout: with discriminator angle ``θ`` and threshold ``v_t``, the blobs project onto
  ``m_s = Re(c_s e^(−iθ))``; ``e01 = Q((v_t − m0)/σ)``, ``e10 = p_d (1 − e01) + (1 − p_d) Q((m1 − v_t)/σ)``
  with ``p_d = 1 − e^(−t_ro/(2 T1))`` the chance of decaying during the readout (such a shot
  lands on the |0⟩ blob); the measurement flips with ``(e01 + e10)/2``;
* reset leaves the residual excited population ``p_th``.

The optional controls, where the station binds them (``None`` in :class:`Settings` otherwise,
and then the device plays them ideally): the readout tone (frequency, amplitude, duration)
sets the blobs' separation, measurement-induced transitions and decay during the readout
(:mod:`~qplane.sim_instruments.readout_physics`); a DRAG mismatch adds ``p_z += sin²(θ/4)`` to
each π/2 pulse; each qubit's CZ flux amplitude adds its conditional-phase error to every CZ it
takes part in (:mod:`~qplane.sim_instruments.gate_physics`: ``3/4 sin²((δc + δt)/2)`` more
two-qubit error), so a miscalibrated CZ raises the detection rate and the logical error rate.

Where the pieces go: each data qubit idles for the round minus its gate time (four CZs, two
pulses) at the round's start, where stim puts ``before_round_data_depolarization``, together
with its CX-target pulses; every qubit's decoherence during a gate is in that gate's channel. Idling through a CZ layer a qubit
sits out (boundary ancillas, corner data: at most two 40 ns layers) is neglected.

>>> tpl = NoisyCircuitTemplate(distance=3, rounds=2, basis="Z")
>>> len(tpl.layout.names), tpl.layout.roles.count("data")
(17, 9)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import stim

from qplane.codes import PatchLayout, patch_layout
from qplane.sim_instruments import gate_physics, readout_physics
from qplane.sim_instruments.device import DeviceProfile, TruthState

# Sentinel strengths that mark stim's noise slots in the generated circuit.
_RESET, _IDLE, _CLIFFORD, _MEASURE = 0.019, 0.013, 0.011, 0.017


@dataclasses.dataclass(frozen=True)
class Settings:
    """The control settings per qubit (arrays in layout order), as the electronics hold them."""

    drive_frequency: np.ndarray
    pi_amplitude: np.ndarray
    readout_angle: np.ndarray
    readout_threshold: np.ndarray
    # The optional controls (None: not bound, played ideally).
    readout_frequency: np.ndarray | None = None
    readout_amplitude: np.ndarray | None = None
    readout_duration: np.ndarray | None = None
    drag_beta: np.ndarray | None = None
    cz_amplitude: np.ndarray | None = None

    def key(self) -> bytes:
        """Bytes that change whenever any setting does."""
        return b"".join(np.ascontiguousarray(getattr(self, f.name), dtype=np.float64).tobytes()
                        for f in dataclasses.fields(self) if getattr(self, f.name) is not None)

    @classmethod
    def calibrated(cls, truth: TruthState, profile: DeviceProfile | None = None) -> Settings:
        """The settings a perfect calibration would leave for ``truth``.

        With ``profile``, the optional controls too (the best readout tone, DRAG, CZ).
        """
        angle = np.angle(truth.iq1 - truth.iq0)
        mid = 0.5 * (truth.iq0 + truth.iq1)
        extra: dict[str, np.ndarray] = {}
        if profile is not None:
            f, a, t = readout_physics.ideal_readout(truth, profile)
            extra = dict(readout_frequency=f, readout_amplitude=a, readout_duration=t,
                         drag_beta=truth.drag_beta.copy(), cz_amplitude=truth.cz_amplitude.copy())
        return cls(drive_frequency=truth.frequency.copy(), pi_amplitude=truth.pi_amplitude.copy(),
                   readout_angle=angle, readout_threshold=np.real(mid * np.exp(-1j * angle)),
                   **extra)


@dataclasses.dataclass(frozen=True)
class QubitErrors:
    """Per-qubit channel strengths; ``(n, 3)`` arrays are Pauli ``(p_x, p_y, p_z)``."""

    idle: np.ndarray  # data qubits' channel per round (idling + their CX-target pulses)
    h: np.ndarray  # after each H (one π/2 pulse)
    cz: np.ndarray  # (n,) the qubit's own error during a CZ (decoherence, detuning)
    measure: np.ndarray  # (n,)
    reset: np.ndarray  # (n,)
    readout_e01: np.ndarray
    readout_e10: np.ndarray
    cz_floor: float
    cz_phase: np.ndarray | None = None  # (n,) each qubit's conditional-phase error share

    def pair(self, control: int, target: int) -> float:
        """The DEPOLARIZE2 strength of a CX between two qubits (layout indices)."""
        p = 1.0 - ((1.0 - self.cz_floor) * (1.0 - self.cz[control])
                   * (1.0 - self.cz[target]))
        if self.cz_phase is not None:
            x = float(gate_physics.cz_pair_error(self.cz_phase[control], self.cz_phase[target]))
            p = 1.0 - (1.0 - p) * (1.0 - x)
        return p


def idle_channel(t: float | np.ndarray, t1: np.ndarray, t2: np.ndarray,
                 detuning: np.ndarray) -> np.ndarray:
    """Pauli-twirled idling for ``t`` seconds: ``(n, 3)`` of ``(p_x, p_y, p_z)``.

    >>> idle_channel(1e-6, np.array([80e-6]), np.array([60e-6]), np.array([0.0])).round(5)
    array([[0.00311, 0.00311, 0.00516]])
    """
    pxy = (1.0 - np.exp(-t / t1)) / 4.0
    pz = np.maximum((1.0 - np.exp(-t / t2)) / 2.0 - pxy, 0.0)
    decoherence = np.stack([pxy, pxy, pz], axis=-1)
    # The detuning's frame error is a Z flip composed with the decoherence channel (exactly,
    # so the probabilities stay a channel however large the detuning).
    frame = np.sin(np.pi * detuning * t) ** 2
    zeros = np.zeros_like(frame)
    return compose(decoherence, np.stack(np.broadcast_arrays(zeros, zeros, frame), axis=-1))


def _xor(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Probability that exactly one of two independent flips happens."""
    return p + q - 2 * p * q


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Compose independent single-qubit Pauli channels ``(…, 3)`` exactly."""
    ai, bi = 1 - a.sum(-1), 1 - b.sum(-1)
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([ai * bx + ax * bi + ay * bz + az * by,
                     ai * by + ay * bi + ax * bz + az * bx,
                     ai * bz + az * bi + ax * by + ay * bx], axis=-1)


#: The complementary error function over arrays (``math.erfc`` per element: a patch has tens of
#: qubits, and importing scipy.special for it cost a third of ``qplane check``'s start-up).
_erfc = np.vectorize(math.erfc, otypes=[float])


def readout_errors(truth: TruthState, angle: np.ndarray, threshold: np.ndarray,
                   readout_duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Assignment errors ``(e01, e10)`` of the discriminator ``(angle, threshold)``."""
    rot = np.exp(-1j * angle)
    m0, m1 = np.real(truth.iq0 * rot), np.real(truth.iq1 * rot)
    s = truth.iq_sigma * math.sqrt(2.0)
    e01 = 0.5 * _erfc((threshold - m0) / s)
    e10_noise = 0.5 * _erfc((m1 - threshold) / s)
    p_decay = 1.0 - np.exp(-readout_duration / (2.0 * truth.t1))
    return e01, p_decay * (1.0 - e01) + (1.0 - p_decay) * e10_noise


def _repeat(channel: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Compose each qubit's channel with itself ``times[q]`` times (``times`` small ints)."""
    out = np.zeros_like(channel)
    acc = np.zeros_like(channel)
    for k in range(1, int(times.max(initial=0)) + 1):
        acc = compose(acc, channel)
        out = np.where((times == k)[:, None], acc, out)
    return out


def qubit_error_rates(truth: TruthState, settings: Settings, profile: DeviceProfile, *,
                      target_pulses: np.ndarray | None = None,
                      data: np.ndarray | None = None) -> QubitErrors:
    """Every qubit's channel strengths from settings versus truth (see the module docstring).

    Args:
        truth, settings, profile: the device now and its controls.
        target_pulses: π/2 pulses each qubit plays per round as a CX target (two per CX);
            :attr:`NoisyCircuitTemplate.target_pulses`. ``None``: none.
        data: boolean mask of the data qubits (:attr:`NoisyCircuitTemplate.data`).
    """
    p = profile
    detuning = truth.frequency - settings.drive_frequency
    eps = settings.pi_amplitude / truth.pi_amplitude - 1.0
    t1, t2 = truth.t1, truth.t2_star
    n = len(t1)
    target_pulses = np.zeros(n, int) if target_pulses is None else np.asarray(target_pulses)
    data = np.ones(n, bool) if data is None else np.asarray(data, bool)
    floor = np.full((n, 3), p.gate_1q_floor / 3.0)
    over = np.sin(np.pi / 4.0 * eps) ** 2
    phase = np.zeros(n)
    if settings.drag_beta is not None:
        theta = gate_physics.drag_phase(settings.drag_beta, truth.drag_beta, p.drag_phase_per_beta)
        phase = np.sin(theta / 4.0) ** 2
    pulse = compose(compose(idle_channel(p.pulse_duration, t1, t2, detuning), floor),
                    np.stack([np.zeros(n), over, phase], axis=-1))
    cz = idle_channel(p.cz_duration, t1, t2, detuning).sum(-1)
    data_t = max(p.round_duration - 4 * p.cz_duration - 2 * p.pulse_duration, 0.0)
    cx_pulses = _repeat(pulse, target_pulses)
    idle = compose(idle_channel(data_t, t1, t2, detuning), cx_pulses)
    e01, e10 = settings_readout_errors(truth, settings, p)
    measure = 0.5 * (e01 + e10)
    measure = np.where(data, measure, _xor(measure, cx_pulses[:, 0] + cx_pulses[:, 1]))
    cz_phase = None
    if settings.cz_amplitude is not None:
        cz_phase = gate_physics.cz_phase_error(settings.cz_amplitude, truth.cz_amplitude)
    return QubitErrors(idle=idle, h=pulse, cz=cz, measure=measure,
                       reset=truth.residual_excited.copy(), readout_e01=e01,
                       readout_e10=e10, cz_floor=p.cz_floor, cz_phase=cz_phase)


def settings_readout_errors(truth: TruthState, settings: Settings, profile: DeviceProfile
                            ) -> tuple[np.ndarray, np.ndarray]:
    """``(e01, e10)`` of the discriminator and, where bound, the readout tone.

    With no readout-tone control bound this is :func:`readout_errors` at the profile's
    nominal tone; an unbound one of the three is played at its ideal value.
    """
    tone = (settings.readout_frequency, settings.readout_amplitude, settings.readout_duration)
    if all(v is None for v in tone):
        return readout_errors(truth, settings.readout_angle, settings.readout_threshold,
                              profile.readout_duration)
    ideal = readout_physics.ideal_readout(truth, profile) if any(v is None for v in tone) \
        else tone
    f, a, t = (ideal[k] if v is None else v for k, v in enumerate(tone))
    return readout_physics.assignment_errors(truth, profile, settings.readout_angle,
                                             settings.readout_threshold, f, a, t)


class NoisyCircuitTemplate:
    """The noiseless memory circuit with its noise slots, rendered with per-qubit strengths.

    Args:
        distance, rounds, basis: the memory experiment.
    """

    def __init__(self, *, distance: int, rounds: int, basis: str):
        self.layout: PatchLayout = patch_layout(distance=distance, basis=basis)
        marked = stim.Circuit.generated(
            f"surface_code:rotated_memory_{basis.lower()}", distance=distance, rounds=rounds,
            after_clifford_depolarization=_CLIFFORD, before_round_data_depolarization=_IDLE,
            before_measure_flip_probability=_MEASURE, after_reset_flip_probability=_RESET)
        self._index = {q: i for i, q in enumerate(self.layout.stim_indices)}
        #: π/2 pulses each qubit plays per round as a CX target (CX = H·CZ·H on the target).
        self.target_pulses = np.zeros(len(self.layout.names), dtype=int)
        one_round = stim.Circuit.generated(f"surface_code:rotated_memory_{basis.lower()}",
                                           distance=distance, rounds=1)
        for inst in one_round.flattened():
            if inst.name == "CX":
                for t in inst.targets_copy()[1::2]:
                    self.target_pulses[self._index[t.value]] += 2
        #: Which qubits are data qubits.
        self.data = np.array([r == "data" for r in self.layout.roles])
        self._parts: list[str | tuple] = []
        self._walk(marked, "")

    def _walk(self, circuit: stim.Circuit, indent: str) -> None:
        for inst in circuit:
            if isinstance(inst, stim.CircuitRepeatBlock):
                self._parts.append(f"{indent}REPEAT {inst.repeat_count} {{")
                self._walk(inst.body_copy(), indent + "    ")
                self._parts.append(f"{indent}}}")
                continue
            args = inst.gate_args_copy()
            name = inst.name
            noisy = name in ("X_ERROR", "Z_ERROR", "DEPOLARIZE1", "DEPOLARIZE2")
            qs = [self._index[t.value] for t in inst.targets_copy()] if noisy else []
            if name in ("X_ERROR", "Z_ERROR") and args == [_RESET]:
                self._parts.append(("flip", name, "reset", qs))
            elif name in ("X_ERROR", "Z_ERROR") and args == [_MEASURE]:
                self._parts.append(("flip", name, "measure", qs))
            elif name == "DEPOLARIZE1" and args == [_IDLE]:
                self._parts.append(("pauli", "idle", qs))
            elif name == "DEPOLARIZE1" and args == [_CLIFFORD]:
                self._parts.append(("pauli", "h", qs))
            elif name == "DEPOLARIZE2" and args == [_CLIFFORD]:
                self._parts.append(("pair", list(zip(qs[::2], qs[1::2]))))
            else:
                self._parts.append(indent + str(inst))

    def render(self, errors: QubitErrors) -> stim.Circuit:
        """The memory circuit with ``errors``' per-qubit noise.

        Targets of one slot whose strengths print identically share one instruction (fewer
        instructions sample faster).
        """
        stim_q = self.layout.stim_indices
        lines: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                lines.append(part)
                continue
            groups: dict[str, list[str]] = {}
            if part[0] == "flip":
                _, gate, which, qs = part
                probs = getattr(errors, which)
                for q in qs:
                    groups.setdefault(f"{gate}({probs[q]:.6g})", []).append(str(stim_q[q]))
            elif part[0] == "pauli":
                _, which, qs = part
                ch = getattr(errors, which)
                for q in qs:
                    key = f"PAULI_CHANNEL_1({ch[q, 0]:.6g},{ch[q, 1]:.6g},{ch[q, 2]:.6g})"
                    groups.setdefault(key, []).append(str(stim_q[q]))
            else:
                for c, t in part[1]:
                    groups.setdefault(f"DEPOLARIZE2({errors.pair(c, t):.6g})", []).append(
                        f"{stim_q[c]} {stim_q[t]}")
            lines.extend(f"{gate} {' '.join(targets)}" for gate, targets in groups.items())
        return stim.Circuit("\n".join(lines))
