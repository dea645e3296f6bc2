"""Every run-file layout that has existed opens; a newer one is refused clearly."""

from __future__ import annotations

import glob
import os
import shutil

import h5py
import numpy as np
import pytest

from qplane.analysis import open_run, stats
from qplane.analysis.versions import CONVERTERS, conform_rows, missing_converters
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
