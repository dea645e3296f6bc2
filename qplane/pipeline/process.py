"""Entry point of each pipeline process: ``python -m qplane.pipeline.process ROLE SPEC [--index N]``.

The launcher writes a :class:`RunSpec` (JSON) and starts one process per role: ``recorder``,
``instrument_server`` and ``decoder`` (``--index`` numbers the decoding workers). Each process
rebuilds the config the launcher validated from the spec (no process reads the config file),
opens its sockets, runs its loop until its work is done or it receives SIGTERM, and exits.
SIGINT is left to the launcher, which stops the processes in order. A process that crashes
reports the traceback to the recorder as an error event before it exits non-zero.

Every process sends heartbeats to the launcher's monitor socket from a thread of its own
(:class:`~qplane.pipeline.heartbeat.HeartbeatThread`), carrying how far its main loop has come
(:class:`~qplane.pipeline.heartbeat.Progress`, advanced each loop iteration and each wait
slice of a blocking call), so the launcher tells a busy loop (a long fit, a model swap, a big
flush) from a stalled one and both from a stopped or dead process; and every
process stops by itself when the launcher is gone (its parent pid changes; on Linux the kernel
also sends SIGTERM, ``PR_SET_PDEATHSIG``). A restarted process is started with ``--source``:
its records carry a new source name (``decoder-0.r1``), so each incarnation's record streams
are counted on their own.
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import gc
import itertools
import json
import os
import signal
import sys
import time
import traceback
from typing import Any

import zmq

from qplane.config import Config
from qplane.pipeline.delivery import RetainingOutbox
from qplane.pipeline.heartbeat import HeartbeatThread, ParentWatch, Progress
from qplane.pipeline.placement import decoders_share_cpu, pin
from qplane.pipeline.security import SecureContext, TransportSecurity, role_of
from qplane.pipeline.socket_events import ConnectionEvent, ConnectionWatch, connections_text
from qplane.pipeline.transport import Outbox, make_socket


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What every process of one run needs to know (written by the launcher).

    ``config`` is the validated config (:meth:`qplane.config.Config.handoff`): the file's text
    and its validated document; a process rebuilds it with :meth:`config_value`.
    """

    run_id: str
    config_path: str
    config: dict
    out_path: str
    endpoints: dict[str, str]
    duration: float | None
    max_blocks: int | None
    workers: int
    calibration: bool = False
    #: role -> the CPUs it runs on (:mod:`qplane.pipeline.placement`); absent roles unpinned
    placement: dict = dataclasses.field(default_factory=dict)
    index: int = 0  # this process's number (decoding workers), set from ``--index``

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(dataclasses.asdict(self), f)

    @classmethod
    def load(cls, path: str) -> "RunSpec":
        with open(path) as f:
            return cls(**json.load(f))

    def config_value(self) -> Config:
        """The run's validated config, rebuilt from the handoff (no file is read)."""
        return Config.from_handoff(self.config)


#: How long an orphaned process (its launcher gone) waits to deliver its last records.
ORPHAN_LINGER_MS = 2000

#: Test hook (never set in production): seconds a process's main thread spins, busy, on
#: SIGUSR2 (the handler is installed only when this variable is set, in the fault tests);
#: ``gil:SECONDS`` spins in one C call that holds the interpreter's lock meanwhile.
TEST_SPIN_ENV = "QPLANE_TEST_SPIN"

#: Seconds a stopping process waits at most for a restarted recorder that is still catching up
#: (acknowledging) to acknowledge its last records.
CATCH_UP_SECONDS = 30.0


class _StopFlag:
    """Whether this process should stop: SIGTERM, or the launcher gone. Checked every loop
    iteration (and called as ``on_wait`` while a call waits), it advances the main loop's
    :class:`~qplane.pipeline.heartbeat.Progress`, which the heartbeat thread reports."""

    def __init__(self, watch_parent: bool = True) -> None:
        self.stop = False
        self.parent_gone = False
        self.progress = Progress()
        self.records: RetainingOutbox | None = None  # pumped with every beat
        self.watch: ConnectionWatch | None = None  # the receiving sockets' connection events
        self.blocks = lambda: 0
        self._parent = ParentWatch() if watch_parent else (lambda: False)
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        spin = os.environ.get(TEST_SPIN_ENV)
        if spin:
            how = _spin_holding_the_lock if spin.startswith("gil:") else _spin
            seconds = float(spin.removeprefix("gil:"))
            signal.signal(signal.SIGUSR2, lambda *_: how(seconds))

    def _set(self, *_args: object) -> None:
        self.stop = True

    def beat(self) -> None:
        self.progress.advance()
        if self.records is not None:
            self.records.pump()

    def __call__(self) -> bool:
        self.beat()
        if self.watch is not None:
            self.watch.poll()  # at most every watch.interval s, never waits
        if self.orphaned():  # checked even after the kernel's SIGTERM for it
            self.stop = True
        return self.stop

    def orphaned(self) -> bool:
        """Whether the launcher is gone (checked now)."""
        if not self.parent_gone and self._parent():
            self.parent_gone = True
        return self.parent_gone


def _watch_connections(stop: _StopFlag, process: str, sink: Any) -> ConnectionWatch:
    """The process's :class:`~qplane.pipeline.socket_events.ConnectionWatch`, its events
    recorded through ``sink(level, kind, message, **details)`` (``connection_dropped``: a
    connection libzmq closed, an oversize message among the possible causes;
    ``connection_refused``: a failed handshake)."""

    def on_event(ev: ConnectionEvent) -> None:
        if ev.row:
            dropped = ev.kind == "disconnected"
            sink("info" if dropped else "warning",
                 "connection_dropped" if dropped else "connection_refused", ev.message(process),
                 endpoint=ev.endpoint, connection_event=ev.kind, fd=ev.value, count=ev.count)

    stop.watch = ConnectionWatch(on_event)
    return stop.watch


def _connection_summary(watch: ConnectionWatch | None, process: str, sink: Any) -> None:
    """One warning row with every connection count, if connections were dropped beyond those
    that ended in order, or refused (:meth:`ConnectionWatch.unexplained`)."""
    if watch is None:
        return
    watch.poll(force=True)
    left = watch.unexplained()
    if left:
        sink("warning", "connections", connections_text(process, left),
             unexplained=left, counts=watch.summary())


def _spin(seconds: float) -> None:
    """The test hook of :data:`TEST_SPIN_ENV`: keep the main thread busy (pure Python, so the
    heartbeat thread still runs) for at most ``seconds`` (bounded: at most 600 s)."""
    end = time.monotonic() + min(max(seconds, 0.0), 600.0)
    n = 0
    while time.monotonic() < end:
        n += 1


def _spin_holding_the_lock(seconds: float) -> None:
    """The ``gil:`` test hook of :data:`TEST_SPIN_ENV`: one C call (a sum over
    ``itertools.repeat``, which never returns to the interpreter's loop, so it never lets the
    heartbeat thread run) that computes for about ``seconds`` (at most 600 s)."""
    probe, took = 100_000, 0.0
    while took < 0.05 and probe < 1 << 40:  # time the call on enough items to be measurable
        probe *= 2
        t0 = time.perf_counter()
        sum(itertools.repeat(0, probe))
        took = time.perf_counter() - t0
    sum(itertools.repeat(0, int(probe / took * min(max(seconds, 0.0), 600.0))))


def _freeze_heap() -> None:
    """Before a hot loop: collect once, then leave everything start-up made (the station,
    stim, the decoder: some 10^5 objects) out of the cyclic garbage collector's scans. A full
    collection of that heap takes tens to hundreds of milliseconds, and the blocks a recorder
    or server holds for a while trigger one every few ten thousand blocks: a stall on the
    block path, and a latency tail."""
    gc.collect()
    gc.freeze()


def _run_recorder(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox) -> None:
    from qplane.pipeline.recorder import Recorder

    sock = make_socket(ctx, zmq.ROUTER, spec.endpoints["records"], bind=True)
    # A restarted recorder (recorder.r1, ...) takes up the file its killed predecessor left.
    recorder = Recorder(records=sock, path=spec.out_path, run_id=spec.run_id,
                        epoch=records.source, resume=records.source != "recorder",
                        compression=spec.config_value().qplane.run.compression)
    stop.blocks = lambda: recorder.inbox.received
    # The recorder writes its own rows (its own records would come back too late).
    # Connections that ended in order: the senders that ended their streams, but the
    # launcher's (it stays connected until the recorder has closed the file).
    _watch_connections(stop, records.source, recorder._event).watch(
        sock, "records", expected=lambda: len(recorder.ended_sources - {"launcher"}))
    try:
        _freeze_heap()
        recorder.run(should_stop=stop)
    finally:
        _connection_summary(stop.watch, records.source, recorder._event)
        recorder.close()


def _run_instrument_server(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox,
                           monitor: Outbox) -> None:
    from qplane.pipeline.calibration_link import CalibrationService
    from qplane.pipeline.instrument_server import InstrumentServer
    from qplane.pipeline.station import open_station

    config = spec.config_value()
    acq = config.qplane.acquisition
    sup = config.qplane.supervision
    lab, qpu = open_station(config)
    station = lab.station
    try:
        started = _start_from_state(config, lab, qpu)   # before the first block
        control = make_socket(ctx, zmq.ROUTER, spec.endpoints["control"], bind=True)
        dispatch = make_socket(ctx, zmq.ROUTER, spec.endpoints["syndromes"], bind=True)
        watch = _watch_connections(stop, records.source, records.event)
        watch.watch(dispatch, "syndromes")
        watch.watch(control, "control")
        calibration = None
        if spec.calibration:
            from qplane.calibration import StationBackend

            calibration = CalibrationService(
                StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                replies=Outbox(control, run_id=spec.run_id, source="instrument_server"), records=records)
        server = InstrumentServer(
            qpu=qpu,
            dispatch=dispatch,
            control=control, records=records, monitor=monitor, max_in_flight=acq.max_in_flight,
            correction_timeout=acq.correction_timeout, duration=spec.duration,
            max_blocks=spec.max_blocks, calibration=calibration,
            heartbeat_interval=sup.heartbeat_interval, heartbeat_timeout=sup.heartbeat_timeout,
            whole_batches=decoders_share_cpu(spec.placement),
        )
        stop.blocks = lambda: server.blocks_applied
        decoding = config.qplane.decoding
        server.start(config_text=config.text, config_path=config.path,
                     station_snapshot=station.snapshot(),
                     qec_attrs={"decoder": decoding.decoder.type,
                                "decoder_options": dict(decoding.decoder.options.kwargs()),
                                "decoding_workers": decoding.workers,
                                "shadow_fraction": decoding.shadow_fraction})
        if started is not None:
            records.event("info", "calibration_state_applied", started.summary(),
                          path=config.qplane.calibration.state, applied=len(started.applied),
                          expired=started.expired, refused=started.refused,
                          unknown=started.unknown)
        _freeze_heap()  # before acquisition starts
        if not server.wait_for_workers(spec.workers, timeout=sup.startup_timeout,
                                       should_stop=stop):
            records.event("warning", "workers_late",
                          f"only {len(server.dispatcher.peers)} of {spec.workers} decoding workers "
                          f"registered after {sup.startup_timeout} s; acquiring anyway")
        server.run(should_stop=stop)
        # What is in flight is still corrected, within the bound of a run's end.
        server.drain(timeout=min(acq.correction_timeout, sup.stop_timeout), on_wait=stop.beat)
        records.event("info", "acquisition_stopped",
                      f"acquisition stopped after {server.blocks_acquired} blocks "
                      f"({server.blocks_applied} corrected, {server.blocks_lost} lost)",
                      **{k: v for k, v in server.stats().as_dict().items() if k != "workers"})
    finally:
        lab.close()


def _start_from_state(config: Any, lab: Any, qpu: Any) -> Any:
    """Apply the calibration state file's values (``qplane.calibration.state``) to the station;
    what was applied (``None`` without a state file)."""
    section = config.qplane.calibration
    if section is None or not section.enabled or not section.state:
        return None
    from qplane.calibration import apply_state, load_state

    return apply_state(load_state(section.state), lab.controls, qpu.qubits(), now=time.time(),
                       expired=section.state_expired)


def _run_decoder(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox) -> None:
    from qplane.decoder import make_decoder
    from qplane.pipeline.decoding_worker import DecodingWorker

    config = spec.config_value()
    settings = config.qplane.decoding
    sup = config.qplane.supervision
    name = records.source
    worker = DecodingWorker(
        name=name,
        decoder=make_decoder(settings.decoder.type, **settings.decoder.options.kwargs()),
        dispatch=_no_linger(make_socket(ctx, zmq.DEALER, spec.endpoints["syndromes"], bind=False)),
        control=_no_linger(make_socket(ctx, zmq.DEALER, spec.endpoints["control"], bind=False)),
        records=records, shadow_fraction=settings.shadow_fraction, seed=spec.index,
        credit=sup.credit or config.qplane.acquisition.max_in_flight,
        heartbeat_interval=sup.heartbeat_interval, heartbeat_timeout=sup.heartbeat_timeout,
        monitor=None,  # its heartbeats to the launcher come from the process's heartbeat thread
        learner=_noise_learner(settings, name),
    )
    _freeze_heap()  # before it registers: no block waits for the collection
    worker.start()  # fetch and compile the circuit, then register with the server
    worker.run(should_stop=stop)
    records.event("info", "worker_stopped", f"{name} stopped after {worker.blocks} blocks",
                  blocks=worker.blocks, shots=worker.shots)


def _noise_learner(settings: Any, name: str) -> Any:
    """The live estimator factory of ``weights: learned`` (``None`` for nominal weights)."""
    if settings.decoder.weights != "learned":
        return None
    from qplane.noise import LiveNoiseLearner, estimator_for

    noise = settings.noise
    estimator = estimator_for(noise.estimator, correlated=settings.decoder.type.endswith("correlated"))
    return lambda dem: LiveNoiseLearner(
        dem, estimator=estimator, window_shots=noise.window_shots,
        refresh_shots=noise.refresh_shots, min_shots=noise.min_shots, groups=noise.groups,
        source=name)


def _run_calibration(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox) -> None:
    from qplane.pipeline.calibration_worker import PipelineCalibrationWorker

    from qplane.errors import PipelineError

    control = _no_linger(make_socket(ctx, zmq.DEALER, spec.endpoints["control"], bind=False))
    try:
        with PipelineCalibrationWorker(spec.config_value(), control=control, records=records,
                                       should_stop=stop, on_wait=stop.beat) as worker:
            worker.run(should_stop=stop)
    except PipelineError:
        if not stop.stop:
            raise
        # Told to stop while waiting for the server (at the end of a run): not a crash.
        records.event("info", "worker_stopped",
                      f"{records.source} stopped while waiting for the instrument server")


def _no_linger(sock: zmq.Socket) -> zmq.Socket:
    """A worker's sockets to the server carry nothing worth waiting for once it stops (a
    correction or call the server will not read): closing them must not wait."""
    sock.setsockopt(zmq.LINGER, 0)
    return sock


def _heartbeat_interval(spec: RunSpec) -> float:
    return spec.config_value().qplane.supervision.heartbeat_interval


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qplane.pipeline.process")
    parser.add_argument("role", choices=("recorder", "instrument_server", "decoder", "calibration"))
    parser.add_argument("spec", help="run spec JSON written by the launcher")
    parser.add_argument("--index", type=int, default=0, help="decoding worker number")
    parser.add_argument("--source", default="",
                        help="this process's source name (default: its role, decoder-INDEX)")
    parser.add_argument("--profile", default="", metavar="DIR",
                        help="profile the main thread (cProfile) into DIR/SOURCE.prof at the end")
    args = parser.parse_args(argv)
    spec = dataclasses.replace(RunSpec.load(args.spec), index=args.index)
    source = args.source or (f"decoder-{args.index}" if args.role == "decoder" else args.role)
    if not args.profile:
        return run_role(args.role, spec, source)
    import cProfile  # the hot path's profile, per process (``qplane bench pipeline --profile``)

    profile = cProfile.Profile()
    try:
        return profile.runcall(run_role, args.role, spec, source)
    finally:
        os.makedirs(args.profile, exist_ok=True)
        profile.dump_stats(os.path.join(args.profile, f"{source}.prof"))


def run_role(role: str, spec: RunSpec, source: str, *, watch_parent: bool = True) -> int:
    """Run one process of a run (``role`` under the name ``source``) until it is done or told
    to stop; return its exit code. ``qplane worker`` runs a remote worker through this too
    (``watch_parent=False``: it was not started by the run's launcher)."""
    pin(spec.placement, role)  # before any thread starts: they inherit it
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` prints where a process is stuck
    stop = _StopFlag(watch_parent=watch_parent)
    ctx = SecureContext(TransportSecurity.from_settings(
        spec.config_value().qplane.security, role=role_of(source), endpoints=spec.endpoints))
    # Records must reach the recorder: they are kept until it acknowledges them, and sent again
    # to a restarted one (qplane.pipeline.delivery); the recorder itself sends none.
    if role == "recorder":
        # The recorder writes its own rows: it needs its source name, not a socket to itself
        # (which the records endpoint would refuse under CURVE). Never connected, never sent.
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        records = Outbox(sock, run_id=spec.run_id, source=source)
    else:
        sock = make_socket(ctx, zmq.DEALER, spec.endpoints["records"], bind=False, linger_ms=-1)
        records = RetainingOutbox(sock, run_id=spec.run_id, source=source, on_wait=stop.beat)
        stop.records = records
    # The live statistics (the instrument server's); heartbeats have a socket of their own.
    monitor = (Outbox(make_socket(ctx, zmq.PUB, spec.endpoints["monitor"], bind=False,
                                  linger_ms=0), run_id=spec.run_id, source=source)
               if role == "instrument_server" else None)
    heartbeats = HeartbeatThread(
        lambda: Outbox(make_socket(ctx, zmq.PUB, spec.endpoints["monitor"], bind=False,
                                   linger_ms=0), run_id=spec.run_id, source=source),
        role=role, interval=_heartbeat_interval(spec), progress=stop.progress,
        blocks=lambda: stop.blocks()).start()
    try:
        if role == "recorder":
            _run_recorder(spec, ctx, stop, records)
        elif role == "instrument_server":
            _run_instrument_server(spec, ctx, stop, records, monitor)
        elif role == "calibration":
            _run_calibration(spec, ctx, stop, records)
        else:
            _run_decoder(spec, ctx, stop, records)
        if stop.parent_gone and role != "recorder":
            records.event("error", "launcher_gone",
                          f"{source} stopped: the launcher that started it is gone")
    except Exception as e:  # noqa: BLE001 - reported as an error record, then exit non-zero
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        if role != "recorder":
            records.event("error", "crash", f"{source} crashed: {type(e).__name__}: {e}", traceback=tb)
        return 1
    finally:
        if role != "recorder":
            _connection_summary(stop.watch, source, records.event)
            records.end_stream()  # the last record: what this process sent the recorder
            # until it is in the file (bounded; longer while a restarted recorder catches up,
            # during which this process goes on beating, so the launcher waits for it)
            left = records.settle(spec.config_value().qplane.supervision.stop_timeout,
                                  patience=CATCH_UP_SECONDS)
            if not left:
                records.socket.setsockopt(zmq.LINGER, 0)
        if stop.orphaned():
            # No launcher to kill us if the recorder is gone too: deliver what we can, then go.
            records.socket.setsockopt(zmq.LINGER, ORPHAN_LINGER_MS)
        heartbeats.stop()  # its socket closed before the context is destroyed
        if stop.watch is not None:
            stop.watch.close()
        ctx.destroy()  # each socket keeps its own linger
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is closed and delivered by now (the run file, the station, the sockets, whose
    # lingers were honoured): skip the interpreter's teardown of torch, matplotlib and the like,
    # which takes seconds on a loaded machine, so a run's end stays bounded.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
