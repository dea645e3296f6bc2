"""``qplane bench device_noise`` on a few shots: the rows, the targets' summary, and a resumed
run that keeps the cases its partial file holds."""

import argparse
import json

import pytest

from qplane.bench import device_noise
from qplane.bench.tables import _device_noise


def _args(out, **kw):
    ap = argparse.ArgumentParser()
    device_noise.add_arguments(ap)
    argv = ["--distances", "3", "--devices", "uniform", "--bases", "Z", "--shots", "3000",
            "--train", "2000", "30000", "--neural-shots", "0", "--no-timing",
            "--drift-windows", "0", "--estimators", "pairwise", "full", "full-plain",
            "--out", str(out)]
    for k, v in kw.items():
        argv += [f"--{k}"] + ([] if v is True else [str(v)])
    return ap.parse_args(argv)


def test_a_small_grid_summarises_the_targets_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "device_noise.json"
    assert device_noise.main(_args(out)) == 0
    data = json.loads(out.read_text())
    assert data["complete"] and len(data["cases"]) == 1
    rows = {r["decoder"]: r for r in data["cases"][0]["rows"]}
    for est in ("pairwise", "full", "full-plain"):
        for matcher in ("pymatching", "pymatching-correlated"):
            assert f"{matcher}/learned-{est}-30k" in rows
    # uniform noise: the truth on the nominal structure is the nominal model itself
    assert rows["pymatching/true-on-nominal"]["errors"] == rows["pymatching/nominal"]["errors"]
    m = data["measured"]
    assert {"pymatching-correlated/full", "pymatching/full-plain"} <= set(
        m["learned_30k_over_true_worst"])
    assert "miscalibrated_d3_correlated_full_30k_gain" not in m     # no miscalibrated case here
    assert "learned from 30k" in _device_noise(data).lower()

    # a resumed run with the same settings decodes nothing again
    def refuse(*a, **k):
        raise AssertionError("a case the file holds was run again")

    monkeypatch.setattr(device_noise, "bench_case", refuse)
    assert device_noise.main(_args(out, resume=out)) == 0
    assert json.loads(out.read_text())["cases"] == data["cases"]
    with pytest.raises(AssertionError, match="run again"):   # other settings: every case runs
        device_noise.main(_args(out, resume=out, shots=2500))


def test_add_to_merges_a_new_estimators_rows_into_the_same_shots(tmp_path):
    base = tmp_path / "base.json"
    assert device_noise.main(_args(base)) == 0
    merged = tmp_path / "merged.json"
    args = _args(merged, **{"add-to": base})
    args.estimators, args.train = ["hybrid"], [30_000]
    assert device_noise.main(args) == 0
    before, after = json.loads(base.read_text()), json.loads(merged.read_text())
    rows = {r["decoder"]: r for r in after["cases"][0]["rows"]}
    assert "pymatching-correlated/learned-hybrid-30k" in rows
    kept = {r["decoder"]: r for r in before["cases"][0]["rows"]}
    assert all(rows[k] == v for k, v in kept.items())          # the file's rows are kept
    assert after["estimators"] == ["pairwise", "full", "hybrid", "full-plain"]
    assert "pymatching-correlated/hybrid" in after["measured"]["learned_30k_over_true_worst"]
    # hybrid decodes uncorrelated matching with the pairwise edge totals
    assert (rows["pymatching/learned-hybrid-30k"]["errors"]
            == rows["pymatching/learned-pairwise-30k"]["errors"])
    other = _args(tmp_path / "x.json", **{"add-to": base, "shots": 2500})
    other.estimators = ["hybrid"]
    with pytest.raises(SystemExit, match="other shots"):
        device_noise.main(other)


def test_add_to_relabels_an_estimators_earlier_rows_before_adding_the_rerun(tmp_path):
    base = tmp_path / "base.json"
    assert device_noise.main(_args(base)) == 0
    merged = tmp_path / "merged.json"
    args = _args(merged, **{"add-to": base})
    args.estimators, args.train, args.relabel = ["full"], [30_000], ["full=full-normal"]
    assert device_noise.main(args) == 0
    before = {r["decoder"]: r for r in json.loads(base.read_text())["cases"][0]["rows"]}
    after = json.loads(merged.read_text())
    rows = {r["decoder"]: r for r in after["cases"][0]["rows"]}
    for matcher in ("pymatching", "pymatching-correlated"):
        old = before[f"{matcher}/learned-full-30k"]
        renamed = rows[f"{matcher}/learned-full-normal-30k"]
        assert renamed["estimator"] == "full-normal" and renamed["errors"] == old["errors"]
        assert rows[f"{matcher}/learned-full-30k"]["estimator"] == "full"    # the rerun's row
    assert "pymatching/learned-full-normal-2k" in rows                      # every shot count
    assert "full-normal" in after["estimators"] and after["added"][-1]["relabelled"]
    assert "pymatching-correlated/full-normal" in after["measured"]["learned_30k_over_true_worst"]


def test_rows_from_adds_earlier_runs_rows_without_decoding(tmp_path, monkeypatch):
    base = tmp_path / "base.json"
    assert device_noise.main(_args(base)) == 0
    extra = tmp_path / "extra.json"
    args = _args(extra)
    args.estimators, args.train = ["hybrid"], [30_000]
    assert device_noise.main(args) == 0

    def refuse(*a, **k):
        raise AssertionError("--rows-from decoded a case")

    monkeypatch.setattr(device_noise, "bench_case", refuse)
    merged = tmp_path / "merged.json"
    args = _args(merged, **{"add-to": base})
    args.rows_from = [str(extra)]
    assert device_noise.main(args) == 0
    rows = {r["decoder"] for r in json.loads(merged.read_text())["cases"][0]["rows"]}
    assert {"pymatching-correlated/learned-hybrid-30k", "pymatching/learned-full-30k"} <= rows
    args.add_to = None
    with pytest.raises(SystemExit, match="needs --add-to"):
        device_noise.main(args)
