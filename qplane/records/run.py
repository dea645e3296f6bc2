"""Record kinds of a run's life: start, end, per-stream end counts, events, live statistics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import msgspec

from qplane.records._base import Body, Count, JsonObject, Record, json_text

EndState = Literal["completed", "interrupted", "failed"]
Level = Literal["info", "warning", "error"]


class QecInfo(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The QEC experiment of a run, as the run starts (``/qec`` attributes of the run file)."""

    distance: Count
    rounds: Count
    basis: str
    shots_per_block: Count
    decoder: str = ""
    decoder_options: JsonObject = {}
    decoding_workers: Count = 0
    shadow_fraction: float = 0.0

    def attrs(self) -> dict[str, Any]:
        """As HDF5 attributes (scalars; the decoder options as JSON text)."""
        out = msgspec.structs.asdict(self)
        out["decoder_options"] = json_text(self.decoder_options)
        return out


class RunStart(Body, frozen=True, tag="run_start"):
    """First record of a run (instrument server -> recorder); the recorder creates the file."""

    config_text: str
    config_path: str
    station_snapshot: JsonObject
    num_detectors: Count
    num_observables: Count
    qec: QecInfo


class RunEnd(Body, frozen=True, tag="run_end"):
    """How the run ended (launcher -> recorder)."""

    end_state: EndState
    reason: str

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/events", {"time": rec.time, "level": b"info", "source": rec.source,
                          "kind": "run_end", "details": "{}",
                          "message": f"run ended: {self.end_state}: {self.reason}"}


class StreamEnd(Body, frozen=True, tag="stream_end"):
    """The last record a source sends to the recorder: how many records of each kind it sent
    there, so a lost tail of any stream shows in the file (``/streams``).

    ``sent`` counts records of each kind sent to the recorder before this one.
    """

    sent: dict[str, Count]


class Event(Body, frozen=True, tag="event"):
    """Anything worth a row in ``/events``: errors, gaps, rejections, lifecycle.

    ``details`` is a JSON object of the event's particulars (numbers, names, a traceback).
    """

    level: Level
    event: str
    message: str
    details: JsonObject = {}

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/events", {"time": rec.time, "level": self.level.encode(), "source": rec.source,
                          "kind": self.event, "message": self.message,
                          "details": json_text(self.details)}


class Stats(Body, frozen=True, tag="stats"):
    """Live statistics of the instrument server (-> launcher's monitor socket; not stored)."""

    elapsed: float
    acquiring: bool
    blocks_acquired: Count
    blocks_applied: Count
    blocks_lost: Count
    in_flight: Count
    duplicates: Count
    shots: Count
    failures: Count
    latency_p50: float | None
    latency_p99: float | None
    decode_p50: float | None
    decode_p99: float | None
    shadow_shots: Count
    shadow_disagreements: Count
    rejected: Count
    workers: list[str]
    calibration_calls: Count = 0
    calibration_experiments: Count = 0
    calibration_seconds: float = 0.0
    parameter_updates: Count = 0
    parameter_updates_refused: Count = 0
    #: Blocks applied with each decoding worker's correction, by worker name.
    worker_blocks: dict[str, Count] = msgspec.field(default_factory=dict)
    #: UNIX time of each decoding worker's latest correction, by worker name.
    worker_last_seen: dict[str, float] = msgspec.field(default_factory=dict)
    #: Decoding workers declared lost (silent past the heartbeat timeout, or replaced).
    workers_lost: Count = 0
    #: Blocks sent again to another worker because the one holding them was lost.
    redispatched: Count = 0

    def as_dict(self) -> dict[str, Any]:
        """The statistics as a plain dict (what the live views take)."""
        return msgspec.structs.asdict(self)
