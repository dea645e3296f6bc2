"""The table part of :class:`~qplane.runfile.reader.Run`: events, calibration, parameters,
simulated truth, streams and circuits, each as a pandas DataFrame.

A mixin: it relies on the reader core for ``_dataset``, ``_converter``, ``path`` and
``num_detectors``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qplane.errors import RunFileError
from qplane.runfile._values import parse_json, text, times
from qplane.runfile.schema import TABLES


class TableViews:
    """The low-rate tables of a run file (everything but ``/qec/blocks``)."""

    def table(self, name: str) -> np.ndarray:
        """Raw rows of table ``name`` (see :data:`qplane.runfile.schema.TABLES`), current row type."""
        return self._converter.read_table(self._dataset, name)

    @property
    def events(self) -> pd.DataFrame:
        """The ``/events`` table: time, level, source, kind, message, details (dict)."""
        rows = self.table("/events")
        return pd.DataFrame({
            "time": times(rows["time"]),
            "t": rows["time"],
            "level": [text(v) for v in rows["level"]],
            "source": [text(v) for v in rows["source"]],
            "kind": [text(v) for v in rows["kind"]],
            "message": [text(v) for v in rows["message"]],
            "details": [parse_json(v) for v in rows["details"]],
        })

    @property
    def calibration(self) -> pd.DataFrame:
        """One row per calibration-node run: time, node, qubit, outcome, reason, experiment,
        sweep, signal (arrays), fit and verdict (dicts). The stored figures are not read
        here (they can be large): :meth:`calibration_figure` fetches one by row."""
        fields = [f for f in TABLES["/calibration/runs"].names if f != "figure_png"]
        rows = self._converter.read_fields(self._dataset, "/calibration/runs", fields)
        return pd.DataFrame({
            "time": times(rows["time"]),
            "t": rows["time"],
            "node": [text(v) for v in rows["node"]],
            "qubit": [text(v) for v in rows["qubit"]],
            "outcome": [text(v) for v in rows["outcome"]],
            "reason": [text(v) for v in rows["reason"]],
            "experiment": [parse_json(v) for v in rows["experiment"]],
            "sweep": [np.asarray(v, dtype="f8") for v in rows["sweep"]],
            "signal": [np.asarray(v, dtype="f8") for v in rows["signal"]],
            "fit": [parse_json(v) for v in rows["fit"]],
            "verdict": [parse_json(v) for v in rows["verdict"]],
        })

    def calibration_figure(self, row: int) -> bytes:
        """The PNG stored with calibration-node run ``row`` (a row of :attr:`calibration`);
        empty bytes when it has none."""
        ds = self._dataset("/calibration/runs")
        if ds is None or "figure_png" not in (ds.dtype.names or ()) or not 0 <= row < ds.shape[0]:
            return b""
        return bytes(np.asarray(ds.fields(["figure_png"])[row]["figure_png"], dtype=np.uint8))

    @property
    def parameters(self) -> pd.DataFrame:
        """Every real parameter change: time, parameter, old, new, source, node, update (the id
        shared by the rows of one multi-setting update; ``""`` in schema v1), details (dict).
        Simulated truth is not here: see :attr:`simulation_truth`."""
        rows = self.table("/parameters/history")
        return pd.DataFrame({
            "time": times(rows["time"]),
            "t": rows["time"],
            "parameter": [text(v) for v in rows["parameter"]],
            "old": rows["old"],
            "new": rows["new"],
            "source": [text(v) for v in rows["source"]],
            "node": [text(v) for v in rows["node"]],
            "update": [text(v) for v in rows["update"]],
            "details": [parse_json(v) for v in rows["details"]],
        })

    @property
    def simulation_truth(self) -> pd.DataFrame:
        """A simulated device's true ideal settings over time (empty for hardware): time, t
        (UNIX), device_time (the device's own clock), setting, value."""
        rows = self.table("/simulation/truth")
        return pd.DataFrame({
            "time": times(rows["time"]),
            "t": rows["time"],
            "device_time": rows["device_time"],
            "setting": [text(v) for v in rows["setting"]],
            "value": rows["value"],
        })

    @property
    def streams(self) -> pd.DataFrame:
        """Per record stream: source, kind, sent (the count its sender says it sent; -1: it
        sent no end-of-stream record), recorded, first_seq, last_seq, time. Empty in schema v1."""
        rows = self.table("/streams")
        return pd.DataFrame({
            "source": [text(v) for v in rows["source"]],
            "kind": [text(v) for v in rows["kind"]],
            "sent": rows["sent"],
            "recorded": rows["recorded"],
            "first_seq": rows["first_seq"],
            "last_seq": rows["last_seq"],
            "time": times(rows["time"]),
        })

    @property
    def circuits(self) -> pd.DataFrame:
        """Each decoding circuit the run used: circuit_id, time, num_detectors, num_observables,
        stim_circuit (text)."""
        rows = self.table("/qec/circuits")
        return pd.DataFrame({
            "circuit_id": [text(v) for v in rows["circuit_id"]],
            "time": times(rows["time"]),
            "num_detectors": rows["num_detectors"],
            "num_observables": rows["num_observables"],
            "stim_circuit": [text(v) for v in rows["stim_circuit"]],
        })

    def circuit(self, circuit_id: str | None = None):
        """The stim circuit stored under ``circuit_id`` (default: the last one recorded)."""
        import stim

        circuits = self.circuits
        if circuits.empty:
            raise RunFileError(f"{self.path}: no circuits recorded in /qec/circuits")
        if circuit_id is None:
            stim_text = circuits["stim_circuit"].iloc[-1]
        else:
            match = circuits[circuits["circuit_id"] == circuit_id]
            if match.empty:
                raise RunFileError(f"{self.path}: no circuit {circuit_id!r}; "
                                   f"recorded: {list(circuits['circuit_id'])}")
            stim_text = match["stim_circuit"].iloc[-1]
        return stim.Circuit(stim_text)

    def detector_coordinates(self, circuit_id: str | None = None) -> pd.DataFrame:
        """Detector index -> (x, y, t) from the stored circuit; NaN where a detector has none."""
        coords = self.circuit(circuit_id).get_detector_coordinates()
        out = np.full((self.num_detectors, 3), np.nan)
        for det, c in coords.items():
            if det < len(out):
                out[det, :min(3, len(c))] = c[:3]
        return pd.DataFrame(out, columns=["x", "y", "t"], index=pd.Index(range(len(out)), name="detector"))
