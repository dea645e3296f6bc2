"""Node runs and setting changes land in the run file; `qplane calibration revert` restores them."""

import json

import h5py
import numpy as np
import pytest

from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.record import CalibrationRecorder
from qplane.calibration.synthetic import SyntheticBackend
from qplane.cli import main
from qplane.runfile.writer import RunFileWriter


def _run_file(tmp_path, png_dir=None):
    path = tmp_path / "run.h5"
    writer = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    rec = CalibrationRecorder(writer.append_table, png_dir=png_dir)
    backend = SyntheticBackend(qubits=("q0", "q1"), seed=3)
    original = backend.settings["q1.pi_amplitude"]
    backend.settings["q1.pi_amplitude"] = original * 1.04
    before = backend.settings["q1.pi_amplitude"]
    graph = CalibrationGraph.default(backend, backend.ledger(on_change=rec.on_change),
                                     on_run=rec.on_run)
    assert graph.calibrate("rabi", "q1").outcome.value == "success"
    writer.close("completed", "test")
    return path, before, graph


def test_runs_and_history_are_recorded_with_figures(tmp_path):
    path, before, graph = _run_file(tmp_path, png_dir=tmp_path / "png")
    with h5py.File(path, "r") as f:
        runs = f["calibration/runs"][()]
        hist = f["parameters/history"][()]
    assert len(runs) == 1 and runs[0]["node"].decode() == "rabi"
    assert runs[0]["outcome"].decode() == "success"
    assert bytes(runs[0]["figure_png"][:4]) == b"\x89PNG"
    fit = json.loads(runs[0]["fit"])
    assert fit["gate"]["outcome"] == "success" and "pi_amplitude" in fit["values"]
    assert len(runs[0]["sweep"]) == len(runs[0]["signal"]) == 41
    assert len(hist) == 1 and hist[0]["parameter"].decode() == "q1.pi_amplitude"
    assert hist[0]["old"] == before and hist[0]["source"].decode() == "rabi"
    assert len(list((tmp_path / "png").glob("*.png"))) == 1


def test_cli_revert_restores_the_exact_old_value(tmp_path, capsys):
    path, before, graph = _run_file(tmp_path)
    out = tmp_path / "revert.json"
    assert main(["calibration", "revert", str(path), "--qubit", "q1", "--node", "rabi",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"q1.pi_amplitude": before}
    assert main(["calibration", "history", str(path)]) == 0
    assert "q1.pi_amplitude" in capsys.readouterr().out
    assert main(["calibration", "figures", str(path)]) == 0
    pngs = list((tmp_path / "run_calibration").glob("*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b"\x89PNG"
    # Nothing by that node on the other qubit: a clear error, exit code 2.
    assert main(["calibration", "revert", str(path), "--qubit", "q0", "--node", "rabi"]) == 2


def test_cli_revert_applies_through_the_station_limits(tmp_path):
    import yaml

    from qplane.sim_instruments.lab import sim_lab_config
    from qplane.calibration.updates import SettingChange

    # A history row in the shape the worker writes, for a qubit of the simulated lab.
    path = tmp_path / "run.h5"
    writer = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    change = SettingChange(uid="u", time=1.0, setting="q2.pi_amplitude", qubit="q2",
                           control="pi_amplitude", old=0.3125, new=0.33, node="rabi",
                           run_uid="run1")
    writer.append_table("/parameters/history", **change.history_row())
    writer.close("completed", "test")
    config = tmp_path / "lab.yaml"
    config.write_text(yaml.safe_dump(sim_lab_config(distance=3, drift=False)))
    assert main(["calibration", "revert", str(path), "--qubit", "q2", "--node", "rabi",
                 "--apply", str(config), "--simulate"]) == 0
    # Out of the control's limits ([0, 0.8]): refused, exit code 2.
    writer = RunFileWriter.create(tmp_path / "bad.h5", run_id="r", config_text="",
                                  config_path="c.yaml", station_snapshot={}, num_detectors=8,
                                  num_observables=1)
    bad = SettingChange(uid="u", time=1.0, setting="q2.pi_amplitude", qubit="q2",
                        control="pi_amplitude", old=0.95, new=0.33, node="rabi", run_uid="r2")
    writer.append_table("/parameters/history", **bad.history_row())
    writer.close("completed", "test")
    assert main(["calibration", "revert", str(tmp_path / "bad.h5"), "--qubit", "q2",
                 "--node", "rabi", "--apply", str(config), "--simulate"]) == 2
    assert np.isfinite(change.old)


def test_history_rows_written_by_the_instrument_server_keep_the_node(tmp_path):
    """In the pipeline the server records the write (source instrument_server) with the
    worker's details; revert must still find the node's run."""
    from qplane.calibration.history import revert_plan
    from qplane.calibration.updates import DictTarget, SettingChange, SettingsLedger

    class RecordingTarget(DictTarget):
        """Records each write as the instrument server does: source = the server."""

        rows = []

        def write_setting(self, setting, value, details=None):
            old = self.values[setting]
            super().write_setting(setting, value)
            self.rows.append({"time": 0.0, "parameter": setting, "old": old, "new": value,
                              "source": "instrument_server",
                              "details": json.dumps({**(details or {}),
                                                     "requested_by": "calibration"})})

    target = RecordingTarget({"q0.drive_frequency": 5.0e9})
    ledger = SettingsLedger(target)
    ledger.apply("q0", {"drive_frequency": 5.0e9 + 1234.5}, node="ramsey")
    history = [SettingChange.from_history_row(r) for r in target.rows]
    assert history[0].node == "ramsey"
    assert revert_plan(history, qubit="q0", node="ramsey") == {"q0.drive_frequency": 5.0e9}


def test_history_and_revert_skip_the_truth_rows_of_older_files(tmp_path, capsys):
    """Files written before /simulation/truth kept the truth in the history (source 'truth',
    old = new): `history` does not list them and `revert` never restores one."""
    from qplane.calibration.history import read_history, revert_plan
    from qplane.calibration.updates import SettingChange

    path = tmp_path / "old.h5"
    writer = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    change = SettingChange(uid="u", time=2.0, setting="q2.pi_amplitude", qubit="q2",
                           control="pi_amplitude", old=0.3125, new=0.33, node="rabi",
                           run_uid="run1")
    for t in (1.0, 3.0):
        writer.append_table("/parameters/history", time=t, parameter="q2.pi_amplitude",
                            old=0.331, new=0.331, source="truth",
                            details=json.dumps({"simulated_time": t, "true_value": 0.331}))
    writer.append_table("/parameters/history", **change.history_row(source="instrument_server"))
    writer.close("completed", "test")
    history = read_history(str(path))
    assert [(c.node, c.update, c.old) for c in history] == [("rabi", "run1", 0.3125)]
    assert revert_plan(history, qubit="q2", node="rabi") == {"q2.pi_amplitude": 0.3125}
    assert main(["calibration", "history", str(path)]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1 and "rabi" in out and "truth" not in out


def test_a_revert_is_all_or_nothing():
    """A revert plan with one value out of the control map's limits writes nothing at all."""
    from qplane.calibration import apply_revert
    from qplane.drivers import open_station
    from qplane.errors import LimitError
    from qplane.sim_instruments.lab import sim_lab_config

    with open_station(sim_lab_config(distance=3, drift=False), simulate=True) as lab:
        before = {s: lab.controls.get(s.split(".")[1], s.split(".")[0])
                  for s in ("q2.pi_amplitude", "q2.readout_angle")}
        plan = {"q2.pi_amplitude": before["q2.pi_amplitude"] + 0.01, "q2.readout_angle": 99.0}
        written = []
        with pytest.raises(LimitError):
            apply_revert(plan, lab.controls, written)
        assert written == []
        after = {s: lab.controls.get(s.split(".")[1], s.split(".")[0]) for s in before}
        assert after == before
        ok = {"q2.pi_amplitude": before["q2.pi_amplitude"] + 0.01}
        assert apply_revert(ok, lab.controls) == ["q2.pi_amplitude"]
        assert lab.controls.get("pi_amplitude", "q2") == pytest.approx(ok["q2.pi_amplitude"])
