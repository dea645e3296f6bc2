"""scripts/hot_path_cpu.py: the one-process hot-path harness measures what it claims and leaves
the recorder whole (its flush, timed through a wrapper during the loop, writes the file again
at the end)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def harness():
    path = Path(__file__).parents[2] / "scripts" / "hot_path_cpu.py"
    spec = importlib.util.spec_from_file_location("hot_path_cpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_block_recorded_and_the_flush_timed(harness, tmp_path, monkeypatch):
    import qplane.pipeline.recorder as recorder_module

    made = []
    real = recorder_module.Recorder

    class Kept(real):  # the harness's recorder, kept to look at its flush afterwards
        def __init__(self, **kw):
            super().__init__(**kw, flush_interval=0.0)  # a flush every step: some in the loop
            made.append(self)

    monkeypatch.setattr(harness, "Recorder", Kept)
    r = harness.measure(distance=3, shots=1, in_flight=4, blocks=120, folder=str(tmp_path))
    assert r["blocks"] == 120 and r["recorded_applied"] == 120 and r["problems"] == []
    assert r["flushes"] > 0  # flushed in the loop, each one timed
    assert 0.0 < r["flush_cpu_ms_p50"] <= r["flush_cpu_ms_max"]
    assert r["flush_us_per_block"] > 0.0
    # the wrapper is gone after the loop: the recorder's own flush methods again
    (recorder,) = made
    assert vars(recorder)["_write_blocks"].__func__ is real._write_blocks
    assert vars(recorder)["_checkpoint"].__func__ is real._checkpoint
