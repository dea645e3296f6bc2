"""A truncated or overwritten run file is a clear RunFileError within seconds, never a hang or
a raw traceback (open_run and qplane report)."""

import os
import shutil
import subprocess
import sys

import pytest

from qplane.analysis import write_synthetic_run
from qplane.errors import RunFileError
from qplane.runfile import open_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    return write_synthetic_run(str(folder / "run.h5"), blocks=30, shots_per_block=128,
                               calibration_every=10)


def damaged(good, tmp_path, how):
    path = str(tmp_path / f"{how.replace('%', 'pc')}.h5")
    shutil.copy(good, path)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if how == "overwritten at 2KB":
            f.seek(2048)
            f.write(bytes(range(256)) * 16)
        else:
            cut = {"100 B": 100, "4 KB": 4096}.get(how) or size * int(how.rstrip("%")) // 100
            f.truncate(cut)
    return path


CASES = ["100 B", "4 KB", "1%", "50%", "90%", "overwritten at 2KB"]


def _open_in_child(path, timeout=5.0):
    """open_run in a child process (a hang must fail this test, not stall the suite)."""
    code = ("import sys\nfrom qplane.runfile import open_run\nfrom qplane.errors import RunFileError\n"
            "try:\n    open_run(sys.argv[1]).close()\n    print('opened')\n"
            "except RunFileError as e:\n    print('RunFileError', e)\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          timeout=timeout + 10, env=env)


@pytest.mark.parametrize("how", CASES)
def test_damaged_file_is_a_run_file_error_quickly(good, tmp_path, how):
    path = damaged(good, tmp_path, how)
    got = _open_in_child(path)
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("RunFileError"), got.stdout + got.stderr
    assert "Traceback" not in got.stderr
    with pytest.raises(RunFileError, match="truncated|damaged"):
        open_run(path)


def test_report_on_a_truncated_file_says_so(good, tmp_path):
    path = damaged(good, tmp_path, "1%")
    env = {**os.environ, "PYTHONPATH": ROOT}
    got = subprocess.run([sys.executable, "-m", "qplane.cli", "report", path, "--out",
                          str(tmp_path / "r.html")], capture_output=True, text=True, timeout=60,
                         env=env)
    assert got.returncode != 0
    assert "truncated" in got.stderr and "Traceback" not in got.stderr


def test_the_intact_file_still_opens(good):
    with open_run(good) as run:
        assert run.end_state == "completed" and len(run.blocks) == 30
