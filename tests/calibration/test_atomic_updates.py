"""One write path: one ledger, one limits layer (qplane.controls), atomic multi-setting updates."""

import copy
import json
import math
from pathlib import Path

import h5py
import pytest
import yaml

from qplane.calibration.backend import StationBackend
from qplane.calibration.config import validate_calibration
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.nodes import ReadoutNode
from qplane.calibration.record import CalibrationRecorder
from qplane.calibration.updates import ControlLimits, DictTarget, SettingsLedger
from qplane.drivers import open_station
from qplane.errors import ConfigError, LimitError
from qplane.runfile.writer import RunFileWriter
from qplane.sim_instruments.lab import sim_lab_config

DRIFT_CONFIG = Path(__file__).parents[2] / "config" / "sim_d5_drift.yaml"


class OffThresholdReadout(ReadoutNode):
    """The issue's reproduction: a readout update whose angle is within every limit and whose
    threshold (2.5) lies inside calibration's old +-10 but outside the control map's +-2."""

    def proposal(self, qubit, analysis, settings):
        return {"readout_angle": settings[f"{qubit}.readout_angle"] + 0.05,
                "readout_threshold": 2.5}


@pytest.fixture
def lab():
    lab = open_station(sim_lab_config(distance=3, drift=False), simulate=True)
    yield lab
    lab.close()


def test_a_refused_threshold_moves_nothing_and_the_node_run_is_still_recorded(lab, tmp_path):
    path = tmp_path / "run.h5"
    writer = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    rec = CalibrationRecorder(writer.append_table, figures=False)
    backend = StationBackend.from_lab(lab)
    ledger = SettingsLedger(backend, clock=backend.now, on_change=rec.on_change,
                            on_refused=rec.on_refused)
    angle = lab.controls.get("readout_angle", "q0")
    threshold = lab.controls.get("readout_threshold", "q0")

    # Directly: LimitError at the caller, nothing moves, counted.
    with pytest.raises(LimitError, match=r"readout_threshold\[q0\].*2.5 is outside qplane's limits"):
        ledger.apply("q0", {"readout_angle": angle + 0.05, "readout_threshold": 2.5},
                     node="readout")
    assert lab.controls.get("readout_angle", "q0") == angle
    assert lab.controls.get("readout_threshold", "q0") == threshold
    assert ledger.history == () and ledger.refused == 1

    # Through a node run: the run is recorded, with an outcome saying the update was refused.
    graph = CalibrationGraph(backend, ledger, on_run=rec.on_run)
    graph.add(OffThresholdReadout(), timeout=3600.0)
    run = graph.calibrate("readout", "q0")
    assert run.outcome.value == "out_of_spec" and run.reason.startswith("update refused:")
    assert "readout_threshold" in run.reason and run.changes == ()
    assert lab.controls.get("readout_angle", "q0") == angle  # the angle did not move either
    assert ledger.refused == 2
    writer.close("completed", "test")
    with h5py.File(path, "r") as f:
        assert f["parameters/history"].shape[0] == 0
        runs = f["calibration/runs"][()]
        events = f["events"][()]
    assert [r["outcome"].decode() for r in runs] == ["out_of_spec"]
    refusals = [e for e in events if e["kind"].decode() == "setting_update_refused"]
    assert len(refusals) == 2
    details = json.loads(refusals[-1]["details"])
    assert details["error_type"] == "LimitError" and details["node"] == "readout"
    assert details["settings"]["q0.readout_threshold"] == 2.5


def test_a_committed_update_records_one_row_per_setting_sharing_the_update_id(lab, tmp_path):
    backend = StationBackend.from_lab(lab)
    rows = []
    ledger = SettingsLedger(backend, clock=backend.now,
                            on_change=lambda c: rows.append(c.history_row()))
    angle = lab.controls.get("readout_angle", "q0")
    changes = ledger.apply("q0", {"readout_angle": angle + 0.05, "readout_threshold": 0.1},
                           node="readout", fit={"fidelity": 0.97})
    assert lab.controls.get("readout_angle", "q0") == pytest.approx(angle + 0.05)
    assert lab.controls.get("readout_threshold", "q0") == pytest.approx(0.1)
    assert len(rows) == 2 and len({r["update"] for r in rows}) == 1
    assert {r["node"] for r in rows} == {"readout"}
    assert all(json.loads(r["details"])["fit"] == {"fidelity": 0.97} for r in rows)
    assert [c.new for c in changes] == [pytest.approx(angle + 0.05), pytest.approx(0.1)]


class FailingTarget(DictTarget):
    """Writes of q0.b fail on the instrument; the read-back after writing 3.5 to q0.c fails."""

    unreadable = None

    def write_setting(self, setting, value, details=None):
        if setting == "q0.b":
            raise OSError("instrument timed out")
        super().write_setting(setting, value)
        self.unreadable = setting if (setting, value) == ("q0.c", 3.5) else None

    def read_setting(self, setting):
        if setting == self.unreadable:
            self.unreadable = None
            raise OSError("no answer to the read-back")
        return super().read_setting(setting)


def test_a_write_or_read_back_failing_mid_way_rolls_back_and_records_nothing():
    refused = []
    target = FailingTarget({"q0.a": 1.0, "q0.b": 2.0, "q0.c": 3.0})
    ledger = SettingsLedger(target, on_refused=lambda **kw: refused.append(kw))
    with pytest.raises(LimitError, match="failed part-way.*OSError.*rolled back"):
        ledger.update({"q0.a": 1.5, "q0.b": 2.5}, node="x")
    assert target.values == {"q0.a": 1.0, "q0.b": 2.0, "q0.c": 3.0}
    with pytest.raises(LimitError, match="failed part-way.*read-back"):
        ledger.update({"q0.a": 1.5, "q0.c": 3.5}, node="x")
    assert target.values["q0.a"] == 1.0 and target.values["q0.c"] == 3.0
    assert ledger.history == () and ledger.refused == 2 == len(refused)
    assert refused[0]["settings"] == {"q0.a": 1.5, "q0.b": 2.5}


def test_the_controls_section_is_the_one_limits_layer():
    # config/sim_d5_drift.yaml allows 2 MHz per update; calibration's old defaults applied
    # 1 MHz on top of it, silently. Now the controls section decides.
    config = yaml.safe_load(DRIFT_CONFIG.read_text())
    assert config["qplane"]["controls"]["drive_frequency"]["max_step"] == 2.0e6
    document = sim_lab_config(distance=3, drift=False)
    document["qplane"]["controls"]["drive_frequency"] = copy.deepcopy(
        config["qplane"]["controls"]["drive_frequency"])
    with open_station(document, simulate=True) as lab:
        backend = StationBackend.from_lab(lab)
        ledger = SettingsLedger(backend, clock=backend.now)
        f0 = lab.controls.get("drive_frequency", "q0")
        ledger.apply("q0", {"drive_frequency": f0 + 1.5e6}, node="spectroscopy")
        assert lab.controls.get("drive_frequency", "q0") == pytest.approx(f0 + 1.5e6)
        with pytest.raises(LimitError, match="exceeds max_step 2e"):
            ledger.apply("q0", {"drive_frequency": f0 + 4.0e6}, node="spectroscopy")
        assert lab.controls.get("drive_frequency", "q0") == pytest.approx(f0 + 1.5e6)
        # A second limit system cannot be stacked on a station's.
        with pytest.raises(ConfigError, match="qplane.controls"):
            SettingsLedger(backend, {"drive_frequency": ControlLimits(4e9, 6e9, 1e6)})
    with pytest.raises(ConfigError, match="qplane.calibration.limits.*qplane.controls"):
        validate_calibration({"limits": {"drive_frequency": {"low": 4e9, "high": 6e9}}})


def test_revert_is_one_update_without_the_step_limit(lab):
    backend = StationBackend.from_lab(lab)
    ledger = SettingsLedger(backend, clock=backend.now)
    a0 = lab.controls.get("pi_amplitude", "q0")
    first = ledger.apply("q0", {"pi_amplitude": a0 + 0.01}, node="rabi")
    back = ledger.revert(qubit="q0", node="rabi")
    assert lab.controls.get("pi_amplitude", "q0") == pytest.approx(a0)
    assert back[0].reverts == first[0].update and back[0].node == "revert"
    assert back[0].record_meta()["details"]["revert_of"] == first[0].update
    assert math.isfinite(back[0].time)
