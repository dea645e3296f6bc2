"""The calibration worker: runs the graph continuously beside QEC, pointed by the syndromes.

A small class in the pipeline's worker style: its connections are passed in, :meth:`step` does
one unit of work, :meth:`run` loops over it, and :meth:`start`/:meth:`stop`/:meth:`close` (or
``with``) bound its life. It talks to the device only through a
:class:`~qplane.calibration.run.CalibrationBackend` (run an experiment, read and write a setting,
read the clock), so it runs in process for tests and benches, and over the wire in the pipeline
(the instrument server implements the same four calls and time-shares the device between QEC
blocks and these experiments).

One :meth:`step`:

1. takes the detection-rate reports that arrived (:meth:`report` / :meth:`report_counts`, fed
   by the decoding side) into the :class:`~qplane.calibration.syndrome.SyndromeMonitor`; a
   region whose rate rose beyond its baseline queues its qubits, most likely culprit first;
2. if a qubit is queued, *triages* it: a cheap data check of each triage node (Ramsey, then
   Rabi, by default), calibrating what is out of spec and diagnosing bad data;
3. otherwise maintains the graph on the next qubit in turn (Optimus: mostly state checks, which
   cost no device time, until validity timeouts expire). After a whole pass over the qubits that
   ran no experiment, one step returns ``"idle"``: the caller may then wait for reports.

>>> from qplane.calibration.synthetic import SyntheticBackend
>>> from qplane.calibration.graph import CalibrationGraph
>>> backend = SyntheticBackend(qubits=("q0", "q1"), seed=2)
>>> graph = CalibrationGraph.default(backend, backend.ledger())
>>> with CalibrationWorker(graph, backend.qubits()) as worker:
...     worker.step()
...     worker.stats["maintained"]
'maintain q0'
1
"""

from __future__ import annotations

import collections
import math
import traceback
from typing import Any, Callable

import numpy as np

from qplane.calibration.gates import Outcome
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.syndrome import SyndromeMonitor, Trigger


class CalibrationWorker:
    """Keeps a device in spec (see the module docstring).

    Args:
        graph: the calibration graph (holding the backend and the settings ledger).
        qubits: the qubits to maintain, in the order maintained.
        monitor: per-region detection-rate monitor; without it there are no triggered checks.
        triage_nodes: the nodes checked first on a qubit a trigger points at.
        maintain: whether to maintain the graph when nothing is triggered (``False`` makes a
            worker that only reacts to syndromes).
        on_trigger: called with each list of :class:`~qplane.calibration.syndrome.Trigger`.
        on_error: called with ``(message, traceback)`` when a step fails; the worker goes on.
        poll: called at the start of every step to collect reports that arrived meanwhile
            (over the wire: ``RemoteBackend.poll_counts``, whose ``on_counts`` calls
            :meth:`report_detector_counts`).
        max_suspects: how many of a trigger's suspects are checked (most likely first); if
            none of them was off, the rise is accepted as the region's new baseline.
    """

    def __init__(self, graph: CalibrationGraph, qubits: tuple[str, ...] | list[str], *,
                 monitor: SyndromeMonitor | None = None,
                 triage_nodes: tuple[str, ...] = ("ramsey", "rabi"),
                 maintain: bool = True,
                 on_trigger: Callable[[list[Trigger]], None] | None = None,
                 on_error: Callable[[str, str], None] | None = None,
                 poll: Callable[[], None] | None = None, max_suspects: int = 3):
        self.graph = graph
        self.max_suspects = int(max_suspects)
        self.poll = poll
        self.qubits = tuple(qubits)
        self.monitor = monitor
        self.triage_nodes = tuple(triage_nodes)
        self.maintain_enabled = bool(maintain)
        self.on_trigger = on_trigger
        self.on_error = on_error
        self._reports: collections.deque[tuple[str, Any, int]] = collections.deque()
        self._queue: collections.deque[tuple[str, tuple[str, ...]]] = collections.deque()
        self._next = 0
        self._unexplained: set[str] = set()
        self._quiet = 0
        self._running = False
        self._closed = False
        self.stats = collections.Counter()

    # --- life -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._closed:
            raise RuntimeError("the calibration worker is closed")
        self._running = True

    def stop(self) -> None:
        self._running = False

    def close(self) -> None:
        self.stop()
        self._closed = True

    def __enter__(self) -> "CalibrationWorker":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- input from the decoding side ---------------------------------------------------------
    def report(self, detection_events: np.ndarray) -> None:
        """Queue one block's bit-packed detection events for the monitor."""
        self._reports.append(("events", detection_events, len(detection_events)))

    def report_counts(self, counts: np.ndarray, shots: int) -> None:
        """Queue per-region detection counts over ``shots`` shots."""
        self._reports.append(("counts", counts, shots))

    def report_detector_counts(self, counts: np.ndarray, shots: int) -> None:
        """Queue per-detector detection counts over ``shots`` shots (the instrument server's
        ``detection_counts`` record: ``counts`` array, ``shots`` in its meta)."""
        self._reports.append(("detectors", counts, shots))

    @property
    def pending(self) -> tuple[str, ...]:
        """Qubits queued for a triggered check, next first."""
        return tuple(q for q, _ in self._queue)

    def next_due(self) -> float:
        """When the worker next has work without a new report (the device's clock): ``-inf``
        while a triggered check is queued, else the earliest expiry of a maintained node's
        validity (:meth:`CalibrationGraph.next_due`); ``inf`` when it does not maintain. A
        caller whose worker said ``"idle"`` may wait until then (or a report)."""
        if self._queue:
            return -math.inf
        if not (self.maintain_enabled and self.qubits):
            return math.inf
        return self.graph.next_due(self.qubits)

    # --- work -------------------------------------------------------------------------------
    def step(self) -> str:
        """Handle pending reports, then do one unit of work; returns what it did."""
        try:
            if self.poll is not None:
                self.poll()
            self._drain_reports()
            if self._queue:
                qubit, regions = self._queue.popleft()
                outcomes = self.triage(qubit)
                if Outcome.SUCCESS.value in outcomes:
                    # Found and fixed the culprit: drop the trigger's other suspects and let
                    # the rates re-accumulate; if the region stays hot it fires again.
                    self._queue = collections.deque(
                        (q, r) for q, r in self._queue if not set(r) & set(regions))
                else:
                    self._unexplained.update(regions)
                if self.monitor is not None and not any(set(r) & set(regions)
                                                        for _, r in self._queue):
                    if Outcome.SUCCESS.value not in outcomes and self._unexplained:
                        # Every suspect was in spec: the rise is not a setting's fault.
                        self.monitor.accept(tuple(self._unexplained))
                    self._unexplained.clear()
                    self.monitor.clear(regions)
                self.stats["triaged"] += 1
                return f"triage {qubit}"
            if self.maintain_enabled and self.qubits:
                if self._quiet >= len(self.qubits):
                    # A whole pass ran no experiment: report idle once, so a caller can wait
                    # for syndrome reports instead of spinning; the next step starts a pass.
                    self._quiet = 0
                    return "idle"
                qubit = self.qubits[self._next % len(self.qubits)]
                self._next += 1
                before = len(self.graph.runs)
                self.graph.maintain_all([qubit])
                self._quiet = self._quiet + 1 if len(self.graph.runs) == before else 0
                self.stats["maintained"] += 1
                return f"maintain {qubit}"
            return "idle"
        except Exception as e:  # noqa: BLE001 - a crash is reported, not lost
            self.stats["errors"] += 1
            if self.on_error is None:
                raise
            self.on_error(f"calibration step failed: {e}", traceback.format_exc())
            return "error"

    def run(self, *, steps: int | None = None, until: Callable[[], bool] | None = None) -> None:
        """Loop over :meth:`step` while started (at most ``steps``, or until ``until()``)."""
        self.start()
        n = 0
        while self._running and (steps is None or n < steps) and not (until and until()):
            self.step()
            n += 1

    def triage(self, qubit: str) -> list[str]:
        """Check the triage nodes on ``qubit`` now, whatever their state; fix what is off."""
        outcomes = []
        for name in self.triage_nodes:
            run = self.graph.check_data(name, qubit)
            if run.outcome is Outcome.OUT_OF_SPEC:
                outcomes.append(self.graph.calibrate(name, qubit).outcome.value)
            elif not run.outcome.good:
                outcomes.append(self.graph.diagnose(name, qubit))
            else:
                outcomes.append(run.outcome.value)
        return outcomes

    def _drain_reports(self) -> None:
        if self.monitor is None:
            self._reports.clear()
            return
        triggers: list[Trigger] = []
        while self._reports:
            kind, payload, shots = self._reports.popleft()
            if kind == "events":
                triggers += self.monitor.update(payload)
            elif kind == "detectors":
                triggers += self.monitor.update_detector_counts(payload, shots)
            else:
                triggers += self.monitor.update_counts(payload, shots)
        if not triggers:
            return
        self.stats["triggers"] += len(triggers)
        if self.on_trigger is not None:
            self.on_trigger(triggers)
        queued = {q for q, _ in self._queue}
        regions = tuple(t.region for t in triggers)
        suspects = [q for q in SyndromeMonitor.suspects(triggers) if q in self.qubits]
        for q in suspects[:self.max_suspects]:
            if q not in queued:
                self._queue.append((q, regions))
