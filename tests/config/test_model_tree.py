"""The model tree matches what it describes: node types, controls, limits, QCoDeS's station schema."""

from __future__ import annotations

import json
import typing

from qplane.config import ControlsSettings, InstrumentEntry
from qplane.config.calibration import NODE_SPEC_KEYS, GraphNode, NodeName
from qplane.config.station import ParameterOptions, geometry_defaults


def test_calibration_node_names_and_options_are_the_node_types():
    from qplane.calibration.nodes import NODE_TYPES

    assert set(typing.get_args(NodeName)) == set(NODE_TYPES) == set(NODE_SPEC_KEYS)
    for name, cls in NODE_TYPES.items():
        assert set(NODE_SPEC_KEYS[name]) == set(cls().default_spec()), name
    declared = set(GraphNode.model_fields) - {"type", "depends_on", "timeout"}
    assert declared == {k for keys in NODE_SPEC_KEYS.values() for k in keys}


def test_controls_section_names_the_mapping_layers_controls():
    from qplane.drivers.controls import ALL_CONTROLS

    assert tuple(ControlsSettings.model_fields) == ("qubits", *ALL_CONTROLS)


def test_instrument_entry_has_qcodes_station_keys():
    import qcodes.station

    with open(qcodes.station.SCHEMA_TEMPLATE_PATH) as f:
        schema = json.load(f)
    entry = schema["properties"]["instruments"]["patternProperties"][r"^\w+$"]
    assert set(InstrumentEntry.model_fields) == set(entry["properties"])
    params = next(iter(entry["properties"]["parameters"]["patternProperties"].values()))
    assert set(ParameterOptions.model_fields) == set(params["properties"])


def test_qpu_geometry_defaults_are_the_simulated_qpus():
    import inspect

    from qplane.sim_instruments.qpu import SimulatedQPU

    params = inspect.signature(SimulatedQPU.__init__).parameters
    defaults = geometry_defaults("qplane.sim_instruments.qpu.SimulatedQPU")
    assert defaults == {k: params[k].default for k in ("distance", "rounds", "basis",
                                                       "start_calibrated")}
    assert defaults["start_calibrated"] is True
