"""Sending and receiving records over ZeroMQ sockets, with sequence tracking.

- :class:`Outbox` numbers the records one process sends, per kind, and sends each packed in
  one frame (:func:`~qplane.records.pack`: ZeroMQ, and CURVE, pay per frame).
- :class:`Inbox` receives and validates records, binds each one's ``source`` to the peer's
  authenticated identity and checks that the peer's role may send its kind
  (:mod:`qplane.pipeline.security`); whatever is wrong with a message becomes a counted
  :class:`~qplane.pipeline.rejections.Rejection` handed to a callback, never an exception in
  the receiving loop.
- :class:`SequenceTracker` tells in-order, gap and duplicate apart per (source, kind), and
  refuses a jump beyond its window instead of following it.
- :func:`make_socket` bounds every socket (message size, queues) and secures it with CURVE
  where its context says so (:class:`~qplane.pipeline.security.SecureContext`).

>>> t = SequenceTracker(window=100)
>>> [t.observe("srv", "syndrome", s).status for s in (0, 1, 3, 3, 10**9, 4)]
['ok', 'ok', 'gap', 'duplicate', 'out_of_window', 'ok']
"""

from __future__ import annotations

import collections
import functools
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple

import msgspec
import msgspec.inspect
import numpy as np
import stim
import zmq

from qplane.errors import PipelineError, WireFormatError
from qplane.pipeline.rejections import Rejection
from qplane.pipeline.security import SENDERS, CHANNELS, peer_identity, role_of
from qplane.records import (RECORD_KINDS, Body, Circuit, CircuitRequest, Event, Record, StreamEnd,
                            decode, pack, unbundle)

#: Default bounds of a socket made without a run's security settings.
MAX_MESSAGE_BYTES = 64 * 2**20
QUEUE_LIMIT = 1000
MAX_JSON_DEPTH = 32
#: Most records in one bundle (:meth:`Outbox.hold`), and most bytes (a bundle is one message).
MAX_BUNDLE_RECORDS = 256
MAX_BUNDLE_BYTES = 4 * 2**20
#: Sources whose role an :class:`Inbox` remembers (a run has a handful; forged ones are many).
MAX_CACHED_ROLES = 1024
#: What a process name (a record's ``source``) or a run id may not hold: NUL and the other
#: control characters (C0, DEL, C1). Real names are printable; a forged one is refused.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: The role an :class:`Inbox` caches for a source holding a control character (never a role).
_BAD_NAME = "\x00"

log = logging.getLogger(__name__)


class SequenceCheck(NamedTuple):
    """Result of observing one sequence number (a named tuple: one per record received)."""

    status: str  # "ok" | "gap" | "duplicate" | "out_of_window"
    expected: int
    missing: int = 0  # records skipped, for a gap


class SequenceTracker:
    """Tracks the next expected sequence number per (source, kind).

    A number more than ``window`` ahead of the expected one is ``out_of_window``: it is not
    followed (one forged record with seq 10^9 must not make every later real record a
    "duplicate").
    """

    def __init__(self, window: int | None = None) -> None:
        self._next: dict[tuple[str, str], int] = {}
        self.window = window

    def expected(self, source: str, kind: str) -> int:
        """The seq expected next from (source, kind)."""
        return self._next.get((source, kind), 0)

    def start_at(self, source: str, kind: str, seq: int) -> None:
        """Expect ``seq`` next from (source, kind) (a recorder taking up a stream again)."""
        self._next[(source, kind)] = seq

    def streams(self) -> dict[tuple[str, str], int]:
        """(source, kind) -> the seq expected next, for every stream seen."""
        return dict(self._next)

    def advance(self, source: str, kind: str, seq: int) -> bool:
        """Take ``seq`` if it is the one expected next (the usual case: no check object made);
        return False, changing nothing, for anything else (then :meth:`observe` says what).

        >>> t = SequenceTracker()
        >>> t.advance("s", "k", 0), t.advance("s", "k", 2), t.observe("s", "k", 2).status
        (True, False, 'gap')
        """
        key = (source, kind)
        if self._next.get(key, 0) != seq:
            return False
        self._next[key] = seq + 1
        return True

    def observe(self, source: str, kind: str, seq: int) -> SequenceCheck:
        key = (source, kind)
        expected = self._next.get(key, 0)
        if seq < expected:
            return SequenceCheck("duplicate", expected)
        if self.window is not None and seq - expected > self.window:
            return SequenceCheck("out_of_window", expected, missing=seq - expected)
        self._next[key] = seq + 1
        if seq > expected:
            return SequenceCheck("gap", expected, missing=seq - expected)
        return SequenceCheck("ok", expected)


class Outbox:
    """Builds, numbers and sends the records of one source on one socket.

    It counts what it sent per kind (:attr:`sent`), so a stream can end with a
    :class:`~qplane.records.StreamEnd` record carrying the counts (:meth:`end_stream`).
    """

    def __init__(self, socket: zmq.Socket, *, run_id: str, source: str):
        self.socket = socket
        self.run_id = run_id
        self.source = source
        self._seq: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self._held: list[Any] | None = None  # frames held for one bundle (hold / release)
        self.held_since = 0.0  # when the records held were first held (time.monotonic)

    @property
    def held(self) -> int:
        """Records held for the next bundle (see :meth:`hold`)."""
        return len(self._held) if self._held is not None else 0

    def hold(self) -> None:
        """Hold what is sent from now on, to go as one bundle (one message,
        :func:`~qplane.records.unbundle`) at :meth:`release`; only for a receiver that takes
        bundles (the recorder's :class:`Inbox` does). At most :data:`MAX_BUNDLE_RECORDS`
        records or :data:`MAX_BUNDLE_BYTES` go in one bundle (more are sent at once)."""
        if self._held is None:
            self._held = []
            self.held_since = time.monotonic()

    def release(self) -> None:
        """Send what :meth:`hold` held, as one message, and stop holding."""
        held, self._held = self._held, None
        if held:
            send_parts(self.socket, held)

    def next_seq(self, kind: str) -> int:
        return self._seq[kind]

    def build(self, body: Body, arrays: dict[str, np.ndarray] | None = None) -> Record:
        """Build the next record of ``body``'s kind (consuming its sequence number) without sending."""
        kind = body.kind_name()
        rec = Record.build(body, run_id=self.run_id, source=self.source, seq=self._seq[kind],
                           arrays=arrays)
        self._seq[kind] += 1
        return rec

    def send(self, body: Body, arrays: dict[str, np.ndarray] | None = None) -> Record:
        """Build and send the next record of ``body``'s kind."""
        rec = self.build(body, arrays)
        self.send_frames(rec, [pack(rec)])
        return rec

    def send_frames(self, rec: Record, frames: list[Any]) -> None:
        """Send ``rec``, already encoded as ``frames`` (one record sent to two places is encoded
        once; :func:`~qplane.records.pack` makes the one frame senders send)."""
        self.sent[rec.kind] += 1
        held = self._held
        if held is not None and len(frames) == 1:
            held.append(frames[0])
            if len(held) >= MAX_BUNDLE_RECORDS:
                self.release()
                self.hold()
            return
        send_parts(self.socket, frames)

    def event(self, level: str, event: str, message: str, **details: Any) -> Record:
        """Send an ``event`` record (errors, gaps, lifecycle)."""
        return self.send(Event(level=level, event=event, message=message, details=details))

    def end_stream(self) -> Record:
        """Send the :class:`~qplane.records.StreamEnd` record: how many of each kind were sent."""
        return self.send(StreamEnd(sent=dict(self.sent)))


def send_record(socket: zmq.Socket, rec: Record, *, prefix: list[bytes] | None = None) -> None:
    """Send an already-built record, packed in one frame (optionally behind ROUTER identity
    frames)."""
    send_parts(socket, [*(prefix or []), pack(rec)])


#: libzmq's flags and options as plain ints: pyzmq's are enum members, and each ``|`` or
#: ``&`` of them builds a new member (microseconds, on every frame of a hot path).
SNDMORE, NOBLOCK, EVENTS, POLLIN, RCVMORE = (int(zmq.SNDMORE), int(zmq.NOBLOCK),
                                             int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.RCVMORE))


def send_parts(socket: zmq.Socket, parts: list[Any], flags: int = 0) -> None:
    """``socket.send_multipart(parts, flags)`` at a third of its cost (no enum arithmetic
    and type check per frame: about 5 against 15 µs for three frames). As there, a message
    whose first frame was taken is taken whole (``zmq.Again`` can only come first)."""
    more = flags | SNDMORE
    for part in parts[:-1]:
        socket.send(part, more)
    socket.send(parts[-1], flags)


def recv_parts(socket: zmq.Socket, flags: int = 0) -> list[bytes]:
    """``socket.recv_multipart(flags)`` without its option lookups per frame: each frame is
    received as a :class:`zmq.Frame`, whose ``more`` is read in C, and returned as its
    ``bytes`` (``socket.get(RCVMORE)`` converts the option to an enum each time: a
    microsecond a frame; with ``copy=True`` a big frame is copied twice). As there,
    ``zmq.Again`` can only come first, and the rest of a message whose first frame came is
    there at once."""
    recv = socket.recv
    frame = recv(flags, copy=False)
    if not frame.more:  # one frame: nearly every message
        return [frame.bytes]
    parts = [frame.bytes]
    while frame.more:
        frame = recv(copy=False)
        parts.append(frame.bytes)
    return parts


class Inbox:
    """Receives records from a socket, validating and authorising each, counting rejections.

    A record is rejected (counted in :attr:`rejected`, handed to ``on_reject`` as a
    :class:`~qplane.pipeline.rejections.Rejection`, and ``recv`` returns None) when it does not
    decode, belongs to another run, claims a ``source`` (or, with no ``run_id`` to match, a
    run id) holding a NUL or another control character (``bad_name``: checked once per
    source, with its role), nests its free-form JSON deeper than ``max_json_depth``,
    claims a ``source`` whose role is not the peer's authenticated identity (CURVE sockets), or
    is of a kind its sender's role may not send (``senders``; by default
    :data:`~qplane.pipeline.security.SENDERS` on a socket of a
    :class:`~qplane.pipeline.security.SecureContext`, nothing on a plain context).

    Args:
        socket: the socket to read.
        on_reject: called with each :class:`~qplane.pipeline.rejections.Rejection`.
        run_id: if given, records of another run are rejected.
        envelope: number of routing frames before the record (1 for a ROUTER socket).
        senders: record kind -> roles that may send it; None: no role check.
    """

    def __init__(self, socket: zmq.Socket, *, on_reject: Callable[[Rejection], None] | None = None,
                 run_id: str | None = None, envelope: int = 0,
                 senders: Mapping[str, frozenset[str]] | None | str = "default",
                 max_json_depth: int | None = None):
        self.socket = socket
        self.on_reject = on_reject
        self.run_id = run_id
        self.envelope = envelope
        self.rejected = 0
        self.received = 0
        security = getattr(socket.context, "security", None)
        info = security.socket_info(socket) if security is not None else None
        self.channel = info.channel if info is not None else ""
        self.user_ids = bool(info and info.curve and info.bind)  # ZAP User-Id on every frame
        # A CURVE client knows its server by the server's key: the channel's binding role.
        self.server_role = (CHANNELS[info.channel][0] if info is not None and info.curve
                            and not info.bind and info.channel in CHANNELS else None)
        if senders == "default":
            senders = SENDERS if security is not None else None
        self.senders = senders
        self.max_json_depth = (max_json_depth if max_json_depth is not None else
                               security.max_json_depth if security is not None else MAX_JSON_DEPTH)
        self._pending: collections.deque[tuple[list[bytes], Record] | None] = collections.deque()
        self._roles: dict[str, str] = {}  # source -> its role (role_of: a regex split)
        self._run_ids: set[str] = set()  # run ids seen and found printable (no run_id given)
        for kind in RECORD_KINDS.values():  # once per process (cached): not on a block's path
            _nests(kind)

    @property
    def pending(self) -> int:
        """Records of a bundle already received and not yet returned by :meth:`recv` (a
        receiver that waits on the socket looks here first)."""
        return len(self._pending)

    def recv(self, flags: int = 0) -> tuple[list[bytes], Record] | None:
        """Receive one record; return (routing frames, record), or None if it was rejected.

        A bundle (several records in one message, :func:`~qplane.records.unbundle`) is
        received at once and returned record by record, each checked and counted on its own
        (a part that does not decode refuses the whole bundle, as one malformed message);
        :attr:`pending` says how many of it are left.
        """
        if self._pending:
            return self._pending.popleft()
        peer: str | None = self.server_role
        if self.user_ids:
            raw = self.socket.recv_multipart(flags, copy=False)
            peer = peer_identity(raw[-1])
            frames: list[Any] = [f.bytes for f in raw[: self.envelope]] + [f.buffer for f in raw[self.envelope:]]
        else:
            frames = recv_parts(self.socket, flags)
        routing, body = frames[: self.envelope], frames[self.envelope:]
        parts = unbundle(body)
        recs = []
        for i, part in enumerate(parts):
            try:
                recs.append(decode(part))
            except Exception as e:  # noqa: BLE001 - nothing a message causes escapes the loop
                what = str(e) if isinstance(e, WireFormatError) else (
                    f"message cannot be decoded: {type(e).__name__}: {e}")
                if len(parts) > 1:  # one malformed part: the whole bundle is refused, once
                    what = f"bundle of {len(parts)} records, record {i}: {what}"
                return self.reject("malformed", what, peer=peer, accepted=False)
        if len(recs) == 1:
            return self._admit(routing, recs[0], peer)
        self._pending.extend(self._admit(routing, rec, peer) for rec in recs)
        return self._pending.popleft()

    def _admit(self, routing: list[bytes], rec: Record,
               peer: str | None) -> tuple[list[bytes], Record] | None:
        """(routing, rec) if ``rec`` (decoded and valid) may be taken; else a rejection."""
        problem = self._problem(rec, peer)
        if problem is not None:
            return self.reject(*problem, peer=peer, rec=rec, accepted=False)
        self.received += 1
        return routing, rec

    def _problem(self, rec: Record, peer: str | None) -> tuple[str, str] | None:
        """(reason, message) if ``rec`` must be refused, else None."""
        if self.run_id is not None:
            if rec.run_id != self.run_id:
                return "other_run", f"record of run {rec.run_id!r} received in run {self.run_id!r}"
        elif rec.run_id not in self._run_ids:
            if _CONTROL.search(rec.run_id):
                return "bad_name", (f"{rec.kind} record's run id {rec.run_id!r} holds a NUL "
                                    "or control character; a run id is printable text")
            if len(self._run_ids) < MAX_CACHED_ROLES:
                self._run_ids.add(rec.run_id)
        role = self._roles.get(rec.source)
        if role is None:  # once per source: its role, or that it is no name at all
            role = _BAD_NAME if _CONTROL.search(rec.source) else role_of(rec.source)
            if len(self._roles) < MAX_CACHED_ROLES:  # a flood of forged sources stays bounded
                self._roles[rec.source] = role
        if role is _BAD_NAME:
            return "bad_name", (f"{rec.kind} record's source {rec.source!r} holds a NUL or "
                                "control character; a process name is printable text")
        if peer is not None and role != peer:
            return ("identity", f"{rec.kind} record claims source {rec.source!r}, but its sender "
                                f"authenticated as {peer!r}")
        if self.senders is not None and role not in self.senders.get(rec.kind, ()):
            return "not_allowed", f"{role} may not send {rec.kind} records"
        if _nests(type(rec.body)) and json_depth(rec.body, self.max_json_depth + 1) > self.max_json_depth:
            return ("too_deep", f"{rec.kind} record nests its JSON deeper than "
                                f"{self.max_json_depth} levels")
        return None

    def reject(self, reason: str, message: str, *, peer: str | None = None,
               rec: Record | None = None, accepted: bool = True) -> None:
        """Count and report one rejection: receivers call it for a record :meth:`recv` returned
        that their handlers refuse (``accepted``: it no longer counts as received)."""
        self.rejected += 1
        if accepted:
            self.received -= 1
        claimed = rec.source if rec is not None else ""
        shown = peer or claimed or "unknown"
        if peer is None and _CONTROL.search(claimed):  # a forged name: shown escaped
            shown = repr(claimed)[1:-1]
        rejection = Rejection(reason=reason, message=message, peer=shown, source=claimed,
                              kind=rec.kind if rec is not None else "",
                              authenticated=peer is not None, channel=self.channel)
        # debug only: a flood must not become a flood of log lines (the receivers' events count it)
        log.debug("rejected message from %s: %s", rejection.peer, message)
        if self.on_reject is not None:
            self.on_reject(rejection)
        return None


@functools.cache
def _nests(cls: type) -> bool:
    """Whether a record kind has a field that can nest (a mapping, a list that can hold one,
    a struct); a list of numbers or strings cannot, and is not walked for each record.

    >>> from qplane.records import Correction, Corrections, Event
    >>> _nests(Correction), _nests(Corrections), _nests(Event)
    (False, False, True)
    """
    info = msgspec.inspect.type_info(cls)

    def nests(t: Any) -> bool:
        if isinstance(t, msgspec.inspect.UnionType):
            return any(nests(x) for x in t.types)
        if isinstance(t, msgspec.inspect.ListType):
            return isinstance(t.item_type, (msgspec.inspect.DictType, msgspec.inspect.ListType,
                                            msgspec.inspect.StructType, msgspec.inspect.AnyType,
                                            msgspec.inspect.UnionType))
        return isinstance(t, (msgspec.inspect.DictType, msgspec.inspect.StructType,
                              msgspec.inspect.AnyType))

    return any(nests(f.type) for f in info.fields)


def json_depth(value: Any, limit: int) -> int:
    """How deep ``value`` (a record body or plain data) nests, counting up to ``limit``.

    >>> json_depth({"a": [1, {"b": 2}]}, 10), json_depth([[[[]]]], 2)
    (3, 2)
    """
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, msgspec.Struct):
            children = [getattr(item, f) for f in item.__struct_fields__]
            depth -= 1  # a record's own fields are not nesting
        elif isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest >= limit:
            return deepest
        stack.extend((c, depth) for c in children)
    return deepest


def queued(inbox: "Inbox", limit: int | None = None, *,
           ready: bool = False) -> Iterator[tuple[list[bytes], Record] | None]:
    """Receive what is already queued on ``inbox``, without waiting and without a poll per
    message (``None`` for a rejected one); at most ``limit`` messages. ``ready``: the caller's
    poll just said a message is there, so the first receive does not ask ``ZMQ_EVENTS`` first
    (a receive that finds nothing after all still ends the drain, as ``zmq.Again``).

    Whatever the socket type; the hot paths use it to drain a queue after one blocking wait.
    """
    n = 0
    while limit is None or n < limit:
        if ready:
            ready = False
        elif not inbox.pending and not has_message(inbox.socket):
            return
        try:
            got = inbox.recv(NOBLOCK)
        except zmq.Again:
            return
        n += 1
        yield got


def has_message(socket: zmq.Socket) -> bool:
    """Whether a message can be received from ``socket`` now (``ZMQ_EVENTS``: about half the
    cost of a non-blocking receive that raises :class:`zmq.Again` on an empty queue)."""
    return bool(socket.getsockopt(EVENTS) & POLLIN)


def make_socket(context: zmq.Context, kind: int, endpoint: str, *, bind: bool,
                hwm: int | None = None, linger_ms: int = 2000) -> zmq.Socket:
    """A socket of ``kind`` bound or connected to ``endpoint``, bounded and, where due, secured.

    Every socket gets a maximum message size (``ZMQ_MAXMSGSIZE``) and bounded queues; on a
    :class:`~qplane.pipeline.security.SecureContext` they are the run's, and a tcp endpoint
    (every endpoint, with ``require_keys``) is CURVE-encrypted with the run's keys. ``hwm``
    overrides the queue bound. ``linger_ms`` is how long closing it waits to deliver what is
    still queued; -1 waits until everything is delivered (used for records to the recorder,
    which must never be dropped).
    """
    sock = context.socket(kind)
    sock.setsockopt(zmq.LINGER, linger_ms)
    security = getattr(context, "security", None)
    if security is not None:
        security.apply(sock, endpoint, bind=bind)
    else:
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        sock.setsockopt(zmq.SNDHWM, QUEUE_LIMIT)
        sock.setsockopt(zmq.RCVHWM, QUEUE_LIMIT)
    if hwm is not None:
        sock.setsockopt(zmq.SNDHWM, hwm)
        sock.setsockopt(zmq.RCVHWM, hwm)
    if bind:
        sock.bind(endpoint)
    else:
        sock.connect(endpoint)
    return sock


def request_circuit(control: zmq.Socket, outbox: Outbox, circuit_id: str, *,
                    timeout: float = 10.0,
                    should_stop: Callable[[], bool] = lambda: False) -> tuple[str, stim.Circuit]:
    """Ask the instrument server for a decoding circuit by id (``""``: the current one).

    ``should_stop`` is checked every 0.1 s while waiting: once true, it gives up at once.

    Returns:
        (its id, the circuit).
    """
    outbox.send(CircuitRequest(circuit_id=circuit_id))
    deadline = time.monotonic() + timeout
    while not control.poll(int(min(0.1, timeout) * 1000)):
        if should_stop() or time.monotonic() >= deadline:
            why = "it is stopping" if should_stop() else f"not within {timeout} s"
            raise PipelineError(f"{outbox.source}: the instrument server did not send circuit "
                                f"{circuit_id or '(current)'} ({why})")
    reply = decode(control.recv_multipart())
    body = reply.body
    if not isinstance(body, Circuit) or circuit_id not in ("", body.circuit_id):
        raise PipelineError(f"{outbox.source}: asked for circuit {circuit_id or '(current)'}, got "
                            f"{reply.kind} {getattr(body, 'circuit_id', '')}")
    return body.circuit_id, stim.Circuit(body.stim_circuit)
