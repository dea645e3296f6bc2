"""The launcher's view of each process it started (:class:`Child`) and the verdict on its health.

:func:`judge` says whether a child is fine, *busy* (alive, its heartbeat thread answers, but its
main loop has made no progress for longer than ``heartbeat_timeout``: a long fit, decode or
flush), or *hung*:
stopped by the kernel (SIGSTOP), silent (no heartbeat for ``heartbeat_timeout``: dead, or its
interpreter stuck), or stalled (no progress for ``stall_timeout`` though it still answers).

>>> from qplane.config import SupervisionSettings
>>> from qplane.pipeline.heartbeat import Liveness
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

import dataclasses
import signal
import subprocess
from typing import Any

from qplane.pipeline.heartbeat import Liveness


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

    def kernel_stopped(self) -> bool:
        """Whether the kernel shows the process stopped (SIGSTOP / SIGTSTP), from /proc."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
        except (OSError, IndexError):
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
    if child.kernel_stopped():
        return "hung", "is stopped (SIGSTOP)", None
    seen = liveness.last_seen.get(child.source)
    startup = supervision.startup_timeout
    timeout = supervision.heartbeat_timeout
    if seen is None:
        if now - child.started > startup:
            return "hung", f"sent no heartbeat within {startup} s of its start", None
        return "ok", "", None
    if now - seen > timeout:
        return "hung", f"sent no heartbeat for {now - seen:.2f} s (timeout {timeout} s)", None
    stalled = liveness.stalled_for(child.source, now=now)
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
