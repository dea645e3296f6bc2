"""Run files for the analysis tests: synthetic (stim + PyMatching through RunFileWriter),
one whose writer is killed mid-run, and a real short ``qplane run``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Iterator

import pytest

from qplane.analysis.synthetic import write_synthetic_run

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "data")

#: Writes synthetic blocks forever, printing each block number once it is flushed.
_ENDLESS_WRITER = """
import sys
from qplane.analysis.synthetic import write_synthetic_run
write_synthetic_run(sys.argv[1], blocks=10**6, shots_per_block=128, calibration_every=3,
                    end_state=None, on_block=lambda k: print(k, flush=True))
"""


#: Writes ``blocks`` synthetic blocks, pausing after each block number in ``pauses`` (printed)
#: until a line arrives on stdin, then prints "closed".
_STEPPED_WRITER = """
import sys
from qplane.analysis.synthetic import write_synthetic_run
path, blocks, pauses = sys.argv[1], int(sys.argv[2]), {int(k) for k in sys.argv[3].split(",")}
def on_block(k):
    if k in pauses:
        print(k, flush=True)
        sys.stdin.readline()  # wait until the test has looked
write_synthetic_run(path, blocks=blocks, shots_per_block=64, calibration_every=0, on_block=on_block)
print("closed", flush=True)
"""


@contextlib.contextmanager
def stepped_writer(path: str, *, blocks: int, pauses: tuple[int, ...]) -> Iterator[subprocess.Popen]:
    """A writer process that stops after each block in ``pauses`` until told to go on (write a
    line to its stdin); each pause and the end are announced on its stdout. On leaving, a writer
    still running is killed and its pipes are closed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _STEPPED_WRITER, path, str(blocks), ",".join(map(str, pauses))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> str:
    """A finished synthetic run: 12 blocks x 256 shots, one sequence gap, the last block
    acquired but never corrected, calibration every 4 blocks."""
    path = tmp_path_factory.mktemp("sample") / "sample.h5"
    return write_synthetic_run(path, blocks=12, shots_per_block=256, skip_seqs=(5,),
                               unapplied_tail=1, calibration_every=4, seed=3)


@pytest.fixture(scope="session")
def killed_run(tmp_path_factory) -> tuple[str, int]:
    """A run file whose writer process was killed (SIGKILL) mid-run; returns (path, the last
    block number the writer reported flushed before the kill)."""
    path = str(tmp_path_factory.mktemp("killed") / "killed.h5")
    proc = subprocess.Popen([sys.executable, "-c", _ENDLESS_WRITER, path],
                            stdout=subprocess.PIPE, text=True)
    try:
        last = -1
        for line in proc.stdout:  # blocks until the writer reports; no sleeping
            last = int(line)
            if last >= 6:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stdout.close()
    if last < 6:
        raise RuntimeError(f"the writer stopped after block {last} before it was killed")
    return path, last


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> str:
    """A real 3-second ``qplane run config/sim_d3.yaml`` run file."""
    path = str(tmp_path_factory.mktemp("pipeline") / "run.h5")
    result = subprocess.run(
        [sys.executable, "-m", "qplane.cli", "run", os.path.join(REPO, "config", "sim_d3.yaml"),
         "--duration", "3", "--out", path, "--quiet"],
        capture_output=True, text=True, timeout=240, cwd=REPO,
    )
    if result.returncode != 0:
        raise RuntimeError(f"qplane run failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return path
