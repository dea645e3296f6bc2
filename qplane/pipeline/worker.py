"""The one shape every pipeline worker has: start, step, run, stop, close, context manager.

A worker is a small class whose sockets are passed in. :meth:`Worker.step` handles what is
pending and does at most one unit of work, returning how many messages or units it handled
(0: it was idle for up to ``poll_ms``); :meth:`Worker.run` loops over it until the worker is
done, is stopped, or ``should_stop()`` says so; :meth:`Worker.close` releases what it holds.

>>> class Counter(Worker):
...     def __init__(self):
...         super().__init__()
...         self.n = 0
...     def step(self, poll_ms=0):
...         self.n += 1
...         if self.n == 3:
...             self.stop()
...         return 1
>>> with Counter() as c:
...     c.run()
>>> c.n, c.running, c.closed
(3, False, True)
"""

from __future__ import annotations

from collections.abc import Callable


class Worker:
    """Base class of the pipeline's workers (instrument server, decoding worker, calibration
    worker, recorder)."""

    def __init__(self) -> None:
        self._running = False
        self._closed = False

    @property
    def running(self) -> bool:
        return self._running

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self) -> None:
        """Begin work (subclasses announce themselves here)."""
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        self._running = True

    def step(self, poll_ms: int = 100) -> int:
        """Handle pending messages and do at most one unit of work; return how many were
        handled (0 when nothing arrived within ``poll_ms``)."""
        raise NotImplementedError

    def run(self, should_stop: Callable[[], bool] = lambda: False,
            max_steps: int | None = None) -> None:
        """Loop :meth:`step` until :meth:`stop` (or the work is done), ``should_stop()``, or
        ``max_steps`` steps."""
        if not self._running and not self._closed:
            self.start()
        steps = 0
        while self._running and not should_stop() and (max_steps is None or steps < max_steps):
            self.step()
            steps += 1

    def stop(self) -> None:
        """Stop taking new work (what is in hand is finished by the subclass's drain/close)."""
        self._running = False

    def close(self) -> None:
        """Stop and release what the worker holds. Idempotent."""
        self.stop()
        self._closed = True

    def __enter__(self):
        if not self._running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
