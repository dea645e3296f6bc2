"""A hostile peer of our own (tests/adversarial/peer.py: plain pyzmq + json + numpy) against a
real short run over loopback tcp and ipc: malformed messages of each class, forged well-formed
records of every kind, forged calibration calls and a flood. No process dies, no forged record is
accepted, and every rejection is counted in the run file with the peer's identity; with the
run's keys, a client without them gets not one syndrome block."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import zmq

from tests.adversarial import peer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DURATION = 4.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder, endpoints, security=""):
    path = folder / "adv.yaml"
    path.write_text(textwrap.dedent(f"""
        instruments:
          qpu:
            type: qplane.sim_instruments.qpu.SimulatedQPU
            init: {{distance: 3, rounds: 3, basis: Z, physical_error_rate: 0.004, seed: 5}}
        qplane:
          qpu: qpu
          run: {{output_dir: {folder}}}
          acquisition: {{shots_per_block: 64, max_in_flight: 4}}
          endpoints: {json.dumps(endpoints)}
          security: {{max_message_bytes: 1048576{security}}}
        """))
    return path


class LiveRun:
    """``qplane run`` in a child process; the run id read from its file once it exists."""

    def __init__(self, folder, endpoints, security=""):
        self.path = str(folder / "run.h5")
        config = write_config(folder, endpoints, security)
        env = {**os.environ, "PYTHONPATH": ROOT}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qplane.cli", "run", str(config), "--duration", str(DURATION),
             "--out", self.path, "--quiet"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.run_id = self._run_id(timeout=90)

    def _run_id(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            if os.path.exists(self.path):
                try:
                    with h5py.File(self.path, "r", swmr=True, libver="latest", locking=False) as f:
                        if "run_id" in f.attrs:
                            return str(f.attrs["run_id"])
                except (OSError, KeyError):
                    pass
            time.sleep(0.05)
        raise AssertionError(f"the run did not start: {self.proc.communicate()[0] if self.proc.poll() is not None else 'timeout'}")

    def finish(self, timeout=120):
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out


def events(path):
    with h5py.File(path, "r") as f:
        rows = f["events"][:]
        blocks = f["qec/blocks"][:]
        attrs = dict(f.attrs)
    dec = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
    out = [{"kind": dec(r["kind"]), "source": dec(r["source"]), "message": dec(r["message"]),
            "details": json.loads(dec(r["details"]) or "{}")} for r in rows]
    return out, blocks, attrs


def rejection_totals(evs):
    """Per receiving process: its exact rejection count (its end-of-run ``rejections`` row)."""
    return {e["source"]: e["details"]["total"] for e in evs if e["kind"] == "rejections"}


def test_nothing_a_peer_sends_is_accepted_or_kills_a_process(tmp_path, ctx):
    endpoints = {"syndromes": f"tcp://127.0.0.1:{free_port()}",
                 "corrections": f"tcp://127.0.0.1:{free_port()}",
                 "records": f"ipc://{tmp_path}/records",
                 "control": f"ipc://{tmp_path}/control",
                 "monitor": f"tcp://127.0.0.1:{free_port()}"}
    run = LiveRun(tmp_path, endpoints)
    rid = run.run_id
    malformed = [m for _, m in peer.malformed(rid)]
    forged = [m for _, m in peer.forged_records(rid)]
    # the syndrome that once made the recorder drop 90 % of the blocks: seq 10^9, claiming the
    # instrument server (without keys a claimed source cannot be checked: the window refuses it)
    jump = peer.message("syndrome", {"block_index": 0, "circuit_id": peer.CID, "num_detectors": 8,
                                     "t_acquired": 1.0}, run_id=rid, source="instrument_server",
                        seq=10**9, arrays=[("detection_events", np.zeros((4, 1), np.uint8))])
    to_records = malformed + forged + [jump]
    forged_corrections = [peer.message("correction", {"syndrome_seq": 0, "t_decoded": 1.0,
                                                      "decode_seconds": 0.0}, run_id=rid,
                                       source=src, arrays=[("predictions", np.ones((64, 1), np.uint8))])
                          for src in ("intruder", "calibration", "instrument_server")]
    # several blocks' corrections in one record, from a peer that never registered; and a
    # forged correction packed in one frame
    forged_corrections.append(peer.message(
        "corrections", {"syndrome_seqs": [0, 1], "shots": [64, 64], "t_decoded": [1.0, 1.0],
                        "decode_seconds": [0.0, 0.0], "t_received": [1.0, 1.0],
                        "shadow_shots": [0, 0], "shadow_disagreements": [0, 0]},
        run_id=rid, source="decoder-0", arrays=[("predictions", np.ones((128, 1), np.uint8))]))
    forged_corrections.append(peer.packed(forged_corrections[0]))
    to_corrections = malformed + forged_corrections
    calls = [m for _, m in peer.forged_calls(rid)]
    to_control = malformed + calls
    # the recorder binds a ROUTER (it acknowledges what it stored): a sender is a DEALER
    sent = {"records": peer.send_all(ctx, zmq.DEALER, endpoints["records"], to_records),
            # corrections travel on the dispatch socket (the server's ROUTER), from unregistered peers
            "corrections": peer.send_all(ctx, zmq.DEALER, endpoints["syndromes"], to_corrections),
            "control": peer.send_all(ctx, zmq.DEALER, endpoints["control"], to_control)}
    # Too big for max_message_bytes: libzmq drops the connection (not counted: never received).
    peer.send_all(ctx, zmq.DEALER, endpoints["records"], [[b"event", os.urandom(2 * 2**20)]])
    flood = [[b"stats", json.dumps(peer.header("stats", {}, run_id="other", source="x")).encode()]
             for _ in range(3000)]
    peer.send_all(ctx, zmq.PUB, endpoints["monitor"], flood, timeout_ms=100)
    code, out = run.finish()
    assert code == 0, out
    evs, blocks, attrs = events(run.path)
    assert attrs["end_state"] == "completed"
    totals = rejection_totals(evs)
    assert sent["records"] == len(to_records)
    assert totals.get("recorder") == sent["records"]
    assert totals.get("instrument_server") == sent["corrections"] + sent["control"]
    assert totals.get("launcher", 0) >= 1  # a PUB flood loses what the queue cannot hold
    rows = [e for e in evs if e["kind"] == "rejected_record"]
    assert rows and all("peer" in e["details"] and "reason" in e["details"] for e in rows)
    peers = {e["details"]["peer"] for e in rows}
    assert {"intruder", "decoder-0", "calibration", "unknown"} <= peers
    # no forged record reached the file: not the run_end, not the syndrome, not the change
    assert not [e for e in evs if e["kind"] == "forged"]
    assert [e["source"] for e in evs if e["kind"] == "run_end"] == ["launcher"]
    assert "forged" not in " ".join(e["message"] for e in evs if e["kind"] == "run_end")
    assert "sequence" in {e["details"]["reason"] for e in rows}
    with h5py.File(run.path, "r") as f:
        assert "parameters/history" not in f or len(f["parameters/history"]) == 0
        assert list(f["qec/blocks"]["seq"]) == list(range(len(blocks)))  # nothing dropped as duplicate
    assert blocks["applied"].all() and len(blocks) > 10
    counted = sum(totals.values())
    by_reason = {e["source"]: e["details"]["counts"] for e in evs if e["kind"] == "rejections"}
    print(f"rejections counted: {totals} (total {counted}); blocks {len(blocks)}; {by_reason}")


def test_with_keys_a_peer_without_them_gets_no_block_and_a_stolen_key_cannot_forge(tmp_path, ctx):
    keys = tmp_path / "keys"
    subprocess.run([sys.executable, "-m", "qplane.cli", "keys", "create", str(keys)], check=True,
                   env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True)
    endpoints = {name: f"tcp://127.0.0.1:{free_port()}"
                 for name in ("syndromes", "corrections", "records", "control", "monitor")}
    run = LiveRun(tmp_path, endpoints, security=f", keys: {keys}")
    rid = run.run_id
    server_public = peer.read_key(keys / "instrument_server.key")
    recorder_public = peer.read_key(keys / "recorder.key")
    # would-be decoders (no key, a random key) connect to the dispatch socket and register
    register = peer.message("register", {"name": "decoder-9", "role": "decoder", "credit": 64},
                            run_id=rid, source="decoder-9")
    plain = ctx.socket(zmq.DEALER)
    plain.connect(endpoints["syndromes"])
    rogue = ctx.socket(zmq.DEALER)
    rogue.curve_publickey, rogue.curve_secretkey = zmq.curve_keypair()
    rogue.curve_serverkey = server_public
    rogue.connect(endpoints["syndromes"])
    thieves = [plain, rogue]
    for t in thieves:
        try:
            t.send_multipart(register, zmq.NOBLOCK)  # queued until (never) connected
        except zmq.Again:
            pass
    # a compromised decoder (its key stolen) claims other roles' records: all refused
    dec_public, dec_secret = peer.read_key(keys / "decoder.key_secret", secret=True)
    forged = [m for name, m in peer.forged_records(rid)]
    forged = [[f[0], f[1].replace(b'"source": "decoder-0"', b'"source": "instrument_server"')] + f[2:]
              for f in forged]
    sent = peer.send_all(ctx, zmq.DEALER, endpoints["records"], forged,
                         curve=(dec_public, dec_secret, recorder_public))
    calls = [m for _, m in peer.forged_calls(rid)]
    sent_calls = peer.send_all(ctx, zmq.DEALER, endpoints["control"], calls,
                               curve=(dec_public, dec_secret, server_public))
    stolen = 0
    deadline = time.time() + 2.0
    while time.time() < deadline:
        for t in thieves:
            if t.poll(50):
                t.recv_multipart()
                stolen += 1
    for t in thieves:  # their register is still queued: closing with the default linger would
        t.close(linger=0)  # make the context's term wait for it forever
    code, out = run.finish()
    assert code == 0, out
    assert stolen == 0
    evs, blocks, attrs = events(run.path)
    assert attrs["end_state"] == "completed" and blocks["applied"].all() and len(blocks) > 10
    totals = rejection_totals(evs)
    assert totals.get("recorder") == sent == len(forged)
    assert totals.get("instrument_server") == sent_calls == len(calls)
    rows = [e for e in evs if e["kind"] == "rejected_record"]
    assert all(e["details"]["peer"] == "decoder" and e["details"]["authenticated"] for e in rows)
    assert {e["details"]["reason"] for e in rows} <= {"identity", "not_allowed"}
    assert [e["source"] for e in evs if e["kind"] == "run_end"] == ["launcher"]
    security = [e for e in evs if e["kind"] == "security"]
    assert len(security) == 1 and set(security[0]["details"]["key_fingerprints"]) >= {"decoder"}
    assert "secret" not in json.dumps(security[0]["details"]).lower()
    # the fingerprints are also root attributes of the file (what a reader sees first)
    assert json.loads(attrs["key_fingerprints"]) == security[0]["details"]["key_fingerprints"]
    print(f"keyed run: rejections {totals}; blocks stolen {stolen}; blocks {len(blocks)}")
