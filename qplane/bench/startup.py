"""``qplane bench startup``: how long ``qplane --help`` and ``qplane check CONFIG`` take to start.

Each command runs as a fresh ``python -m qplane.cli`` process, ``--repeats`` times; the
benchmark records the median and best wall time of each, and from one extra run under
``python -X importtime`` the slowest top-level imports (what to make lazy next). Target: both
under 1 s. Writes ``runs/bench/startup.json`` (``--update-results``: the committed
``bench/results/startup.json``)::

    qplane bench startup --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from qplane.bench._results import write_results

#: The target for each command's median wall time, seconds.
TARGET_S = 1.0


def _default_config() -> str:
    import qplane

    return str(Path(qplane.__file__).resolve().parents[1] / "config" / "sim_d3.yaml")


def _short(config: str) -> str:
    """``config`` relative to the checkout when it lies there (results name no home folders)."""
    root = Path(_default_config()).parents[1]
    path = Path(config).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else config


def _time(argv: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qplane.cli", *argv], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return times


def slowest_imports(argv: list[str], top: int = 8) -> list[dict[str, Any]]:
    """The ``top`` slowest top-level imports of ``qplane ARGV`` (cumulative µs, from -X importtime)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "qplane.cli", *argv],
                          capture_output=True, text=True, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        top_level = len(name) - len(name.lstrip()) == 1  # nested imports are indented further
        if cumulative.strip().isdigit() and top_level:
            rows.append({"module": name.strip(), "cumulative_ms": int(cumulative) / 1e3})
    return sorted(rows, key=lambda r: -r["cumulative_ms"])[:top]


def measure(config: str, repeats: int) -> dict[str, Any]:
    """Time ``--help`` and ``check CONFIG``; return the results (as written)."""
    cases = {"help": ["--help"], "check": ["check", config]}
    shown = {"help": "qplane --help", "check": f"qplane check {_short(config)}"}
    results: dict[str, Any] = {}
    for name, argv in cases.items():
        times = _time(argv, repeats)
        results[name] = {"command": shown[name], "median_s": statistics.median(times),
                         "best_s": min(times), "repeats": repeats,
                         "met": statistics.median(times) < TARGET_S,
                         "slowest_imports": slowest_imports(argv)}
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--config", default=None,
                        help="config for qplane check (default: config/sim_d3.yaml of the checkout)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (default: 5)")
    parser.add_argument("--out", default=os.path.join("runs", "bench", "startup.json"),
                        help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and write its results file."""
    results = measure(args.config or _default_config(), args.repeats)
    for name, r in results.items():
        print(f"{r['command']}: median {r['median_s']:.3f} s, best {r['best_s']:.3f} s "
              f"({'met' if r['met'] else 'NOT met'}: < {TARGET_S:g} s)")
    write_results(args.out, {"benchmark": "startup", "target_s": TARGET_S, "results": results})
    print(f"wrote {args.out}")
    return 0
