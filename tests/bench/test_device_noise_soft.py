"""``qplane bench device_noise``'s neural-soft rows: the shipped network gating shots to
Tesseract, compiled for the LEARNED DEM, compared on the same shots with correlated PyMatching
given the same learned DEM; and their summary against the target."""

import argparse
import json

import pytest

from qplane.bench import device_noise
from qplane.bench.tables import _device_noise

pytest.importorskip("tesseract_decoder")


def test_neural_soft_rows_use_the_learned_dem_and_are_paired_with_correlated_matching(tmp_path):
    ap = argparse.ArgumentParser()
    device_noise.add_arguments(ap)
    out = tmp_path / "device_noise.json"
    args = ap.parse_args(["--distances", "3", "--devices", "miscalibrated", "--bases", "Z",
                          "--shots", "800", "--train", "30000", "--neural-shots", "0",
                          "--soft-shots", "400", "--no-timing", "--drift-windows", "0",
                          "--estimators", "pairwise", "--out", str(out)])
    assert device_noise.main(args) == 0
    data = json.loads(out.read_text())
    rows = {r["decoder"]: r for r in data["cases"][0]["rows"]}
    soft = rows["neural-soft/learned-pairwise-30k"]
    assert soft["shots"] == 400 and soft["weights"] == "learned-pairwise-30k"
    assert 0 < soft["gated_fraction"] < 1
    v = soft["vs_correlated"]
    # the paired counts are consistent with both decoders' errors on the same 400 shots
    assert soft["errors"] - v["only_this_wrong"] == v["correlated_errors"] - v["only_correlated_wrong"]
    assert v["correlated_errors"] <= rows["pymatching-correlated/learned-pairwise-30k"]["errors"]
    summary = data["measured"]["neural_soft_vs_correlated_learned"]
    s = summary["miscalibrated_d3_learned-pairwise-30k"]
    assert (s["errors"], s["only_this_wrong"]) == (soft["errors"], v["only_this_wrong"])
    assert data["soft_shots"] == 400
    assert "neural-soft" in _device_noise(data)
