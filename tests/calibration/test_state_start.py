"""A run starts from the calibration state and folds its changes back in (issue 14 item 5)."""

import pytest
import yaml

from qplane.calibration.backend import StationBackend
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.state import (
    CalibrationState,
    apply_state,
    load_state,
    mark_validity,
    save_state,
)
from qplane.calibration.updates import SettingChange, SettingsLedger
from qplane.config import load_config
from qplane.drivers import open_station
from qplane.errors import ConfigError
from qplane.pipeline.launcher import fold_into_state
from qplane.runfile.writer import RunFileWriter
from qplane.sim_instruments.lab import sim_lab_config

NOW = 1_764_600_000.0  # the state's clock (UNIX seconds)


@pytest.fixture
def lab():
    lab = open_station(sim_lab_config(distance=3, seed=4, drift=False), simulate=True)
    yield lab
    lab.close()


def _state(**entries):
    """``name=(value, valid_until)`` -> a state written by run r1 at NOW - 100."""
    state = CalibrationState()
    for setting, (value, until) in entries.items():
        state.record(setting.replace("__", "."), value, run_id="r1", node="ramsey",
                     time=NOW - 100.0, timeout=None if until is None else until - NOW + 100.0)
    return state


def test_values_are_applied_within_limits_and_expired_ones_as_configured(lab):
    controls = lab.controls
    f0 = controls.get("drive_frequency", "q0")
    state = _state(q0__drive_frequency=(f0 + 2e3, NOW + 500.0),      # valid
                   q1__pi_amplitude=(0.333, NOW - 1.0),                # expired
                   q2__pi_amplitude=(7.0, NOW + 500.0),                # beyond the limits
                   q99__pi_amplitude=(0.3, NOW + 500.0))               # not on this station
    before_q2 = controls.get("pi_amplitude", "q2")
    started = apply_state(state, controls, lab.station.components["qpu"].qubits(), now=NOW)
    assert started.applied == {"q0.drive_frequency": f0 + 2e3, "q1.pi_amplitude": 0.333}
    assert controls.get("drive_frequency", "q0") == pytest.approx(f0 + 2e3)
    assert controls.get("pi_amplitude", "q1") == pytest.approx(0.333)
    assert started.expired == ["q1.pi_amplitude"]
    assert list(started.refused) == ["q2.pi_amplitude"] and "7" in started.refused["q2.pi_amplitude"]
    assert controls.get("pi_amplitude", "q2") == before_q2          # the station keeps its own
    assert started.unknown == ["q99.pi_amplitude"]
    assert "2 settings applied" in started.summary() and "1 expired: checked first" in \
        started.summary() and "1 refused by limits" in started.summary()


def test_skip_leaves_expired_values_out_and_a_bad_policy_is_refused(lab):
    qubits = lab.station.components["qpu"].qubits()
    state = _state(q1__pi_amplitude=(0.333, NOW - 1.0))
    before = lab.controls.get("pi_amplitude", "q1")
    started = apply_state(state, lab.controls, qubits, now=NOW, expired="skip")
    assert started.applied == {} and started.expired == ["q1.pi_amplitude"]
    assert lab.controls.get("pi_amplitude", "q1") == before
    assert "expired: skipped" in started.summary()
    with pytest.raises(ConfigError, match="state_expired"):
        apply_state(state, lab.controls, qubits, now=NOW, expired="ignore")


def test_a_valid_entry_is_not_checked_again_and_an_expired_one_is_checked_first(lab):
    backend = StationBackend.from_lab(lab)
    graph = CalibrationGraph.default(backend, SettingsLedger(backend, clock=backend.now))
    qubits = ("q0", "q1")
    for q in qubits:
        graph.mark_calibrated(q)              # what a simulated device that starts calibrated says
    state = CalibrationState()
    for q, until in (("q0", NOW + 300.0), ("q1", NOW - 5.0)):
        state.record(f"{q}.pi_amplitude", backend.read_setting(f"{q}.pi_amplitude"),
                     run_id="r1", node="rabi", time=until - 600.0, timeout=600.0)
    marks = mark_validity(graph, state, qubits, now=NOW, read_setting=backend.read_setting)
    assert marks == {("rabi", "q0"): "valid", ("rabi", "q1"): "check"}
    assert graph.check_state("rabi", "q0") and not graph.check_state("rabi", "q1")
    # q0's rabi stays valid exactly until its valid_until: 300 s from now on the device's clock
    t0 = backend.now()
    assert graph.state("rabi", "q0").verified_at + graph.timeout("rabi", "q0") == \
        pytest.approx(t0 + 300.0)
    graph.maintain("rabi", "q1")
    assert ("check_data", "rabi", "q1") in [t[:3] for t in graph.trace]
    # a value that was not applied (the device holds another) is not trusted either
    state.record("q0.pi_amplitude", 0.2999, run_id="r2", node="rabi", time=NOW, timeout=600.0)
    assert mark_validity(graph, state, ("q0",), now=NOW,
                         read_setting=backend.read_setting)[("rabi", "q0")] == "check"


def _runfile(tmp_path, changes):
    path = tmp_path / "run.h5"
    writer = RunFileWriter.create(path, run_id="run-2", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    for k, (setting, new, node, t) in enumerate(changes):
        q, control = setting.split(".")
        c = SettingChange(uid=f"c{k}", time=t, setting=setting, qubit=q, control=control,
                          old=new - 1.0, new=new, node=node, run_uid=f"u{k}")
        writer.append_table("/parameters/history", **c.history_row(source="instrument_server"))
    writer.close("completed", "test")
    return str(path)


def test_the_end_of_a_run_folds_its_changes_into_the_configured_state(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    document = sim_lab_config(distance=3, seed=1)
    document["qplane"] = dict(document["qplane"], qpu="qpu", calibration={
        "state": "lab/state.json",
        "graph": {"spectroscopy": {}, "rabi": {"depends_on": ["spectroscopy"], "timeout": 900},
                  "ramsey": {"depends_on": ["spectroscopy", "rabi"], "timeout": 120}}})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    config = load_config(tmp_path / "c.yaml")
    save_state(_state(q0__pi_amplitude=(0.31, NOW + 50.0)), "lab/state.json")
    run = _runfile(tmp_path, [("q0.drive_frequency", 5.01e9, "ramsey", NOW + 10.0),
                              ("q0.pi_amplitude", 0.32, "rabi", NOW + 20.0)])
    note = fold_into_state(config, run)
    assert note == "2 calibrated settings folded into lab/state.json"
    state = load_state("lab/state.json")
    assert state.settings["q0.drive_frequency"]["valid_until"] == NOW + 10.0 + 120.0
    entry = state.settings["q0.pi_amplitude"]
    assert (entry["value"], entry["run_id"], entry["valid_until"]) == (0.32, "run-2",
                                                                       NOW + 20.0 + 900.0)
    assert [p["value"] for p in entry["previous"]] == [0.31]      # the provenance is kept
    assert "not updated" in fold_into_state(config, str(tmp_path / "missing.h5"))
    assert load_state("lab/state.json").to_dict() == state.to_dict()
