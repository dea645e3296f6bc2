import json

import numpy as np
import pytest

from qplane.errors import WireFormatError
from qplane.pipeline.wire import RECORD_KINDS, WIRE_VERSION, Record, decode, encode

EXAMPLE_META = {
    "syndrome": {"block_index": 3, "circuit_id": "0123456789abcdef", "num_detectors": 24, "t_acquired": 1.5},
    "correction": {"syndrome_seq": 4, "block_index": 3, "circuit_id": "0123456789abcdef", "t_acquired": 1.5,
                   "t_decoded": 1.6, "decode_seconds": 0.001, "worker": "decoder-0", "shadow_shots": 2,
                   "shadow_disagreements": 0},
    "applied": {"syndrome_seq": 4, "block_index": 3, "t_acquired": 1.5, "t_decoded": 1.6, "t_applied": 1.7,
                "decode_seconds": 0.001, "worker": "decoder-0", "failures": 1, "shadow_shots": 2,
                "shadow_disagreements": 0},
    "run_start": {"config_text": "qplane: {}", "config_path": "c.yaml", "station_snapshot": {"a": 1},
                  "num_detectors": 24, "num_observables": 1, "qec": {"distance": 3}},
    "run_end": {"end_state": "completed", "reason": "done"},
    "event": {"level": "error", "event": "gap", "message": "m", "details": {"n": 1}},
    "circuit": {"circuit_id": "0123456789abcdef", "num_detectors": 24, "num_observables": 1,
                "stim_circuit": "H 0"},
    "circuit_request": {"circuit_id": ""},
    "stats": {"stats": {"shots": 5}},
    "calibration_run": {"time": 3.0, "node": "rabi", "qubit": "q0", "outcome": "success", "reason": "",
                        "experiment": "{}", "fit": '{"pi_amplitude": 0.5}', "verdict": "{}"},
    "parameter_change": {"parameter": "q0.pi_amplitude", "old": 0.5, "new": 0.51, "node": "rabi",
                         "update": "0123abcd", "details": {}},
    "simulation_truth": {"setting": "q0.pi_amplitude", "value": 0.512, "device_time": 3600.0},
    "calibration_call": {"call": "run_experiment", "args": {"kind": "readout_iq", "qubit": "q0", "shots": 4}},
    "calibration_reply": {"call": "run_experiment", "error": "", "error_type": "",
                          "result": {"kind": "readout_iq"}},
    "detection_counts": {"circuit_id": "0123456789abcdef", "shots": 1024},
}

rng = np.random.default_rng(0)
EXAMPLE_ARRAYS = {
    "syndrome": {"detection_events": rng.integers(0, 255, (5, 3), dtype=np.uint8)},
    "correction": {"predictions": rng.integers(0, 2, (5, 1), dtype=np.uint8)},
    "applied": {k: rng.integers(0, 2, (5, 1), dtype=np.uint8) for k in ("predictions", "corrections", "truth")},
    "calibration_run": {"sweep": np.linspace(0, 1, 7), "signal": rng.random(7),
                        "figure_png": np.frombuffer(b"\x89PNG...", np.uint8)},
    "calibration_call": {"sweep": np.array([0.0, 1.0])},
    "calibration_reply": {"sweep": np.array([0.0, 1.0]), "signal": np.array([0.1, 0.9]),
                          "iq0": rng.random(4) + 1j * rng.random(4), "iq1": rng.random(4) - 1j},
    "detection_counts": {"counts": np.arange(24, dtype=np.int64)},
}


def build(kind, **changes):
    meta = dict(EXAMPLE_META[kind])
    meta.update(changes)
    return Record.build(kind, run_id="run1", source="test", seq=7, meta=meta, arrays=EXAMPLE_ARRAYS.get(kind))


def test_every_kind_has_an_example():
    assert set(EXAMPLE_META) == set(RECORD_KINDS)


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_round_trip(kind):
    rec = build(kind)
    back = decode(encode(rec))
    assert (back.kind, back.run_id, back.source, back.seq, back.uid) == (kind, "run1", "test", 7, rec.uid)
    assert back.time == rec.time
    assert back.meta == rec.meta
    assert set(back.arrays) == set(rec.arrays)
    for name, array in rec.arrays.items():
        assert back.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(back.arrays[name], array)


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
    header["version"] = WIRE_VERSION + 1
    with pytest.raises(WireFormatError, match=f"wire schema version {WIRE_VERSION + 1} is not supported"):
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
    with pytest.raises(WireFormatError, match="header must be a JSON object"):
        decode([frames[0], b"[1, 2]", *frames[2:]])


@pytest.mark.parametrize("field", ["seq", "run_id", "meta", "arrays", "kind"])
def test_missing_header_field_rejected(field):
    frames = encode(build("syndrome"))
    header = header_of(frames)
    del header[field]
    with pytest.raises(WireFormatError, match=f"header is missing field '{field}'"):
        decode(with_header(frames, header))


def test_missing_meta_field_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    del header["meta"]["circuit_id"]
    with pytest.raises(WireFormatError, match="syndrome record: missing meta field 'circuit_id'"):
        decode(with_header(frames, header))


def test_wrong_meta_type_rejected():
    with pytest.raises(WireFormatError, match="field 'meta.block_index' must be int, got str"):
        build("syndrome", block_index="3")
    with pytest.raises(WireFormatError, match="field 'meta.block_index' must be int, got bool"):
        build("syndrome", block_index=True)


def test_unexpected_meta_field_rejected():
    with pytest.raises(WireFormatError, match="unexpected meta field 'extra'"):
        build("syndrome", extra=1)


def test_wrong_dtype_rejected():
    frames = encode(build("syndrome"))
    header = header_of(frames)
    header["arrays"][0]["dtype"] = "int8"
    with pytest.raises(WireFormatError, match="array 'detection_events' must be uint8, got int8"):
        decode(with_header(frames, header))
    header["arrays"][0]["dtype"] = "object"
    with pytest.raises(WireFormatError, match="has dtype 'object'; allowed"):
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
    header["kind"] = "nonsense"
    with pytest.raises(WireFormatError, match="unknown record kind 'nonsense'"):
        decode([b"nonsense", json.dumps(header).encode(), *frames[2:]])
    with pytest.raises(WireFormatError, match="topic 'event' does not match header kind 'syndrome'"):
        decode([b"event", *frames[1:]])


def test_optional_arrays_may_be_left_out_but_not_invented():
    rec = Record.build("calibration_reply", run_id="r", source="s", seq=0,
                       meta=EXAMPLE_META["calibration_reply"], arrays={})
    assert decode(encode(rec)).arrays == {}
    with pytest.raises(WireFormatError, match=r"arrays must be \[\] \(optionally \['iq0', 'iq1', 'signal', 'sweep'\]\), got \['extra'\]"):
        Record.build("calibration_reply", run_id="r", source="s", seq=0,
                     meta=EXAMPLE_META["calibration_reply"], arrays={"extra": np.zeros(2)})
    with pytest.raises(WireFormatError, match="arrays must be \\['counts'\\], got \\[\\]"):
        Record.build("detection_counts", run_id="r", source="s", seq=0,
                     meta=EXAMPLE_META["detection_counts"], arrays={})


def test_arrays_must_agree_on_shots():
    arrays = {"predictions": np.zeros((5, 1), np.uint8), "corrections": np.zeros((5, 1), np.uint8),
              "truth": np.zeros((4, 1), np.uint8)}
    with pytest.raises(WireFormatError, match="arrays disagree on the number of shots"):
        Record.build("applied", run_id="r", source="s", seq=0, meta=EXAMPLE_META["applied"], arrays=arrays)
