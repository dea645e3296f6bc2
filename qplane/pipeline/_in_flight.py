"""Blocks sent to the decoders and not yet corrected, applied strictly in acquisition order.

Each block remembers which decoding worker holds it (``holder``: the worker's routing id on the
dispatch socket, ``None`` while it waits for a worker with credit) and its encoded frames, so a
block whose worker died is sent again as it was (:mod:`qplane.pipeline.dispatch`).

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


@dataclasses.dataclass
class InFlight:
    """One outstanding block, as the instrument server keeps it (its metadata never travels)."""

    seq: int
    block_index: int
    t_acquired: float
    shots: int
    width: int = -1  # bytes per shot of its predictions (ceil(observables / 8)); -1: unchecked
    correction: Any = None  # the correction Record once it arrived
    holder: bytes | None = None  # routing id of the worker it was dispatched to (None: queued)
    frames: Any = None  # its encoded syndrome record, kept to re-dispatch it
    t_sent: float = 0.0  # when it was last sent to a decoder (0: not yet, still queued)
    dispatches: int = 0  # how many times it was dispatched (> 1: re-dispatched)


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
              width: int | None = None) -> str:
        """Attach ``correction`` to block ``seq``: ``"ok"``, ``"not_outstanding"`` (unknown,
        already corrected or declared lost), ``"wrong_shots"`` (``shots`` differs) or
        ``"wrong_width"`` (``width``, bytes per shot, differs)."""
        block = self._blocks.get(seq)
        if block is None or block.correction is not None:
            return "not_outstanding"
        if shots is not None and shots != block.shots:
            return "wrong_shots"
        if width is not None and block.width >= 0 and width != block.width:
            return "wrong_width"
        block.correction = correction
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
