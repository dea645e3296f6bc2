"""The simulated QPU: a QCoDeS instrument that runs surface-code memory experiments in stim.

It behaves as the QEC side of a real processor would towards qplane: it returns one block of
detection events at a time, and takes back, through :meth:`SimulatedQPU.apply_correction`, the
decoder's predicted logical flips for that block (the Pauli-frame update). The true logical
observable flips stay inside the instrument; it scores each corrected block against them and
hands the truth out only together with that score, after the correction is in.

Two noise models (parameter ``noise_model``):

* ``"uniform"``: the circuit it runs is stim's uniform circuit-level noise of strength
  ``physical_error_rate`` (the decoder's nominal model, exactly).
* ``"device"``: a simulated device (:mod:`~qplane.sim_instruments.device`) with per-qubit truth
  that drifts on a simulated clock (:mod:`~qplane.sim_instruments.clock`); the QEC circuit's
  noise is derived per qubit from the mismatch between the control settings and the truth
  (:mod:`~qplane.sim_instruments.noise`) and rebuilt whenever either changes. The settings live
  on the control electronics, reached through a :class:`~qplane.drivers.ControlMap`
  (:meth:`SimulatedQPU.bind_controls`); the QPU keeps no copy. It also runs the calibration
  experiments of :mod:`~qplane.device.experiments` (:meth:`run_experiment`).

In both, :meth:`decoding_circuit` is the *nominal* circuit (uniform noise of strength
``physical_error_rate``): a lab does not know its device's true noise.

>>> qpu = SimulatedQPU("qpu_doctest", distance=3, rounds=3, physical_error_rate=0.001,
...                    shots_per_block=8, seed=5)
>>> block = qpu.acquire_block()
>>> block.detection_events.shape
(8, 3)
>>> result = qpu.apply_correction(block.index, np.zeros((8, 1), dtype=np.uint8))
>>> result.shots
8
>>> qpu.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import stim
from qcodes.instrument import Instrument
from qcodes.validators import Bool, Enum, Ints, Numbers

from qplane.codes import PatchLayout, circuit_fingerprint, memory_circuit, patch_layout
from qplane.device import (
    CONTROLS,
    OPTIONAL_CONTROLS,
    CorrectionResult,
    ExperimentData,
    ExperimentRequest,
    SyndromeBlock,
    count_wrong,
    take_pending,
)
from qplane.errors import ConfigError, QplaneError
from qplane.sim_instruments.clock import SimClock
from qplane.sim_instruments.device import DeviceModel, DeviceProfile, TruthState
from qplane.sim_instruments.noise import (
    NoisyCircuitTemplate,
    QubitErrors,
    Settings,
    qubit_error_rates,
)
from qplane.sim_instruments.physics import QubitSettings, simulate

if TYPE_CHECKING:
    from qplane.drivers import ControlMap

#: Blocks acquired but not yet corrected that the QPU remembers; beyond it the oldest is an error.
MAX_PENDING_BLOCKS = 100_000
#: Shots sampled at once for blocks smaller than this (served from the batch, see
#: :meth:`_Acquisition.sample`).
SAMPLE_BATCH = 256
#: The logical controls a device-model QPU reads (each fills the Settings field of its name).
_CONTROL_FIELDS = CONTROLS


class SimulatedQPU(Instrument):
    """A rotated-surface-code QPU simulated with stim.

    Args:
        name: instrument name in the station.
        distance, rounds, basis, physical_error_rate, shots_per_block, seed: initial values
            of the parameters of the same names.
        noise_model: ``"uniform"`` or ``"device"`` (see the module docstring).
        clock_speedup: simulated seconds per wall second; 0 = event-driven clock.
        drift: whether the device's truth drifts (device model only).
        profile: overrides of :class:`~qplane.sim_instruments.device.DeviceProfile` fields.
        start_calibrated: when controls are bound, set them to the perfect calibration first.
    """

    def __init__(self, name: str, *, distance: int = 3, rounds: int = 3, basis: str = "Z",
                 physical_error_rate: float = 0.001, shots_per_block: int = 1024,
                 seed: int = 0, noise_model: str = "uniform", clock_speedup: float = 0.0,
                 drift: bool = True, profile: Mapping[str, Any] | None = None,
                 start_calibrated: bool = True, **kwargs: Any):
        if not isinstance(distance, int) or distance < 3 or distance % 2 == 0:
            raise QplaneError(f"{name}: distance must be an odd integer >= 3, got {distance!r}")
        device_profile = DeviceProfile.from_dict(dict(profile or {}))
        clock = SimClock(speedup=float(clock_speedup))
        super().__init__(name, **kwargs)
        self._circuit: stim.Circuit | None = None
        self._sampler: Any = None
        self._acquisition: _Acquisition | None = None  # what acquire_block needs, see there
        self._shots = int(shots_per_block)
        self._shot_duration: float | None = None
        self._pending: dict[int, np.ndarray] = {}
        self._next_index = 0
        self._shots_done = 0
        self._failures = 0
        self._profile = device_profile
        self._clock = clock
        self._controls: ControlMap | None = None
        self._bound_controls: tuple[ControlMap | None, tuple[str, ...]] = (None, ())
        self._start_calibrated = bool(start_calibrated)
        self._device: DeviceModel | None = None
        self._template: NoisyCircuitTemplate | None = None
        self._built_key: tuple[Any, ...] | None = None
        self._errors: QubitErrors | None = None
        self._rebuilds = 0
        self._experiments = 0
        self._nominal: tuple[stim.Circuit, str] | None = None

        self.distance = self.add_parameter(
            "distance", label="Code distance", initial_value=distance,
            vals=Ints(3, 51), set_cmd=self._invalidate_device_then, get_cmd=None,
            docstring="Distance of the rotated surface code (odd).",
        )
        self.rounds = self.add_parameter(
            "rounds", label="Syndrome rounds", initial_value=rounds,
            vals=Ints(1, 1000), set_cmd=self._invalidate_circuit_then, get_cmd=None,
        )
        self.basis = self.add_parameter(
            "basis", label="Memory basis", initial_value=basis,
            vals=Enum("X", "Z"), set_cmd=self._invalidate_circuit_then, get_cmd=None,
        )
        self.physical_error_rate = self.add_parameter(
            "physical_error_rate", label="Physical error rate", initial_value=physical_error_rate,
            vals=Numbers(0.0, 0.1), set_cmd=self._invalidate_circuit_then, get_cmd=None,
            docstring="Nominal circuit-level depolarizing strength p: the decoding circuit's "
                      "noise, and the true noise of the 'uniform' model.",
        )
        self.shots_per_block = self.add_parameter(
            "shots_per_block", label="Shots per block", initial_value=shots_per_block,
            vals=Ints(1, 1_000_000), set_cmd=self._set_shots, get_cmd=None,
        )
        self.seed = self.add_parameter(
            "seed", label="Seed", initial_value=seed,
            vals=Ints(0, 2**63 - 1), set_cmd=self._invalidate_device_then, get_cmd=None,
            docstring="Fixes the sampler, and (device model) fabrication and drift.",
        )
        self.noise_model = self.add_parameter(
            "noise_model", label="Noise model", initial_value=noise_model,
            vals=Enum("uniform", "device"), set_cmd=self._invalidate_circuit_then, get_cmd=None,
        )
        self.drift = self.add_parameter(
            "drift", label="Drift", initial_value=bool(drift), vals=Bool(),
            set_cmd=self._invalidate_device_then, get_cmd=None,
        )
        self.sim_time = self.add_parameter(
            "sim_time", label="Simulated time", unit="s", get_cmd=self._clock.now, set_cmd=False,
        )
        self.shots_done = self.add_parameter(
            "shots_done", label="Shots corrected", get_cmd=lambda: self._shots_done, set_cmd=False,
        )
        self.logical_failures = self.add_parameter(
            "logical_failures", label="Logical failures", get_cmd=lambda: self._failures,
            set_cmd=False, docstring="Corrected shots whose logical observable came out wrong.",
        )

    # The parameters above store their value themselves (set_cmd only invalidates).
    def _set_shots(self, value: int) -> None:
        self._shots = value

    def _invalidate_circuit_then(self, _value: Any) -> None:
        self._acquisition = None
        self._shot_duration = None
        self._nominal = None
        self._circuit = None
        self._sampler = None
        self._template = None
        self._built_key = None

    def _invalidate_device_then(self, _value: Any) -> None:
        self._invalidate_circuit_then(_value)
        self._device = None

    # --- the device -----------------------------------------------------------------------

    @property
    def profile(self) -> DeviceProfile:
        """The device profile (typical transmon numbers) the truth is drawn from."""
        return self._profile

    @property
    def clock(self) -> SimClock:
        """The simulated clock the drift runs on."""
        return self._clock

    @property
    def layout(self) -> PatchLayout:
        """The patch's qubits (names, stim indices, coordinates, roles)."""
        return self._device_model_and_layout()[1]

    def qubits(self) -> tuple[str, ...]:
        """The physical qubits' names, ``q0`` ... (data and ancilla)."""
        return self.layout.names

    def _device_model_and_layout(self) -> tuple[DeviceModel, PatchLayout]:
        if self._device is None:
            layout = patch_layout(distance=self.distance(), basis="Z")
            self._device = DeviceModel(len(layout.names), profile=self._profile,
                                       seed=self.seed(), drift=self.drift())
            self._layout = layout
        return self._device, self._layout

    def truth(self) -> TruthState:
        """The device's true state now (the lab cannot see this; tests and reports can)."""
        return self._device_model_and_layout()[0].truth_at(self._clock.now())

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass (the device drifts meanwhile)."""
        self._clock.advance(seconds)

    def bind_controls(self, controls: ControlMap) -> None:
        """Read the control settings from ``controls`` from now on.

        With ``start_calibrated`` (the default) the controls are first set to a perfect
        calibration of the current truth, as if a calibration had just run.

        Raises:
            ConfigError: a needed control is not bound for one of the QPU's qubits.
            LimitError: ``start_calibrated`` needs a value outside a control's limits.
        """
        names = self.qubits()
        for control in _CONTROL_FIELDS:
            for q in names:
                controls.binding(control, q)
        for control in set(OPTIONAL_CONTROLS) & set(controls.controls):
            for q in names:
                controls.binding(control, q)
        self._controls = controls
        self._acquisition = None  # the next block reads the new controls
        if self._start_calibrated:
            self.calibrate_perfectly()

    @property
    def controls(self) -> ControlMap:
        """The bound :class:`~qplane.drivers.ControlMap`."""
        if self._controls is None:
            raise ConfigError(
                f"{self.name}: the device noise model reads its settings from the control "
                "electronics, but no controls are bound; declare qplane.controls in the config "
                "and open it with qplane.drivers.open_station (or call bind_controls)",
                key="qplane.controls")
        return self._controls

    def _bound(self) -> tuple[str, ...]:
        """The controls the QPU reads: the required ones and the optional ones bound.

        Worked out once per bound :class:`~qplane.drivers.ControlMap` (its bindings are fixed
        when it is built).
        """
        controls = self.controls
        owner, bound = self._bound_controls
        if owner is not controls:
            have = controls.controls
            bound = _CONTROL_FIELDS + tuple(c for c in OPTIONAL_CONTROLS if c in have)
            self._bound_controls = (controls, bound)
        return bound

    def _settings(self, controls: tuple[str, ...]) -> Settings:
        values = self.controls.read(controls, self.qubits())
        return Settings(**dict(zip(controls, values)))

    def calibrate_perfectly(self) -> None:
        """Set every bound control to the ideal value for the current truth (tests, demos)."""
        bound = self._bound()
        ideal = Settings.calibrated(self.truth(), self._profile if len(bound) > 4 else None)
        for control in bound:
            values = getattr(ideal, control)
            for i, q in enumerate(self.qubits()):
                param, raw = self.controls.check(control, q, float(values[i]), step=False)
                param.set(raw)

    def true_settings(self) -> dict[str, float]:
        """Each setting's ideal value for the current truth, ``{"<qubit>.<control>": value}``.

        Control by control, then qubit by qubit (see
        :class:`~qplane.device.SimulatedTruth`); needs no bound controls.
        """
        controls = self._bound() if self._controls is not None else _CONTROL_FIELDS
        ideal = Settings.calibrated(self.truth(), self._profile if len(controls) > 4 else None)
        return {f"{q}.{control}": float(getattr(ideal, control)[i])
                for control in controls for i, q in enumerate(self.qubits())}

    def settings(self) -> Settings:
        """The control settings as the electronics hold them now."""
        return self._settings(self._bound())

    def error_rates(self) -> QubitErrors:
        """The per-qubit channel strengths of the circuit the device runs now."""
        self.circuit()
        if self._errors is None:
            raise ConfigError(f"{self.name}: error_rates needs noise_model 'device'",
                              key="noise_model")
        return self._errors

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData:
        """Run one calibration experiment with the current settings; advance the clock.

        Raises:
            ConfigError: unknown qubit.
            LimitError: a spectroscopy sweep the drive electronics cannot reach.
        """
        if not isinstance(request, ExperimentRequest):
            raise ConfigError(f"run_experiment takes an ExperimentRequest, got "
                              f"{type(request).__name__}", key="request")
        i = self.layout.index(request.qubit)
        c = self.controls
        if request.kind.value == "qubit_spectroscopy":
            for f in (float(request.sweep.min()), float(request.sweep.max())):
                c.check("drive_frequency", request.qubit, f, step=False)
        s = QubitSettings(**{f: c.get(f, request.qubit) for f in self._bound()})
        start = self._clock.now()
        rng = np.random.default_rng([self.seed(), 3, self._experiments])
        self._experiments += 1
        data = simulate(request, self.truth(), i, s, self._profile, rng, time=start)
        self._clock.spend(data.duration)
        return data

    # --- the QEC experiment -----------------------------------------------------------------

    def circuit(self) -> stim.Circuit:
        """The memory circuit the QPU runs now (its true noise included)."""
        if self.noise_model.cache.get() == "uniform":
            self._errors = None
            if self._circuit is None:
                self._circuit = self.decoding_circuit()
                self._sampler = None
            return self._circuit
        truth = self.truth()
        names = self.qubits()
        bound = self._bound()
        key = (truth.step, self.controls.read_key(bound, names))
        if self._circuit is None or self._built_key != key:
            settings = self._settings(bound)
            if self._template is None:
                self._template = NoisyCircuitTemplate(
                    distance=self.distance(), rounds=self.rounds(), basis=self.basis())
            self._errors = qubit_error_rates(truth, settings, self._profile,
                                             target_pulses=self._template.target_pulses,
                                             data=self._template.data)
            self._circuit = self._template.render(self._errors)
            self._built_key = key
            self._sampler = None
        return self._circuit

    def decoding_circuit(self) -> stim.Circuit:
        """The circuit a decoder should build its detector error model from: the nominal one.

        Uniform circuit-level noise of strength ``physical_error_rate``; in the device model
        the true per-qubit noise differs from it, as a real device's does from its model.
        """
        return self._nominal_circuit()[0].copy()

    def _nominal_circuit(self) -> tuple[stim.Circuit, str]:
        if self._nominal is None:
            circuit = memory_circuit(distance=self.distance(), rounds=self.rounds(),
                                     basis=self.basis(), p=self.physical_error_rate())
            self._nominal = (circuit, circuit_fingerprint(circuit))
        return self._nominal

    def circuit_id(self) -> str:
        """A short fingerprint of :meth:`decoding_circuit`; changes whenever the circuit does."""
        return self._nominal_circuit()[1]

    def shot_duration(self) -> float:
        """Simulated time one memory-experiment shot takes, s."""
        if self._shot_duration is None:  # rounds changes through _invalidate_circuit_then
            self._shot_duration = (self.rounds.cache.get() + 1) * self._profile.round_duration
        return self._shot_duration

    def acquire_block(self) -> SyndromeBlock:
        """Run ``shots_per_block`` shots and return their detection events, keeping the truth.

        What does not change from block to block (the compiled sampler, the circuit's sizes
        and fingerprint, the shot duration, the controls and qubits to watch) is kept in an
        :class:`_Acquisition`; a block only checks that it is still current: in the device
        model, the drift step and :meth:`~qplane.drivers.ControlMap.read_key` of the bound
        controls (a changed setting or a new drift step rebuilds the circuit before this
        block is sampled); a parameter set or :meth:`bind_controls` drops it.
        """
        acq = self._acquisition
        if acq is None or (acq.device is not None and acq.key != (
                acq.device.step_index(self._clock.now()),
                acq.controls.read_key(acq.bound, acq.names))):
            acq = self._prepare_acquisition()
        if len(self._pending) >= MAX_PENDING_BLOCKS:
            raise QplaneError(
                f"{self.name}: {len(self._pending)} blocks acquired and never corrected; "
                "is the decoding worker running?"
            )
        shots = self._shots
        dets, obs = acq.sample(shots)
        self._clock.spend(shots * acq.shot_duration)
        index = self._next_index
        self._next_index = index + 1
        self._pending[index] = obs
        return SyndromeBlock(
            index=index,
            circuit_id=acq.circuit_id,
            detection_events=dets,
            num_detectors=acq.num_detectors,
            num_observables=acq.num_observables,
        )

    def acquire_blocks(self, n: int) -> list[SyndromeBlock]:
        """Up to ``n`` blocks of :meth:`acquire_block`, in one call. Each block still checks
        that the circuit is current (a new drift step starts the next block from a rebuilt
        circuit, as one by one); the batch ends early only where too many blocks are pending.

        Raises:
            QplaneError: too many blocks were acquired and never corrected (before the first).
        """
        blocks = [self.acquire_block()]
        pending, clock, shots = self._pending, self._clock, self._shots
        index = self._next_index
        room = MAX_PENDING_BLOCKS - len(pending)
        acq = self._acquisition
        while len(blocks) < n and room > 0:
            if acq.device is not None and acq.key != (
                    acq.device.step_index(clock.now()),
                    acq.controls.read_key(acq.bound, acq.names)):
                acq = self._prepare_acquisition()
            dets, obs = acq.sample(shots)
            clock.spend(shots * acq.shot_duration)
            pending[index] = obs
            blocks.append(SyndromeBlock(index, acq.circuit_id, dets, acq.num_detectors,
                                        acq.num_observables))
            index, room = index + 1, room - 1
        self._next_index = index
        return blocks

    def apply_corrections(self, batch: list[tuple[int, np.ndarray]]) -> list[CorrectionResult]:
        """:meth:`apply_correction` of each ``(index, predicted_flips)`` (numpy arrays), in
        one call, all or none: a refused one (see there) raises before any is applied
        (:func:`qplane.device.apply_corrections` then applies them one by one).

        Raises:
            QplaneError: an unknown block, or predictions of the wrong shape or dtype.
        """
        truths = take_pending(self.name, self._pending, batch, lambda truth: truth.shape)
        out = []
        failed = shots = 0
        for (index, flips), truth in zip(batch, truths):
            failures = count_wrong(flips, truth)
            failed += failures
            shots += len(truth)
            out.append(CorrectionResult(index=index, shots=len(truth), failures=failures,
                                        truth=truth))
        self._shots_done += shots
        self._failures += failed
        return out

    def _prepare_acquisition(self) -> _Acquisition:
        """The current circuit (rebuilt if stale, see :meth:`circuit`) and its sampler,
        compiled anew whenever the circuit was rebuilt."""
        circuit = self.circuit()
        if self._sampler is None:
            seed = self.seed()
            if self.noise_model.cache.get() == "device":
                seed = int(np.random.SeedSequence([seed, 4, self._rebuilds]).generate_state(1)[0])
                self._rebuilds += 1
            self._sampler = circuit.compile_detector_sampler(seed=seed)
        acq = _Acquisition(self._sampler, num_detectors=circuit.num_detectors,
                           num_observables=circuit.num_observables,
                           circuit_id=self.circuit_id(), shot_duration=self.shot_duration())
        if self._errors is not None:  # device model: what a block checks is still current
            acq.device = self._device_model_and_layout()[0]
            acq.controls, acq.bound, acq.names = self.controls, self._bound(), self.qubits()
            acq.key = self._built_key
        self._acquisition = acq
        return acq

    def apply_correction(self, index: int, predicted_flips: np.ndarray) -> CorrectionResult:
        """Apply the decoder's predicted observable flips to block ``index``'s logical frame.

        Args:
            index: the block index :meth:`acquire_block` returned.
            predicted_flips: uint8 bit-packed predictions, shape (shots, ceil(num_observables/8)).

        Returns:
            The block's score: how many corrected shots are logically wrong, and the truth.
        """
        try:
            truth = self._pending[index]
        except KeyError:
            raise QplaneError(
                f"{self.name}: no pending block {index} (never acquired, or already corrected)"
            ) from None
        predicted_flips = np.asarray(predicted_flips)
        if predicted_flips.dtype != np.uint8 or predicted_flips.shape != truth.shape:
            raise QplaneError(
                f"{self.name}: correction for block {index} must be uint8 of shape {truth.shape}, "
                f"got {predicted_flips.dtype} {predicted_flips.shape}"
            )
        del self._pending[index]
        failures = count_wrong(predicted_flips, truth)
        self._shots_done += len(truth)
        self._failures += failures
        return CorrectionResult(index=index, shots=len(truth), failures=failures, truth=truth)

    def get_idn(self) -> dict[str, str | None]:
        return {"vendor": "qplane", "model": "SimulatedQPU", "serial": None, "firmware": None}


class _Acquisition:
    """One compiled sampler of the QPU's current circuit and what a block needs besides it.

    Built by :meth:`SimulatedQPU._prepare_acquisition` when the circuit changes and kept
    between blocks; in the device model it also holds what a block compares to find it stale
    (``key``: the drift step and the bound controls' read key when it was built).
    """

    __slots__ = ("sampler", "num_detectors", "num_observables", "circuit_id", "shot_duration",
                 "device", "controls", "bound", "names", "key", "_dets", "_obs", "_row")

    def __init__(self, sampler: Any, *, num_detectors: int, num_observables: int,
                 circuit_id: str, shot_duration: float):
        self.sampler = sampler
        self.num_detectors = num_detectors
        self.num_observables = num_observables
        self.circuit_id = circuit_id
        self.shot_duration = shot_duration
        self.device: DeviceModel | None = None  # None: nothing to watch (uniform model)
        self.controls: Any = None
        self.bound: tuple[str, ...] = ()
        self.names: tuple[str, ...] = ()
        self.key: tuple[Any, ...] | None = None
        self._dets: np.ndarray | None = None
        self._obs: np.ndarray | None = None
        self._row = SAMPLE_BATCH

    def sample(self, shots: int) -> tuple[np.ndarray, np.ndarray]:
        """``shots`` fresh shots: bit-packed detection events and the truth.

        stim samples in SIMD batches, so one shot costs nearly what :data:`SAMPLE_BATCH` do;
        smaller blocks are served, as views, from a batch sampled at once. Shots are
        independent and the batch belongs to this sampler (a rebuilt circuit gets a new
        :class:`_Acquisition`, and the batch is dropped), so the blocks' distribution is that
        of sampling each block on its own.
        """
        if shots >= SAMPLE_BATCH:
            return self.sampler.sample(shots, separate_observables=True, bit_packed=True)
        start = self._row
        if start + shots > SAMPLE_BATCH:
            self._dets, self._obs = self.sampler.sample(SAMPLE_BATCH, separate_observables=True,
                                                        bit_packed=True)
            start = 0
        self._row = start + shots
        return self._dets[start:start + shots], self._obs[start:start + shots]
