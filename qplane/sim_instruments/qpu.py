"""The simulated QPU: a QCoDeS instrument that runs surface-code memory experiments in stim.

It behaves as the QEC side of a real processor would towards qplane: it returns one block of
detection events at a time, and takes back, through :meth:`SimulatedQPU.apply_correction`, the
decoder's predicted logical flips for that block (the Pauli-frame update). The true logical
observable flips stay inside the instrument; it scores each corrected block against them and
hands the truth out only together with that score, after the correction is in.

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

import dataclasses
import hashlib
from typing import Any

import numpy as np
import stim
from qcodes.instrument import Instrument
from qcodes.validators import Enum, Ints, Numbers

from qplane.errors import QplaneError
from qplane.sim_instruments.surface_code import memory_circuit

#: Blocks acquired but not yet corrected that the QPU remembers; beyond it the oldest is an error.
MAX_PENDING_BLOCKS = 100_000


@dataclasses.dataclass(frozen=True)
class SyndromeBlock:
    """One block of detection events, as the QPU hands it out."""

    index: int
    circuit_id: str
    detection_events: np.ndarray  # uint8 (shots, ceil(num_detectors/8)), stim b8 layout
    num_detectors: int
    num_observables: int


@dataclasses.dataclass(frozen=True)
class CorrectionResult:
    """What applying a block's correction did: the score against the hidden truth."""

    index: int
    shots: int
    failures: int  # shots whose corrected logical observable is wrong
    truth: np.ndarray  # uint8 (shots, ceil(num_observables/8)), revealed after correction


class SimulatedQPU(Instrument):
    """A rotated-surface-code QPU simulated with stim, with uniform circuit-level noise.

    Args:
        name: instrument name in the station.
        distance, rounds, basis, physical_error_rate, shots_per_block, seed: initial values
            of the parameters of the same names.
    """

    def __init__(self, name: str, *, distance: int = 3, rounds: int = 3, basis: str = "Z",
                 physical_error_rate: float = 0.001, shots_per_block: int = 1024,
                 seed: int = 0, **kwargs: Any):
        super().__init__(name, **kwargs)
        self._circuit: stim.Circuit | None = None
        self._sampler: Any = None
        self._pending: dict[int, np.ndarray] = {}
        self._next_index = 0
        self._shots_done = 0
        self._failures = 0

        self.distance = self.add_parameter(
            "distance", label="Code distance", initial_value=distance,
            vals=Ints(3, 51), set_cmd=self._invalidate_circuit_then, get_cmd=None,
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
            docstring="Circuit-level depolarizing strength p of every operation.",
        )
        self.shots_per_block = self.add_parameter(
            "shots_per_block", label="Shots per block", initial_value=shots_per_block,
            vals=Ints(1, 1_000_000), set_cmd=None, get_cmd=None,
        )
        self.seed = self.add_parameter(
            "seed", label="Sampler seed", initial_value=seed,
            vals=Ints(0, 2**63 - 1), set_cmd=self._invalidate_circuit_then, get_cmd=None,
        )
        self.shots_done = self.add_parameter(
            "shots_done", label="Shots corrected", get_cmd=lambda: self._shots_done, set_cmd=False,
        )
        self.logical_failures = self.add_parameter(
            "logical_failures", label="Logical failures", get_cmd=lambda: self._failures,
            set_cmd=False, docstring="Corrected shots whose logical observable came out wrong.",
        )
        if distance % 2 == 0:
            raise QplaneError(f"{name}: distance must be odd, got {distance}")

    # The parameters above store their value themselves (set_cmd only invalidates).
    def _invalidate_circuit_then(self, _value: Any) -> None:
        self._circuit = None
        self._sampler = None

    def circuit(self) -> stim.Circuit:
        """The memory circuit the QPU currently runs (noise included)."""
        if self._circuit is None:
            self._circuit = memory_circuit(
                distance=self.distance(), rounds=self.rounds(), basis=self.basis(),
                p=self.physical_error_rate(),
            )
        return self._circuit

    def decoding_circuit(self) -> stim.Circuit:
        """The circuit a decoder should build its detector error model from.

        For this uniform-noise QPU it is the circuit it runs; a device whose true noise is
        unknown would hand out its nominal noise model here instead.
        """
        return self.circuit()

    def circuit_id(self) -> str:
        """A short fingerprint of :meth:`decoding_circuit`; changes whenever the circuit does."""
        return circuit_fingerprint(self.decoding_circuit())

    def acquire_block(self) -> SyndromeBlock:
        """Run ``shots_per_block`` shots and return their detection events, keeping the truth."""
        circuit = self.circuit()
        if self._sampler is None:
            self._sampler = circuit.compile_detector_sampler(seed=self.seed())
        if len(self._pending) >= MAX_PENDING_BLOCKS:
            raise QplaneError(
                f"{self.name}: {len(self._pending)} blocks acquired and never corrected; "
                "is the decoding worker running?"
            )
        dets, obs = self._sampler.sample(
            self.shots_per_block(), separate_observables=True, bit_packed=True
        )
        index = self._next_index
        self._next_index += 1
        self._pending[index] = obs
        return SyndromeBlock(
            index=index,
            circuit_id=self.circuit_id(),
            detection_events=dets,
            num_detectors=circuit.num_detectors,
            num_observables=circuit.num_observables,
        )

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
        wrong = np.any(predicted_flips != truth, axis=1)
        failures = int(np.count_nonzero(wrong))
        self._shots_done += len(truth)
        self._failures += failures
        return CorrectionResult(index=index, shots=len(truth), failures=failures, truth=truth)

    def get_idn(self) -> dict[str, str | None]:
        return {"vendor": "qplane", "model": "SimulatedQPU", "serial": None, "firmware": None}


def circuit_fingerprint(circuit: stim.Circuit) -> str:
    """A 16-hex-digit SHA-256 prefix of the circuit's text.

    >>> len(circuit_fingerprint(stim.Circuit("H 0")))
    16
    """
    return hashlib.sha256(str(circuit).encode()).hexdigest()[:16]
