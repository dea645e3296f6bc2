"""``qplane bench sim``: the block-size option, the acquisition rows, and the README's sim table
from results of every shape written so far (1024 only; block sizes; block sizes per model)."""

from __future__ import annotations

import argparse

import pytest

from qplane.bench import sim
from qplane.bench.tables import _sim
from qplane.sim_instruments.qpu import SAMPLE_BATCH

_ROW = {"distance": 3, "per_qubit_shots_per_second": 2.5e6, "per_qubit_rounds_per_second": 7.5e6,
        "uniform_shots_per_second": 3.5e6, "ratio_per_qubit_over_uniform": 1.42,
        "ratio_sampling_only": 1.09, "rebuild_ms_median": 1.1}
_TARGETS = {"ratio_per_qubit_over_uniform_max": 1.5, "rebuild_ms_at_d5_max": 50.0}


def test_blocks_option_parses_and_refuses_bad_sizes():
    ap = argparse.ArgumentParser()
    sim.add_arguments(ap)
    assert ap.parse_args([]).blocks == (1, 64, 1024)
    assert ap.parse_args(["--blocks", "1,8"]).blocks == (1, 8)
    for bad in ("0,64", "1,x", ""):
        with pytest.raises(SystemExit):
            ap.parse_args(["--blocks", bad])


def test_acquisition_rows_cover_each_block_size_and_model():
    rows = sim.bench_block_sizes(3, 2, 0.001, block_sizes=(1, 3))
    assert [(r["noise_model"], r["block_size"]) for r in rows] == [
        ("device", 1), ("device", 3), ("uniform", 1), ("uniform", 3)]
    for r in rows:
        assert r["qpu_us_per_block"] > 0 and r["stim_us_per_block"] > 0 and r["ratio"] > 0
        assert r["timing_windows"] == 2
    # Windows of whole batches at small blocks (each window pays its share of the sampling).
    assert all(r["blocks_per_window"] % (SAMPLE_BATCH // r["block_size"]) == 0 for r in rows)


def test_sim_table_renders_every_results_shape():
    old = {"targets": _TARGETS, "rows": [_ROW], "machine": {"cpus": 2}}
    text = _sim(old)
    assert "| 3 | 2,500,000 |" in text and "acquire_block" not in text
    first = dict(old, targets=dict(_TARGETS, acquisition_over_stim_same_circuit_max=1.5),
                 acquisition_vs_stim=[{"distance": 3, "block_size": 1, "qpu_us_per_block": 10.0,
                                       "stim_us_per_block": 14.0, "ratio": 0.71}])
    text = _sim(first)
    assert "| 3 | device | 1 | 10.0 | 14.0 | 0.71 | – |" in text and "wall-clock time" in text
    new = dict(first, rows_timing="thread CPU time, interleaved windows, medians",
               acquisition_timing="thread CPU time, interleaved windows",
               acquisition_load={"other_load_cores": 1.6},
               acquisition_vs_stim=[{"distance": 5, "noise_model": "uniform", "block_size": 64,
                                     "qpu_us_per_block": 40.0, "stim_us_per_block": 42.0,
                                     "ratio": 0.95, "ratio_wall": 1.1}])
    text = _sim(new)
    assert "| 5 | uniform | 64 | 40.0 | 42.0 | 0.95 | 1.10 |" in text
    assert "1.6 of 2 cores" in text and "rounds = d, thread CPU time)" in text
