"""Heartbeats and the parent watch: how processes of a run know each other are alive.

- :class:`Pulse` sends a :class:`~qplane.records.Heartbeat` on an outbox every ``interval``
  seconds, from the process's own loop (a hung loop sends none: that is the point);
- :class:`Liveness` is the receiving side: when each peer was last heard from, and which have
  been silent longer than a timeout;
- :class:`ParentWatch` tells a child that the process that started it is gone (its parent pid
  changed), and :func:`die_with_parent` asks Linux to send a signal when that happens
  (``prctl(PR_SET_PDEATHSIG)``), the backstop when the child's loop cannot look.

>>> live = Liveness()
>>> live.saw("decoder-0", now=10.0)
>>> live.silent(now=10.5, timeout=1.0), live.silent(now=12.0, timeout=1.0)
([], [('decoder-0', 2.0)])
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from typing import Any

from qplane.pipeline.transport import Outbox
from qplane.records import Heartbeat

#: prctl option: signal to deliver when the parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


class Pulse:
    """Sends a heartbeat on ``outbox`` when one is due.

    Args:
        outbox: where heartbeats go (a DEALER to the server, or a PUB to the launcher).
        role: the sender's role (see :class:`~qplane.records.Heartbeat`).
        interval: seconds between heartbeats.
    """

    def __init__(self, outbox: Outbox, *, role: str, interval: float):
        self.outbox = outbox
        self.role = role
        self.interval = interval
        self.next_due = 0.0
        self.pid = os.getpid()

    def beat(self, now: float, *, blocks: int = 0, state: str = "running") -> bool:
        """Send a heartbeat if one is due (or ``state`` is ``stopping``); return whether one was sent."""
        if now < self.next_due and state == "running":
            return False
        self.next_due = now + self.interval
        self.outbox.send(Heartbeat(role=self.role, pid=self.pid, state=state, blocks=blocks))
        return True


class Liveness:
    """When each peer was last heard from."""

    def __init__(self) -> None:
        self.last_seen: dict[str, float] = {}

    def saw(self, name: str, *, now: float) -> None:
        self.last_seen[name] = now

    def forget(self, name: str) -> None:
        self.last_seen.pop(name, None)

    def silent(self, *, now: float, timeout: float) -> list[tuple[str, float]]:
        """``(name, seconds silent)`` of every peer silent longer than ``timeout``."""
        return [(n, now - t) for n, t in self.last_seen.items() if now - t > timeout]


class ParentWatch:
    """True once the process that started this one has gone (``os.getppid()`` changed).

    >>> ParentWatch()()
    False
    """

    def __init__(self) -> None:
        self.ppid = os.getppid()

    def __call__(self) -> bool:
        return os.getppid() != self.ppid


def die_with_parent(sig: int = signal.SIGTERM) -> Any:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only; a
    no-op elsewhere). Meant as ``subprocess.Popen(preexec_fn=die_with_parent)``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the children's parent watch still works
        return None
    return None
