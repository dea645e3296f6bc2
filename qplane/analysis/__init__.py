"""Analysing run files: derived statistics, reports and the live view, on top of the reader
in :mod:`qplane.runfile` (:func:`open_run`, :class:`Run` and :class:`Integrity` are re-exported).

>>> from qplane.analysis import open_run, wilson_interval
>>> callable(open_run)
True
"""

from qplane.runfile.integrity import Integrity
from qplane.runfile.reader import Run, open_run
from qplane.analysis.stats import (
    calibration_outcomes,
    detection_statistics,
    failures_per_block,
    latency,
    logical_error_rate,
    overall_logical_error_rate,
    parameter_traces,
    shadow_disagreement,
    wilson_interval,
)

__all__ = [
    "Integrity",
    "Run",
    "calibration_outcomes",
    "detection_statistics",
    "failures_per_block",
    "latency",
    "logical_error_rate",
    "open_run",
    "overall_logical_error_rate",
    "parameter_traces",
    "shadow_disagreement",
    "wilson_interval",
]
