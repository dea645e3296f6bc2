"""Calibration experiments: what can be asked of a device, and the raw data it returns.

This module is the contract between the device (the simulated QPU, or an instrument server in
front of real hardware) and the calibration code that fits its data. It holds no physics: a
request is an :class:`ExperimentRequest`, validated when it is built; a device runs it with
``device.run_experiment(request) -> ExperimentData`` (see :class:`ExperimentRunner`); the data
is one frozen :class:`ExperimentData` per experiment, per qubit.

The experiments (:class:`ExperimentKind`)
-----------------------------------------
Every experiment starts from the ground state (imperfect: a residual excited population
``p_th`` of about 1 %), plays its pulses with the control settings the electronics currently
hold (drive frequency ``f_d``, π amplitude ``a_set``, pulse length ``t_p``), and reads the qubit
out with the discriminator currently set (rotation angle ``θ``, threshold ``v_t``). Sweeps change
one thing inside the sequence (the drive frequency, an amplitude, a delay) without touching the
settings. Each point is ``shots`` single shots; ``signal`` is the fraction of them that the
discriminator assigned to ``|1⟩``. So every point carries binomial projection noise, and every
curve is the ideal excited population ``P1`` seen through readout errors:

    signal ≈ e01 + (1 − e01 − e10) · P1,

with ``e01 = P(assign 1 | |0⟩)``, ``e10 = P(assign 0 | |1⟩)`` (including decay during readout)
and ``P1`` itself starting from ``p_th`` rather than 0. Fits should therefore always leave an
offset and a contrast free. With ``Δ = 2π (f_q − f_d)`` the true qubit frequency's offset from
the drive, the ideal ``P1`` follows (pulse-time decoherence neglected, which is < 0.1 %):

``qubit_spectroscopy`` (sweep: drive frequency ``f``, Hz)
    A long saturating drive of Rabi frequency ``Ω = 2π·f_R`` (``settings["spectroscopy_rabi_frequency"]``
    gives ``f_R`` in Hz) reaches the Bloch steady state, a Lorentzian centred on ``f_q``:
    ``P1(f) = ½ · Ω²T1T2* / (1 + (2π(f − f_q))² T2*² + Ω²T1T2*)``, half width at half maximum
    ``sqrt(1 + Ω²T1T2*) / (2π T2*)``.
``rabi_amplitude`` (sweep: pulse amplitude ``a``, V)
    One square pulse of length ``t_p`` at ``f_d``; ``Ω = π a / (a_π t_p)`` where ``a_π`` is the
    true π amplitude: ``P1(a) = Ω²/(Ω²+Δ²) · sin²(sqrt(Ω²+Δ²) t_p / 2)``; on resonance
    ``P1 = (1 − cos(π a / a_π)) / 2``, a cosine of period ``2 a_π`` in amplitude.
``ramsey`` (sweep: free-evolution delay ``τ``, s; needs ``artificial_detuning`` ``δ``, Hz)
    π/2 – τ – π/2, the second pulse's phase advanced by ``2π δ τ``:
    ``P1(τ) = ½ + ½ · e^(−τ/T2*) · cos(2π (f_q − f_d + δ) τ)``. The fringe frequency is
    ``|f_q − f_d + δ|``; with ``|f_q − f_d| < |δ|`` the qubit sits at ``f_d + f_fringe·sign(δ) − δ``.
``t1`` (sweep: delay ``τ`` after a π pulse, s)
    ``P1(τ) = P1(0) · e^(−τ/T1)``, ``P1(0)`` the π pulse's (possibly imperfect) excitation.
``hahn_echo`` (sweep: total free-evolution time ``τ``, s)
    π/2 – τ/2 – π – τ/2 – π/2 (all pulses in phase), the static detuning refocused:
    ``P1(τ) = ½ − ½ · e^(−τ/T2E)``.
``readout_iq`` (sweep: the prepared state, fixed ``[0, 1]``)
    ``shots`` integrated single shots after preparing ``|0⟩`` (nothing played) and ``|1⟩`` (a π
    pulse with the current settings), returned as complex ``iq0`` and ``iq1``. Each shot is
    ``c_s + σ (n_I + i n_Q)`` with ``n`` standard normal, ``c_0``, ``c_1`` the true blob centres
    and ``s`` the state at readout (a qubit decaying during readout lands on ``c_0``). ``signal``
    holds the fraction assigned 1 for each prepared state (``e01`` and ``1 − e10``). A shot is
    assigned 1 when ``Re(iq · e^(−iθ)) > v_t``.

The nodes a QEC lab needs next (readout optimisation, DRAG, benchmarking, the CZ gate) use the
optional controls of :data:`~qplane.device.controls.OPTIONAL_CONTROLS` (readout frequency
``f_ro``, amplitude ``A_ro`` and duration ``t_ro``, DRAG coefficient ``β``, CZ flux amplitude
``a_cz``):

``resonator_spectroscopy`` (sweep: readout frequency ``f``, Hz)
    The readout resonator's transmission with the qubit in ``|0⟩``, a notch of depth ``d`` and
    linewidth ``κ`` at ``f_r``: ``signal = |1 − d (κ/2) / (κ/2 + i (f − f_r))|`` in [0, 1]
    (averaged over ``shots``, Gaussian noise); with the qubit in ``|1⟩`` the notch sits at
    ``f_r − 2χ``, so the two states are told apart best near ``f_r − χ``.
``readout_fidelity_frequency``, ``…_amplitude``, ``…_duration`` (sweep: ``f_ro`` Hz, ``A_ro``
V, ``t_ro`` s; the other two at their settings)
    The assignment fidelity ``F = 1 − (e01 + e10)/2`` of ``shots`` single shots per prepared
    state, with the best threshold for that point. The blobs separate by
    ``|c1 − c0| ∝ A_ro · sqrt(t_ro) · |S_0(f) − S_1(f)|``; a strong tone causes
    measurement-induced transitions (``∝ A_ro⁴``), a long one lets ``|1⟩`` decay
    (``1 − e^(−t_ro/2T1)``), so ``F`` peaks in all three.
``drag`` (sweep: DRAG coefficient ``β``, dimensionless)
    ``N`` pairs of π pulses of opposite sign (``settings["drag_pairs"]``); a DRAG mismatch
    leaves a phase error ``θ = k (β − β*)`` per pulse, which the pairs accumulate:
    ``P1 = sin²(N θ)`` (plus the readout's errors), a minimum at the ideal ``β*``.
``randomized_benchmarking`` (sweep: sequence length ``m`` in Cliffords, integers)
    random single-qubit Clifford sequences ending in the Clifford that maps the state to
    ``|1⟩``; the error per Clifford ``r`` (amplitude, detuning, DRAG, decoherence and the
    floor) makes ``P1(m) = ½ + (½ − p_th) (1 − 2r)^m``.
``cz_conditional_phase`` (sweep: the qubit's CZ flux amplitude ``a``, V)
    the qubit's share of a CZ's conditional phase, ``φ(a) = π/2 (1 + (a/a*)²)`` (π at the
    ideal ``a*``), read on a partner by ``Y/2 – CZ – Y/2`` with the qubit in ``|1⟩``:
    ``P1 = (1 + cos φ)/2``, a minimum at ``a*``.

Requests are validated here, independent of the device: sweeps are one-dimensional, finite,
between :data:`MIN_POINTS` and :data:`MAX_POINTS` points, within :data:`SWEEP_LIMITS` for their
kind; ``shots`` per point lies in ``[1, MAX_SHOTS]`` and ``shots × points`` is at most
:data:`MAX_TOTAL_SHOTS`. A device may refuse more (for example a drive frequency its electronics
cannot reach) with :class:`~qplane.errors.LimitError`.

>>> req = ExperimentRequest(ExperimentKind.T1, "q0", np.linspace(0, 200e-6, 21), shots=500)
>>> req.kind.value, req.sweep.shape, SWEEP_UNITS[req.kind]
('t1', (21,), 's')
>>> ExperimentRequest("rabi_amplitude", "q0", [0.0, 2.5], shots=100)
Traceback (most recent call last):
...
qplane.errors.ConfigError: 'sweep': rabi_amplitude sweep values must lie in [-1.0, 1.0] V; got 2.5. Choose a sweep inside the range.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qplane.errors import ConfigError

#: Version of the :class:`ExperimentData` record layout.
EXPERIMENT_DATA_VERSION = 1


class ExperimentKind(str, enum.Enum):
    """The calibration experiments a device can run (values are their wire names)."""

    QUBIT_SPECTROSCOPY = "qubit_spectroscopy"
    RABI_AMPLITUDE = "rabi_amplitude"
    RAMSEY = "ramsey"
    T1 = "t1"
    HAHN_ECHO = "hahn_echo"
    READOUT_IQ = "readout_iq"
    RESONATOR_SPECTROSCOPY = "resonator_spectroscopy"
    READOUT_FIDELITY_FREQUENCY = "readout_fidelity_frequency"
    READOUT_FIDELITY_AMPLITUDE = "readout_fidelity_amplitude"
    READOUT_FIDELITY_DURATION = "readout_fidelity_duration"
    DRAG = "drag"
    RANDOMIZED_BENCHMARKING = "randomized_benchmarking"
    CZ_CONDITIONAL_PHASE = "cz_conditional_phase"


#: The six single-qubit experiments of the standard nodes (the second opinion's training set).
SINGLE_QUBIT_KINDS = (ExperimentKind.QUBIT_SPECTROSCOPY, ExperimentKind.RABI_AMPLITUDE,
                      ExperimentKind.RAMSEY, ExperimentKind.T1, ExperimentKind.HAHN_ECHO,
                      ExperimentKind.READOUT_IQ)

#: The unit of each kind's sweep values.
SWEEP_UNITS: Mapping[ExperimentKind, str] = MappingProxyType({
    ExperimentKind.QUBIT_SPECTROSCOPY: "Hz",
    ExperimentKind.RABI_AMPLITUDE: "V",
    ExperimentKind.RAMSEY: "s",
    ExperimentKind.T1: "s",
    ExperimentKind.HAHN_ECHO: "s",
    ExperimentKind.READOUT_IQ: "state",
    ExperimentKind.RESONATOR_SPECTROSCOPY: "Hz",
    ExperimentKind.READOUT_FIDELITY_FREQUENCY: "Hz",
    ExperimentKind.READOUT_FIDELITY_AMPLITUDE: "V",
    ExperimentKind.READOUT_FIDELITY_DURATION: "s",
    ExperimentKind.DRAG: "",
    ExperimentKind.RANDOMIZED_BENCHMARKING: "",
    ExperimentKind.CZ_CONDITIONAL_PHASE: "V",
})

#: Inclusive range of each kind's sweep values, in :data:`SWEEP_UNITS`.
SWEEP_LIMITS: Mapping[ExperimentKind, tuple[float, float]] = MappingProxyType({
    ExperimentKind.QUBIT_SPECTROSCOPY: (1.0e9, 20.0e9),
    ExperimentKind.RABI_AMPLITUDE: (-1.0, 1.0),
    ExperimentKind.RAMSEY: (0.0, 2.0e-3),
    ExperimentKind.T1: (0.0, 2.0e-3),
    ExperimentKind.HAHN_ECHO: (0.0, 2.0e-3),
    ExperimentKind.READOUT_IQ: (0.0, 1.0),
    ExperimentKind.RESONATOR_SPECTROSCOPY: (2.0e9, 12.0e9),
    ExperimentKind.READOUT_FIDELITY_FREQUENCY: (2.0e9, 12.0e9),
    ExperimentKind.READOUT_FIDELITY_AMPLITUDE: (0.0, 1.0),
    ExperimentKind.READOUT_FIDELITY_DURATION: (16e-9, 10e-6),
    ExperimentKind.DRAG: (-5.0, 5.0),
    ExperimentKind.RANDOMIZED_BENCHMARKING: (0.0, 100_000.0),
    ExperimentKind.CZ_CONDITIONAL_PHASE: (0.0, 1.0),
})

MIN_POINTS = 2
MAX_POINTS = 2001
MAX_SHOTS = 100_000
MAX_TOTAL_SHOTS = 10_000_000
#: Largest ``|artificial_detuning|`` a Ramsey request may ask for, Hz.
MAX_ARTIFICIAL_DETUNING = 20.0e6

@dataclasses.dataclass(frozen=True)
class ExperimentRequest:
    """One calibration experiment to run on one qubit; validated when built.

    Args:
        kind: an :class:`ExperimentKind` or its value.
        qubit: the qubit's name as the device lists it (``device.qubits()``).
        sweep: the swept values in ``SWEEP_UNITS[kind]``; ignored for ``readout_iq`` (always
            ``[0, 1]``, the prepared states), so pass ``None`` there.
        shots: single shots per sweep point.
        artificial_detuning: Ramsey only, Hz; must be 0 for the other kinds.

    Raises:
        ConfigError: naming the field and the allowed range.
    """

    kind: ExperimentKind
    qubit: str
    sweep: np.ndarray
    shots: int = 1000
    artificial_detuning: float = 0.0

    def __post_init__(self) -> None:
        try:
            kind = ExperimentKind(self.kind)
        except ValueError:
            raise ConfigError(
                f"unknown experiment kind {self.kind!r}; allowed: "
                f"{[k.value for k in ExperimentKind]}", key="kind") from None
        object.__setattr__(self, "kind", kind)
        if not isinstance(self.qubit, str) or not self.qubit:
            raise ConfigError(f"qubit must be a non-empty name, got {self.qubit!r}", key="qubit")
        sweep = validate_sweep(kind, self.sweep)
        object.__setattr__(self, "sweep", sweep)
        if isinstance(self.shots, bool) or not isinstance(self.shots, (int, np.integer)) \
                or not 1 <= self.shots <= MAX_SHOTS:
            raise ConfigError(f"shots must be an integer in [1, {MAX_SHOTS}], got {self.shots!r}",
                              key="shots")
        object.__setattr__(self, "shots", int(self.shots))
        if self.shots * len(sweep) > MAX_TOTAL_SHOTS:
            raise ConfigError(
                f"shots x points = {self.shots} x {len(sweep)} exceeds {MAX_TOTAL_SHOTS}; "
                "use fewer shots or points", key="shots")
        detuning = float(self.artificial_detuning)
        if kind is ExperimentKind.RAMSEY:
            if not math.isfinite(detuning) or abs(detuning) > MAX_ARTIFICIAL_DETUNING:
                raise ConfigError(
                    f"artificial_detuning must lie in [-{MAX_ARTIFICIAL_DETUNING:g}, "
                    f"{MAX_ARTIFICIAL_DETUNING:g}] Hz, got {detuning!r}",
                    key="artificial_detuning")
        elif detuning != 0.0:
            raise ConfigError(
                f"artificial_detuning applies to ramsey only; {kind.value} needs 0, "
                f"got {detuning!r}", key="artificial_detuning")
        object.__setattr__(self, "artificial_detuning", detuning)

    def metadata(self) -> dict[str, Any]:
        """The request as a JSON-able dict (sweep as a list)."""
        return {"kind": self.kind.value, "qubit": self.qubit, "sweep": self.sweep.tolist(),
                "shots": self.shots, "artificial_detuning": self.artificial_detuning}


def validate_sweep(kind: ExperimentKind | str, sweep: Sequence[float] | np.ndarray | None
                   ) -> np.ndarray:
    """Return ``sweep`` as a read-only float64 vector, or raise :class:`ConfigError`.

    >>> validate_sweep("ramsey", [0.0, 1e-6, 2e-6]).dtype
    dtype('float64')
    >>> validate_sweep("readout_iq", None).tolist()
    [0.0, 1.0]
    """
    kind = ExperimentKind(kind)
    if kind is ExperimentKind.READOUT_IQ:
        out = np.array([0.0, 1.0])
        out.flags.writeable = False
        return out
    if sweep is None:
        raise ConfigError(f"{kind.value} needs sweep values", key="sweep")
    try:
        out = np.array(sweep, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"sweep must be a list of numbers: {e}", key="sweep") from e
    if out.ndim != 1 or not MIN_POINTS <= out.size <= MAX_POINTS:
        raise ConfigError(
            f"sweep must be one-dimensional with {MIN_POINTS}..{MAX_POINTS} points, got shape "
            f"{out.shape}", key="sweep")
    if not np.all(np.isfinite(out)):
        raise ConfigError("sweep values must be finite", key="sweep")
    if kind is ExperimentKind.RANDOMIZED_BENCHMARKING and not np.all(out == np.round(out)):
        raise ConfigError("randomized_benchmarking sweep values are sequence lengths (whole "
                          "numbers of Cliffords); round them", key="sweep")
    lo, hi = SWEEP_LIMITS[kind]
    bad = out[(out < lo) | (out > hi)]
    if bad.size:
        raise ConfigError(
            f"{kind.value} sweep values must lie in [{lo}, {hi}] {SWEEP_UNITS[kind]}; got "
            f"{bad[0]:g}. Choose a sweep inside the range.", key="sweep")
    out.flags.writeable = False
    return out


@dataclasses.dataclass(frozen=True)
class ExperimentData:
    """The raw data of one calibration experiment on one qubit.

    Attributes:
        kind: which experiment.
        qubit: the qubit's name.
        sweep: float64 ``(points,)``, the swept values.
        sweep_unit: unit of ``sweep`` (``SWEEP_UNITS[kind]``).
        signal: float64 ``(points,)`` in [0, 1], the fraction of shots assigned ``|1⟩``.
        shots: single shots per point.
        settings: the control settings the experiment ran with (floats, SI units): at least
            ``drive_frequency`` (Hz), ``pi_amplitude`` (V), ``pulse_duration`` (s),
            ``readout_angle`` (rad), ``readout_threshold`` (V); ``artificial_detuning`` (Hz)
            for Ramsey, ``spectroscopy_rabi_frequency`` (Hz) for spectroscopy.
        time: simulated-clock time (s) at which the acquisition started.
        duration: simulated time (s) the acquisition took.
        iq0, iq1: complex128 ``(shots,)`` single shots after preparing ``|0⟩`` and ``|1⟩``
            (``readout_iq`` only, else ``None``).
        version: :data:`EXPERIMENT_DATA_VERSION`.
    """

    kind: ExperimentKind
    qubit: str
    sweep: np.ndarray
    sweep_unit: str
    signal: np.ndarray
    shots: int
    settings: Mapping[str, float]
    time: float
    duration: float = 0.0
    iq0: np.ndarray | None = None
    iq1: np.ndarray | None = None
    version: int = EXPERIMENT_DATA_VERSION

    def __post_init__(self) -> None:
        kind = ExperimentKind(self.kind)
        object.__setattr__(self, "kind", kind)
        sweep = np.asarray(self.sweep, dtype=np.float64)
        signal = np.asarray(self.signal, dtype=np.float64)
        if sweep.ndim != 1 or signal.shape != sweep.shape:
            raise ValueError(f"sweep and signal must be equal-length vectors, got "
                             f"{sweep.shape} and {signal.shape}")
        if np.any((signal < 0) | (signal > 1)):
            raise ValueError("signal values are fractions of shots and must lie in [0, 1]")
        if self.sweep_unit != SWEEP_UNITS[kind]:
            raise ValueError(f"{kind.value} sweeps are in {SWEEP_UNITS[kind]!r}, "
                             f"got {self.sweep_unit!r}")
        if kind is ExperimentKind.READOUT_IQ:
            for name in ("iq0", "iq1"):
                iq = getattr(self, name)
                if iq is None or np.shape(iq) != (self.shots,):
                    raise ValueError(f"readout_iq needs {name} of shape ({self.shots},)")
                iq = np.asarray(iq, dtype=np.complex128)
                iq.flags.writeable = False
                object.__setattr__(self, name, iq)
        elif self.iq0 is not None or self.iq1 is not None:
            raise ValueError("iq0/iq1 belong to readout_iq data only")
        for arr in (sweep, signal):
            arr.flags.writeable = False
        object.__setattr__(self, "sweep", sweep)
        object.__setattr__(self, "signal", signal)
        object.__setattr__(self, "settings", MappingProxyType(
            {str(k): float(v) for k, v in dict(self.settings).items()}))

    def metadata(self) -> dict[str, Any]:
        """Everything but the arrays, as a JSON-able dict."""
        return {"kind": self.kind.value, "qubit": self.qubit, "sweep_unit": self.sweep_unit,
                "shots": self.shots, "settings": dict(self.settings), "time": self.time,
                "duration": self.duration, "version": self.version}

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name (``sweep``, ``signal``, and ``iq0``/``iq1`` when present)."""
        out = {"sweep": self.sweep, "signal": self.signal}
        if self.iq0 is not None:
            out["iq0"] = self.iq0
            out["iq1"] = self.iq1
        return out


@runtime_checkable
class ExperimentRunner(Protocol):
    """What calibration needs from a device (``qplane.sim_instruments.SimulatedQPU`` is one).

    ``qubits()`` lists the qubit names; ``run_experiment(request)`` runs one validated request
    with the settings the control electronics hold now and returns its data, raising
    :class:`~qplane.errors.LimitError` when the device cannot play it (for example a drive
    frequency outside its electronics' reach) and :class:`~qplane.errors.ConfigError` for an
    unknown qubit. Settings are read and changed through the logical controls of
    :data:`~qplane.device.controls.CONTROLS` (``qplane.drivers.ControlMap.get/set``), never on the
    device itself.
    """

    def qubits(self) -> tuple[str, ...]: ...

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData: ...
