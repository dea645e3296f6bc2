"""Calibration in the closed loop: a calibration worker process beside QEC, through the
instrument server, with node runs and parameter changes in the run file."""

import h5py
import pytest
import yaml

from qplane.config import load_config
from qplane.pipeline.launcher import Launcher
from qplane.sim_instruments.lab import sim_lab_config
from tests.pipeline.test_closed_loop import events, wait_for_stats

pytestmark = pytest.mark.slow


def test_calibration_worker_runs_beside_qec_and_is_recorded(tmp_path):
    document = sim_lab_config(distance=3, drift=True, clock_speedup=600.0, seed=5)
    document["qplane"] = dict(document.get("qplane", {}))
    document["qplane"].update({
        "qpu": "qpu",
        "acquisition": {"shots_per_block": 256},
        "calibration": {"enabled": True, "second_opinion": True, "figures": True},
    })
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(document))
    config = load_config(path)
    out = tmp_path / "cal.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        # The QPU starts calibrated and so does the worker now (one source for
        # start_calibrated): its first experiments come when a node's timeout runs out.
        stats = wait_for_stats(launcher, lambda s: s["calibration_calls"] >= 12 and s["blocks_applied"] >= 20
                               and s["calibration_seconds"] > 0)
        assert stats["calibration_seconds"] > 0
        launcher.interrupt()
        end_state, reason = launcher.watch()
        launcher.shutdown(end_state, reason)
        exits = {c.name: c.proc.returncode for c in launcher.children}
    finally:
        launcher.close()
    assert exits == {"recorder": 0, "instrument_server": 0, "decoder-0": 0, "calibration": 0}
    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "interrupted"
        runs = f["calibration/runs"][:]
        history = f["parameters/history"][:]
        truth = f["simulation/truth"][:]
        streams = f["streams"][:]
        evs = events(f)
        assert f["qec/blocks"].shape[0] >= 20
    assert len(runs) >= 1
    for r in runs:
        assert r["node"] and r["qubit"] and r["outcome"]
        assert bytes(r["figure_png"][:8]) == b"\x89PNG\r\n\x1a\n"
        assert len(r["sweep"]) == len(r["signal"]) > 0
    sources = {h["source"].decode() if isinstance(h["source"], bytes) else h["source"] for h in history}
    assert sources <= {"instrument_server"}  # only real changes, written by the server's ledger
    assert all(h["update"] for h in history)
    assert len(truth) and {"q0.pi_amplitude", "q0.drive_frequency"} <= {
        t["setting"].decode() for t in truth}  # simulated truth over time, in its own table
    # every stream ended with its counts, truth included (it is the server's own stream)
    assert {(r["source"].decode(), r["kind"].decode()) for r in streams} >= {
        ("instrument_server", "simulation_truth"), ("calibration", "calibration_run")}
    assert all(r["sent"] == r["recorded"] for r in streams), streams
    stopped = [e for e in evs if e[1] == "calibration" and e[2] == "worker_stopped"]
    assert len(stopped) == 1
    assert not [e for e in evs if e[0] == "error"], [e for e in evs if e[0] == "error"]
