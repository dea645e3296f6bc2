"""The wire (version 2): every record kind round-trips with its typed body; every malformed
message is rejected with a message naming the problem."""

import json
import struct

import msgspec
import numpy as np
import pytest

from qplane.errors import WireFormatError
from qplane.records import (
    CALIBRATION_CALLS,
    RECORD_KINDS,
    WIRE_VERSION,
    Applied,
    AppliedBlocks,
    FlushAck,
    Resync,
    Heartbeat,
    Register,
    CalibrationCall,
    CalibrationReply,
    CalibrationRun,
    Circuit,
    CircuitRequest,
    Correction,
    Corrections,
    DecoderCompiled,
    DetectionCounts,
    NoiseModel,
    Event,
    ParameterChange,
    QecInfo,
    Record,
    RunEnd,
    RunStart,
    RunExperimentCall,
    ExperimentResult,
    ChangesResult,
    SettingChangeInfo,
    WriteSettingsCall,
    SimulationTruth,
    Stats,
    StreamEnd,
    Syndrome,
    SyndromeBlocks,
    decode,
    encode,
    pack,
)

CID = "0123456789abcdef"
EXAMPLES = {
    "syndrome": Syndrome(block_index=3, circuit_id=CID, num_detectors=24, t_acquired=1.5),
    "syndrome_blocks": SyndromeBlocks(circuit_id=CID, num_detectors=24, syndrome_seqs=[7, 8],
                                      block_indices=[3, 4], shots=[2, 3], t_acquired=[1.5, 1.6],
                                      settings_changes=[0, 1]),
    "correction": Correction(syndrome_seq=4, t_decoded=1.6, decode_seconds=0.001, shadow_shots=2),
    "corrections": Corrections(syndrome_seqs=[4, 5], shots=[2, 3], t_decoded=[1.6, 1.6],
                               decode_seconds=[0.001, 0.002], t_received=[1.5, 1.5],
                               shadow_shots=[2, 0], shadow_disagreements=[0, 0]),
    "applied": Applied(syndrome_seq=4, t_decoded=1.6, t_applied=1.7, decode_seconds=0.001,
                       worker="decoder-0", failures=1, shadow_shots=2),
    "applied_blocks": AppliedBlocks(
        syndrome_seqs=[4, 5], shots=[2, 3], t_decoded=[1.6, 1.6], t_applied=[1.7, 1.7],
        decode_seconds=[0.001, 0.002], workers=["decoder-0", "decoder-1"], failures=[1, -1],
        shadow_shots=[2, 0], shadow_disagreements=[0, 0], t_sent=[1.55, 1.55],
        t_received=[1.56, 1.56]),
    "run_start": RunStart(config_text="qplane: {}", config_path="c.yaml",
                          station_snapshot={"a": {"b": [1, 2]}}, num_detectors=24,
                          num_observables=1,
                          qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=64,
                                      decoder="pymatching", decoder_options={"x": 1})),
    "run_end": RunEnd(end_state="completed", reason="done"),
    "stream_end": StreamEnd(sent={"event": 3, "syndrome": 10}),
    "register": Register(name="decoder-0", role="decoder", credit=4, pid=12, host="h"),
    "heartbeat": Heartbeat(role="decoder", pid=12, blocks=3),
    "flush_ack": FlushAck(epoch="recorder.r1", upto={"syndrome": 10, "applied": 9}),
    "resync": Resync(epoch="recorder.r1", first={"syndrome": 11, "event": 0}),
    "event": Event(level="error", event="gap", message="m", details={"n": 1}),
    "circuit": Circuit(circuit_id=CID, num_detectors=24, num_observables=1, stim_circuit="H 0"),
    "circuit_request": CircuitRequest(circuit_id=""),
    "decoder_compiled": DecoderCompiled(worker="decoder-0", decoder="neural", circuit_id=CID,
                                        model_card={"name": "m"}, model_sha256="ab",
                                        notes=["n"], rule={"mode": "all"}),
    "stats": Stats(elapsed=1.0, acquiring=True, blocks_acquired=2, blocks_applied=1, blocks_lost=0,
                   in_flight=1, duplicates=0, shots=64, failures=1, latency_p50=None,
                   latency_p99=0.01, decode_p50=0.001, decode_p99=0.002, shadow_shots=0,
                   shadow_disagreements=0, rejected=0, workers=["decoder-0"]),
    "calibration_run": CalibrationRun(time=3.0, node="rabi", qubit="q0", outcome="success",
                                      reason="", experiment={"kind": "rabi"},
                                      fit={"values": {"pi_amplitude": 0.5}}, verdict={}),
    "parameter_change": ParameterChange(parameter="q0.pi_amplitude", old=0.5, new=0.51,
                                        node="rabi", update="u1", details={"why": "fit"}),
    "simulation_truth": SimulationTruth(setting="q0.pi_amplitude", value=0.5, device_time=10.0),
    "calibration_call": CalibrationCall(args=RunExperimentCall(kind="readout_iq", qubit="q0",
                                                               shots=4)),
    "calibration_reply": CalibrationReply(call="run_experiment", result=ExperimentResult(
        kind="readout_iq", qubit="q0", sweep_unit="", shots=4, settings={"q0.pi_amplitude": 0.4},
        time=1.0, duration=0.1, version=1)),
    "detection_counts": DetectionCounts(circuit_id=CID, shots=1024),
    "noise_model": NoiseModel(worker="decoder-0", version=1, first_seq=7, circuit_id=CID,
                              model_hash="0123456789abcdef", estimator="full", shots=30_000,
                              window_start=0, window_stop=30_000, kept_nominal=2,
                              learned_at=1.7e9, details={"reasons": {"kept": 3}}),
}

rng = np.random.default_rng(0)
EXAMPLE_ARRAYS = {
    "syndrome": {"detection_events": rng.integers(0, 255, (5, 3), dtype=np.uint8)},
    "syndrome_blocks": {"detection_events": rng.integers(0, 255, (5, 3), dtype=np.uint8)},
    "correction": {"predictions": rng.integers(0, 2, (5, 1), dtype=np.uint8)},
    "corrections": {"predictions": rng.integers(0, 2, (5, 1), dtype=np.uint8)},
    "applied": {k: rng.integers(0, 2, (5, 1), dtype=np.uint8) for k in ("predictions", "truth")},
    "applied_blocks": {k: rng.integers(0, 2, (5, 1), dtype=np.uint8)
                       for k in ("predictions", "truth")},
    "calibration_run": {"sweep": np.linspace(0, 1, 7), "signal": rng.random(7),
                        "figure_png": np.frombuffer(b"\x89PNG...", np.uint8)},
    "calibration_call": {"sweep": np.array([0.0, 1.0])},
    "calibration_reply": {"sweep": np.array([0.0, 1.0]), "signal": np.array([0.1, 0.9]),
                          "iq0": rng.random(4) + 1j * rng.random(4), "iq1": rng.random(4) - 1j},
    "detection_counts": {"counts": np.arange(24, dtype=np.int64)},
    "noise_model": {name: np.array([0.001, 0.002, 0.003, 0.004, 0.005])
                    for name in ("probabilities", "lower", "upper")},
}


def build(kind, **changes):
    body = msgspec.structs.replace(EXAMPLES[kind], **changes)
    return Record.build(body, run_id="run1", source="test", seq=7, arrays=EXAMPLE_ARRAYS.get(kind))


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == set(RECORD_KINDS)
    assert all(type(body).kind_name() == kind for kind, body in EXAMPLES.items())


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_round_trip(kind):
    rec = build(kind)
    back = decode(encode(rec))
    assert (back.kind, back.run_id, back.source, back.seq, back.uid) == (kind, "run1", "test", 7, rec.uid)
    assert back.time == rec.time
    assert type(back.body) is RECORD_KINDS[kind]
    assert back.body == rec.body  # every typed field, nested payloads included
    assert set(back.arrays) == set(rec.arrays)
    for name, array in rec.arrays.items():
        assert back.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(back.arrays[name], array)


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_packed_round_trip_is_the_multipart_one(kind):
    rec = build(kind)
    frames = encode(rec)
    packed = pack(rec)
    # the layout, written out: topic, NUL, header length (uint32 LE), header, buffers
    header = bytes(frames[1])
    assert packed == b"".join([frames[0], b"\0", struct.pack("<I", len(header)), header,
                               *[bytes(f) for f in frames[2:]]])
    back, multi = decode([packed]), decode(frames)
    assert (back.kind, back.seq, back.uid, back.time, back.body) == (
        multi.kind, multi.seq, multi.uid, multi.time, multi.body)
    assert set(back.arrays) == set(rec.arrays)
    for name, array in rec.arrays.items():
        np.testing.assert_array_equal(back.arrays[name], array)
        assert back.arrays[name].dtype == array.dtype


@pytest.mark.parametrize("kind", ["syndrome", "applied", "corrections"])
def test_a_packed_frame_decodes_the_same_from_bytes_and_from_a_buffer(kind):
    """A plain receive hands bytes, a CURVE receive a frame's buffer: the arrays are read in
    place from either, by offset, and are the same."""
    rec = build(kind)
    packed = pack(rec)
    from_bytes, from_view = decode([packed]), decode([memoryview(bytearray(packed))])
    assert from_bytes.body == from_view.body == rec.body
    for name, array in rec.arrays.items():
        np.testing.assert_array_equal(from_bytes.arrays[name], array)
        np.testing.assert_array_equal(from_view.arrays[name], array)
    with pytest.raises(WireFormatError, match="bytes of buffers follow"):
        decode([memoryview(bytearray(packed[:-1]))])


def test_packed_message_damage_is_rejected_with_its_cause():
    packed = pack(build("syndrome"))
    head = packed.index(b"\0") + 5
    (length,) = struct.unpack("<I", packed[head - 4:head])
    with pytest.raises(WireFormatError, match="truncated message: 1 frame"):
        decode([b"syndrome"])  # no NUL after the topic: not a packed message
    with pytest.raises(WireFormatError, match="bytes end in its header length"):
        decode([packed[:head - 2]])
    with pytest.raises(WireFormatError, match="header of .* bytes announced"):
        decode([packed[:head + length - 1]])
    with pytest.raises(WireFormatError, match="bytes of buffers follow its header, its arrays need 15"):
        decode([packed[:-1]])
    with pytest.raises(WireFormatError, match="bytes of buffers follow"):
        decode([packed + b"x"])
    with pytest.raises(WireFormatError, match="topic 'correction' does not match"):
        decode([b"correction" + packed[len(b"syndrome"):]])
    wrong_length = packed[:head - 4] + struct.pack("<I", length - 1) + packed[head:]
    with pytest.raises(WireFormatError):
        decode([wrong_length])


def test_a_sub_socket_filters_packed_records_on_their_topic(tmp_path):
    import zmq

    ctx = zmq.Context()
    try:
        pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
        pub.bind(f"ipc://{tmp_path}/pub")
        sub.connect(f"ipc://{tmp_path}/pub")
        sub.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        got = None
        for _ in range(200):  # bounded: until the subscription has reached the publisher
            pub.send(pack(build("syndrome")))
            pub.send(pack(build("heartbeat")))
            if sub.poll(10):
                got = decode(sub.recv_multipart())
                break
        assert got is not None and got.kind == "heartbeat"
        while sub.poll(50):
            assert decode(sub.recv_multipart()).kind == "heartbeat"
    finally:
        ctx.destroy(linger=0)


def test_nested_payloads_are_typed_not_json_text():
    back = decode(encode(build("run_start")))
    assert isinstance(back.body.qec, QecInfo) and back.body.qec.decoder_options == {"x": 1}
    back = decode(encode(build("calibration_run")))
    assert back.body.fit["values"]["pi_amplitude"] == 0.5


def header_of(frames):
    return json.loads(bytes(frames[1]))


def with_header(frames, header):
    return [frames[0], json.dumps(header).encode(), *frames[2:]]


def test_truncated_message_rejected():
    frames = encode(build("syndrome"))
    with pytest.raises(WireFormatError, match="truncated message: 1 frame"):
        decode(frames[:1])
    with pytest.raises(WireFormatError, match="truncated message: header announces 1 array"):
        decode(frames[:2])


def test_short_buffer_rejected():
    frames = encode(build("syndrome"))
    with pytest.raises(WireFormatError, match="buffer has 14 bytes, shape \\[5, 3\\] of uint8 needs 15"):
        decode([frames[0], frames[1], bytes(frames[2])[:-1]])


def test_wrong_schema_version_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    for version in (1, WIRE_VERSION + 1):
        header["version"] = version
        with pytest.raises(WireFormatError, match=f"wire schema version {version} is not supported"):
            decode(with_header(frames, header))


def test_wrong_schema_name_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["schema"] = "bluesky"
    with pytest.raises(WireFormatError, match="header schema is 'bluesky'"):
        decode(with_header(frames, header))


def test_bad_json_rejected():
    frames = encode(build("syndrome"))
    with pytest.raises(WireFormatError, match="header is not valid JSON"):
        decode([frames[0], b"{not json", *frames[2:]])
    with pytest.raises(WireFormatError, match="header is not valid JSON|invalid header"):
        decode([frames[0], b"[1, 2]", *frames[2:]])


@pytest.mark.parametrize("field", ["seq", "run_id", "body", "arrays"])
def test_missing_header_field_rejected(field):
    frames = encode(build("syndrome"))
    header = header_of(frames)
    del header[field]
    with pytest.raises(WireFormatError, match=f"missing required field `{field}`"):
        decode(with_header(frames, header))


def test_missing_body_field_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    del header["body"]["circuit_id"]
    with pytest.raises(WireFormatError, match="missing required field `circuit_id` - at `\\$.body`"):
        decode(with_header(frames, header))


def test_wrong_body_type_rejected_at_sender_and_receiver():
    with pytest.raises(WireFormatError, match="syndrome record: Expected `int`, got `str` - at `\\$.block_index`"):
        build("syndrome", block_index="3")
    with pytest.raises(WireFormatError, match="Expected `int`, got `bool`"):
        build("syndrome", block_index=True)
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["body"]["block_index"] = -1
    with pytest.raises(WireFormatError, match="Expected `int` >= 0 - at `\\$.body.block_index`"):
        decode(with_header(frames, header))


def test_out_of_range_numbers_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["seq"] = 2**70
    with pytest.raises(WireFormatError, match="seq"):
        decode(with_header(frames, header))
    raw = bytes(frames[1]).replace(b'"t_acquired":1.5', b'"t_acquired":Infinity')
    with pytest.raises(WireFormatError, match="header is not valid JSON|invalid header"):
        decode([frames[0], raw, *frames[2:]])


def test_deep_nesting_rejected_not_raised():
    frames = encode(build("event"))
    raw = bytes(frames[1]).replace(b'{"n":1}', b'{"n":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(WireFormatError):
        decode([frames[0], raw])


def test_unexpected_body_field_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["body"]["extra"] = 1
    with pytest.raises(WireFormatError, match="unknown field `extra`"):
        decode(with_header(frames, header))


def test_wrong_dtype_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["arrays"][0]["dtype"] = "int8"
    with pytest.raises(WireFormatError, match="array 'detection_events' must be uint8, got int8"):
        decode(with_header(frames, header))
    header["arrays"][0]["dtype"] = "object"
    with pytest.raises(WireFormatError, match="Invalid enum value 'object' - at `\\$.arrays\\[0\\].dtype`"):
        decode(with_header(frames, header))


def test_wrong_shape_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["arrays"][0]["shape"] = [3, 5]
    with pytest.raises(WireFormatError, match="detection_events must be \\(shots, 3\\) bit-packed for 24 detectors, got \\(3, 5\\)"):
        decode(with_header(frames, header))
    header["arrays"][0]["shape"] = [15]
    with pytest.raises(WireFormatError, match="must have 2 dimensions"):
        decode(with_header(frames, header))


def test_unknown_kind_and_topic_mismatch_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["body"]["kind"] = "nonsense"
    with pytest.raises(WireFormatError, match="Invalid value 'nonsense' - at `\\$.body.kind`"):
        decode([b"nonsense", json.dumps(header).encode(), *frames[2:]])
    with pytest.raises(WireFormatError, match="topic 'event' does not match header kind 'syndrome'"):
        decode([b"event", *frames[1:]])


def test_optional_arrays_may_be_left_out_but_not_invented():
    body = EXAMPLES["calibration_reply"]
    rec = Record.build(body, run_id="r", source="s", seq=0, arrays={})
    assert decode(encode(rec)).arrays == {}
    with pytest.raises(WireFormatError, match=r"arrays must be \[\] \(optionally \['iq0', 'iq1', 'signal', 'sweep'\]\), got \['extra'\]"):
        Record.build(body, run_id="r", source="s", seq=0, arrays={"extra": np.zeros(2)})
    with pytest.raises(WireFormatError, match="arrays must be \\['counts'\\], got \\[\\]"):
        Record.build(EXAMPLES["detection_counts"], run_id="r", source="s", seq=0, arrays={})


def test_arrays_must_agree_on_shots():
    arrays = {"predictions": np.zeros((5, 1), np.uint8), "truth": np.zeros((4, 1), np.uint8)}
    with pytest.raises(WireFormatError, match="arrays disagree on the number of shots"):
        Record.build(EXAMPLES["applied"], run_id="r", source="s", seq=0, arrays=arrays)


def test_predictions_travel_once_in_applied():
    assert "corrections" not in Applied.ARRAYS and "corrections" not in Applied.OPTIONAL_ARRAYS


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_stored_kinds_map_to_run_file_tables(kind):
    from qplane.runfile.schema import TABLES

    rec = build(kind)
    for table, fields in rec.body.rows(rec):
        if table in ("model_card",):
            continue
        assert table in TABLES
        assert set(fields) <= set(TABLES[table].names), (kind, set(fields) - set(TABLES[table].names))


@pytest.mark.parametrize("name", sorted(CALIBRATION_CALLS))
def test_every_calibration_call_is_typed_and_round_trips(name):
    from qplane.records import CALIBRATION_CALLS as calls

    required = {"setting": "q0.pi_amplitude", "value": 0.4, "qubit": "q0", "node": "rabi",
                "time": 1.0, "kind": "rabi_amplitude", "shots": 10,
                "settings": {"q0.readout_angle": 0.1, "q0.readout_threshold": 0.2}}
    fields = set(calls[name].__struct_fields__)
    args = msgspec.convert({k: v for k, v in required.items() if k in fields}, calls[name])
    rec = Record.build(CalibrationCall(args=args), run_id="r", source="calibration", seq=0)
    back = decode(encode(rec))
    assert back.body.call == name and back.body.args == args


def test_a_call_with_wrong_or_unknown_arguments_is_rejected():
    frames = encode(Record.build(CalibrationCall(args=WriteSettingsCall(settings={"q0.x": 1.0})),
                                 run_id="r", source="calibration", seq=0))
    header = header_of(frames)
    header["body"]["args"]["settings"] = {"q0.x": "high"}
    with pytest.raises(WireFormatError, match="Expected `float`, got `str` - at `\\$.body.args.settings"):
        decode(with_header(frames, header))
    header["body"]["args"] = {"call": "reboot"}
    with pytest.raises(WireFormatError, match="Invalid value 'reboot' - at `\\$.body.args.call`"):
        decode(with_header(frames, header))


def test_reply_results_are_typed():
    info = SettingChangeInfo(uid="u", time=1.0, setting="q0.readout_angle", qubit="q0",
                             control="readout_angle", old=0.1, new=0.2, node="readout", run_uid="up")
    rec = Record.build(CalibrationReply(call="write_settings", result=ChangesResult(changes=[info])),
                       run_id="r", source="instrument_server", seq=0)
    assert decode(encode(rec)).body.result.changes == [info]
