"""Record kinds of supervision: registration, credit, heartbeats, flush acks (none is stored).

A decoding worker joins a run by sending :class:`Register` (its name, role and how many blocks
it may hold at once, its *credit*) on the dispatch socket; every correction it sends returns
one credit. :class:`Heartbeat` travels both ways there (worker <-> instrument server) and from
every process to the launcher's monitor socket, so a stopped or hung process is noticed within
the configured timeout. :class:`FlushAck` and :class:`Resync` travel between the recorder and
each sender on the records socket (:mod:`qplane.pipeline.delivery`).

>>> Register(name="decoder-0", role="decoder", credit=4).credit
4
>>> Heartbeat(role="recorder", pid=12).state
'running'
"""

from __future__ import annotations

from typing import Literal

from qplane.records._base import Body, Count

Role = Literal["instrument_server", "decoder", "calibration", "recorder", "launcher"]


class Register(Body, frozen=True, tag="register"):
    """A worker joins the dispatch (worker -> instrument server, on the dispatch socket).

    ``credit`` is how many blocks it may hold undecoded at once; a second ``register`` from
    the same peer replaces the first (its blocks in hand are re-dispatched).
    """

    name: str
    role: Role
    credit: Count
    pid: Count = 0
    host: str = ""


class Heartbeat(Body, frozen=True, tag="heartbeat"):
    """I am alive (both ways on the dispatch socket; every process -> the launcher's monitor).

    ``state`` is ``running`` or ``stopping``; ``blocks`` what the sender has handled so far;
    ``progress`` (to the launcher, from the process's heartbeat thread) how many iterations its
    main loop has made: a counter that stands still while heartbeats go on is a busy (or, past
    ``stall_timeout``, stalled) loop; 0 before the loop starts.
    """

    role: Role
    pid: Count = 0
    state: Literal["running", "stopping"] = "running"
    blocks: Count = 0
    progress: Count = 0


class FlushAck(Body, frozen=True, tag="flush_ack"):
    """What the recorder has made durable of one sender's streams (recorder -> that sender, on
    the records socket, after each flush).

    ``upto`` maps each record kind of the sender's streams to the highest sequence number up to
    which every record of that kind is in the run file as of its latest checkpoint; the sender
    may forget those. ``epoch`` names the recorder's incarnation (its source: ``recorder``,
    ``recorder.r1``, ...): a new one tells the sender that the recorder was restarted, and it
    sends again everything not yet acknowledged (after a :class:`Resync`).
    """

    epoch: str
    upto: dict[str, int]


class Resync(Body, frozen=True, tag="resync"):
    """Where a sender's streams go on (sender -> recorder, on the records socket; not stored).

    Sent when a sender learns of a new recorder ``epoch`` (then followed by every record not yet
    acknowledged, oldest first), and as a probe when no acknowledgement came for a while.
    ``first`` maps each record kind the sender has sent to the sequence number of its oldest
    record not yet acknowledged (or the next it will send); a recorder of that ``epoch`` takes
    the streams up from there, and records a gap for any record the sender no longer has.
    """

    epoch: str
    first: dict[str, int]
