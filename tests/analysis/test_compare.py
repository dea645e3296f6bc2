"""Comparing runs: the statistics on constructed runs whose answers are known, the report's
comparison section and shared colour scales, and ``qplane compare``."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats as sps

from qplane.analysis import Comparison, compare_files, compare_runs, open_run
from qplane.analysis import _figures as figures
from qplane.analysis.compare import format_p, format_ratio
from qplane.analysis.report import write_report
from qplane.analysis.synthetic import write_synthetic_run
from qplane.cli import main
from qplane.errors import QplaneError
from qplane.runfile import RunFileWriter

SHOTS = 10_000
BLOCK = 1_000


def _failure_rows(n: int, fail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, truth) rows, one byte each, where exactly the shots in ``fail`` are wrong."""
    truth = np.zeros((n, 1), dtype=np.uint8)
    truth[::3] = 1
    predictions = truth.copy()
    predictions[fail] ^= 1
    return predictions, truth


def _write(path, detection_events: np.ndarray, predictions: np.ndarray,
           truth: np.ndarray | None) -> str:
    """A run file of 1,000-shot blocks with these shots; ``truth=None``: not simulated."""
    writer = RunFileWriter.create(path, run_id=str(path), config_text="", config_path="<test>",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    for k, start in enumerate(range(0, len(detection_events), BLOCK)):
        rows = slice(start, start + BLOCK)
        row = writer.append_acquired_block(detection_events=detection_events[rows], seq=k,
                                           block_index=k, t_acquired=1.7e9 + k)
        failures = -1 if truth is None else int(np.count_nonzero(predictions[rows] != truth[rows]))
        writer.complete_block(row, predictions=predictions[rows],
                              truth=None if truth is None else truth[rows],
                              t_decoded=1.7e9 + k + 0.001, t_applied=1.7e9 + k + 0.002,
                              decode_seconds=0.0005, failures=failures, worker=b"decoder-0")
    out = writer.path
    writer.close("completed", "test run")
    return out


def _events(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(SHOTS, 1), dtype=np.uint8)


def _fails(seed: int, count: int, exclude: np.ndarray = np.zeros(0, dtype=int)) -> np.ndarray:
    pool = np.setdiff1d(np.arange(SHOTS), exclude)
    return np.random.default_rng(seed).choice(pool, size=count, replace=False)


@pytest.fixture(scope="module")
def independent_runs(tmp_path_factory):
    """30 failures in 10,000 shots against 60 in 10,000, on different detection events."""
    folder = tmp_path_factory.mktemp("independent")
    a = _write(folder / "a.h5", _events(1), *_failure_rows(SHOTS, _fails(1, 30)))
    b = _write(folder / "b.h5", _events(2), *_failure_rows(SHOTS, _fails(2, 60)))
    return a, b


@pytest.fixture(scope="module")
def paired_runs(tmp_path_factory):
    """The same 10,000 shots decoded two ways: 20 shots fail in both, 10 only in A, 40 only in B."""
    folder = tmp_path_factory.mktemp("paired")
    order = np.random.default_rng(7).permutation(SHOTS)
    both, only_a, only_b = order[:20], order[20:30], order[30:70]
    events = _events(3)
    pred_a, truth = _failure_rows(SHOTS, np.concatenate([both, only_a]))
    pred_b, _ = _failure_rows(SHOTS, np.concatenate([both, only_b]))
    return (_write(folder / "a.h5", events, pred_a, truth),
            _write(folder / "b.h5", events, pred_b, truth))


def test_independent_runs_two_proportion_test_and_katz_interval(independent_runs):
    a, b = independent_runs
    with open_run(a) as run_a, open_run(b) as run_b:
        c = compare_runs(run_a, run_b)
    assert c.method == "independent" and "Fisher" in c.test
    assert (c.failures_a, c.shots_a, c.failures_b, c.shots_b) == (30, SHOTS, 60, SHOTS)
    assert c.ratio == pytest.approx(2.0)
    # Fisher's exact p-value, from scipy and from the hypergeometric law directly
    expected = sps.fisher_exact([[30, SHOTS - 30], [60, SHOTS - 60]]).pvalue
    assert c.p_value == pytest.approx(expected, rel=1e-9)
    law = sps.hypergeom(2 * SHOTS, 90, SHOTS)
    pmf = law.pmf(np.arange(91))
    assert c.p_value == pytest.approx(pmf[pmf <= law.pmf(30) * (1 + 1e-7)].sum(), rel=1e-6)
    assert c.p_value < 0.01
    # Katz: exp(ln 2 +- 1.96 sqrt(1/60 - 1/10000 + 1/30 - 1/10000))
    half = sps.norm.ppf(0.975) * math.sqrt(1 / 60 - 1 / SHOTS + 1 / 30 - 1 / SHOTS)
    assert c.lower == pytest.approx(2.0 * math.exp(-half), rel=1e-9)
    assert c.upper == pytest.approx(2.0 * math.exp(half), rel=1e-9)
    assert c.shared_shots == 0 and c.discordant is None
    assert "2 [" in c.describe() and "Fisher" in c.describe()


def test_paired_runs_exact_mcnemar_on_discordant_shots(paired_runs):
    a, b = paired_runs
    with open_run(a) as run_a, open_run(b) as run_b:
        c = compare_runs(run_a, run_b)
        forced = compare_runs(run_a, run_b, paired=False)
    assert c.method == "paired" and "McNemar" in c.test
    assert c.discordant == (10, 40) and c.shared_shots == SHOTS
    assert (c.failures_a, c.failures_b) == (30, 60)
    assert c.ratio == pytest.approx(2.0)
    assert c.p_value == pytest.approx(sps.binomtest(40, 50, 0.5).pvalue, rel=1e-12)
    assert c.p_value == pytest.approx(sps.binomtest(10, 50, 0.5).pvalue, rel=1e-12)
    # the paired log interval: variance (b + c) / ((a + b)(a + c)) = 50 / (30 * 60)
    half = sps.norm.ppf(0.975) * math.sqrt(50 / (30 * 60))
    assert (c.lower, c.upper) == pytest.approx((2 * math.exp(-half), 2 * math.exp(half)), rel=1e-9)
    # the pairing is what makes it sharper than the independent test on the same counts
    assert forced.method == "independent" and c.p_value < forced.p_value
    assert c.upper - c.lower < forced.upper - forced.lower


def test_paired_is_refused_for_runs_that_share_no_shots(independent_runs):
    a, b = independent_runs
    with open_run(a) as run_a, open_run(b) as run_b:
        with pytest.raises(QplaneError, match="do not share shots"):
            compare_runs(run_a, run_b, paired=True)


def test_identical_runs_ratio_one_p_one(paired_runs):
    a, _ = paired_runs
    with open_run(a) as run_a, open_run(a) as again:
        c = compare_runs(run_a, again)
    assert c.method == "paired" and c.discordant == (0, 0)
    assert (c.ratio, c.lower, c.upper, c.p_value) == (1.0, 1.0, 1.0, 1.0)


def test_runs_without_truth_have_no_logical_error_rate(tmp_path, independent_runs):
    events = _events(4)
    hardware = _write(tmp_path / "hw.h5", events, np.zeros((SHOTS, 1), dtype=np.uint8), None)
    with open_run(independent_runs[0]) as run_a, open_run(hardware) as run_b:
        c = compare_runs(run_a, run_b)
    assert c.method == "unavailable" and math.isnan(c.ratio) and math.isnan(c.p_value)
    assert "hw has no ground truth" in c.note
    assert c.describe() == "hw / a: no comparison: hw has no ground truth (not simulated), " \
                           "so no logical error rate"


def test_zero_failures_keep_a_finite_interval():
    from qplane.analysis.compare import katz_interval, paired_interval

    lo, r, hi = katz_interval(0, 1000, 5, 1000)
    assert r == math.inf and 0 < lo < hi < math.inf
    lo, r, hi = paired_interval(0, 0, 0)
    assert math.isnan(r) and 0 < lo < hi


def test_compare_cli_prints_ratio_interval_and_p_value(independent_runs, paired_runs, capsys):
    assert main(["compare", *independent_runs]) == 0
    out = capsys.readouterr().out
    assert "b / a" in out and "ratio b / a: 2 " in out and "Fisher" in out
    expected = sps.fisher_exact([[30, SHOTS - 30], [60, SHOTS - 60]]).pvalue
    assert f"p-value: {format_p(expected)}" in out
    assert main(["compare", *paired_runs]) == 0
    out = capsys.readouterr().out
    assert "McNemar" in out and "10 failed only in a, 40 only in b" in out
    assert main(["compare", "--json", *paired_runs]) == 0
    assert '"method": "paired"' in capsys.readouterr().out
    assert main(["compare", paired_runs[0]]) == 2
    assert "at least two run files" in capsys.readouterr().err


def test_compare_files_every_pair(independent_runs, paired_runs):
    comparisons = compare_files([*independent_runs, paired_runs[1]])
    assert [(c.label_a, c.label_b) for c in comparisons] == [("a", "b"), ("a", "b"), ("b", "b")]
    assert all(isinstance(c, Comparison) for c in comparisons)


def _sections(html: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="([a-z-]+)">(.*?)</section>', html, flags=re.S))


@pytest.mark.slow  # two synthetic runs (stim + PyMatching) and a two-run report
def test_report_gives_the_ratio_and_draws_both_maps_on_one_scale(tmp_path):
    # the same seed samples the same shots; two decoders make them a paired comparison
    a = write_synthetic_run(tmp_path / "correlated.h5", blocks=6, shots_per_block=512, p=0.006,
                            calibration_every=0, seed=5)
    b = write_synthetic_run(tmp_path / "plain.h5", blocks=6, shots_per_block=512, p=0.006,
                            calibration_every=0, seed=5, correlated=False)
    c_ind = write_synthetic_run(tmp_path / "noisy.h5", blocks=6, shots_per_block=512, p=0.012,
                                calibration_every=0, seed=6)
    html = open(write_report([a, b, c_ind], out_dir=tmp_path / "out"), encoding="utf-8").read()
    sections = _sections(html)
    comparisons = compare_files([a, b, c_ind])
    assert [c.method for c in comparisons] == ["paired", "independent", "independent"]
    for c in comparisons:
        assert f"{c.label_b} / {c.label_a}" in sections["comparison"]
        assert (f"{format_ratio(c.ratio)} [{format_ratio(c.lower)}, {format_ratio(c.upper)}]"
                in sections["comparison"])
        assert format_p(c.p_value) in sections["comparison"]
    assert "McNemar" in sections["comparison"] and "Fisher" in sections["comparison"]
    # one colour scale for every run's stabilizer map, stated on the page and used by the figure
    stats = []
    for path in (a, b, c_ind):
        with open_run(path) as run:
            from qplane.analysis import detection_statistics
            stats.append(detection_statistics(run))
    vmin, vmax = figures.colour_scale(stats, "stabilizer_rate")
    scale = re.search(r'data-figure="detection_heatmap" data-vmin="([^"]+)" data-vmax="([^"]+)"',
                      sections["detection-events"])
    assert (float(scale.group(1)), float(scale.group(2))) == pytest.approx((vmin, vmax), rel=1e-5)
    assert "shared by every run" in sections["detection-events"]
    fig = figures.detection_heatmap_figure([(str(i), ds) for i, ds in enumerate(stats)])
    clims = {coll.get_clim() for ax in fig.axes for coll in ax.collections
             if coll.get_array() is not None}  # the maps (and colour bars), not decorations
    assert clims == {(vmin, vmax)}
    fig = figures.stabilizer_time_figure([(str(i), ds, 0.0) for i, ds in enumerate(stats)])
    clims = {mesh.get_clim() for ax in fig.axes for mesh in ax.collections
             if mesh.get_array() is not None}
    assert clims == {figures.colour_scale(stats, "stabilizer_rate_over_time")}
    assert vmin < vmax


def test_single_run_report_says_there_is_nothing_to_compare(independent_runs, tmp_path):
    html = open(write_report([independent_runs[0]], out_dir=tmp_path), encoding="utf-8").read()
    assert "give two or more run files to compare" in _sections(html)["comparison"]
