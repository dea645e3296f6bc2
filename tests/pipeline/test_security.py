"""Keys, CURVE + ZAP, identity-bound sources, role authorisation and the config's refusals."""

import json
import math
import os
import socket
import stat

import numpy as np
import pytest
import yaml
import zmq
import zmq.auth

from qplane.config import parse_config
from qplane.errors import ConfigError
from qplane.pipeline.rejections import Rejection
from qplane.pipeline.security import (
    ROLES,
    SecureContext,
    TransportSecurity,
    create_keys,
    list_keys,
)
from qplane.pipeline.transport import Inbox, Outbox, SequenceTracker, make_socket
from qplane.records import Applied, Correction, Event, Record, Syndrome, pack

RUN = "sec-run"
CONFIG = {
    "instruments": {"qpu": {"type": "qplane.sim_instruments.qpu.SimulatedQPU",
                            "init": {"distance": 3, "rounds": 3, "basis": "Z"}}},
    "qplane": {"qpu": "qpu"},
}


def config_with(**qplane):
    data = yaml.safe_load(yaml.safe_dump(CONFIG))
    data["qplane"].update(qplane)
    return yaml.safe_dump(data)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("keys") / "keys")
    create_keys(folder)
    return folder


# -- keys -------------------------------------------------------------------------------------
def test_keys_are_one_pair_per_role_private_and_listed(keys):
    found = list_keys(keys)
    assert [k.role for k in found] == list(ROLES) and all(k.has_secret for k in found)
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o700
    for name in os.listdir(keys):
        assert stat.S_IMODE(os.stat(os.path.join(keys, name)).st_mode) == 0o600
    with pytest.raises(ConfigError, match="--force"):
        create_keys(keys, ["decoder"])


def test_a_secret_key_readable_by_others_is_refused(tmp_path):
    folder = str(tmp_path / "k")
    create_keys(folder, ["recorder"])
    os.chmod(os.path.join(folder, "recorder.key_secret"), 0o644)
    sec = TransportSecurity(role="recorder", endpoints={"records": "tcp://127.0.0.1:1"}, keys=folder)
    ctx = SecureContext(sec)
    try:
        with pytest.raises(ConfigError, match="chmod 600"):
            make_socket(ctx, zmq.PULL, "tcp://127.0.0.1:1", bind=True)
    finally:
        ctx.destroy(linger=0)


# -- qplane check refusals -----------------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "*", "[::]", "192.168.1.20"])
def test_bind_all_or_remote_tcp_without_keys_is_refused_naming_the_key(host):
    with pytest.raises(ConfigError) as info:
        parse_config(config_with(endpoints={"records": f"tcp://{host}:5555"}), "c.yaml")
    assert "qplane.endpoints.records" in str(info.value) and "qplane.security.keys" in str(info.value)


def test_bind_all_with_keys_and_loopback_without_are_accepted(keys):
    parse_config(config_with(endpoints={"records": "tcp://0.0.0.0:5555"}, security={"keys": keys}),
                 "c.yaml")
    parse_config(config_with(endpoints={"records": "tcp://127.0.0.1:5555"}), "c.yaml")


def test_require_keys_needs_keys():
    with pytest.raises(ConfigError, match="security.require_keys"):
        parse_config(config_with(security={"require_keys": True}), "c.yaml")


@pytest.mark.parametrize("name", ["../../../x", "/abs/x", "a/b", "a\\b", "..", "x\x00y", "  "])
def test_run_names_that_escape_output_dir_or_hold_nul_are_refused(name):
    with pytest.raises(ConfigError, match="qplane.run.name"):
        parse_config(config_with(run={"name": name}), "c.yaml")


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_and_inf_durations_are_refused(value):
    with pytest.raises(ConfigError, match="qplane.run.duration"):
        parse_config(config_with(run={"duration": value}), "c.yaml")


# -- sequence window ----------------------------------------------------------------------------
def test_a_sequence_jump_beyond_the_window_is_not_followed():
    t = SequenceTracker(window=1000)
    assert t.observe("s", "syndrome", 0).status == "ok"
    assert t.observe("s", "syndrome", 10**9).status == "out_of_window"
    assert [t.observe("s", "syndrome", i).status for i in (1, 2)] == ["ok", "ok"]


# -- CURVE, identity, roles -----------------------------------------------------------------------
class Peer:
    """One process's context: role, keys, its sockets."""

    def __init__(self, role, endpoints, keys):
        self.ctx = SecureContext(TransportSecurity(role=role, endpoints=endpoints, keys=keys))

    def close(self):
        self.ctx.destroy(linger=0)


@pytest.fixture
def curve_records(keys):
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    endpoints = {"records": endpoint}
    recorder = Peer("recorder", endpoints, keys)
    rejected = []
    inbox = Inbox(make_socket(recorder.ctx, zmq.PULL, endpoint, bind=True), run_id=RUN,
                  on_reject=rejected.append)
    peers = []

    def client(role):
        peer = Peer(role, endpoints, keys)
        peers.append(peer)
        return make_socket(peer.ctx, zmq.PUSH, endpoint, bind=False, linger_ms=0)

    yield inbox, rejected, client, endpoint
    for p in peers:
        p.close()
    recorder.close()


def receive(inbox, n, timeout_ms=5000):
    out = []
    for _ in range(n):
        if not inbox.socket.poll(timeout_ms):
            break
        out.append(inbox.recv())
    return out


def test_curve_source_is_bound_to_the_authenticated_role(curve_records):
    inbox, rejected, client, _ = curve_records
    push = client("decoder")
    Outbox(push, run_id=RUN, source="decoder-0").event("info", "hello", "a decoder speaks")
    Outbox(push, run_id=RUN, source="instrument_server").send(
        Applied(syndrome_seq=0, t_decoded=1.0, t_applied=1.0, decode_seconds=0.0, worker="decoder-0",
                failures=0, shadow_shots=0, shadow_disagreements=0),
        {"predictions": np.zeros((4, 1), np.uint8)})
    Outbox(push, run_id=RUN, source="decoder-1").send(
        Correction(syndrome_seq=0, t_decoded=1.0, decode_seconds=0.0, shadow_shots=0,
                   shadow_disagreements=0), {"predictions": np.zeros((4, 1), np.uint8)})
    got = receive(inbox, 3)
    assert got[0] is not None and got[0][1].source == "decoder-0"
    assert got[1] is None and got[2] is not None  # forged source refused; its own kind accepted
    assert [r.reason for r in rejected] == ["identity"]
    assert rejected[0].peer == "decoder" and rejected[0].authenticated


def test_roles_may_send_only_their_kinds(curve_records):
    inbox, rejected, client, _ = curve_records
    push = client("decoder")
    Outbox(push, run_id=RUN, source="decoder-0").send(
        Syndrome(block_index=0, circuit_id="ab" * 8, num_detectors=8, t_acquired=1.0),
        {"detection_events": np.zeros((4, 1), np.uint8)})
    assert receive(inbox, 1) == [None]
    assert rejected[0].reason == "not_allowed" and "decoder may not send syndrome" in rejected[0].message


def test_a_client_with_an_unknown_key_or_no_key_gets_nothing_through(curve_records, keys):
    inbox, rejected, _, endpoint = curve_records
    server_public, _ = zmq.auth.load_certificate(os.path.join(keys, "recorder.key"))
    ctx = zmq.Context()
    try:
        plain = ctx.socket(zmq.PUSH)
        plain.linger = 0
        plain.connect(endpoint)
        rogue = ctx.socket(zmq.PUSH)
        rogue.linger = 0
        rogue.curve_publickey, rogue.curve_secretkey = zmq.curve_keypair()
        rogue.curve_serverkey = server_public  # knows the server, but its own key is not the run's
        rogue.connect(endpoint)
        for sock in (plain, rogue):
            for _ in range(3):
                if sock.poll(200, zmq.POLLOUT):
                    sock.send_multipart([b"event", b"{}"], flags=zmq.NOBLOCK)
        assert not inbox.socket.poll(500)
    finally:
        ctx.destroy(linger=0)


def test_an_inbox_on_a_plain_context_keeps_todays_behaviour(tmp_path):
    ctx = zmq.Context()
    try:
        pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/r", bind=True)
        push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/r", bind=False)
        Outbox(push, run_id=RUN, source="anything").send(Event(level="info", event="x", message="m"))
        got = Inbox(pull, run_id=RUN).recv()
        assert got is not None and got[1].source == "anything"
        assert pull.getsockopt(zmq.MAXMSGSIZE) > 0
    finally:
        ctx.destroy(linger=0)


def test_deep_json_is_refused(tmp_path):
    ctx = zmq.Context()
    try:
        pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/r", bind=True)
        push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/r", bind=False)
        deep: dict = {}
        for _ in range(100):
            deep = {"d": deep}
        Outbox(push, run_id=RUN, source="x").send(Event(level="info", event="x", message="m",
                                                        details=deep))
        rejected: list[Rejection] = []
        assert Inbox(pull, run_id=RUN, on_reject=rejected.append).recv() is None
        assert rejected[0].reason == "too_deep"
    finally:
        ctx.destroy(linger=0)


def test_require_keys_puts_curve_on_ipc_too(keys, tmp_path):
    endpoint = f"ipc://{tmp_path}/records"
    endpoints = {"records": endpoint}
    recorder = SecureContext(TransportSecurity(role="recorder", endpoints=endpoints, keys=keys,
                                               require_keys=True))
    worker = SecureContext(TransportSecurity(role="decoder", endpoints=endpoints, keys=keys,
                                             require_keys=True))
    plain = zmq.Context()
    try:
        inbox = Inbox(make_socket(recorder, zmq.PULL, endpoint, bind=True), run_id=RUN)
        assert inbox.user_ids
        keyless = plain.socket(zmq.PUSH)
        keyless.linger = 0
        keyless.connect(endpoint)
        Outbox(keyless, run_id=RUN, source="decoder-0").event("info", "x", "from no key")
        assert not inbox.socket.poll(300)
        push = make_socket(worker, zmq.PUSH, endpoint, bind=False, linger_ms=0)
        Outbox(push, run_id=RUN, source="decoder-0").event("info", "x", "from the decoder key")
        got = receive(inbox, 1)
        assert got[0] is not None and got[0][1].body.message == "from the decoder key"
    finally:
        plain.destroy(linger=0)
        worker.destroy(linger=0)
        recorder.destroy(linger=0)


def test_a_non_loopback_endpoint_without_keys_does_not_start():
    sec = TransportSecurity(role="recorder", endpoints={"records": "tcp://10.1.2.3:5555"})
    ctx = SecureContext(sec)
    try:
        with pytest.raises(ConfigError, match="qplane.security.keys"):
            make_socket(ctx, zmq.PULL, "tcp://10.1.2.3:5555", bind=True)
    finally:
        ctx.destroy(linger=0)


def test_every_record_kind_names_who_may_send_it():
    """A new record kind without senders would be refused everywhere (as noise_model once was)."""
    from qplane.pipeline.security import SENDERS
    from qplane.records.wire import RECORD_KINDS

    assert sorted(set(RECORD_KINDS) - set(SENDERS)) == []


@pytest.mark.parametrize("bad", ["instrument_server\x00", "decoder-0\n", "x\x1by", "\x7f", "d\x85"])
def test_a_source_holding_a_control_character_is_refused_counted_and_shown_escaped(tmp_path, bad):
    ctx = zmq.Context()
    try:
        pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/r", bind=True)
        push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/r", bind=False)
        event = Event(level="info", event="x", message="m")
        for seq in range(2):  # the second is refused from the inbox's cache of sources
            push.send(pack(Record.build(event, run_id=RUN, source=bad, seq=seq)))
        Outbox(push, run_id=RUN, source="instrument_server").send(event)
        rejected: list[Rejection] = []
        inbox = Inbox(pull, run_id=RUN, on_reject=rejected.append)
        got = [inbox.recv() for _ in range(3)]
        assert got[:2] == [None, None] and got[2][1].source == "instrument_server"
        assert [r.reason for r in rejected] == ["bad_name", "bad_name"]
        assert inbox.rejected == 2 and inbox.received == 1
        assert rejected[0].peer == repr(bad)[1:-1] and rejected[0].source == bad
        assert not any(c < " " or "\x7f" <= c <= "\x9f" for c in rejected[0].peer)
        assert repr(bad) in rejected[0].message and "control character" in rejected[0].message
    finally:
        ctx.destroy(linger=0)


def test_a_run_id_holding_a_nul_is_refused_where_no_run_id_is_matched(tmp_path):
    ctx = zmq.Context()
    try:
        pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/r", bind=True)
        push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/r", bind=False)
        event = Event(level="info", event="x", message="m")
        push.send(pack(Record.build(event, run_id="r\x00n", source="recorder", seq=0)))
        Outbox(push, run_id="run", source="recorder").send(event)
        rejected: list[Rejection] = []
        inbox = Inbox(pull, on_reject=rejected.append)  # no run id: any run's records
        assert inbox.recv() is None and inbox.recv()[1].run_id == "run"
        assert [r.reason for r in rejected] == ["bad_name"] and "run id" in rejected[0].message
    finally:
        ctx.destroy(linger=0)


def test_the_recorder_records_a_refused_source_with_a_nul_in_its_events(tmp_path):
    import h5py

    from qplane.pipeline.recorder import Recorder
    from qplane.records import QecInfo, RunEnd, RunStart

    ctx = zmq.Context()
    try:
        pull = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
        push = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
        path = str(tmp_path / "run.h5")
        recorder = Recorder(records=pull, path=path, run_id=RUN)
        Outbox(push, run_id=RUN, source="instrument_server").send(RunStart(
            config_text="x", config_path="c.yaml", station_snapshot={}, num_detectors=16,
            num_observables=1, qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=4)))
        push.send(pack(Record.build(Event(level="info", event="x", message="m"), run_id=RUN,
                                    source="\x00instrument_server", seq=0)))
        Outbox(push, run_id=RUN, source="launcher").send(RunEnd(end_state="completed", reason="t"))
        recorder.run()
        recorder.close()
        assert recorder.inbox.rejected == 1
        with h5py.File(path, "r") as f:
            rows = [e for e in f["events"][:] if e["kind"] == b"rejected_record"]
            assert len(rows) == 1
            details = json.loads(rows[0]["details"])
        assert details["reason"] == "bad_name" and details["peer"] == "\\x00instrument_server"
        assert details["claimed_source"] == "\x00instrument_server"
        streams = {s["source"] for s in h5py.File(path, "r")["streams"][:]}
        assert not any(b"\x00" in s or b"\\x00" in s for s in streams)  # it made no stream
    finally:
        ctx.destroy(linger=0)
