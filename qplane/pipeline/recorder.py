"""The recorder: the one process that writes the run file.

Every process pushes its records to the recorder (PUSH/PULL, lossless). The recorder creates the
run file when ``run_start`` arrives, writes each syndrome block as soon as it is acquired and
completes it in place when its ``applied`` record comes, appends circuits, events, calibration
runs and parameter changes, and checks every (source, kind) stream for gaps and duplicates,
recording any it finds as events. A malformed record is rejected, counted and recorded as an
event; the recorder keeps running. ``run_end`` (from the launcher) says how the run ended; the
recorder then drains what is still in flight and closes the file.
"""

from __future__ import annotations

import json
import time
from typing import Any

import zmq

from qplane.errors import QplaneError
from qplane.pipeline.transport import Inbox, SequenceTracker
from qplane.pipeline.wire import Record
from qplane.runfile.writer import RunFileWriter

SOURCE = "recorder"

#: Records held while waiting for ``run_start`` (the file cannot exist before it).
MAX_EARLY_RECORDS = 10_000


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
        self._rows: dict[int, int] = {}  # syndrome seq -> /qec/blocks row
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
        self._check_sequence(rec)
        kind = rec.kind
        if kind == "run_start":
            self._start(rec)
        elif kind == "syndrome":
            self._rows[rec.seq] = self.writer.append_acquired_block(
                detection_events=rec.arrays["detection_events"], seq=rec.seq,
                block_index=rec.meta["block_index"], circuit_id=rec.meta["circuit_id"].encode(),
                t_acquired=rec.meta["t_acquired"],
            )
        elif kind == "applied":
            self._complete(rec)
        elif kind == "circuit":
            self.writer.append_circuit(**rec.meta)
        elif kind == "event":
            m = rec.meta
            self.writer.append_event(level=m["level"], source=rec.source, kind=m["event"],
                                     message=m["message"], details=m["details"], time_=rec.time)
        elif kind == "run_end":
            self.end = (rec.meta["end_state"], rec.meta["reason"])
            self.writer.append_event(level="info", source=rec.source, kind="run_end",
                                     message=f"run ended: {rec.meta['end_state']}: {rec.meta['reason']}",
                                     time_=rec.time)
        elif kind == "calibration_run":
            m = rec.meta
            self.writer.append_table(
                "/calibration/runs", time=m.get("time", rec.time), node=m["node"], qubit=m["qubit"],
                outcome=m["outcome"], reason=m["reason"], experiment=json.dumps(m["experiment"]),
                sweep=rec.arrays["sweep"], signal=rec.arrays["signal"], fit=json.dumps(m["fit"]),
                verdict=json.dumps(m["verdict"]),
            )
        elif kind == "parameter_change":
            m = rec.meta
            self.writer.append_table(
                "/parameters/history", time=m.get("time", rec.time), parameter=m["parameter"],
                old=m["old"], new=m["new"], source=rec.source, details=json.dumps(m["details"]),
            )
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
        row = self._rows.pop(m["syndrome_seq"], None)
        if row is None:
            self._event("error", "applied_unknown_block",
                        f"applied record for block seq {m['syndrome_seq']}, whose syndrome was never recorded",
                        syndrome_seq=m["syndrome_seq"])
            return
        self.writer.complete_block(
            row, predictions=rec.arrays["predictions"], corrections=rec.arrays["corrections"],
            truth=rec.arrays["truth"], t_decoded=m["t_decoded"], t_applied=m["t_applied"],
            decode_seconds=m["decode_seconds"], failures=m["failures"], worker=m["worker"].encode(),
            shadow_shots=m["shadow_shots"], shadow_disagreements=m["shadow_disagreements"],
        )

    def _check_sequence(self, rec: Record) -> None:
        check = self.tracker.observe(rec.source, rec.kind, rec.seq)
        if check.status == "gap":
            self.gaps += 1
            self._event("error", "gap",
                        f"{check.missing} {rec.kind} record(s) from {rec.source} missing before seq {rec.seq}",
                        source=rec.source, record_kind=rec.kind, expected=check.expected, got=rec.seq)
        elif check.status == "duplicate":
            self.duplicates += 1
            self._event("warning", "duplicate",
                        f"{rec.kind} record seq {rec.seq} from {rec.source} seen again",
                        source=rec.source, record_kind=rec.kind, seq=rec.seq)

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
