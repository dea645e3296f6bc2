"""The live view of a run: one snapshot type, one computation, two renderers.

:class:`LiveStats` is a plain, frozen snapshot of a run's numbers, and
:func:`snapshot_from_run` is the one computation of it: from the run file, as its writer last
flushed it (both live in :mod:`qplane.analysis.snapshot` and are re-exported here). Every view of a run takes its figures from there, so they agree:

- ``qplane run``'s dashboard: :class:`RunMonitor` reads the file being written (each
  ``interval``) and adds the launcher's process health (``processes=``);
- ``qplane watch``: :func:`watch` reads the file another process writes;
- ``qplane report`` (:mod:`qplane.analysis.report`) puts the same snapshot in its summary;
- ``qplane serve`` (a browser view) can call :func:`read_snapshot` (or :func:`snapshot_from_run`)
  and :meth:`LiveStats.as_dict` for the same numbers as JSON.

(:meth:`LiveStats.from_mapping` reads the instrument server's statistics dict; the dashboard
shows that only until the run file can first be read.) :class:`LiveView` shows a stream of
snapshots: a rich dashboard on a terminal, plain periodic lines otherwise (CI, logs, pipes).

>>> s = LiveStats.from_mapping({"elapsed": 2.0, "blocks_applied": 10, "shots": 10240,
...                             "failures": 3, "latency_p50": 0.0012, "latency_p99": 0.004,
...                             "workers": ["decoder-0"]})
>>> format_line(s)
't=2.0s running blocks 10 shots 10,240 (5.1e+03/s) LER 2.93e-04 [9.96e-05, 8.61e-04] latency p50 1.20 ms p99 4.00 ms no calibration workers decoder-0:ok'
>>> format_line(LiveStats(elapsed_s=1.0, shots=100, failures=0, calibration_runs=0))
't=1.0s running blocks 0 shots 100 (1e+02/s) LER 0.00e+00 [0, 3.70e-02] calibration 0 node runs, 0 updates'
>>> import io
>>> out = io.StringIO()
>>> with LiveView(out, plain=True, interval=0) as view:
...     view.update(s)
>>> out.getvalue().count("LER")  # printed once: close() repeats only an unprinted snapshot
1
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from qplane.analysis.snapshot import (
    LATENCY_WINDOW_BLOCKS,
    STALE_AFTER_S,
    LiveStats,
    WorkerHealth,
    read_snapshot,
    snapshot_from_run,
)
from qplane.analysis.gain import LiveGainTracker
from qplane.analysis.stats import wilson_interval

__all__ = [
    "LATENCY_WINDOW_BLOCKS", "STALE_AFTER_S", "LiveStats", "LiveView", "RunMonitor",
    "WorkerHealth", "format_bound", "format_calibration", "format_gain", "format_interval", "format_line",
    "read_snapshot", "render_rich", "snapshot_from_run", "watch",
]


class RunMonitor:
    """The dashboard's source for a run this process launched: the run file, read each
    ``interval`` seconds, with the launcher's process health.

    Its snapshots are :func:`snapshot_from_run` of the file being written, so the dashboard
    shows what ``qplane watch`` and the report show. Until the file can first be read (the
    recorder is starting), it shows the instrument server's own statistics
    (:meth:`LiveStats.from_mapping`); a later failed read keeps the last file snapshot, with
    fresh process health.

    Args:
        path: the run file being written.
        interval: seconds between reads of the file (0: every update).
        calibration: whether the run has a calibration worker (for the fallback snapshot).
        stale_after_s: see :func:`snapshot_from_run`.
    """

    def __init__(self, path: str, *, interval: float = 1.0, calibration: bool = False,
                 stale_after_s: float = STALE_AFTER_S):
        self.path = path
        self.interval = interval
        self.calibration = calibration
        self.stale_after_s = stale_after_s
        self.last: LiveStats | None = None
        self._from_file = False
        self._next_read = 0.0
        self._gain = LiveGainTracker()

    def update(self, stats: Mapping[str, Any]) -> LiveStats:
        """The snapshot to show now, given the launcher's latest statistics dict."""
        processes = stats.get("processes")
        now = time.monotonic()
        if now >= self._next_read or not self._from_file:
            self._next_read = now + self.interval
            try:
                self.last, _ = read_snapshot(self.path, stale_after_s=self.stale_after_s,
                                             processes=processes)
                self._from_file = True
                self.last = self._with_gain(self.last)
                return self.last
            except Exception:  # not readable (yet, or while the writer reopens it)
                pass
        if not self._from_file:
            self.last = LiveStats.from_mapping(
                stats, calibration_runs=0 if self.calibration else None)
        elif processes is not None and self.last is not None:
            self.last = dataclasses.replace(self.last, workers=_merge_processes(
                self.last.workers, processes, self.stale_after_s))
        return self.last

    def _with_gain(self, snapshot: LiveStats) -> LiveStats:
        """``snapshot`` with the live gain of learned weights (bounded work per update)."""
        try:
            from qplane.runfile import open_run

            with open_run(self.path) as run:
                gain = self._gain.update(run)
        except Exception:  # noqa: BLE001 - the gain is extra: never lose the snapshot for it
            gain = self._gain.summary()
        if gain is None:
            return snapshot
        return dataclasses.replace(snapshot, live_gain=gain["gain"], live_gain_p=gain["mcnemar_p"])

    def final(self, processes: Mapping[str, Mapping[str, Any]] | None = None,
              stats: Mapping[str, Any] | None = None) -> LiveStats | None:
        """The finished run's snapshot, read from its closed file (``None``: no file and no
        statistics)."""
        try:
            self.last, _ = read_snapshot(self.path, stale_after_s=self.stale_after_s,
                                         processes=processes)
        except Exception:
            if self.last is None and stats:
                self.last = LiveStats.from_mapping(
                    stats, calibration_runs=0 if self.calibration else None)
        return self.last


def _merge_processes(workers: tuple[WorkerHealth, ...], processes: Mapping[str, Mapping[str, Any]],
                     stale_after_s: float) -> tuple[WorkerHealth, ...]:
    """Fresh exit states from the launcher on an older snapshot's workers."""
    now = time.time()
    out = []
    for w in workers:
        proc = processes.get(w.name) or {}
        state = proc.get("state")
        if state in ("stopped", "dead", "busy"):
            w = dataclasses.replace(w, state=state, detail=str(proc.get("detail", "")))
        elif state == "running" and proc.get("last_seen") is not None:
            age = max(0.0, now - float(proc["last_seen"]))
            w = dataclasses.replace(w, last_seen_s=age,
                                    state="hung" if age > stale_after_s else "ok")
        out.append(w)
    return tuple(out)


# -- rendering ----------------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f} ms"


def format_bound(x: float, digits: int = 2) -> str:
    """An interval's end: ``0`` and ``1`` exactly as such, others in ``e`` notation.

    >>> format_bound(0.0), format_bound(1.0), format_bound(3.7e-4)
    ('0', '1', '3.70e-04')
    """
    if x == 0.0 or x == 1.0:
        return f"{x:.0f}"
    return f"{x:.{digits}e}"


def format_interval(lo: float, hi: float, digits: int = 2) -> str:
    """``[lo, hi]`` with :func:`format_bound`."""
    return f"[{format_bound(lo, digits)}, {format_bound(hi, digits)}]"


def format_calibration(s: LiveStats) -> str:
    """``no calibration``, or the node runs and updates (never ``None``).

    >>> format_calibration(LiveStats(elapsed_s=0.0)), format_calibration(LiveStats(elapsed_s=0.0, calibration_runs=0))
    ('no calibration', '0 node runs, 0 updates')
    """
    if s.calibration_runs is None:
        return "no calibration"
    text = f"{s.calibration_runs} node runs, {s.parameter_updates} updates"
    if s.parameter_changes != s.parameter_updates:
        text += f" ({s.parameter_changes} settings)"
    return text


def format_gain(s: LiveStats) -> str:
    """The live gain of learned weights over nominal, with its McNemar p.

    >>> format_gain(LiveStats(elapsed_s=1.0, live_gain=1.0912, live_gain_p=3e-6))
    '1.09x (p 3e-06)'
    """
    if s.live_gain is None:
        return "-"
    p = "" if s.live_gain_p is None else f" (p {s.live_gain_p:.2g})"
    return f"{s.live_gain:.2f}x{p}"


def format_line(s: LiveStats) -> str:
    """One plain line: what a log or CI shows every interval."""
    parts = [f"t={s.elapsed_s:.1f}s", s.state, f"blocks {s.blocks:,}", f"shots {s.shots:,}"
             + (f" ({s.shots_per_second:.2g}/s)" if s.shots_per_second else "")]
    if s.logical_error_rate is not None:
        lo, hi = s.logical_error_interval
        parts.append(f"LER {s.logical_error_rate:.2e} {format_interval(lo, hi)}")
    if s.latency_p50_s is not None:
        parts.append(f"latency p50 {_ms(s.latency_p50_s)} p99 {_ms(s.latency_p99_s)}")
    if s.shadow_shots:
        parts.append(f"shadow {s.shadow_disagreements}/{s.shadow_shots}")
    if s.live_gain is not None:
        parts.append(f"learned gain {format_gain(s)}")
    calibration = format_calibration(s)
    parts.append(calibration if s.calibration_runs is None else f"calibration {calibration}")
    if s.in_flight:
        parts.append(f"in flight {s.in_flight}")
    if s.blocks_lost:
        parts.append(f"LOST {s.blocks_lost}")
    if s.errors:
        parts.append(f"errors {s.errors}")
    if s.workers:
        parts.append("workers " + ",".join(f"{w.name}:{w.state}" for w in s.workers))
    line = " ".join(parts)
    for problem in s.problems:
        line += f"\n  ! {problem}"
    return line


def render_rich(s: LiveStats) -> Any:
    """The dashboard as a rich renderable (a panel of tables)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    main = Table.grid(padding=(0, 2))
    main.add_column(style="bold")
    main.add_column()
    rate = f"{s.shots_per_second:,.0f} shots/s" if s.shots_per_second else "-"
    main.add_row("elapsed", f"{s.elapsed_s:,.1f} s   state [b]{s.state}[/b]")
    main.add_row("throughput", f"{s.blocks:,} blocks, {s.shots:,} shots ({rate})"
                 + (f", {s.in_flight} in flight" if s.in_flight else ""))
    if s.logical_error_rate is not None:
        lo, hi = s.logical_error_interval
        main.add_row("logical error rate", f"{s.logical_error_rate:.3e}  {format_interval(lo, hi, 3)} 95%"
                     f"  ({s.failures:,} failures)")
    else:
        main.add_row("logical error rate", "- (no ground truth)")
    main.add_row("latency", f"p50 {_ms(s.latency_p50_s)}  p99 {_ms(s.latency_p99_s)}   "
                 f"decoder p50 {_ms(s.decode_p50_s)}  p99 {_ms(s.decode_p99_s)}")
    if s.shadow_shots:
        lo, hi = wilson_interval(s.shadow_disagreements, s.shadow_shots)
        main.add_row("shadow disagreement", f"{s.shadow_disagreements:,} / {s.shadow_shots:,}"
                     f"  {format_interval(lo, hi)}")
    else:
        main.add_row("shadow disagreement", "-")
    if s.live_gain is not None:
        main.add_row("learned-weights gain", format_gain(s) + " (nominal LER / applied LER)")
    main.add_row("calibration", format_calibration(s)
                 + (f"; last: {s.calibration_last}" if s.calibration_last else ""))
    if s.blocks_lost or s.errors:
        main.add_row("losses", Text(f"{s.blocks_lost} blocks lost, {s.errors} errors", style="red"))
    workers = Table(title="workers", show_edge=False, expand=False)
    for column in ("worker", "state", "blocks", "share", "queue", "last seen", "exit"):
        workers.add_column(column)
    colours = {"ok": "green", "busy": "cyan", "hung": "yellow", "stopped": "blue", "dead": "red"}
    for w in s.workers:
        workers.add_row(w.name, Text(w.state, style=colours.get(w.state, "")),
                        "-" if w.blocks is None else f"{w.blocks:,}",
                        "-" if w.share is None else f"{w.share:.0%}",
                        "-" if w.queue_s is None else f"{w.queue_s * 1e3:.2f} ms",
                        "-" if w.last_seen_s is None else f"{w.last_seen_s:.1f} s ago",
                        w.detail)
    parts: list[Any] = [main]
    if s.workers:
        parts.append(workers)
    for problem in s.problems:
        parts.append(Text(f"! {problem}", style="yellow"))
    return Panel(Group(*parts), title=f"qplane {s.run_id}".strip(), expand=False)


class LiveView:
    """Shows :class:`LiveStats` snapshots: rich on a terminal, plain lines otherwise.

    Args:
        stream: where to write (default ``sys.stdout``).
        plain: force plain lines (``True``) or the dashboard (``False``); default: the
            dashboard when ``stream`` is a terminal.
        interval: plain mode prints at most one line per ``interval`` seconds (0: every update);
            the final snapshot is always printed on close.
    """

    def __init__(self, stream: TextIO | None = None, *, plain: bool | None = None,
                 interval: float = 1.0):
        self.stream = stream if stream is not None else sys.stdout
        self.plain = (not self.stream.isatty()) if plain is None else plain
        self.interval = interval
        self._live: Any = None
        self._last: LiveStats | None = None
        self._printed: LiveStats | None = None
        self._next_print = 0.0

    def __enter__(self) -> "LiveView":
        if not self.plain:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(file=self.stream), auto_refresh=False,
                              transient=False)
            self._live.start()
        return self

    def update(self, stats: LiveStats) -> None:
        """Show ``stats`` (plain mode: if ``interval`` has passed since the last line)."""
        self._last = stats
        if self._live is not None:
            self._live.update(render_rich(stats), refresh=True)
            return
        now = time.monotonic()
        if now >= self._next_print:
            self._next_print = now + self.interval
            self._print(stats)

    def on_stats(self, stats: Mapping[str, Any]) -> None:
        """Show the pipeline's statistics dict (a callback for ``run_pipeline(on_stats=...)``)."""
        self.update(LiveStats.from_mapping(stats))

    def _print(self, stats: LiveStats) -> None:
        self.stream.write(format_line(stats) + "\n")
        self.stream.flush()
        self._printed = stats

    def close(self) -> None:
        """Stop the dashboard; in plain mode print the last snapshot if it was not printed."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self._last is not None and self._printed is not self._last:
            self._print(self._last)

    def __exit__(self, *exc: Any) -> None:
        self.close()


def watch(path: str, *, view: LiveView, interval: float = 1.0, once: bool = False,
          stale_after_s: float = STALE_AFTER_S, max_updates: int | None = None) -> LiveStats:
    """Follow the run file at ``path`` until its run ends, showing it on ``view``.

    Args:
        path: the run file (may still be being written).
        view: where to show the snapshots (an entered :class:`LiveView`).
        interval: seconds between reads.
        once: show one snapshot and return.
        stale_after_s: see :func:`snapshot_from_run`.
        max_updates: stop after this many snapshots (default: until the run ends).

    Returns:
        The last snapshot.
    """
    from qplane.errors import RunFileError

    updates = 0
    failures = 0
    snapshot = None
    while True:
        try:
            snapshot, finished = read_snapshot(path, stale_after_s=stale_after_s)
            failures = 0
        except (OSError, RunFileError):
            failures += 1
            if failures >= 10 or snapshot is None and failures >= 3:
                raise
            time.sleep(interval)
            continue
        view.update(snapshot)
        updates += 1
        if once or finished or (max_updates is not None and updates >= max_updates):
            return snapshot
        time.sleep(interval)
