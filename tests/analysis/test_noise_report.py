"""The report's learned-noise section: each stored model against nominal, per stabilizer."""

from __future__ import annotations

import os

from qplane.analysis import write_report
from qplane.analysis.noise import noise_summary
from qplane.runfile import open_run

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


def test_the_noise_section_lists_every_model_and_the_worst_stabilizers(tmp_path):
    path = os.path.join(DATA, "run_v3.h5")
    with open_run(path) as run:
        n = noise_summary(run)
        model = run.noise_models[0]
    assert [m["hash"] for m in n["models"]] == [model.hash]
    assert 0 < n["models"][0]["nominal_detection_rate"] < 0.5
    assert len(n["stabilizers"]) == 5
    ratios = [s["last_ratio"] for s in n["stabilizers"]]
    assert ratios == sorted(ratios, reverse=True)
    html = open(write_report([path], out_dir=tmp_path)).read()
    section = html[html.index('id="noise"'):html.index('id="calibration"')]
    assert "1 learned noise model(s)" in section and "(4, 6)" in section


def test_a_run_without_learned_models_says_so(tmp_path):
    path = os.path.join(DATA, "run_v2.h5")
    with open_run(path) as run:
        assert noise_summary(run) == {"models": [], "stabilizers": []}
    html = open(write_report([path], out_dir=tmp_path)).read()
    assert "no learned noise model" in html
