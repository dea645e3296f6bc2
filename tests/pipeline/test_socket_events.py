"""Oversize messages, which libzmq drops (ZMQ_MAXMSGSIZE) before any receiver sees them, are
counted from the socket monitor: as a dropped connection beyond the peers that ended in order
(libzmq emits ZMQ_EVENT_DISCONNECTED and nothing else, see qplane.pipeline.socket_events).
With a plain pyzmq peer, over loopback tcp and ipc; loops are bounded by a number of polls."""

from __future__ import annotations

import json
import time

import h5py
import pytest
import zmq

from qplane.pipeline.launcher import Launcher
from qplane.pipeline.socket_events import ConnectionWatch

from tests.pipeline.test_faults import end_run, supervise_past, supervise_until

LIMIT = 4096


def _poll_until(watch, predicate, polls=200):
    for _ in range(polls):
        watch.poll(force=True)
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture(params=["tcp", "ipc"])
def receiver(request, tmp_path):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.MAXMSGSIZE, LIMIT)
    if request.param == "tcp":
        endpoint = f"tcp://127.0.0.1:{sock.bind_to_random_port('tcp://127.0.0.1')}"
    else:
        endpoint = f"ipc://{tmp_path}/records"
        sock.bind(endpoint)
    yield ctx, sock, endpoint
    ctx.destroy(linger=0)


def test_an_oversize_message_is_never_received_and_is_counted_as_a_dropped_connection(receiver):
    ctx, sock, endpoint = receiver
    rows = []
    ended = []  # peers that ended in order, as the receiver knows them
    watch = ConnectionWatch(rows.append, interval=0.0)
    watch.watch(sock, "records", expected=lambda: len(ended))
    peer = ctx.socket(zmq.DEALER)
    peer.setsockopt(zmq.LINGER, 0)
    peer.connect(endpoint)
    peer.send(b"x" * 100)
    assert sock.poll(5000) and sock.recv_multipart()[1] == b"x" * 100  # under the limit: fine
    peer.send(b"y" * (LIMIT + 1))  # over: libzmq drops the connection, delivers nothing
    assert _poll_until(watch, lambda: watch.counts["records", "disconnected"] >= 1)
    assert not sock.poll(100)
    assert watch.unexplained() == {"records": 1}
    assert [(r.endpoint, r.kind, r.row) for r in rows] == [("records", "disconnected", True)]
    assert "max_message_bytes" in rows[0].message("recorder")
    # the same peer reconnects by itself; a peer that ends in order is explained, not a row
    assert _poll_until(watch, lambda: watch.counts["records", "accepted"] >= 2)
    ended.append("peer")
    peer.close()
    assert _poll_until(watch, lambda: watch.counts["records", "disconnected"] >= 2)
    assert watch.unexplained() == {"records": 1} and len(rows) == 2 and not rows[1].row
    watch.close()


def test_a_flood_of_oversize_messages_is_counted_with_bounded_rows(receiver):
    ctx, sock, endpoint = receiver
    rows = []
    watch = ConnectionWatch(rows.append, rows_per_key=3, interval=0.0)
    watch.watch(sock, "records")
    for _ in range(8):  # each a fresh peer that sends one oversize message and waits for the drop
        peer = ctx.socket(zmq.DEALER)
        peer.setsockopt(zmq.LINGER, 0)
        peer.setsockopt(zmq.RECONNECT_IVL, -1)  # gone once dropped
        before = watch.counts["records", "disconnected"]
        peer.connect(endpoint)
        peer.send(b"z" * (2 * LIMIT))
        assert _poll_until(watch, lambda: watch.counts["records", "disconnected"] > before)
        peer.close()
    _poll_until(watch, lambda: False, polls=5)
    assert watch.counts["records", "disconnected"] == 8 and watch.unexplained() == {"records": 8}
    assert sum(r.row for r in rows) == 3
    watch.close()


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.slow
def test_an_oversize_message_to_a_running_recorder_is_recorded_in_the_run_file(loop_config,
                                                                            tmp_path):
    config = loop_config(workers=1, shots=64, security=f"{{max_message_bytes: {LIMIT * 16}}}")
    out = tmp_path / "oversize.h5"
    launcher = Launcher(config, out_path=str(out), duration=None)
    ctx = zmq.Context()
    try:
        launcher.start()
        supervise_until(launcher, lambda s: s["blocks_applied"] >= 10)
        peer = ctx.socket(zmq.DEALER)  # a plain peer: no qplane code
        peer.setsockopt(zmq.LINGER, 0)
        peer.connect(launcher.endpoints["records"])
        peer.send(b"e" * (LIMIT * 32))
        supervise_past(launcher)
        assert end_run(launcher) == "interrupted"
    finally:
        ctx.destroy(linger=0)
        launcher.close()
    with h5py.File(out, "r") as f:
        evs = [(_text(e["source"]), _text(e["kind"]), _text(e["level"]),
                json.loads(_text(e["details"]) or "{}")) for e in f["events"][:]]
    dropped = [d for s, k, _, d in evs if s == "recorder" and k == "connection_dropped"]
    assert dropped and dropped[0]["endpoint"] == "records"
    summary = [(lvl, d) for s, k, lvl, d in evs if s == "recorder" and k == "connections"]
    assert len(summary) == 1 and summary[0][0] == "warning"
    assert summary[0][1]["unexplained"]["records"] >= 1
