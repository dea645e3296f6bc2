"""The mapping layer: logical controls -> station parameters, with limits enforced first."""

from __future__ import annotations

import copy

import pytest

from qplane.drivers import ControlMap, open_station, validate_controls
from qplane.errors import ConfigError, LimitError
from qplane.sim_instruments.lab import sim_lab_config

SECTION = sim_lab_config(distance=3)["qplane"]["controls"]


@pytest.fixture(scope="module")
def lab():
    cfg = sim_lab_config(distance=3, seed=1)
    cfg["qplane"]["controls"]["pi_amplitude"]["max_step"] = 0.05
    with open_station(cfg, simulate=True) as lab:
        yield lab


def spy_on(monkeypatch, instrument):
    writes: list[str] = []
    original = instrument.write_raw
    monkeypatch.setattr(instrument, "write_raw", lambda cmd: (writes.append(cmd), original(cmd)))
    return writes


def test_the_sim_section_is_valid():
    validate_controls(SECTION)


@pytest.mark.parametrize("mutate, key, match", [
    (lambda s: s.update(qubitz=3), "qplane.controls.qubitz", "unknown key"),
    (lambda s: s.update(qubits=0), "qplane.controls.qubits", "qubit count"),
    (lambda s: s.update(qubits=["a", "a"]), "qplane.controls.qubits", "distinct"),
    (lambda s: s["pi_amplitude"].update(limits=[0.8, 0.0]), "qplane.controls.pi_amplitude.limits",
     "low < high"),
    (lambda s: s["pi_amplitude"].update(limits="0..1"), "qplane.controls.pi_amplitude.limits",
     "low < high"),
    (lambda s: s["pi_amplitude"].update(max_step=-1), "qplane.controls.pi_amplitude.max_step",
     "positive"),
    (lambda s: s["pi_amplitude"].update(path="drive.amplitude"), "qplane.controls.pi_amplitude.path",
     "needs {channel}"),
    (lambda s: s["pi_amplitude"].update(path="drive ch1"), "qplane.controls.pi_amplitude.path",
     "parameter path"),
    (lambda s: s["pi_amplitude"].update(path="drive.ch{chan}.amplitude"),
     "qplane.controls.pi_amplitude.path", "only {channel}"),
    (lambda s: s["drive_frequency"].pop("lo"), "qplane.controls.drive_frequency.lo", "missing"),
    (lambda s: s["drive_frequency"].update(path="x.y"), "qplane.controls.drive_frequency.path",
     "unknown key"),
    (lambda s: s["frame_correction"].update(path="readout.ch{channel}.frame"),
     "qplane.controls.frame_correction.path", "device-wide"),
    (lambda s: s.update(readout_angle=3), "qplane.controls.readout_angle", "mapping"),
])
def test_malformed_sections_name_the_key(mutate, key, match):
    section = copy.deepcopy(SECTION)
    mutate(section)
    with pytest.raises(ConfigError, match=match) as info:
        validate_controls(section)
    assert info.value.key == key


def test_paths_must_resolve_in_the_station(lab):
    section = copy.deepcopy(SECTION)
    section["pi_amplitude"]["path"] = "drive.ch{channel}.amplitud"
    with pytest.raises(ConfigError, match="no parameter 'amplitud'") as info:
        ControlMap.from_config(section, lab.station)
    assert info.value.key == "qplane.controls.pi_amplitude.path"
    section["pi_amplitude"]["path"] = "awg.ch{channel}.amplitude"
    with pytest.raises(ConfigError, match="no instrument 'awg'"):
        ControlMap.from_config(section, lab.station)


def test_drive_frequency_is_lo_plus_if(lab):
    c = lab.controls
    lo = lab.station.components["drive_lo"]
    drive = lab.station.components["drive"]
    c.set("drive_frequency", "q1", 5.1234e9)
    assert drive.ch2.if_frequency.get() == pytest.approx(123.4e6)
    assert c.get("drive_frequency", "q1") == pytest.approx(5.1234e9)
    assert lo.frequency.get() == 5.0e9  # the shared LO is not touched


def test_out_of_limit_values_are_refused_and_nothing_reaches_the_instrument(lab, monkeypatch):
    c = lab.controls
    drive = lab.station.components["drive"]
    readout = lab.station.components["readout"]
    drive_writes = spy_on(monkeypatch, drive)
    readout_writes = spy_on(monkeypatch, readout)
    before = drive.ch1.amplitude.get()
    cases = [
        ("pi_amplitude", 0.85, "outside qplane's limits \\[0, 0.8\\]"),      # qplane limit
        ("pi_amplitude", before + 0.06, "exceeds max_step 0.05"),            # step limit
        ("drive_frequency", 5.6e9, "outside qplane's limits"),              # qplane limit
        ("readout_threshold", float("nan"), "not a finite number"),
    ]
    for control, value, match in cases:
        with pytest.raises(LimitError, match=match) as info:
            c.set(control, "q0", value)
        assert "q0" in str(info.value)
    assert drive_writes == [] and readout_writes == []
    assert drive.ch1.amplitude.get() == before  # the instrument still holds the old value
    c.set("pi_amplitude", "q0", before + 0.01)  # inside every limit: sent
    assert drive_writes == [f"SOUR1:AMPL {before + 0.01:.9f}"]


def test_instrument_validators_are_enforced_too(lab, monkeypatch):
    section = copy.deepcopy(SECTION)
    section["drive_frequency"]["limits"] = [4.0e9, 6.0e9]  # wider than the IF can reach
    controls = ControlMap.from_config(section, lab.station, read=False)
    drive = lab.station.components["drive"]
    writes = spy_on(monkeypatch, drive)
    with pytest.raises(LimitError, match=r"drive_ch1_if_frequency = 6e\+08.*refuses"):
        controls.set("drive_frequency", "q0", 5.6e9)
    assert writes == []


def test_unbound_control_and_unknown_qubit(lab):
    with pytest.raises(ConfigError, match="no binding for qubit 'q99'"):
        lab.controls.get("pi_amplitude", "q99")
    section = {"qubits": 2, "pi_amplitude": SECTION["pi_amplitude"]}
    controls = ControlMap.from_config(section, lab.station, read=False)
    with pytest.raises(ConfigError, match="no control 'readout_angle'"):
        controls.get("readout_angle", "q0")


def test_frame_correction_is_device_wide(lab):
    lab.controls.set("frame_correction", None, 1)
    assert lab.station.components["readout"].logical_frame.get() == 1
    with pytest.raises(LimitError):
        lab.controls.set("frame_correction", None, 2)
