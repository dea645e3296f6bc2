"""The launcher: starts the pipeline's processes, watches them, and stops them in order.

``qplane run CONFIG`` calls :func:`run_pipeline`. It resolves the endpoints (``auto`` becomes an
``ipc://`` socket in a private temp folder), starts the recorder, the instrument server and the
decoding workers as separate processes (each in its own session, so a terminal's Ctrl-C reaches
only the launcher), shows their live statistics, and ends the run in one of three ways:

- ``completed``: the instrument server finished (duration or block limit reached);
- ``interrupted``: Ctrl-C / SIGTERM to the launcher; the instrument server stops acquiring and
  applies the corrections still in flight before the workers (decoding, calibration) stop;
- ``failed``: the instrument server died, or a worker died more often than the restart policy
  allows; the launcher names it, stops the others, and exits non-zero.

Supervision (``qplane.supervision``): every process sends the launcher heartbeats from a
thread of its own, with its main loop's progress counter. A process that sends none for
``heartbeat_timeout`` s while using no CPU time (dead, or its interpreter stuck waiting), or
that the kernel shows stopped (SIGSTOP), is *hung* (a silent one that computes, in a C call
holding the interpreter's lock, is busy, as below); one whose heartbeats go on while its
counter stands still is *busy* (shown, and recorded once per stretch as ``process_busy``: a long fit, decode or flush is not a
fault) and, past ``stall_timeout`` s, *stalled*, which is hung too. A hung process is recorded
in ``/events``, killed and treated as dead. A dead decoding or
calibration worker is restarted after a backoff (``restart``: policy, backoff, maximum), under a
new source name (``decoder-0.r1``); the instrument server re-dispatches the blocks it held
(:mod:`qplane.pipeline.dispatch`), so with two or more decoding workers QEC goes on. Every
child stops by itself when the launcher dies (:mod:`qplane.pipeline.heartbeat`). The end is
bounded: each process has ``stop_timeout`` s to stop before it is killed.

In every case the recorder is told how the run ended (a ``run_end`` record, restarts
included) and closes the run file complete.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import zmq

from qplane.config import ENDPOINT_NAMES, Config
from qplane.errors import PipelineError, RunFileError
from qplane.pipeline.children import Child, judge
from qplane.pipeline.delivery import RetainingOutbox
from qplane.pipeline.heartbeat import Liveness, die_with_parent
from qplane.pipeline.placement import describe as describe_placement
from qplane.pipeline.placement import placement_for
from qplane.pipeline.process import CATCH_UP_SECONDS, RunSpec
from qplane.pipeline.rejections import Rejection, RejectionLog
from qplane.pipeline.security import SecureContext, TransportSecurity
from qplane.pipeline.socket_events import ConnectionEvent, ConnectionWatch, connections_text
from qplane.pipeline.transport import Inbox, make_socket, queued
from qplane.records import Heartbeat, RunEnd, Stats

SOURCE = "launcher"

#: Exit codes of ``qplane run``.
EXIT_CODES = {"completed": 0, "failed": 1, "interrupted": 130}


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """How a run ended."""

    end_state: str
    reason: str
    path: str
    stats: dict[str, Any]
    exit_code: int
    #: Each process as it ended: name -> ``{"state", "detail", "last_seen"}`` (see
    #: :meth:`Launcher.processes`).
    processes: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    #: Restarts per process name (only those restarted at least once).
    restarts: dict[str, int] = dataclasses.field(default_factory=dict)


#: Roles the launcher restarts when they die (the instrument server's death ends QEC). A
#: restarted recorder takes up the run file; the senders send it what it had not acknowledged.
RESTARTABLE = ("decoder", "calibration", "recorder")


def default_run_path(config: Config) -> str:
    """``<output_dir>/<UTC timestamp>_<config name>.h5``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(config.qplane.run.output_dir, f"{stamp}_{config.name}.h5")


def calibration_enabled(config: Config) -> bool:
    """Whether the config runs a calibration worker (a ``qplane.calibration`` section, enabled)."""
    section = config.qplane.calibration
    return section is not None and section.enabled


def resolve_endpoints(config: Config, folder: str) -> dict[str, str]:
    """Endpoints from the config, with ``auto`` turned into ``ipc://`` sockets in ``folder``."""
    endpoints = {}
    for name in ENDPOINT_NAMES:
        value = getattr(config.qplane.endpoints, name)
        endpoints[name] = f"ipc://{os.path.join(folder, name)}" if value == "auto" else value
    return endpoints


class Launcher:
    """Starts, watches, restarts and stops one run's processes.

    Args:
        config: the validated config.
        out_path: run file to write.
        duration: seconds to acquire (None: until interrupted).
        max_blocks: stop after this many blocks (None: no limit).
        on_stats: called with each live statistics snapshot from the instrument server.
        run_id: the run's id (default: a new one); remote workers join with it.
        profile_dir: each process profiles its main thread (cProfile) into ``SOURCE.prof`` here.
    """

    def __init__(self, config: Config, *, out_path: str, duration: float | None,
                 max_blocks: int | None = None, on_stats: Callable[[dict], None] | None = None,
                 run_id: str | None = None, profile_dir: str | None = None):
        self.config = config
        self.profile_dir = profile_dir
        self.supervision = config.qplane.supervision
        self.out_path = os.path.abspath(out_path)
        self.duration = duration
        self.max_blocks = max_blocks
        self.on_stats = on_stats
        self.run_id = run_id or new_run_id()
        self.children: list[Child] = []  # the current incarnation of each process
        self.retired: list[Child] = []  # earlier incarnations (dead, hung and killed)
        self.restarts: dict[str, int] = {}
        self.detections: list[dict[str, Any]] = []  # each hung/dead process: how it was found
        self.last_stats: dict[str, Any] = {}
        self._last_stats_at: float | None = None
        self._interrupted = False
        self._folder = tempfile.mkdtemp(prefix="qplane-")
        self.endpoints = resolve_endpoints(config, self._folder)
        self._ctx = SecureContext(TransportSecurity.from_settings(
            config.qplane.security, role=SOURCE, endpoints=self.endpoints))
        self.rejections = RejectionLog()
        self._records: RetainingOutbox | None = None
        self._monitor: Inbox | None = None
        self._watch: ConnectionWatch | None = None  # the monitor socket's connection events
        self._spec_path = ""
        self._liveness = Liveness()
        self._pending: list[tuple[float, Child]] = []  # (when, dead child) restarts due
        self._busy: dict[str, float] = {}  # source -> when its current busy stretch was noticed

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, role: str, name: str, spec_path: str, index: int = 0,
               source: str = "") -> Child:
        log_path = os.path.join(self._folder, f"{source or name}.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "qplane.pipeline.process", role, spec_path,
                 "--index", str(index), "--source", source or name,
                 *(["--profile", self.profile_dir] if self.profile_dir else [])],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent,
            )
        child = Child(name, role, proc, log_path, source=source or name, index=index,
                       started=time.time())
        self.children.append(child)
        return child

    def start(self) -> None:
        """Start the recorder, the instrument server and the decoding workers."""
        workers = self.config.qplane.decoding.workers
        calibration = calibration_enabled(self.config)
        placement = placement_for(self.config)
        spec = RunSpec(run_id=self.run_id, config_path=os.path.abspath(self.config.path),
                       config=self.config.handoff(),
                       out_path=self.out_path, endpoints=self.endpoints, duration=self.duration,
                       max_blocks=self.max_blocks, workers=workers, calibration=calibration,
                       placement=placement)
        spec_path = os.path.join(self._folder, "spec.json")
        spec.save(spec_path)
        self._spec_path = spec_path
        self._monitor = Inbox(make_socket(self._ctx, zmq.SUB, self.endpoints["monitor"], bind=True),
                              run_id=self.run_id, on_reject=self._on_reject)
        self._watch = ConnectionWatch(self._on_connection)
        self._watch.watch(self._monitor.socket, "monitor", expected=self._monitor_connections_ended)
        self._monitor.socket.setsockopt(zmq.SUBSCRIBE, b"stats")
        self._monitor.socket.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        self._records = RetainingOutbox(make_socket(self._ctx, zmq.DEALER, self.endpoints["records"],
                                                    bind=False, linger_ms=5000),
                                        run_id=self.run_id, source=SOURCE)
        if placement:
            self._event("info", "placement", describe_placement(placement), cpus=placement)
        self._spawn("recorder", "recorder", spec_path)
        self._spawn("instrument_server", "instrument_server", spec_path)
        for i in range(workers):
            self._spawn("decoder", f"decoder-{i}", spec_path, index=i)
        if calibration:
            self._spawn("calibration", "calibration", spec_path)

    def child(self, name: str) -> Child:
        """The current incarnation of process ``name``."""
        return next(c for c in self.children if c.name == name)

    def interrupt(self) -> None:
        """Ask the run to end cleanly (what Ctrl-C does)."""
        self._interrupted = True

    # -- watching ----------------------------------------------------------------------------
    def _on_reject(self, rejection: Rejection) -> None:
        """A monitor message refused: counted, and recorded in the run file's ``/events``."""
        if self.rejections.note(rejection) and self._records is not None:
            self._records.event("error", "rejected_record",
                                f"launcher rejected a monitor message from {rejection.peer}: "
                                f"{rejection.message}", **rejection.details(),
                                count=self.rejections.counts[(rejection.peer, rejection.reason)])

    def _on_connection(self, ev: ConnectionEvent) -> None:
        """A connection of the monitor socket dropped (an oversize message among the possible
        causes) or refused: counted, and the first ones recorded in ``/events``."""
        if ev.row:
            dropped = ev.kind == "disconnected"
            self._event("info" if dropped else "warning",
                        "connection_dropped" if dropped else "connection_refused",
                        ev.message(SOURCE), endpoint=ev.endpoint, connection_event=ev.kind,
                        fd=ev.value, count=ev.count)

    def _monitor_connections_ended(self) -> int:
        """Monitor connections of processes that have exited: each process has one (its
        heartbeat thread's), the instrument server two (its statistics too)."""
        return sum(2 if c.role == "instrument_server" else 1 for c in self.children + self.retired
                   if c.proc.poll() is not None)

    def _poll_monitor(self, timeout_ms: int, max_messages: int = 1000) -> None:
        # At most max_messages per call: a flood on the monitor cannot keep the launcher
        # from watching its children.
        if self._records is not None:
            self._records.pump()
        if self._watch is not None:
            self._watch.poll()
        if self._monitor.socket.poll(timeout_ms):
            for got in queued(self._monitor, max_messages):  # no poll per message
                if got is None:
                    continue
                rec = got[1]
                now = time.time()
                if isinstance(rec.body, Heartbeat):
                    self._liveness.saw(rec.source, now=now)
                    self._liveness.progressed(rec.source, rec.body.progress, now=now)
                elif isinstance(rec.body, Stats):
                    self._liveness.saw(rec.source, now=now)
                    self._last_stats_at = now
                    self.last_stats = rec.body.as_dict()
                    self.last_stats["processes"] = self.processes()
                    self.last_stats["restarts"] = dict(self.restarts)
                    if self.on_stats is not None:
                        self.on_stats(self.last_stats)

    def processes(self) -> dict[str, dict[str, Any]]:
        """Each process's health: name -> ``{"state", "detail", "last_seen", "restarts"}``.

        ``state`` is ``running``, ``busy`` (its heartbeats go on but its main loop has made no
        progress for more than ``heartbeat_timeout``), ``hung`` (declared hung, being killed),
        ``restarting`` (dead, its restart due), ``stopped`` (exited 0) or ``dead`` (killed or a
        nonzero exit), ``detail`` how it exited (or for how long it has been busy),
        ``last_seen`` the UNIX time it was last heard from (its latest heartbeat; a decoding
        worker also its latest message at the server; ``None``: never).
        The live view turns a running process that has been silent too long into ``hung`` too
        (:func:`qplane.analysis.snapshot.snapshot_from_run`).
        """
        seen = dict((self.last_stats or {}).get("worker_last_seen") or {})
        pending = {c.name for _, c in self._pending}
        out = {}
        for c in self.children:
            state = c.state()
            last = [t for t in (seen.get(c.source), self._liveness.last_seen.get(c.source))
                    if t is not None]
            busy = ""
            if c.hung and state == "running":
                state = "hung"
            elif c.name in pending:
                state = "restarting"
            elif state == "running" and c.source in self._busy:
                state = "busy"
                stalled = self._liveness.stalled_for(c.source, now=time.time()) or 0.0
                busy = f"no progress for {stalled:.1f} s (stall_timeout " \
                       f"{self.supervision.stall_timeout} s)"
            out[c.name] = {"state": state,
                           "detail": c.hung if state == "hung" else busy if state == "busy" else
                           ("" if state == "running" else c.describe_exit()),
                           "last_seen": max(last) if last else None,
                           "restarts": self.restarts.get(c.name, 0)}
        return out

    def watch(self) -> tuple[str, str]:
        """Wait until the run ends, restarting workers as the policy says; return (end_state,
        reason)."""
        tick_ms = max(10, int(self.supervision.heartbeat_interval * 1000 / 2))
        while True:
            self._poll_monitor(tick_ms)
            if self._interrupted:
                return "interrupted", "interrupted by the operator (Ctrl-C)"
            ended = self.supervise(time.time())
            if ended is not None:
                return ended

    def supervise(self, now: float) -> tuple[str, str] | None:
        """One pass of supervision: find dead and hung processes, restart what is due.
        Returns (end_state, reason) when the run has ended, else None."""
        server = self.child("instrument_server")
        timeout = self.supervision.heartbeat_timeout
        for child in list(self.children):
            if any(c is child for _, c in self._pending):
                continue
            if child.proc.poll() is None:
                why = self._hung(child, now, timeout)
                if not why:
                    continue
                child.hung = why
                self._event("error", "process_hung", f"{child.source} (pid {child.proc.pid}) {why}; "
                            "killing it", process=child.name, source_name=child.source,
                            pid=child.proc.pid, reason=why)
                child.proc.kill()
                child.proc.wait()
            if child is server:
                if child.proc.returncode == 0 and not child.hung:
                    return "completed", self._completion_reason()
                return "failed", child.hung and f"{child.source} {child.hung}" or child.describe_exit()
            self.detections.append({"process": child.name, "source": child.source,
                                    "how": "hung" if child.hung else "exited", "time": now,
                                    "detail": child.hung or child.describe_exit()})
            failed = self._schedule_restart(child, now)
            if failed is not None:
                return "failed", failed
        for when, dead in list(self._pending):
            if now >= when:
                self._pending.remove((when, dead))
                self._restart(dead)
        return None

    def _hung(self, child: Child, now: float, timeout: float) -> str:
        """Why ``child`` is hung ("" if it is not): :func:`~qplane.pipeline.children.judge`.
        A loop that is only busy is noted (:meth:`_note_busy`), not hung."""
        verdict, why, stalled = judge(child, self._liveness, self.supervision, now)
        if verdict == "hung":
            return why
        if stalled is not None:
            self._note_busy(child, stalled, now, timeout)
        return ""

    def _note_busy(self, child: Child, stalled: float, now: float, timeout: float) -> None:
        """Record once per stretch that ``child``'s loop is busy (alive: its heartbeats go on,
        but no progress for longer than ``timeout``), and once that it is making progress
        again."""
        since = self._busy.get(child.source)
        if stalled > timeout and since is None:
            self._busy[child.source] = now - stalled
            self._event("warning", "process_busy",
                        f"{child.source} (pid {child.proc.pid}) is alive but its main loop has "
                        f"made no progress for {stalled:.2f} s (a long computation?); it is "
                        f"restarted only past stall_timeout {self.supervision.stall_timeout} s",
                        process=child.name, source_name=child.source, pid=child.proc.pid,
                        stalled_s=round(stalled, 3))
        elif stalled <= timeout and since is not None:
            del self._busy[child.source]
            self._event("info", "process_progressing",
                        f"{child.source} (pid {child.proc.pid}) makes progress again after "
                        f"{now - stalled - since:.2f} s busy", process=child.name,
                        source_name=child.source, pid=child.proc.pid,
                        busy_s=round(now - stalled - since, 3))

    def _schedule_restart(self, child: Child, now: float) -> str | None:
        """A worker died: schedule its restart, or return why the run fails."""
        how = f"{child.source} {child.hung}" if child.hung else child.describe_exit()
        policy = self.supervision.restart
        done = self.restarts.get(child.name, 0)
        if child.role not in RESTARTABLE or policy.policy == "never":
            return how
        if done >= policy.max_restarts:
            return f"{how}; restarted {done} time(s) already (max_restarts {policy.max_restarts})"
        delay = policy.delay(done)
        self._event("warning", "process_died",
                    f"{how}; restarting it in {delay:.2f} s (restart {done + 1} of at most "
                    f"{policy.max_restarts})", process=child.name, source_name=child.source,
                    pid=child.proc.pid, returncode=child.proc.returncode, hung=bool(child.hung),
                    restart=done + 1, delay_s=delay)
        self._liveness.forget(child.source)
        self._busy.pop(child.source, None)
        self._pending.append((now + delay, child))
        return None

    def _restart(self, dead: Child) -> None:
        n = self.restarts.get(dead.name, 0) + 1
        self.restarts[dead.name] = n
        self.children.remove(dead)
        self.retired.append(dead)
        new = self._spawn(dead.role, dead.name, self._spec_path, index=dead.index,
                          source=f"{dead.name}.r{n}")
        self._event("info", "process_restarted",
                    f"{dead.name} restarted as {new.source} (pid {new.proc.pid}), restart {n}",
                    process=dead.name, source_name=new.source, pid=new.proc.pid, restart=n)

    def _event(self, level: str, kind: str, message: str, **details: Any) -> None:
        if self._records is not None:
            self._records.event(level, kind, message, **details)

    def _completion_reason(self) -> str:
        if self.max_blocks is not None:
            return f"block limit reached ({self.max_blocks} blocks)"
        if self.duration is None:  # neither limit: the QPU's source ended (a replay)
            return "the QPU's source ended (acquisition stopped)"
        return f"duration reached ({self.duration} s)"

    def restarts_text(self) -> str:
        """``"restarts: decoder-0 x2, calibration x1"``, or "" when nothing was restarted."""
        if not self.restarts:
            return ""
        return "restarts: " + ", ".join(f"{n} x{k}" for n, k in sorted(self.restarts.items()))

    # -- stopping ----------------------------------------------------------------------------
    def _stop_all(self, children: list[Child], timeout: float, patience: float = 0.0) -> None:
        """SIGTERM each of ``children`` (SIGCONT too, in case it is stopped), then wait for all
        of them together, at most ``timeout`` s (up to ``patience`` s for one that still sends
        heartbeats: it waits for a restarted recorder to catch up); kill what is left."""
        alive = [c for c in children if c.proc.poll() is None]
        for c in alive:
            c.proc.send_signal(signal.SIGTERM)
            c.proc.send_signal(signal.SIGCONT)
        start = time.time()
        while alive:
            if patience:
                self._poll_monitor(50)  # heartbeats (and the launcher's own records)
            else:
                time.sleep(0.01)
            now = time.time()
            for c in [c for c in alive if c.proc.poll() is not None]:
                alive.remove(c)
            for c in list(alive):
                seen = self._liveness.last_seen.get(c.source, 0.0)
                beating = now - seen < self.supervision.heartbeat_timeout
                if now - start < timeout or (beating and now - start < patience):
                    continue
                self._event("warning", "process_killed",
                            f"{c.source} (pid {c.proc.pid}) did not stop within "
                            f"{max(timeout, now - start):.1f} s; killed",
                            process=c.name, pid=c.proc.pid)
                c.proc.kill()
                c.proc.wait()
                alive.remove(c)

    def shutdown(self, end_state: str, reason: str) -> None:
        """Stop every process in order and have the recorder close the file with ``end_state``.

        The calibration worker and the instrument server stop first (the server applies what
        is in flight), then the decoding workers, then the recorder closes the file; each step
        has ``supervision.stop_timeout`` s.
        """
        stop = self.supervision.stop_timeout
        for _, dead in [p for p in self._pending if p[1].role == "recorder"]:
            self._restart(dead)  # the file is closed by a recorder, never left open
        self._pending.clear()
        server = self.child("instrument_server")
        first = [c for c in self.children if c.role == "calibration"] + [server]
        # After a recorder restart, senders may still be sending it what it had not
        # acknowledged: a process that goes on beating is given time to (bounded).
        patience = CATCH_UP_SECONDS if self.restarts.get("recorder") else 0.0
        self._stop_all(first, stop + 1.0, patience)  # the server drains within stop_timeout
        self._poll_monitor(0)
        self._stop_all([c for c in self.children if c.role == "decoder"], stop, patience)
        if self._watch is not None:
            self._watch.poll(force=True)
            left = self._watch.unexplained()
            if left:
                self._records.event("warning", "connections", connections_text(SOURCE, left),
                                    unexplained=left, counts=self._watch.summary())
        if self.rejections.total:
            self._records.event("warning", "rejections",
                                f"launcher rejected {self.rejections.total} monitor message(s)",
                                total=self.rejections.total, counts=self.rejections.summary())
        if end_state == "failed":
            self._records.event("error", "process_died", reason)
        if self.restarts:
            reason = f"{reason}; {self.restarts_text()}"
            self._records.event("info", "restarts", self.restarts_text(),
                                restarts=dict(self.restarts))
        self._records.send(RunEnd(end_state=end_state, reason=reason))
        self._records.end_stream()
        recorder = self.child("recorder")
        deadline = time.time() + 30.0
        while recorder.proc.poll() is None and time.time() < deadline:
            self._records.pump()  # run_end goes again if the recorder asks for it
            try:
                recorder.proc.wait(0.02)
            except subprocess.TimeoutExpired:
                pass
        if recorder.proc.poll() is None:
            self._stop_all([recorder], 10.0)
        if recorder.proc.returncode != 0 and os.path.exists(self.out_path):
            # The recorder was killed: the file is consistent as of its last flush, but still
            # marked open for write. End it, so plain h5py (and qplane report) open it.
            from qplane.runfile import end_killed_file

            end_killed_file(self.out_path, "failed", f"{reason}; the recorder did not close the "
                            f"file ({recorder.describe_exit()})")

    def close(self) -> None:
        """Kill anything still running and remove the temp folder. Idempotent."""
        for child in self.children + self.retired:
            if child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()
        if self._watch is not None:
            self._watch.close()
        self._ctx.destroy(linger=0)
        shutil.rmtree(self._folder, ignore_errors=True)


def new_run_id() -> str:
    """A fresh run id (12 hex digits)."""
    return uuid.uuid4().hex[:12]


def fold_into_state(config: Config, run_path: str) -> str:
    """Fold the run's real setting changes into the calibration state file the config names
    (``qplane.calibration.state``); returns what it did, for the run's reason ("" without one).

    Each entry's ``valid_until`` is its change's time plus its node's validity timeout in the
    config's graph. A run file that cannot be read leaves the state as it was (and says so).
    """
    section = config.qplane.calibration
    if section is None or not section.enabled or not section.state:
        return ""
    from qplane.calibration import (
        DEFAULT_TIMEOUTS,
        load_state,
        save_state,
        update_from_run,
        validate_calibration,
    )
    from qplane.errors import QplaneError

    graph = validate_calibration(section)["graph"]
    timeouts = {n: float(spec.get("timeout") or DEFAULT_TIMEOUTS.get(n, 3600.0))
                for n, spec in graph.items()}
    try:
        state = load_state(section.state)
        changed = update_from_run(state, run_path, timeouts=timeouts)
        save_state(state, section.state)
    except (QplaneError, OSError) as e:
        return f"calibration state {section.state} not updated: {e}"
    return f"{len(changed)} calibrated settings folded into {section.state}"


def run_pipeline(config: Config, *, out_path: str, duration: float | None,
                 max_blocks: int | None = None,
                 on_stats: Callable[[dict], None] | None = None,
                 run_id: str | None = None, profile_dir: str | None = None) -> RunOutcome:
    """Run the closed loop described by ``config``; SIGINT/SIGTERM end it cleanly
    (``profile_dir``: each process's cProfile goes there, see :class:`Launcher`).

    Returns:
        The run's outcome; ``exit_code`` is 0 (completed), 1 (failed) or 130 (interrupted).
    """
    if os.path.exists(out_path):
        raise RunFileError(f"run file {out_path} already exists; choose another --out or remove it")
    launcher = Launcher(config, out_path=out_path, duration=duration, max_blocks=max_blocks,
                        on_stats=on_stats, run_id=run_id, profile_dir=profile_dir)
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: launcher.interrupt())
    try:
        launcher.start()
        try:
            end_state, reason = launcher.watch()
        except Exception as e:  # the launcher itself failed (e.g. its output pipe closed):
            # still end the run in order, so the file records how it ended
            end_state, reason = "failed", f"the launcher failed: {type(e).__name__}: {e}"
            launcher.on_stats = None
        if end_state == "failed":
            dead = next((c for c in launcher.children if c.proc.poll() is not None), None)
            tail = dead.log_tail() if dead is not None else ""
            if tail:
                reason += f"; its last output:\n{tail}"
        launcher.shutdown(end_state, reason)
        recorder = launcher.child("recorder")
        if recorder.proc.returncode not in (0, None) and end_state != "failed":
            end_state, reason = "failed", f"{recorder.describe_exit()}:\n{recorder.log_tail()}"
        processes = launcher.processes()
    finally:
        launcher.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if end_state == "failed" and not os.path.exists(launcher.out_path):
        raise PipelineError(f"run failed before the run file was created: {reason}")
    if launcher.restarts:
        reason = f"{reason}; {launcher.restarts_text()}"
    state_note = fold_into_state(config, launcher.out_path)
    if state_note:
        reason = f"{reason}; {state_note}"
    return RunOutcome(end_state=end_state, reason=reason, path=launcher.out_path,
                      stats=launcher.last_stats, exit_code=EXIT_CODES[end_state],
                      processes=processes, restarts=dict(launcher.restarts))
