"""The snapshot of a run: :class:`LiveStats`, and :func:`snapshot_from_run`, the one
computation of every number the live views and the report show, over the run file's records.

:mod:`qplane.analysis.live` re-exports these names (and shows the snapshots); see its
docstring for who uses what.

>>> s = LiveStats(elapsed_s=2.0, shots=1000, failures=0, calibration_runs=3, parameter_updates=1)
>>> s.logical_error_rate, s.logical_error_interval[0], s.as_dict()["calibration_runs"]
(0.0, 0.0, 3)
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from qplane.analysis.stats import wilson_interval

#: A running process silent for longer than this (seconds, while the run is live) is "hung".
STALE_AFTER_S = 10.0
#: Blocks per worker the queue wait (sent -> received) is the median of, newest first.
QUEUE_BLOCKS = 200
#: Blocks the file-based latency percentiles are taken over (the most recent ones).
LATENCY_WINDOW_BLOCKS = 2000


@dataclasses.dataclass(frozen=True)
class WorkerHealth:
    """One worker as the live view shows it.

    Attributes:
        name: the worker's name (``decoder-0``, ``calibration``...).
        state: ``ok`` (running), ``busy`` (alive, its heartbeats go on, but its main loop has
            made no progress for longer than the heartbeat timeout: the launcher says so),
            ``hung`` (running but silent for longer than expected), ``stopped`` (ended cleanly: exit code 0, or its stream ended) or ``dead`` (killed,
            or a nonzero exit).
        blocks: blocks applied with its corrections (``None``: not a decoding worker, or unknown).
        last_seen_s: seconds since it was last heard from (``None``: unknown).
        detail: how it exited, when it did (``"decoder-0 (pid 12) exited with code 0"``).
        share: its fraction of the decoding workers' applied blocks (``None``: unknown).
        queue_s: median wait of its last blocks between being sent and being received (the
            queue in front of it; ``None``: not measured, before run-file schema 2.1).
    """

    name: str
    state: str = "ok"
    blocks: int | None = None
    last_seen_s: float | None = None
    detail: str = ""
    share: float | None = None
    queue_s: float | None = None


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
        live_gain: with learned weights and truth, the nominal reference's logical error
            rate over the applied decoder's on the blocks decoded with a learned model
            (:class:`qplane.analysis.gain.LiveGainTracker`; the dashboard fills it in).
        live_gain_p: McNemar's p of that comparison.
        calibration_runs: calibration-node runs so far (``None``: the run has no calibration).
        calibration_last: a short description of the latest one (node, qubit, outcome).
        parameter_updates: committed calibration updates so far (one update may change several
            settings of one qubit).
        parameter_changes: settings changed by them (rows of ``/parameters/history``).
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
    live_gain: float | None = None
    live_gain_p: float | None = None
    calibration_runs: int | None = None
    calibration_last: str = ""
    parameter_updates: int = 0
    parameter_changes: int = 0
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

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as plain JSON-able data, the derived rates and interval included
        (what a browser view serves).

        >>> d = LiveStats(elapsed_s=1.0, shots=10, failures=0).as_dict()
        >>> d["logical_error_rate"], [round(x, 4) for x in d["logical_error_interval"]], d["workers"]
        (0.0, [0.0, 0.2775], [])
        """
        out = dataclasses.asdict(self)
        out["workers"] = [dataclasses.asdict(w) for w in self.workers]
        out["problems"] = list(self.problems)
        interval = self.logical_error_interval
        out.update(logical_error_rate=self.logical_error_rate,
                   logical_error_interval=None if interval is None else [float(x) for x in interval],
                   shots_per_second=self.shots_per_second, shadow_rate=self.shadow_rate)
        return out

    @classmethod
    def from_mapping(cls, stats: Mapping[str, Any], **overrides: Any) -> "LiveStats":
        """Build from the pipeline's statistics dict (``InstrumentServer.stats()`` keys:
        ``elapsed, blocks_applied, blocks_acquired, blocks_lost, in_flight, shots, failures,
        latency_p50, latency_p99, decode_p50, decode_p99, shadow_shots, shadow_disagreements,
        rejected, workers, worker_blocks, worker_last_seen``); unknown keys are ignored,
        missing ones stay unknown. ``overrides`` set any field directly (e.g.
        ``calibration_runs=``, ``workers=``). This is the instrument server's own count, not the
        file's: the views use it only until the run file can be read (:class:`RunMonitor`).
        """
        workers = stats.get("workers") or ()
        blocks = stats.get("worker_blocks") or {}
        seen = stats.get("worker_last_seen") or {}
        now = time.time()
        health = tuple(w if isinstance(w, WorkerHealth) else WorkerHealth(
            str(w), blocks=blocks.get(w), last_seen_s=now - seen[w] if w in seen else None)
            for w in workers)
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


def _calibration_configured(run: Any) -> bool:
    """Whether the run's config has an enabled ``qplane.calibration`` section."""
    try:
        import yaml

        section = (yaml.safe_load(run.config_text or "") or {}).get("qplane", {}).get("calibration")
    except Exception:  # an unreadable config text: judge by what was recorded
        return False
    return isinstance(section, Mapping) and bool(section.get("enabled", True))


def _worker_health(applied: Any, events: Any, *, now: float, finished: bool,
                   stale_after_s: float, processes: Mapping[str, Mapping[str, Any]] | None,
                   ) -> tuple[WorkerHealth, ...]:
    """Each worker's blocks and last seen from the file, its state from the launcher if given.

    A process the launcher reports ``running`` is ``hung`` when it has been silent (no
    correction in the file, no statistics or correction at the server) for ``stale_after_s``.
    """
    died = set(events.loc[events["kind"].isin(["worker_died", "process_died"]), "source"])
    stopped = set(events.loc[events["kind"].isin(["worker_stop", "worker_stopped"]), "source"])
    blocks: dict[str, int] = {}
    last: dict[str, float] = {}
    queue: dict[str, float] = {}
    for name, group in applied.groupby("worker", sort=True):
        if name:
            blocks[str(name)] = int(len(group))
            last[str(name)] = float(group["t_decoded"].max())
            if "t_sent" in group and "t_received" in group:
                tail = group.tail(QUEUE_BLOCKS)
                wait = (tail["t_received"] - tail["t_sent"]).to_numpy()
                wait = wait[np.isfinite(wait) & (tail["t_sent"].to_numpy() > 0)]
                if len(wait):
                    queue[str(name)] = float(np.median(wait))
    total = sum(blocks.values())
    names = sorted(blocks) if processes is None else [n for n in processes if n != "recorder"]
    out = []
    for name in names:
        seen = last.get(name)
        proc = (processes or {}).get(name)
        if proc is not None and proc.get("last_seen") is not None:
            seen = max(float(proc["last_seen"]), seen if seen is not None else -math.inf)
        age = None if seen is None else max(0.0, now - seen)
        if proc is not None and proc.get("state") in ("stopped", "dead", "busy"):
            state = str(proc["state"])  # busy: alive, its loop in a long computation
        elif proc is None and name in died:
            state = "dead"
        elif proc is None and (name in stopped or finished):
            state = "stopped"
        elif age is not None and age > stale_after_s:
            state = "hung"
        else:
            state = "ok"
        out.append(WorkerHealth(name, state, blocks.get(name, 0 if name.startswith("decoder") else None),
                                age, str((proc or {}).get("detail", "")),
                                share=blocks[name] / total if total and name in blocks else None,
                                queue_s=queue.get(name)))
    return tuple(out)


def snapshot_from_run(run: Any, *, now: float | None = None,
                      stale_after_s: float = STALE_AFTER_S,
                      processes: Mapping[str, Mapping[str, Any]] | None = None) -> LiveStats:
    """A :class:`LiveStats` of a run file as the writer last flushed it: the one computation
    of every number the dashboard, ``qplane watch`` and the report show.

    Blocks, shots and failures count the applied blocks; node runs are the rows of
    ``/calibration/runs``; updates are the distinct update ids of ``/parameters/history``
    (changes: its rows); the shadow counts sum the blocks' shadow columns.

    Args:
        run: an open :class:`~qplane.runfile.reader.Run` (reads fresh data on each call).
        now: the current UNIX time (default ``time.time()``), for ages and elapsed time.
        stale_after_s: a live run whose newest block is older than this is flagged, and a
            running worker silent for longer is ``hung``.
        processes: the launcher's process health (``Launcher.processes()``: name ->
            ``{"state", "detail", "last_seen"}``); then the workers are those processes (but
            the recorder), with their exit states. Without it the workers are the decoding
            workers found in the file.
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
    workers = _worker_health(applied, events, now=now, finished=finished,
                             stale_after_s=stale_after_s, processes=processes)
    integrity = run.integrity()
    # "No end recorded" is what "running" means here; staleness gets its own line below.
    problems = [p for p in integrity.problems if not p.startswith("no end recorded")]
    if not finished and len(blocks) and now - float(blocks["t_acquired"].max()) > stale_after_s:
        problems.append(f"no new block for {now - float(blocks['t_acquired'].max()):.0f} s: "
                        "is the writer still running?")
    for w in workers:
        if w.state == "dead" and w.detail:
            problems.append(w.detail)
    calibration = run.calibration
    last_cal = ""
    if len(calibration):
        row = calibration.iloc[-1]
        last_cal = f"{row['node']} {row['qubit']} {row['outcome']} ({now - row['t']:.0f} s ago)"
    history = run.parameters
    history = history[history["source"] != "truth"]  # old files kept simulated truth here
    if "update" in history and len(history):
        ids = history["update"].astype(str)
        updates = int(ids[ids != ""].nunique() + (ids == "").sum())
    else:
        updates = int(len(history))
    has_calibration = bool(len(calibration) or len(history) or _calibration_configured(run))
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
        calibration_runs=int(len(calibration)) if has_calibration else None,
        calibration_last=last_cal,
        parameter_updates=updates,
        parameter_changes=int(len(history)),
        workers=workers,
        in_flight=int(len(blocks) - len(applied)) if not finished else 0,
        blocks_lost=sum(missing for _, missing in integrity.seq_gaps),
        errors=int((events["level"] == "error").sum()),
        problems=tuple(problems),
    )


def read_snapshot(path: str, *, now: float | None = None, stale_after_s: float = STALE_AFTER_S,
                  processes: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[LiveStats, bool]:
    """Open the run file at ``path`` afresh, take its snapshot and close it again.

    A fresh open per read: the writer stamps how the run ended by reopening the file outside
    SWMR mode, which an old reader's view does not survive.

    Returns:
        ``(snapshot, finished)``: the :func:`snapshot_from_run` and whether the run has ended.

    Raises:
        OSError, RunFileError: the file cannot be read (yet, or any more).
    """
    from qplane.runfile import open_run

    with open_run(path) as run:
        return (snapshot_from_run(run, now=now, stale_after_s=stale_after_s, processes=processes),
                run.finished)
