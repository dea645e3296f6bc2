"""The ``qplane.calibration`` config section, and building a calibration worker from it.

::

    qplane:
      calibration:
        enabled: true
        graph:                      # optional; default: the six standard nodes
          spectroscopy: {timeout: 21600}
          rabi: {depends_on: [spectroscopy], timeout: 10800}
          ramsey: {depends_on: [spectroscopy, rabi], timeout: 3600, tolerance: 5.0e+3}
          readout: {depends_on: [rabi], timeout: 10800}
        triggers: {window: 8192, baseline_shots: 16384, relative: 0.3, sigma: 5.0}
        triage_nodes: [ramsey]
        state: lab_state.json       # optional: start from it, fold the run's changes back in
        state_expired: check        # an expired entry: apply it, check its node first (or skip)
        second_opinion: true        # the shipped classifier; or a path; or false
        figures: true

:func:`build_worker` is what a pipeline process calls with its backend (in process a
:class:`~qplane.calibration.backend.StationBackend`, over the wire the instrument server's
``RemoteBackend``) and the decoding circuit and layout (for the syndrome regions).

The section has no limits: every update is bounded by the one limits layer, the
``qplane.controls`` section (range and ``max_step`` per control), where the write happens.

>>> validate_calibration({"enabled": True, "triage_nodes": ["ramsey"]})["triggers"]["sigma"]
5.0
>>> validate_calibration({"trigers": {}})
Traceback (most recent call last):
    ...
qplane.errors.ConfigError: 'qplane.calibration.trigers': unknown key; allowed keys: enabled, figures, graph, second_opinion, state, state_expired, triage_nodes, triggers
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from qplane.calibration.graph import DEFAULT_DEPENDENCIES, DEFAULT_TIMEOUTS, CalibrationGraph
from qplane.calibration.syndrome import Regions, SyndromeMonitor
from qplane.calibration.updates import Ledger, SettingsLedger
from qplane.calibration.worker import CalibrationWorker
from qplane.config import CalibrationSettings, validate_section
from qplane.errors import ConfigError

_KEY = "qplane.calibration"


def validate_calibration(section: Mapping[str, Any] | CalibrationSettings | None) -> dict[str, Any]:
    """Check the section and fill defaults; raise :class:`ConfigError` naming the key.

    The shape is :class:`~qplane.config.calibration.CalibrationSettings` (every mistake is
    reported, one line each); this resolves it into what :func:`build_worker` uses: the graph
    (the six standard nodes when absent), the trigger settings and the triage nodes (no
    limits: those are the controls section's).

    Args:
        section: the plain dict read from YAML, a validated section, or ``None`` (defaults).
    """
    if not isinstance(section, CalibrationSettings):
        if section is not None and not isinstance(section, Mapping):
            raise ConfigError(f"must be a mapping, got {section!r}", key=_KEY)
        section = validate_section(CalibrationSettings, dict(section or {}), key=_KEY)
    if section.graph:
        graph = {name: node.given() for name, node in section.graph.items()}
    else:
        graph = {n: {"depends_on": list(DEFAULT_DEPENDENCIES[n]), "timeout": DEFAULT_TIMEOUTS[n]}
                 for n in DEFAULT_DEPENDENCIES}
    return {"enabled": section.enabled, "figures": section.figures,
            "second_opinion": section.second_opinion, "graph": graph,
            "triggers": section.triggers.model_dump(), "triage_nodes": tuple(section.triage_nodes),
            "state": section.state, "state_expired": section.state_expired}


def build_worker(section: Mapping[str, Any] | CalibrationSettings | None, backend: Any, *, qubits: tuple[str, ...],
                 circuit: Any = None, layout: Any = None,
                 on_run: Callable[..., None] | None = None,
                 on_change: Callable[..., None] | None = None,
                 on_error: Callable[[str, str], None] | None = None,
                 poll: Callable[[], None] | None = None,
                 start_calibrated: bool = False,
                 ledger: Ledger | None = None) -> CalibrationWorker:
    """A ready calibration worker for ``backend`` from the config ``section``.

    Args:
        section: the ``qplane.calibration`` mapping or validated section (resolved here).
        backend: run_experiment / read_setting / write_setting / now.
        qubits: the qubits to maintain.
        circuit, layout: the decoding circuit and patch layout; with both, syndrome-triggered
            checks are on.
        on_run, on_change: record sinks (:class:`~qplane.calibration.record.CalibrationRecorder`
            methods); ``on_change`` only for the ledger built here.
        on_error: crash reports.
        poll: collects pending syndrome reports at each step (see the worker).
        start_calibrated: treat every node as freshly calibrated now (a simulated device that
            starts perfectly calibrated); otherwise the first pass checks everything.
        ledger: where updates go; default a :class:`SettingsLedger` over ``backend`` (in
            process). In the pipeline, the worker's proxy to the instrument server's ledger
            (``qplane.pipeline.calibration_link.RemoteLedger``).
    """
    cfg = validate_calibration(section)
    if ledger is None:
        ledger = SettingsLedger(backend, clock=backend.now, on_change=on_change)
    opinion = None
    if cfg["second_opinion"]:
        from qplane.calibration.classifier import DEFAULT_MODEL, LearnedSecondOpinion

        path = DEFAULT_MODEL if cfg["second_opinion"] is True else cfg["second_opinion"]
        opinion = LearnedSecondOpinion.load(path)
    graph = CalibrationGraph.from_config(cfg["graph"], backend, ledger, second_opinion=opinion,
                                         on_run=on_run)
    monitor = None
    if circuit is not None and layout is not None:
        monitor = SyndromeMonitor(Regions.from_circuit(circuit, layout), **cfg["triggers"])
    if start_calibrated:
        for q in qubits:
            graph.mark_calibrated(q)
    return CalibrationWorker(graph, qubits, monitor=monitor, triage_nodes=cfg["triage_nodes"],
                             on_error=on_error, poll=poll)
