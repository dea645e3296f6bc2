"""Validated once: the launcher hands each process the validated config; none reads the file."""

from __future__ import annotations

import inspect
import json

import pytest

from qplane.config import Config, load_config
from qplane.errors import ConfigError
from tests.config.conftest import REPO


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "drift.yaml"
    path.write_text((REPO / "config" / "sim_d5_drift.yaml").read_text())
    return load_config(path)


def test_a_handoff_rebuilds_the_same_config_without_the_file(config, tmp_path):
    handoff = json.loads(json.dumps(config.handoff()))  # it travels as JSON
    (tmp_path / "drift.yaml").unlink()
    again = Config.from_handoff(handoff)
    assert again == config
    assert again.station == config.station
    assert again.text == config.text and again.name == "drift"
    assert again.qpu_geometry() == config.qpu_geometry()
    assert again.qplane.controls.bound() == config.qplane.controls.bound()


def test_the_run_spec_carries_the_validated_config(config, tmp_path):
    from qplane.pipeline.process import RunSpec

    spec = RunSpec(run_id="r", config_path=config.path, config=config.handoff(),
                   out_path=str(tmp_path / "r.h5"), endpoints={}, duration=None, max_blocks=None,
                   workers=1, calibration=True)
    spec.save(str(tmp_path / "spec.json"))
    assert RunSpec.load(str(tmp_path / "spec.json")).config_value() == config


def test_no_process_reads_the_config_file():
    from qplane.pipeline import process

    source = inspect.getsource(process)
    assert "load_config" not in source and "parse_config" not in source
    assert "config_value()" in source


def test_a_handoff_of_another_version_is_refused(config):
    handoff = {**config.handoff(), "version": 99}
    with pytest.raises(ConfigError, match="config handoff of version 99"):
        Config.from_handoff(handoff)


def test_a_corrupt_handoff_names_the_key(config):
    handoff = json.loads(json.dumps(config.handoff()))
    handoff["document"]["qplane"]["acquisition"]["shots_per_block"] = 0
    with pytest.raises(ConfigError, match=r"'qplane.acquisition.shots_per_block': must be >= 1"):
        Config.from_handoff(handoff)


def test_the_qpu_geometry_has_one_source(tmp_path):
    """start_calibrated, distance, basis: the QPU's init over the QPU type's own defaults."""
    path = tmp_path / "c.yaml"
    path.write_text("instruments:\n  qpu: {type: qplane.sim_instruments.qpu.SimulatedQPU,"
                    " init: {distance: 5, basis: X}}\nqplane: {qpu: qpu}\n")
    geometry = load_config(path).qpu_geometry()
    assert (geometry.distance, geometry.rounds, geometry.basis) == (5, 3, "X")
    assert geometry.start_calibrated is True  # as the QPU itself starts (was False in the
    #                                           calibration process before)
