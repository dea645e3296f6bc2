"""Counting and recording what a receiver refused, so no message can do more than be refused.

A :class:`Rejection` names the peer (its authenticated identity, else the source it claimed,
else ``unknown``), the record kind and the reason. :class:`RejectionLog` counts every one by
(peer, reason class) and turns them into ``/events`` rows without letting a flood turn into a
flood of rows: the first :attr:`RejectionLog.rows_per_key` of each (peer, reason class) become
one row each, then one row per :attr:`RejectionLog.summary_every`; :meth:`RejectionLog.summary`
gives the exact counts for the end-of-run row.

>>> log = RejectionLog(rows_per_key=2, summary_every=10)
>>> r = Rejection("not_allowed", "decoder may not send applied", peer="decoder", source="decoder-0")
>>> [log.note(r) for _ in range(12)].count(True)
3
>>> log.total, log.summary()
(12, {'decoder/not_allowed': 12})
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any


@dataclasses.dataclass(frozen=True)
class Rejection:
    """One refused message.

    ``reason`` is a short class (``malformed``, ``other_run``, ``bad_name``, ``identity``,
    ``not_allowed``, ``sequence``, ``too_deep``, ``handler``, ``unexpected``); ``message`` says
    what was wrong.
    """

    reason: str
    message: str
    peer: str = "unknown"  # authenticated identity, else claimed source, else "unknown"
    source: str = ""  # the source the record claimed ("" when it did not decode)
    kind: str = ""
    authenticated: bool = False
    channel: str = ""

    def details(self) -> dict[str, Any]:
        """The event row's details."""
        return {"peer": self.peer, "authenticated": self.authenticated, "claimed_source": self.source,
                "record_kind": self.kind, "reason": self.reason, "channel": self.channel}


class RejectionLog:
    """Counts rejections by (peer, reason) and says which deserve an event row."""

    def __init__(self, rows_per_key: int = 20, summary_every: int = 1000):
        self.rows_per_key = rows_per_key
        self.summary_every = summary_every
        self.counts: Counter[tuple[str, str]] = Counter()
        self.total = 0

    def note(self, rejection: Rejection) -> bool:
        """Count ``rejection``; return whether it should become an event row."""
        key = (rejection.peer, rejection.reason)
        self.counts[key] += 1
        self.total += 1
        n = self.counts[key]
        return n <= self.rows_per_key or n % self.summary_every == 0

    def summary(self) -> dict[str, int]:
        """Every count so far, as ``{"peer/reason": n}``."""
        return {f"{peer}/{reason}": n for (peer, reason), n in sorted(self.counts.items())}
