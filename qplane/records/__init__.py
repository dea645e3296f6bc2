"""qplane's records: one typed model per record kind, used by the wire and by the run file.

Every record is a :class:`Record` — envelope (run id, source, sequence number, uid, time) plus
a typed body (a frozen ``msgspec.Struct``, tagged on ``kind``) and named arrays. A stored kind
maps itself to run-file rows in ``Body.rows``.

Modules:

* :mod:`~qplane.records.qec` — the QEC data path: syndromes, corrections, circuits, counts;
* :mod:`~qplane.records.run` — a run's life: start, end, stream ends, events, statistics;
* :mod:`~qplane.records.supervision` — registration, credit and heartbeats of the
  supervised processes;
* :mod:`~qplane.records.noise` — learned noise models a decoding worker swapped to;
* :mod:`~qplane.records.calibration` — node runs, device calls, setting changes, simulated
  truth;
* :mod:`~qplane.records.wire` — the wire format: :func:`pack` / :func:`encode` / :func:`decode`,
  :data:`RECORD_KINDS`, :data:`WIRE_VERSION`;
* :mod:`~qplane.records.schema` — the records' JSON Schema (``docs/records.schema.json``);
* ``_base`` (private) — the envelope (:class:`Record`) and the body base class (:class:`Body`).

To add a record kind: a ``Body`` subclass with its ``tag`` in the module of its path (with
``rows`` if it is stored; :data:`RECORD_KINDS` finds it), then regenerate
``docs/records.schema.json`` (``qplane schema records --write docs/records.schema.json``).
"""

from qplane.records._base import WIRE_DTYPES, Body, Record, json_text, validate
from qplane.records.calibration import *  # noqa: F403 - the calibration path's kinds and call types
from qplane.records.calibration import __all__ as _calibration_names
from qplane.records.qec import (
    MAX_BLOCKS,
    MAX_CORRECTIONS,
    Applied,
    AppliedBlocks,
    Circuit,
    CircuitRequest,
    Correction,
    Corrections,
    DecoderCompiled,
    DetectionCounts,
    Syndrome,
    SyndromeBlocks,
)
from qplane.records.noise import NoiseModel
from qplane.records.run import Event, QecInfo, RunEnd, RunStart, Stats, StreamEnd
from qplane.records.schema import wire_schema
from qplane.records.supervision import FlushAck, Heartbeat, Register, Resync
from qplane.records.wire import (
    RECORD_KINDS,
    WIRE_SCHEMA,
    WIRE_VERSION,
    Header,
    decode,
    encode,
    is_packed,
    pack,
    unbundle,
)


__all__ = [
    "NoiseModel",
    *_calibration_names,
    "MAX_BLOCKS", "MAX_CORRECTIONS", "RECORD_KINDS", "WIRE_DTYPES", "WIRE_SCHEMA", "WIRE_VERSION", "Applied",
    "AppliedBlocks", "Body",
    "Circuit", "CircuitRequest",
    "Correction", "Corrections", "DecoderCompiled", "DetectionCounts", "Event", "FlushAck",
    "Header", "Heartbeat", "QecInfo", "Record", "Register", "Resync", "RunEnd", "RunStart",
    "Stats", "StreamEnd", "Syndrome", "SyndromeBlocks", "decode", "encode", "is_packed", "json_text", "pack",
    "unbundle", "validate",
    "wire_schema",
]
