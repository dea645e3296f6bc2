"""The live gain of learned weights over nominal: on the dashboard and in the report.

A real pipeline run (d = 3, device noise, learned weights with a small window) is decoded
again, block by block, with the nominal model; the gain the report and the dashboard show is
the nominal reference's failures over the applied decoder's on the same shots, with McNemar.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from qplane.analysis.gain import LiveGainTracker, applied_blocks, live_gain, reference_decodings
from qplane.analysis.live import RunMonitor, format_line
from qplane.config import load_config
from qplane.pipeline.launcher import run_pipeline
from qplane.runfile import open_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    from qplane.sim_instruments.lab import sim_lab_config

    folder = tmp_path_factory.mktemp("gain")
    cfg = sim_lab_config(distance=3, rounds=3, seed=3, physical_error_rate=0.004,
                         shots_per_block=500, drift=False)
    cfg["qplane"].update({
        "run": {"output_dir": str(folder), "duration": None},
        "acquisition": {"shots_per_block": 500, "max_in_flight": 4, "correction_timeout": 20.0},
        "decoding": {"workers": 1, "shadow_fraction": 0.2,
                     "decoder": {"type": "pymatching-correlated", "weights": "learned"},
                     "noise": {"window_shots": 3000, "refresh_shots": 2000, "min_shots": 2000,
                               "groups": 4}}})
    path = folder / "learned.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = folder / "run.h5"
    outcome = run_pipeline(load_config(path), out_path=str(out), duration=None, max_blocks=30)
    assert outcome.exit_code == 0
    return out


def test_the_gain_is_the_nominal_reference_against_what_was_applied(learned_run):
    from qplane.decoder import make_decoder

    with open_run(learned_run) as run:
        g = live_gain(run, max_blocks=1000)
        blocks = applied_blocks(run)
        nominal = make_decoder("pymatching-correlated").compile_decoder_for_dem(
            dem=run.circuit().detector_error_model(decompose_errors=True))
        only_nom = only_applied = wrong = 0
        for start, n in zip(blocks["shot_start"], blocks["shots"]):
            dets = run.read_shots("detection_events", start, start + n)
            truth = run.read_shots("truth", start, start + n)
            a = np.any(run.read_shots("predictions", start, start + n) != truth, axis=1)
            b = np.any(nominal.decode_shots_bit_packed(
                bit_packed_detection_event_data=dets) != truth, axis=1)
            only_nom += int(np.sum(b & ~a))
            only_applied += int(np.sum(a & ~b))
            wrong += int(a.sum())
        assert g is not None and g["label"] == "pymatching-correlated nominal"
        assert g["blocks"] == len(blocks["seq"]) and g["learned_blocks"] > 0
        assert (g["only_nominal_wrong"], g["only_applied_wrong"]) == (only_nom, only_applied)
        assert g["gain"] == pytest.approx((wrong + only_nom - only_applied) / wrong)
        assert 0 < g["mcnemar_p"] <= 1 and g["per_window"]
        # the blocks decoded with the nominal model agree with the reference exactly
        first = np.flatnonzero(blocks["noise_version"] == 0)
        same = reference_decodings(run, {"nominal": lambda _b: nominal}, rows=first)
        assert same["overall"]["nominal"]["only_a"] == same["overall"]["nominal"]["only_b"] == 0


def test_the_dashboard_and_the_report_show_the_gain(learned_run, tmp_path):
    from qplane.analysis.report import write_report

    with open_run(learned_run) as run:
        want = live_gain(run, max_blocks=1000)
    tracker = LiveGainTracker(max_blocks_per_update=5)
    with open_run(learned_run) as run:
        first = tracker.update(run)
        assert first["blocks"] == 5
        while tracker.update(run)["blocks"] < want["learned_blocks"]:
            pass
    monitor = RunMonitor(str(learned_run), interval=0)
    snap = monitor.update({})
    assert snap.live_gain is not None and snap.live_gain_p is not None
    assert "learned gain" in format_line(snap)
    html = open(write_report([str(learned_run)], out_dir=tmp_path)).read()
    section = html[html.index('id="noise"'):html.index('id="calibration"')]
    assert "live gain of learned weights" in section and "McNemar" in section
