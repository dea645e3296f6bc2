"""The QEC side of a device: syndrome blocks out, corrections in.

A QEC device runs a memory experiment block by block. :meth:`QECDevice.acquire_block` returns
one :class:`SyndromeBlock` of bit-packed detection events; the decoder's predicted logical
flips for that block go back through :meth:`QECDevice.apply_correction` (the Pauli-frame
update), which returns a :class:`CorrectionResult`. A simulated device also scores the corrected
block against its hidden truth and reveals that truth only then; hardware reports no score.

Blocks can also be moved several at a time: :func:`acquire_blocks` and
:func:`apply_corrections` call a device's own ``acquire_blocks(n)`` / ``apply_corrections(batch)``
where it has them (the simulated QPU and the replay source do) and fall back to one call per
block otherwise, so every :class:`QECDevice` keeps working. A subclass that overrides the
per-block method only (to watch each block) gets the per-block loop, not its parent's batch.

>>> block = SyndromeBlock(index=0, circuit_id="0123456789abcdef",
...                       detection_events=np.zeros((4, 3), dtype=np.uint8),
...                       num_detectors=24, num_observables=1)
>>> block.detection_events.shape
(4, 3)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qplane.errors import QplaneError, SourceExhausted

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


#: (device class, batch method, per-block method) -> whether the class's batch method serves
#: it (looked up once per class: the server asks for every batch).
_NATIVE: dict[tuple[type, str, str], bool] = {}


def _native(device: Any, batch: str, single: str) -> Callable | None:
    """``device``'s own ``batch`` method, if its class defines it no further up than the
    per-block ``single`` (a subclass overriding only ``single`` must see each block)."""
    key = (type(device), batch, single)
    native = _NATIVE.get(key)
    if native is None:
        mro = type(device).__mro__
        where = {name: next((d for d, cls in enumerate(mro) if name in cls.__dict__), len(mro))
                 for name in (batch, single)}
        native = _NATIVE[key] = where[batch] < len(mro) and where[batch] <= where[single]
    return getattr(device, batch, None) if native else None


def acquire_blocks(device: Any, n: int,
                   ready: Callable[[], bool] | None = None) -> list[SyndromeBlock]:
    """Up to ``n`` blocks from ``device``, in acquisition order: its ``acquire_blocks(n)``
    where it has one, else ``acquire_block()`` per block.

    Only the first block may wait (a paced source): after it, blocks are acquired while
    ``ready()`` (the device's ``block_ready`` where given) says one is ready now; a device's
    own ``acquire_blocks`` keeps to its own pacing, so a ``ready`` other than its
    ``block_ready`` makes it go block by block. A finite
    source that runs out after the first block ends the batch there (the next call raises).

    Raises:
        SourceExhausted: the source had no block left at all.

    >>> class OneByOne:
    ...     def __init__(self): self.i = 0
    ...     def acquire_block(self):
    ...         self.i += 1
    ...         if self.i > 3:
    ...             raise SourceExhausted("done")
    ...         return SyndromeBlock(index=self.i - 1, circuit_id="c", num_detectors=8,
    ...                              detection_events=np.zeros((1, 1), np.uint8), num_observables=1)
    >>> dev = OneByOne()
    >>> [b.index for b in acquire_blocks(dev, 2)], [b.index for b in acquire_blocks(dev, 5)]
    ([0, 1], [2])
    """
    native = _native(device, "acquire_blocks", "acquire_block")
    if native is not None and (ready is None or ready == getattr(device, "block_ready", None)):
        return native(n)  # its own pacing: what ``ready`` would say (another ``ready``: a loop)
    blocks = [device.acquire_block()]
    while len(blocks) < n and (ready is None or ready()):
        try:
            blocks.append(device.acquire_block())
        except SourceExhausted:
            break
    return blocks


def apply_corrections(device: Any, batch: Sequence[tuple[int, np.ndarray]]
                      ) -> list[CorrectionResult | QplaneError]:
    """Apply each ``(index, predicted_flips)`` of ``batch``, in order; return each block's
    :class:`CorrectionResult`, or the :class:`~qplane.errors.QplaneError` the device refused
    it with (the other blocks still apply).

    A device's own ``apply_corrections(batch)`` applies all of them or, refusing one, none
    (it raises); the blocks are then applied one by one, so that only the refused one fails.

    >>> class Dev:
    ...     def apply_correction(self, index, flips):
    ...         if index == 1:
    ...             raise QplaneError("no pending block 1")
    ...         return CorrectionResult(index=index, shots=len(flips), failures=0, truth=None)
    >>> [type(r).__name__ for r in apply_corrections(Dev(), [(0, np.zeros((1, 1), np.uint8)),
    ...                                                        (1, np.zeros((1, 1), np.uint8))])]
    ['CorrectionResult', 'QplaneError']
    """
    native = _native(device, "apply_corrections", "apply_correction")
    if native is not None and len(batch) > 1:
        try:
            return native(batch)
        except QplaneError:
            pass  # none applied: one by one, so that only the refused block fails
    out: list[CorrectionResult | QplaneError] = []
    for index, flips in batch:
        try:
            out.append(device.apply_correction(index, flips))
        except QplaneError as e:
            out.append(e)
    return out


def take_pending(name: str, pending: dict[int, Any], batch: Sequence[tuple[int, np.ndarray]],
                 shape_of: Callable[[Any], tuple[int, ...]]) -> list[Any]:
    """Check a batch of ``(index, predicted_flips)`` against a device's ``pending`` blocks
    (index -> whatever the device keeps for scoring) and, only if every one fits, remove them
    and return their entries in batch order: a device's all-or-none ``apply_corrections``.
    ``shape_of(entry)`` is the shape that block's uint8 predictions must have.

    Raises:
        QplaneError: a block named twice, an unknown block, or predictions of the wrong
            dtype or shape (nothing is removed).

    >>> pending = {0: (2, 1), 1: (3, 1)}
    >>> take_pending("qpu", pending, [(1, np.zeros((3, 1), np.uint8))], lambda e: e)
    [(3, 1)]
    >>> sorted(pending)
    [0]
    """
    if len({i for i, _ in batch}) != len(batch):
        raise QplaneError(f"{name}: a batch of corrections names a block twice")
    taken = []
    for index, flips in batch:
        entry = pending.get(index)
        if entry is None or flips.dtype != np.uint8 or flips.shape != shape_of(entry):
            raise QplaneError(f"{name}: correction for block {index} refused (unknown block, "
                              "or predictions of the wrong dtype or shape); none of the "
                              f"{len(batch)} applied")
        taken.append(entry)
    for index, _ in batch:
        del pending[index]
    return taken
