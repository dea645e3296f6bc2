"""A decoding worker's live noise window and the device's setting changes.

Each syndrome block carries ``settings_changes``: how many setting changes the run had
committed when it was acquired. When a worker with ``weights: learned`` sees it grow, the
device changed between two of its blocks. :class:`DeviceChanges` then asks the instrument
server's ledger which settings changed (the read-only ``history`` call, the one calibration
call a decoding worker may make) *without waiting*: the server answers calls in order, behind
whatever calibration experiment it is running, and a decoder must not stop decoding (or
beating its heartbeat) meanwhile. The worker keeps decoding; :meth:`DeviceChanges.poll`, called
between blocks, picks up the answer and says, per circuit, which detectors the changed qubits
reach (:func:`qplane.noise.qubits.qubit_detectors`) and at which shot of each estimator's
window the change happened, so the window restarts there, retroactively, for those qubits only
(:meth:`qplane.noise.LiveNoiseLearner.restart` with ``at``). A setting that names no qubit of
the patch, a ledger that cannot be asked or that does not answer within ``timeout`` restarts
the whole window.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import stim
import zmq

from qplane.pipeline.transport import Outbox
from qplane.records import CalibrationCall, CalibrationReply, HistoryCall, HistoryPage, decode

#: A restart to apply: the qubits changed (None: unknown, all) and, per circuit, the shot of
#: its estimator's window where the change happened.
Restart = tuple[set[str] | None, dict[str, int]]


class DeviceChanges:
    """The device changes a worker's blocks report, turned into window restarts per circuit.

    Args:
        control: the worker's DEALER to the server's control socket (the worker's synchronous
            circuit requests use it too: call :meth:`settle` before one).
        outbox: the worker's outbox on ``control``.
        timeout: seconds to wait for the ledger's answer before restarting whole windows.
    """

    def __init__(self, control: zmq.Socket | None, outbox: Outbox | None, *,
                 timeout: float = 30.0):
        self.control, self.outbox, self.timeout = control, outbox, float(timeout)
        self.seen = -1  # the last block's settings_changes (-1: no block yet)
        self._asked: float | None = None  # when the history call in flight was sent
        self._waiting: list[tuple[int, int, dict[str, int]]] = []  # (before, after, at)
        self._reach: dict[str, Any] = {}
        self.per_qubit = self.whole = 0  # restarts of each kind

    def add_circuit(self, circuit_id: str, circuit: stim.Circuit) -> None:
        """Know which detectors each qubit of ``circuit`` reaches (computed on first use)."""
        self._reach.setdefault(circuit_id, circuit)

    def note(self, settings_changes: int, at: dict[str, int]) -> list[Restart]:
        """A block is about to join the windows; ``at``: each circuit's window position (its
        estimator's ``shots_seen``). Returns restarts to apply now (only when the server's
        ledger was replaced: the count went down); the others come from :meth:`poll`."""
        before, self.seen = self.seen, int(settings_changes)
        if before < 0 or settings_changes == before:
            return []
        if settings_changes < before:
            return [(None, dict(at))]
        self._waiting.append((before, int(settings_changes), dict(at)))
        if self._asked is None:
            self._ask()
        return []

    def _ask(self) -> None:
        if self.outbox is None:
            self._asked = -1.0
            return
        # One bounded page, from the first change still waiting to be placed.
        self.outbox.send(CalibrationCall(args=HistoryCall(start=self._waiting[0][0])))
        self._asked = time.monotonic()

    def poll(self, wait: float = 0.0) -> list[Restart]:
        """The restarts whose changes the ledger has answered for (waits up to ``wait`` s)."""
        if self._asked is None:
            return []
        changes = None
        if self.control is not None and self._asked >= 0:
            if self.control.poll(int(wait * 1000)):
                changes = _changes_of(decode(self.control.recv_multipart()))
            elif time.monotonic() - self._asked < self.timeout:
                return []
        waiting, self._waiting, self._asked = self._waiting, [], None
        out: list[Restart] = []
        for before, after, at in waiting:
            first, page = changes if changes is not None else (0, [])
            if changes is None or not (first <= before and after <= first + len(page)):
                out.append((None, at))  # not in the page (or no answer): the whole window
            else:
                out.append(({str(c.qubit) for c in page[before - first:after - first]}, at))
        return out

    def settle(self) -> list[Restart]:
        """Wait for the answer in flight (before the control socket is used for a request)."""
        return self.poll(wait=self.timeout) if self._asked is not None else []

    def detectors(self, circuit_id: str, qubits: set[str] | None) -> np.ndarray | None:
        """The detectors of ``circuit_id`` that a change of ``qubits`` touches (None: all)."""
        from qplane.noise import detectors_touched, qubit_detectors

        reach = self._reach.get(circuit_id)
        if isinstance(reach, stim.Circuit):
            reach = self._reach[circuit_id] = qubit_detectors(reach)
        touched = None if qubits is None or reach is None else detectors_touched(reach, qubits)
        if touched is None:
            self.whole += 1
        else:
            self.per_qubit += 1
        return touched


def _changes_of(reply: Any) -> tuple[int, list[Any]] | None:
    """(index of the first change, the changes) of a history page (asked without ``since``,
    so its indices are consecutive); None for anything else (a refusal, another reply)."""
    body = reply.body
    if (isinstance(body, CalibrationReply) and body.call == "history" and not body.error
            and isinstance(body.result, HistoryPage)):
        page = body.result
        first = page.indices[0] if page.indices else page.next
        return first, list(page.changes)
    return None
