"""Every pipeline worker has the one worker shape: start / step / run / stop / close, a
context manager, and ``step()`` returning how many messages or units it handled."""

import typing

import pytest
import zmq

from qplane.pipeline.calibration_worker import PipelineCalibrationWorker
from qplane.pipeline.decoding_worker import DecodingWorker
from qplane.pipeline.instrument_server import InstrumentServer
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import make_socket
from qplane.pipeline.worker import Worker

WORKERS = [InstrumentServer, DecodingWorker, Recorder, PipelineCalibrationWorker]


@pytest.mark.parametrize("cls", WORKERS, ids=lambda c: c.__name__)
def test_every_worker_has_the_one_shape(cls):
    assert issubclass(cls, Worker)
    for name in ("start", "step", "run", "stop", "close", "__enter__", "__exit__"):
        assert callable(getattr(cls, name))
    assert typing.get_type_hints(cls.step)["return"] is int


def test_an_idle_worker_steps_zero_and_closes_once(tmp_path):
    ctx = zmq.Context()
    try:
        pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
        with Recorder(records=pull, path=str(tmp_path / "run.h5"), run_id="r") as recorder:
            assert recorder.running
            assert recorder.step(poll_ms=0) == 0
        assert recorder.closed and not recorder.running
        recorder.close()  # idempotent
        with pytest.raises(RuntimeError, match="Recorder is closed"):
            recorder.start()
    finally:
        ctx.destroy(linger=0)
