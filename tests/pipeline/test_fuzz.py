"""Property-based fuzzing (hypothesis) of the wire decode and of every receiver's handlers:
``decode`` raises nothing but WireFormatError, and no message makes a receiver raise — each
is handled or becomes a counted rejection."""

import json
import struct

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qplane.decoder import PyMatchingDecoder
from qplane.errors import WireFormatError
from qplane.pipeline.decoding_worker import DecodingWorker
from qplane.pipeline.dispatch import peer_register
from qplane.pipeline.instrument_server import InstrumentServer
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import Inbox, Outbox, make_socket
from qplane.records import QecInfo, Record, RunStart, decode, encode
from qplane.sim_instruments.qpu import SimulatedQPU
from tests.records.test_wire import EXAMPLE_ARRAYS, EXAMPLES

RUN = "fuzz-run"
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**80, max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


def template(kind, source):
    return Record.build(EXAMPLES[kind], run_id=RUN, source=source, seq=0,
                        arrays=EXAMPLE_ARRAYS.get(kind))


@st.composite
def fuzzed_frames(draw, kinds=tuple(EXAMPLES), source="instrument_server"):
    """A message: random frames, or a valid record of one kind with one thing changed."""
    how = draw(st.sampled_from(["raw", "header", "body", "drop", "topic", "buffer", "frames",
                                "deep", "valid"]))
    if how == "raw":
        return draw(st.lists(st.binary(max_size=64), min_size=1, max_size=5))
    kind = draw(st.sampled_from(kinds))
    frames = [bytes(f) for f in encode(template(kind, source))]
    header = json.loads(frames[1])
    header["seq"] = draw(st.integers(min_value=0, max_value=50))
    if how == "header":
        header[draw(st.sampled_from(sorted(header)))] = draw(json_values)
    elif how == "body":
        header["body"][draw(st.sampled_from(sorted(header["body"])))] = draw(json_values)
    elif how == "drop":
        header["body"].pop(draw(st.sampled_from(sorted(header["body"]))))
    elif how == "topic":
        frames[0] = draw(st.binary(max_size=20))
    elif how == "buffer" and len(frames) > 2:
        frames[draw(st.integers(2, len(frames) - 1))] = draw(st.binary(max_size=64))
    elif how == "frames":
        frames = frames[:draw(st.integers(1, len(frames)))] + draw(st.lists(st.binary(max_size=8), max_size=2))
    elif how == "deep":
        depth = draw(st.integers(10, 3000))
        frames[1] = b'{"schema":"qplane.wire","body":' + b"[" * depth + b"]" * depth + b"}"
        return frames
    if len(frames) > 1 and how != "frames":
        frames[1] = json.dumps(header, allow_nan=True).encode()
    if len(frames) > 1 and draw(st.booleans()):  # the same message packed into one frame
        return [packed_by_hand(draw, frames)]
    return frames


def packed_by_hand(draw, frames):
    """``frames`` as one packed frame (written here, not by qplane's ``pack``): topic, NUL,
    header length (uint32 LE), header, buffers; sometimes with a wrong length or cut short."""
    topic, header, *buffers = frames
    length = draw(st.sampled_from([len(header)] * 3 + [0, len(header) + 1, 2**32 - 1]))
    frame = b"".join([topic, b"\0", struct.pack("<I", length), header, *buffers])
    # (bounds that do not depend on the frame: its header's uid and time vary between draws)
    return frame[:draw(st.integers(0, 600))] if draw(st.integers(0, 3)) == 0 else frame


@given(st.lists(st.binary(max_size=100), max_size=6) | fuzzed_frames())
@SETTINGS
def test_decode_raises_only_wire_format_errors(frames):
    try:
        decode(frames)
    except WireFormatError:
        pass


class Rig:
    """A recorder, an instrument server and a decoding worker, each fed only by the test."""

    def __init__(self, folder):
        self.ctx = zmq.Context()
        ep = lambda name: f"ipc://{folder}/{name}"  # noqa: E731
        sock = lambda kind, name, bind: make_socket(self.ctx, kind, ep(name), bind=bind, linger_ms=0)  # noqa: E731
        self.recorder = Recorder(records=sock(zmq.PULL, "rec", True), path=str(folder / "run.h5"),
                                 run_id=RUN)
        self.to_recorder = sock(zmq.PUSH, "rec", False)
        Outbox(self.to_recorder, run_id=RUN, source="instrument_server").send(RunStart(
            config_text="x", config_path="c", station_snapshot={}, num_detectors=24,
            num_observables=1, qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=5)))
        self.recorder.step(poll_ms=2000)
        self.qpu = SimulatedQPU(f"fuzzqpu_{folder.name[-12:]}", distance=3, rounds=3,
                                shots_per_block=5, seed=1)
        server_records = sock(zmq.PUSH, "srvrec", False)
        self.server_records_sink = sock(zmq.PULL, "srvrec", True)
        self.server = InstrumentServer(
            qpu=self.qpu, dispatch=sock(zmq.ROUTER, "syn", True),
            control=sock(zmq.ROUTER, "ctl", True),
            records=Outbox(server_records, run_id=RUN, source="instrument_server"), monitor=None,
            max_in_flight=4, correction_timeout=30.0, max_blocks=4)
        self.server.start(config_text="x", config_path="c", station_snapshot={})
        # a registered decoder's DEALER: blocks are dispatched to it and its corrections land
        self.decoder_in = sock(zmq.DEALER, "syn", False)
        peer_register(Outbox(self.decoder_in, run_id=RUN, source="decoder-0"), role="decoder",
                      credit=64, pid=1, host="test")
        for _ in range(50):  # registered, and four real blocks outstanding
            self.server.step(poll_ms=20)
            if self.server.dispatcher.peers and self.server.blocks_acquired >= 4:
                break
        self.to_corrections = self.decoder_in
        self.to_control = sock(zmq.DEALER, "ctl", False)
        worker_records = sock(zmq.PUSH, "wrec", False)
        self.worker_records_sink = sock(zmq.PULL, "wrec", True)
        # the worker's dispatch socket: syndromes in, corrections and heartbeats out (a PAIR
        # stands in for the server's ROUTER)
        self.to_worker = sock(zmq.PAIR, "wsyn", True)
        self.worker = DecodingWorker(
            name="decoder-0", decoder=PyMatchingDecoder(), dispatch=sock(zmq.PAIR, "wsyn", False),
            control=sock(zmq.DEALER, "nobody", False),
            records=Outbox(worker_records, run_id=RUN, source="decoder-0"), circuit_timeout=0.01)
        self.nobody = sock(zmq.ROUTER, "nobody", True)

    def drain(self, *socks):
        for s in socks:
            while s.poll(0):
                s.recv_multipart()

    def close(self):
        self.recorder.close()
        self.qpu.close()
        self.ctx.destroy(linger=0)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    r = Rig(tmp_path_factory.mktemp("fuzz"))
    yield r
    r.close()


def _deliver(sock, frames):
    sock.send_multipart(frames)


def _handled(inbox, before):
    return inbox.received + inbox.rejected - before


@given(st.lists(fuzzed_frames(source="instrument_server"), min_size=1, max_size=5))
@SETTINGS
def test_the_recorder_survives_anything(rig, messages):
    before = rig.recorder.inbox.received + rig.recorder.inbox.rejected
    for frames in messages:
        _deliver(rig.to_recorder, frames)
    while _handled(rig.recorder.inbox, before) < len(messages):
        rig.recorder.step(poll_ms=2000)  # raises nothing, whatever arrived
    assert _handled(rig.recorder.inbox, before) == len(messages)


@given(st.lists(fuzzed_frames(source="decoder-0", kinds=("correction", "event", "applied")),
                min_size=1, max_size=5),
       st.lists(fuzzed_frames(source="calibration", kinds=("circuit_request", "calibration_call",
                                                             "event")), max_size=3))
@SETTINGS
def test_the_instrument_server_survives_anything(rig, corrections, control):
    c0 = _handled(rig.server.dispatcher.inbox, 0)
    k0 = _handled(rig.server.control, 0)
    for frames in corrections:
        _deliver(rig.to_corrections, frames)
    for frames in control:
        _deliver(rig.to_control, frames)
    for _ in range(200):
        if (_handled(rig.server.dispatcher.inbox, c0) >= len(corrections)
                and _handled(rig.server.control, k0) >= len(control)):
            break
        rig.server.step(poll_ms=50)
    assert _handled(rig.server.dispatcher.inbox, c0) == len(corrections)
    assert _handled(rig.server.control, k0) == len(control)
    rig.drain(rig.server_records_sink, rig.decoder_in, rig.to_control)


@given(st.lists(fuzzed_frames(kinds=("syndrome", "event", "circuit")), min_size=1, max_size=4))
@SETTINGS
def test_the_decoding_worker_survives_anything(rig, messages):
    before = _handled(rig.worker.syndromes, 0)
    for frames in messages:
        _deliver(rig.to_worker, frames)
    for _ in range(100):
        if _handled(rig.worker.syndromes, before) >= len(messages):
            break
        rig.worker.step(poll_ms=100)
    assert _handled(rig.worker.syndromes, before) == len(messages)
    rig.drain(rig.worker_records_sink, rig.to_worker, rig.nobody)


@given(st.lists(fuzzed_frames(kinds=("stats", "event")), min_size=1, max_size=4))
@SETTINGS
def test_an_inbox_returns_or_rejects_never_raises(rig, messages):
    inbox = Inbox(rig.nobody, run_id=RUN, envelope=1)
    for frames in messages:
        _deliver(_dealer(rig), frames)
    got = 0
    while got < len(messages) and rig.nobody.poll(2000):
        inbox.recv()
        got += 1
    assert inbox.received + inbox.rejected == len(messages)


_DEALERS = {}


def _dealer(rig):
    if id(rig) not in _DEALERS:
        sock = rig.ctx.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(rig.nobody.getsockopt_string(zmq.LAST_ENDPOINT))
        _DEALERS[id(rig)] = sock
    return _DEALERS[id(rig)]
