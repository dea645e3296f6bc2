"""The hot path's choices that are not timings: the run file's compression setting, the
server's records held to their bundle's time (not one message per wait), drains that do not
raise on an empty queue."""

import pathlib

import h5py
import numpy as np
import pytest
import yaml
import zmq

from qplane.config import load_config
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import Inbox, Outbox, has_message, make_socket, queued
from qplane.records import Applied, QecInfo, RunEnd, RunStart, Syndrome

RUN = "run-hot"
SIM_D3 = pathlib.Path(__file__).parents[2] / "config" / "sim_d3.yaml"


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _record_one_block(ctx, tmp_path, **recorder_options):
    pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
    push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
    path = str(tmp_path / "run.h5")
    recorder = Recorder(records=pull, path=path, run_id=RUN, **recorder_options)
    server = Outbox(push, run_id=RUN, source="instrument_server")
    server.send(RunStart(config_text="x", config_path="c.yaml", station_snapshot={},
                         num_detectors=16, num_observables=1,
                         qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=4)))
    dets = np.arange(8, dtype=np.uint8).reshape(4, 2)
    syndrome = server.send(Syndrome(block_index=0, circuit_id="0" * 16, num_detectors=16,
                                    t_acquired=1.0), {"detection_events": dets})
    server.send(Applied(syndrome_seq=syndrome.seq, t_decoded=1.1, t_applied=1.2,
                        decode_seconds=0.01, worker="decoder-0", failures=0),
                {"predictions": np.ones((4, 1), np.uint8), "truth": np.ones((4, 1), np.uint8)})
    Outbox(push, run_id=RUN, source="launcher").send(RunEnd(end_state="completed", reason="test"))
    recorder.run()
    recorder.close()
    return path, dets


@pytest.mark.parametrize("compression, filter_", [("lzf", "lzf"), ("none", None)])
def test_the_run_files_per_shot_datasets_are_compressed_as_configured(ctx, tmp_path,
                                                                      compression, filter_):
    path, dets = _record_one_block(ctx, tmp_path, compression=compression)
    with h5py.File(path, "r") as f:
        assert f["qec/detection_events"].compression == filter_
        assert f["qec/predictions"].compression == filter_
        np.testing.assert_array_equal(f["qec/detection_events"][:], dets)  # read back the same
        assert f["qec/blocks"][0]["applied"] == 1


def test_compression_is_a_run_setting_lzf_by_default(tmp_path):
    assert load_config(str(SIM_D3)).qplane.run.compression == "lzf"
    doc = yaml.safe_load(SIM_D3.read_text())
    doc["qplane"].setdefault("run", {})["compression"] = "none"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert load_config(str(path)).qplane.run.compression == "none"


def test_a_drain_of_an_empty_queue_returns_without_raising(ctx, tmp_path):
    pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/q", bind=True)
    push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/q", bind=False)
    inbox = Inbox(pull, run_id=RUN)
    assert not has_message(pull) and list(queued(inbox)) == []
    out = Outbox(push, run_id=RUN, source="instrument_server")
    for i in range(3):
        out.event("info", "e", f"m{i}")
    assert pull.poll(5000)
    got = []
    for _ in range(100):  # bounded: the three arrive (all queued by now, or soon)
        got += [g[1].body.message for g in queued(inbox)]
        if len(got) == 3:
            break
        pull.poll(100)
    assert got == ["m0", "m1", "m2"]
