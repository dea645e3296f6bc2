"""``qplane calibrate CONFIG``: the calibration graph on its own (no QEC), with a per-node report.

Opens the config's station, maintains every node of the graph on every qubit (Optimus: a cheap
check of each node, calibration where out of spec, diagnosis where the data is bad), writes
each node run's figure into one HTML page, and folds the changes into the lab's calibration
state file when one is given (:mod:`qplane.calibration.state`).

>>> import html
>>> page = node_report_html([], title="empty")
>>> "no node ran" in page
True
"""

from __future__ import annotations

import base64
import html
import os
import time
import uuid
from typing import Any, Sequence

from qplane.calibration.backend import StationBackend
from qplane.calibration.config import validate_calibration
from qplane.calibration.figures import render_png
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.state import load_state, save_state
from qplane.calibration.updates import SettingsLedger
from qplane.errors import ConfigError

_COLOURS = {"success": "#2ca02c", "in_spec": "#1f77b4", "out_of_spec": "#ff7f0e",
            "bad_data": "#d62728", "fit_failed": "#9467bd"}


def calibrate_lab(lab: Any, section: Any, *, qubits: Sequence[str] | None = None,
                  state_path: str | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Maintain the graph of ``section`` (``qplane.calibration``) on ``lab``'s qubits.

    Returns ``{"run_id", "runs", "changes", "device_time", "graph"}``; with ``state_path`` the
    changes are folded into that state file (provenance: ``run_id``, node, update, validity).
    """
    cfg = validate_calibration(section)
    if getattr(lab, "controls", None) is None:
        raise ConfigError("calibration needs the station's logical controls; declare "
                          "qplane.controls in the config (see config/sim_d5_drift.yaml)",
                          key="qplane.controls")
    backend = StationBackend.from_lab(lab)
    ledger = SettingsLedger(backend, clock=backend.now)
    opinion = None
    if cfg["second_opinion"]:
        from qplane.calibration.classifier import DEFAULT_MODEL, LearnedSecondOpinion

        path = DEFAULT_MODEL if cfg["second_opinion"] is True else cfg["second_opinion"]
        opinion = LearnedSecondOpinion.load(path)
    graph = CalibrationGraph.from_config(cfg["graph"], backend, ledger, second_opinion=opinion)
    names = tuple(qubits) if qubits else tuple(lab.station.components["qpu"].qubits())
    graph.maintain_all(names)
    run_id = run_id or f"calibrate-{uuid.uuid4().hex[:12]}"
    if state_path:
        state = load_state(state_path)
        timeouts = {n: float(spec.get("timeout", 3600.0)) for n, spec in cfg["graph"].items()}
        wall = time.time()
        for c in ledger.history:
            state.record(c.setting, c.new, run_id=run_id, node=c.node, update=c.run_uid,
                         time=wall, timeout=timeouts.get(c.node), fit=c.fit)
        save_state(state, state_path)
    return {"run_id": run_id, "runs": list(graph.runs), "changes": list(ledger.history),
            "device_time": backend.experiment_time, "graph": graph}


def node_report_html(runs: Sequence[Any], *, title: str) -> str:
    """One page: a row per node run (node, qubit, mode, outcome, reason) with its figure."""
    rows = []
    for r in runs:
        png = base64.b64encode(render_png(r)).decode() if r.data is not None else ""
        colour = _COLOURS.get(r.outcome.value, "#7f7f7f")
        img = f'<img alt="{html.escape(r.node)} {html.escape(r.qubit)}" ' \
              f'src="data:image/png;base64,{png}">' if png else ""
        rows.append(f'<tr><td>{html.escape(r.qubit)}</td><td>{html.escape(r.node)}</td>'
                    f'<td>{html.escape(r.mode)}</td><td style="color:{colour}">'
                    f'<b>{html.escape(r.outcome.value)}</b></td>'
                    f'<td>{html.escape(r.reason)}</td><td>{img}</td></tr>')
    body = ("<table><tr><th>qubit</th><th>node</th><th>mode</th><th>outcome</th><th>reason</th>"
            "<th>figure</th></tr>" + "".join(rows) + "</table>") if rows else \
        "<p>no node ran</p>"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif}td{vertical-align:top;padding:4px;"
            "border-bottom:1px solid #ddd}img{width:462px}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>\n")


def write_node_report(runs: Sequence[Any], out_dir: str, *, title: str) -> str:
    """Write :func:`node_report_html` as ``<out_dir>/calibration.report.html``; its path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "calibration.report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(node_report_html(runs, title=title))
    return path
