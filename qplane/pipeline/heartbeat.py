"""Heartbeats and the parent watch: how processes of a run know each other are alive.

- :class:`Pulse` sends a :class:`~qplane.records.Heartbeat` on an outbox every ``interval``
  seconds, from the process's own loop (the dispatch socket's heartbeats: a decoding worker
  whose loop is silent gets its blocks re-dispatched);
- :class:`HeartbeatThread` sends every process's heartbeats to the launcher from a thread of
  its own, on a socket of its own, carrying a :class:`Progress` counter the main loop advances:
  a process busy in a long fit or decode still answers (it is *busy*, not dead), a process
  whose loop makes no progress for ``stall_timeout`` is *stalled*, and a stopped (SIGSTOP) or
  dead one sends nothing at all;
- :class:`Liveness` is the receiving side: when each peer was last heard from, when its
  progress counter last moved, and which have been silent longer than a timeout;
- :class:`ParentWatch` tells a child that the process that started it is gone (its parent pid
  changed), and :func:`die_with_parent` asks Linux to send a signal when that happens
  (``prctl(PR_SET_PDEATHSIG)``), the backstop when the child's loop cannot look.

>>> live = Liveness()
>>> live.saw("decoder-0", now=10.0)
>>> live.silent(now=10.5, timeout=1.0), live.silent(now=12.0, timeout=1.0)
([], [('decoder-0', 2.0)])
>>> live.progressed("decoder-0", 5, now=10.0); live.progressed("decoder-0", 5, now=13.0)
>>> live.stalled_for("decoder-0", now=14.0)
4.0
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from typing import Any, Callable

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


class Progress:
    """How far a process's main loop has come: a counter only the main thread advances (each
    loop iteration, each wait slice of a blocking call) and the heartbeat thread reads.

    >>> p = Progress(); p.advance(); p.advance(); p.count
    2
    """

    def __init__(self) -> None:
        self.count = 0

    def advance(self) -> None:
        self.count += 1


class HeartbeatThread:
    """Sends this process's heartbeats to the launcher from a daemon thread of its own.

    ZeroMQ sockets are not thread-safe, so the thread makes its own socket (``make_outbox``
    is called in the thread) and closes it when it stops. Each heartbeat carries
    ``progress.count``: the launcher tells a busy main loop (heartbeats go on, the counter
    stands still) from a stopped or dead process (no heartbeat at all). A C call that holds
    the interpreter's lock for longer than the heartbeat timeout still silences the thread
    (pure-Python and NumPy work does not: the interpreter switches threads every few ms); the
    launcher then tells it from a stuck process by its CPU time
    (:meth:`qplane.pipeline.children.Child.computing`).

    Args:
        make_outbox: builds the outbox (a PUB to the launcher's monitor), in the thread.
        role: the sender's role.
        interval: seconds between heartbeats.
        progress: the main loop's counter.
        blocks: what the process has handled so far (read in the thread).
    """

    def __init__(self, make_outbox: Callable[[], Outbox], *, role: str, interval: float,
                 progress: Progress, blocks: Callable[[], int] = lambda: 0):
        self.make_outbox = make_outbox
        self.role = role
        self.interval = interval
        self.progress = progress
        self.blocks = blocks
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qplane-heartbeat", daemon=True)
        self.pid = os.getpid()

    def start(self) -> "HeartbeatThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Send a last ``stopping`` heartbeat and end the thread (its socket closed)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _beat(self, outbox: Outbox, state: str) -> None:
        try:
            blocks = int(self.blocks())
        except Exception:  # noqa: BLE001 - a counter read mid-teardown must not end the beats
            blocks = 0
        outbox.send(Heartbeat(role=self.role, pid=self.pid, state=state, blocks=max(0, blocks),
                              progress=self.progress.count))
        self.sent += 1

    def _run(self) -> None:
        outbox = self.make_outbox()
        try:
            self._beat(outbox, "running")
            while not self._stop.wait(self.interval):
                self._beat(outbox, "running")
            self._beat(outbox, "stopping")
        except Exception as e:  # noqa: BLE001 - the launcher sees the silence; say why
            print(f"qplane heartbeat thread stopped: {type(e).__name__}: {e}", file=sys.stderr)
        finally:
            outbox.socket.close(linger=0)


class Liveness:
    """When each peer was last heard from, and when its progress counter last moved."""

    def __init__(self) -> None:
        self.last_seen: dict[str, float] = {}
        self._progress: dict[str, tuple[int, float]] = {}  # name -> (count, when it changed)

    def saw(self, name: str, *, now: float) -> None:
        self.last_seen[name] = now

    def progressed(self, name: str, count: int, *, now: float) -> None:
        """``name``'s heartbeat carried progress ``count`` (0: its loop has not started)."""
        old = self._progress.get(name)
        if old is None or old[0] != count:
            self._progress[name] = (count, now)

    def stalled_for(self, name: str, *, now: float) -> float | None:
        """Seconds since ``name``'s progress counter last moved; ``None`` before its loop
        started (no progress reported yet, or 0)."""
        got = self._progress.get(name)
        if got is None or got[0] == 0:
            return None
        return now - got[1]

    def forget(self, name: str) -> None:
        self.last_seen.pop(name, None)
        self._progress.pop(name, None)

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
