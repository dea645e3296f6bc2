"""Test support: a calibration service answering its control socket from a thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from qplane.pipeline.transport import Inbox


@contextlib.contextmanager
def serving(service: Any, router: Any, *, run_id: str,
            seen: list | None = None) -> Iterator[None]:
    """Answer ``service``'s calls on ``router`` from a thread until the block ends (polls of
    20 ms, so it stops promptly). A call the service refuses is not handled; ``seen`` gets each
    handled call's arguments before its reply goes."""
    stop = threading.Event()

    def serve() -> None:
        inbox = Inbox(router, run_id=run_id, envelope=1)
        while not stop.is_set():
            if router.poll(20):
                got = inbox.recv()
                if got is not None and service.refusal(got[1]) is None:
                    if seen is not None:
                        seen.append(got[1].body.args)
                    service.handle(*got)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
