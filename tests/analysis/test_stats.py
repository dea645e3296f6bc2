"""Derived quantities: Wilson intervals, windows, detection rates, latency, shadow, traces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qplane.analysis import open_run, stats


@pytest.mark.parametrize("k,n,lo,hi", [
    (0, 10, 0.0, 0.27753),      # textbook values of the 95% Wilson interval
    (5, 100, 0.02154, 0.11175),
    (50, 100, 0.40383, 0.59617),
    (10, 10, 0.72247, 1.0),
])
def test_wilson_interval_matches_reference_values(k, n, lo, hi):
    got = stats.wilson_interval(k, n)
    assert got[0] == pytest.approx(lo, abs=1e-5) and got[1] == pytest.approx(hi, abs=1e-5)


@pytest.mark.parametrize("k,n", [(0, 1), (0, 10), (0, 1000), (1, 1), (10, 10), (1000, 1000),
                                 (1, 10), (5, 100), (3, 7), (999, 1000), (17, 123_456)])
@pytest.mark.parametrize("confidence", [0.95, 0.68, 0.99])
def test_wilson_interval_is_scipys_including_the_ends(k, n, confidence):
    from scipy.stats import binomtest

    ref = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    lo, hi = stats.wilson_interval(k, n, confidence)
    assert lo == pytest.approx(ref.low, rel=1e-12, abs=1e-15)
    assert hi == pytest.approx(ref.high, rel=1e-12, abs=1e-15)
    if k == 0:
        assert lo == 0.0  # exactly, not rounding dust such as 2e-19
    if k == n:
        assert hi == 1.0
    # the array path gives the same numbers
    alo, ahi = stats.wilson_interval(np.array([k]), np.array([n]), confidence)
    assert (float(alo[0]), float(ahi[0])) == (lo, hi)


def test_wilson_interval_covers_the_true_rate_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    n, p = 2000, 0.004
    k = rng.binomial(n, p, size=4000)
    lo, hi = stats.wilson_interval(k, np.full_like(k, n))
    coverage = np.mean((lo <= p) & (p <= hi))
    assert 0.93 < coverage < 0.975


def test_logical_error_rate_per_window_adds_up_and_matches_shot_level_recount(sample_run):
    with open_run(sample_run) as run:
        applied = run.blocks.query("applied")
        by_blocks = stats.logical_error_rate(run, windows=4)
        by_shots = stats.logical_error_rate(run, windows=4, source="shots")
        assert by_blocks["n"].sum() == applied["shots"].sum()
        assert by_blocks["k"].sum() == applied["failures"].sum()
        assert by_blocks["k"].tolist() == by_shots["k"].tolist()
        assert len(by_blocks) == 4
        assert (by_blocks["lower"] <= by_blocks["rate"]).all() and (by_blocks["rate"] <= by_blocks["upper"]).all()
        fixed = stats.logical_error_rate(run, window_s=3.0)
        assert (fixed["t_end"] - fixed["t_start"] < 3.0).all()
        assert fixed["n"].sum() == applied["shots"].sum()


def test_detection_statistics_equal_a_direct_count(sample_run):
    with open_run(sample_run) as run:
        ds = stats.detection_statistics(run, max_shots=None)
        bits = run.shots().detection_events.values
        np.testing.assert_allclose(ds["detector_rate"].values, bits.mean(axis=0))
        blocks = run.blocks
        first = bits[:blocks["shots"].iloc[0]]
        assert ds["block_rate"].values[0] == pytest.approx(first.mean())
        assert ds.sizes["stabilizer"] == 8  # d=3: 4 X and 4 Z stabilizers
        assert ds["stabilizer_detectors"].sum() == run.num_detectors
        windowed = stats.detection_statistics(run, max_shots=None, windows=3)
        per_window = windowed["stabilizer_rate_over_time"].values
        assert per_window.shape == (3, 8)
        first_window = blocks.iloc[:4]  # 12 blocks in 3 windows
        rows = bits[:int(first_window["shots"].sum())]
        det = ds["detector_rate"].copy(data=rows.mean(axis=0))
        places = det.to_dataframe().groupby(["x", "y"])["detector_rate"].mean().to_numpy()
        np.testing.assert_allclose(per_window[0], places)
        assert windowed["window_time"].values[1] == blocks["time"].dt.tz_localize(None).to_numpy()[4]
        sampled = stats.detection_statistics(run, max_shots=1000)
        assert sampled.attrs["shots"] <= 1024 and sampled.attrs["blocks_read"] < len(blocks)


def test_latency_percentiles_come_from_the_applied_blocks(sample_run):
    with open_run(sample_run) as run:
        applied = run.blocks.query("applied")
        lat = stats.latency(run)
        expected = applied["t_applied"] - applied["t_acquired"]
        assert lat["latency"]["count"] == len(applied)
        assert lat["latency"]["p50"] == pytest.approx(np.percentile(expected, 50))
        assert lat["latency"]["p99"] == pytest.approx(np.percentile(expected, 99))
        assert lat["decode"]["p50"] == pytest.approx(np.percentile(applied["decode_seconds"], 50))


def test_shadow_disagreement_sums_the_blocks(sample_run):
    with open_run(sample_run) as run:
        applied = run.blocks.query("applied")
        overall, table = stats.shadow_disagreement(run, windows=3)
        assert overall["n"] == applied["shadow_shots"].sum()
        assert overall["k"] == applied["shadow_disagreements"].sum()
        assert table["n"].sum() == overall["n"]


def test_parameter_traces_separate_settings_from_truth(sample_run):
    with open_run(sample_run) as run:
        traces = stats.parameter_traces(run)
        settings = traces[traces["kind"] == "setting"]
        truth = traces[traces["kind"] == "truth"]
        assert set(settings["source"]) == {"rabi_amplitude"}
        assert len(truth) > len(settings)
        assert truth["value"].iloc[0] == 1.0
        outcomes = stats.calibration_outcomes(run)
        assert outcomes.loc["rabi_amplitude"].sum() == len(run.calibration)


def test_not_simulated_runs_have_no_logical_error_rate(sample_run, tmp_path):
    import shutil

    import h5py

    copy = tmp_path / "nosim.h5"
    shutil.copy(sample_run, copy)
    with h5py.File(copy, "r+") as f:
        rows = f["qec/blocks"][:]
        rows["failures"] = -1
        f["qec/blocks"][:] = rows
    with open_run(copy) as run:
        assert not run.simulated
        assert stats.logical_error_rate(run).empty
        assert math.isnan(stats.overall_logical_error_rate(run)["rate"])
