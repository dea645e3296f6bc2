"""The calibration state across runs: provenance, validity, atomic file, diff and revert."""

import json

import pytest

from qplane.calibration.state import (
    CalibrationState,
    diff,
    load_state,
    revert_run,
    save_state,
    update_from_run,
)
from qplane.calibration.updates import SettingChange
from qplane.cli import main
from qplane.errors import QplaneError
from qplane.runfile.writer import RunFileWriter


def _run(tmp_path, run_id, changes):
    path = tmp_path / f"{run_id}.h5"
    writer = RunFileWriter.create(path, run_id=run_id, config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    for k, (setting, old, new, node) in enumerate(changes):
        q, control = setting.split(".")
        c = SettingChange(uid=f"{run_id}{k}", time=100.0 + k, setting=setting, qubit=q,
                          control=control, old=old, new=new, node=node, run_uid=f"u{run_id}{k}",
                          fit={"values": {"x": new}, "errors": {"x": 1.0}})
        writer.append_table("/parameters/history", **c.history_row(source="instrument_server"))
    writer.close("completed", "test")
    return str(path)


def test_a_state_follows_runs_with_provenance_and_validity(tmp_path):
    r1 = _run(tmp_path, "r1", [("q0.drive_frequency", 5.0e9, 5.001e9, "ramsey"),
                               ("q1.pi_amplitude", 0.3, 0.31, "rabi")])
    r2 = _run(tmp_path, "r2", [("q0.drive_frequency", 5.001e9, 5.002e9, "ramsey")])
    state = CalibrationState()
    assert update_from_run(state, r1, timeouts={"ramsey": 600.0}) == ["q0.drive_frequency",
                                                                      "q1.pi_amplitude"]
    update_from_run(state, r2, timeouts={"ramsey": 600.0})
    entry = state.settings["q0.drive_frequency"]
    assert (entry["value"], entry["run_id"], entry["node"]) == (5.002e9, "r2", "ramsey")
    assert entry["valid_until"] == 700.0 and entry["fit"]["errors"] == {"x": 1.0}
    assert [p["run_id"] for p in entry["previous"]] == ["r1"]
    path = save_state(state, tmp_path / "lab" / "state.json")
    assert json.loads(open(path).read())["format"] == "qplane-calibration-state"
    again = load_state(path)
    assert again.values() == state.values()
    assert diff(again, state) == []
    assert revert_run(again, "r2") == ["q0.drive_frequency"]
    assert again.value("q0.drive_frequency") == 5.001e9
    assert diff(again, state) == [("q0.drive_frequency", 5.001e9, 5.002e9)]
    with pytest.raises(QplaneError, match="no current setting was written by run 'r9'"):
        revert_run(again, "r9")


def test_a_missing_file_is_an_empty_state_and_a_foreign_one_is_refused(tmp_path):
    assert load_state(tmp_path / "none.json").settings == {}
    (tmp_path / "x.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(QplaneError, match="not a calibration state file"):
        load_state(tmp_path / "x.json")


def test_cli_state_diff_and_revert(tmp_path, capsys):
    r1 = _run(tmp_path, "r1", [("q0.drive_frequency", 5.0e9, 5.001e9, "ramsey")])
    r2 = _run(tmp_path, "r2", [("q0.drive_frequency", 5.001e9, 5.003e9, "ramsey")])
    state = str(tmp_path / "state.json")
    assert main(["calibration", "state", state, "--from-run", r1, "--from-run", r2]) == 0
    out = capsys.readouterr().out
    assert "q0.drive_frequency" in out and "run r2" in out and "5003000000" in out
    assert main(["calibration", "diff", r1, state]) == 0
    assert "5001000000 -> 5003000000" in capsys.readouterr().out
    assert main(["calibration", "state", state, "--revert", "r2"]) == 0
    assert "run r1" in capsys.readouterr().out
    assert main(["calibration", "diff", r1, state]) == 0
    assert capsys.readouterr().out.strip() == "no setting differs"
    assert main(["calibration", "state", state, "--revert", "r7"]) == 2
