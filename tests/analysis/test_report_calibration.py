"""The report's calibration section reads at a glance: one thin panel per setting that changed
(never one per simulated-truth trace), one colour per outcome, node figures at a readable size."""

import struct

from qplane.analysis import _figures as figures
from qplane.analysis.report import write_report
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.record import CalibrationRecorder
from qplane.calibration.synthetic import SyntheticBackend
from qplane.runfile.writer import RunFileWriter


def _png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def _drift_like_run(tmp_path):
    """A run file shaped like a drift run's: truth for 196 settings, changes on a few."""
    path = tmp_path / "drift.h5"
    writer = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    rec = CalibrationRecorder(writer.append_table)
    backend = SyntheticBackend(qubits=("q0", "q1"), seed=3)
    backend.settings["q1.pi_amplitude"] *= 1.04
    graph = CalibrationGraph.default(backend, backend.ledger(on_change=rec.on_change),
                                     on_run=rec.on_run)
    graph.calibrate("rabi", "q1")
    graph.check_data("ramsey", "q0")
    t0 = 1_764_597_600.0
    for k in range(12):
        for q in range(49):
            for control in ("drive_frequency", "pi_amplitude", "readout_angle",
                            "readout_threshold"):
                writer.append_table("/simulation/truth", time=t0 + 5 * k, device_time=300.0 * k,
                                    setting=f"q{q}.{control}", value=float(q + k))
    writer.close("completed", "test")
    return path


def test_the_timeline_has_a_panel_per_changed_setting_only(tmp_path):
    import pandas as pd

    traces = pd.DataFrame({"t": [0.0, 1.0] * 100 + [0.5],
                           "parameter": [f"q{i // 2}.x" for i in range(200)] + ["q0.x"],
                           "value": [1.0] * 201, "kind": ["truth"] * 200 + ["setting"],
                           "source": ["truth"] * 200 + ["ramsey"]})
    runs = pd.DataFrame({"t": [0.2, 0.4], "node": ["ramsey", "rabi"],
                         "outcome": ["success", "in_spec"]})
    fig = figures.calibration_figure("run", runs, traces, 0.0)
    assert len(fig.axes) == 2          # node runs + the one setting that changed
    width, height = _png_size(figures.png_bytes(fig))
    assert height < 800 and width < 1000


def test_outcomes_have_distinct_colours():
    colours = figures._OUTCOME_COLOURS
    assert len(set(colours.values())) == len(colours)


def test_a_drift_run_report_is_small_and_its_figures_readable(tmp_path):
    page = write_report([_drift_like_run(tmp_path)], out_dir=tmp_path / "report")
    html = open(page, encoding="utf-8").read()
    assert len(html) < 1_000_000
    timeline = (tmp_path / "report" / "drift.calibration0.png").read_bytes()
    width, height = _png_size(timeline)
    assert height < 1500, (width, height)
    assert "node" in html
    # The stored node figures are large enough to read (they were 302 × 201 px).
    import base64
    import re

    figs = re.findall(r'<figure class="node"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"',
                      html)
    assert figs
    w, h = _png_size(base64.b64decode(figs[0]))
    assert w >= 400 and h >= 260
