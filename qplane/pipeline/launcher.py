"""The launcher: starts the pipeline's processes, watches them, and stops them in order.

``qplane run CONFIG`` calls :func:`run_pipeline`. It resolves the endpoints (``auto`` becomes an
``ipc://`` socket in a private temp folder), starts the recorder, the instrument server and the
decoding workers as separate processes (each in its own session, so a terminal's Ctrl-C reaches
only the launcher), shows their live statistics, and ends the run in one of three ways:

- ``completed``: the instrument server finished (duration or block limit reached);
- ``interrupted``: Ctrl-C / SIGTERM to the launcher; the instrument server stops acquiring and
  applies the corrections still in flight before the workers (decoding, calibration) stop;
- ``failed``: a process died; the launcher names it, stops the others, and exits non-zero.

In every case the recorder is told how the run ended (a ``run_end`` record) and closes the run
file complete.
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
from qplane.pipeline.process import RunSpec
from qplane.pipeline.rejections import Rejection, RejectionLog
from qplane.pipeline.security import SecureContext, TransportSecurity
from qplane.pipeline.transport import Inbox, Outbox, make_socket
from qplane.records import RunEnd, Stats

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


@dataclasses.dataclass
class _Child:
    name: str
    role: str
    proc: subprocess.Popen
    log_path: str

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

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


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
    """Starts, watches and stops one run's processes.

    Args:
        config: the validated config.
        out_path: run file to write.
        duration: seconds to acquire (None: until interrupted).
        max_blocks: stop after this many blocks (None: no limit).
        on_stats: called with each live statistics snapshot from the instrument server.
    """

    def __init__(self, config: Config, *, out_path: str, duration: float | None,
                 max_blocks: int | None = None, on_stats: Callable[[dict], None] | None = None):
        self.config = config
        self.out_path = os.path.abspath(out_path)
        self.duration = duration
        self.max_blocks = max_blocks
        self.on_stats = on_stats
        self.run_id = uuid.uuid4().hex[:12]
        self.children: list[_Child] = []
        self.last_stats: dict[str, Any] = {}
        self._last_stats_at: float | None = None
        self._interrupted = False
        self._folder = tempfile.mkdtemp(prefix="qplane-")
        self.endpoints = resolve_endpoints(config, self._folder)
        self._ctx = SecureContext(TransportSecurity.from_settings(
            config.qplane.security, role=SOURCE, endpoints=self.endpoints))
        self.rejections = RejectionLog()
        self._records: Outbox | None = None
        self._monitor: Inbox | None = None

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, role: str, name: str, spec_path: str, index: int = 0) -> _Child:
        log_path = os.path.join(self._folder, f"{name}.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "qplane.pipeline.process", role, spec_path, "--index", str(index)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        child = _Child(name, role, proc, log_path)
        self.children.append(child)
        return child

    def start(self) -> None:
        """Start the recorder, the instrument server and the decoding workers."""
        workers = self.config.qplane.decoding.workers
        calibration = calibration_enabled(self.config)
        spec = RunSpec(run_id=self.run_id, config_path=os.path.abspath(self.config.path),
                       config=self.config.handoff(),
                       out_path=self.out_path, endpoints=self.endpoints, duration=self.duration,
                       max_blocks=self.max_blocks, workers=workers, calibration=calibration)
        spec_path = os.path.join(self._folder, "spec.json")
        spec.save(spec_path)
        self._monitor = Inbox(make_socket(self._ctx, zmq.SUB, self.endpoints["monitor"], bind=True),
                              run_id=self.run_id, on_reject=self._on_reject)
        self._monitor.socket.setsockopt(zmq.SUBSCRIBE, b"stats")
        self._records = Outbox(make_socket(self._ctx, zmq.PUSH, self.endpoints["records"], bind=False,
                                           linger_ms=5000),
                               run_id=self.run_id, source=SOURCE)
        self._spawn("recorder", "recorder", spec_path)
        self._spawn("instrument_server", "instrument_server", spec_path)
        for i in range(workers):
            self._spawn("decoder", f"decoder-{i}", spec_path, index=i)
        if calibration:
            self._spawn("calibration", "calibration", spec_path)

    def child(self, name: str) -> _Child:
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

    def _poll_monitor(self, timeout_ms: int, max_messages: int = 1000) -> None:
        # At most max_messages per call: a flood on the monitor cannot keep the launcher
        # from watching its children.
        if self._monitor.socket.poll(timeout_ms):
            for _ in range(max_messages):
                if not self._monitor.socket.poll(0):
                    break
                got = self._monitor.recv()
                if got is not None and isinstance(got[1].body, Stats):
                    self._last_stats_at = time.time()
                    self.last_stats = got[1].body.as_dict()
                    self.last_stats["processes"] = self.processes()
                    if self.on_stats is not None:
                        self.on_stats(self.last_stats)

    def processes(self) -> dict[str, dict[str, Any]]:
        """Each process's health: name -> ``{"state", "detail", "last_seen"}``.

        ``state`` is ``running``, ``stopped`` (exited 0) or ``dead`` (killed or a nonzero exit),
        ``detail`` how it exited, ``last_seen`` the UNIX time it was last heard from (the
        instrument server: its latest statistics; a decoding worker: its latest correction, as
        the server saw it; ``None``: not tracked). The live view turns a running process that
        has been silent too long into ``hung`` (:func:`qplane.analysis.snapshot.snapshot_from_run`).
        """
        seen = dict((self.last_stats or {}).get("worker_last_seen") or {})
        seen["instrument_server"] = self._last_stats_at
        out = {}
        for c in self.children:
            state = c.state()
            out[c.name] = {"state": state, "detail": "" if state == "running" else c.describe_exit(),
                           "last_seen": seen.get(c.name)}
        return out

    def watch(self) -> tuple[str, str]:
        """Wait until the run ends; return (end_state, reason)."""
        server = self.child("instrument_server")
        while True:
            self._poll_monitor(200)
            if self._interrupted:
                return "interrupted", "interrupted by the operator (Ctrl-C)"
            for child in self.children:
                if child.proc.poll() is None:
                    continue
                if child is server and child.proc.returncode == 0:
                    return "completed", self._completion_reason()
                return "failed", f"{child.describe_exit()}"

    def _completion_reason(self) -> str:
        if self.max_blocks is not None:
            return f"block limit reached ({self.max_blocks} blocks)"
        return f"duration reached ({self.duration} s)"

    # -- stopping ----------------------------------------------------------------------------
    def _terminate(self, child: _Child, timeout: float) -> None:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()

    def shutdown(self, end_state: str, reason: str) -> None:
        """Stop every process in order and have the recorder close the file with ``end_state``."""
        drain = self.config.qplane.acquisition.correction_timeout + 10.0
        # Calibration first: its current step may still need the instrument server to answer.
        for child in self.children:
            if child.role == "calibration":
                self._terminate(child, 60.0)
        server = self.child("instrument_server")
        self._terminate(server, drain)
        self._poll_monitor(0)
        for child in self.children:
            if child.role == "decoder":
                self._terminate(child, 10.0)
        if self.rejections.total:
            self._records.event("warning", "rejections",
                                f"launcher rejected {self.rejections.total} monitor message(s)",
                                total=self.rejections.total, counts=self.rejections.summary())
        if end_state == "failed":
            self._records.event("error", "process_died", reason)
        self._records.send(RunEnd(end_state=end_state, reason=reason))
        self._records.end_stream()
        recorder = self.child("recorder")
        try:
            recorder.proc.wait(30.0)
        except subprocess.TimeoutExpired:
            self._terminate(recorder, 10.0)

    def close(self) -> None:
        """Kill anything still running and remove the temp folder. Idempotent."""
        for child in self.children:
            if child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()
        self._ctx.destroy(linger=0)
        shutil.rmtree(self._folder, ignore_errors=True)


def run_pipeline(config: Config, *, out_path: str, duration: float | None,
                 max_blocks: int | None = None,
                 on_stats: Callable[[dict], None] | None = None) -> RunOutcome:
    """Run the closed loop described by ``config``; SIGINT/SIGTERM end it cleanly.

    Returns:
        The run's outcome; ``exit_code`` is 0 (completed), 1 (failed) or 130 (interrupted).
    """
    if os.path.exists(out_path):
        raise RunFileError(f"run file {out_path} already exists; choose another --out or remove it")
    launcher = Launcher(config, out_path=out_path, duration=duration, max_blocks=max_blocks,
                        on_stats=on_stats)
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
    return RunOutcome(end_state=end_state, reason=reason, path=launcher.out_path,
                      stats=launcher.last_stats, exit_code=EXIT_CODES[end_state],
                      processes=processes)
