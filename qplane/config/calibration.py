"""``qplane.calibration``: the calibration worker's graph, limits, triggers and options.

The section is documented, and turned into a worker, in :mod:`qplane.calibration.config`;
this module is its shape. Node names and each node type's options (its tolerances) are
listed here so ``qplane check`` and editors know them without importing the calibration
code; a test keeps them equal to :data:`qplane.calibration.nodes.NODE_TYPES`.

>>> s = CalibrationSettings.model_validate({"triage_nodes": ["ramsey"]})
>>> s.enabled, s.triggers.sigma
(True, 5.0)
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from qplane.config._base import KeyedValueError, Section

#: The calibration node types (``qplane.calibration.nodes.NODE_TYPES``).
NodeName = Literal["spectroscopy", "rabi", "ramsey", "t1", "echo", "readout",
                   "resonator_spectroscopy", "readout_frequency", "readout_amplitude",
                   "readout_duration", "drag",
                   "randomized_benchmarking", "cz"]
#: Each node type's options: its tolerances and device specs (``Node.default_spec``).
NODE_SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "spectroscopy": ("tolerance", "max_relative_error"),
    "rabi": ("relative_tolerance", "max_relative_error"),
    "ramsey": ("detuning", "tolerance", "max_relative_error"),
    "t1": ("minimum", "max_relative_error"),
    "echo": ("minimum", "max_relative_error"),
    "readout": ("min_fidelity", "fidelity_tolerance", "min_snr", "max_fidelity_error",
                "max_blob_excess"),
    "resonator_spectroscopy": ("tolerance", "offset", "max_relative_error"),
    "readout_frequency": ("tolerance", "max_relative_error"),
    "readout_amplitude": ("fidelity_tolerance", "max_relative_error"),
    "readout_duration": ("fidelity_tolerance", "max_relative_error"),
    "drag": ("tolerance", "max_relative_error"),
    "randomized_benchmarking": ("max_error", "max_relative_error"),
    "cz": ("relative_tolerance", "max_relative_error"),
}


class GraphNode(Section):
    """One node of the calibration graph: its dependencies, timeout and tolerances."""

    type: Optional[NodeName] = Field(None, description="node type; default: the node's name")
    depends_on: list[NodeName] = Field(default_factory=list, description="nodes calibrated "
                                       "first (listed earlier in the graph)")
    timeout: Optional[float] = Field(None, gt=0.0, description="seconds a calibration stays "
                                     "valid (default: the node type's)")
    tolerance: Optional[float] = Field(None, description="spectroscopy, ramsey, "
                                       "resonator_spectroscopy, readout_frequency: in-spec "
                                       "tolerance (Hz); drag: of the DRAG coefficient")
    relative_tolerance: Optional[float] = Field(None, description="rabi, cz: in-spec "
                                                "tolerance (relative)")
    offset: Optional[float] = Field(None, description="resonator_spectroscopy: the readout "
                                    "frequency written, from the resonator's dip (Hz)")
    max_error: Optional[float] = Field(None, description="randomized_benchmarking: largest "
                                       "error per Clifford in spec")
    max_relative_error: Optional[float] = Field(None, description="largest relative fit error "
                                                                  "a result may have")
    detuning: Optional[float] = Field(None, description="ramsey: artificial detuning (Hz)")
    minimum: Optional[float] = Field(None, description="t1, echo: shortest acceptable time (s)")
    min_fidelity: Optional[float] = Field(None, description="readout: lowest fidelity")
    fidelity_tolerance: Optional[float] = Field(None, description="readout, "
                                                "readout_amplitude, readout_duration: in-spec "
                                                "fidelity loss")
    min_snr: Optional[float] = Field(None, description="readout: lowest blob separation SNR")
    max_fidelity_error: Optional[float] = Field(None, description="readout: largest fidelity "
                                                                  "error")
    max_blob_excess: Optional[float] = Field(None, description="readout: largest blob width "
                                                               "excess")

    def spec(self) -> dict[str, float]:
        """The node options the file gave (the node type's tolerances)."""
        return {k: v for k, v in self.given().items()
                if k not in ("type", "depends_on", "timeout")}


class Triggers(Section):
    """When rising detection rates trigger a data check."""

    window: int = Field(8192, ge=1, description="shots in the sliding window")
    baseline_shots: int = Field(16384, ge=1, description="shots that set the baseline")
    relative: float = Field(0.3, gt=0.0, description="relative rise that triggers")
    sigma: float = Field(5.0, gt=0.0, description="significance (standard deviations) needed")


class CalibrationSettings(Section):
    """``qplane.calibration``: the calibration worker."""

    enabled: bool = Field(True, description="run a calibration worker")
    figures: bool = Field(True, description="a PNG per node run, stored in the run file")
    second_opinion: Union[bool, str] = Field(
        True, description="the shipped sweep classifier (true), a classifier file (a path), or "
                          "none (false)")
    graph: Optional[dict[NodeName, GraphNode]] = Field(
        None, description="node name -> options, dependencies first (default: the six "
                          "standard nodes; resonator_spectroscopy, readout_frequency, drag, "
                          "randomized_benchmarking and cz need the optional controls bound)")
    triggers: Triggers = Field(default_factory=Triggers, description="syndrome triggers")
    triage_nodes: list[str] = Field(default_factory=lambda: ["ramsey"], description=
                                         "nodes checked first on a qubit syndromes point at")
    state: Optional[str] = Field(
        None, description="calibration state file (JSON, relative to the working directory): "
                          "a run starts from its values and folds its changes back in at the "
                          "end; created when missing")
    state_expired: Literal["check", "skip"] = Field(
        "check", description="an entry past its valid_until: apply it and check its node "
                             "first (check), or keep the station's own value (skip)")

    @model_validator(mode="before")
    @classmethod
    def _no_limits_of_its_own(cls, data: Any) -> Any:
        if isinstance(data, dict) and "limits" in data:
            raise KeyedValueError("limits", "calibration has no limits of its own; set each "
                                  "control's limits and max_step in qplane.controls (the one "
                                  "limits layer)")
        return data

    @field_validator("graph", mode="before")
    @classmethod
    def _null_node_is_empty(cls, graph: Any) -> Any:
        if isinstance(graph, dict):
            return {name: {} if node is None else node for name, node in graph.items()}
        return graph

    def node_names(self) -> tuple[str, ...]:
        """The graph's nodes, in order (all six standard ones without a ``graph``)."""
        return tuple(self.graph) if self.graph else tuple(NODE_SPEC_KEYS)

    @model_validator(mode="after")
    def _graph_is_consistent(self) -> CalibrationSettings:
        seen: list[str] = []
        for name, node in (self.graph or {}).items():
            if node.type is not None and node.type != name:
                raise KeyedValueError(f"graph.{name}.type", f"a node's type is its name: "
                                      f"{name!r}, got {node.type!r}")
            for key in node.spec():
                if key not in NODE_SPEC_KEYS[name]:
                    raise KeyedValueError(f"graph.{name}.{key}", f"not an option of node "
                                          f"{name!r}; its options: "
                                          f"{', '.join(NODE_SPEC_KEYS[name])}")
            for dep in node.depends_on:
                if dep not in seen:
                    raise KeyedValueError(f"graph.{name}.depends_on", f"{dep!r} must be a node "
                                          f"listed before {name!r}; listed before: {seen}")
            seen.append(name)
        for n in self.triage_nodes:
            if n not in self.node_names():
                raise KeyedValueError("triage_nodes", f"triage node {n!r} is not in the graph "
                                                      f"{list(self.node_names())}")
        return self

