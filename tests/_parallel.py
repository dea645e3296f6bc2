"""``fork_map``: a CPU-bound loop of a test over independent items, in forked processes.

For tests whose claim is about every item of a set (every case analysable, an accuracy over
fresh cases): each item is computed exactly as in the loop, in the order given, and the test
asserts on the results in the parent. On the CI machine (2 cores, one test at a time) the
analyses of the calibration tests run on both cores instead of one.

>>> fork_map(lambda x: x * x, [1, 2, 3], jobs=2)
[1, 4, 9]
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

_CORES = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
          else (os.cpu_count() or 1))
#: Worker processes: this test process's share of the cores it may run on (under pytest-xdist,
#: the cores divided among the xdist workers, which already run tests side by side), at most 4
#: (1: a plain loop).
JOBS = max(1, min(4, _CORES // max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))))

_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _call(i: int) -> Any:
    fn, items = _WORK
    return fn(items[i])


def fork_map(fn: Callable[[Any], Any], items: Sequence[Any], *, jobs: int = JOBS) -> list[Any]:
    """``[fn(x) for x in items]``, in ``jobs`` forked processes where ``jobs > 1``.

    ``fn`` and ``items`` reach the workers by the fork (they need not pickle; a lambda is
    fine); the results come back pickled, in order. An exception in ``fn`` is raised here
    with the worker's traceback as its cause, so a test fails as the loop would.
    """
    global _WORK
    items = list(items)
    if jobs <= 1 or len(items) < 2:
        return [fn(x) for x in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORK = (fn, items)
    try:
        with ProcessPoolExecutor(min(jobs, len(items)),
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            # one item per task: the items' costs differ by 10x (spectroscopy off range)
            return list(pool.map(_call, range(len(items))))
    finally:
        _WORK = None
