"""The pipeline: processes that acquire, decode, correct, calibrate and record, over ZeroMQ.

Modules:

* :mod:`~qplane.pipeline.launcher` — :func:`run_pipeline` / :class:`Launcher`: start the
  processes, watch them, stop them in order (:class:`RunOutcome`);
* :mod:`~qplane.pipeline.process` — each process's entry point
  (``python -m qplane.pipeline.process ROLE SPEC``) and the :class:`RunSpec` it is handed;
* :mod:`~qplane.pipeline.worker` — :class:`Worker`, the one shape every worker has (start,
  step, run, stop, close, context manager);
* :mod:`~qplane.pipeline.instrument_server` — :class:`InstrumentServer`, the only process that
  touches instruments;
* :mod:`~qplane.pipeline.decoding_worker` — :class:`DecodingWorker`: syndrome blocks in,
  corrections out;
* :mod:`~qplane.pipeline.recorder` — :class:`Recorder`, the one writer of the run file;
* :mod:`~qplane.pipeline.calibration_worker` — :class:`PipelineCalibrationWorker`, the
  calibration graph's worker in a run;
* :mod:`~qplane.pipeline.calibration_link` — the calibration backend over the wire
  (:class:`CalibrationService` at the server, :class:`RemoteBackend` / :class:`RemoteLedger`
  at the worker);
* :mod:`~qplane.pipeline.dispatch` — :class:`Dispatcher`: syndrome blocks to registered
  decoding workers with credit, who holds which block, liveness;
* :mod:`~qplane.pipeline.heartbeat` — :class:`Pulse`, :class:`Liveness`,
  :class:`ParentWatch`: heartbeats and the parent watch;
* :mod:`~qplane.pipeline.transport` — records over ZeroMQ sockets (:class:`Outbox`,
  :class:`Inbox`, :class:`SequenceTracker`);
* :mod:`~qplane.pipeline.station` — :func:`open_station`: a config's station and its QPU;
* ``_in_flight``, ``_counts``, ``_latency`` (private) — the instrument server's blocks in
  flight, detection counts and latency window.

Every name loads on first use: a pipeline process imports only what its role needs, and
``import qplane.pipeline`` imports nothing heavy.

>>> from qplane.pipeline import SequenceTracker
>>> SequenceTracker().observe("srv", "syndrome", 0).status
'ok'
"""

from __future__ import annotations

import importlib
from typing import Any

#: Every public name, and the module that holds it (loaded on first use).
_LAZY = {
    "EXIT_CODES": "qplane.pipeline.launcher", "Launcher": "qplane.pipeline.launcher",
    "RunOutcome": "qplane.pipeline.launcher", "default_run_path": "qplane.pipeline.launcher",
    "resolve_endpoints": "qplane.pipeline.launcher", "run_pipeline": "qplane.pipeline.launcher",
    "RunSpec": "qplane.pipeline.process", "run_role": "qplane.pipeline.process",
    "Dispatcher": "qplane.pipeline.dispatch",
    "Liveness": "qplane.pipeline.heartbeat", "ParentWatch": "qplane.pipeline.heartbeat",
    "Pulse": "qplane.pipeline.heartbeat", "die_with_parent": "qplane.pipeline.heartbeat",
    "Worker": "qplane.pipeline.worker",
    "InstrumentServer": "qplane.pipeline.instrument_server",
    "DecodingWorker": "qplane.pipeline.decoding_worker",
    "Recorder": "qplane.pipeline.recorder",
    "PipelineCalibrationWorker": "qplane.pipeline.calibration_worker",
    "CalibrationService": "qplane.pipeline.calibration_link",
    "RemoteBackend": "qplane.pipeline.calibration_link",
    "RemoteLedger": "qplane.pipeline.calibration_link",
    "remote_error": "qplane.pipeline.calibration_link",
    "Inbox": "qplane.pipeline.transport", "Outbox": "qplane.pipeline.transport",
    "SequenceCheck": "qplane.pipeline.transport",
    "SequenceTracker": "qplane.pipeline.transport", "make_socket": "qplane.pipeline.transport",
    "request_circuit": "qplane.pipeline.transport", "send_record": "qplane.pipeline.transport",
    "QPU_METHODS": "qplane.pipeline.station", "open_station": "qplane.pipeline.station",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qplane.pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = sorted(_LAZY)
