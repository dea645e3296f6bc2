"""Faults with real processes: kill -9 and SIGSTOP of each kind of worker, the launcher's own
death, and the bounded end of a calibration run, each with exact block accounting.

Every test ends only the processes it started (by pid) and leaves nothing running; loops are
bounded by a number of polls, never by a wall-clock assertion.
"""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import pytest
import yaml

from qplane.config import load_config
from qplane.pipeline.launcher import Launcher

pytestmark = pytest.mark.slow


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def events(path):
    with h5py.File(path, "r") as f:
        return [{"level": _text(e["level"]), "source": _text(e["source"]), "kind": _text(e["kind"]),
                 "message": _text(e["message"]), "details": json.loads(_text(e["details"]) or "{}")}
                for e in f["events"][:]]


def supervise_until(launcher, predicate, max_polls=900):
    """Poll the monitor (each poll up to 100 ms) and supervise, until predicate(stats)."""
    for _ in range(max_polls):
        launcher._poll_monitor(100)
        ended = launcher.supervise(time.time())
        assert ended is None, f"the run ended: {ended}"
        if launcher.last_stats and predicate(launcher.last_stats):
            return launcher.last_stats
    raise AssertionError(f"condition not reached; last stats {launcher.last_stats}")


def rows_on_disk(path):
    """Block rows a live run file holds on disk now (the recorder's last flush), as a SWMR
    reader sees them."""
    try:
        with h5py.File(path, "r", swmr=True, libver="latest", locking=False) as f:
            return int(f["qec/blocks"].shape[0]) if "qec/blocks" in f else 0
    except OSError:  # not made yet, or caught mid-flush
        return 0


def accounting(path):
    """(acquired, applied, lost) as the instrument server counted them, and the file's rows."""
    stopped = [e for e in events(path) if e["kind"] == "acquisition_stopped"]
    assert len(stopped) == 1, "the instrument server reports its counts once"
    d = stopped[0]["details"]
    with h5py.File(path, "r") as f:
        blocks = f["qec/blocks"][:]
    return d["blocks_acquired"], d["blocks_applied"], d["blocks_lost"], blocks


def end_run(launcher):
    launcher.interrupt()
    end_state, reason = launcher.watch()
    launcher.shutdown(end_state, reason)
    return end_state


def supervise_past(launcher, blocks=20):
    """Supervise until ``blocks`` more blocks than now are applied (the run goes on)."""
    applied = launcher.last_stats["blocks_applied"]
    supervise_until(launcher, lambda s: s["blocks_applied"] >= applied + blocks)


def assert_every_block_accounted(path):
    """The run file's accounting: nothing lost, every acquired block applied and in the block
    table; returns that table."""
    acquired, applied, lost, blocks = accounting(path)
    assert lost == 0 and acquired == applied == len(blocks)
    return blocks


def fault_and_restart(launcher, name, signum, *, after=20):
    """Once ``after`` blocks are applied, send ``signum`` to the child ``name`` (not restarted
    yet) and supervise until the launcher has restarted it; return the child that was hit."""
    supervise_until(launcher, lambda s: s["blocks_applied"] >= after)
    victim = launcher.child(name)
    os.kill(victim.proc.pid, signum)
    supervise_until(launcher, lambda s: launcher.restarts.get(name, 0) >= 1)
    return victim


def test_kill_9_of_one_of_two_decoders_loses_no_block(loop_config, tmp_path):
    config = loop_config(workers=2, shots=64, max_in_flight=8)
    out = tmp_path / "kill_decoder.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        fault_and_restart(launcher, "decoder-0", signal.SIGKILL)
        applied = launcher.last_stats["blocks_applied"]
        # QEC goes on (the other worker, then the restarted one too)
        supervise_until(launcher, lambda s: s["blocks_applied"] >= applied + 30)
        assert end_run(launcher) == "interrupted"
    finally:
        launcher.close()
    blocks = assert_every_block_accounted(out)
    assert blocks["applied"].all()
    kinds = [e["kind"] for e in events(out)]
    assert "process_restarted" in kinds and "process_died" in kinds
    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "interrupted"
        assert "restarts: decoder-0 x1" in _text(f.attrs["end_reason"])


def test_a_sigstopped_decoder_is_detected_killed_and_restarted(loop_config, tmp_path):
    config = loop_config(workers=2, shots=64, max_in_flight=8)
    out = tmp_path / "stopped.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        victim = fault_and_restart(launcher, "decoder-1", signal.SIGSTOP)
        assert victim.proc.poll() is not None  # the stopped process was killed
        supervise_past(launcher)
        assert end_run(launcher) == "interrupted"
    finally:
        launcher.close()
    assert_every_block_accounted(out)
    hung = [e for e in events(out) if e["kind"] == "process_hung"]
    assert hung and hung[0]["details"]["process"] == "decoder-1"
    assert "stopped" in hung[0]["message"] or "no heartbeat" in hung[0]["message"]


def test_a_killed_calibration_worker_is_restarted_without_stopping_qec(tmp_path):
    from qplane.sim_instruments.lab import sim_lab_config

    document = sim_lab_config(distance=3, drift=True, clock_speedup=600.0, seed=5)
    document["qplane"] = dict(document.get("qplane", {}))
    document["qplane"].update({"qpu": "qpu", "acquisition": {"shots_per_block": 128},
                               "decoding": {"workers": 2},
                               "calibration": {"enabled": True, "second_opinion": False,
                                               "figures": False}})
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(document))
    out = tmp_path / "cal_kill.h5"
    launcher = Launcher(load_config(path), out_path=str(out), duration=None)
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["calibration_calls"] >= 3 and s["blocks_applied"] >= 10)
        os.kill(launcher.child("calibration").proc.pid, signal.SIGKILL)
        applied = launcher.last_stats["blocks_applied"]
        supervise_until(launcher, lambda s: s["blocks_applied"] >= applied + 20
                        and launcher.restarts.get("calibration", 0) >= 1)
        calls = launcher.last_stats["calibration_calls"]
        supervise_until(launcher, lambda s: s["calibration_calls"] > calls)  # it works again
        assert end_run(launcher) == "interrupted"
        exits = {c.name: c.proc.returncode for c in launcher.children}
    finally:
        launcher.close()
    assert set(exits.values()) == {0}, exits  # every process stopped in time, none killed
    assert_every_block_accounted(out)
    assert not [e for e in events(out) if e["kind"] == "process_killed"]


def test_a_calibration_run_ends_in_order_within_the_stop_timeout(tmp_path):
    """The end of a run with calibration: nothing waits out a 60 s call, nothing is killed."""
    from qplane.pipeline.launcher import run_pipeline
    from qplane.sim_instruments.lab import sim_lab_config

    document = sim_lab_config(distance=3, drift=True, clock_speedup=600.0, seed=5)
    document["qplane"] = dict(document.get("qplane", {}))
    document["qplane"].update({"qpu": "qpu", "acquisition": {"shots_per_block": 128},
                               "calibration": {"enabled": True, "second_opinion": False,
                                               "figures": False}})
    path = tmp_path / "cal_end.yaml"
    path.write_text(yaml.safe_dump(document))
    out = tmp_path / "cal_end.h5"
    outcome = run_pipeline(load_config(path), out_path=str(out), duration=3.0)
    assert outcome.end_state == "completed", outcome.reason
    evs = events(out)
    assert not [e for e in evs if e["kind"] == "process_killed"], evs
    assert not [e for e in evs if "did not answer" in e["message"]]
    assert not [e for e in evs if e["level"] == "error"], [e for e in evs if e["level"] == "error"]
    assert_every_block_accounted(out)


def _children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_launcher_leaves_no_process_behind_and_the_file_closed(tmp_path):
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path, shots=64, workers=2)
    out = tmp_path / "orphan.h5"
    proc = subprocess.Popen([sys.executable, "-m", "qplane.cli", "run", str(path), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = []
    try:
        for _ in range(600):  # until the four children run and the file has blocks
            children = _children_of(proc.pid)
            if len(children) == 4 and out.exists():
                try:
                    with h5py.File(out, "r", libver="latest", swmr=True) as f:
                        if f["qec/blocks"].shape[0] > 0:
                            break
                except (OSError, KeyError):
                    pass
            time.sleep(0.05)
        assert len(children) == 4
        proc.kill()
        proc.wait()
        for _ in range(300):  # every child notices within seconds (bounded)
            if not any(_running(pid) for pid in children):
                break
            time.sleep(0.05)
        left = [pid for pid in children if _running(pid)]
    finally:
        for pid in children:  # only the pids this test started
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert left == [], f"still running after the launcher died: {left}"
    with h5py.File(out, "r") as f:  # closed: plain h5py opens it
        assert f.attrs["end_state"] in ("failed", "interrupted")
        assert f["qec/blocks"].shape[0] > 0


def test_a_remote_worker_joins_a_run_and_is_supervised(loop_config, tmp_path):
    """``qplane worker decode CONFIG --run-id ID``: registers, decodes, and when it is stopped
    (SIGSTOP) the server declares it lost and re-dispatches its blocks; nothing is lost."""
    from tests.pipeline.conftest import write_config

    endpoints = {n: f"ipc://{tmp_path}/{n}" for n in ("syndromes", "corrections", "records",
                                                      "control", "monitor")}
    path = write_config(tmp_path, shots=64, workers=1, max_in_flight=8)
    text = path.read_text() + "  endpoints: " + json.dumps(endpoints) + "\n"
    path.write_text(text)
    config = load_config(path)
    out = tmp_path / "remote.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    remote = None
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 5)
        remote = subprocess.Popen([sys.executable, "-m", "qplane.cli", "worker", "decode", str(path),
                                   "--run-id", launcher.run_id, "--name", "remote-0"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        supervise_until(launcher, lambda s: s["worker_blocks"].get("decoder-remote-0", 0) >= 10)
        os.kill(remote.pid, signal.SIGSTOP)
        supervise_until(launcher, lambda s: s["workers_lost"] >= 1)
        applied = launcher.last_stats["blocks_applied"]
        supervise_until(launcher, lambda s: s["blocks_applied"] >= applied + 10)
        assert end_run(launcher) == "interrupted"
    finally:
        if remote is not None:
            os.kill(remote.pid, signal.SIGKILL)
            remote.wait()
        launcher.close()
    blocks = assert_every_block_accounted(out)
    assert (blocks["worker"] == b"decoder-remote-0").sum() >= 10
    evs = events(out)
    assert [e for e in evs if e["kind"] == "worker_registered" and e["details"]["worker"] == "decoder-remote-0"]
    assert [e for e in evs if e["kind"] == "worker_lost" and e["details"]["worker"] == "decoder-remote-0"]


def test_a_remote_worker_refuses_auto_endpoints(tmp_path):
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "qplane.cli", "worker", "decode", str(path),
                           "--run-id", "x"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "'qplane.endpoints.syndromes'" in proc.stderr and "tcp://HOST:PORT" in proc.stderr


def test_kill_9_of_the_instrument_server_fails_the_run_and_the_file_accounts_for_every_block(
        loop_config, tmp_path):
    """The instrument server holds the instruments, so it is not restarted: its death fails the
    run, every other process stops, and the recorder closes a file whose blocks have no hole,
    every corrected one marked applied and the rest (in flight at the kill) counted."""
    config = loop_config(workers=2, shots=64, max_in_flight=8)
    out = tmp_path / "kill_server.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 50)
        os.kill(launcher.child("instrument_server").proc.pid, signal.SIGKILL)
        end_state, reason = launcher.watch()
        assert end_state == "failed" and "instrument_server" in reason
        launcher.shutdown(end_state, reason)
        children = list(launcher.children)
    finally:
        launcher.close()
    assert all(c.proc.poll() is not None for c in children), "a process outlived the run"
    with h5py.File(out, "r") as f:  # closed by the recorder: plain h5py opens it
        assert f.attrs["end_state"] == "failed"
        assert "instrument_server" in _text(f.attrs["end_reason"])
        blocks = f["qec/blocks"][:]
    assert len(blocks) >= 50 and sorted(blocks["seq"]) == list(range(len(blocks)))
    unapplied = int((~blocks["applied"].astype(bool)).sum())
    assert unapplied <= 8  # at most the blocks in flight when the server died
    noted = [e["details"] for e in events(out) if e["kind"] == "unapplied_blocks"]
    assert bool(noted) == (unapplied > 0), noted


def test_kill_9_of_the_recorder_is_restarted_and_loses_no_applied_block(loop_config, tmp_path):
    """The recorder is killed mid-run and restarted: it takes the file up from its last
    checkpoint, the senders send again what it had not acknowledged, and the file has every
    acquired block exactly once, applied, with its shots."""
    config = loop_config(workers=2, shots=64, max_in_flight=8)
    out = tmp_path / "restart_recorder.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 50)
        os.kill(launcher.child("recorder").proc.pid, signal.SIGKILL)
        supervise_until(launcher, lambda s: launcher.restarts.get("recorder", 0) >= 1)
        applied = launcher.last_stats["blocks_applied"]
        supervise_until(launcher, lambda s: s["blocks_applied"] >= applied + 50)
        assert end_run(launcher) == "interrupted"
        exits = {c.name: c.proc.returncode for c in launcher.children}
    finally:
        launcher.close()
    assert set(exits.values()) == {0}, exits
    acquired, applied, lost, blocks = accounting(out)
    assert lost == 0 and acquired == applied + lost
    # every block acquired is in the file exactly once, corrected, with its shots
    assert len(blocks) == acquired and sorted(blocks["seq"]) == list(range(acquired))
    assert blocks["applied"].all()
    with h5py.File(out, "r") as f:  # closed by the restarted recorder: plain h5py opens it
        assert f.attrs["end_state"] == "interrupted"
        assert "restarts: recorder x1" in _text(f.attrs["end_reason"])
        shots = blocks["shots"].sum()
        assert shots == f["qec/detection_events"].shape[0] == f["qec/predictions"].shape[0]
        starts = blocks["shot_start"]
        assert (starts == sorted(starts)).all() and starts[0] == 0
        assert (starts[1:] == starts[:-1] + blocks["shots"][:-1]).all()  # no hole, no overlap
        streams = {(_text(r["source"]), _text(r["kind"])): (r["sent"], r["recorded"])
                   for r in f["streams"][:]}
    assert streams[("instrument_server", "syndrome")] == (acquired, acquired)
    # blocks applied together are reported in one applied_blocks record: every record of both
    # streams is in the file, and (above) every block acquired is in it, applied
    for kind in ("applied", "applied_blocks"):
        sent, recorded = streams.get(("instrument_server", kind), (0, 0))
        assert sent == recorded, (kind, sent, recorded)
    assert sum(streams.get(("instrument_server", k), (0, 0))[0]
               for k in ("applied", "applied_blocks")) >= 1
    evs = events(out)
    assert [e for e in evs if e["kind"] == "recorder_resumed"]
    assert [e for e in evs
            if e["kind"] == "process_restarted" and e["details"]["process"] == "recorder"]
    assert not [e for e in evs if e["kind"] in ("gap", "duplicate", "stream_incomplete",
                                                "applied_unknown_block", "unapplied_blocks")], \
        [e for e in evs if e["level"] != "info"]
    assert len([e for e in evs if e["kind"] == "run_start"]) == 1


def test_kill_9_of_the_recorder_with_restarts_off_fails_the_run_and_leaves_a_file_any_reader_opens(
        loop_config, tmp_path):
    """``restart: {policy: never}``: the recorder's death fails the run, and the launcher ends
    the file it left open for write, so plain h5py opens it."""
    config = loop_config(workers=2, shots=64, max_in_flight=8,
                         supervision="{restart: {policy: never}}")
    out = tmp_path / "kill_recorder.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 50)
        # the kill comes after a flush: what the file holds then must still be there after it
        supervise_until(launcher, lambda s: rows_on_disk(out) > 0)
        victim = launcher.child("recorder")
        os.kill(victim.proc.pid, signal.SIGKILL)
        end_state, reason = launcher.watch()
        assert end_state == "failed" and "recorder" in reason
        launcher.shutdown(end_state, reason)
    finally:
        launcher.close()
    with h5py.File(out, "r") as f:  # plain h5py: no SWMR, no h5clear
        assert f.attrs["end_state"] == "failed"
        assert "recorder" in _text(f.attrs["end_reason"])
        assert f["qec/blocks"].shape[0] > 0
