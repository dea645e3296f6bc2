"""qplane's records: one typed model per record kind, used by the wire and by the run file.

Every record is a :class:`Record` — envelope (run id, source, sequence number, uid, time) plus
a typed body (a frozen ``msgspec.Struct``, tagged on ``kind``) and named arrays. Bodies are
grouped by path: :mod:`~qplane.records.qec` (syndromes, corrections, circuits),
:mod:`~qplane.records.run` (start, end, stream ends, events, statistics) and
:mod:`~qplane.records.calibration` (node runs, device calls, setting changes, simulated truth).
:func:`encode` / :func:`decode` are the wire (:mod:`~qplane.records.wire`); a stored kind maps
itself to run-file rows in ``Body.rows``.

To add a record kind: a ``Body`` subclass with its ``tag`` in the module of its path (with
``rows`` if it is stored; :data:`RECORD_KINDS` finds it), then regenerate
``docs/records.schema.json`` (``python -m qplane.records.schema --write docs/records.schema.json``).
"""

from qplane.records._base import WIRE_DTYPES, Body, Record, json_text, validate
from qplane.records.calibration import (
    CalibrationCall,
    CalibrationReply,
    CalibrationRun,
    ParameterChange,
    SimulationTruth,
)
from qplane.records.qec import (
    Applied,
    Circuit,
    CircuitRequest,
    Correction,
    DecoderCompiled,
    DetectionCounts,
    Syndrome,
)
from qplane.records.run import Event, QecInfo, RunEnd, RunStart, Stats, StreamEnd
from qplane.records.wire import RECORD_KINDS, WIRE_SCHEMA, WIRE_VERSION, Header, decode, encode

__all__ = [
    "RECORD_KINDS", "WIRE_DTYPES", "WIRE_SCHEMA", "WIRE_VERSION", "Applied", "Body",
    "CalibrationCall", "CalibrationReply", "CalibrationRun", "Circuit", "CircuitRequest",
    "Correction", "DecoderCompiled", "DetectionCounts", "Event", "Header", "ParameterChange",
    "QecInfo", "Record", "RunEnd", "RunStart", "SimulationTruth", "Stats", "StreamEnd",
    "Syndrome", "decode", "encode", "json_text", "validate",
]
