"""Sending and receiving records over ZeroMQ sockets, with sequence tracking.

- :class:`Outbox` numbers the records one process sends, per kind, and sends them.
- :class:`Inbox` receives, validates and sequence-checks records; a malformed message is
  counted and reported to a callback, never raised into the receiving loop.
- :class:`SequenceTracker` tells in-order, gap and duplicate apart per (source, kind).

>>> t = SequenceTracker()
>>> [t.observe("srv", "syndrome", s).status for s in (0, 1, 3, 3)]
['ok', 'ok', 'gap', 'duplicate']
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import stim
import zmq

from qplane.errors import PipelineError, WireFormatError
from qplane.records import Body, Circuit, CircuitRequest, Event, Record, StreamEnd, decode, encode

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SequenceCheck:
    """Result of observing one sequence number."""

    status: str  # "ok" | "gap" | "duplicate"
    expected: int
    missing: int = 0  # records skipped, for a gap


class SequenceTracker:
    """Tracks the next expected sequence number per (source, kind)."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str], int] = {}

    def observe(self, source: str, kind: str, seq: int) -> SequenceCheck:
        key = (source, kind)
        expected = self._next.get(key, 0)
        if seq < expected:
            return SequenceCheck("duplicate", expected)
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
        self.send_frames(rec, encode(rec))
        return rec

    def send_frames(self, rec: Record, frames: list[Any]) -> None:
        """Send ``rec``, already encoded as ``frames`` (one record sent to two places is encoded once)."""
        self.socket.send_multipart(frames)
        self.sent[rec.kind] += 1

    def event(self, level: str, event: str, message: str, **details: Any) -> Record:
        """Send an ``event`` record (errors, gaps, lifecycle)."""
        return self.send(Event(level=level, event=event, message=message, details=details))

    def end_stream(self) -> Record:
        """Send the :class:`~qplane.records.StreamEnd` record: how many of each kind were sent."""
        return self.send(StreamEnd(sent=dict(self.sent)))


def send_record(socket: zmq.Socket, rec: Record, *, prefix: list[bytes] | None = None) -> None:
    """Send an already-built record (optionally behind ROUTER identity frames)."""
    socket.send_multipart((prefix or []) + encode(rec))


class Inbox:
    """Receives records from a socket, validating each and counting rejections.

    Args:
        socket: the socket to read.
        on_reject: called with (reason, raw frames) for each rejected message.
        run_id: if given, records of another run are rejected.
        envelope: number of routing frames before the record (1 for a ROUTER socket).
    """

    def __init__(self, socket: zmq.Socket, *, on_reject: Callable[[str, list[bytes]], None] | None = None,
                 run_id: str | None = None, envelope: int = 0):
        self.socket = socket
        self.on_reject = on_reject
        self.run_id = run_id
        self.envelope = envelope
        self.rejected = 0
        self.received = 0

    def recv(self, flags: int = 0) -> tuple[list[bytes], Record] | None:
        """Receive one message; return (routing frames, record), or None if it was rejected."""
        frames = self.socket.recv_multipart(flags)
        routing, body = frames[: self.envelope], frames[self.envelope:]
        try:
            rec = decode(body)
            if self.run_id is not None and rec.run_id != self.run_id:
                raise WireFormatError(f"record of run {rec.run_id!r} received in run {self.run_id!r}")
        except WireFormatError as e:
            self.rejected += 1
            log.warning("rejected message: %s", e)
            if self.on_reject is not None:
                self.on_reject(str(e), body)
            return None
        self.received += 1
        return routing, rec


def queued(inbox: "Inbox", limit: int | None = None) -> Iterator[tuple[list[bytes], Record] | None]:
    """Receive what is already queued on ``inbox``, without waiting and without a poll per
    message (``None`` for a rejected one); at most ``limit`` messages.

    Whatever the socket type; the hot paths use it to drain a queue after one blocking wait.
    """
    n = 0
    while limit is None or n < limit:
        try:
            got = inbox.recv(zmq.NOBLOCK)
        except zmq.Again:
            return
        n += 1
        yield got


def make_socket(context: zmq.Context, kind: int, endpoint: str, *, bind: bool,
                hwm: int | None = None, linger_ms: int = 2000) -> zmq.Socket:
    """A socket of ``kind`` bound or connected to ``endpoint``.

    ``linger_ms`` is how long closing it waits to deliver what is still queued; -1 waits until
    everything is delivered (used for records to the recorder, which must never be dropped).
    """
    sock = context.socket(kind)
    sock.setsockopt(zmq.LINGER, linger_ms)
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
