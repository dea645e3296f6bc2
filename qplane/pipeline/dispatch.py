"""Dispatch of syndrome blocks to registered decoding workers, with credit-based flow control.

The ZeroMQ guide's load-balancing pattern: the instrument server's dispatch socket is a ROUTER;
each decoding worker connects a DEALER, sends :class:`~qplane.records.Register` (its name,
role and *credit*: how many blocks it may hold at once), and then answers each block it is sent
with a :class:`~qplane.records.Correction` on the same socket; each correction returns one
credit. :class:`Dispatcher` shares the blocks a server step acquired among the workers with
credit (:meth:`Dispatcher.plan`: each worker's share one run of them, sent at once as one
record, a :class:`~qplane.records.SyndromeBlocks` for several), queues those no worker has
credit for, and records in each block (:class:`~qplane.pipeline._in_flight.InFlight`) which
worker holds it. A worker answers the blocks it took together in one
:class:`~qplane.records.Corrections` record; each block's correction in it is checked and
returns its credit exactly as a lone one. So the server knows who holds each block, and:

- a correction is accepted only from the registered peer that holds that block; anything
  else (an unregistered peer, a ``source`` other than the peer's registered name, a block
  dispatched to another worker) is refused, counted and recorded in ``/events`` with the
  peer's identity;
- heartbeats go both ways: the dispatcher sends each worker a
  :class:`~qplane.records.Heartbeat` every ``heartbeat_interval`` s, and a worker silent for
  ``heartbeat_timeout`` s is declared lost: its blocks go back to the queue and are sent to a
  healthy worker (a worker that registers again under the same name is treated the same way).

Nothing here polls: the server waits on its sockets until :meth:`Dispatcher.next_deadline`.

>>> _Peer(b"id", "decoder-0", "decoder", credit=2).describe()
'decoder-0 (peer 6964)'
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any, Callable

import zmq

from qplane.pipeline._in_flight import InFlight, InFlightBlocks, same_circuit_runs, syndrome_record
from qplane.pipeline.rejections import Rejection
from qplane.pipeline.transport import Inbox, Outbox, send_parts, send_record
from qplane.records import MAX_BLOCKS, Correction, Corrections, Heartbeat, Record, Register, pack

#: Dispatch roles: only decoding workers register on the dispatch socket.
DISPATCH_ROLES = ("decoder",)


@dataclasses.dataclass(eq=False)  # one per registration: compared (and hashed) by identity
class _Peer:
    routing: bytes
    name: str
    role: str
    credit: int
    last_seen: float = 0.0
    held: set[int] = dataclasses.field(default_factory=set)
    blocks: int = 0
    last_sent: float = 0.0
    pid: int = 0
    host: str = ""

    def describe(self) -> str:
        return f"{self.name} (peer {self.routing.hex()[:12]})"


class Dispatcher:
    """The server's side of dispatch: registrations, credit, who holds which block, liveness.

    Args:
        socket: the ROUTER dispatch socket (bound).
        blocks: the server's blocks in flight (each block's ``holder`` is kept there).
        records: outbox to the recorder (refusals and worker events).
        source: the server's name, the ``source`` of its heartbeats.
        heartbeat_interval: seconds between heartbeats sent to each worker.
        heartbeat_timeout: a worker silent this long is declared lost.
        on_reject: the server's rejection handler (counts and records each refused message
            with its peer); None: each becomes an ``/events`` row.
    """

    def __init__(self, socket: zmq.Socket, *, blocks: InFlightBlocks, records: Outbox,
                 source: str = "instrument_server", heartbeat_interval: float = 0.25,
                 heartbeat_timeout: float = 1.5, whole_batches: bool = False,
                 on_reject: Callable[[Rejection], None] | None = None):
        self.socket = socket
        #: send each batch :meth:`plan` places to one worker whole, where one has credit for
        #: all of it (the workers share one CPU: split, the parts would only queue there)
        self.whole_batches = whole_batches
        self._reject_to = on_reject
        self.blocks = blocks
        self.records = records
        self.inbox = Inbox(socket, run_id=records.run_id, envelope=1, on_reject=self._on_reject)
        self.out = Outbox(socket, run_id=records.run_id, source=source)
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.peers: dict[bytes, _Peer] = {}
        self.queue: collections.deque[int] = collections.deque()  # seqs waiting for credit
        self._next_heartbeat = 0.0
        self.refused = 0
        self.redispatched = 0
        self.workers_lost = 0
        self.registrations = 0
        self.names_seen: set[str] = set()
        self.detections: list[dict[str, Any]] = []  # each lost worker: name, silent for (s)
        self._rejected_peer: bytes = b""
        # numbers the syndrome_blocks records built to send queued blocks again (only the
        # worker sees them: the recorder had the blocks in the records they were acquired in)
        self._rebuilt = 0

    # -- the block path ----------------------------------------------------------------------
    def submit(self, block: InFlight) -> None:
        """Send ``block`` (its ``frames`` set) to a worker with credit now, or queue it."""
        self.queue.append(block.seq)
        self.dispatch()

    def plan(self, n: int) -> list[tuple[_Peer | None, int]]:
        """Where ``n`` blocks just acquired go: (worker, how many) in turn, each worker's share
        one run of them (one record), the credit shared as :meth:`dispatch` shares it block by
        block (with ``whole_batches``, all of them to the worker with the most credit where it
        has enough); (None, how many) for those no worker has credit for now (queued behind
        the blocks already waiting)."""
        if self.queue or not self.peers:
            return [(None, n)] if n else []
        if len(self.peers) == 1:  # one worker (the usual case): no sharing to plan
            peer = next(iter(self.peers.values()))
            if peer.credit <= 0:
                return [(None, n)] if n else []
            k = min(peer.credit, n)
            return [(peer, k), (None, n - k)] if k < n else [(peer, k)]
        credit = {p: p.credit for p in self.peers.values() if p.credit > 0}
        if self.whole_batches and credit:
            best = max(credit, key=lambda p: (credit[p], -p.last_sent))
            if credit[best] >= n:
                return [(best, n)] if n else []
        if len(credit) == 1:  # one worker with credit (one worker: the usual case)
            peer, c = next(iter(credit.items()))
            plan: list[tuple[_Peer | None, int]] = [(peer, min(c, n))]
        else:
            counts: dict[_Peer, int] = {}
            for _ in range(n):
                best = None
                for peer, c in credit.items():
                    if c > 0 and (best is None or (c, -peer.last_sent) > (credit[best],
                                                                          -best.last_sent)):
                        best = peer
                if best is None:
                    break
                credit[best] -= 1
                counts[best] = counts.get(best, 0) + 1
            plan = list(counts.items())
        left = n - sum(k for _, k in plan)
        return plan + [(None, left)] if left else plan

    def send(self, peer: _Peer, blocks: list[InFlight], frames: list[Any]) -> None:
        """Send ``blocks``, encoded as ``frames`` (one message), to ``peer``, which holds them
        from now on (one credit each)."""
        self._assign(peer, blocks, time.time())
        send_parts(self.socket, [peer.routing, *frames])

    def _assign(self, peer: _Peer, blocks: list[InFlight], now: float) -> None:
        for block in blocks:
            if block.dispatches:
                self.redispatched += 1
            block.holder, block.t_sent = peer.routing, now
            block.dispatches += 1
            peer.held.add(block.seq)
        peer.credit -= len(blocks)
        peer.last_sent = now

    def dispatch(self) -> int:
        """Send queued blocks to workers holding credit; return how many were sent.

        The blocks one call sends a worker go in one message: the records they were acquired
        in, where all of such a record goes to that worker, and one record built for the rest
        (:func:`~qplane.pipeline._in_flight.syndrome_record`).
        """
        sent = 0
        assigned: dict[_Peer, list[InFlight]] = {}
        now = time.time()
        while self.queue:
            peer = self._pick()
            if peer is None:
                break
            seq = self.queue.popleft()
            block = self.blocks.get(seq)
            if block is None or block.correction is not None:  # lost or corrected meanwhile
                continue
            assigned.setdefault(peer, []).append(block)
            self._assign(peer, [block], now)
            sent += 1
        for peer, blocks in assigned.items():
            send_parts(self.socket, [peer.routing, *self._frames(blocks)])
        return sent

    def _frames(self, blocks: list[InFlight]) -> list[Any]:
        """The packed records that carry ``blocks`` (one worker's, in queue order)."""
        frames: list[Any] = []
        loose: list[InFlight] = []
        i = 0
        while i < len(blocks):
            first = blocks[i]
            j = i + 1
            while j < len(blocks) and blocks[j].frames is first.frames:
                j += 1
            if first.frames is not None and j - i == first.members:
                frames.extend(first.frames)  # all of the record it was acquired in
            else:
                loose.extend(blocks[i:j])
            i = j
        for run in same_circuit_runs(loose):
            for k in range(0, len(run), MAX_BLOCKS):
                rec = syndrome_record(run[k:k + MAX_BLOCKS], run_id=self.out.run_id,
                                      source=self.out.source, seq=self._rebuilt)
                self._rebuilt += 1
                frames.append(pack(rec))
        return frames

    def _pick(self) -> _Peer | None:
        best = None
        for peer in self.peers.values():
            if peer.credit > 0 and (best is None or (peer.credit, -peer.last_sent) >
                                    (best.credit, -best.last_sent)):
                best = peer
        return best

    def receive(self, got: tuple[list[bytes], Record] | None
                ) -> tuple[_Peer | None, list[tuple[int, Record, int, Any]]]:
        """Handle one message received on the dispatch socket (``None``: the inbox rejected
        it); return the peer that sent it and the corrections the server should offer to
        their blocks: (block seq, the record, the block's entry in it, its predictions), one
        for a :class:`~qplane.records.Correction` (entry -1), one per block for a
        :class:`~qplane.records.Corrections` (each checked on its own), else none."""
        if got is None:
            return None, []
        routing, rec = got
        routing_id = routing[0] if routing else b""
        body = rec.body
        peer = self.peers.get(routing_id)
        if isinstance(body, Register):
            self._register(routing_id, rec, body)
            return None, []
        if peer is None:
            self._refuse(routing_id, rec, "unregistered_peer",
                         f"a {rec.kind} record from an unregistered peer (source {rec.source!r}); "
                         "a decoding worker must register first")
            return None, []
        if rec.source != peer.name:
            self._refuse(routing_id, rec, "source_mismatch",
                         f"a {rec.kind} record claiming source {rec.source!r} from {peer.describe()}")
            return None, []
        peer.last_seen = time.time()
        if isinstance(body, Heartbeat):
            return peer, []
        predictions = rec.arrays.get("predictions")
        if isinstance(body, Corrections):
            each, start = [], 0
            for i, (seq, n) in enumerate(zip(body.syndrome_seqs, body.shots)):
                each.append((seq, rec, i, predictions[start:start + n]))  # a view
                start += n
        elif isinstance(body, Correction):
            each = [(body.syndrome_seq, rec, -1, predictions)]
        else:
            self._refuse(routing_id, rec, "unexpected_record",
                         f"a {rec.kind} record from {peer.describe()} on the dispatch socket")
            return peer, []
        out = [one for one in each if self._held(routing_id, one[0], rec, peer)]
        if self.queue:
            self.dispatch()
        return peer, out

    def _held(self, routing_id: bytes, seq: int, rec: Record, peer: _Peer) -> bool:
        """Whether the server should offer ``rec``'s correction of block ``seq`` from
        ``peer``: it holds the block (that returns one credit), or the block is not
        outstanding (the server records a duplicate); a block dispatched to another worker is
        refused."""
        if seq in peer.held:
            peer.credit += 1  # the worker is done with it, whatever the server makes of it
            return True
        block = self.blocks.get(seq)
        if block is not None and block.correction is None:
            self._refuse(routing_id, rec, "not_dispatched_to_peer",
                         f"correction for block seq {seq} from {peer.describe()}, which does not "
                         "hold it (it was not dispatched there, or was re-dispatched); not applied")
            return False
        return True  # not outstanding: the server records it as a duplicate

    def accepted(self, peer: _Peer, seq: int) -> None:
        """The server took ``peer``'s correction of block ``seq``: the peer holds it no more.

        (A correction the server could not use, e.g. of the wrong width, leaves the block
        with the peer, which may still send the right one.)"""
        if seq in peer.held:
            peer.held.discard(seq)
            peer.blocks += 1

    # -- registration and liveness -----------------------------------------------------------
    def _register(self, routing: bytes, rec: Record, body: Register) -> None:
        if body.role not in DISPATCH_ROLES or body.name != rec.source:
            self._refuse(routing, rec, "bad_registration",
                         f"registration of {body.name!r} (role {body.role}, source {rec.source!r}) "
                         f"refused: only {', '.join(DISPATCH_ROLES)} workers register, under "
                         "their own name")
            return
        old = self.peers.get(routing)
        if old is not None:
            self._drop(old, "registered again")
        for other in [p for p in self.peers.values() if p.name == body.name]:
            self._drop(other, f"replaced by a new registration of {body.name}")
        now = time.time()
        peer = _Peer(routing, body.name, body.role, credit=int(body.credit), last_seen=now,
                     pid=int(body.pid), host=body.host)
        self.peers[routing] = peer
        self.registrations += 1
        again = body.name in self.names_seen
        self.names_seen.add(body.name)
        self.records.event("info", "worker_registered",
                           f"{peer.describe()} registered with credit {body.credit}"
                           + (" (again)" if again else ""),
                           worker=body.name, peer=routing.hex(), credit=int(body.credit),
                           pid=int(body.pid), host=body.host, again=again)
        send_record(self.socket, self.out.build(Heartbeat(role="instrument_server")),
                    prefix=[routing])
        self.dispatch()

    def _drop(self, peer: _Peer, why: str) -> None:
        """Forget ``peer``; its blocks go back to the front of the queue, oldest first."""
        self.peers.pop(peer.routing, None)
        held = sorted(s for s in peer.held if (b := self.blocks.get(s)) is not None
                      and b.correction is None)
        for seq in held:
            self.blocks.get(seq).holder = None
        self.queue.extendleft(reversed(held))
        if held or why != "registered again":
            self.records.event("warning", "worker_dropped",
                               f"{peer.describe()} {why}; {len(held)} block(s) it held re-dispatched",
                               worker=peer.name, peer=peer.routing.hex(), blocks=held, reason=why)
        self.dispatch()

    def tick(self, now: float) -> None:
        """Send heartbeats that are due and declare lost the workers silent too long."""
        for peer in list(self.peers.values()):
            silent = now - peer.last_seen
            if silent > self.heartbeat_timeout:
                self.workers_lost += 1
                self.detections.append({"worker": peer.name, "silent_s": silent, "time": now})
                self.records.event("error", "worker_lost",
                                   f"{peer.describe()} silent for {silent:.2f} s (timeout "
                                   f"{self.heartbeat_timeout} s): declared lost",
                                   worker=peer.name, peer=peer.routing.hex(), silent_s=silent,
                                   held=len(peer.held))
                self._drop(peer, "declared lost")
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.heartbeat_interval
            if self.peers:
                rec = self.out.build(Heartbeat(role="instrument_server"))
                for routing in self.peers:
                    send_record(self.socket, rec, prefix=[routing])

    def next_deadline(self) -> float:
        """When :meth:`tick` next has something to do (UNIX time)."""
        deadline = self._next_heartbeat
        for peer in self.peers.values():
            deadline = min(deadline, peer.last_seen + self.heartbeat_timeout)
        return deadline

    # -- refusals ----------------------------------------------------------------------------
    def _refuse(self, routing: bytes, rec: Record, why: str, message: str) -> None:
        """Refuse a well-formed record: counted and recorded with the peer's identity (its
        authenticated role, else its registered name, else the source it claimed)."""
        self.refused += 1
        known = self.peers.get(routing)
        authenticated = bool(self.inbox.user_ids)
        peer = rec.source if authenticated or known is None else known.name
        self._on_reject(Rejection(reason=why, message=f"instrument server refused {message}",
                                  peer=peer, source=rec.source, kind=rec.kind,
                                  authenticated=authenticated, channel="syndromes"))

    def _on_reject(self, rejection: Rejection) -> None:
        if self._reject_to is not None:
            self._reject_to(rejection)
            return
        self.records.event("error", "rejected_record",
                           f"instrument server rejected a message on the dispatch socket from "
                           f"{rejection.peer}: {rejection.message}", **rejection.details())

    @property
    def rejected(self) -> int:
        """Malformed messages and refused records on the dispatch socket."""
        return self.inbox.rejected + self.refused

    def worker_names(self) -> list[str]:
        return sorted(p.name for p in self.peers.values())


def peer_register(outbox: Outbox, *, role: str, credit: int, pid: int, host: str) -> None:
    """Send this worker's :class:`~qplane.records.Register` on ``outbox`` (its DEALER)."""
    outbox.send(Register(name=outbox.source, role=role, credit=credit, pid=pid, host=host))
