"""Entry point of each pipeline process: ``python -m qplane.pipeline.process ROLE SPEC [--index N]``.

The launcher writes a :class:`RunSpec` (JSON) and starts one process per role: ``recorder``,
``instrument_server`` and ``decoder`` (``--index`` numbers the decoding workers). Each process
rebuilds the config the launcher validated from the spec (no process reads the config file),
opens its sockets, runs its loop until its work is done or it receives SIGTERM, and exits.
SIGINT is left to the launcher, which stops the processes in order. A process that crashes
reports the traceback to the recorder as an error event before it exits non-zero.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import traceback
from typing import Any

import zmq

from qplane.config import Config
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


class _StopFlag:
    def __init__(self) -> None:
        self.stop = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _set(self, *_args: object) -> None:
        self.stop = True

    def __call__(self) -> bool:
        return self.stop


def _run_recorder(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox) -> None:
    from qplane.pipeline.recorder import Recorder

    sock = make_socket(ctx, zmq.PULL, spec.endpoints["records"], bind=True)
    recorder = Recorder(records=sock, path=spec.out_path, run_id=spec.run_id)
    try:
        recorder.run(should_stop=stop)
    finally:
        recorder.close()


def _run_instrument_server(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox) -> None:
    from qplane.pipeline.calibration_link import CalibrationService
    from qplane.pipeline.instrument_server import InstrumentServer
    from qplane.pipeline.station import open_station

    config = spec.config_value()
    acq = config.qplane.acquisition
    lab, qpu = open_station(config)
    station = lab.station
    try:
        monitor = Outbox(make_socket(ctx, zmq.PUB, spec.endpoints["monitor"], bind=False),
                         run_id=spec.run_id, source="instrument_server")
        control = make_socket(ctx, zmq.ROUTER, spec.endpoints["control"], bind=True)
        calibration = None
        if spec.calibration:
            from qplane.calibration import StationBackend

            calibration = CalibrationService(
                StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                replies=Outbox(control, run_id=spec.run_id, source="instrument_server"), records=records)
        server = InstrumentServer(
            qpu=qpu,
            syndromes=make_socket(ctx, zmq.PUSH, spec.endpoints["syndromes"], bind=True),
            corrections=make_socket(ctx, zmq.PULL, spec.endpoints["corrections"], bind=True),
            control=control, records=records, monitor=monitor, max_in_flight=acq.max_in_flight,
            correction_timeout=acq.correction_timeout, duration=spec.duration,
            max_blocks=spec.max_blocks, calibration=calibration,
        )
        decoding = config.qplane.decoding
        server.start(config_text=config.text, config_path=config.path,
                     station_snapshot=station.snapshot(),
                     qec_attrs={"decoder": decoding.decoder.type,
                                "decoder_options": dict(decoding.decoder.options.kwargs()),
                                "decoding_workers": decoding.workers,
                                "shadow_fraction": decoding.shadow_fraction})
        if not server.wait_for_workers(spec.workers, timeout=120.0):
            records.event("warning", "workers_late",
                          f"only {len(server.ready_workers)} of {spec.workers} decoding workers ready "
                          "after 120 s; acquiring anyway")
        server.run(should_stop=stop)
        server.drain(timeout=acq.correction_timeout)
        records.event("info", "acquisition_stopped",
                      f"acquisition stopped after {server.blocks_acquired} blocks "
                      f"({server.blocks_applied} corrected, {server.blocks_lost} lost)",
                      **{k: v for k, v in server.stats().as_dict().items() if k != "workers"})
    finally:
        lab.close()


def _run_decoder(spec: RunSpec, ctx: zmq.Context, stop: _StopFlag, records: Outbox, index: int) -> None:
    from qplane.decoder import make_decoder
    from qplane.pipeline.decoding_worker import DecodingWorker

    config = spec.config_value()
    settings = config.qplane.decoding
    name = records.source
    worker = DecodingWorker(
        name=name,
        decoder=make_decoder(settings.decoder.type, **settings.decoder.options.kwargs()),
        syndromes=make_socket(ctx, zmq.PULL, spec.endpoints["syndromes"], bind=False),
        corrections=Outbox(make_socket(ctx, zmq.PUSH, spec.endpoints["corrections"], bind=False),
                           run_id=spec.run_id, source=name),
        control=make_socket(ctx, zmq.DEALER, spec.endpoints["control"], bind=False),
        records=records, shadow_fraction=settings.shadow_fraction, seed=index,
        learner=_noise_learner(settings, name),
    )
    worker.start()  # fetch and compile the circuit: the server counts the worker ready
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

    control = make_socket(ctx, zmq.DEALER, spec.endpoints["control"], bind=False)
    with PipelineCalibrationWorker(spec.config_value(), control=control, records=records) as worker:
        worker.run(should_stop=stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qplane.pipeline.process")
    parser.add_argument("role", choices=("recorder", "instrument_server", "decoder", "calibration"))
    parser.add_argument("spec", help="run spec JSON written by the launcher")
    parser.add_argument("--index", type=int, default=0, help="decoding worker number")
    args = parser.parse_args(argv)
    stop = _StopFlag()
    spec = RunSpec.load(args.spec)
    source = f"decoder-{args.index}" if args.role == "decoder" else args.role
    ctx = zmq.Context()
    # Records must reach the recorder: closing waits until they are delivered (the launcher
    # kills a process that hangs here because the recorder is gone).
    records = Outbox(make_socket(ctx, zmq.PUSH, spec.endpoints["records"], bind=False, linger_ms=-1),
                     run_id=spec.run_id, source=source)
    try:
        if args.role == "recorder":
            _run_recorder(spec, ctx, stop, records)
        elif args.role == "instrument_server":
            _run_instrument_server(spec, ctx, stop, records)
        elif args.role == "calibration":
            _run_calibration(spec, ctx, stop, records)
        else:
            _run_decoder(spec, ctx, stop, records, args.index)
    except Exception as e:  # noqa: BLE001 - reported as an error record, then exit non-zero
        tb = traceback.format_exc()
        print(tb, file=sys.stderr)
        if args.role != "recorder":
            records.event("error", "crash", f"{source} crashed: {type(e).__name__}: {e}", traceback=tb)
        return 1
    finally:
        if args.role != "recorder":
            records.end_stream()  # the last record: what this process sent the recorder
        ctx.destroy()  # each socket keeps its own linger
    return 0


if __name__ == "__main__":
    sys.exit(main())
