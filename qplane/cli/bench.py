"""``qplane bench NAME``: every benchmark of :mod:`qplane.bench`, one subcommand each.

A benchmark's ``--help`` is its module's docstring; its options come from the module's
``add_arguments`` and ``main`` runs it.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["bench", "sim", "--quick", "--out", "/tmp/sim.json"])
>>> args.bench, args.quick, args.func.__module__
('sim', True, 'qplane.bench.sim')
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``bench`` and one ``bench NAME`` parser per entry of :data:`qplane.bench.BENCHMARKS`."""
    from qplane.bench import BENCHMARKS

    bench = subparsers.add_parser(
        "bench", help="run a benchmark (writes bench/results/<NAME>.json)",
        description="Run one benchmark; each writes bench/results/<NAME>.json under the working "
                    "directory (or --out). `qplane bench NAME --help` says what it measures.")
    benches = bench.add_subparsers(dest="bench", metavar="NAME", required=True)
    for name, help in BENCHMARKS.items():
        module = importlib.import_module(f"qplane.bench.{name}")
        parser = benches.add_parser(name, help=help, description=module.__doc__,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(parser)
        parser.set_defaults(func=module.main)
