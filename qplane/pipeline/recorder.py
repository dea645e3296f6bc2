"""The recorder: the one process that writes the run file.

Every process pushes its records to the recorder (PUSH/PULL, lossless). The recorder creates the
run file when ``run_start`` arrives, buffers syndrome blocks and their ``applied`` records and
writes them in one batch per flush interval (a block still uncorrected then is written with
``applied=0`` and completed in place later), appends circuits, events, calibration
runs and parameter changes, and checks every (source, kind) stream for gaps and duplicates,
recording any it finds as events. A malformed record is rejected, counted and recorded as an
event; the recorder keeps running. ``run_end`` (from the launcher) says how the run ended; the
recorder then drains what is still in flight and closes the file.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import zmq

from qplane.errors import QplaneError
from qplane.pipeline.transport import Inbox, SequenceTracker
from qplane.pipeline.wire import Record
from qplane.runfile.schema import BLOCK_DTYPE
from qplane.runfile.writer import RunFileWriter

SOURCE = "recorder"

#: Records held while waiting for ``run_start`` (the file cannot exist before it).
MAX_EARLY_RECORDS = 10_000

#: Blocks buffered in memory before a write is forced (otherwise written every flush).
MAX_UNWRITTEN_BLOCKS = 4096


class _Block:
    """A syndrome record waiting to be written, with its ``applied`` record once that came."""

    __slots__ = ("syndrome", "applied")

    def __init__(self, syndrome: Record):
        self.syndrome = syndrome
        self.applied: Record | None = None


def _applied_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The ``/qec/blocks`` fields an ``applied`` record fills in."""
    return {"t_decoded": meta["t_decoded"], "t_applied": meta["t_applied"],
            "decode_seconds": meta["decode_seconds"], "failures": meta["failures"],
            "worker": meta["worker"].encode(), "shadow_shots": meta["shadow_shots"],
            "shadow_disagreements": meta["shadow_disagreements"]}


class Recorder:
    """Writes a run's records to its run file.

    Args:
        records: PULL socket every process pushes to.
        path: the run file to create.
        run_id: the run's id; records of another run are rejected.
        flush_interval: seconds between flushes visible to SWMR readers.
    """

    def __init__(self, *, records: zmq.Socket, path: str, run_id: str, flush_interval: float = 0.5):
        self.inbox = Inbox(records, run_id=run_id, on_reject=self._on_reject)
        self.path = path
        self.run_id = run_id
        self.flush_interval = flush_interval
        self.writer: RunFileWriter | None = None
        self.tracker = SequenceTracker()
        self.end: tuple[str, str] | None = None
        self._early: list[Record] = []
        self._pending_events: list[dict[str, Any]] = []
        self._rows: dict[int, int] = {}  # syndrome seq -> /qec/blocks row, written but uncorrected
        self._unwritten: dict[int, _Block] = {}  # syndrome seq -> block not yet in the file
        self._next_flush = 0.0
        self.gaps = 0
        self.duplicates = 0

    def step(self, poll_ms: int = 100, max_records: int = 500) -> int:
        """Handle up to ``max_records`` pending records (waiting up to ``poll_ms`` for the first),
        then flush if ``flush_interval`` has passed; return how many were handled."""
        handled = 0
        if self.inbox.socket.poll(poll_ms):
            while handled < max_records and self.inbox.socket.poll(0):
                got = self.inbox.recv()
                handled += 1
                if got is not None:
                    self.handle(got[1])
        if self.writer is not None and time.time() >= self._next_flush:
            self._write_blocks()
            self.writer.flush()
            self._next_flush = time.time() + self.flush_interval
        return handled

    def handle(self, rec: Record) -> None:
        """Record one validated record."""
        if self.writer is None and rec.kind != "run_start":
            if rec.kind == "run_end":
                self.end = (rec.meta["end_state"], rec.meta["reason"])
            elif len(self._early) < MAX_EARLY_RECORDS:
                self._early.append(rec)
            return
        if not self._check_sequence(rec):
            return
        kind = rec.kind
        if kind == "run_start":
            self._start(rec)
        elif kind == "syndrome":
            self._unwritten[rec.seq] = _Block(rec)
            if len(self._unwritten) >= MAX_UNWRITTEN_BLOCKS:
                self._write_blocks()
        elif kind == "applied":
            self._complete(rec)
        elif kind == "circuit":
            self.writer.append_circuit(**rec.meta)
        elif kind == "event":
            m = rec.meta
            self.writer.append_event(level=m["level"], source=rec.source, kind=m["event"],
                                     message=m["message"], details=m["details"], time_=rec.time)
            if m["event"] == "decoder_compiled" and "model_card" in m["details"]:
                self.writer.add_model_card(m["details"]["decoder"], m["details"]["model_card"],
                                           sha256=m["details"].get("model_sha256", ""))
        elif kind == "run_end":
            self.end = (rec.meta["end_state"], rec.meta["reason"])
            self.writer.append_event(level="info", source=rec.source, kind="run_end",
                                     message=f"run ended: {rec.meta['end_state']}: {rec.meta['reason']}",
                                     time_=rec.time)
        elif kind == "calibration_run":
            # One time base in the file: UNIX time when the node run was reported. The device's
            # own (possibly simulated) clock stays in the experiment JSON.
            meta = dict(rec.meta)
            experiment = json.loads(meta["experiment"] or "{}")
            experiment.setdefault("device_clock", meta["time"])
            meta.update(time=rec.time, experiment=json.dumps(experiment))
            self.writer.append_table("/calibration/runs", **meta, **rec.arrays)
        elif kind == "parameter_change":
            m = rec.meta
            self.writer.append_table(
                "/parameters/history", time=m.get("time", rec.time), parameter=m["parameter"],
                old=m["old"], new=m["new"], source=rec.source, node=m["node"],
                update=m["update"], details=json.dumps(m["details"]),
            )
        elif kind == "simulation_truth":
            m = rec.meta
            self.writer.append_table("/simulation/truth", time=rec.time,
                                     device_time=m["device_time"], setting=m["setting"],
                                     value=m["value"])
        # "stats" and control kinds are not recorded.

    def _start(self, rec: Record) -> None:
        m = rec.meta
        self.writer = RunFileWriter.create(
            self.path, run_id=self.run_id, config_text=m["config_text"],
            config_path=m["config_path"], station_snapshot=m["station_snapshot"],
            num_detectors=m["num_detectors"], num_observables=m["num_observables"],
            qec_attrs=m["qec"],
        )
        self.writer.append_event(level="info", source=rec.source, kind="run_start",
                                 message=f"run {self.run_id} started", details=m["qec"], time_=rec.time)
        for event in self._pending_events:
            self.writer.append_event(**event)
        self._pending_events.clear()
        early, self._early = self._early, []
        for r in early:
            self.handle(r)

    def _complete(self, rec: Record) -> None:
        m = rec.meta
        buffered = self._unwritten.get(m["syndrome_seq"])
        if buffered is not None and buffered.applied is None:
            buffered.applied = rec
            return
        row = self._rows.pop(m["syndrome_seq"], None)
        if row is None:
            self._event("error", "applied_unknown_block",
                        f"applied record for block seq {m['syndrome_seq']}, whose syndrome was never recorded",
                        syndrome_seq=m["syndrome_seq"])
            return
        self.writer.complete_block(
            row, predictions=rec.arrays["predictions"], corrections=rec.arrays["corrections"],
            truth=rec.arrays["truth"], **_applied_fields(m),
        )

    def _write_blocks(self) -> None:
        """Write the buffered blocks in one batch; remember the rows of those still uncorrected."""
        if not self._unwritten:
            return
        blocks = list(self._unwritten.values())
        self._unwritten.clear()
        rows = np.zeros(len(blocks), dtype=BLOCK_DTYPE)
        for i, b in enumerate(blocks):
            rows[i]["seq"] = b.syndrome.seq
            rows[i]["block_index"] = b.syndrome.meta["block_index"]
            rows[i]["circuit_id"] = b.syndrome.meta["circuit_id"].encode()
            rows[i]["t_acquired"] = b.syndrome.meta["t_acquired"]
            rows[i]["failures"] = -1
            if b.applied is not None:
                rows[i]["applied"] = 1
                for field, value in _applied_fields(b.applied.meta).items():
                    rows[i][field] = value
        arrays = {name: [b.applied.arrays[name] if b.applied is not None else None for b in blocks]
                  for name in ("predictions", "corrections", "truth")}
        written = self.writer.append_blocks(
            [b.syndrome.arrays["detection_events"] for b in blocks], rows, **arrays)
        for b, row in zip(blocks, written):
            if b.applied is None:
                self._rows[b.syndrome.seq] = row

    def _check_sequence(self, rec: Record) -> bool:
        """Record a gap or duplicate as an event; return False for a duplicate (not written again)."""
        check = self.tracker.observe(rec.source, rec.kind, rec.seq)
        if check.status == "gap":
            self.gaps += 1
            self._event("error", "gap",
                        f"{check.missing} {rec.kind} record(s) from {rec.source} missing before seq {rec.seq}",
                        source=rec.source, record_kind=rec.kind, expected=check.expected, got=rec.seq)
        elif check.status == "duplicate":
            self.duplicates += 1
            self._event("warning", "duplicate",
                        f"{rec.kind} record seq {rec.seq} from {rec.source} seen again; not written twice",
                        source=rec.source, record_kind=rec.kind, seq=rec.seq, uid=rec.uid)
            return False
        return True

    def _event(self, level: str, kind: str, message: str, **details: Any) -> None:
        event = dict(level=level, source=SOURCE, kind=kind, message=message, details=details)
        if self.writer is None:
            self._pending_events.append(event)
        else:
            self.writer.append_event(**event)

    def _on_reject(self, reason: str, _frames: list[bytes]) -> None:
        self._event("error", "rejected_record", f"recorder rejected a message: {reason}")

    def drain(self, quiet_seconds: float = 0.3) -> None:
        """Handle records until none has arrived for ``quiet_seconds``."""
        while self.step(poll_ms=int(quiet_seconds * 1000)):
            pass

    def close(self, end_state: str | None = None, reason: str | None = None) -> None:
        """Close the run file with the run's end state (from ``run_end`` unless given)."""
        if self.writer is None:
            if self._early or self.end is not None:
                raise QplaneError(
                    f"recorder for run {self.run_id} stopped before run_start arrived; "
                    f"{len(self._early)} record(s) were not written"
                )
            return
        state, why = self.end or ("failed", "the recorder stopped without a run_end record")
        if end_state is not None:
            state, why = end_state, reason or why
        self._write_blocks()
        unapplied = len(self._rows)
        if unapplied:
            self._event("warning", "unapplied_blocks",
                        f"{unapplied} block(s) were acquired but never corrected",
                        count=unapplied)
        self._event("info", "recorder_closed",
                    f"recorder closed the file: {self.inbox.received} records, "
                    f"{self.inbox.rejected} rejected, {self.gaps} gaps, {self.duplicates} duplicates",
                    received=self.inbox.received, rejected=self.inbox.rejected, gaps=self.gaps,
                    duplicates=self.duplicates)
        self.writer.close(state, why)

    def run(self, should_stop: Any = lambda: False) -> None:
        """Record until ``run_end`` arrives (then drain) or ``should_stop()``."""
        while self.end is None and not should_stop():
            self.step()
        self.drain()
