"""The closed loop with real processes: recorded predictions equal offline decoding, counts agree,
the file is readable while written, and a killed worker fails the run visibly."""

import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pymatching
import pytest
import stim

from qplane.pipeline.launcher import Launcher, run_pipeline

pytestmark = pytest.mark.slow


def events(f):
    return [(e["level"].decode(), e["source"].decode() if isinstance(e["source"], bytes) else e["source"],
             e["kind"].decode() if isinstance(e["kind"], bytes) else e["kind"],
             e["message"].decode() if isinstance(e["message"], bytes) else e["message"])
            for e in f["events"][:]]


def wait_for_stats(launcher, predicate, max_polls=600):
    """Poll the launcher's monitor (each poll blocks up to 100 ms) until predicate(stats)."""
    for _ in range(max_polls):
        launcher._poll_monitor(100)
        if launcher.last_stats and predicate(launcher.last_stats):
            return launcher.last_stats
        for child in launcher.children:
            assert child.proc.poll() is None, f"{child.describe_exit()}:\n{child.log_tail()}"
    raise AssertionError(f"condition not reached; last stats {launcher.last_stats}")


def test_pipeline_predictions_equal_offline_pymatching(loop_config, tmp_path):
    config = loop_config(workers=2, shots=200, shadow=0.5)
    out = tmp_path / "run.h5"
    outcome = run_pipeline(config, out_path=str(out), duration=None, max_blocks=30)
    assert (outcome.end_state, outcome.exit_code) == ("completed", 0)

    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "completed"
        assert f["status"][()] == b"completed"
        assert f.attrs["schema_version"] == 3  # v3: /noise/models (issue 12)
        blocks = f["qec/blocks"][:]
        dets = f["qec/detection_events"][:]
        preds = f["qec/predictions"][:]
        assert "qec/corrections" not in f  # the correction applied is the prediction: stored once
        streams = f["streams"][:]
        truth = f["qec/truth"][:]
        circuits = f["qec/circuits"][:]
        all_events = events(f)
        assert "qpu" in f.attrs["station_snapshot"]
        assert "stim" in f.attrs["versions"]

    # counts agree across groups
    assert len(blocks) == 30
    assert blocks["applied"].all()
    assert sorted(blocks["seq"]) == list(range(30))
    assert blocks["shots"].sum() == len(dets) == len(preds) == len(truth) == 30 * 200
    assert np.array_equal(np.sort(blocks["shot_start"]), np.arange(30) * 200)
    assert set(blocks["worker"]) <= {b"decoder-0", b"decoder-1", "decoder-0", "decoder-1"}
    assert np.all(blocks["t_acquired"] <= blocks["t_decoded"])
    assert np.all(blocks["t_decoded"] <= blocks["t_applied"])
    # no gaps, duplicates, rejections or errors
    kinds = [e[2] for e in all_events]
    assert not {"gap", "duplicate", "rejected_record", "correction_lost"} & set(kinds), all_events
    assert not [e for e in all_events if e[0] == "error"]
    assert kinds.count("run_end") == 1

    # the recorded predictions are exactly PyMatching's on the recorded detection events
    assert len(circuits) == 1
    circuit = stim.Circuit(circuits[0]["stim_circuit"].decode() if isinstance(circuits[0]["stim_circuit"], bytes)
                           else circuits[0]["stim_circuit"])
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    offline = matching.decode_batch(dets, bit_packed_shots=True, bit_packed_predictions=True)
    np.testing.assert_array_equal(preds, offline)
    # every process ended its streams, and everything each sent arrived
    ended = {(r["source"].decode() if isinstance(r["source"], bytes) else r["source"]) for r in streams}
    assert {"instrument_server", "decoder-0", "decoder-1", "launcher"} <= ended
    assert all(r["sent"] == r["recorded"] for r in streams), streams
    syndrome = [r for r in streams if r["kind"] in ("syndrome", b"syndrome")]
    assert len(syndrome) == 1 and syndrome[0]["sent"] == 30 and syndrome[0]["last_seq"] == 29
    # the logical error rate in the file is the one recomputed from truth and predictions
    recomputed = np.any(preds != truth, axis=1)
    assert blocks["failures"].sum() == recomputed.sum() == outcome.stats["failures"]
    for b in blocks:
        s = slice(b["shot_start"], b["shot_start"] + b["shots"])
        assert b["failures"] == recomputed[s].sum()
    assert recomputed.sum() > 0  # p=0.004 at d=3 fails ~1% of shots: the check is not vacuous
    # shadow PyMatching agreed with the PyMatching decoder on every shadow shot
    assert blocks["shadow_shots"].sum() > 0
    assert blocks["shadow_disagreements"].sum() == 0


def test_run_file_readable_while_running_and_interrupt_ends_cleanly(loop_config, tmp_path):
    config = loop_config(shots=64)
    out = tmp_path / "live.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        wait_for_stats(launcher, lambda s: s["blocks_applied"] >= 20)
        with h5py.File(out, "r", libver="latest", swmr=True) as f:
            assert f["status"][()] == b"running"
            assert f.attrs["end_state"] == "running"
            for _ in range(100):  # the recorder flushes every 0.5 s; each poll waits up to 100 ms
                f["qec/blocks"].refresh()
                f["qec/detection_events"].refresh()
                seen = f["qec/blocks"].shape[0]
                if seen:
                    break
                launcher._poll_monitor(100)
            assert seen > 0
            assert f["qec/detection_events"].shape[0] >= f["qec/blocks"][:seen]["shots"].sum()
        launcher.interrupt()
        end_state, reason = launcher.watch()
        assert end_state == "interrupted"
        launcher.shutdown(end_state, reason)
        assert all(c.proc.returncode == 0 for c in launcher.children), [c.describe_exit() for c in launcher.children]
    finally:
        launcher.close()
    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "interrupted"
        assert "Ctrl-C" in f.attrs["end_reason"]
        blocks = f["qec/blocks"][:]
        assert len(blocks) >= seen
        # stopping drained every block in flight: each acquired block got its correction
        assert blocks["applied"].all()
        assert blocks["shots"].sum() == f["qec/detection_events"].shape[0]


def test_killed_worker_fails_the_run_and_the_file_records_it(loop_config, tmp_path):
    # With restarts off, a dead worker fails the run (tests/pipeline/test_faults.py: restarts).
    config = loop_config(shots=64, correction_timeout=1.0, supervision="{restart: {policy: never}}")
    out = tmp_path / "killed.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    try:
        launcher.start()
        wait_for_stats(launcher, lambda s: s["blocks_applied"] >= 10)
        victim = launcher.child("decoder-0")
        os.kill(victim.proc.pid, signal.SIGKILL)
        end_state, reason = launcher.watch()
        assert end_state == "failed"
        assert reason == f"decoder-0 (pid {victim.proc.pid}) killed by signal 9 (SIGKILL)"
        launcher.shutdown(end_state, reason)
    finally:
        launcher.close()
    assert all(c.proc.poll() is not None for c in launcher.children)
    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "failed"
        assert "decoder-0" in f.attrs["end_reason"]
        died = [e for e in events(f) if e[2] == "process_died"]
        assert len(died) == 1 and "decoder-0" in died[0][3] and died[0][0] == "error"
        assert f["qec/blocks"].shape[0] >= 10


def _children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append((int(entry), cmd))
    return found


def _wait_for_line(proc, needle, max_lines=500):
    lines = []
    for _ in range(max_lines):
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} never printed; output:\n{''.join(lines)}")


def test_cli_run_completes_and_reports(tmp_path):
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path, shots=128)
    out = tmp_path / "cli.h5"
    proc = subprocess.run([sys.executable, "-m", "qplane.cli", "run", str(path), "--max-blocks", "12",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "run completed: block limit reached (12 blocks)" in proc.stdout
    assert f"run file: {out}" in proc.stdout
    assert "summary: t=" in proc.stdout and "blocks 12 shots 1,536" in proc.stdout and "LER" in proc.stdout
    with h5py.File(out, "r") as f:
        assert f["qec/blocks"].shape == (12,)


def test_cli_run_names_a_killed_worker_and_exits_nonzero(tmp_path):
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path, shots=64, correction_timeout=1.0,
                        supervision="{restart: {policy: never}}")
    out = tmp_path / "cli_killed.h5"
    proc = subprocess.Popen([sys.executable, "-m", "qplane.cli", "run", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(proc, "latency p50")
        decoders = [pid for pid, cmd in _children_of(proc.pid) if "decoder" in cmd]
        assert len(decoders) == 1
        os.kill(decoders[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert f"decoder-0 (pid {decoders[0]}) killed by signal 9 (SIGKILL)" in stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "failed"


def test_cli_ctrl_c_ends_cleanly(tmp_path):
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path, shots=64)
    out = tmp_path / "cli_int.h5"
    proc = subprocess.Popen([sys.executable, "-m", "qplane.cli", "run", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_line(proc, "latency p50")
        children = [pid for pid, _ in _children_of(proc.pid)]
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "run interrupted" in stdout
    assert all(not os.path.exists(f"/proc/{pid}") or _is_zombie(pid) for pid in children)
    with h5py.File(out, "r") as f:
        assert f.attrs["end_state"] == "interrupted"
        assert f["qec/blocks"][:]["applied"].all()


def _is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_neural_decoder_in_the_loop_is_checked_by_shadow_pymatching(tmp_path):
    """The shipped d3 pre-decoder through the pipeline: recorded predictions equal the same
    decoder run offline on the recorded blocks, shadow PyMatching disagreements are counted,
    and the model card lands in the run file."""
    import json

    import yaml

    from qplane.config import load_config
    from qplane.decoder import make_decoder
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path, shots=64, shadow=1.0, p=0.005)
    document = yaml.safe_load(path.read_text())
    document["qplane"]["decoding"]["decoder"] = {"type": "neural", "options": {"model": "d3", "device": "cpu"}}
    path.write_text(yaml.safe_dump(document))
    out = tmp_path / "neural.h5"
    outcome = run_pipeline(load_config(path), out_path=str(out), duration=None, max_blocks=12)
    assert outcome.end_state == "completed", outcome.reason
    with h5py.File(out, "r") as f:
        blocks = np.sort(f["qec/blocks"][:], order="seq")
        dets = f["qec/detection_events"][:]
        preds = f["qec/predictions"][:]
        circuit = stim.Circuit(f["qec/circuits"][0]["stim_circuit"].decode())
        cards = json.loads(f["qec"].attrs["model_cards"])
        assert f["qec"].attrs["decoder"] == "neural"
        events = f["events"][:]
    assert "neural" in cards and cards["neural"]["sha256"]
    compiled = make_decoder("neural", model="d3", device="cpu").compile_decoder_for_dem(
        dem=circuit.detector_error_model(decompose_errors=True))
    # The decision rule the worker applied (picked for this circuit's noise) is on record.
    compiled_events = [json.loads(e["details"]) for e in events
                       if e["kind"] in (b"decoder_compiled", "decoder_compiled")]
    assert compiled_events and compiled_events[0]["rule"] == compiled.rule
    # ... and which backend and device ran the network
    assert (compiled_events[0]["backend"], compiled_events[0]["device"]) == ("torch", "cpu")
    from qplane.runfile import open_run

    with open_run(out) as run:
        assert run.decoded_on == "torch on cpu" and run.summary()["decoded_on"] == "torch on cpu"
    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    disagreements = 0
    for b in blocks:
        s = slice(b["shot_start"], b["shot_start"] + b["shots"])
        offline = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets[s])
        np.testing.assert_array_equal(preds[s], offline)
        reference = matching.decode_batch(dets[s], bit_packed_shots=True, bit_packed_predictions=True)
        disagreements += int(np.any(reference != preds[s], axis=1).sum())
    # shadow_fraction 1.0: every shot was also decoded by PyMatching, and the count is exact
    assert blocks["shadow_shots"].sum() == len(dets)
    assert blocks["shadow_disagreements"].sum() == disagreements
