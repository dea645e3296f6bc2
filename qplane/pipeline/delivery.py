"""Records to the recorder that survive the recorder's death: kept until acknowledged, sent again.

Every process sends its records to the recorder on a DEALER socket (the recorder binds a
ROUTER). A :class:`RetainingOutbox` keeps each record it sends (its encoded frames) until the
recorder acknowledges it as in the run file (a :class:`~qplane.records.FlushAck` after the
recorder's checkpoint, on the same socket). It never blocks on the socket: what the socket does
not take now is sent by :meth:`RetainingOutbox.pump`, which every process calls from its loop.

When an acknowledgement names a new recorder ``epoch`` (the recorder was killed and restarted,
``recorder.r1``), the outbox sends a :class:`~qplane.records.Resync` (where each of its streams
goes on) and then everything not yet acknowledged, oldest first; the recorder drops what its
file already has, so each record is stored exactly once. A sender that hears no
acknowledgement for ``probe_after`` seconds while it keeps records sends a ``resync`` probe,
which a restarted recorder answers with its epoch.

What is kept is bounded (``max_records``, ``max_bytes``): at the bound, while the recorder
acknowledges, :meth:`RetainingOutbox.send_frames` waits for it (back-pressure, as a full
socket did before); while it is silent (dead, restarting), the oldest records are forgotten and
counted (:attr:`RetainingOutbox.forgotten`), and the next ``resync`` makes the recorder record
the gap.

>>> import zmq
>>> ctx = zmq.Context()
>>> out = RetainingOutbox(ctx.socket(zmq.DEALER), run_id="r", source="s")
>>> out.kept, out.epoch
(0, 'recorder')
>>> ctx.destroy(linger=0)
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable

import zmq

from qplane.pipeline.transport import (MAX_BUNDLE_BYTES, MAX_BUNDLE_RECORDS, NOBLOCK, Inbox, Outbox,
                                       queued, send_parts)
from qplane.records import FlushAck, Record, Resync, SyndromeBlocks, pack

#: The first recorder's epoch (its source); a restarted one is ``recorder.rN``.
FIRST_EPOCH = "recorder"

#: Bounds of what a sender keeps unacknowledged (a restart's worth and more).
MAX_KEPT_RECORDS = 500_000
MAX_KEPT_BYTES = 512 * 2**20

#: Seconds without an acknowledgement, while records are kept, before a ``resync`` probe.
PROBE_AFTER = 1.0

#: Seconds between looks at the socket for acknowledgements in :meth:`RetainingOutbox.pump`.
LOOK_EVERY = 0.005


def _size(frames: list[Any]) -> int:
    if len(frames) == 1 and type(frames[0]) is bytes:  # a packed record: the usual case
        return len(frames[0])
    return sum([f.nbytes if type(f) is memoryview else len(f) for f in frames])


class RetainingOutbox(Outbox):
    """An outbox to the recorder that keeps what the recorder has not acknowledged.

    Args:
        socket: a DEALER connected to the recorder's ROUTER.
        run_id, source: as for :class:`~qplane.pipeline.transport.Outbox`.
        max_records, max_bytes: bounds of what is kept.
        probe_after: seconds without an acknowledgement before a ``resync`` probe.
        on_wait: called while :meth:`send_frames` or :meth:`settle` waits (the process's
            heartbeats).
    """

    def __init__(self, socket: zmq.Socket, *, run_id: str, source: str,
                 max_records: int = MAX_KEPT_RECORDS, max_bytes: int = MAX_KEPT_BYTES,
                 probe_after: float = PROBE_AFTER, on_wait: Callable[[], Any] = lambda: None):
        super().__init__(socket, run_id=run_id, source=source)
        self.acks = Inbox(socket, run_id=run_id)
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.probe_after = probe_after
        self.on_wait = on_wait
        self.epoch = FIRST_EPOCH
        # entries (kind, seq, frames, size, the first block seq of a syndrome_blocks record)
        self._sent: deque[tuple[str, int, list[Any], int, int]] = deque()  # sent, unacknowledged
        self._unsent: deque[tuple[str, int, list[Any], int, int]] = deque()  # socket did not take
        self._acked: dict[str, int] = {}  # kind -> highest seq acknowledged
        self._bytes = 0
        self._heard = time.monotonic()  # last acknowledgement (or the start)
        self._next_probe = 0.0
        self._next_look = 0.0
        self.resent = 0
        self.forgotten = 0
        self.epochs_seen = 0
        self._holding = False

    @property
    def held(self) -> int:
        """Records held for the next bundle (:meth:`hold`)."""
        return len(self._unsent) if self._holding else 0

    def hold(self) -> None:
        """Hold what is sent from now on (kept, not yet sent) until :meth:`release`, which
        sends it in bundles: one message for many records (what waits is sent so whenever
        the socket takes it, held or not)."""
        if not self._holding:
            self._holding = True
            self.held_since = time.monotonic()

    def release(self) -> None:
        """Send what is held, in bundles, as far as the socket takes it; stop holding."""
        self._holding = False
        if self._unsent:
            self._send_unsent()

    @property
    def kept(self) -> int:
        """Records kept (sent or not yet), not acknowledged."""
        return len(self._sent) + sum(1 for e in self._unsent if e[0] != "resync")

    def send_frames(self, rec: Record, frames: list[Any]) -> None:
        """Keep ``rec`` (as ``frames``) until acknowledged, and send it as soon as the socket
        takes it (now, if it can)."""
        size = _size(frames)
        body = rec.body
        if type(body) is SyndromeBlocks:  # its blocks are numbered on the syndrome stream
            entry = (rec.kind, rec.seq, frames, size, body.syndrome_seqs[0])
        else:
            entry = (rec.kind, rec.seq, frames, size, -1)
        self._bytes += size
        self.sent[rec.kind] += 1
        if self._holding:
            self._unsent.append(entry)
            if len(self._unsent) >= MAX_BUNDLE_RECORDS:
                self.release()
                self.hold()
        elif self._unsent:  # others wait before it: in order
            self._unsent.append(entry)
            self._send_unsent()
        else:
            try:
                send_parts(self.socket, frames, NOBLOCK)
                self._sent.append(entry)
            except zmq.Again:
                self._unsent.append(entry)
        if self._over_bound():
            self._make_room()

    def pump(self) -> None:
        """Read acknowledgements, send what waits, probe a silent recorder. Never blocks; cheap
        enough for every turn of a loop (the socket is looked at every few milliseconds)."""
        if self._unsent:
            self._send_unsent()
        now = time.monotonic()
        if now < self._next_look:
            return
        self._next_look = now + LOOK_EVERY
        if self.acks.socket.poll(0):
            for got in queued(self.acks, 100):
                if got is not None and isinstance(got[1].body, FlushAck):
                    self._ack(got[1].body)
        self._send_unsent()
        now = time.monotonic()
        if ((self._sent or self._unsent) and now - self._heard >= self.probe_after
                and now >= self._next_probe):
            self._next_probe = now + self.probe_after
            self._send_now(self._resync())

    def settle(self, timeout: float, patience: float = 0.0) -> int:
        """Wait until everything sent is acknowledged (pumping), at most ``timeout`` s, or up to
        ``patience`` s while acknowledgements keep coming (a restarted recorder catching up);
        return how many records are still unacknowledged."""
        self.release()
        start = time.monotonic()
        deadline, cap = start + timeout, start + max(timeout, patience)
        kept = self.kept
        while kept and time.monotonic() < deadline:
            self._next_look = 0.0
            self.pump()
            self.on_wait()
            self.acks.socket.poll(20)
            if self.kept < kept:  # progress: wait a little longer, within the cap
                deadline = min(cap, max(deadline, time.monotonic() + self.probe_after * 2))
            kept = self.kept
        return kept

    # -- internals ---------------------------------------------------------------------------
    def _ack(self, ack: FlushAck) -> None:
        self._heard = time.monotonic()
        for kind, upto in ack.upto.items():
            if upto > self._acked.get(kind, -1):
                self._acked[kind] = upto
        self._forget_acknowledged()
        if ack.epoch != self.epoch:  # a restarted recorder: everything kept goes again
            self.epoch = ack.epoch
            self.epochs_seen += 1
            again = list(self._sent)
            self._sent.clear()
            self._unsent.extendleft(reversed(again))
            resync = self._resync()
            self._unsent.appendleft(("resync", -1, resync, 0, -1))
            self.resent += len(again)
            self._send_unsent()

    def _forget_acknowledged(self) -> None:
        acked = self._acked
        for queue in (self._sent, self._unsent):
            keep = [e for e in queue if e[0] == "resync" or e[1] > acked.get(e[0], -1)]
            if len(keep) != len(queue):
                self._bytes -= sum(e[3] for e in queue) - sum(e[3] for e in keep)
                queue.clear()
                queue.extend(keep)

    def _resync(self) -> list[Any]:
        """A ``resync`` record (encoded; not counted, not kept): the oldest unacknowledged seq of
        each kind this outbox has sent (the next one for a kind with nothing kept)."""
        first: dict[str, int] = {}
        for kind, seq, _, _, blocks_from in list(self._sent) + list(self._unsent):
            if kind != "resync" and kind not in first:
                first[kind] = seq
            if blocks_from >= 0 and "syndrome" not in first:  # the blocks of syndrome_blocks
                first["syndrome"] = blocks_from
        for kind in self._seq:
            if kind != "resync":
                first.setdefault(kind, self._seq[kind])
        return [pack(self.build(Resync(epoch=self.epoch, first=first)))]

    def _send_now(self, frames: list[Any]) -> bool:
        try:
            send_parts(self.socket, frames, NOBLOCK)
        except zmq.Again:
            return False
        return True

    def _send_unsent(self) -> None:
        """Send what waits, oldest first, packed records bundled (one message for up to
        :data:`MAX_BUNDLE_RECORDS`); nothing while holding."""
        unsent = self._unsent
        while unsent and not self._holding:
            frames: list[Any] = []
            size = n = 0
            for entry in unsent:
                if len(entry[2]) != 1 and n:  # a multipart record goes on its own
                    break
                frames.extend(entry[2])
                n += 1
                size += entry[3]
                if len(entry[2]) != 1 or n >= MAX_BUNDLE_RECORDS or size >= MAX_BUNDLE_BYTES:
                    break
            if not self._send_now(frames):
                return
            for _ in range(n):
                entry = unsent.popleft()
                if entry[0] != "resync":
                    self._sent.append(entry)

    def _over_bound(self) -> bool:
        return len(self._sent) + len(self._unsent) > self.max_records or self._bytes > self.max_bytes

    def _make_room(self) -> None:
        """At the bound: wait for acknowledgements while the recorder gives them; forget the
        oldest records while it is silent."""
        self.release()
        while self._over_bound():
            if time.monotonic() - self._heard < self.probe_after * 3:
                self._next_look = 0.0
                self.pump()
                self.on_wait()
                self.acks.socket.poll(10)
                continue
            queue = self._sent if self._sent else self._unsent
            kind, _, _, size, _ = queue.popleft()
            if kind != "resync":
                self.forgotten += 1
            self._bytes -= size
