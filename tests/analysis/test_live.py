"""The live view: snapshots from the pipeline's dict and from a run file, plain and rich."""

from __future__ import annotations

import io

import pytest

from qplane.analysis import open_run
from qplane.analysis.live import LiveStats, LiveView, WorkerHealth, format_line, snapshot_from_run
from qplane.cli import main
from tests.analysis.conftest import stepped_writer

PIPELINE_STATS = {  # the keys qplane.pipeline's instrument server publishes
    "elapsed": 4.0, "blocks_acquired": 12, "blocks_applied": 10, "blocks_lost": 1,
    "in_flight": 2, "duplicates": 0, "shots": 10240, "failures": 50, "latency_p50": 0.002,
    "latency_p99": 0.009, "decode_p50": 0.0005, "decode_p99": 0.001, "shadow_shots": 500,
    "shadow_disagreements": 3, "rejected": 0, "workers": ["decoder-0", "decoder-1"],
    "acquiring": True,
}


def test_from_mapping_reads_the_pipeline_stats():
    s = LiveStats.from_mapping(PIPELINE_STATS, calibration_runs=2)
    assert (s.blocks, s.shots, s.failures, s.in_flight, s.blocks_lost) == (10, 10240, 50, 2, 1)
    assert s.logical_error_rate == pytest.approx(50 / 10240)
    lo, hi = s.logical_error_interval
    assert lo < s.logical_error_rate < hi
    assert s.shots_per_second == pytest.approx(2560)
    assert [w.name for w in s.workers] == ["decoder-0", "decoder-1"]
    assert s.calibration_runs == 2


def test_plain_lines_carry_every_number_an_operator_needs():
    s = LiveStats.from_mapping(PIPELINE_STATS)
    line = format_line(s)
    for part in ("blocks 10", "shots 10,240", "LER 4.88e-03", "p50 2.00 ms", "p99 9.00 ms",
                 "shadow 3/500", "LOST 1", "in flight 2", "decoder-0:ok"):
        assert part in line, part
    assert "LER" not in format_line(LiveStats(elapsed_s=1.0, shots=10))  # no truth: no rate


def test_plain_view_prints_at_most_once_per_interval_and_the_last_on_close():
    out = io.StringIO()
    with LiveView(out, plain=True, interval=3600) as view:
        for blocks in (1, 2, 3):
            view.update(LiveStats(elapsed_s=float(blocks), blocks=blocks))
    lines = out.getvalue().splitlines()
    assert [line.split()[2:4] for line in lines] == [["blocks", "1"], ["blocks", "3"]]


def test_on_stats_is_a_pipeline_callback():
    out = io.StringIO()
    with LiveView(out, plain=True, interval=0) as view:
        view.on_stats(PIPELINE_STATS)
    assert "shots 10,240" in out.getvalue()


def test_not_a_terminal_means_plain_lines():
    assert LiveView(io.StringIO()).plain


def test_rich_dashboard_shows_the_same_numbers():
    out = io.StringIO()
    stats = LiveStats.from_mapping(PIPELINE_STATS, workers=(
        WorkerHealth("decoder-0", "ok", 6, 0.1), WorkerHealth("decoder-1", "dead", 4, 9.0)))
    with LiveView(out, plain=False) as view:
        view.update(stats)
    text = out.getvalue()
    for part in ("logical error rate", "4.883e-03", "shadow disagreement", "decoder-1", "dead"):
        assert part in text, part


def test_snapshot_from_a_run_file_agrees_with_the_file(sample_run):
    with open_run(sample_run) as run:
        s = snapshot_from_run(run)
        applied = run.blocks.query("applied")
        assert s.state == "completed" and s.run_id == run.run_id
        assert s.blocks == len(applied) and s.shots == applied["shots"].sum()
        assert s.failures == applied["failures"].sum()
        assert s.shadow_disagreements == applied["shadow_disagreements"].sum()
        assert s.calibration_runs == len(run.calibration) and "rabi_amplitude" in s.calibration_last
        assert {w.name: w.state for w in s.workers} == {"decoder-0": "stopped", "decoder-1": "stopped"}
        assert s.blocks_lost == 1
        assert any("sequence gap" in p for p in s.problems)


@pytest.mark.slow  # uses the killed-writer fixture
def test_snapshot_of_a_killed_writer_flags_it(killed_run):
    path, _ = killed_run
    with open_run(path) as run:
        newest = float(run.blocks["t_acquired"].max())
        s = snapshot_from_run(run, now=newest + 60.0, stale_after_s=10.0)
    assert s.state == "running"
    assert any("no new block for 60 s" in p for p in s.problems)
    assert all(w.state == "hung" for w in s.workers)


def test_watch_command_once(sample_run, capsys):
    assert main(["watch", sample_run, "--once", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "completed" in out and "LER" in out and "sequence gap" in out



@pytest.mark.slow  # starts a writer process
def test_watch_follows_a_run_being_written_until_it_ends(tmp_path):
    from qplane.analysis.live import watch

    path = str(tmp_path / "live.h5")
    with stepped_writer(path, blocks=5, pauses=(2,)) as proc:
        assert proc.stdout.readline().strip() == "2"
        out = io.StringIO()
        with LiveView(out, plain=True, interval=0) as view:
            live = watch(path, view=view, interval=0, max_updates=1)
        assert (live.state, live.blocks) == ("running", 3)
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "closed"
        assert proc.wait(timeout=60) == 0
        with LiveView(out, plain=True, interval=0) as view:
            final = watch(path, view=view, interval=0)
        assert (final.state, final.blocks) == ("completed", 5)
        assert "completed blocks 5" in out.getvalue()


def test_nothing_prints_none_and_an_exact_zero_bound_prints_0():
    no_calibration = LiveStats.from_mapping(PIPELINE_STATS)
    none_yet = LiveStats(elapsed_s=1.0, shots=1000, failures=0, calibration_runs=0)
    for s in (no_calibration, none_yet, LiveStats(elapsed_s=0.0)):
        out = io.StringIO()
        with LiveView(out, plain=False) as view:
            view.update(s)
        assert "None" not in format_line(s) + out.getvalue()
    assert "no calibration" in format_line(no_calibration)
    assert "calibration 0 node runs, 0 updates" in format_line(none_yet)
    assert "LER 0.00e+00 [0, " in format_line(none_yet)


def test_server_stats_carry_each_workers_blocks_and_last_seen():
    import time

    stats = dict(PIPELINE_STATS, worker_blocks={"decoder-0": 6, "decoder-1": 4},
                 worker_last_seen={"decoder-0": time.time(), "decoder-1": time.time() - 5})
    workers = {w.name: w for w in LiveStats.from_mapping(stats).workers}
    assert (workers["decoder-0"].blocks, workers["decoder-1"].blocks) == (6, 4)
    assert 4 < workers["decoder-1"].last_seen_s < 60


def test_launcher_process_states_tell_stopped_from_dead_from_hung(sample_run):
    with open_run(sample_run) as run:
        end = float(run.blocks["t_applied"].max())
        s = snapshot_from_run(run, stale_after_s=10.0, processes={
            "recorder": {"state": "running", "detail": "", "last_seen": None},
            "instrument_server": {"state": "running", "detail": "", "last_seen": end - 60.0},
            "decoder-0": {"state": "stopped", "detail": "decoder-0 (pid 1) exited with code 0",
                          "last_seen": None},
            "decoder-1": {"state": "dead", "last_seen": None,
                          "detail": "decoder-1 (pid 2) killed by signal 9 (SIGKILL)"},
        })
        applied = run.blocks.query("applied")
    workers = {w.name: w for w in s.workers}
    assert list(workers) == ["instrument_server", "decoder-0", "decoder-1"]  # not the recorder
    assert {n: w.state for n, w in workers.items()} == {
        "instrument_server": "hung", "decoder-0": "stopped", "decoder-1": "dead"}
    assert workers["decoder-0"].blocks == int((applied["worker"] == "decoder-0").sum())
    assert workers["decoder-0"].last_seen_s is not None and workers["instrument_server"].blocks is None
    assert any("killed by signal 9" in p for p in s.problems)
    out = io.StringIO()
    with LiveView(out, plain=False) as view:
        view.update(s)
    assert "hung" in out.getvalue() and "SIGKILL" in out.getvalue()


def test_a_busy_process_is_shown_busy_with_the_launchers_detail(sample_run):
    with open_run(sample_run) as run:
        end = float(run.blocks["t_applied"].max())
        s = snapshot_from_run(run, stale_after_s=10.0, processes={
            "instrument_server": {"state": "running", "detail": "", "last_seen": end},
            "decoder-0": {"state": "busy", "last_seen": end,
                          "detail": "no progress for 3.2 s (stall_timeout 15.0 s)"},
        })
    workers = {w.name: w for w in s.workers}
    assert workers["decoder-0"].state == "busy" and "no progress" in workers["decoder-0"].detail
    out = io.StringIO()
    with LiveView(out, plain=False) as view:
        view.update(s)
    assert "busy" in out.getvalue()
