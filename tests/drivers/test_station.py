"""Opening config files' stations: the lab template on the pyvisa-sim twins, the sim configs."""

from __future__ import annotations

import copy
import pathlib

import pytest
import yaml

from qplane.drivers import open_station, validate_controls
from qplane.drivers.station import simulated_instruments_section
from qplane.errors import ConfigError

CONFIG = pathlib.Path(__file__).resolve().parents[2] / "config"


def load(name):
    return yaml.safe_load((CONFIG / name).read_text())


def test_lab_template_validates_against_the_twins():
    cfg = load("lab_template.yaml")
    validate_controls(cfg["qplane"]["controls"])
    with open_station(cfg, simulate=True) as lab:
        comps = lab.station.components
        assert {"drive_lo", "readout_lo", "drive", "readout", "qpu"} <= set(comps)
        # Real QCoDeS driver types, each on its own twin resource (state not shared).
        assert type(comps["drive_lo"]).__name__ == "RohdeSchwarzSGS100A"
        assert comps["drive_lo"].frequency() == 5.0e9
        assert comps["readout_lo"].frequency() == 7.2e9
        assert lab.controls.qubits == tuple(f"q{i}" for i in range(17))
        assert lab.controls.get("drive_frequency", "q0") == 5.0e9  # LO + IF (0)
        # The stand-in QPU never wrote to the electronics.
        assert comps["drive"].ch1.amplitude.get() == 0.0


def test_twins_replace_addresses_only_for_visa_instruments():
    cfg = load("lab_template.yaml")
    sim = simulated_instruments_section(cfg["instruments"])
    assert sim["drive_lo"]["address"] != sim["readout_lo"]["address"]
    assert sim["drive_lo"]["init"]["pyvisa_sim_file"] == "qcodes.instrument.sims:RSSGS100A.yaml"
    assert "pyvisa_sim_file" not in sim["qpu"]["init"]
    assert cfg["instruments"]["drive_lo"]["address"].startswith("TCPIP0")  # input untouched


def test_a_visa_driver_without_a_twin_is_named():
    cfg = {"instruments": {"dmm": {"type": "qcodes.instrument_drivers.Keysight.Keysight34465A",
                                   "address": "TCPIP0::1.2.3.4::inst0::INSTR"}}}
    with pytest.raises(ConfigError, match="no known pyvisa-sim twin") as info:
        open_station(cfg, simulate=True)
    assert info.value.key == "instruments.dmm"


def test_an_unknown_driver_is_named():
    cfg = {"instruments": {"x": {"type": "qplane.drivers.NoSuchDriver", "address": "a"}}}
    with pytest.raises(ConfigError, match="cannot import driver") as info:
        open_station(cfg, simulate=True)
    assert info.value.key == "instruments.x.type"


def test_bad_controls_fail_before_any_instrument_opens():
    cfg = copy.deepcopy(load("lab_template.yaml"))
    cfg["qplane"]["controls"]["pi_amplitude"]["limits"] = [1.0, 0.0]
    with pytest.raises(ConfigError, match="pi_amplitude.limits"):
        open_station(cfg, simulate=True)


def test_sim_d5_drift_config_runs_on_its_twins():
    cfg = load("sim_d5_drift.yaml")
    cfg["instruments"]["qpu"]["init"]["clock_speedup"] = 0  # no wall clock in tests
    cfg["instruments"]["qpu"]["init"]["shots_per_block"] = 16
    with open_station(cfg) as lab:
        qpu = lab.station.components["qpu"]
        assert len(qpu.qubits()) == 49
        block = qpu.acquire_block()
        assert block.detection_events.shape[0] == 16
        # The electronics hold the perfect calibration the QPU started from.
        assert lab.controls.get("drive_frequency", "q7") == pytest.approx(
            qpu.truth().frequency[7], abs=1e-3)
