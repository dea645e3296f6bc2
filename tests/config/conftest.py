"""A valid document with every section, and a helper that breaks one key of it."""

from __future__ import annotations

import copy
import pathlib

import pytest
import yaml

from qplane.config import parse_config
from qplane.errors import ConfigError

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def document():
    """``config/sim_d5_drift.yaml`` (every section but simulation) as a dict, plus simulation."""
    data = yaml.safe_load((REPO / "config" / "sim_d5_drift.yaml").read_text())
    data["qplane"]["simulation"] = {"drive": {"pyvisa_sim_file": "qplane.drivers.sims:"
                                              "QplaneDriveController.yaml",
                                              "address": "GPIB::3::INSTR"}}
    return data


def errors_of(data, path="bad.yaml") -> ConfigError:
    """The ConfigError that validating ``data`` raises (fails the test if none)."""
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(data, sort_keys=False), path)
    return info.value


def broken(document, edit):
    data = copy.deepcopy(document)
    edit(data)
    return data
