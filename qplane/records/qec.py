"""Record kinds of the QEC data path: syndrome blocks, corrections, circuits, counts.

A block's path: the instrument server sends a :class:`Syndrome` to a decoding worker and to the
recorder (the small blocks acquired in one step for one worker: one :class:`SyndromeBlocks`);
the worker answers with a :class:`Correction` (several blocks decoded together: one
:class:`Corrections` for them all); the server applies it in acquisition
order and tells the recorder with an :class:`Applied` (which carries the predictions once, and
the truth where simulated; blocks applied together: one :class:`AppliedBlocks`). So at small
blocks each direction carries one record per batch, not one per block. The server
keeps the block's metadata; nothing is sent back and forth. ``/qec/blocks`` rows are built
from a Syndrome and its Applied by :func:`block_row` and :meth:`Applied.block_fields`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import msgspec
import numpy as np

from qplane.errors import WireFormatError
from qplane.records._base import Body, CircuitId, Count, JsonObject, Record, json_text


class Syndrome(Body, frozen=True, tag="syndrome"):
    """One block of detection events (instrument server -> decoding workers and recorder).

    Arrays: ``detection_events`` uint8 (shots, ceil(num_detectors / 8)), stim's b8 layout.
    """

    block_index: Count
    circuit_id: CircuitId
    num_detectors: Count
    t_acquired: float
    #: setting changes committed in the run before this block (the device changed when it
    #: grows: a live noise estimator restarts its window)
    settings_changes: Count = 0

    ARRAYS = {"detection_events": ("uint8", 2)}
    PER_SHOT = True

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        width = (self.num_detectors + 7) // 8
        shape = arrays["detection_events"].shape
        if shape[1] != width:
            raise WireFormatError(
                f"syndrome record: detection_events must be (shots, {width}) bit-packed for "
                f"{self.num_detectors} detectors, got {shape}")

    def block_row(self, rec: Record) -> dict[str, Any]:
        """The ``/qec/blocks`` fields known when the block is acquired."""
        return {k: v[0] for k, v in Syndrome.block_columns([rec]).items()}

    @staticmethod
    def block_columns(recs: list[Record]) -> dict[str, list[Any]]:
        """:meth:`block_row` of several syndrome records, column by column (the recorder
        fills a flush's rows a column at a time: no dict per block).

        >>> rec = Record(run_id="r", source="s", seq=7, uid="u", time=0.0, arrays={},
        ...              body=Syndrome(block_index=3, circuit_id="ab" * 8, num_detectors=8,
        ...                            t_acquired=1.5))
        >>> rec.body.block_row(rec)["seq"], Syndrome.block_columns([rec, rec])["block_index"]
        (7, [3, 3])
        """
        bodies = [r.body for r in recs]
        return {"seq": [r.seq for r in recs], "block_index": [b.block_index for b in bodies],
                "circuit_id": [b.circuit_id.encode() for b in bodies],
                "t_acquired": [b.t_acquired for b in bodies], "failures": [-1] * len(recs)}


#: Most blocks one :class:`SyndromeBlocks`, :class:`Corrections` or :class:`AppliedBlocks`
#: record carries.
MAX_BLOCKS = 256
_Seqs = Annotated[list[Count], msgspec.Meta(min_length=1, max_length=MAX_BLOCKS)]
_Counts = Annotated[list[Count], msgspec.Meta(max_length=MAX_BLOCKS)]
_Floats = Annotated[list[float], msgspec.Meta(max_length=MAX_BLOCKS)]


def _check_lists(body: Body, names: tuple[str, ...], arrays: Mapping[str, np.ndarray],
                 array: str) -> None:
    """The checks every multi-block record shares: one entry per block in each list, no block
    twice, and the blocks' shots adding up to the rows of ``array``."""
    kind, n = body.kind_name(), len(body.syndrome_seqs)
    for name in names:
        if len(getattr(body, name)) != n:
            raise WireFormatError(f"{kind} record: {name} has {len(getattr(body, name))} "
                                  f"entries for {n} blocks")
    if len(set(body.syndrome_seqs)) != n:
        raise WireFormatError(f"{kind} record: a block appears twice in syndrome_seqs")
    if sum(body.shots) != len(arrays[array]):
        raise WireFormatError(f"{kind} record: shots add up to {sum(body.shots)}, "
                              f"{array} has {len(arrays[array])} rows")


class SyndromeBlocks(Body, frozen=True, tag="syndrome_blocks"):
    """Several blocks of one circuit in one message (instrument server -> a decoding worker
    and the recorder): the small blocks acquired in one step for one worker travel as one
    record, decoded, checked and recorded once. Each block keeps its own sequence number on the
    server's ``syndrome`` stream (``syndrome_seqs``: what a lone block's :class:`Syndrome`
    record would have had as its ``seq``), by which its correction names it and the recorder
    finds gaps and duplicates; the record's own ``seq`` numbers the ``syndrome_blocks`` stream.
    Each list has one entry per block, in acquisition order; :meth:`syndromes` gives the
    :class:`Syndrome` record each block would have been.

    Arrays: ``detection_events`` uint8 (total shots, ceil(num_detectors / 8)), the blocks'
    rows back to back.
    """

    circuit_id: CircuitId
    num_detectors: Count
    syndrome_seqs: _Seqs
    block_indices: _Counts
    shots: _Counts
    t_acquired: _Floats
    settings_changes: _Counts

    ARRAYS = Syndrome.ARRAYS
    PER_SHOT = True

    _LISTS = ("block_indices", "shots", "t_acquired", "settings_changes")

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        Syndrome.check(self, arrays)  # the width, for num_detectors
        _check_lists(self, self._LISTS, arrays, "detection_events")

    def syndromes(self, rec: Record) -> list[Record]:
        """One :class:`Syndrome` record per block, ``seq`` its block's (its detection events
        a view: nothing copied), with this record's envelope otherwise.

        >>> body = SyndromeBlocks(circuit_id="ab" * 8, num_detectors=8, syndrome_seqs=[4, 5],
        ...                       block_indices=[2, 3], shots=[1, 2], t_acquired=[1.0, 1.5],
        ...                       settings_changes=[0, 0])
        >>> rec = Record.build(body, run_id="r", source="srv", seq=0,
        ...                    arrays={"detection_events": np.array([[1], [0], [1]], np.uint8)})
        >>> [(s.seq, s.body.block_index, s.arrays["detection_events"].ravel().tolist())
        ...  for s in body.syndromes(rec)]
        [(4, 2, [1]), (5, 3, [0, 1])]
        """
        events, start, out = rec.arrays["detection_events"], 0, []
        cid, width = self.circuit_id, self.num_detectors
        for seq, index, n, t, changes in zip(self.syndrome_seqs, self.block_indices, self.shots,
                                             self.t_acquired, self.settings_changes):
            out.append(Record(run_id=rec.run_id, source=rec.source, seq=seq, uid=rec.uid,
                              time=rec.time, body=Syndrome(
                                  block_index=index, circuit_id=cid, num_detectors=width,
                                  t_acquired=t, settings_changes=changes),
                              arrays={"detection_events": events[start:start + n]}))
            start += n
        return out


class Correction(Body, frozen=True, tag="correction"):
    """The predicted observable flips of one block (decoding worker -> instrument server).

    Arrays: ``predictions`` uint8 (shots, ceil(num_observables / 8)). The worker is the
    record's ``source``; the block is named by its syndrome record's ``seq``.
    """

    syndrome_seq: Count
    t_decoded: float
    decode_seconds: float
    shadow_shots: Count = 0
    shadow_disagreements: Count = 0
    t_received: float = 0.0  # the worker received the syndrome (UNIX s; 0: not measured)

    ARRAYS = {"predictions": ("uint8", 2)}
    PER_SHOT = True


#: Most blocks one :class:`Corrections` record answers.
MAX_CORRECTIONS = MAX_BLOCKS


class Corrections(Body, frozen=True, tag="corrections"):
    """The corrections of several blocks in one message (decoding worker -> instrument
    server): a worker that took several queued blocks at once answers them at once. Each
    list has one entry per block, in the order of ``syndrome_seqs``; the server takes it as
    the :class:`Correction` records of :meth:`corrections`, each checked on its own.

    Arrays: ``predictions`` uint8 (total shots, ceil(num_observables / 8)), the blocks' rows
    back to back.
    """

    syndrome_seqs: _Seqs
    shots: _Counts
    t_decoded: _Floats
    decode_seconds: _Floats
    t_received: _Floats
    shadow_shots: _Counts
    shadow_disagreements: _Counts

    ARRAYS = {"predictions": ("uint8", 2)}

    _LISTS = ("shots", "t_decoded", "decode_seconds", "t_received", "shadow_shots",
              "shadow_disagreements")

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        _check_lists(self, self._LISTS, arrays, "predictions")

    def corrections(self, rec: Record) -> list[Record]:
        """One :class:`Correction` record per block (its predictions a view: nothing copied).

        >>> body = Corrections(syndrome_seqs=[4, 5], shots=[1, 2], t_decoded=[1.0, 1.0],
        ...                    decode_seconds=[0.1, 0.2], t_received=[0.5, 0.5],
        ...                    shadow_shots=[0, 0], shadow_disagreements=[0, 0])
        >>> rec = Record.build(body, run_id="r", source="decoder-0", seq=0,
        ...                    arrays={"predictions": np.array([[1], [0], [1]], np.uint8)})
        >>> [(c.body.syndrome_seq, c.arrays["predictions"].ravel().tolist())
        ...  for c in body.corrections(rec)]
        [(4, [1]), (5, [0, 1])]
        """
        predictions, start, out = rec.arrays["predictions"], 0, []
        for i, seq in enumerate(self.syndrome_seqs):
            n = self.shots[i]
            body = Correction(syndrome_seq=seq, t_decoded=self.t_decoded[i],
                              decode_seconds=self.decode_seconds[i],
                              shadow_shots=self.shadow_shots[i],
                              shadow_disagreements=self.shadow_disagreements[i],
                              t_received=self.t_received[i])
            out.append(Record(run_id=rec.run_id, source=rec.source, seq=rec.seq, uid=rec.uid,
                              time=rec.time, body=body,
                              arrays={"predictions": predictions[start:start + n]}))
            start += n
        return out


class Applied(Body, frozen=True, tag="applied"):
    """A correction was applied on the instrument (instrument server -> recorder).

    Arrays: ``predictions`` (the frame update applied) and, on a simulated device, ``truth``
    (the true observable flips), both uint8 (shots, ceil(num_observables / 8)).
    """

    syndrome_seq: Count
    t_decoded: float
    t_applied: float
    decode_seconds: float
    worker: str
    failures: int  # logical failures after correction (simulation), else -1
    shadow_shots: Count = 0
    shadow_disagreements: Count = 0
    t_sent: float = 0.0      # the server had sent the syndrome to the decoders (0: unknown)
    t_received: float = 0.0  # the worker received it (0: unknown)

    ARRAYS = {"predictions": ("uint8", 2)}
    OPTIONAL_ARRAYS = {"truth": ("uint8", 2)}
    PER_SHOT = True

    def block_fields(self) -> dict[str, Any]:
        """The ``/qec/blocks`` fields this record fills in."""
        return {k: v[0] for k, v in Applied.block_columns([self]).items()}

    @staticmethod
    def block_columns(bodies: list["Applied"]) -> dict[str, list[Any]]:
        """:meth:`block_fields` of several blocks, column by column (no dict per block).

        >>> one = Applied(syndrome_seq=3, t_decoded=1.0, t_applied=2.0, decode_seconds=0.1,
        ...               worker="decoder-0", failures=0, t_sent=0.5)
        >>> one.block_fields()["worker"], Applied.block_columns([one, one])["t_received"]
        (b'decoder-0', [nan, nan])
        """
        return {"t_decoded": [b.t_decoded for b in bodies],
                "t_applied": [b.t_applied for b in bodies],
                "decode_seconds": [b.decode_seconds for b in bodies],
                "failures": [b.failures for b in bodies],
                "worker": [b.worker.encode() for b in bodies],
                "shadow_shots": [b.shadow_shots for b in bodies],
                "shadow_disagreements": [b.shadow_disagreements for b in bodies],
                "t_sent": [b.t_sent or np.nan for b in bodies],
                "t_received": [b.t_received or np.nan for b in bodies]}


_Workers = Annotated[list[Annotated[str, msgspec.Meta(max_length=128)]],
                    msgspec.Meta(max_length=MAX_BLOCKS)]
_Failures = Annotated[list[Annotated[int, msgspec.Meta(ge=-1, le=2**62)]],
                      msgspec.Meta(max_length=MAX_BLOCKS)]


class AppliedBlocks(Body, frozen=True, tag="applied_blocks"):
    """Several blocks applied in one go (instrument server -> recorder): the corrections that
    became ready together (a worker's :class:`Corrections`, or blocks waiting behind an older
    one) are reported in one record. Each list has one entry per block, in application order;
    the recorder takes it as the :class:`Applied` records of :meth:`applied`, each checked on
    its own (the fields mean what :class:`Applied`'s do).

    Arrays: ``predictions`` and, on a simulated device, ``truth``: uint8 (total shots,
    ceil(num_observables / 8)), the blocks' rows back to back.
    """

    syndrome_seqs: _Seqs
    shots: _Counts
    t_decoded: _Floats
    t_applied: _Floats
    decode_seconds: _Floats
    workers: _Workers
    failures: _Failures
    shadow_shots: _Counts
    shadow_disagreements: _Counts
    t_sent: _Floats
    t_received: _Floats

    ARRAYS = Applied.ARRAYS  # the same arrays as Applied (a new per-shot one comes along)
    OPTIONAL_ARRAYS = Applied.OPTIONAL_ARRAYS
    PER_SHOT = True

    _LISTS = ("shots", "t_decoded", "t_applied", "decode_seconds", "workers", "failures",
              "shadow_shots", "shadow_disagreements", "t_sent", "t_received")

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        _check_lists(self, self._LISTS, arrays, "predictions")

    @classmethod
    def of(cls, blocks: list[tuple[Applied, Mapping[str, np.ndarray]]]
           ) -> tuple["AppliedBlocks", dict[str, np.ndarray]]:
        """The one record (body, arrays) of several blocks' :class:`Applied` bodies and
        arrays (every block with the same arrays); :meth:`of_rows` of their fields.

        >>> one = Applied(syndrome_seq=3, t_decoded=1.0, t_applied=2.0, decode_seconds=0.1,
        ...               worker="decoder-0", failures=0)
        >>> two = [(one, {"predictions": np.zeros((2, 1), np.uint8)})] * 2
        >>> body, arrays = AppliedBlocks.of(two)
        >>> body.shots, arrays["predictions"].shape
        ([2, 2], (4, 1))
        """
        fields = Applied.__struct_fields__
        return cls.of_rows([tuple(getattr(b, f) for f in fields) for b, _ in blocks],
                           {n: [a[n] for _, a in blocks] for n in blocks[0][1]})

    @classmethod
    def of_rows(cls, rows: list[tuple], arrays: Mapping[str, list[np.ndarray]]
                ) -> tuple["AppliedBlocks", dict[str, np.ndarray]]:
        """The one record (body, arrays) of several applied blocks given column-wise: ``rows``
        each one block's :class:`Applied` fields in their order
        (``Applied.__struct_fields__``), ``arrays`` each array's per-block parts, in the same
        order (the blocks' ``shots`` are their ``predictions``' rows). What the instrument
        server reports with; :meth:`of` goes through it.

        >>> rows = [(3, 1.0, 2.0, 0.1, "decoder-0", 0, 0, 0, 0.5, 0.6),
        ...         (4, 1.5, 2.0, 0.1, "decoder-0", 1, 0, 0, 0.5, 0.7)]
        >>> body, arrays = AppliedBlocks.of_rows(rows, {"predictions": [np.zeros((1, 1), np.uint8),
        ...                                                           np.ones((3, 1), np.uint8)]})
        >>> body.syndrome_seqs, body.shots, body.t_received, arrays["predictions"].ravel().tolist()
        ([3, 4], [1, 3], [0.6, 0.7], [0, 1, 1, 1])
        """
        cols = dict(zip(Applied.__struct_fields__, map(list, zip(*rows))))
        body = cls(syndrome_seqs=cols.pop("syndrome_seq"), workers=cols.pop("worker"),
                   shots=[len(p) for p in arrays["predictions"]], **cols)
        return body, {n: np.concatenate(parts) for n, parts in arrays.items()}

    def applied(self, rec: Record) -> list[Record]:
        """One :class:`Applied` record per block (its arrays views: nothing copied), with this
        record's envelope."""
        out, start = [], 0
        for i, seq in enumerate(self.syndrome_seqs):
            n = self.shots[i]
            body = Applied(syndrome_seq=seq, t_decoded=self.t_decoded[i],
                           t_applied=self.t_applied[i], decode_seconds=self.decode_seconds[i],
                           worker=self.workers[i], failures=self.failures[i],
                           shadow_shots=self.shadow_shots[i],
                           shadow_disagreements=self.shadow_disagreements[i],
                           t_sent=self.t_sent[i], t_received=self.t_received[i])
            out.append(Record(run_id=rec.run_id, source=rec.source, seq=rec.seq, uid=rec.uid,
                              time=rec.time, body=body,
                              arrays={k: a[start:start + n] for k, a in rec.arrays.items()}))
            start += n
        return out


class Circuit(Body, frozen=True, tag="circuit"):
    """A decoding circuit by id (instrument server -> worker on request, and -> recorder)."""

    circuit_id: CircuitId
    num_detectors: Count
    num_observables: Count
    stim_circuit: str

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/qec/circuits", {"circuit_id": self.circuit_id.encode(), "time": rec.time,
                                "num_detectors": self.num_detectors,
                                "num_observables": self.num_observables,
                                "stim_circuit": self.stim_circuit}


class CircuitRequest(Body, frozen=True, tag="circuit_request"):
    """Ask the instrument server for the circuit with this id ("" = the current one: a worker
    announcing that it is starting)."""

    circuit_id: CircuitId


class DetectionCounts(Body, frozen=True, tag="detection_counts"):
    """Detection events per detector, summed over the blocks acquired since the last report
    (instrument server -> calibration worker). Arrays: ``counts`` int64 (num_detectors,)."""

    circuit_id: CircuitId
    shots: Count

    ARRAYS = {"counts": ("int64", 1)}


class DecoderCompiled(Body, frozen=True, tag="decoder_compiled"):
    """A decoding worker compiled its decoder for a circuit (worker -> recorder).

    For a trained model it carries the model card, the weights' sha256, the notes of the
    compilation and the decision rule picked for this circuit's noise.
    """

    worker: str
    decoder: str
    circuit_id: CircuitId
    backend: str = ""  # what runs it: "pymatching", "torch", ...
    device: str = "cpu"  # where: "cpu", "cuda:0", ...
    model_card: JsonObject | None = None
    model_sha256: str = ""
    notes: list[str] = []
    rule: JsonObject = {}

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        details: dict[str, Any] = {"circuit_id": self.circuit_id, "decoder": self.decoder,
                                   "backend": self.backend, "device": self.device}
        if self.model_card is not None:
            details.update(model_card=self.model_card, model_sha256=self.model_sha256,
                           notes=self.notes, rule=self.rule)
        yield "/events", {"time": rec.time, "level": b"info", "source": rec.source,
                          "kind": "decoder_compiled", "details": json_text(details),
                          "message": f"{self.worker} compiled {self.decoder} for circuit "
                                     f"{self.circuit_id} ({self.backend or '?'} on {self.device})"}
        if self.model_card is not None:
            yield "model_card", {"decoder": self.decoder, "card": self.model_card,
                                 "sha256": self.model_sha256}
