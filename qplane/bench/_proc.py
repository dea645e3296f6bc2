"""CPU time of a benchmark's child processes, and the machine's load from everything else.

:class:`CpuWatch` samples, a few times a second, the CPU seconds of every child process of
this one (Linux ``/proc``; elsewhere it measures nothing) and the machine's busy time, so a
benchmark can report each process's CPU time per block and how busy the rest of the machine
was meanwhile (other jobs on a shared machine distort throughput and latency).

>>> with CpuWatch(interval=0.05) as watch:
...     _ = sum(range(10_000))
>>> watch.wall_s > 0, isinstance(watch.cpu_s, dict)
(True, True)
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children() -> dict[int, tuple[str, float]]:
    """pid -> (name, CPU seconds) of this process's direct children."""
    me, out = os.getpid(), {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return out
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) != me:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except (OSError, ValueError):
            continue
        out[pid] = (_name(argv, pid), (int(fields[11]) + int(fields[12])) / _TICK)
    return out


def _name(argv: list[str], pid: int) -> str:
    """``decoder-0``, ``recorder``, ... for a qplane process; ``worker`` for the lean one."""
    if "qplane.pipeline.process" in argv:
        i = argv.index("qplane.pipeline.process")
        role = argv[i + 1] if len(argv) > i + 1 else "process"
        if role == "decoder" and "--index" in argv:
            return f"decoder-{argv[argv.index('--index') + 1]}"
        return role
    if "qplane.bench._lean_pipeline" in argv:
        return f"lean-worker-{pid}"
    return f"pid-{pid}"


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all cores), from ``/proc/stat``."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK


class CpuWatch:
    """Sample the children's CPU time while the block runs (a context manager).

    Attributes (after the block):
        cpu_s: process name -> CPU seconds it used (last sample before it ended).
        own_cpu_s: CPU seconds of this process (the launcher / the lean loop) in the block.
        wall_s: seconds the block took.
        other_load: mean cores busy with other processes than these, over the block
            (machine busy time minus ours, per wall second; None off Linux).
        loadavg: the 1-minute load average at the end.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.cpu_s: dict[str, float] = {}
        self.own_cpu_s = self.wall_s = 0.0
        self.other_load: float | None = None
        self.loadavg: float | None = None
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._series: dict[int, list[tuple[float, float]]] = {}
        self._own: list[tuple[float, float]] = []
        self._stop = threading.Event()

    def _sample(self) -> None:
        now = time.time()
        self._own.append((now, time.process_time()))
        for pid, (name, cpu) in _children().items():
            self._first.setdefault(pid, 0.0)
            known = self._last.get(pid, (name, 0.0))[0]  # a zombie has no cmdline left
            self._last[pid] = (name if known.startswith("pid-") else known, cpu)
            self._series.setdefault(pid, []).append((now, cpu))

    def cpu_since(self, t: float) -> dict[str, float]:
        """Process name -> CPU seconds used after UNIX time ``t`` (the last sample before it
        is the start; start-up before ``t`` is left out). This process is ``own``."""
        def used(series: list[tuple[float, float]], first: float) -> float:
            before = [c for when, c in series if when <= t]
            return series[-1][1] - (before[-1] if before else first) if series else 0.0

        out = {"own": used(self._own, self._cpu0)}
        for pid, series in self._series.items():
            name = self._last[pid][0]
            out[name] = out.get(name, 0.0) + used(series, self._first.get(pid, 0.0))
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> CpuWatch:
        self._t0, self._cpu0, self._busy0 = time.perf_counter(), time.process_time(), _busy_seconds()
        for pid, (_, cpu) in _children().items():  # children already running count from now
            self._first[pid] = cpu
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()
        self.wall_s = time.perf_counter() - self._t0
        self.own_cpu_s = time.process_time() - self._cpu0
        self.cpu_s = {}
        for pid, (name, cpu) in self._last.items():
            self.cpu_s[name] = self.cpu_s.get(name, 0.0) + cpu - self._first.get(pid, 0.0)
        busy = _busy_seconds()
        if busy is not None and self._busy0 is not None and self.wall_s > 0:
            ours = self.own_cpu_s + sum(self.cpu_s.values())
            self.other_load = max(0.0, (busy - self._busy0 - ours) / self.wall_s)
        try:
            self.loadavg = os.getloadavg()[0]
        except OSError:
            self.loadavg = None
