"""The replay source: a QCoDeS instrument that serves recorded detection events as a QPU would.

:class:`ReplayQPU` implements the same device contract as the simulated QPU
(:class:`qplane.device.QECDevice`): :meth:`~ReplayQPU.acquire_block` hands out the next
``shots_per_block`` recorded shots, :meth:`~ReplayQPU.apply_correction` takes the decoder's
predictions back and, where the recording has it, scores them against the recorded truth. It
lets a lab push what its own control system recorded through any decoder and configuration,
and lets the benchmarks measure the pipeline without the simulator's sampling cost.

Sources (``format``):

* ``"runfile"``: a qplane run file (:func:`qplane.runfile.open_run`): its detection events in
  acquisition order, its decoding circuits (each block keeps the circuit it was recorded with;
  a block never spans two) and, for a simulated run, its truth. Replaying a run with the same
  decoder reproduces its predictions bit for bit.
* ``"b8"``, ``"01"``, ``"ptb64"``, ``"r8"``, ``"hits"``, ``"dets"``: a stim sample file
  (:func:`stim.read_shot_data_file`) with the stim ``circuit`` file it was sampled from (the
  decoding circuit); ``observables`` is ``"appended"`` (``stim detect --append_observables``),
  the path of a separate observables file of the same format, or ``None`` (no truth: each block
  is scored ``failures = -1``, as on hardware).

Pacing: ``cycle_time`` seconds per shot (the device's cycle time) make each block wait until
``shots * cycle_time`` after the previous one; 0 serves at full speed. At the end of the data
a source with ``loop=False`` raises :class:`~qplane.errors.SourceExhausted` (the instrument
server then ends acquisition); ``loop=True`` starts again from the first shot.

>>> import os, tempfile, stim, numpy as np
>>> from qplane.codes import memory_circuit
>>> folder = tempfile.mkdtemp()
>>> circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.001)
>>> circuit.to_file(os.path.join(folder, "c.stim"))
>>> dets, obs = circuit.compile_detector_sampler(seed=1).sample(10, separate_observables=True)
>>> stim.write_shot_data_file(data=np.hstack([dets, obs]), path=os.path.join(folder, "s.b8"),
...                           format="b8", num_detectors=circuit.num_detectors,
...                           num_observables=1)
>>> qpu = ReplayQPU("replay_doctest", source=os.path.join(folder, "s.b8"), format="b8",
...                 circuit=os.path.join(folder, "c.stim"), observables="appended",
...                 shots_per_block=4, distance=3, rounds=3, basis="Z")
>>> block = qpu.acquire_block()
>>> block.detection_events.shape, qpu.shots_total
((4, 3), 10)
>>> qpu.apply_correction(block.index, np.zeros((4, 1), dtype=np.uint8)).shots
4
>>> qpu.close()
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np
import stim
from qcodes.instrument import Instrument
from qcodes.validators import Ints, Numbers

from qplane.codes import circuit_fingerprint
from qplane.device import CorrectionResult, SyndromeBlock, count_wrong, take_pending
from qplane.errors import ConfigError, QplaneError, SourceExhausted

#: Source formats: a qplane run file, or one of stim's sample formats.
FORMATS = ("runfile", "b8", "01", "ptb64", "r8", "hits", "dets")
#: Blocks acquired but not yet corrected that the source remembers.
MAX_PENDING_BLOCKS = 100_000


@dataclasses.dataclass(frozen=True)
class ReplayData:
    """Recorded shots, in acquisition order.

    Attributes:
        detection_events: uint8 (shots, ceil(num_detectors/8)), stim b8 layout.
        truth: uint8 (shots, ceil(num_observables/8)), or None (not recorded).
        segments: ``(first shot, circuit index)`` where each run of one circuit starts, ascending.
        circuits: the decoding circuits, with their fingerprints.
        geometry: distance, rounds, basis as recorded (None where unknown).
    """

    detection_events: np.ndarray
    truth: np.ndarray | None
    segments: tuple[tuple[int, int], ...]
    circuits: tuple[tuple[stim.Circuit, str], ...]
    geometry: dict[str, Any]


def load_runfile(path: str) -> ReplayData:
    """A qplane run file's shots, circuits and truth (every recorded block, in order).

    Raises:
        RunFileError: the file cannot be read.
        ConfigError: it holds no block.
    """
    from qplane.runfile import open_run

    with open_run(path) as run:
        cols = run.block_columns("seq", "shot_start", "shots", "failures", "applied")
        blocks = run.blocks
        if not len(blocks):
            raise ConfigError(f"run file {path} holds no recorded block; record a run first "
                              "(qplane run config/sim_d3.yaml)", key="qplane.replay.source")
        order = np.argsort(cols["shot_start"], kind="stable")
        starts, shots = cols["shot_start"][order], cols["shots"][order]
        ids = blocks["circuit_id"].to_numpy()[order]
        stop = int(starts[-1] + shots[-1])
        dets = np.ascontiguousarray(run.read_shots("detection_events", 0, stop))
        truth = None
        if run.simulated:
            truth = np.ascontiguousarray(run.read_shots("truth", 0, stop))
        table = run.circuits
        circuits, index = [], {}
        for cid, text in zip(table["circuit_id"], table["stim_circuit"]):
            if cid not in index:
                index[cid] = len(circuits)
                c = stim.Circuit(text)
                circuits.append((c, circuit_fingerprint(c)))
        segments = []
        for start, cid in zip(starts, ids):
            if cid not in index:
                raise ConfigError(f"run file {path}: block at shot {start} names circuit {cid!r}, "
                                  "which /qec/circuits does not hold", key="qplane.replay.source")
            if not segments or segments[-1][1] != index[cid]:
                segments.append((int(start), index[cid]))
        attrs = run.qec_attrs
        geometry = {k: attrs.get(k) for k in ("distance", "rounds", "basis")}
    return ReplayData(dets, truth, tuple(segments), tuple(circuits), geometry)


def load_stim(path: str, *, format: str, circuit: str | None,
              observables: str | None) -> ReplayData:
    """A stim sample file's detection events (and observables) with their circuit file.

    Raises:
        ConfigError: no circuit file, or a file that does not fit the circuit.
    """
    if circuit is None or not os.path.isfile(circuit):
        raise ConfigError(f"a {format} sample file needs the stim circuit it was sampled from: "
                          f"give qplane.replay.circuit (got {circuit!r})",
                          key="qplane.replay.circuit")
    c = stim.Circuit.from_file(circuit)
    read = dict(path=path, format=format, num_detectors=c.num_detectors, bit_packed=True)
    try:
        if observables == "appended":
            dets, truth = stim.read_shot_data_file(**read, num_observables=c.num_observables,
                                                   separate_observables=True)
        else:
            dets = stim.read_shot_data_file(**read)
            truth = None
            if observables is not None:
                truth = stim.read_shot_data_file(path=observables, format=format,
                                                 num_observables=c.num_observables,
                                                 bit_packed=True)
    except (ValueError, RuntimeError) as e:
        raise ConfigError(f"cannot read {path} as {format} shots of {circuit} "
                          f"({c.num_detectors} detectors): {e}", key="qplane.replay.source") from e
    if truth is not None and len(truth) != len(dets):
        raise ConfigError(f"{observables}: {len(truth)} shots of observables for {len(dets)} "
                          "shots of detection events", key="qplane.replay.observables")
    return ReplayData(np.ascontiguousarray(dets), truth, ((0, 0),),
                      ((c, circuit_fingerprint(c)),),
                      {"distance": None, "rounds": None, "basis": None})


class ReplayQPU(Instrument):
    """Serves recorded detection events in the QEC device contract.

    Args:
        name: instrument name in the station.
        source: the run file or stim sample file.
        format: ``"runfile"`` or a stim sample format (see the module docstring).
        circuit: the stim circuit file of a stim sample file (its decoding circuit).
        observables: ``"appended"``, a separate observables file, or None (stim formats).
        cycle_time: seconds per shot between blocks; 0 = full speed.
        loop: start again at the end of the data instead of raising SourceExhausted.
        shots_per_block: initial value of the parameter of that name.
        distance, rounds, basis: the code's geometry; required for stim sample files, which
            do not record it (a run file does).

    Raises:
        ConfigError: a missing source, an unknown format, a file that does not fit.
    """

    def __init__(self, name: str, *, source: str, format: str = "runfile",
                 circuit: str | None = None, observables: str | None = None,
                 cycle_time: float = 0.0, loop: bool = False, shots_per_block: int = 1024,
                 distance: int | None = None, rounds: int | None = None,
                 basis: str | None = None, **kwargs: Any):
        if format not in FORMATS:
            raise ConfigError(f"unknown replay format {format!r}; use one of {', '.join(FORMATS)}",
                              key="qplane.replay.format")
        if not os.path.isfile(source):
            raise ConfigError(f"no replay source file {source!r}; record a run (qplane run "
                              "config/sim_d3.yaml --out FILE) and point qplane.replay.source at "
                              "it", key="qplane.replay.source")
        data = (load_runfile(source) if format == "runfile" else
                load_stim(source, format=format, circuit=circuit, observables=observables))
        if not len(data.detection_events):
            raise ConfigError(f"replay source {source} holds no shots", key="qplane.replay.source")
        super().__init__(name, **kwargs)
        self._data = data
        self._loop = bool(loop)
        self._cursor = 0          # next shot to serve
        self._segment = 0         # the segment the cursor is in
        self._next_index = 0
        self._pending: dict[int, tuple[int, int, int]] = {}  # index -> (first shot, shots, width)
        self._next_due = 0.0
        geometry = {k: v for k, v in dict(distance=distance, rounds=rounds, basis=basis).items()
                    if v is not None}
        values = {**data.geometry, **geometry}
        missing = [k for k in ("distance", "rounds", "basis") if values.get(k) is None]
        if missing:
            raise ConfigError(f"a {format} sample file does not record the code's "
                              f"{', '.join(missing)}; give them as init values of the QPU",
                              key=f"instruments.{name}.init.{missing[0]}")
        for key, label in (("distance", "Code distance"), ("rounds", "Syndrome rounds"),
                           ("basis", "Memory basis")):
            value = values.get(key)
            self.add_parameter(key, label=label, get_cmd=lambda v=value: v, set_cmd=False,
                               docstring="as recorded (or given); a replay cannot change it")
        # Both are read for every block: the parameters keep them in plain attributes (a
        # parameter's cache costs microseconds a read), set through the parameters' validators.
        self._shots_per_block, self._cycle_time = 1, 0.0
        self.shots_per_block = self.add_parameter(
            "shots_per_block", label="Shots per block", initial_value=shots_per_block,
            vals=Ints(1, 1_000_000), get_cmd=lambda: self._shots_per_block,
            set_cmd=lambda v: setattr(self, "_shots_per_block", int(v)),
            docstring="shots per block served (fewer at the end of the data or of a circuit)")
        self.cycle_time = self.add_parameter(
            "cycle_time", label="Cycle time", unit="s", initial_value=float(cycle_time),
            vals=Numbers(0.0, 10.0), get_cmd=lambda: self._cycle_time,
            set_cmd=lambda v: setattr(self, "_cycle_time", float(v)),
            docstring="seconds per shot the source paces its blocks at; 0 = full speed")
        self.shots_served = self.add_parameter(
            "shots_served", label="Shots served", get_cmd=lambda: self._served, set_cmd=False)
        self._served = 0

    @property
    def shots_total(self) -> int:
        """Shots the source holds."""
        return len(self._data.detection_events)

    @property
    def has_truth(self) -> bool:
        """Whether the recording has the true observable flips (blocks are then scored)."""
        return self._data.truth is not None

    def _current(self) -> tuple[stim.Circuit, str]:
        return self._data.circuits[self._data.segments[self._segment][1]]

    def decoding_circuit(self) -> stim.Circuit:
        """The decoding circuit of the shots served next (as recorded)."""
        return self._current()[0].copy()

    def circuit_id(self) -> str:
        """The fingerprint of :meth:`decoding_circuit`."""
        return self._current()[1]

    def acquire_block(self) -> SyndromeBlock:
        """The next ``shots_per_block`` recorded shots (fewer where the data or a circuit ends).

        Raises:
            SourceExhausted: every shot was served and ``loop`` is off.
            QplaneError: too many blocks were never corrected.
        """
        data = self._data
        total = len(data.detection_events)
        if self._cursor >= total:
            if not self._loop:
                raise SourceExhausted(f"{self.name}: all {total} recorded shots were served")
            self._cursor, self._segment = 0, 0
        if len(self._pending) >= MAX_PENDING_BLOCKS:
            raise QplaneError(f"{self.name}: {len(self._pending)} blocks served and never "
                              "corrected; is the decoding worker running?")
        segments = data.segments
        end = segments[self._segment + 1][0] if self._segment + 1 < len(segments) else total
        start = self._cursor
        stop = min(start + self._shots_per_block, end)
        circuit, circuit_id = data.circuits[segments[self._segment][1]]
        self._pace(stop - start)
        self._cursor = stop
        if stop == end and self._segment + 1 < len(segments):
            self._segment += 1
        index = self._next_index
        self._next_index += 1
        self._pending[index] = (start, stop - start, (circuit.num_observables + 7) // 8)
        self._served += stop - start
        return SyndromeBlock(index=index, circuit_id=circuit_id,
                             detection_events=data.detection_events[start:stop],
                             num_detectors=circuit.num_detectors,
                             num_observables=circuit.num_observables)

    def acquire_blocks(self, n: int) -> list[SyndromeBlock]:
        """Up to ``n`` blocks of :meth:`acquire_block`, in one call: the first may wait for
        its pace, the others are served while :meth:`block_ready` holds; the batch ends early
        where the data ends (``loop`` off: the next call raises
        :class:`~qplane.errors.SourceExhausted`).

        Raises:
            SourceExhausted: every shot was served (``loop`` off) before the first block.
            QplaneError: too many blocks were never corrected.
        """
        blocks = [self.acquire_block()]
        if self._cycle_time > 0 or n <= 1:  # paced: each block keeps its own due time
            while len(blocks) < n and self.block_ready():
                try:
                    blocks.append(self.acquire_block())
                except SourceExhausted:
                    break
            return blocks
        data = self._data
        dets, segments, total = data.detection_events, data.segments, len(data.detection_events)
        per_block, pending = self._shots_per_block, self._pending
        room = MAX_PENDING_BLOCKS - len(pending)
        index, cursor, segment = self._next_index, self._cursor, self._segment
        served = 0
        while len(blocks) < n and room > 0:
            if cursor >= total:
                if not self._loop:
                    break
                cursor, segment = 0, 0
            end = segments[segment + 1][0] if segment + 1 < len(segments) else total
            stop = min(cursor + per_block, end)
            circuit, circuit_id = data.circuits[segments[segment][1]]
            pending[index] = (cursor, stop - cursor, (circuit.num_observables + 7) // 8)
            blocks.append(SyndromeBlock(index, circuit_id, dets[cursor:stop],
                                        circuit.num_detectors, circuit.num_observables))
            served += stop - cursor
            if stop == end and segment + 1 < len(segments):
                segment += 1
            cursor, index, room = stop, index + 1, room - 1
        self._next_index, self._cursor, self._segment = index, cursor, segment
        self._served += served
        return blocks

    def apply_corrections(self, batch: list[tuple[int, np.ndarray]]) -> list[CorrectionResult]:
        """:meth:`apply_correction` of each ``(index, predicted_flips)`` (numpy arrays), in
        one call, all or none: a refused one (see there) raises before any is applied
        (:func:`qplane.device.apply_corrections` then applies them one by one).

        Raises:
            QplaneError: an unknown block, or predictions of the wrong shape or dtype.
        """
        taken = take_pending(self.name, self._pending, batch, lambda e: (e[1], e[2]))
        truth_all = self._data.truth
        if truth_all is None:
            return [CorrectionResult(index=i, shots=e[1], failures=-1, truth=None)
                    for (i, _), e in zip(batch, taken)]
        out = []
        for (index, flips), (start, shots, _) in zip(batch, taken):
            truth = truth_all[start:start + shots]
            out.append(CorrectionResult(index=index, shots=shots,
                                        failures=count_wrong(flips, truth), truth=truth))
        return out

    def block_ready(self) -> bool:
        """Whether :meth:`acquire_block` would serve a block now, without waiting for its
        pace (the instrument server acquires several blocks at once only while this holds)."""
        return self._cycle_time <= 0 or self._next_due <= time.perf_counter()

    def _pace(self, shots: int) -> None:
        cycle = self._cycle_time
        if cycle <= 0:
            return
        now = time.perf_counter()
        if self._next_due > now:
            time.sleep(self._next_due - now)
            now = self._next_due
        self._next_due = max(now, self._next_due) + shots * cycle

    def apply_correction(self, index: int, predicted_flips: np.ndarray) -> CorrectionResult:
        """Take block ``index``'s predictions; score them against the recorded truth if any.

        Returns:
            The block's score (``failures`` -1 and no truth where none was recorded).

        Raises:
            QplaneError: an unknown block, or predictions of the wrong shape or dtype.
        """
        try:
            start, shots, width = self._pending[index]
        except KeyError:
            raise QplaneError(f"{self.name}: no pending block {index} (never acquired, or "
                              "already corrected)") from None
        predicted_flips = np.asarray(predicted_flips)
        if predicted_flips.dtype != np.uint8 or predicted_flips.shape != (shots, width):
            raise QplaneError(f"{self.name}: correction for block {index} must be uint8 of shape "
                              f"{(shots, width)}, got {predicted_flips.dtype} "
                              f"{predicted_flips.shape}")
        del self._pending[index]
        if self._data.truth is None:
            return CorrectionResult(index=index, shots=shots, failures=-1, truth=None)
        truth = self._data.truth[start:start + shots]
        failures = count_wrong(predicted_flips, truth)
        return CorrectionResult(index=index, shots=shots, failures=failures, truth=truth)

    def get_idn(self) -> dict[str, str | None]:
        return {"vendor": "qplane", "model": "ReplayQPU", "serial": None, "firmware": None}
