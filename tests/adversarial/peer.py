"""An independent hostile peer: plain pyzmq + json + numpy, no qplane module.

Its frames are written by hand from the layout in docs/records.schema.json: ``[topic, header
JSON, *raw buffers]`` with the header ``{schema, version, run_id, source, seq, uid, time,
arrays: [{name, dtype, shape}], body: {kind, ...}}``, or the same packed into one frame
(:func:`packed`: topic, NUL, header length as uint32 little-endian, header, buffers).
"""

from __future__ import annotations

import json
import os
import struct
import time
import uuid

import numpy as np
import zmq

CID = "0123456789abcdef"


def header(kind, body, *, run_id, source, seq=0, arrays=()):
    return {"schema": "qplane.wire", "version": 2, "run_id": run_id, "source": source, "seq": seq,
            "uid": uuid.uuid4().hex, "time": time.time(),
            "arrays": [{"name": n, "dtype": str(a.dtype), "shape": list(a.shape)} for n, a in arrays],
            "body": {"kind": kind, **body}}


def message(kind, body, *, run_id, source, seq=0, arrays=(), raw_header=None):
    """The frames of one record (``raw_header``: bytes to send instead of the JSON)."""
    head = raw_header if raw_header is not None else json.dumps(
        header(kind, body, run_id=run_id, source=source, seq=seq, arrays=arrays)).encode()
    return [kind.encode(), head] + [np.ascontiguousarray(a).tobytes() for _, a in arrays]


def packed(frames):
    """A message's frames packed into one frame, as qplane's senders send every record."""
    topic, head, *buffers = frames
    return [b"".join([topic, b"\0", struct.pack("<I", len(head)), head, *buffers])]


def _bits(shots, width=1):
    return np.zeros((shots, width), np.uint8)


def forged_records(run_id):
    """Well-formed records of every kind that a record receiver takes, each claiming a role
    that may not send it (name, frames)."""
    preds = [("predictions", _bits(4)), ("truth", _bits(4))]
    qec = {"distance": 3, "rounds": 3, "basis": "Z", "shots_per_block": 4}
    cases = {
        "syndrome seq 1e9": ("syndrome", {"block_index": 0, "circuit_id": CID, "num_detectors": 8,
                                          "t_acquired": 1.0}, "decoder-0", 10**9,
                             [("detection_events", _bits(4))]),
        "applied": ("applied", {"syndrome_seq": 0, "t_decoded": 1.0, "t_applied": 1.0,
                                "decode_seconds": 0.0, "worker": "decoder-0", "failures": 0},
                    "decoder-0", 0, preds),
        "run_start": ("run_start", {"config_text": "x", "config_path": "x", "station_snapshot": {},
                                    "num_detectors": 8, "num_observables": 1, "qec": qec},
                      "calibration", 0, []),
        "run_end": ("run_end", {"end_state": "completed", "reason": "forged"}, "decoder-0", 0, []),
        "parameter_change": ("parameter_change", {"parameter": "q0.pi_amplitude", "old": 0.4,
                                                  "new": 0.79, "node": "rabi", "update": "u"},
                             "calibration", 0, []),
        "calibration_run": ("calibration_run", {"time": 1.0, "node": "rabi", "qubit": "q0",
                                                "outcome": "success", "reason": "",
                                                "experiment": {}, "fit": {}, "verdict": {}},
                            "decoder-0", 0, [("sweep", np.zeros(3)), ("signal", np.zeros(3))]),
        "circuit": ("circuit", {"circuit_id": CID, "num_detectors": 8, "num_observables": 1,
                                "stim_circuit": "H 0"}, "decoder-0", 0, []),
        "simulation_truth": ("simulation_truth", {"setting": "q0.pi_amplitude", "value": 0.1,
                                                  "device_time": 1.0}, "decoder-0", 0, []),
        "decoder_compiled": ("decoder_compiled", {"worker": "decoder-0", "decoder": "x",
                                                  "circuit_id": CID}, "instrument_server", 0, []),
        "event": ("event", {"level": "error", "event": "forged", "message": "m"}, "intruder", 0, []),
    }
    out = []
    for name, (kind, body, source, seq, arrays) in cases.items():
        out.append((name, message(kind, body, run_id=run_id, source=source, seq=seq, arrays=arrays)))
    return out


def malformed(run_id):
    """One message of each malformed class (name, frames)."""
    ok = header("event", {"level": "info", "event": "x", "message": "m"}, run_id=run_id,
                source="intruder")
    dump = lambda h: json.dumps(h).encode()  # noqa: E731
    deep = b'{"schema":"qplane.wire","version":2,"body":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    big_seq = dict(ok, seq=2**70)
    inf = dump(dict(ok, time=0.0)).replace(b'"time": 0.0', b'"time": Infinity')
    wrong_version = dict(ok, version=1)
    return [
        ("random bytes", [os.urandom(337)]),
        ("one frame", [b"event"]),
        ("bad json", [b"event", b"{not json"]),
        ("not utf-8", [b"event", b"\xff\xfe\x00"]),
        ("wrong version", [b"event", dump(wrong_version)]),
        ("seq 2**70", [b"event", dump(big_seq)]),
        ("Infinity", [b"event", inf]),
        ("deep nesting", [b"event", deep]),
        ("topic mismatch", [b"syndrome", dump(ok)]),
        ("missing buffer", [b"correction", dump(header(
            "correction", {"syndrome_seq": 0, "t_decoded": 1.0, "decode_seconds": 0.0},
            run_id=run_id, source="decoder-0", arrays=[("predictions", _bits(4))]))]),
        ("other run id", message("event", {"level": "info", "event": "x", "message": "m"},
                                 run_id="not-" + run_id, source="decoder-0")),
        ("unknown kind", [b"nope", dump(dict(ok, body={"kind": "nope"}))]),
        ("details not a mapping", message("event", {"level": "info", "event": "x", "message": "m",
                                                    "details": [1, 2]}, run_id=run_id,
                                          source="decoder-0")),
    ]


def forged_calls(run_id):
    """Calibration calls from roles that may not make them (name, frames)."""
    calls = {
        "write_settings as decoder": ({"call": "write_settings", "settings": {"q0.pi_amplitude": 0.5},
                                       "node": "rabi"}, "decoder-0"),
        "write_setting as intruder": ({"call": "write_setting", "setting": "q0.pi_amplitude",
                                       "value": 0.5, "details": {}}, "intruder"),
        "run_experiment as decoder": ({"call": "run_experiment", "kind": "rabi", "qubit": "q0",
                                       "shots": 4}, "decoder-1"),
        "revert as intruder": ({"call": "revert", "qubit": "q0", "node": "rabi"}, "intruder"),
    }
    return [(name, message("calibration_call", {"args": args}, run_id=run_id, source=source))
            for name, (args, source) in calls.items()]


def send_all(ctx, kind, endpoint, messages, *, curve=None, timeout_ms=3000):
    """Connect a ``kind`` socket and send every message (frames); return how many went."""
    sock = ctx.socket(kind)
    sock.linger = 2000
    if curve is not None:
        sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = curve
    sock.connect(endpoint)
    sent = 0
    for frames in messages:
        if not sock.poll(timeout_ms, zmq.POLLOUT):
            break
        sock.send_multipart(frames)
        sent += 1
    sock.close()
    return sent


def read_key(path, secret=False):
    """A ZeroMQ certificate file's z85 public (and secret) key, parsed by hand."""
    keys = {}
    for line in open(path):
        line = line.strip()
        for name in ("public-key", "secret-key"):
            if line.startswith(name):
                keys[name] = line.split("=", 1)[1].strip().strip('"').encode()
    return (keys["public-key"], keys.get("secret-key")) if secret else keys["public-key"]
