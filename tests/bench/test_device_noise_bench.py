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
