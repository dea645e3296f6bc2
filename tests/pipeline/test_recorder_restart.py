"""A recorder taken down and restarted: its file taken up from the last checkpoint, what it had
not acknowledged sent again by the senders, every record stored exactly once.

The writer-level test kills a real writer process with SIGKILL (unflushed variable-length rows
in its chunks: the case that made a reopened file fail with "bad heap index"); the protocol test
runs a recorder, "kills" it in-process (its file and socket dropped without closing the run),
and has a second recorder take over the same endpoint and file.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest
import zmq

from qplane.errors import RunFileError
from qplane.pipeline.delivery import RetainingOutbox
from qplane.pipeline.recorder import Recorder
from qplane.records import Applied, QecInfo, Record, Resync, RunEnd, RunStart, Syndrome, encode
from qplane.runfile import RunFileWriter, open_run

RUN = "restart-run"

_KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from qplane.runfile import RunFileWriter
    from qplane.runfile.schema import BLOCK_DTYPE
    w = RunFileWriter.create(sys.argv[1], run_id="r", config_text="", config_path="c",
                             station_snapshot={}, num_detectors=24, num_observables=1)
    def blocks(n, first):
        rows = np.zeros(n, BLOCK_DTYPE)
        rows["seq"] = np.arange(first, first + n)
        w.append_blocks([np.full((64, 3), first, np.uint8)] * n, rows)
    for i in range(300):
        w.append_event(level="info", source="kept", kind="k", message=f"kept {i}")
    blocks(10, 0)
    w.checkpoint({"note": "ten blocks"})
    for i in range(100):  # after the checkpoint: flushed, but not checkpointed
        w.append_event(level="info", source="cut", kind="k", message=f"cut {i}" * 5)
    blocks(5, 10)
    w.flush()
    for i in range(10):  # not even flushed: rows in the chunk cache, heap objects in memory
        w.append_event(level="info", source="cut", kind="k", message=f"unflushed {i}")
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_writers_file_is_taken_up_from_its_last_checkpoint(tmp_path):
    path = tmp_path / "killed.h5"
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    with pytest.raises(OSError):  # left open for write: plain h5py refuses it
        h5py.File(path, "r")
    writer, state = RunFileWriter.reopen(path)
    assert state == {"note": "ten blocks"}
    for i in range(500):  # more than the stale chunk held: every append goes through
        writer.append_event(level="info", source="new", kind="k", message=f"new {i}")
    writer.checkpoint({})
    writer.close("completed", "taken up")
    with h5py.File(path, "r") as f:
        evs = f["events"][:]
        blocks = f["qec/blocks"][:]
        assert [e["source"] for e in evs] == [b"kept"] * 300 + [b"new"] * 500
        assert evs[299]["message"] == b"kept 299" and evs[300]["message"] == b"new 0"
        assert list(blocks["seq"]) == list(range(10))
        assert f["qec/detection_events"].shape[0] == 640 == f["qec/predictions"].shape[0]
        assert f.attrs["end_state"] == "completed"
    with pytest.raises(RunFileError, match="has ended"):
        RunFileWriter.reopen(path)


def test_key_fingerprints_are_root_attributes(tmp_path):
    path = tmp_path / "keys.h5"
    w = RunFileWriter.create(path, run_id="r", config_text="", config_path="c", station_snapshot={},
                             num_detectors=8, num_observables=1,
                             key_fingerprints={"recorder": "0123456789abcdef", "decoder": "fedc"})
    w.close("completed", "")
    with h5py.File(path, "r") as f:
        assert json.loads(f.attrs["key_fingerprints"]) == {"decoder": "fedc",
                                                           "recorder": "0123456789abcdef"}
    with open_run(path) as run:
        assert run.key_fingerprints == {"decoder": "fedc", "recorder": "0123456789abcdef"}
        assert run.schema_minor == 1


class _Lab:
    """One sender (the instrument server's outbox) and recorders taking turns on one endpoint."""

    def __init__(self, folder):
        self.ctx = zmq.Context()
        self.endpoint = f"ipc://{folder}/records"
        self.path = str(folder / "run.h5")
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(self.endpoint)
        self.server = RetainingOutbox(dealer, run_id=RUN, source="instrument_server")
        self.recorder = None
        self.seqs = []

    def start_recorder(self, epoch, resume):
        router = self.ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.bind(self.endpoint)
        self.recorder = Recorder(records=router, path=self.path, run_id=RUN, flush_interval=0.05,
                                 epoch=epoch, resume=resume)

    def kill_recorder(self):
        """What kill -9 leaves: the file as of the last flush, nothing else."""
        self.recorder.writer._file.flush()
        self.recorder.writer._file.close()
        self.recorder.inbox.socket.close(linger=0)
        self.recorder = None

    def block(self, i):
        rec = self.server.send(Syndrome(block_index=i, circuit_id="c" * 16, num_detectors=8,
                                        t_acquired=1.0 + i),
                               {"detection_events": np.full((4, 1), i % 256, np.uint8)})
        self.server.send(Applied(syndrome_seq=rec.seq, t_decoded=2.0, t_applied=3.0 + i,
                                 decode_seconds=0.1, worker="decoder-0", failures=0),
                         {"predictions": np.full((4, 1), 1, np.uint8)})
        self.seqs.append(rec.seq)

    def turn(self, n=40):
        """Let both sides work ``n`` times (bounded; a turn waits at most 20 ms)."""
        for _ in range(n):
            if self.recorder is not None:
                self.recorder.step(poll_ms=5)
            self.server._next_look = 0.0
            self.server.pump()
            self.server.acks.socket.poll(5)

    def close(self):
        self.ctx.destroy(linger=0)


def test_a_restarted_recorder_gets_again_what_it_had_not_acknowledged_and_stores_it_once(tmp_path):
    lab = _Lab(tmp_path)
    try:
        lab.start_recorder("recorder", resume=False)
        lab.server.send(RunStart(config_text="", config_path="c", station_snapshot={},
                                 num_detectors=8, num_observables=1,
                                 qec=QecInfo(distance=3, rounds=1, basis="Z", shots_per_block=4)))
        for i in range(20):
            lab.block(i)
        lab.turn()
        assert lab.server.kept == 0  # all acknowledged: forgotten
        for i in range(20, 30):  # received by the recorder, never checkpointed
            lab.block(i)
        lab.recorder.step(poll_ms=50, max_records=15)
        lab.recorder._next_flush = float("inf")
        lab.recorder.step(poll_ms=50)
        assert lab.server.kept == 20
        lab.kill_recorder()
        for i in range(30, 40):  # while no recorder is up
            lab.block(i)
        lab.turn(3)
        lab.start_recorder("recorder.r1", resume=True)
        lab.turn()
        for i in range(40, 50):
            lab.block(i)
        lab.turn()
        assert lab.server.kept == 0 and lab.server.epoch == "recorder.r1"
        assert lab.server.resent >= 20
        lab.server.send(RunEnd(end_state="completed", reason="test"))
        lab.server.end_stream()
        lab.turn()
        lab.recorder.close()
    finally:
        lab.close()
    with h5py.File(lab.path, "r") as f:
        blocks = f["qec/blocks"][:]
        assert list(blocks["seq"]) == list(range(50))  # each block once, in order
        assert blocks["applied"].all()
        assert list(blocks["block_index"]) == list(range(50))
        events = f["qec/detection_events"][:]
        assert [int(events[r["shot_start"], 0]) for r in blocks] == list(range(50))
        assert f["qec/predictions"][:].all()
        kinds = [e["kind"].decode() for e in f["events"][:]]
        streams = {(r["source"].decode(), r["kind"].decode()): (r["sent"], r["recorded"])
                   for r in f["streams"][:]}
        assert f.attrs["end_state"] == "completed"
    assert kinds.count("recorder_resumed") == 1 and kinds.count("run_start") == 1
    assert not {"gap", "duplicate", "stream_incomplete", "applied_unknown_block"} & set(kinds)
    assert streams[("instrument_server", "syndrome")] == (50, 50)
    assert streams[("instrument_server", "applied")] == (50, 50)


def test_a_recorder_killed_before_it_made_the_file_is_replaced_by_one_that_makes_it(tmp_path):
    lab = _Lab(tmp_path)
    try:
        lab.server.send(RunStart(config_text="", config_path="c", station_snapshot={},
                                 num_detectors=8, num_observables=1,
                                 qec=QecInfo(distance=3, rounds=1, basis="Z", shots_per_block=4)))
        for i in range(10):  # queued for the recorder that died before reading any of it
            lab.block(i)
        lab.start_recorder("recorder.r1", resume=True)
        lab.turn()
        for i in range(10, 20):
            lab.block(i)
        lab.server.end_stream()
        lab.turn()
        assert lab.server.kept == 0
        lab.recorder.close("completed", "test")
    finally:
        lab.close()
    with h5py.File(lab.path, "r") as f:
        assert list(f["qec/blocks"]["seq"]) == list(range(20)) and f["qec/blocks"]["applied"].all()
        kinds = [e["kind"].decode() for e in f["events"][:]]
    assert kinds.count("run_start") == 1 and "gap" not in kinds and "stream_incomplete" not in kinds


def test_a_sender_never_blocks_on_a_recorder_that_is_down_and_keeps_what_it_sent(tmp_path):
    ctx = zmq.Context()
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.SNDHWM, 100)
        dealer.connect(f"ipc://{tmp_path}/nobody")
        out = RetainingOutbox(dealer, run_id=RUN, source="instrument_server", max_records=2000,
                              probe_after=0.0)
        for i in range(1000):  # ten times what the socket queues: none of it blocks
            out.event("info", "note", f"event {i}")
        assert out.kept == 1000 and out.forgotten == 0
        for i in range(1500):  # past the bound while the recorder is silent: the oldest go
            out.event("info", "note", f"more {i}")
        assert out.kept == 2000 and out.forgotten == 500
        out.pump()  # a probe to nobody: still nothing blocks
    finally:
        ctx.destroy(linger=0)


def test_a_forged_resync_cannot_move_a_stream_beyond_the_window(tmp_path):
    lab = _Lab(tmp_path)
    try:
        lab.start_recorder("recorder", resume=False)
        lab.server.send(RunStart(config_text="", config_path="c", station_snapshot={},
                                 num_detectors=8, num_observables=1,
                                 qec=QecInfo(distance=3, rounds=1, basis="Z", shots_per_block=4)))
        lab.block(0)
        lab.turn(5)
        forged = Record.build(Resync(epoch="recorder", first={"syndrome": 10**9}), run_id=RUN,
                              source="instrument_server", seq=0)
        lab.server.socket.send_multipart(encode(forged))
        lab.turn(5)
        for i in range(1, 5):
            lab.block(i)
        lab.turn()
        lab.recorder.close("completed", "test")
    finally:
        lab.close()
    with h5py.File(lab.path, "r") as f:
        assert list(f["qec/blocks"]["seq"]) == list(range(5))
        kinds = [e["kind"].decode() for e in f["events"][:]]
    assert "rejected_record" in kinds and "gap" not in kinds
