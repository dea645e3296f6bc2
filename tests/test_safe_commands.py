"""No command changes a tracked file unless asked: each writing command, run with its defaults
in a copy of the checkout (imported from that copy), leaves ``git status`` clean."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                                reason="needs git and a git checkout")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the tracked files (as they are in the working tree), committed in a new repo."""
    dest = tmp_path_factory.mktemp("clone")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "copy"], cwd=dest, check=True)
    return dest


def qplane(clone, *argv, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(clone)}
    return subprocess.run([sys.executable, "-m", "qplane.cli", *argv], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_clean(clone, command):
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout
    assert status == "", f"qplane {command} changed tracked files:\n{status}"


@pytest.mark.parametrize("argv", [
    ["bench", "tables"],
    ["schema", "config"],
    ["bench", "startup", "--repeats", "1"],
    ["bench", "pipeline", "--wire-only"],
], ids=" ".join)
def test_quick_commands_leave_the_checkout_clean(clone, argv):
    proc = qplane(clone, *argv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_clean(clone, " ".join(argv))


def test_run_report_and_figures_leave_the_checkout_clean(clone):
    proc = qplane(clone, "run", "config/sim_d3.yaml", "--max-blocks", "3", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = sorted((clone / "runs").glob("*.h5"))
    assert runs, proc.stdout
    for argv in (["report", str(runs[-1])], ["calibration", "figures", str(runs[-1])]):
        proc = qplane(clone, *argv)
        assert proc.returncode == 0, proc.stderr
        assert_clean(clone, " ".join(argv))
    assert_clean(clone, "run")


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ["bench", "sim", "--quick"],
    ["train-decoder", "config/decoder/d3.yaml", "--steps", "2", "--fresh", "--no-progress"],
], ids=" ".join)
def test_slow_commands_leave_the_checkout_clean(clone, argv):
    proc = qplane(clone, *argv, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_clean(clone, " ".join(argv))


def test_train_decoder_refuses_to_replace_a_shipped_model_silently(clone):
    proc = qplane(clone, "train-decoder", "config/decoder/d3.yaml", "--steps", "1",
                  "--output", "qplane/decoder/models/d3.safetensors")
    assert proc.returncode == 2 and "--ship" in proc.stderr
    proc = qplane(clone, "train-decoder", "config/decoder/d3.yaml", "--choose-rules")
    assert proc.returncode == 2 and "--ship" in proc.stderr
    assert_clean(clone, "train-decoder --output <shipped model>")
