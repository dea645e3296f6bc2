"""`qplane calibration history`: real changes only by default, human times, truth behind a flag,
and quiet when the reader of its pipe goes away."""

import os
import subprocess
import sys

from qplane.calibration.updates import SettingChange
from qplane.cli import main
from qplane.runfile.writer import RunFileWriter

T0 = 1_764_597_600.0  # 2025-12-01 14:00:00 UTC


def _file(tmp_path, changes=3, truths=5):
    path = tmp_path / "run.h5"
    writer = RunFileWriter.create(path, run_id="r", config_text="", config_path="c.yaml",
                                  station_snapshot={}, num_detectors=8, num_observables=1)
    for k in range(truths):
        writer.append_table("/simulation/truth", time=T0 + k, device_time=60.0 * k,
                            setting="q0.drive_frequency", value=5.0e9 + k)
    for k in range(changes):
        c = SettingChange(uid=f"u{k}", time=T0 + 90.0 * k, setting="q0.drive_frequency",
                          qubit="q0", control="drive_frequency", old=5.0e9 + k, new=5.0e9 + k + 1,
                          node="ramsey", run_uid=f"run{k}")
        writer.append_table("/parameters/history", **c.history_row(source="instrument_server"))
    writer.close("completed", "test")
    return path


def test_history_lists_real_changes_with_human_times(tmp_path, capsys):
    path = _file(tmp_path)
    assert main(["calibration", "history", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("2025-12-01 14:00:00 UTC  +00:00")
    assert lines[2].startswith("2025-12-01 14:03:00 UTC  +03:00")
    assert all("ramsey" in line and "truth" not in line for line in lines)
    assert "1764597600" not in "".join(lines)


def test_history_shows_simulated_truth_only_when_asked(tmp_path, capsys):
    path = _file(tmp_path)
    assert main(["calibration", "history", str(path), "--truth"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 8
    assert sum("truth" in line for line in lines) == 5
    times = [line[:23] for line in lines]
    assert times == sorted(times)


def test_history_of_a_run_without_changes_says_so(tmp_path, capsys):
    path = _file(tmp_path, changes=0)
    assert main(["calibration", "history", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "no setting changes recorded"


def test_history_into_a_closed_pipe_prints_no_traceback(tmp_path):
    path = _file(tmp_path, changes=3000, truths=0)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, "-m", "qplane.cli", "calibration", "history", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()   # the reader leaves, as `| head -1` does
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert b"ramsey" in first
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_history_pages_with_start_and_limit(tmp_path, capsys):
    path = _file(tmp_path, changes=5, truths=0)
    assert main(["calibration", "history", str(path), "--limit", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "run0" not in lines[-1]
    assert lines[-1] == "... 3 more change(s): --start 2 for the next page"
    assert main(["calibration", "history", str(path), "--start", "4", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "update run4" in lines[0]
    assert "+06:00" in lines[0]  # times stay relative to the first change of the run
    assert main(["calibration", "history", str(path), "--limit", "0"]) == 2
