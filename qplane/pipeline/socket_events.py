"""What libzmq says about a receiving socket's connections: dropped ones and failed handshakes.

A message larger than ``qplane.security.max_message_bytes`` (``ZMQ_MAXMSGSIZE``) never reaches
a receiver: libzmq's decoder refuses its size header and libzmq closes the connection. That is
the only trace it leaves. In libzmq 4.3 (``v2_decoder_t::size_ready`` sets ``EMSGSIZE``;
``stream_engine_base_t::in_event_internal`` calls ``error(protocol_error)``) the socket monitor
then emits ``ZMQ_EVENT_DISCONNECTED`` alone, the very event of a peer that closed its socket,
died or reset the connection: no handshake-failure event (``error()`` skips those for protocol
errors), no errno, no routing id. A dropped oversize message therefore cannot be told apart
from an ordinary disconnect, nor attributed to a peer. What can be done, and is done here:

- :class:`ConnectionWatch` attaches a socket monitor to each receiving (binding) socket and
  counts, per endpoint, the connections accepted and dropped and the handshakes that failed
  (``ZMQ_EVENT_HANDSHAKE_FAILED_AUTH``: a peer without the run's key; ``_PROTOCOL`` /
  ``_NO_DETAIL``: a peer that does not speak ZMTP): each is a :class:`ConnectionEvent`, handed
  to a callback that records it in ``/events`` (the first rows per endpoint and kind, then one
  in ``summary_every``, as rejections are). Disconnects of peers that ended in order (the
  receiver says how many, ``expected``) are counted but not rows; what is left,
  :meth:`ConnectionWatch.unexplained`, goes into one warning row when the process ends. An
  oversize message shows there as one dropped connection more than the peers that left or
  were killed; a flood of them as many.

Nothing here is on a hot path: :meth:`ConnectionWatch.poll` drains the monitors without waiting,
at most every ``interval`` seconds, from the process's loop.

>>> import zmq
>>> ctx = zmq.Context()
>>> server = ctx.socket(zmq.ROUTER); server.setsockopt(zmq.MAXMSGSIZE, 100)
>>> port = server.bind_to_random_port("tcp://127.0.0.1")
>>> watch = ConnectionWatch(interval=0.0); watch.watch(server, "records")
>>> watch.counts["records", "disconnected"]
0
>>> watch.close(); ctx.destroy(linger=0)
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

#: The monitor events counted, by the name they are counted under.
EVENT_NAMES = {
    zmq.EVENT_ACCEPTED: "accepted",
    zmq.EVENT_DISCONNECTED: "disconnected",
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "handshake_failed_auth",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "handshake_failed_protocol",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake_failed_no_detail",
}

_MASK = 0
for _event in EVENT_NAMES:
    _MASK |= _event

#: What each counted kind may mean, for the event rows.
MEANING = {
    "disconnected": "the peer closed its socket or died, or sent a message over "
                    "max_message_bytes, which libzmq drops by closing the connection without "
                    "telling which",
    "handshake_failed_auth": "the peer does not hold a key of a role this endpoint admits",
    "handshake_failed_protocol": "the peer broke the ZeroMQ handshake (not a ZMTP peer?)",
    "handshake_failed_no_detail": "the connection failed during the ZeroMQ handshake",
}


@dataclasses.dataclass(frozen=True)
class ConnectionEvent:
    """One monitor event of a watched socket: its endpoint name, the kind (a value of
    :data:`EVENT_NAMES`), the event's value (the connection's file descriptor, or an error
    code), its count so far for (endpoint, kind), and whether it deserves an event row."""

    endpoint: str
    kind: str
    value: int
    count: int
    row: bool

    def message(self, process: str) -> str:
        return (f"{process}: a connection on {self.endpoint} was {self.kind.replace('_', ' ')} "
                f"({self.count} so far): {MEANING.get(self.kind, '')}")


def connections_text(process: str, unexplained: dict[str, int]) -> str:
    """The end-of-run row's message.

    >>> connections_text("recorder", {"records": 2})
    'recorder: 2 connection(s) on records dropped or refused beyond the peers that ended in order (a killed peer, a failed handshake, or a message over max_message_bytes, which libzmq drops without saying so)'
    """
    where = ", ".join(f"{n} connection(s) on {e}" for e, n in sorted(unexplained.items()))
    return (f"{process}: {where} dropped or refused beyond the peers that ended in order (a "
            "killed peer, a failed handshake, or a message over max_message_bytes, which libzmq "
            "drops without saying so)")


class ConnectionWatch:
    """Counts the connection events of receiving sockets (see the module's docstring).

    Args:
        on_event: called with each :class:`ConnectionEvent` but ``accepted`` (counted only).
        rows_per_key: how many events of each (endpoint, kind) are rows; then one in
            ``summary_every``.
        summary_every: see ``rows_per_key``.
        interval: :meth:`poll` drains the monitors at most this often (seconds).
    """

    def __init__(self, on_event: Callable[[ConnectionEvent], None] | None = None, *,
                 rows_per_key: int = 20, summary_every: int = 1000, interval: float = 0.25):
        self.on_event = on_event
        self.rows_per_key = rows_per_key
        self.summary_every = summary_every
        self.interval = interval
        self.counts: Counter[tuple[str, str]] = Counter()
        self._monitors: list[tuple[str, zmq.Socket, zmq.Socket]] = []
        self._expected: dict[str, Callable[[], int]] = {}
        self._beyond: Counter[tuple[str, str]] = Counter()  # the largest unexplained count seen
        self._next = 0.0

    def watch(self, sock: zmq.Socket, endpoint: str,
              expected: Callable[[], int] = lambda: 0) -> None:
        """Monitor ``sock`` (call from the thread that owns it) under the name ``endpoint``.

        ``expected()`` says how many of its connections have ended in order so far (peers
        that ended their streams, processes that exited): disconnects up to that many are
        counted but not recorded as rows, and :meth:`unexplained` subtracts them."""
        monitor = sock.get_monitor_socket(_MASK)
        monitor.setsockopt(zmq.LINGER, 0)
        self._monitors.append((endpoint, sock, monitor))
        self._expected[endpoint] = expected
        for kind in EVENT_NAMES.values():
            self.counts[endpoint, kind] += 0

    def poll(self, *, force: bool = False) -> int:
        """Take the events waiting (never waits); at most every ``interval`` s unless
        ``force``. Returns how many were taken."""
        now = time.monotonic()
        if not force and now < self._next:
            return 0
        self._next = now + self.interval
        taken = 0
        for endpoint, _sock, monitor in self._monitors:
            while True:
                try:
                    got = recv_monitor_message(monitor, flags=zmq.NOBLOCK)
                except zmq.Again:
                    break
                except (zmq.ZMQError, ValueError):  # closed, or a malformed monitor frame
                    break
                taken += 1
                self._note(endpoint, got)
        return taken

    def _note(self, endpoint: str, got: dict) -> None:
        kind = EVENT_NAMES.get(got.get("event"))
        if kind is None:
            return
        self.counts[endpoint, kind] += 1
        if kind == "accepted" or self.on_event is None:
            return
        n = self.counts[endpoint, kind]
        # a row only when the count beyond what ended in order grows (and then bounded)
        beyond = n - (self._explained(endpoint) if kind == "disconnected" else 0)
        grew = beyond > self._beyond[endpoint, kind]
        if grew:
            self._beyond[endpoint, kind] = beyond
        self.on_event(ConnectionEvent(
            endpoint, kind, int(got.get("value") or 0), n,
            row=grew and (beyond <= self.rows_per_key or beyond % self.summary_every == 0)))

    def _explained(self, endpoint: str) -> int:
        try:
            return max(0, int(self._expected.get(endpoint, lambda: 0)()))
        except Exception:  # noqa: BLE001 - a count read mid-teardown explains nothing
            return 0

    def unexplained(self) -> dict[str, int]:
        """Per endpoint: connections dropped beyond those that ended in order (``expected``),
        plus the failed handshakes; only endpoints with any."""
        out = {}
        for endpoint in self._expected:
            n = max(0, self.counts[endpoint, "disconnected"] - self._explained(endpoint))
            n += sum(self.counts[endpoint, k] for k in EVENT_NAMES.values()
                     if k.startswith("handshake_failed"))
            if n:
                out[endpoint] = n
        return out

    def summary(self) -> dict[str, dict[str, int]]:
        """Every count, as ``{endpoint: {kind: n}}`` (kinds with a zero count left out)."""
        out: dict[str, dict[str, int]] = {}
        for (endpoint, kind), n in sorted(self.counts.items()):
            if n:
                out.setdefault(endpoint, {})[kind] = n
        return out


    def close(self) -> None:
        """Stop monitoring and close the monitor sockets (before the context is destroyed)."""
        for _endpoint, sock, monitor in self._monitors:
            try:
                if not sock.closed:
                    sock.disable_monitor()
            except zmq.ZMQError:
                pass
            monitor.close(linger=0)
        self._monitors.clear()
