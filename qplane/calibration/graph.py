"""The calibration graph: nodes with dependencies and validity timeouts, maintained as Optimus does.

The scheme is that of Kelly et al., "Physical qubit calibration on a directed acyclic graph"
(Google's *Optimus*, arXiv:1803.03226). Per qubit, each node has a state: when it was last
calibrated and last verified. :meth:`CalibrationGraph.maintain` keeps a node good with as little
device time as possible:

``maintain(n)``
    maintain every dependency of ``n`` first; then ``check_state(n)``: if ``n`` is within its
    validity timeout and no dependency was recalibrated since, stop (no experiment). Otherwise
    ``check_data(n)``, a cheap experiment of a few points: *in spec* → stop; *out of spec* →
    ``calibrate(n)``; *bad data* → ``diagnose(n)``.
``diagnose(n)``
    the data of ``n`` cannot be trusted, so the fault may lie upstream: ``check_data`` each
    dependency, recalibrating those out of spec and diagnosing (recursively) those with bad
    data; then ``calibrate(n)`` (for a node without dependencies this is the remedy itself:
    the full sweep is wider and finer than the check's).
``calibrate(n)``
    the full experiment, fit, gate and bounded update (:func:`~qplane.calibration.run.run_node`);
    a suboptimal sweep (off range, under-sampled, too noisy) is retried once with the sweep the
    gate asks for.

Timeouts may differ per qubit (:meth:`CalibrationGraph.set_timeout`) and may follow each qubit's
measured drift (:meth:`CalibrationGraph.adapt` with a
:class:`~qplane.calibration.drift.DriftTimeouts`: a qubit that drifts fast or just jumped is
checked more often). :meth:`CalibrationGraph.next_due` is when the next state check will
expire, so a worker with nothing to do can wait until then instead of polling.

Every step is logged in :attr:`CalibrationGraph.trace` as ``(action, node, qubit, outcome)`` and
every experiment as a :class:`~qplane.calibration.run.NodeRun` passed to ``on_run``.

>>> from qplane.calibration.synthetic import SyntheticBackend
>>> backend = SyntheticBackend(seed=1)
>>> graph = CalibrationGraph.default(backend, backend.ledger())
>>> graph.dependencies("ramsey")
('spectroscopy', 'rabi')
>>> graph.maintain("ramsey", "q0")
'in_spec'
>>> [(a, n) for a, n, _, _ in graph.trace]
[('check_data', 'spectroscopy'), ('check_state', 'spectroscopy'), ('check_data', 'rabi'), ('check_data', 'ramsey')]
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping

from qplane.calibration.gates import Outcome
from qplane.calibration.nodes import NODE_TYPES, Node
from qplane.calibration.nodes_qec import QEC_TIMEOUTS
from qplane.calibration.run import (
    CalibrationBackend,
    NodeRun,
    SecondOpinion,
    calibrate_from_check,
    run_node,
)
from qplane.calibration.updates import Ledger
from qplane.errors import ConfigError

#: Default validity timeouts (simulated seconds) of the standard nodes.
DEFAULT_TIMEOUTS = {"spectroscopy": 4 * 3600.0, "rabi": 2 * 3600.0, "ramsey": 600.0,
                    "t1": 3600.0, "echo": 3600.0, "readout": 3600.0}
#: Default dependencies: node -> the nodes it needs calibrated first.
DEFAULT_DEPENDENCIES = {"spectroscopy": (), "rabi": ("spectroscopy",), "ramsey": ("rabi",),
                        "t1": ("rabi",), "echo": ("rabi",), "readout": ("rabi",)}
DEFAULT_DEPENDENCIES["ramsey"] = ("spectroscopy", "rabi")
#: The QEC lab's further nodes (not in the default graph: they need the optional controls).
DEFAULT_TIMEOUTS.update(QEC_TIMEOUTS)


@dataclasses.dataclass
class NodeState:
    """What the graph knows of one node on one qubit."""

    calibrated_at: float = -math.inf   # last successful calibration
    verified_at: float = -math.inf     # last calibration or in-spec check
    last_outcome: str = ""
    failed: bool = False               # the last calibration did not succeed


@dataclasses.dataclass(frozen=True)
class GraphNode:
    """A node in the graph: the calibration node, its dependencies and validity timeout."""

    node: Node
    depends_on: tuple[str, ...]
    timeout: float


class CalibrationGraph:
    """A DAG of calibration nodes maintained per qubit (see the module docstring).

    Args:
        backend: the device, through :class:`~qplane.calibration.run.CalibrationBackend`.
        ledger: the bounded, recorded settings writer (a SettingsLedger in process, the
            instrument server's ledger through its proxy in the pipeline).
        second_opinion: the learned classifier, consulted on every run (optional).
        review: ``"writes"``: the second opinion skips checks that passed and found the
            device in spec (see :func:`~qplane.calibration.run.run_node`); ``"all"``: none.
        on_run: called with each :class:`~qplane.calibration.run.NodeRun` (for the run file).
    """

    def __init__(self, backend: CalibrationBackend, ledger: Ledger, *,
                 second_opinion: SecondOpinion | None = None, review: str = "all",
                 on_run: Callable[[NodeRun], None] | None = None):
        self.backend = backend
        self.ledger = ledger
        self.second_opinion = second_opinion
        self.review = review
        self.on_run = on_run
        self._nodes: dict[str, GraphNode] = {}
        self._state: dict[tuple[str, str], NodeState] = {}
        self.trace: list[tuple[str, str, str, str]] = []
        self.runs: list[NodeRun] = []
        self.device_time = 0.0
        self._now: float | None = None   # the clock, read once per top-level maintain
        self._last_check: dict[tuple[str, str], NodeRun] = {}
        self._timeouts: dict[tuple[str, str], float] = {}
        self._adaptive: dict[str, Any] = {}   # node -> DriftTimeouts

    # --- building ---------------------------------------------------------------------------
    def add(self, node: Node, *, depends_on: tuple[str, ...] = (), timeout: float) -> None:
        """Add ``node``; its dependencies must already be in the graph (so it stays acyclic)."""
        if node.name in self._nodes:
            raise ConfigError(f"the graph already has a node {node.name!r}")
        for d in depends_on:
            if d not in self._nodes:
                raise ConfigError(f"node {node.name!r} depends on {d!r}, which is not in the "
                                  f"graph yet; add dependencies first (have {list(self._nodes)})")
        if not timeout > 0:
            raise ConfigError(f"node {node.name!r}: timeout must be > 0 s, got {timeout}")
        self._nodes[node.name] = GraphNode(node, tuple(depends_on), float(timeout))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], backend: CalibrationBackend,
                    ledger: Ledger, **kwargs: Any) -> "CalibrationGraph":
        """Build from a mapping ``name -> {type?, depends_on, timeout, spec...}`` in order.

        ``type`` defaults to the name (a key of :data:`~qplane.calibration.nodes.NODE_TYPES`);
        remaining keys are the node's spec (tolerances).
        """
        graph = cls(backend, ledger, **kwargs)
        for name, spec in config.items():
            spec = dict(spec or {})
            kind = spec.pop("type", name)
            if kind not in NODE_TYPES:
                raise ConfigError(f"unknown node type {kind!r}; known: {sorted(NODE_TYPES)}",
                                  key=f"calibration.graph.{name}.type")
            deps = tuple(spec.pop("depends_on", ()))
            timeout = float(spec.pop("timeout", DEFAULT_TIMEOUTS.get(kind, 3600.0)))
            node = NODE_TYPES[kind](**spec)
            if node.name != name:
                raise ConfigError(f"node name {name!r} must equal its type's name {node.name!r}",
                                  key=f"calibration.graph.{name}")
            graph.add(node, depends_on=deps, timeout=timeout)
        return graph

    @classmethod
    def default(cls, backend: CalibrationBackend, ledger: Ledger,
                **kwargs: Any) -> "CalibrationGraph":
        """The standard six-node graph (:data:`DEFAULT_DEPENDENCIES`, :data:`DEFAULT_TIMEOUTS`)."""
        return cls.from_config({n: {"depends_on": DEFAULT_DEPENDENCIES[n],
                                    "timeout": DEFAULT_TIMEOUTS[n]}
                                for n in DEFAULT_DEPENDENCIES}, backend, ledger, **kwargs)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names in the order they were added (a topological order)."""
        return tuple(self._nodes)

    def node(self, name: str) -> Node:
        return self._get(name).node

    def dependencies(self, name: str) -> tuple[str, ...]:
        return self._get(name).depends_on

    def _get(self, name: str) -> GraphNode:
        try:
            return self._nodes[name]
        except KeyError:
            raise ConfigError(f"no node {name!r} in the graph; it has {list(self._nodes)}") \
                from None

    def timeout(self, name: str, qubit: str) -> float:
        """The validity timeout of ``name`` on ``qubit`` (s): adaptive, per qubit, or the node's."""
        adaptive = self._adaptive.get(name)
        if adaptive is not None:
            return adaptive.timeout(qubit)
        return self._timeouts.get((name, qubit), self._get(name).timeout)

    def set_timeout(self, name: str, qubit: str, seconds: float) -> None:
        """Give ``name`` on ``qubit`` its own validity timeout."""
        self._get(name)
        if not seconds > 0:
            raise ConfigError(f"node {name!r} on {qubit}: timeout must be > 0 s, got {seconds}")
        self._timeouts[(name, qubit)] = float(seconds)

    def adapt(self, timeouts: Any) -> None:
        """Let ``timeouts`` (a :class:`~qplane.calibration.drift.DriftTimeouts`) set its node's
        timeout per qubit from what that node's checks measure."""
        self._get(timeouts.node)
        self._adaptive[timeouts.node] = timeouts

    def next_due(self, qubits: tuple[str, ...] | list[str]) -> float:
        """The earliest time a node's state check on one of ``qubits`` expires (its last
        verification plus its timeout); ``-inf`` when one is due already (never verified, or
        its last calibration failed)."""
        due = math.inf
        for name in self._nodes:
            for q in qubits:
                st = self.state(name, q)
                due = min(due, -math.inf if st.failed else st.verified_at + self.timeout(name, q))
        return due

    def state(self, name: str, qubit: str) -> NodeState:
        return self._state.setdefault((name, qubit), NodeState())

    def mark_calibrated(self, qubit: str, *, at: float | None = None) -> None:
        """Declare every node of ``qubit`` freshly calibrated (a device that starts calibrated)."""
        t = self.backend.now() if at is None else at
        for name in self._nodes:
            st = self.state(name, qubit)
            st.calibrated_at = st.verified_at = t

    # --- Optimus ----------------------------------------------------------------------------
    def maintain(self, name: str, qubit: str) -> str:
        """Keep ``name`` on ``qubit`` in spec; returns the final outcome (see module)."""
        if self._now is not None:
            return self._maintain(name, qubit)
        self._now = self.backend.now()   # one clock read (a round trip when remote) per call
        try:
            return self._maintain(name, qubit)
        finally:
            self._now = None

    def _maintain(self, name: str, qubit: str) -> str:
        for dep in self.dependencies(name):
            self._maintain(dep, qubit)
        if self.check_state(name, qubit):
            self.trace.append(("check_state", name, qubit, "valid"))
            return "valid"
        run = self.check_data(name, qubit)
        if run.outcome is Outcome.IN_SPEC:
            return Outcome.IN_SPEC.value
        if run.outcome is Outcome.OUT_OF_SPEC:
            return self.calibrate(name, qubit).outcome.value
        return self.diagnose(name, qubit)

    def check_state(self, name: str, qubit: str) -> bool:
        """No experiment: within the timeout, no dependency recalibrated since, deps valid."""
        st = self.state(name, qubit)
        now = self._now if self._now is not None else self.backend.now()
        if st.failed or now - st.verified_at > self.timeout(name, qubit):
            return False
        for dep in self.dependencies(name):
            if self.state(dep, qubit).calibrated_at > st.verified_at:
                return False
            if not self.check_state(dep, qubit):
                return False
        return True

    def check_data(self, name: str, qubit: str) -> NodeRun:
        """The cheap data check: in spec, out of spec, or bad data."""
        run = self._run(name, qubit, "check")
        self._last_check[(name, qubit)] = run
        st = self.state(name, qubit)
        adaptive = self._adaptive.get(name)
        if adaptive is not None and run.data is not None:
            offset = (run.analysis.values.get(adaptive.value)
                      if run.outcome.good and run.analysis is not None else None)
            adaptive.observe(qubit, time=run.time, since=st.verified_at, offset=offset)
        if run.outcome is Outcome.IN_SPEC:
            st.verified_at = run.time
            st.failed = False
        self.trace.append(("check_data", name, qubit, run.outcome.value))
        return run

    def calibrate(self, name: str, qubit: str) -> NodeRun:
        """Full calibration; one retry with an adjusted sweep when the sweep was suboptimal.

        When the node's last check found it out of spec with a result precise enough
        (:meth:`~qplane.calibration.nodes.Node.check_suffices`) and nothing on the qubit
        changed since, the update is made from that check's data, with no new experiment.
        """
        check = self._last_check.get((name, qubit))
        if check is not None and self._check_still_good(check, qubit):
            run = calibrate_from_check(self.node(name), qubit, self.backend, self.ledger, check)
            self._last_check.pop((name, qubit), None)
            self._record(run)
            return self._finish_calibration(name, qubit, run)
        run = self._run(name, qubit, "calibrate")
        gate = run.analysis.gate if run.analysis is not None else None
        if (run.outcome is Outcome.BAD_DATA and gate is not None and not run.flagged
                and gate.check in ("range", "sampling", "noise")):
            self.trace.append(("calibrate", name, qubit, run.outcome.value))
            params = self.node(name).parameters.adjusted(gate.check)
            run = self._run(name, qubit, "calibrate", parameters=params)
        return self._finish_calibration(name, qubit, run)

    def _check_still_good(self, check: NodeRun, qubit: str) -> bool:
        if (check.outcome is not Outcome.OUT_OF_SPEC or check.flagged
                or check.analysis is None or not self.node(check.node).check_suffices(
                    check.analysis)):
            return False
        return not self.ledger.changed_since(qubit, check.time)

    def _finish_calibration(self, name: str, qubit: str, run: NodeRun) -> NodeRun:
        st = self.state(name, qubit)
        st.last_outcome = run.outcome.value
        st.failed = run.outcome is not Outcome.SUCCESS
        if run.outcome is Outcome.SUCCESS:
            st.calibrated_at = st.verified_at = run.time
        self.trace.append(("calibrate", name, qubit, run.outcome.value))
        return run

    def diagnose(self, name: str, qubit: str) -> str:
        """Bad data on ``name``: find the dependency actually out of spec, fix it, recalibrate."""
        self.trace.append(("diagnose", name, qubit, ""))
        for dep in self.dependencies(name):
            run = self.check_data(dep, qubit)
            if run.outcome is Outcome.OUT_OF_SPEC:
                self.calibrate(dep, qubit)
            elif not run.outcome.good:
                self.diagnose(dep, qubit)
        return self.calibrate(name, qubit).outcome.value

    def maintain_all(self, qubits: tuple[str, ...] | list[str]) -> dict[tuple[str, str], str]:
        """Maintain every leaf node (and so the whole graph) on each qubit."""
        leaves = [n for n in self._nodes
                  if not any(n in g.depends_on for g in self._nodes.values())]
        return {(n, q): self.maintain(n, q) for q in qubits for n in leaves}

    def _run(self, name: str, qubit: str, mode: str, **kw: Any) -> NodeRun:
        run = run_node(self.node(name), qubit, self.backend, self.ledger, mode=mode,
                       second_opinion=self.second_opinion, review=self.review, **kw)
        if self._now is not None:
            self._now = run.time + run.device_time
        self._record(run)
        return run

    def _record(self, run: NodeRun) -> None:
        self.device_time += run.device_time
        self.runs.append(run)
        self.state(run.node, run.qubit).last_outcome = run.outcome.value
        if self.on_run is not None:
            self.on_run(run)
