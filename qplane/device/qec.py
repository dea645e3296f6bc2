"""The QEC side of a device: syndrome blocks out, corrections in.

A QEC device runs a memory experiment block by block. :meth:`QECDevice.acquire_block` returns
one :class:`SyndromeBlock` of bit-packed detection events; the decoder's predicted logical
flips for that block go back through :meth:`QECDevice.apply_correction` (the Pauli-frame
update), which returns a :class:`CorrectionResult`. A simulated device also scores the corrected
block against its hidden truth and reveals that truth only then; hardware reports no score.

>>> block = SyndromeBlock(index=0, circuit_id="0123456789abcdef",
...                       detection_events=np.zeros((4, 3), dtype=np.uint8),
...                       num_detectors=24, num_observables=1)
>>> block.detection_events.shape
(4, 3)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: The methods the instrument server calls on the QEC device for every block.
QEC_METHODS = ("acquire_block", "apply_correction", "decoding_circuit", "circuit_id")


@dataclasses.dataclass(frozen=True)
class SyndromeBlock:
    """One block of detection events, as the device hands it out."""

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
    truth: np.ndarray | None  # uint8 (shots, ceil(num_observables/8)), revealed after
    # correction; None (and failures -1) where the device knows no truth (hardware)


def count_wrong(predicted_flips: np.ndarray, truth: np.ndarray) -> int:
    """Shots whose predicted observable flips differ from the truth in any observable (both
    uint8, bit-packed, of one shape).

    >>> import numpy as np
    >>> count_wrong(np.array([[1], [0], [2]], np.uint8), np.array([[1], [1], [0]], np.uint8))
    2
    """
    differ = predicted_flips != truth
    if differ.shape[1] == 1:  # one byte per shot: a shot is wrong where its byte differs
        return int(np.count_nonzero(differ))
    return int(np.count_nonzero(differ.any(axis=1)))


@runtime_checkable
class QECDevice(Protocol):
    """What the instrument server needs of the QEC instrument.

    ``distance``, ``rounds``, ``basis`` and ``shots_per_block`` are QCoDeS parameters (call
    them to read, call with a value to set); ``decoding_circuit()`` is the stim circuit a
    decoder builds its detector error model from (the nominal one), and ``circuit_id()`` its
    fingerprint (:func:`qplane.codes.circuit_fingerprint`), which changes whenever it does.
    ``apply_correction(index, predicted_flips)`` takes uint8 bit-packed predictions of shape
    ``(shots, ceil(num_observables/8))`` for the block :meth:`acquire_block` returned as
    ``index``, in acquisition order. A finite source (a replayed recording) raises
    :class:`~qplane.errors.SourceExhausted` from ``acquire_block`` once it has served every
    block; the instrument server then ends acquisition.
    """

    def distance(self, *value: int) -> Any: ...

    def rounds(self, *value: int) -> Any: ...

    def basis(self, *value: str) -> Any: ...

    def shots_per_block(self, *value: int) -> Any: ...

    def decoding_circuit(self) -> Any: ...

    def circuit_id(self) -> str: ...

    def acquire_block(self) -> SyndromeBlock: ...

    def apply_correction(self, index: int, predicted_flips: np.ndarray) -> CorrectionResult: ...
