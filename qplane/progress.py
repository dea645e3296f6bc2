"""Progress bars for long jobs (training, benchmarks, reports of big files), on terminals only.

:func:`track` wraps an iterable and :func:`steps` gives a callback to advance by hand; both
draw a rich progress bar on standard error when it is a terminal and do nothing otherwise, so
CI logs and pipes get no noise. rich is imported only when a bar is drawn.

>>> list(track(range(3), "cases"))  # not a terminal here: no bar, the items unchanged
[0, 1, 2]
>>> with steps("report", total=2) as advance:
...     advance(1, "reading")
...     advance(1, "figures")
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")


def enabled(stream: IO[str] | None = None) -> bool:
    """Whether a bar would be drawn on ``stream`` (default: standard error): a terminal only."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _bar(stream: IO[str]) -> Any:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[step]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(file=stream), transient=False)


@contextlib.contextmanager
def steps(description: str, total: float | None, *,
          stream: IO[str] | None = None) -> Iterator[Callable[..., None]]:
    """A bar of ``total`` steps; yields ``advance(n=1, step=None)`` (``step``: what runs now)."""
    stream = sys.stderr if stream is None else stream
    if not enabled(stream):
        yield lambda n=1, step=None: None
        return
    with _bar(stream) as bar:
        task = bar.add_task(description, total=total, step="")

        def advance(n: float = 1, step: str | None = None) -> None:
            bar.update(task, advance=n, **({"step": step} if step is not None else {}))

        yield advance


def track(items: Iterable[T], description: str, *, total: int | None = None,
          label: Callable[[T], str] | None = None, stream: IO[str] | None = None) -> Iterator[T]:
    """Yield ``items`` with a bar (``label(item)``: shown while the item runs)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with steps(description, total, stream=stream) as advance:
        for item in items:
            if label is not None:
                advance(0, label(item))
            yield item
            advance(1)
