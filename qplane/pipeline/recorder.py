"""The recorder: the one process that writes the run file.

Every process sends its records to the recorder (DEALER -> ROUTER, lossless, acknowledged). It
creates the run file when ``run_start`` arrives, buffers syndrome blocks and their ``applied``
records and writes them in one batch per flush interval (a block still uncorrected then is
written with ``applied=0`` and completed in place later). Every other stored kind says itself which rows it
becomes (:meth:`qplane.records.Body.rows`); the recorder only appends them. It checks every
(source, kind) stream for gaps and duplicates, recording any it finds as events, and writes
``/streams``: per stream, what the sender says it sent (its ``stream_end`` record) against what
arrived, so a lost tail shows. A malformed record is rejected, counted and recorded as an event;
the recorder keeps running. ``run_end`` (from the launcher) says how the run ended; the recorder
then drains what is still in flight and closes the file.

Nothing is lost when it is killed (:mod:`qplane.pipeline.delivery`): it binds a ROUTER, and
after each flush it writes a checkpoint into the file (every dataset's size and its stream
positions, :meth:`~qplane.runfile.RunFileWriter.checkpoint`) and acknowledges to each sender
what of its streams is in the file; the senders keep the rest. A restarted recorder
(``epoch`` ``recorder.r1``, ``resume=True``) takes the file up from the last checkpoint
(:meth:`~qplane.runfile.RunFileWriter.reopen`), and its first acknowledgements tell the
senders to send again what they keep: a sender's streams are taken up once its ``resync``
arrives (what it sent before then is dropped: it comes again, in order), and what the file has
already is dropped as received again, so every record is stored once.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import numpy as np
import zmq

from qplane.errors import QplaneError, RunFileError
from qplane.pipeline.rejections import Rejection, RejectionLog
from qplane.pipeline.security import list_keys
from qplane.pipeline.transport import NOBLOCK, Inbox, SequenceTracker, queued, send_parts
from qplane.pipeline.worker import Worker
from qplane.records import (
    Applied,
    AppliedBlocks,
    FlushAck,
    Record,
    Resync,
    RunEnd,
    RunStart,
    StreamEnd,
    Syndrome,
    SyndromeBlocks,
    pack,
)
from qplane.runfile import APPLIED_SHOT_DATASETS, BLOCK_DTYPE, RunFileWriter

SOURCE = "recorder"

#: Streams whose positions a checkpoint keeps, at most (the busiest; a flood of forged
#: sources must not outgrow the checkpoint).
MAX_CHECKPOINT_STREAMS = 400

#: Records held while waiting for ``run_start`` (the file cannot exist before it).
MAX_EARLY_RECORDS = 10_000

#: Blocks buffered in memory before a write is forced (otherwise written every flush).
MAX_UNWRITTEN_BLOCKS = 4096

#: Largest forward jump of a stream's seq followed without the run's security settings.
SEQUENCE_WINDOW = 100_000


def _worth_a_row(n: int) -> bool:
    """Whether the ``n``-th event of one kind gets its own row (the first 100, then every
    1000th): floods are counted in full but written in brief."""
    return n <= 100 or n % 1000 == 0


def _fill(rows: np.ndarray, columns: dict[str, list[Any]]) -> None:
    """Set ``rows`` (structured) from their values column by column (one assignment a
    column, not one per field and row).

    >>> rows = np.zeros(2, dtype=[("a", "i8"), ("b", "S2")])
    >>> _fill(rows, {"a": [1, 2], "b": [b"x", b"y"]}); rows.tolist()
    [(1, b'x'), (2, b'y')]
    """
    for name, values in columns.items():
        rows[name] = values


class _Block:
    """A syndrome record waiting to be written, with its ``applied`` record once that came."""

    __slots__ = ("syndrome", "applied")

    def __init__(self, syndrome: Record):
        self.syndrome = syndrome
        self.applied: Record | None = None


class Recorder(Worker):
    """Writes a run's records to its run file.

    Args:
        records: the ROUTER every process's DEALER sends to (acknowledgements go back on it),
            or a PULL socket (no acknowledgements).
        path: the run file to create.
        run_id: the run's id; records of another run are rejected.
        flush_interval: seconds between flushes (and checkpoints, and acknowledgements).
        epoch: this recorder's incarnation, its source name (``recorder``, ``recorder.r1``).
        resume: take up the file of a killed predecessor (if it made one) instead of creating it.
        compression: the per-shot datasets' filter (``qplane.run.compression``: ``lzf`` or
            ``none``).
    """

    def __init__(self, *, records: zmq.Socket, path: str, run_id: str, flush_interval: float = 0.5,
                 epoch: str = SOURCE, resume: bool = False, compression: str = "lzf"):
        super().__init__()
        self.compression = compression
        self.rejections = RejectionLog()
        self._router = records.type == zmq.ROUTER
        self.inbox = Inbox(records, run_id=run_id, on_reject=self._on_reject,
                           envelope=1 if self._router else 0)
        self._poller = zmq.Poller()  # one poller for the run (socket.poll makes one per call)
        self._poller.register(records, zmq.POLLIN)
        self.epoch = epoch
        self.resumed = resume
        self._peers: dict[str, bytes] = {}  # source -> routing id of its latest message
        self._ack_due: set[str] = set()  # sources heard from since their last acknowledgement
        self._durable: dict[tuple[str, str], int] = {}  # stream -> highest seq in the file
        self._synced: set[str] = set()  # sources whose resync (of this epoch) arrived
        self._acks_sent = 0
        self._resumed_seqs: np.ndarray | None = None  # /qec/blocks seq of a taken-up file
        self.held_back = 0  # records ahead of a stream not yet taken up (they come again)
        self.received_again = 0  # records a resumed recorder already had
        self.before: dict[str, int] = {}  # counts of the incarnations before this one
        self.path = path
        self.run_id = run_id
        self.flush_interval = flush_interval
        self.writer: RunFileWriter | None = None
        security = getattr(records.context, "security", None)
        self.tracker = SequenceTracker(window=security.sequence_window if security is not None
                                       else SEQUENCE_WINDOW)
        self.end: tuple[str, str] | None = None
        self._early: list[Record] = []
        self._pending_events: list[dict[str, Any]] = []
        self._completions: list[tuple[int, Any, dict[str, Any], dict[str, Any]]] = []
        # syndrome seq -> (/qec/blocks row, the row as written), written but uncorrected
        self._rows: dict[int, tuple[int, np.void]] = {}
        self._unwritten: dict[int, _Block] = {}  # syndrome seq -> block not yet in the file
        self._next_flush = 0.0
        self.gaps = 0
        self.duplicates = 0
        self.unwritten = 0
        self._received: Counter[tuple[str, str]] = Counter()  # (source, kind) -> records
        self._seq_range: dict[tuple[str, str], list[int]] = {}  # stream -> [first, last] seq
        self._streams_written: set[tuple[str, str]] = set()
        if resume:
            self._resume()

    # -- taking a killed recorder's file up again -----------------------------------------------
    def _resume(self) -> None:
        """Reopen the file a killed recorder left (from its last checkpoint) and take up its
        streams; without a file (it died before ``run_start``) start as a first recorder would."""
        if not os.path.exists(self.path):
            return
        self.writer, state = RunFileWriter.reopen(self.path)
        for source, kind, nxt, received, first, last in state.get("streams", []):
            key = (source, kind)
            self.tracker.start_at(source, kind, nxt)
            self._received[key] = received
            if first >= 0:
                self._seq_range[key] = [first, last]
        self.gaps, self.duplicates = state.get("gaps", 0), state.get("duplicates", 0)
        self.unwritten = state.get("unwritten", 0)
        self.before = dict(state.get("counts", {}))
        if state.get("end"):
            self.end = tuple(state["end"])
        blocks = self.writer.rows("/qec/blocks")
        self._resumed_seqs = blocks["seq"].copy()
        if len(blocks) > 1 and not (np.diff(self._resumed_seqs) > 0).all():
            self._resumed_seqs = None  # not in order: no lookup (blocks are written in order)
        for row in np.flatnonzero(blocks["applied"] == 0):
            self._rows[int(blocks["seq"][row])] = (int(row), blocks[row])
        streams = self.writer.rows("/streams")
        self._streams_written = {(_text(r["source"]), _text(r["kind"])) for r in streams}
        restarts = self.before.get("restarts", 0) + 1
        self.before["restarts"] = restarts
        self._event("warning", "recorder_resumed",
                    f"{self.epoch} took up the run file after the recorder stopped (restart "
                    f"{restarts}): {len(blocks)} blocks as of its last checkpoint, "
                    f"{len(self._rows)} of them uncorrected; the senders send again what it had "
                    "not acknowledged", epoch=self.epoch, blocks=len(blocks),
                    uncorrected=len(self._rows), restart=restarts)
        self._checkpoint()

    def _state(self) -> dict[str, Any]:
        """What a restarted recorder needs to go on from a checkpoint (JSON)."""
        streams = sorted(self.tracker.streams().items(),
                         key=lambda kv: -self._received.get(kv[0], 0))[:MAX_CHECKPOINT_STREAMS]
        counts = {k: self.before.get(k, 0) + v for k, v in (
            ("received", self.inbox.received), ("rejected", self.inbox.rejected),
            ("received_again", self.received_again), ("held_back", self.held_back))}
        counts["restarts"] = self.before.get("restarts", 0)
        return {"epoch": self.epoch, "gaps": self.gaps, "duplicates": self.duplicates,
                "unwritten": self.unwritten, "end": list(self.end) if self.end else None,
                "counts": counts,
                "streams": [[s, k, nxt, self._received.get((s, k), 0),
                             *self._seq_range.get((s, k), (-1, -1))] for (s, k), nxt in streams]}

    def _checkpoint(self) -> None:
        """Flush and checkpoint the file; what it holds now is what the acknowledgements say."""
        self.writer.checkpoint(self._state())
        self._durable = {key: nxt - 1 for key, nxt in self.tracker.streams().items()}

    def _send_acks(self, sources: Any = None) -> None:
        """Tell each sender heard from since its last acknowledgement what of its streams is in
        the file (over the ROUTER; an acknowledgement that cannot go now is dropped: the next
        one says as much)."""
        if not self._router:
            return
        due = set(self._peers) if sources is None else sources
        by_source: dict[str, dict[str, int]] = {s: {} for s in due}
        for (source, kind), upto in self._durable.items():
            if source in by_source and upto >= 0:
                by_source[source][kind] = upto
        for source, upto in by_source.items():
            routing = self._peers.get(source)
            if routing is None:
                continue
            rec = Record.build(FlushAck(epoch=self.epoch, upto=upto), run_id=self.run_id,
                               source=self.epoch, seq=self._acks_sent)
            self._acks_sent += 1
            try:
                send_parts(self.inbox.socket, [routing, pack(rec)], NOBLOCK)
            except zmq.ZMQError:  # its queue is full or it is gone
                pass
        self._ack_due -= due

    def _resync(self, rec: Record, body: Resync) -> None:
        """A sender says where its streams go on: take them up (a probe of another epoch is only
        answered, by the next acknowledgement, which names this one)."""
        if body.epoch != self.epoch:
            return
        window = self.tracker.window
        if window is not None and any(first - self.tracker.expected(rec.source, kind) > window
                                      for kind, first in body.first.items()):
            self.inbox.reject("sequence", f"resync from {rec.source} jumps a stream beyond the "
                              f"window of {window}; not followed", rec=rec,
                              peer=rec.source if self.inbox.user_ids else None)
            return
        for kind, first in sorted(body.first.items()):
            expected = self.tracker.expected(rec.source, kind)
            if first > expected:
                self.tracker.start_at(rec.source, kind, first)
                self.gaps += 1
                self._event("error", "gap",
                            f"{first - expected} {kind} record(s) from {rec.source} missing before "
                            f"seq {first}: its sender no longer had them (the recorder was "
                            "unreachable longer than its buffer lasted)",
                            source=rec.source, record_kind=kind, expected=expected, got=first)
        self._synced.add(rec.source)

    def _resumed_row(self, seq: int) -> int | None:
        """The /qec/blocks row of block ``seq`` in the file as taken up, or None."""
        seqs = self._resumed_seqs
        if seqs is None or not len(seqs):
            return None
        i = int(np.searchsorted(seqs, seq))
        return i if i < len(seqs) and seqs[i] == seq else None

    def step(self, poll_ms: int = 100, max_records: int = 500) -> int:
        """Handle up to ``max_records`` pending records (waiting up to ``poll_ms`` for the first),
        then flush if ``flush_interval`` has passed; return how many were handled."""
        handled = 0
        if self.inbox.pending or self._poller.poll(poll_ms):  # a bundle's rest first
            # (the poll said a message is there: the first receive need not ask again)
            for got in queued(self.inbox, max_records, ready=not self.inbox.pending):
                handled += 1
                if got is not None:
                    routing, rec = got
                    if routing:
                        self._peers[rec.source] = routing[0]
                        self._ack_due.add(rec.source)
                    self._handle_safely(rec)
        if time.time() >= self._next_flush:
            if self.writer is not None:
                self._write_blocks()
                self._checkpoint()
            self._send_acks(set(self._ack_due))
            self._next_flush = time.time() + self.flush_interval
        return handled

    def _handle_safely(self, rec: Record) -> None:
        """:meth:`handle`, with whatever a record makes it raise turned into a rejection."""
        try:
            self.handle(rec)
        except Exception as e:  # noqa: BLE001 - no record may stop the recorder
            self.inbox.reject("handler", f"recording {rec.kind} record seq {rec.seq} failed: "
                              f"{type(e).__name__}: {e}", rec=rec,
                              peer=rec.source if self.inbox.user_ids else None)

    def handle(self, rec: Record) -> None:
        """Record one validated record."""
        body = rec.body
        cls = type(body)
        if (cls is Syndrome or cls is Applied) and self.writer is not None:
            # a block's records, nearly every record of a run: straight to their handling
            if self._check_sequence(rec):
                self._syndrome(rec) if cls is Syndrome else self._complete(rec)
            return
        if self.writer is None and isinstance(body, Resync):
            if self.resumed:
                # no file yet (the killed recorder had made none): what this sender sent before
                # its resync comes again, in order, after it (run_start first, from the server)
                self._early = [r for r in self._early if r.source != rec.source]
            # (to a first recorder, a resync before run_start is only a sender's probe for an
            # acknowledgement: it sends nothing again, so what it sent early is kept)
            self._resync(rec, body)
            return
        if self.writer is None and not isinstance(body, RunStart):
            if isinstance(body, RunEnd):
                self.end = (body.end_state, body.reason)
            elif len(self._early) < MAX_EARLY_RECORDS:
                self._early.append(rec)
            return
        if isinstance(body, Resync):
            self._resync(rec, body)
            return
        if isinstance(body, FlushAck):
            self.inbox.reject("unexpected", f"the recorder sends flush_ack records; it got one "
                              f"from {rec.source}", rec=rec)
            return
        if not self._check_sequence(rec):
            return
        if isinstance(body, SyndromeBlocks):  # each block as the syndrome record it stands for
            for one in body.syndromes(rec):
                self.handle(one)
            return
        if isinstance(body, Syndrome):
            self._syndrome(rec)
            return
        if isinstance(body, Applied):
            self._complete(rec)
            return
        if isinstance(body, AppliedBlocks):
            for one in body.applied(rec):
                self._complete(one)
            return
        if isinstance(body, RunStart):
            if self.writer is not None:
                self._event("error", "duplicate_run_start",
                            f"a second run_start from {rec.source}; the run has started, ignored",
                            source=rec.source, uid=rec.uid)
                return
            self._start(rec)
            return
        if isinstance(body, RunEnd):
            self.end = (body.end_state, body.reason)
        elif isinstance(body, StreamEnd):
            self._stream_end(rec, body)
            self._next_flush = 0.0  # its sender waits for the acknowledgement: flush now
        try:
            for table, fields in body.rows(rec):
                self._append(table, fields)
        except QplaneError as e:  # a row the file cannot hold: named, counted, the rest goes on
            self.unwritten += 1
            self._event("error", "record_not_written",
                        f"{rec.kind} record seq {rec.seq} from {rec.source} not written: {e}",
                        source=rec.source, record_kind=rec.kind, seq=rec.seq)

    def _syndrome(self, rec: Record) -> None:
        """Buffer a block's syndrome record (written with the next flush, or now at the bound)."""
        self._unwritten[rec.seq] = _Block(rec)
        if len(self._unwritten) >= MAX_UNWRITTEN_BLOCKS:
            self._write_blocks()

    def _append(self, table: str, fields: dict[str, Any]) -> None:
        if table == "/qec/circuits":
            self.writer.append_circuit(
                circuit_id=fields["circuit_id"].decode(), num_detectors=fields["num_detectors"],
                num_observables=fields["num_observables"], stim_circuit=fields["stim_circuit"])
        elif table == "model_card":
            self.writer.add_model_card(fields["decoder"], fields["card"], sha256=fields["sha256"])
        else:
            self.writer.append_table(table, **fields)

    def _start(self, rec: Record) -> None:
        b = rec.body
        self.writer = RunFileWriter.create(
            self.path, run_id=self.run_id, config_text=b.config_text,
            config_path=b.config_path, station_snapshot=b.station_snapshot,
            num_detectors=b.num_detectors, num_observables=b.num_observables,
            qec_attrs=b.qec.attrs(), key_fingerprints=self._key_fingerprints(),
            compression=self.compression,
        )
        self.writer.append_event(level="info", source=rec.source, kind="run_start",
                                 message=f"run {self.run_id} started", details=b.qec.attrs(),
                                 time_=rec.time)
        self._record_keys()
        for event in self._pending_events:
            self.writer.append_event(**event)
        self._pending_events.clear()
        early, self._early = self._early, []
        for r in early:
            self.handle(r)

    def _key_fingerprints(self) -> dict[str, str]:
        """Each role's key fingerprint (never a key); empty for a run without keys."""
        security = getattr(self.inbox.socket.context, "security", None)
        if security is None or security.keys is None:
            return {}
        return {k.role: k.fingerprint for k in list_keys(security.keys)}

    def _record_keys(self) -> None:
        """With keys: one ``security`` event naming each role's key fingerprint (never a key)."""
        security = getattr(self.inbox.socket.context, "security", None)
        if security is None or security.keys is None:
            return
        fingerprints = {k.role: k.fingerprint for k in list_keys(security.keys)}
        self.writer.append_event(
            level="info", source=SOURCE, kind="security",
            message=f"CURVE on {'every endpoint' if security.require_keys else 'tcp endpoints'}; "
                    f"keys of {', '.join(sorted(fingerprints))}",
            details={"key_fingerprints": fingerprints, "require_keys": security.require_keys})

    def _complete(self, rec: Record) -> None:
        body: Applied = rec.body
        buffered = self._unwritten.get(body.syndrome_seq)
        if buffered is not None and buffered.applied is None:
            buffered.applied = rec
            return
        row = self._rows.pop(body.syndrome_seq, None)
        if row is None and (done := self._resumed_row(body.syndrome_seq)) is not None:
            # applied in the file after its last checkpoint, and sent again: the same values
            row = (done, None)
        if row is None:
            self._event("error", "applied_unknown_block",
                        f"applied record for block seq {body.syndrome_seq}, whose syndrome was never recorded",
                        syndrome_seq=body.syndrome_seq)
            return
        arrays = {n: rec.arrays.get(n) for n in APPLIED_SHOT_DATASETS}
        if row[1] is None:  # a row of the file as taken up: filled in now
            self.writer.complete_block(row[0], written=None, **arrays, **body.block_fields())
            return
        shots = int(row[1]["shots"])
        for name, array in arrays.items():
            if array is not None and len(array) != shots:
                raise RunFileError(f"block row {row[0]} has {shots} shots but {len(array)} {name}")
        # filled in with the next flush, before its checkpoint: several in one write
        self._completions.append((row[0], row[1], arrays, body.block_fields()))

    def _write_blocks(self) -> None:
        """Fill in the blocks written uncorrected whose correction came since; write the
        buffered blocks in one batch; remember the rows of those still uncorrected."""
        if self._completions:
            completions, self._completions = self._completions, []
            self.writer.complete_blocks(completions)
        if not self._unwritten:
            return
        blocks = list(self._unwritten.values())
        self._unwritten.clear()
        rows = np.zeros(len(blocks), dtype=BLOCK_DTYPE)
        _fill(rows, Syndrome.block_columns([b.syndrome for b in blocks]))
        done = [i for i, b in enumerate(blocks) if b.applied is not None]
        if done:
            applied = rows[done]
            applied["applied"] = 1
            _fill(applied, Applied.block_columns([blocks[i].applied.body for i in done]))
            rows[done] = applied
        arrays = {name: [b.applied.arrays.get(name) if b.applied is not None else None for b in blocks]
                  for name in APPLIED_SHOT_DATASETS}
        written = self.writer.append_blocks(
            [b.syndrome.arrays["detection_events"] for b in blocks], rows, **arrays)
        for i, (b, row) in enumerate(zip(blocks, written)):
            if b.applied is None:  # completed in place later, from the row as written
                self._rows[b.syndrome.seq] = (row, self.writer.last_rows[i])

    def _check_sequence(self, rec: Record) -> bool:
        """Record a gap or duplicate as an event; return False for a duplicate (not written again)."""
        if self.resumed and rec.source not in self._synced:
            # not taken up yet: what its sender sent before its resync (after a hole, maybe:
            # what was on the way to the killed recorder is gone) comes again after it
            self.held_back += 1
            return False
        kind = rec.kind
        if self.tracker.advance(rec.source, kind, rec.seq):  # in order: the usual case
            key = (rec.source, kind)
            self._received[key] += 1
            span = self._seq_range.get(key)
            if span is None:
                self._seq_range[key] = [rec.seq, rec.seq]
            else:
                span[1] = rec.seq
            return True
        check = self.tracker.observe(rec.source, kind, rec.seq)
        if check.status == "out_of_window":
            self.inbox.reject("sequence", f"{rec.kind} record seq {rec.seq} from {rec.source} is "
                              f"{check.missing} ahead of the expected {check.expected}, beyond "
                              f"the window of {self.tracker.window}; not recorded", rec=rec,
                              peer=rec.source if self.inbox.user_ids else None)
            return False
        if check.status != "duplicate":
            key = (rec.source, rec.kind)
            self._received[key] += 1
            self._seq_range[key] = [self._seq_range.get(key, (rec.seq,))[0], rec.seq]
        if check.status == "gap":
            self.gaps += 1
            self._event("error", "gap",
                        f"{check.missing} {rec.kind} record(s) from {rec.source} missing before seq {rec.seq}",
                        source=rec.source, record_kind=rec.kind, expected=check.expected, got=rec.seq)
        elif check.status == "duplicate" and self.resumed:
            self.received_again += 1  # sent again to a restarted recorder, which had it
            return False
        elif check.status == "duplicate":
            self.duplicates += 1
            if not _worth_a_row(self.duplicates):  # replays are counted, not each a row
                return False
            self._event("warning", "duplicate",
                        f"{rec.kind} record seq {rec.seq} from {rec.source} seen again; not written twice",
                        source=rec.source, record_kind=rec.kind, seq=rec.seq, uid=rec.uid)
            return False
        return True

    def _stream_end(self, rec: Record, body: StreamEnd) -> None:
        """Write ``/streams`` rows for a source's streams; a count that differs is an error event."""
        kinds = set(body.sent) | {k for s, k in self._received if s == rec.source}
        kinds.discard("stream_end")
        for kind in sorted(kinds):
            key = (rec.source, kind)
            sent, recorded = body.sent.get(kind, 0), self._received.get(key, 0)
            self._write_stream(key, sent=sent, recorded=recorded, time_=rec.time)
            if sent != recorded:
                self._event("error", "stream_incomplete",
                            f"{rec.source} sent {sent} {kind} record(s), {recorded} arrived",
                            source=rec.source, record_kind=kind, sent=sent, recorded=recorded)

    def _write_stream(self, key: tuple[str, str], *, sent: int, recorded: int, time_: float) -> None:
        first, last = self._seq_range.get(key, (-1, -1))
        self.writer.append_stream(source=key[0], kind=key[1], sent=sent, recorded=recorded,
                                  first_seq=first, last_seq=last, time_=time_)
        self._streams_written.add(key)

    @property
    def ended_sources(self) -> set[str]:
        """The senders whose ``stream_end`` has been recorded (each ended its stream in order)."""
        return {s for s, _ in self._streams_written}

    def _write_unended_streams(self) -> None:
        """At close: a row (``sent`` = -1) for each stream whose source never sent ``stream_end``."""
        ended_sources = {s for s, _ in self._streams_written}
        for key in sorted(self._received):
            if key not in self._streams_written and key[1] != "stream_end" and key[0] not in ended_sources:
                self._write_stream(key, sent=-1, recorded=self._received[key], time_=time.time())

    def _event(self, level: str, kind: str, message: str, **details: Any) -> None:
        event = dict(level=level, source=SOURCE, kind=kind, message=message, details=details)
        if self.writer is None:
            if len(self._pending_events) < MAX_EARLY_RECORDS:  # a flood before the file is bounded
                self._pending_events.append(event)
        else:
            self.writer.append_event(**event)

    def _on_reject(self, rejection: Rejection) -> None:
        if self.rejections.note(rejection):
            self._event("error", "rejected_record",
                        f"recorder rejected a message from {rejection.peer}: {rejection.message}",
                        **rejection.details(),
                        count=self.rejections.counts[(rejection.peer, rejection.reason)])

    def drain(self, quiet_seconds: float = 0.3) -> None:
        """Handle records until none has arrived for ``quiet_seconds``."""
        while self.step(poll_ms=int(quiet_seconds * 1000)):
            pass

    def close(self, end_state: str | None = None, reason: str | None = None) -> None:
        """Close the run file with the run's end state (from ``run_end`` unless given)."""
        super().close()
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
        self._write_unended_streams()
        unapplied = len(self._rows)
        if unapplied:
            self._event("warning", "unapplied_blocks",
                        f"{unapplied} block(s) were acquired but never corrected",
                        count=unapplied)
        if self.rejections.total:
            self._event("warning", "rejections",
                        f"recorder rejected {self.rejections.total} message(s)",
                        total=self.rejections.total, counts=self.rejections.summary())
        counts = self._state()["counts"]
        restarted = (f"; restarted {counts['restarts']} time(s), {counts['received_again']} "
                     f"record(s) received again" if counts["restarts"] else "")
        self._event("info", "recorder_closed",
                    f"recorder closed the file: {counts['received']} records, "
                    f"{counts['rejected']} rejected, {self.gaps} gaps, {self.duplicates} duplicates"
                    f"{restarted}", received=counts["received"], rejected=counts["rejected"],
                    gaps=self.gaps, duplicates=self.duplicates, restarts=counts["restarts"],
                    received_again=counts["received_again"], held_back=counts["held_back"])
        self.writer.close(state, why)
        self._durable = {key: nxt - 1 for key, nxt in self.tracker.streams().items()}
        self._send_acks()  # everything is in the closed file

    def run(self, should_stop: Any = lambda: False, max_steps: int | None = None) -> None:
        """Record until ``run_end`` arrives (then drain) or ``should_stop()``."""
        super().run(lambda: self.end is not None or should_stop(), max_steps)
        self.drain()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
