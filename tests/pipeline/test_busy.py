"""Busy is not dead: a process whose main loop is busy for longer than the heartbeat timeout
(a long fit, a model swap, a big flush) is shown busy and left alone, and one whose loop makes
no progress past ``stall_timeout`` is restarted. With real processes.

The busy stretch is the test hook of :data:`qplane.pipeline.process.TEST_SPIN_ENV`: with the
variable set, SIGUSR2 makes a process's main thread spin (pure Python, bounded) for that many
seconds while its heartbeat thread goes on, or (``gil:``) compute in one C call that holds the
interpreter's lock, which silences the heartbeat thread. Loops are bounded by a number of polls.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from qplane.config import SupervisionSettings
from qplane.pipeline.children import Child, judge
from qplane.pipeline.heartbeat import Liveness
from qplane.pipeline.launcher import Launcher
from qplane.pipeline.process import TEST_SPIN_ENV

from tests.pipeline.test_faults import (assert_every_block_accounted, end_run, events,
                                        fault_and_restart, supervise_past, supervise_until)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("victim,spin", [("decoder-0", "3.75"), ("recorder", "3.75"),
                                         ("instrument_server", "3.75"),
                                         ("decoder-0", "gil:3.75")])
def test_a_process_busy_longer_than_the_heartbeat_timeout_is_not_restarted(
        victim, spin, loop_config, tmp_path, monkeypatch):
    # busy 2.5x the heartbeat timeout, well inside the (default 15 s) stall timeout; with
    # "gil:" its heartbeat thread is silent meanwhile (a C call holds the interpreter's lock)
    monkeypatch.setenv(TEST_SPIN_ENV, spin)
    config = loop_config(workers=2, shots=64, max_in_flight=8)
    sup = config.qplane.supervision
    assert sup.heartbeat_timeout * 2 < 3.75 < sup.stall_timeout
    out = tmp_path / "busy.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 20)
        os.kill(launcher.child(victim).proc.pid, signal.SIGUSR2)
        supervise_until(launcher, lambda s: launcher.processes()[victim]["state"] == "busy")
        assert "no progress" in launcher.processes()[victim]["detail"]
        supervise_until(launcher, lambda s: launcher.processes()[victim]["state"] == "running")
        supervise_past(launcher)
        assert launcher.restarts == {}
        assert end_run(launcher) == "interrupted"
    finally:
        launcher.close()
    assert_every_block_accounted(out)
    found = events(out)
    kinds = [e["kind"] for e in found]
    assert "process_hung" not in kinds and "process_restarted" not in kinds
    busy = [e for e in found if e["kind"] == "process_busy"]
    assert len(busy) == 1 and busy[0]["details"]["process"] == victim
    resumed = [e for e in found if e["kind"] == "process_progressing"]
    assert len(resumed) == 1 and resumed[0]["details"]["busy_s"] > sup.heartbeat_timeout


def _used_cpu(child, seconds):
    """Wait (bounded) until ``child``'s process has used ``seconds`` more CPU time."""
    start = child.kernel_stat()[1]
    for _ in range(500):
        if child.kernel_stat()[1] - start >= seconds:
            return
        time.sleep(0.01)
    raise AssertionError(f"{child.name} used no CPU time")


def test_a_silent_process_is_hung_unless_it_computes():
    """Silent past the heartbeat timeout: a process that waits (uses no CPU) is hung at once;
    one that computes (a C call holding the interpreter's lock: its heartbeat thread cannot
    run) is busy, and hung only once silent past stall_timeout."""
    sup = SupervisionSettings.model_validate({})
    spinning = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    waiting = subprocess.Popen(["sleep", "60"])
    try:
        live = Liveness()
        children = {name: Child(name, "decoder", proc, "", source=name, started=time.time())
                    for name, proc in (("spinning", spinning), ("waiting", waiting))}
        seen = time.time()
        for name, child in children.items():
            live.saw(name, now=seen)
            live.progressed(name, 3, now=seen)
            assert judge(child, live, sup, now=seen)[0] == "ok"  # fresh: its CPU is sampled
        _used_cpu(children["spinning"], 0.1)
        silent = seen + sup.heartbeat_timeout + 0.5
        verdict, why, _ = judge(children["waiting"], live, sup, now=silent)
        assert verdict == "hung" and "sent no heartbeat" in why
        verdict, why, stalled = judge(children["spinning"], live, sup, now=silent)
        assert (verdict, why) == ("busy", "") and stalled >= sup.heartbeat_timeout
        _used_cpu(children["spinning"], 0.05)
        verdict, why, _ = judge(children["spinning"], live, sup,
                                now=seen + sup.stall_timeout + 0.5)
        assert verdict == "hung" and "while computing" in why and "stall_timeout" in why
    finally:
        for proc in (spinning, waiting):
            proc.kill()
            proc.wait()


def test_a_process_whose_loop_stalls_past_the_stall_timeout_is_restarted(
        loop_config, tmp_path, monkeypatch):
    monkeypatch.setenv(TEST_SPIN_ENV, "120")  # far past the stall timeout (killed long before)
    config = loop_config(workers=2, shots=64, max_in_flight=8,
                         supervision="{heartbeat_timeout: 1.5, stall_timeout: 3.0}")
    out = tmp_path / "stalled.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        victim = fault_and_restart(launcher, "decoder-1", signal.SIGUSR2)
        assert victim.proc.poll() is not None  # the stalled process was killed
        supervise_past(launcher)
        assert end_run(launcher) == "interrupted"
    finally:
        launcher.close()
    assert_every_block_accounted(out)
    found = events(out)
    hung = [e for e in found if e["kind"] == "process_hung"]
    assert len(hung) == 1 and hung[0]["details"]["process"] == "decoder-1"
    assert "made no progress" in hung[0]["message"] and "stall_timeout 3.0" in hung[0]["message"]
    # it was busy before it was stalled (its heartbeats went on), and never "silent"
    assert [e["details"]["process"] for e in found if e["kind"] == "process_busy"] == ["decoder-1"]
    assert "no heartbeat" not in hung[0]["message"]


def test_with_keys_every_process_beats_to_the_launcher_and_its_early_events_are_kept(
        loop_config, tmp_path):
    """Under CURVE the monitor admits every role's heartbeats (busy/stalled need them); and
    what the launcher records before the run has started (a probe resync on the way) is kept."""
    import json
    import socket

    from qplane.config import load_config
    from qplane.pipeline.security import create_keys

    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    keys = str(tmp_path / "keys")
    create_keys(keys)
    endpoints = {n: f"tcp://127.0.0.1:{free_port()}"
                 for n in ("syndromes", "corrections", "control", "records", "monitor")}
    loop_config(workers=2, shots=64, security=f"{{keys: {keys}}}")  # writes test_loop.yaml
    path = tmp_path / "test_loop.yaml"
    path.write_text(path.read_text() + f"  endpoints: {json.dumps(endpoints)}\n")
    config = load_config(path)
    out = tmp_path / "keys.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        for i in range(3):
            launcher._event("info", "early_probe", f"before run_start {i}")
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 20 and all(
            c.source in launcher._liveness.last_seen for c in launcher.children))
        assert launcher._watch.counts["monitor", "handshake_failed_auth"] == 0
        assert end_run(launcher) == "interrupted"
    finally:
        launcher.close()
    found = events(out)
    assert [e["message"] for e in found if e["kind"] == "early_probe"] == [
        f"before run_start {i}" for i in range(3)]
    assert not [e for e in found if e["kind"] in ("gap", "stream_incomplete", "connections",
                                                  "connection_refused")]
