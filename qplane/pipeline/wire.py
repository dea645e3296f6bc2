"""The wire format: typed, versioned records as ZeroMQ multipart messages.

A record travels as ``[topic, header, *buffers]``:

- ``topic``: the record kind, ASCII (e.g. ``b"syndrome"``), so a SUB socket can filter on it;
- ``header``: UTF-8 JSON object with ``schema`` (``"qplane.wire"``), ``version``
  (:data:`WIRE_VERSION`), ``kind``, ``run_id``, ``source`` (the sending process), ``seq`` (per
  source and kind, from 0, so a receiver detects gaps and duplicates), ``uid``, ``time`` (UNIX
  seconds when built), ``meta`` (the kind's fields, checked against :data:`RECORD_KINDS`) and
  ``arrays`` (``[{"name", "dtype", "shape"}]``, one per buffer);
- one raw buffer per array, C-ordered. Detection events and predictions are bit-packed ``uint8``
  in stim's b8 layout.

Nothing is ever pickled. :func:`decode` rejects every malformed message with a
:class:`~qplane.errors.WireFormatError` that says what is wrong.

>>> import numpy as np
>>> rec = Record.build("syndrome", run_id="r", source="srv", seq=0,
...                    meta={"block_index": 0, "circuit_id": "ab" * 8, "num_detectors": 24,
...                          "t_acquired": 1.0},
...                    arrays={"detection_events": np.zeros((4, 3), np.uint8)})
>>> back = decode(encode(rec))
>>> back.kind, back.seq, back.arrays["detection_events"].shape
('syndrome', 0, (4, 3))
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import uuid
from typing import Any, Mapping

import numpy as np

from qplane.errors import WireFormatError

WIRE_SCHEMA = "qplane.wire"
WIRE_VERSION = 1

#: dtypes allowed on the wire (no object dtypes, nothing that needs pickle).
WIRE_DTYPES = frozenset({"uint8", "int8", "int32", "int64", "float32", "float64", "complex128"})
_DTYPE_BY_NAME = {name: np.dtype(name) for name in WIRE_DTYPES}
_NAME_BY_DTYPE = {dtype: name for name, dtype in _DTYPE_BY_NAME.items()}

_HEADER_FIELDS = {
    "schema": str, "version": int, "kind": str, "run_id": str, "source": str, "seq": int,
    "uid": str, "time": float, "meta": dict, "arrays": list,
}

_num = (int, float)


@dataclasses.dataclass(frozen=True)
class KindSpec:
    """What a record kind carries: typed ``meta`` fields and named arrays with fixed dtype/rank."""

    meta: Mapping[str, type | tuple[type, ...]]
    arrays: Mapping[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    optional_meta: Mapping[str, type | tuple[type, ...]] = dataclasses.field(default_factory=dict)
    optional_arrays: Mapping[str, tuple[str, int]] = dataclasses.field(default_factory=dict)


#: Every record kind qplane sends, with its fields.
RECORD_KINDS: dict[str, KindSpec] = {
    # instrument server -> decoding workers and recorder: one block of detection events.
    "syndrome": KindSpec(
        meta={"block_index": int, "circuit_id": str, "num_detectors": int, "t_acquired": _num},
        arrays={"detection_events": ("uint8", 2)},
    ),
    # decoding worker -> instrument server: the predicted observable flips of one block.
    "correction": KindSpec(
        meta={"syndrome_seq": int, "block_index": int, "circuit_id": str, "t_acquired": _num,
              "t_decoded": _num, "decode_seconds": _num, "worker": str,
              "shadow_shots": int, "shadow_disagreements": int},
        arrays={"predictions": ("uint8", 2)},
    ),
    # instrument server -> recorder: a correction was applied (with the truth, when simulated).
    "applied": KindSpec(
        meta={"syndrome_seq": int, "block_index": int, "t_acquired": _num, "t_decoded": _num,
              "t_applied": _num, "decode_seconds": _num, "worker": str, "failures": int,
              "shadow_shots": int, "shadow_disagreements": int},
        arrays={"predictions": ("uint8", 2), "corrections": ("uint8", 2), "truth": ("uint8", 2)},
    ),
    # instrument server -> recorder: first record of a run; the recorder creates the file.
    "run_start": KindSpec(
        meta={"config_text": str, "config_path": str, "station_snapshot": dict,
              "num_detectors": int, "num_observables": int, "qec": dict},
    ),
    # launcher -> recorder: how the run ended.
    "run_end": KindSpec(meta={"end_state": str, "reason": str}),
    # anyone -> recorder: errors, gaps, worker start/stop, ...
    "event": KindSpec(meta={"level": str, "event": str, "message": str, "details": dict}),
    # instrument server -> worker (reply on the control socket) and recorder: a decoding circuit.
    "circuit": KindSpec(
        meta={"circuit_id": str, "num_detectors": int, "num_observables": int,
              "stim_circuit": str},
    ),
    # worker -> instrument server (control socket): ask for the circuit with this id.
    "circuit_request": KindSpec(meta={"circuit_id": str}),
    # any process -> launcher (monitor socket): live statistics, free-form numbers.
    "stats": KindSpec(meta={"stats": dict}),
    # calibration worker -> recorder: one calibration-node run (a row of /calibration/runs);
    # experiment, fit and verdict are JSON text (qplane.calibration.run.NodeRun.wire_parts).
    "calibration_run": KindSpec(
        meta={"time": _num, "node": str, "qubit": str, "outcome": str, "reason": str,
              "experiment": str, "fit": str, "verdict": str},
        arrays={"sweep": ("float64", 1), "signal": ("float64", 1)},
        optional_arrays={"figure_png": ("uint8", 1)},
    ),
    # calibration worker -> instrument server (control socket): one call of the calibration
    # backend: run_experiment (args: kind, qubit, shots, settings; array sweep), read_setting
    # (args: setting), write_setting (args: setting, value, details), now, qubits.
    "calibration_call": KindSpec(
        meta={"call": str, "args": dict},
        optional_arrays={"sweep": ("float64", 1)},
    ),
    # instrument server -> calibration worker: the call's result, or its error ("" if none)
    # and the error's class name (error_type), so the worker raises the same qplane error.
    "calibration_reply": KindSpec(
        meta={"call": str, "error": str, "error_type": str, "result": dict},
        optional_arrays={"sweep": ("float64", 1), "signal": ("float64", 1),
                         "iq0": ("complex128", 1), "iq1": ("complex128", 1)},
    ),
    # instrument server -> calibration worker: detection events per detector, summed over the
    # blocks acquired since the last report (syndromes point calibration at drifting qubits).
    "detection_counts": KindSpec(
        meta={"circuit_id": str, "shots": int},
        arrays={"counts": ("int64", 1)},
    ),
    # the settings ledger (instrument server) -> recorder: one setting of a committed update
    # (a row of /parameters/history); node: the calibration node or ""; update: the id shared
    # by every setting of one atomic update.
    "parameter_change": KindSpec(
        meta={"parameter": str, "old": _num, "new": _num, "node": str, "update": str,
              "details": dict},
        optional_meta={"time": _num},
    ),
    # instrument server of a simulated device -> recorder: the true ideal value of a setting
    # (a row of /simulation/truth; never a parameter change).
    "simulation_truth": KindSpec(meta={"setting": str, "value": _num, "device_time": _num}),
}


#: Kinds whose arrays are all per-shot and so must agree on the number of shots.
_SHOT_ARRAY_KINDS = frozenset({"syndrome", "correction", "applied"})


@dataclasses.dataclass(frozen=True)
class Record:
    """One validated record. Build with :meth:`Record.build`, send with :func:`encode`."""

    kind: str
    run_id: str
    source: str
    seq: int
    uid: str
    time: float
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]

    @classmethod
    def build(cls, kind: str, *, run_id: str, source: str, seq: int,
              meta: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> "Record":
        """Build and validate a record (a bad one raises :class:`WireFormatError` at the sender)."""
        arrays = {k: np.ascontiguousarray(v) for k, v in (arrays or {}).items()}
        rec = cls(kind=kind, run_id=run_id, source=source, seq=seq, uid=uuid.uuid4().hex,
                  time=time.time(), meta=dict(meta), arrays=arrays)
        validate(rec)
        return rec


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return t.__name__


def _check_field(where: str, name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    # bool is an int subclass; a bool where a number is expected is a mistake.
    if isinstance(value, bool) or not isinstance(value, expected):
        raise WireFormatError(
            f"{where}: field '{name}' must be {_type_name(expected)}, got {type(value).__name__}"
        )


def validate(rec: Record) -> None:
    """Check a record against its kind's spec; raise :class:`WireFormatError` naming the problem."""
    try:
        spec = RECORD_KINDS[rec.kind]
    except KeyError:
        raise WireFormatError(
            f"unknown record kind {rec.kind!r}; known kinds: {', '.join(sorted(RECORD_KINDS))}"
        ) from None
    where = f"{rec.kind} record"
    if rec.seq < 0:
        raise WireFormatError(f"{where}: seq must be >= 0, got {rec.seq}")
    for name, expected in spec.meta.items():
        if name not in rec.meta:
            raise WireFormatError(f"{where}: missing meta field '{name}'")
        _check_field(where, f"meta.{name}", rec.meta[name], expected)
    for name, value in rec.meta.items():
        if name in spec.meta:
            continue
        if name not in spec.optional_meta:
            raise WireFormatError(
                f"{where}: unexpected meta field '{name}'; allowed: "
                f"{', '.join(sorted({**spec.meta, **spec.optional_meta}))}"
            )
        _check_field(where, f"meta.{name}", value, spec.optional_meta[name])
    missing = set(spec.arrays) - set(rec.arrays)
    unexpected = set(rec.arrays) - set(spec.arrays) - set(spec.optional_arrays)
    if missing or unexpected:
        raise WireFormatError(
            f"{where}: arrays must be {sorted(spec.arrays)}"
            + (f" (optionally {sorted(spec.optional_arrays)})" if spec.optional_arrays else "")
            + f", got {sorted(rec.arrays)}"
        )
    for name, array in rec.arrays.items():
        dtype, ndim = spec.arrays.get(name) or spec.optional_arrays[name]
        if array.dtype != np.dtype(dtype):
            raise WireFormatError(f"{where}: array '{name}' must be {dtype}, got {array.dtype}")
        if array.ndim != ndim:
            raise WireFormatError(
                f"{where}: array '{name}' must have {ndim} dimensions, got shape {array.shape}"
            )
    if rec.kind == "syndrome":
        width = (rec.meta["num_detectors"] + 7) // 8
        shape = rec.arrays["detection_events"].shape
        if shape[1] != width:
            raise WireFormatError(
                f"{where}: detection_events must be (shots, {width}) bit-packed for "
                f"{rec.meta['num_detectors']} detectors, got {shape}"
            )
    if rec.kind in _SHOT_ARRAY_KINDS and len({len(a) for a in rec.arrays.values()}) > 1:
        raise WireFormatError(
            f"{where}: arrays disagree on the number of shots: "
            f"{ {k: v.shape for k, v in rec.arrays.items()} }"
        )


def encode(rec: Record) -> list[bytes]:
    """The multipart frames of ``rec``: ``[topic, header, *buffers]``."""
    header = {
        "schema": WIRE_SCHEMA, "version": WIRE_VERSION, "kind": rec.kind, "run_id": rec.run_id,
        "source": rec.source, "seq": rec.seq, "uid": rec.uid, "time": rec.time, "meta": rec.meta,
        "arrays": [
            {"name": k, "dtype": _NAME_BY_DTYPE.get(v.dtype) or str(v.dtype), "shape": list(v.shape)}
            for k, v in rec.arrays.items()
        ],
    }
    frames = [rec.kind.encode("ascii"), json.dumps(header, separators=(",", ":")).encode()]
    frames.extend(memoryview(a).cast("B") if a.size else b"" for a in rec.arrays.values())
    return frames


def decode(frames: list[bytes] | list[Any]) -> Record:
    """Parse and validate multipart frames into a :class:`Record`.

    Raises:
        WireFormatError: naming what is wrong (framing, JSON, schema version, a field, an array).
    """
    if len(frames) < 2:
        raise WireFormatError(f"truncated message: {len(frames)} frame(s), need at least topic and header")
    try:
        topic = bytes(frames[0]).decode("ascii")
        header = json.loads(bytes(frames[1]))
    except (UnicodeDecodeError, ValueError) as e:
        raise WireFormatError(f"header is not valid JSON: {e}") from e
    if not isinstance(header, dict):
        raise WireFormatError(f"header must be a JSON object, got {type(header).__name__}")
    for name, expected in _HEADER_FIELDS.items():
        if name not in header:
            raise WireFormatError(f"header is missing field '{name}'")
        expected_t: type | tuple[type, ...] = _num if expected is float else expected
        _check_field("header", name, header[name], expected_t)
    if header["schema"] != WIRE_SCHEMA:
        raise WireFormatError(f"header schema is {header['schema']!r}, expected {WIRE_SCHEMA!r}")
    if header["version"] != WIRE_VERSION:
        raise WireFormatError(
            f"wire schema version {header['version']} is not supported (this qplane speaks "
            f"version {WIRE_VERSION}); run the same qplane version on every process"
        )
    if topic != header["kind"]:
        raise WireFormatError(f"topic {topic!r} does not match header kind {header['kind']!r}")
    specs = header["arrays"]
    buffers = frames[2:]
    if len(buffers) != len(specs):
        raise WireFormatError(
            f"truncated message: header announces {len(specs)} array buffer(s), got {len(buffers)}"
        )
    arrays = {}
    for spec, buf in zip(specs, buffers):
        if not isinstance(spec, dict) or set(spec) != {"name", "dtype", "shape"}:
            raise WireFormatError(f"array spec must have name, dtype and shape, got {spec!r}")
        dtype, shape = _DTYPE_BY_NAME.get(spec["dtype"]), spec["shape"]
        if dtype is None:
            raise WireFormatError(
                f"array '{spec['name']}' has dtype {spec['dtype']!r}; allowed: {sorted(WIRE_DTYPES)}")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise WireFormatError(f"array '{spec['name']}' has invalid shape {shape!r}")
        expected_bytes = math.prod(shape) * dtype.itemsize
        nbytes = memoryview(buf).nbytes
        if nbytes != expected_bytes:
            raise WireFormatError(
                f"array '{spec['name']}' buffer has {nbytes} bytes, "
                f"shape {shape} of {spec['dtype']} needs {expected_bytes}"
            )
        arrays[spec["name"]] = np.frombuffer(buf, dtype=dtype).reshape(shape)
    rec = Record(kind=header["kind"], run_id=header["run_id"], source=header["source"],
                 seq=header["seq"], uid=header["uid"], time=float(header["time"]),
                 meta=header["meta"], arrays=arrays)
    validate(rec)
    return rec
