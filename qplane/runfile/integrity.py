"""What a run file holds and what is missing: :class:`Integrity`, and the run summary.

:class:`IntegrityViews` is the part of :class:`~qplane.runfile.reader.Run` that computes them
(a mixin over the reader core, its QEC views and its tables).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from qplane.runfile._values import text


@dataclasses.dataclass(frozen=True)
class Integrity:
    """What a run file holds and what is missing or inconsistent.

    Attributes:
        finished: the writer recorded an end state (completed, interrupted or failed).
        end_state: the root ``end_state`` attribute (``/status`` while running).
        block_rows: rows in ``/qec/blocks``.
        complete_blocks: leading blocks whose shots are all in every shot dataset.
        unapplied_blocks: of those, blocks acquired whose correction was never applied.
        shot_rows: rows in each shot dataset.
        shots_in_blocks: shots covered by the complete blocks.
        orphan_shots: shot rows beyond the last complete block (written, never indexed).
        seq_gaps: ``(after_seq, missing_count)`` for each jump in the block sequence numbers.
        duplicate_seqs: sequence numbers recorded more than once.
        error_events: events of level ``error``.
        stream_mismatches: ``(source, kind, sent, recorded)`` of each ``/streams`` row whose
            sender's count differs from the count recorded (``sent`` -1: it sent no end record).

    >>> Integrity(True, "completed", 1, 1, 0, {"detection_events": 8}, 8, 0, (), (), 0,
    ...           (("decoder-0", "correction", 10, 8),)).problems
    ['stream correction from decoder-0: 2 of 10 record(s) sent never recorded (lost tail)']
    """

    finished: bool
    end_state: str
    block_rows: int
    complete_blocks: int
    unapplied_blocks: int
    shot_rows: dict[str, int]
    shots_in_blocks: int
    orphan_shots: int
    seq_gaps: tuple[tuple[int, int], ...]
    duplicate_seqs: tuple[int, ...]
    error_events: int
    stream_mismatches: tuple[tuple[str, str, int, int], ...] = ()

    @property
    def problems(self) -> list[str]:
        """Human-readable list of everything that is not as a cleanly finished run leaves it."""
        out = []
        if not self.finished:
            out.append("no end recorded: the run is still being written, or its writer was killed")
        if self.complete_blocks < self.block_rows:
            out.append(f"{self.block_rows - self.complete_blocks} block row(s) point past the "
                       "shots on disk (torn write); they are ignored")
        if self.unapplied_blocks:
            out.append(f"{self.unapplied_blocks} block(s) acquired but never corrected "
                       "(left out of the logical error rate)")
        if len(set(self.shot_rows.values())) > 1:
            out.append(f"shot datasets differ in length: {self.shot_rows}")
        if self.orphan_shots:
            out.append(f"{self.orphan_shots} shot row(s) written after the last complete block")
        for after, missing in self.seq_gaps:
            out.append(f"sequence gap: {missing} record(s) missing after seq {after}")
        if self.duplicate_seqs:
            out.append(f"duplicate sequence numbers: {list(self.duplicate_seqs)[:10]}")
        if self.error_events:
            out.append(f"{self.error_events} error event(s)")
        for source, kind, sent, recorded in self.stream_mismatches:
            if sent < 0:
                out.append(f"stream {kind} from {source}: no end-of-stream record, so a lost tail "
                           f"cannot be ruled out ({recorded} record(s) recorded)")
            elif sent > recorded:
                out.append(f"stream {kind} from {source}: {sent - recorded} of {sent} record(s) "
                           "sent never recorded (lost tail)")
            else:
                out.append(f"stream {kind} from {source}: {recorded} record(s) recorded but the "
                           f"sender says it sent {sent}")
        return out


class IntegrityViews:
    """:meth:`integrity` and :meth:`summary` of a run."""

    def _stream_mismatches(self) -> tuple[tuple[str, str, int, int], ...]:
        rows = self.table("/streams")
        return tuple((text(r["source"]), text(r["kind"]), int(r["sent"]), int(r["recorded"]))
                     for r in rows if int(r["sent"]) != int(r["recorded"]))

    def integrity(self) -> Integrity:
        """What the file holds, and every inconsistency a killed writer or a gap left behind."""
        complete, total = self._complete_block_rows()
        shot_rows = self._shot_rows()
        shots_in_blocks = int(complete["shots"].sum()) if len(complete) else 0
        end = int(complete["shot_start"][-1] + complete["shots"][-1]) if len(complete) else 0
        seqs = np.sort(complete["seq"])
        steps = np.diff(seqs)
        gaps = tuple((int(seqs[i]), int(steps[i] - 1)) for i in np.flatnonzero(steps > 1))
        dups = tuple(int(s) for s in np.unique(seqs[1:][steps == 0]))
        levels = self.table("/events")["level"]
        return Integrity(
            finished=self.finished,
            end_state=self.end_state,
            block_rows=total,
            complete_blocks=len(complete),
            unapplied_blocks=int(np.count_nonzero(complete["applied"] == 0)),
            shot_rows=shot_rows,
            shots_in_blocks=shots_in_blocks,
            orphan_shots=max(0, self.num_shots - end),
            seq_gaps=gaps,
            duplicate_seqs=dups,
            error_events=int(np.count_nonzero(levels == b"error")),
            stream_mismatches=self._stream_mismatches(),
        )

    def summary(self) -> dict[str, Any]:
        """The run in a few numbers (for the report header and ``print``)."""
        blocks = self.blocks
        integ = self.integrity()
        first = float(blocks["t_acquired"].min()) if len(blocks) else float("nan")
        last = float(np.nanmax(blocks["t_applied"].where(blocks["applied"]))) if blocks["applied"].any() else first
        return {
            "run_id": self.run_id,
            "path": self.path,
            "state": self.state,
            "end_reason": self.end_reason,
            "created": self.created,
            "ended": self.ended,
            "schema_version": self.schema_version,
            "qplane_version": self.qplane_version,
            "config_path": self.config_path,
            "decoder": self.decoder,
            "decoded_on": self.decoded_on,
            "distance": self.qec_attrs.get("distance", ""),
            "rounds": self.qec_attrs.get("rounds", ""),
            "basis": text(self.qec_attrs.get("basis", "")),
            "num_detectors": self.num_detectors,
            "blocks": integ.complete_blocks,
            "shots": integ.shots_in_blocks,
            "duration_s": (last - first) if len(blocks) else 0.0,
            "simulated": self.simulated,
            "calibration_runs": int(len(self.table("/calibration/runs"))),
            "parameter_changes": int(len(self.table("/parameters/history"))),
            "events": int(len(self.table("/events"))),
            "problems": integ.problems,
        }
