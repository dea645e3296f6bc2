"""Every run-file layout that has existed opens; a newer one is refused clearly."""

from __future__ import annotations

import glob
import os
import shutil

import h5py
import numpy as np
import pytest

from qplane.analysis import open_run, stats
from qplane.runfile.converters import CONVERTERS, conform_rows, missing_converters
from qplane.errors import RunFileError
from qplane.runfile.schema import BLOCK_DTYPE, SCHEMA_VERSION

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
SAMPLES = sorted(glob.glob(os.path.join(DATA, "run_v*.h5")))


def test_every_schema_version_has_a_converter_and_a_stored_sample():
    assert missing_converters() == []
    assert max(CONVERTERS) == SCHEMA_VERSION
    for version in range(1, SCHEMA_VERSION + 1):
        assert os.path.exists(os.path.join(DATA, f"run_v{version}.h5")), (
            f"store a sample of schema v{version}: python tests/data/make_sample.py")


@pytest.mark.parametrize("path", SAMPLES, ids=os.path.basename)
def test_each_stored_sample_opens_with_its_data(path):
    with h5py.File(path, "r") as f:
        raw_blocks = f["qec/blocks"][:]
        raw_dets = f["qec/detection_events"][:]
        version = int(f.attrs["schema_version"])
    with open_run(path) as run:
        assert run.schema_version == version
        assert run.state == "completed"
        blocks = run.blocks
        assert len(blocks) == len(raw_blocks) > 0
        assert blocks["applied"].all()
        np.testing.assert_array_equal(blocks["failures"], raw_blocks["failures"])
        np.testing.assert_array_equal(run.shots(unpack=False).detection_events.values, raw_dets)
        rate = stats.overall_logical_error_rate(run)
        assert rate["n"] == raw_blocks["shots"].sum() and rate["k"] == raw_blocks["failures"].sum()
        assert stats.failures_per_block(run, source="shots").tolist() == raw_blocks["failures"].tolist()
        assert len(run.events) >= 2 and len(run.parameters) >= 1
        assert run.circuit().num_detectors == run.num_detectors


def test_the_initial_v1_layout_reads_its_blocks_as_applied():
    path = os.path.join(DATA, "run_v1_initial.h5")
    with h5py.File(path, "r") as f:
        assert "applied" not in f["qec/blocks"].dtype.names
    with open_run(path) as run:
        assert run.blocks["applied"].all() and run.simulated


def test_a_newer_version_is_refused_with_a_clear_message(tmp_path):
    newer = tmp_path / "newer.h5"
    shutil.copy(SAMPLES[-1], newer)
    with h5py.File(newer, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(RunFileError, match=rf"schema version {SCHEMA_VERSION + 1}.*upgrade qplane"):
        open_run(newer)


def test_a_version_never_written_is_refused(tmp_path):
    odd = tmp_path / "odd.h5"
    shutil.copy(SAMPLES[-1], odd)
    with h5py.File(odd, "r+") as f:
        f.attrs["schema_version"] = 0
    with pytest.raises(RunFileError, match="no qplane ever wrote"):
        open_run(odd)


def test_conform_rows_fills_fields_an_older_layout_lacks():
    old = np.zeros(2, dtype=[(n, BLOCK_DTYPE[n]) for n in BLOCK_DTYPE.names if n != "applied"])
    old["failures"] = [3, 4]
    new = conform_rows(old, BLOCK_DTYPE)
    assert new.dtype == BLOCK_DTYPE
    assert new["applied"].tolist() == [-1, -1] and new["failures"].tolist() == [3, 4]


def _api_answers(run):
    """What every version answers alike: column names, shot variables, kinds of values."""
    shots = run.shots(blocks=slice(0, 1), unpack=False)
    return {
        "blocks": list(run.blocks.columns),
        "parameters": list(run.parameters.columns),
        "simulation_truth": list(run.simulation_truth.columns),
        "streams": list(run.streams.columns),
        "events": list(run.events.columns),
        "calibration": list(run.calibration.columns),
        "circuits": list(run.circuits.columns),
        "shot_variables": sorted(shots.data_vars),
        "summary": sorted(run.summary()),
    }


def test_v1_and_v2_samples_answer_the_same_api_where_their_data_overlap():
    assert {os.path.basename(p) for p in SAMPLES} >= {"run_v1.h5", "run_v1_initial.h5", "run_v2.h5"}
    answers = {}
    for path in SAMPLES:
        with open_run(path) as run:
            answers[os.path.basename(path)] = _api_answers(run)
            # the correction applied is the prediction, whether stored twice (v1) or once (v2)
            np.testing.assert_array_equal(run.read_shots("corrections"), run.read_shots("predictions"))
            shots = run.shots()
            np.testing.assert_array_equal(shots.corrections.values, shots.predictions.values)
            # history holds real changes only; v1 truth rows read as simulation truth
            assert "truth" not in set(run.parameters["source"])
            assert run.summary()["parameter_changes"] == len(run.parameters)
            assert {"detection_events", "predictions", "truth"} <= set(run.integrity().shot_rows)
    first = next(iter(answers.values()))
    for name, got in answers.items():
        assert got == first, name


def test_v1_truth_rows_read_as_simulation_truth_and_leave_the_history():
    path = os.path.join(DATA, "run_v1.h5")
    with h5py.File(path, "r") as f:
        sources = [s.decode() if isinstance(s, bytes) else s for s in f["parameters/history"]["source"]]
        raw = f["parameters/history"][:]
    truth_rows = raw[np.array([s == "truth" for s in sources])]
    with open_run(path) as run:
        truth = run.simulation_truth
        history = run.parameters
        traces = stats.parameter_traces(run)
    assert len(truth) == len(truth_rows) > 0
    assert list(truth["setting"]) == [p.decode() if isinstance(p, bytes) else p for p in truth_rows["parameter"]]
    np.testing.assert_array_equal(truth["value"], truth_rows["new"])
    assert len(history) == len(raw) - len(truth_rows) > 0
    assert set(history["node"]) == {""} and set(history["update"]) == {""}
    assert (traces["kind"] == "truth").sum() >= len(truth_rows)


def test_the_v2_sample_has_its_new_tables():
    path = os.path.join(DATA, "run_v2.h5")
    with h5py.File(path, "r") as f:
        assert "corrections" not in f["qec"]
        assert f.attrs["schema_version"] == 2
    with open_run(path) as run:
        assert run.schema_version == 2
        history = run.parameters
        assert list(history["update"]) == ["u-0001", "u-0001"]
        assert set(history["node"]) == {"rabi_amplitude"}
        truth = run.simulation_truth
        assert list(truth["setting"]) == ["q0.pi_amplitude", "q0.drive_frequency", "q0.pi_amplitude"]
        assert truth["device_time"].tolist() == [0.0, 0.0, 60.0]
        streams = run.streams
        assert len(streams) == 3 and (streams["sent"] == streams["recorded"]).all()
        assert run.integrity().problems == []


def test_the_v3_sample_has_its_noise_models():
    path = os.path.join(DATA, "run_v3.h5")
    with open_run(path) as run:
        assert run.schema_version == 3
        models = run.noise_models
        assert len(models) == 1 and models[0].version == 1 and models[0].estimator == "full"
        assert run.noise_table["model_hash"].tolist() == [models[0].hash]
        assert run.blocks["noise_version"].tolist() == [0, 0, 1, 1]
    with open_run(os.path.join(DATA, "run_v2.h5")) as run:  # older files: none, all nominal
        assert run.noise_models == [] and set(run.blocks["noise_version"]) == {0}


def test_a_stream_whose_tail_was_lost_is_reported(tmp_path):
    from qplane.runfile import RunFileWriter

    path = tmp_path / "lost.h5"
    w = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                             station_snapshot={}, num_detectors=8, num_observables=1)
    w.append_stream(source="decoder-0", kind="correction", sent=10, recorded=7, first_seq=0,
                    last_seq=6)
    w.append_stream(source="instrument_server", kind="syndrome", sent=-1, recorded=5)
    w.append_stream(source="calibration", kind="calibration_run", sent=2, recorded=2)
    w.close("completed", "test")
    with open_run(path) as run:
        integ = run.integrity()
    assert integ.stream_mismatches == (("decoder-0", "correction", 10, 7),
                                       ("instrument_server", "syndrome", -1, 5))
    assert any("3 of 10 record(s) sent never recorded (lost tail)" in p for p in integ.problems)
    assert any("no end-of-stream record" in p for p in integ.problems)
