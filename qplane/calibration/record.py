"""Recording calibration into the run file: node runs, figures, and every setting change.

:class:`CalibrationRecorder` is the sink the calibration worker hands its records to. In process
it appends to a :class:`~qplane.runfile.writer.RunFileWriter` (``/calibration/runs``,
``/parameters/history`` and, for refused updates, ``/events``); in the pipeline the same rows
travel to the recorder process (node runs from the worker; changes and refusals from the
instrument server's settings ledger, whose rows have the same schema:
:meth:`~qplane.calibration.updates.SettingChange.record_meta`).

>>> rows = []
>>> rec = CalibrationRecorder(lambda table, **row: rows.append(table), figures=False)
>>> from qplane.calibration.synthetic import SyntheticBackend
>>> from qplane.calibration.nodes import RabiNode
>>> from qplane.calibration.run import run_node
>>> b = SyntheticBackend(seed=0)
>>> rec.on_run(run_node(RabiNode(), "q0", b, b.ledger(on_change=rec.on_change), mode="check"))
>>> rows
['/calibration/runs']
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from qplane.calibration.figures import render_png
from qplane.calibration.run import NodeRun
from qplane.calibration.updates import SettingChange

RUNS_TABLE = "/calibration/runs"
HISTORY_TABLE = "/parameters/history"
EVENTS_TABLE = "/events"


class CalibrationRecorder:
    """Turns node runs and setting changes into run-file rows.

    Args:
        append: ``append(table, **fields)``, e.g. ``RunFileWriter.append_table``.
        figures: render each run's figure into its row.
        png_dir: also write each figure there as ``<time>_<node>_<qubit>_<mode>.png``.
    """

    def __init__(self, append: Callable[..., Any], *, figures: bool = True,
                 png_dir: str | os.PathLike | None = None):
        self._append = append
        self.figures = figures or png_dir is not None
        self.png_dir = Path(png_dir) if png_dir is not None else None
        if self.png_dir is not None:
            self.png_dir.mkdir(parents=True, exist_ok=True)

    def on_run(self, run: NodeRun) -> None:
        png = render_png(run) if self.figures else b""
        self._append(RUNS_TABLE, **run.table_row(figure_png=png))
        if self.png_dir is not None:
            name = f"{run.time:012.3f}_{run.node}_{run.qubit}_{run.mode}.png"
            (self.png_dir / name).write_bytes(png)

    def on_change(self, change: SettingChange) -> None:
        self._append(HISTORY_TABLE, **change.history_row())

    def on_refused(self, *, update: str, node: str, settings: dict[str, float],
                   details: dict[str, Any], error: Exception) -> None:
        """A ledger's refused update (``SettingsLedger(on_refused=...)``) as an ``/events`` row."""
        self._append(EVENTS_TABLE, time=time.time(), level="warning", source="calibration",
                     kind="setting_update_refused",
                     message=f"update {update[:8]} of {', '.join(sorted(settings))} by node "
                             f"{node or '-'} refused, nothing written: "
                             f"{type(error).__name__}: {error}",
                     details=json.dumps({"update": update, "node": node, "settings": settings,
                                         "error_type": type(error).__name__,
                                         "error": str(error), **details}, default=str))
