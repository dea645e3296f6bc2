"""The launcher's view of each process it started (:class:`Child`) and the verdict on its health.

:func:`judge` says whether a child is fine, *busy* (alive, its heartbeat thread answers, but its
main loop has made no progress for longer than ``heartbeat_timeout``: a long fit, decode or
flush), or *hung*:
stopped by the kernel (SIGSTOP), silent (no heartbeat for ``heartbeat_timeout`` and no CPU time
used meanwhile: dead, or its interpreter stuck waiting), or stalled (no progress for
``stall_timeout`` though it still answers). A silent child that is computing (the kernel shows
it running, or it used CPU time since its last heartbeat: a C call that holds the interpreter's
lock, such as loading a large extension, or a machine so loaded the heartbeat thread is not
scheduled) is busy too, and hung once silent for ``stall_timeout`` (``startup_timeout`` before
its main loop started).

>>> from qplane.config import SupervisionSettings
>>> from qplane.pipeline.heartbeat import Liveness

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: A silent child that used at least this much CPU in the last ``heartbeat_timeout`` s is
#: computing (a few clock ticks: a process stuck waiting uses none).
COMPUTING_CPU_S = 0.03
>>> import subprocess, sys
>>> proc = subprocess.Popen([sys.executable, "-c", "pass"]); _ = proc.wait()
>>> child = Child("decoder-0", "decoder", proc, "", source="decoder-0", started=0.0)
>>> live, sup = Liveness(), SupervisionSettings.model_validate({})
>>> live.saw("decoder-0", now=100.0); live.progressed("decoder-0", 7, now=98.0)
>>> judge(child, live, sup, now=100.0)
('busy', '', 2.0)
>>> judge(child, live, sup, now=100.0 + sup.heartbeat_timeout + 1)[1]
'sent no heartbeat for 2.50 s (timeout 1.5 s)'
>>> live.saw("decoder-0", now=120.0)
>>> judge(child, live, sup, now=120.0)[1]
'made no progress for 22.00 s (stall_timeout 15.0 s) though its heartbeat thread still answers: its main loop is stuck'
"""

from __future__ import annotations

import collections
import dataclasses
import os
import signal
import subprocess
from typing import Any

from qplane.pipeline.heartbeat import Liveness

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: A silent child that used at least this much CPU in the last ``heartbeat_timeout`` s is
#: computing (a few clock ticks: a process stuck waiting uses none).
COMPUTING_CPU_S = 0.03


@dataclasses.dataclass
class Child:
    """One started process of a run, as the launcher knows it."""

    name: str
    role: str
    proc: subprocess.Popen
    log_path: str
    source: str = ""  # its records' source (the name, or name.rN once restarted)
    index: int = 0
    started: float = 0.0
    hung: str = ""  # why it was declared hung, once it was
    #: (UNIX time, CPU seconds) of the process, sampled by each ``judge`` (the last few s).
    cpu_samples: collections.deque = dataclasses.field(default_factory=collections.deque)

    def describe_exit(self) -> str:
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = str(-code)
            how = f"killed by signal {-code} ({sig})"
        else:
            how = f"exited with code {code}"
        return f"{self.name} (pid {self.proc.pid}) {how}"

    def state(self) -> str:
        """``running``, ``stopped`` (exited with code 0) or ``dead`` (killed, or a nonzero exit)."""
        code = self.proc.poll()
        if code is None:
            return "running"
        return "stopped" if code == 0 else "dead"

    def kernel_stat(self) -> tuple[str, float] | None:
        """(state letter, CPU seconds used) of the process, from /proc (None where unknown)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return fields[0], (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            return None

    def kernel_stopped(self) -> bool:
        """Whether the kernel shows the process stopped (SIGSTOP / SIGTSTP), from /proc."""
        stat = self.kernel_stat()
        return stat is not None and stat[0] in ("T", "t")

    def sample_cpu(self, now: float, window: float,
                   stat: tuple[str, float] | None = None) -> float | None:
        """Note the process's CPU seconds now (from ``stat``, or read); return how many it
        used in the last ``window`` s (since the oldest sample within it; None where unknown)."""
        stat = stat or self.kernel_stat()
        if stat is None:
            return None
        samples = self.cpu_samples
        samples.append((now, stat[1]))
        while len(samples) > 2 and samples[1][0] <= now - window:
            samples.popleft()
        return stat[1] - samples[0][1]

    def computing(self, now: float, window: float,
                  stat: tuple[str, float] | None = None) -> bool:
        """Whether the process is computing: it used CPU time in the last ``window`` s, or
        one of its threads is running or runnable now (``R``: waiting for a core)."""
        used = self.sample_cpu(now, window, stat)
        if used is not None and used >= COMPUTING_CPU_S:
            return True
        try:
            tasks = os.listdir(f"/proc/{self.proc.pid}/task")
        except OSError:
            return False
        for task in tasks:
            try:
                with open(f"/proc/{self.proc.pid}/task/{task}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "R":
                        return True
            except (OSError, IndexError):
                continue
        return False

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


def judge(child: Child, liveness: Liveness, supervision: Any,
          now: float) -> tuple[str, str, float | None]:
    """``(verdict, why, stalled)`` of ``child`` now: ``verdict`` is ``hung`` (``why`` says
    how), ``busy`` (no progress for longer than ``heartbeat_timeout``, heartbeats going on) or
    ``ok``; ``stalled`` the seconds since its progress counter last moved (``None`` before its
    main loop started). ``supervision`` is the ``qplane.supervision`` section."""
    stat = child.kernel_stat()
    if stat is not None and stat[0] in ("T", "t"):
        return "hung", "is stopped (SIGSTOP)", None
    seen = liveness.last_seen.get(child.source)
    startup = supervision.startup_timeout
    timeout = supervision.heartbeat_timeout
    if seen is None:
        if now - child.started > startup:
            return "hung", f"sent no heartbeat within {startup} s of its start", None
        return "ok", "", None
    stalled = liveness.stalled_for(child.source, now=now)
    if now - seen > timeout:
        silent = now - seen
        if not child.computing(now, timeout, stat):
            return "hung", f"sent no heartbeat for {silent:.2f} s (timeout {timeout} s)", None
        # Its heartbeat thread cannot run (a C call holds the interpreter's lock, or the
        # machine does not schedule it), but the process computes: busy, not dead.
        limit, what = ((startup, "startup_timeout") if stalled is None else
                       (supervision.stall_timeout, "stall_timeout"))
        if silent > limit:
            return "hung", (f"sent no heartbeat for {silent:.2f} s while computing ({what} "
                            f"{limit} s): its interpreter is stuck in a call"), stalled
        return "busy", "", None if stalled is None else max(stalled, silent)
    child.sample_cpu(now, timeout, stat)
    if stalled is None:  # its loop has not started yet (compiling, loading, connecting)
        if now - child.started > startup:
            return "hung", (f"made no progress within {startup} s of its start (its heartbeat "
                            "thread answers, its main loop never started)"), None
        return "ok", "", None
    stall = supervision.stall_timeout
    if stalled > stall:
        return "hung", (f"made no progress for {stalled:.2f} s (stall_timeout {stall} s) though "
                        "its heartbeat thread still answers: its main loop is stuck"), stalled
    return ("busy" if stalled > timeout else "ok"), "", stalled
