"""The calibration ``history`` call is bounded: one reply carries at most MAX_HISTORY_PAGE
changes, a cursor (``start``) and ``since`` page through the rest, and the callers (the
worker's RemoteLedger, a decoder's noise window, ``qplane calibration history``) page."""

from __future__ import annotations

import pytest
import zmq

from qplane.calibration.updates import DictTarget
from qplane.errors import WireFormatError
from qplane.pipeline.calibration_link import (
    CalibrationService,
    RemoteBackend,
    RemoteLedger,
    history_page,
)
from qplane.pipeline.noise_window import DeviceChanges
from qplane.pipeline.transport import Outbox, make_socket
from qplane.records import MAX_HISTORY_PAGE

from tests.pipeline.serving import serving

RUN = "history-run"
CHANGES = 2 * MAX_HISTORY_PAGE + 88  # three pages


class _Backend(DictTarget):
    """A settings target with a clock: one tick per reading."""

    def __init__(self) -> None:
        super().__init__({"q0.pi_amplitude": 0.0, "q1.pi_amplitude": 0.0})
        self.t = 0.0

    def now(self) -> float:
        self.t += 1.0
        return self.t


@pytest.fixture
def served(tmp_path):
    ctx = zmq.Context()
    router = make_socket(ctx, zmq.ROUTER, f"ipc://{tmp_path}/ctl", bind=True)
    cal = make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/ctl", bind=False)
    sink = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
    records = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
    service = CalibrationService(_Backend(), ("q0", "q1"),
                                 replies=Outbox(router, run_id=RUN, source="instrument_server"),
                                 records=Outbox(records, run_id=RUN, source="instrument_server"))
    for i in range(CHANGES):  # in process: the ledger's history grows past three pages
        service.ledger.update({"q0.pi_amplitude": 0.001 * (i + 1)}, node="rabi")
    replies = []
    try:
        with serving(service, router, run_id=RUN, seen=replies):
            yield service, cal, replies
    finally:
        sink.close(linger=0)
        ctx.destroy(linger=0)


def test_a_page_is_bounded_and_the_cursor_walks_the_whole_history(served):
    service, _, _ = served
    history = service.ledger.history
    assert len(history) == CHANGES
    seen, start, pages = [], 0, 0
    while start < len(history):
        page = history_page(history, start=start, limit=10_000)  # asks too much: capped
        assert 0 < len(page.changes) <= MAX_HISTORY_PAGE and page.total == CHANGES
        assert page.indices == list(range(start, page.next))
        seen.extend(c.uid for c in page.changes)
        start, pages = page.next, pages + 1
    assert seen == [c.uid for c in history] and pages == 3
    late = history[-5].time
    page = history_page(history, since=late)  # only what came after
    assert [c.uid for c in page.changes] == [c.uid for c in history[-4:]]
    assert page.next == page.total == CHANGES
    assert history_page(history, start=CHANGES + 7).changes == []


def test_the_remote_ledger_pages_and_a_larger_page_is_refused_before_it_is_sent(served):
    _, cal, replies = served
    backend = RemoteBackend(cal, Outbox(cal, run_id=RUN, source="calibration"), timeout=30)
    ledger = RemoteLedger(backend)
    changes, nxt, total = ledger.history_page(limit=5)
    assert len(changes) == 5 and (nxt, total) == (5, CHANGES)
    everything = ledger.history
    assert len(everything) == CHANGES and len({c.uid for c in everything}) == CHANGES
    assert all(r.limit <= MAX_HISTORY_PAGE for r in replies)  # every call asked one page
    assert len(replies) == 1 + 3
    since = everything[-3].time
    assert [c.uid for c in ledger.history_since(since)] == [c.uid for c in everything[-2:]]
    with pytest.raises(WireFormatError):
        ledger.history_page(limit=MAX_HISTORY_PAGE + 1)


def test_a_decoders_noise_window_finds_its_change_beyond_the_first_page(served):
    service, cal, _ = served
    changes = DeviceChanges(cal, Outbox(cal, run_id=RUN, source="decoder-0"), timeout=30)
    assert changes.note(CHANGES, {"c": 0}) == []  # the first block: where the history is
    service.ledger.update({"q1.pi_amplitude": 0.5}, node="rabi")
    assert changes.note(CHANGES + 1, {"c": 100}) == []  # asked: one page from index CHANGES
    assert changes.poll(wait=30) == [({"q1"}, {"c": 100})]
