"""Blocks sent to the decoders and not yet corrected, applied strictly in acquisition order.

Each block remembers which decoding worker holds it (``holder``: the worker's routing id on the
dispatch socket, ``None`` while it waits for a worker with credit), its detection events and
the encoded record it travelled in (``frames``, shared by the ``members`` blocks of a
:class:`~qplane.records.SyndromeBlocks`), so a block whose worker died is sent again
(:mod:`qplane.pipeline.dispatch`): in the same record when all of that record goes to one
worker again, else in one built for it (:func:`syndrome_record`).

>>> blocks = InFlightBlocks()
>>> blocks.add(InFlight(seq=0, block_index=0, t_acquired=0.0, shots=4))
>>> blocks.add(InFlight(seq=1, block_index=1, t_acquired=0.0, shots=4))
>>> blocks.offer(1, "c1"), [b.seq for b in blocks.ready()]   # block 0 still outstanding
('ok', [])
>>> blocks.offer(0, "c0"), [b.seq for b in blocks.ready()]
('ok', [0, 1])
>>> blocks.offer(0, "again")
'not_outstanding'
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np

from qplane.records import Record, Syndrome, SyndromeBlocks


@dataclasses.dataclass(slots=True)
class InFlight:
    """One outstanding block, as the instrument server keeps it (its metadata never travels
    back: a correction names the block by ``seq``)."""

    seq: int
    block_index: int
    t_acquired: float
    shots: int
    width: int = -1  # bytes per shot of its predictions (ceil(observables / 8)); -1: unchecked
    correction: Any = None  # the correction Record once it arrived
    holder: bytes | None = None  # routing id of the worker it was dispatched to (None: queued)
    frames: Any = None  # the encoded record it travelled in (shared by a record's blocks)
    t_sent: float = 0.0  # when it was last sent to a decoder (0: not yet, still queued)
    dispatches: int = 0  # how many times it was dispatched (> 1: re-dispatched)
    circuit_id: str = ""
    num_detectors: int = 0
    settings_changes: int = 0
    events: Any = None  # its detection events (shots, ceil(num_detectors / 8)) uint8
    members: int = 1  # blocks in the record ``frames`` holds
    at: int = -1  # its entry in ``correction`` when that is a Corrections record (-1: a Correction)
    predictions: Any = None  # its rows of the correction's predictions, once it arrived


def syndrome_record(blocks: list[InFlight], *, run_id: str, source: str, seq: int) -> Record:
    """The record ``blocks`` (of one circuit, acquisition order) travel in: a lone block's
    :class:`~qplane.records.Syndrome` (its ``seq`` the block's), several blocks'
    :class:`~qplane.records.SyndromeBlocks` (numbered ``seq`` on that stream).

    >>> blocks = [InFlight(seq=s, block_index=s, t_acquired=1.0, shots=1, circuit_id="ab" * 8,
    ...                    num_detectors=8, events=np.full((1, 1), s, np.uint8)) for s in (3, 4)]
    >>> rec = syndrome_record(blocks, run_id="r", source="srv", seq=0)
    >>> rec.kind, rec.body.syndrome_seqs, rec.arrays["detection_events"].ravel().tolist()
    ('syndrome_blocks', [3, 4], [3, 4])
    >>> syndrome_record(blocks[:1], run_id="r", source="srv", seq=0).seq
    3
    """
    first = blocks[0]
    if len(blocks) == 1:
        return Record.build(Syndrome(
            block_index=first.block_index, circuit_id=first.circuit_id,
            num_detectors=first.num_detectors, t_acquired=first.t_acquired,
            settings_changes=first.settings_changes),
            run_id=run_id, source=source, seq=first.seq,
            arrays={"detection_events": first.events})
    return Record.build(SyndromeBlocks(
        circuit_id=first.circuit_id, num_detectors=first.num_detectors,
        syndrome_seqs=[b.seq for b in blocks], block_indices=[b.block_index for b in blocks],
        shots=[b.shots for b in blocks], t_acquired=[b.t_acquired for b in blocks],
        settings_changes=[b.settings_changes for b in blocks]),
        run_id=run_id, source=source, seq=seq,
        arrays={"detection_events": np.concatenate([b.events for b in blocks])})


def same_circuit_runs(blocks: list[InFlight]) -> Iterator[list[InFlight]]:
    """``blocks`` cut where the circuit changes (a record carries one circuit's blocks).

    >>> [len(r) for r in same_circuit_runs([InFlight(seq=s, block_index=s, t_acquired=0.0,
    ...     shots=1, circuit_id=c) for s, c in enumerate("aab")])]
    [2, 1]
    """
    if len(blocks) == 1:  # a lone block (one in flight, a big block): no loop
        yield blocks
        return
    start = 0
    for i in range(1, len(blocks) + 1):
        if i == len(blocks) or blocks[i].circuit_id != blocks[start].circuit_id:
            yield blocks[start:i]
            start = i


class InFlightBlocks:
    """Outstanding blocks by syndrome seq, in acquisition order."""

    def __init__(self) -> None:
        self._blocks: collections.OrderedDict[int, InFlight] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._blocks)

    def add(self, block: InFlight) -> None:
        self._blocks[block.seq] = block

    def get(self, seq: int) -> InFlight | None:
        return self._blocks.get(seq)

    def oldest(self) -> InFlight | None:
        """The oldest block still in flight (the next to be applied), or None."""
        return next(iter(self._blocks.values()), None)

    def offer(self, seq: int, correction: Any, *, shots: int | None = None,
              width: int | None = None, at: int = -1, predictions: Any = None) -> str:
        """Attach ``correction`` (its entry ``at`` for a multi-block record, and the block's
        ``predictions``) to block ``seq``: ``"ok"``, ``"not_outstanding"`` (unknown,
        already corrected or declared lost), ``"wrong_shots"`` (``shots`` differs) or
        ``"wrong_width"`` (``width``, bytes per shot, differs)."""
        block = self._blocks.get(seq)
        if block is None or block.correction is not None:
            return "not_outstanding"
        if shots is not None and shots != block.shots:
            return "wrong_shots"
        if width is not None and block.width >= 0 and width != block.width:
            return "wrong_width"
        block.correction, block.at, block.predictions = correction, at, predictions
        return "ok"

    def ready(self) -> Iterator[InFlight]:
        """Pop and yield the blocks whose correction arrived, oldest first, up to the first
        still outstanding."""
        while self._blocks:
            seq, block = next(iter(self._blocks.items()))
            if block.correction is None:
                return
            del self._blocks[seq]
            yield block

    def any_expired(self, now: float, timeout: float) -> bool:
        """Whether :meth:`expired` would yield a block (asked every server step: no
        generator when, as nearly always, none is overdue)."""
        for block in self._blocks.values():  # only the oldest matters
            return block.correction is None and now - max(block.t_acquired,
                                                           block.t_sent) >= timeout
        return False

    def expired(self, now: float, timeout: float) -> Iterator[InFlight]:
        """Pop and yield the oldest uncorrected blocks acquired (or last re-dispatched) more
        than ``timeout`` s ago (a block already corrected but waiting behind an older one stops
        the search)."""
        while self._blocks:
            seq, block = next(iter(self._blocks.items()))
            since = max(block.t_acquired, block.t_sent)
            if block.correction is not None or now - since < timeout:
                return
            del self._blocks[seq]
            yield block
