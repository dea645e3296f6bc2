"""Analysing run files: derived statistics, reports and the live view, on top of the reader
in :mod:`qplane.runfile` (:func:`open_run`, :class:`Run` and :class:`Integrity` are re-exported).

Modules:

* :mod:`~qplane.analysis.stats` — logical error rates with Wilson intervals, latency, detection
  and parameter statistics of an open :class:`Run`;
* :mod:`~qplane.analysis.compare` — two runs' logical error rates compared: the ratio with its
  interval and an exact significance test (:func:`compare_runs`, :func:`compare_files`);
* :mod:`~qplane.analysis.report` — the self-contained HTML report (:func:`write_report`);
* :mod:`~qplane.analysis.snapshot` — :class:`LiveStats` and :func:`snapshot_from_run`, the
  one computation of the numbers the live views and the report show;
* :mod:`~qplane.analysis.live` — the live view: those snapshots' terminal renderer
  :class:`LiveView` (``qplane run`` / ``qplane watch``);
* :mod:`~qplane.analysis.web` — the same view in a browser (``qplane serve``): a read-only
  Starlette app over run files (:func:`~qplane.analysis.web.create_app`);
* :mod:`~qplane.analysis.synthetic` — a synthetic run file for tests, examples and benchmarks;
* ``_figures`` (private) — the report's matplotlib figures.

The comparison, the report, the live views and the synthetic writer load on first use (they
need scipy, jinja2, matplotlib, starlette or the decoder), so ``import qplane.analysis`` costs
what the statistics cost.

>>> from qplane.analysis import open_run, wilson_interval
>>> callable(open_run)
True
"""

from __future__ import annotations

import importlib
from typing import Any

from qplane.analysis.stats import (
    calibration_outcomes,
    detection_statistics,
    failures_per_block,
    latency,
    logical_error_rate,
    overall_logical_error_rate,
    parameter_traces,
    rate_with_interval,
    shadow_disagreement,
    wilson_interval,
)
from qplane.runfile import Integrity, Run, open_run

#: Names loaded on first use, and the module that holds each.
_LAZY = {
    "RunStats": "qplane.analysis.report", "render_html": "qplane.analysis.report",
    "write_report": "qplane.analysis.report",
    "LiveStats": "qplane.analysis.live", "LiveView": "qplane.analysis.live",
    "WorkerHealth": "qplane.analysis.live", "format_line": "qplane.analysis.live",
    "snapshot_from_run": "qplane.analysis.live", "watch": "qplane.analysis.live",
    "write_synthetic_run": "qplane.analysis.synthetic",
    "Comparison": "qplane.analysis.compare", "compare_runs": "qplane.analysis.compare",
    "compare_files": "qplane.analysis.compare",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qplane.analysis' has no attribute {name!r}")


__all__ = [
    "Comparison",
    "Integrity",
    "LiveStats",
    "LiveView",
    "Run",
    "RunStats",
    "WorkerHealth",
    "calibration_outcomes",
    "compare_files",
    "compare_runs",
    "detection_statistics",
    "failures_per_block",
    "format_line",
    "latency",
    "logical_error_rate",
    "open_run",
    "overall_logical_error_rate",
    "parameter_traces",
    "rate_with_interval",
    "render_html",
    "shadow_disagreement",
    "snapshot_from_run",
    "watch",
    "wilson_interval",
    "write_report",
    "write_synthetic_run",
]
