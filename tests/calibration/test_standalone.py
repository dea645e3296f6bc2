"""`qplane calibrate CONFIG`: the graph alone on the simulated lab, a per-node report, the state."""

import json
import pathlib

from qplane.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_calibrate_runs_the_graph_writes_a_report_and_the_state(tmp_path, capsys):
    state = tmp_path / "state.json"
    assert main(["calibrate", str(ROOT / "config" / "sim_d5_drift.yaml"), "--qubits", "q0",
                 "--out", str(tmp_path / "report"), "--state", str(state)]) == 0
    out = capsys.readouterr().out
    assert "node runs" in out and "report:" in out
    page = (tmp_path / "report" / "calibration.report.html").read_text()
    # One row per node run, each with its figure: the six nodes were at least checked on q0.
    for node in ("spectroscopy", "rabi", "ramsey", "t1", "echo", "readout"):
        assert f"<td>{node}</td>" in page
    assert page.count("data:image/png;base64,") >= 6
    data = json.loads(state.read_text())
    assert data["format"] == "qplane-calibration-state"
    for entry in data["settings"].values():
        assert entry["run_id"].startswith("calibrate-") and entry["valid_until"] > entry["time"]


def test_calibrate_without_controls_says_what_to_declare(tmp_path, capsys):
    assert main(["calibrate", str(ROOT / "config" / "sim_d3.yaml"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "qplane.controls" in capsys.readouterr().err
