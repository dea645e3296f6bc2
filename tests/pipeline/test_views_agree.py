"""One source of truth: on a real run with calibration, ``qplane run``'s dashboard, ``qplane
watch --once`` and the report show the same blocks, shots, logical error rate and interval,
node runs, updates and shadow counts, and the dashboard never prints "None"."""

import io
import re

import pytest
import yaml

from qplane.analysis import open_run, stats
from qplane.analysis.live import LiveView, RunMonitor, format_line, watch
from qplane.analysis.report import RunStats, write_report
from qplane.cli import main
from qplane.config import load_config
from qplane.pipeline.launcher import Launcher
from qplane.sim_instruments.lab import sim_lab_config
from tests.pipeline.test_closed_loop import wait_for_stats

pytestmark = pytest.mark.slow

#: What every view must agree on.
FIELDS = ("state", "run_id", "elapsed_s", "blocks", "blocks_acquired", "shots", "failures",
          "logical_error_rate", "logical_error_interval", "shadow_shots", "shadow_disagreements",
          "calibration_runs", "parameter_updates", "parameter_changes", "latency_p50_s",
          "latency_p99_s", "blocks_lost", "errors")


def _numbers(snapshot):
    return {f: getattr(snapshot, f) for f in FIELDS}


def _rendered(snapshot) -> str:
    out = io.StringIO()
    with LiveView(out, plain=False) as view:
        view.update(snapshot)
    return format_line(snapshot) + "\n" + out.getvalue()


def test_dashboard_watch_and_report_agree_on_a_recorded_run(tmp_path, capsys):
    document = sim_lab_config(distance=3, drift=True, clock_speedup=600.0, seed=5)
    document["qplane"] = dict(document.get("qplane", {}))
    document["qplane"].update({
        "qpu": "qpu", "acquisition": {"shots_per_block": 256},
        "calibration": {"enabled": True, "second_opinion": False, "figures": False},
        "decoding": {"shadow_fraction": 0.5},
    })
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(document))
    config = load_config(path)
    out = str(tmp_path / "cal.h5")
    monitor = RunMonitor(out, interval=0, calibration=True)  # what `qplane run` shows
    seen = []
    launcher = Launcher(config, out_path=out, duration=None,
                        on_stats=lambda s: seen.append(monitor.update(s)))
    try:
        launcher.start()
        # until the dashboard (the file) shows node runs and an update
        wait_for_stats(launcher, lambda s: seen and (seen[-1].calibration_runs or 0) >= 2
                       and seen[-1].parameter_updates >= 1 and seen[-1].blocks >= 20,
                       max_polls=1200)
        launcher.interrupt()
        end_state, reason = launcher.watch()
        launcher.shutdown(end_state, reason)
        dashboard = monitor.final(launcher.processes(), launcher.last_stats)
    finally:
        launcher.close()

    # the dashboard read the file while the run was live, and never printed "None"
    assert any(s.state == "running" and s.calibration_runs is not None for s in seen)
    for snapshot in seen + [dashboard]:
        text = _rendered(snapshot)
        assert "None" not in text, text
    assert "node runs" in format_line(dashboard) and "no calibration" not in format_line(dashboard)

    # watch --once: the same numbers
    view_out = io.StringIO()
    with LiveView(view_out, plain=True, interval=0) as view:
        watched = watch(out, view=view, once=True)
    assert _numbers(watched) == _numbers(dashboard)
    assert dashboard.state == "interrupted" and dashboard.calibration_runs >= 1
    assert dashboard.blocks >= 20 and dashboard.shadow_shots > 0 and dashboard.failures is not None
    assert main(["watch", out, "--once", "--plain"]) == 0
    line = capsys.readouterr().out
    assert f"blocks {dashboard.blocks:,} shots {dashboard.shots:,}" in line
    assert f"calibration {dashboard.calibration_runs} node runs, {dashboard.parameter_updates} updates" in line

    # workers: blocks and last seen from the run, exit states from the launcher
    workers = {w.name: w for w in dashboard.workers}
    assert set(workers) == {"instrument_server", "decoder-0", "calibration"}
    assert all(w.state == "stopped" and "exited with code 0" in w.detail for w in workers.values())
    assert workers["decoder-0"].blocks == dashboard.blocks
    assert workers["decoder-0"].last_seen_s is not None

    # the report: the same snapshot, and the file's own tables say the same
    with open_run(out) as run:
        report = RunStats.compute(run, max_shots=10_000)
        summary = run.summary()
        ler = stats.overall_logical_error_rate(run)
        shadow, _ = stats.shadow_disagreement(run)
        updates = run.parameters["update"].nunique()
    assert _numbers(report.live) == _numbers(dashboard)
    assert summary["calibration_runs"] == dashboard.calibration_runs
    assert summary["parameter_changes"] == dashboard.parameter_changes
    assert updates == dashboard.parameter_updates
    assert (ler["k"], ler["n"]) == (dashboard.failures, dashboard.shots)
    assert (ler["lower"], ler["upper"]) == pytest.approx(dashboard.logical_error_interval)
    assert (shadow["k"], shadow["n"]) == (dashboard.shadow_disagreements, dashboard.shadow_shots)
    html = open(write_report([out], out_dir=tmp_path / "report", max_shots=10_000),
                encoding="utf-8").read()
    row = re.search(r"<td>blocks corrected</td>\s*<td>([^<]*)</td>", html)
    assert row and row.group(1) == f"{dashboard.blocks:,}"
    assert f"{dashboard.calibration_runs} node runs, {dashboard.parameter_updates} updates" in html
    assert f"({dashboard.failures:,} / {dashboard.shots:,})" in html
    assert "None" not in re.search(r'<section id="summary">(.*?)</section>', html, re.S).group(1)
