"""The live view of a run: one snapshot type, two sources, two renderers.

:class:`LiveStats` is a plain, frozen snapshot of a run's numbers. It is built either from the
pipeline's own statistics (``LiveStats.from_mapping(stats_dict)``, what ``qplane run`` gets
from its monitor socket) or from a run file (:func:`snapshot_from_run`, what ``qplane watch``
reads while another process writes). :class:`LiveView` shows a stream of snapshots: a rich
dashboard on a terminal, plain periodic lines otherwise (CI, logs, pipes).

>>> s = LiveStats.from_mapping({"elapsed": 2.0, "blocks_applied": 10, "shots": 10240,
...                             "failures": 3, "latency_p50": 0.0012, "latency_p99": 0.004,
...                             "workers": ["decoder-0"]})
>>> format_line(s)
't=2.0s running blocks 10 shots 10,240 (5.1e+03/s) LER 2.93e-04 [9.96e-05, 8.61e-04] latency p50 1.20 ms p99 4.00 ms workers decoder-0:ok'
>>> import io
>>> out = io.StringIO()
>>> with LiveView(out, plain=True, interval=0) as view:
...     view.update(s)
>>> out.getvalue().count("LER")  # printed once: close() repeats only an unprinted snapshot
1
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import numpy as np

from qplane.analysis.stats import wilson_interval

#: A worker whose last block is older than this (seconds, while the run is live) is "stale".
STALE_AFTER_S = 10.0
#: Blocks the file-based latency percentiles are taken over (the most recent ones).
LATENCY_WINDOW_BLOCKS = 2000


@dataclasses.dataclass(frozen=True)
class WorkerHealth:
    """One worker as the live view shows it.

    Attributes:
        name: the worker's name (``decoder-0``, ``calibration``...).
        state: ``ok``, ``stale`` (silent for longer than expected), ``stopped`` or ``dead``.
        blocks: blocks it has decoded (``None``: unknown).
        last_seen_s: seconds since its last record (``None``: unknown).
    """

    name: str
    state: str = "ok"
    blocks: int | None = None
    last_seen_s: float | None = None


@dataclasses.dataclass(frozen=True)
class LiveStats:
    """A snapshot of a run for the live view. Every field but ``elapsed_s`` may be unknown.

    Attributes:
        elapsed_s: seconds since the run (or its first block) started.
        state: ``running`` or how the run ended (``completed``, ``interrupted``, ``failed``,
            ``unfinished`` for a file with no end recorded).
        run_id: the run's id, if known.
        blocks: syndrome blocks whose correction has been applied.
        blocks_acquired: blocks acquired (>= ``blocks``; the rest are in flight or lost).
        shots: shots in the applied blocks.
        failures: logical failures among them (``None``: no ground truth).
        latency_p50_s, latency_p99_s: acquired -> applied latency percentiles, seconds.
        decode_p50_s, decode_p99_s: time inside the decoder, seconds.
        shadow_shots, shadow_disagreements: shadow-decoder counts.
        calibration_runs: calibration-node runs so far.
        calibration_last: a short description of the latest one (node, qubit, outcome).
        parameter_updates: parameter changes made so far.
        workers: health of each worker.
        in_flight: blocks acquired and waiting for their correction.
        blocks_lost: blocks lost (gaps).
        errors: error events / rejected records so far.
        problems: anything else the operator should see, one line each.
    """

    elapsed_s: float
    state: str = "running"
    run_id: str = ""
    blocks: int = 0
    blocks_acquired: int | None = None
    shots: int = 0
    failures: int | None = None
    latency_p50_s: float | None = None
    latency_p99_s: float | None = None
    decode_p50_s: float | None = None
    decode_p99_s: float | None = None
    shadow_shots: int = 0
    shadow_disagreements: int = 0
    calibration_runs: int = 0
    calibration_last: str = ""
    parameter_updates: int = 0
    workers: tuple[WorkerHealth, ...] = ()
    in_flight: int | None = None
    blocks_lost: int = 0
    errors: int = 0
    problems: tuple[str, ...] = ()

    @property
    def logical_error_rate(self) -> float | None:
        """Failures per shot, or ``None`` without ground truth or shots."""
        if self.failures is None or self.shots == 0:
            return None
        return self.failures / self.shots

    @property
    def logical_error_interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of :attr:`logical_error_rate`."""
        if self.logical_error_rate is None:
            return None
        return wilson_interval(self.failures, self.shots)

    @property
    def shots_per_second(self) -> float | None:
        return self.shots / self.elapsed_s if self.elapsed_s > 0 else None

    @property
    def shadow_rate(self) -> float | None:
        return self.shadow_disagreements / self.shadow_shots if self.shadow_shots else None

    @classmethod
    def from_mapping(cls, stats: Mapping[str, Any], **overrides: Any) -> "LiveStats":
        """Build from the pipeline's statistics dict (``InstrumentServer.stats()`` keys:
        ``elapsed, blocks_applied, blocks_acquired, blocks_lost, in_flight, shots, failures,
        latency_p50, latency_p99, decode_p50, decode_p99, shadow_shots, shadow_disagreements,
        rejected, workers``); unknown keys are ignored, missing ones stay unknown.
        ``overrides`` set any field directly (e.g. ``calibration_runs=``, ``workers=``).
        """
        workers = stats.get("workers") or ()
        health = tuple(w if isinstance(w, WorkerHealth) else WorkerHealth(str(w)) for w in workers)
        fields: dict[str, Any] = {
            "elapsed_s": float(stats.get("elapsed", 0.0) or 0.0),
            "state": str(stats.get("state", "running")),
            "run_id": str(stats.get("run_id", "")),
            "blocks": int(stats.get("blocks_applied", stats.get("blocks", 0)) or 0),
            "blocks_acquired": stats.get("blocks_acquired"),
            "shots": int(stats.get("shots", 0) or 0),
            "failures": stats.get("failures"),
            "latency_p50_s": stats.get("latency_p50"),
            "latency_p99_s": stats.get("latency_p99"),
            "decode_p50_s": stats.get("decode_p50"),
            "decode_p99_s": stats.get("decode_p99"),
            "shadow_shots": int(stats.get("shadow_shots", 0) or 0),
            "shadow_disagreements": int(stats.get("shadow_disagreements", 0) or 0),
            "in_flight": stats.get("in_flight"),
            "blocks_lost": int(stats.get("blocks_lost", 0) or 0),
            "errors": int(stats.get("rejected", 0) or 0),
            "workers": health,
        }
        fields.update(overrides)
        return cls(**fields)


def snapshot_from_run(run: Any, *, now: float | None = None,
                      stale_after_s: float = STALE_AFTER_S) -> LiveStats:
    """A :class:`LiveStats` of a run file as the writer last flushed it.

    Args:
        run: an open :class:`~qplane.runfile.reader.Run` (reads fresh data on each call).
        now: the current UNIX time (default ``time.time()``), for ages and elapsed time.
        stale_after_s: a live run whose newest block is older than this is flagged.
    """
    now = time.time() if now is None else now
    blocks = run.blocks
    applied = blocks[blocks["applied"]]
    finished = run.finished
    t_first = float(blocks["t_acquired"].min()) if len(blocks) else math.nan
    t_last = float(np.nanmax(applied["t_applied"])) if len(applied) else t_first
    if finished and math.isfinite(t_last):
        now = t_last  # ages of a finished run are told as of its end
    elapsed = now - t_first
    recent = applied.tail(LATENCY_WINDOW_BLOCKS)
    lat = recent["latency_s"].to_numpy(dtype="f8")
    dec = recent["decode_seconds"].to_numpy(dtype="f8")

    def pct(values: np.ndarray, q: float) -> float | None:
        values = values[np.isfinite(values)]
        return float(np.percentile(values, q)) if len(values) else None

    events = run.events
    died = set(events.loc[events["kind"].isin(["worker_died", "process_died"]), "source"])
    stopped = set(events.loc[events["kind"].isin(["worker_stop", "worker_stopped"]), "source"])
    workers = []
    for name, group in applied.groupby("worker", sort=True):
        if not name:
            continue
        last = float(group["t_decoded"].max())
        age = now - last
        if name in died:
            state = "dead"
        elif name in stopped or finished:
            state = "stopped"
        elif age > stale_after_s:
            state = "stale"
        else:
            state = "ok"
        workers.append(WorkerHealth(name, state, int(len(group)), age))
    # "No end recorded" is what "running" means here; staleness gets its own line below.
    problems = [p for p in run.integrity().problems if not p.startswith("no end recorded")]
    if not finished and len(blocks) and now - float(blocks["t_acquired"].max()) > stale_after_s:
        problems.append(f"no new block for {now - float(blocks['t_acquired'].max()):.0f} s: "
                        "is the writer still running?")
    calibration = run.calibration
    last_cal = ""
    if len(calibration):
        row = calibration.iloc[-1]
        last_cal = f"{row['node']} {row['qubit']} {row['outcome']} ({now - row['t']:.0f} s ago)"
    simulated = run.simulated
    return LiveStats(
        elapsed_s=float(elapsed) if math.isfinite(elapsed) else 0.0,
        state=run.state if finished else "running",
        run_id=run.run_id,
        blocks=int(len(applied)),
        blocks_acquired=int(len(blocks)),
        shots=int(applied["shots"].sum()),
        failures=int(applied["failures"].sum()) if simulated else None,
        latency_p50_s=pct(lat, 50),
        latency_p99_s=pct(lat, 99),
        decode_p50_s=pct(dec, 50),
        decode_p99_s=pct(dec, 99),
        shadow_shots=int(applied["shadow_shots"].sum()),
        shadow_disagreements=int(applied["shadow_disagreements"].sum()),
        calibration_runs=int(len(calibration)),
        calibration_last=last_cal,
        parameter_updates=int((run.parameters["source"] != "truth").sum()),
        workers=tuple(workers),
        in_flight=int(len(blocks) - len(applied)) if not finished else 0,
        blocks_lost=sum(missing for _, missing in run.integrity().seq_gaps),
        errors=int((events["level"] == "error").sum()),
        problems=tuple(problems),
    )


# -- rendering ----------------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f} ms"


def format_line(s: LiveStats) -> str:
    """One plain line: what a log or CI shows every interval."""
    parts = [f"t={s.elapsed_s:.1f}s", s.state, f"blocks {s.blocks:,}", f"shots {s.shots:,}"
             + (f" ({s.shots_per_second:.2g}/s)" if s.shots_per_second else "")]
    if s.logical_error_rate is not None:
        lo, hi = s.logical_error_interval
        parts.append(f"LER {s.logical_error_rate:.2e} [{lo:.2e}, {hi:.2e}]")
    if s.latency_p50_s is not None:
        parts.append(f"latency p50 {_ms(s.latency_p50_s)} p99 {_ms(s.latency_p99_s)}")
    if s.shadow_shots:
        parts.append(f"shadow {s.shadow_disagreements}/{s.shadow_shots}")
    if s.calibration_runs:
        parts.append(f"calibration {s.calibration_runs} runs, {s.parameter_updates} updates")
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
        main.add_row("logical error rate", f"{s.logical_error_rate:.3e}  [{lo:.3e}, {hi:.3e}] 95%"
                     f"  ({s.failures:,} failures)")
    else:
        main.add_row("logical error rate", "- (no ground truth)")
    main.add_row("latency", f"p50 {_ms(s.latency_p50_s)}  p99 {_ms(s.latency_p99_s)}   "
                 f"decoder p50 {_ms(s.decode_p50_s)}  p99 {_ms(s.decode_p99_s)}")
    if s.shadow_shots:
        lo, hi = wilson_interval(s.shadow_disagreements, s.shadow_shots)
        main.add_row("shadow disagreement", f"{s.shadow_disagreements:,} / {s.shadow_shots:,}"
                     f"  [{lo:.2e}, {hi:.2e}]")
    else:
        main.add_row("shadow disagreement", "-")
    main.add_row("calibration", f"{s.calibration_runs} node runs, {s.parameter_updates} updates"
                 + (f"; last: {s.calibration_last}" if s.calibration_last else ""))
    if s.blocks_lost or s.errors:
        main.add_row("losses", Text(f"{s.blocks_lost} blocks lost, {s.errors} errors", style="red"))
    workers = Table(title="workers", show_edge=False, expand=False)
    for column in ("worker", "state", "blocks", "last seen"):
        workers.add_column(column)
    colours = {"ok": "green", "stale": "yellow", "stopped": "blue", "dead": "red"}
    for w in s.workers:
        workers.add_row(w.name, Text(w.state, style=colours.get(w.state, "")),
                        "-" if w.blocks is None else f"{w.blocks:,}",
                        "-" if w.last_seen_s is None else f"{w.last_seen_s:.1f} s ago")
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
    from qplane.runfile import open_run
    from qplane.errors import RunFileError

    updates = 0
    failures = 0
    snapshot = None
    while True:
        # A fresh open per read: the writer stamps how the run ended by reopening the file
        # outside SWMR mode, which an old reader's view does not survive.
        try:
            with open_run(path) as run:
                snapshot = snapshot_from_run(run, stale_after_s=stale_after_s)
                finished = run.finished
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
