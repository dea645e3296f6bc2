"""Writing benchmark results (``bench/results/NAME.json``): one writer for every benchmark.

Each benchmark builds its results as a dict and hands it to :func:`write_results`, which adds
what every results file carries — the machine it ran on (:func:`machine_info`, merged under the
benchmark's own ``machine`` fields, which win) and when it was written (``written``, UTC ISO
8601) — creates the folder and writes indented JSON ending in a newline.

>>> import json, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "results", "demo.json")
>>> out = write_results(path, {"benchmark": "demo", "machine": {"cpus": 1}, "rows": [1.5]})
>>> data = json.load(open(out))
>>> data["benchmark"], data["machine"]["cpus"], "platform" in data["machine"], "written" in data
('demo', 1, True, True)
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any


def machine_info() -> dict[str, Any]:
    """The machine a benchmark runs on: platform, processor, CPU count, Python version."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": sys.version.split()[0]}


def write_results(path: str | os.PathLike, results: dict[str, Any], *, indent: int = 2,
                  default: Callable[[Any], Any] | None = None) -> str:
    """Write benchmark ``results`` as JSON at ``path`` and return the path.

    ``results`` gains ``machine`` (:func:`machine_info`, under the fields it already has there)
    and ``written`` in place, so what the caller returns is what the file holds. The folder is
    created; an existing file is replaced (a benchmark that keeps earlier results, such as
    ``qplane bench decoder --merge``, merges them into ``results`` first).

    Args:
        path: the results file, e.g. ``bench/results/pipeline.json``.
        results: JSON-serialisable benchmark results (``default`` converts the rest).
        indent: JSON indentation.
        default: ``json.dumps`` fallback for values JSON does not know (numpy scalars ...).
    """
    own = results.get("machine")
    results["machine"] = {**machine_info(), **own} if isinstance(own, dict) else (
        machine_info() if own is None else own)
    results["written"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    text = json.dumps(results, indent=indent, default=default)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return path
