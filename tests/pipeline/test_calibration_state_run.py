"""A run starts from the lab's calibration state file and folds its changes back in."""

import h5py
import pytest
import yaml

from qplane.calibration import CalibrationState, load_state, save_state
from qplane.config import load_config
from qplane.pipeline.launcher import Launcher, fold_into_state
from qplane.sim_instruments.lab import sim_lab_config
from tests.pipeline.test_closed_loop import events, wait_for_stats

pytestmark = pytest.mark.slow


def test_a_run_applies_the_state_checks_what_expired_and_writes_its_changes_back(tmp_path):
    document = sim_lab_config(distance=3, drift=False, clock_speedup=600.0, seed=5)
    state_path = tmp_path / "lab_state.json"
    document["qplane"] = dict(document.get("qplane", {}))
    document["qplane"].update({
        "qpu": "qpu",
        "acquisition": {"shots_per_block": 256},
        "calibration": {"enabled": True, "second_opinion": False, "figures": False,
                        "state": str(state_path)},
    })
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    config = load_config(path)
    # What the last run left: q0's drive 60 kHz off the qubit, and long expired.
    from qplane.drivers import open_station

    lab = open_station(document, simulate=True)
    try:
        f0 = lab.controls.get("drive_frequency", "q0")
    finally:
        lab.close()
    state = CalibrationState()
    state.record("q0.drive_frequency", f0 + 60e3, run_id="old-run", node="ramsey",
                 time=1_000_000.0, timeout=600.0)
    save_state(state, state_path)
    out = tmp_path / "run.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        wait_for_stats(launcher, lambda s: s["parameter_updates"] >= 1)
        launcher.interrupt()
        end_state, reason = launcher.watch()
        launcher.shutdown(end_state, reason)
    finally:
        launcher.close()
    with h5py.File(out, "r") as f:
        evs = events(f)
        run_id = f.attrs["run_id"]
        run_id = run_id.decode() if isinstance(run_id, bytes) else str(run_id)
        history = f["parameters/history"][:]
    applied = [e for e in evs if e[2] == "calibration_state_applied"]
    assert len(applied) == 1 and "1 setting applied" in applied[0][3] \
        and "1 expired: checked first" in applied[0][3]
    first = history[0]
    assert first["parameter"].decode() == "q0.drive_frequency"
    assert first["old"] == pytest.approx(f0 + 60e3)            # the run started from the state
    assert abs(first["new"] - f0) < 5e3                          # its check found it off
    assert fold_into_state(config, str(out)).endswith(f"folded into {state_path}")
    entry = load_state(state_path).settings["q0.drive_frequency"]
    assert entry["run_id"] == run_id and entry["node"] == "ramsey"
    assert entry["valid_until"] == pytest.approx(entry["time"] + 600.0)
    assert [p["run_id"] for p in entry["previous"]] == ["old-run"]
