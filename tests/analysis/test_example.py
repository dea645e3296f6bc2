"""examples/analyse_run.py runs, so it cannot rot."""

from __future__ import annotations

import csv
import os
import runpy

import pytest

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "analyse_run.py")


@pytest.mark.slow  # a few seconds of plotting
def test_example_runs_and_writes_figures_and_csv(sample_run, tmp_path, monkeypatch, capsys):
    module = runpy.run_path(EXAMPLE, run_name="example")
    assert module["main"]([sample_run, "--out", str(tmp_path)]) == 0
    for name in ("logical_error_rate.png", "detection_rate.png", "latency.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    with open(tmp_path / "blocks.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and {"failures", "latency_s", "time"} <= set(rows[0])
    assert "first block: 256 shots x 24 detectors" in capsys.readouterr().out
