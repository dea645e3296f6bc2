"""``qplane bench NAME``: every benchmark of :mod:`qplane.bench`, one subcommand each.

A benchmark's ``--help`` is its module's docstring; its options come from the module's
``add_arguments`` and ``main`` runs it. Results are safe by default: without ``--out`` they go
to ``runs/bench/NAME.json`` under the working directory, and only ``--update-results`` writes
the committed ``bench/results/NAME.json`` (and, for ``decoder``, the table in
``docs/decoder.md``).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["bench", "sim", "--quick"])
>>> args.bench, args.quick, args.out, args.func.__module__
('sim', True, 'runs/bench/sim.json', 'qplane.bench.sim')
>>> parser.parse_args(["bench", "sim", "--update-results"]).out
'bench/results/sim.json'
>>> parser.parse_args(["bench", "sim", "--out", "x.json", "--update-results"]).out
'x.json'
>>> parser.parse_args(["bench", "decoder", "--update-results"]).markdown
'docs/decoder.md'
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

#: Where results go without ``--out`` (a run's scratch space, never a tracked file).
SCRATCH_DIR = "runs/bench"
#: The committed results, written only with ``--update-results``.
RESULTS_DIR = "bench/results"
#: Other committed files a benchmark rewrites with ``--update-results``: option -> path.
COMMITTED_EXTRAS = {"decoder": {"markdown": "docs/decoder.md"}}


class _UpdateResults(argparse.Action):
    """``--update-results``: point ``--out`` (unless given) and the committed extras at the
    committed files."""

    def __init__(self, option_strings: list[str], dest: str, *, bench: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)
        self.bench = bench

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, True)
        if getattr(namespace, "out", None) == f"{SCRATCH_DIR}/{self.bench}.json":
            namespace.out = f"{RESULTS_DIR}/{self.bench}.json"
        for option, path in COMMITTED_EXTRAS.get(self.bench, {}).items():
            if getattr(namespace, option, None) is None:
                setattr(namespace, option, path)


def _make_safe(name: str, parser: argparse.ArgumentParser) -> None:
    """Default the benchmark's ``--out`` (and committed extras) to nothing; add ``--update-results``."""
    extras = COMMITTED_EXTRAS.get(name, {})
    has_out = False
    for action in parser._actions:
        if action.dest == "out":
            has_out = True
            action.default = f"{SCRATCH_DIR}/{name}.json"
            action.help = (f"results file (default: {SCRATCH_DIR}/{name}.json; with "
                           f"--update-results: the committed {RESULTS_DIR}/{name}.json)")
        elif action.dest in extras:
            action.default = None
            action.help = (f"{action.help} (default: none; with --update-results: "
                           f"{extras[action.dest]})")
    if has_out:
        parser.add_argument("--update-results", action=_UpdateResults, bench=name,
                            help=f"write the committed {RESULTS_DIR}/{name}.json"
                                 + "".join(f" and {p}" for p in extras.values())
                                 + " instead of a scratch file (README tables: "
                                   "qplane bench tables --update-readme)")


def register(subparsers: Any) -> None:
    """Add ``bench`` and one ``bench NAME`` parser per entry of :data:`qplane.bench.BENCHMARKS`."""
    from qplane.bench import BENCHMARKS

    bench = subparsers.add_parser(
        "bench", help=f"run a benchmark (writes {SCRATCH_DIR}/NAME.json)",
        description=f"Run one benchmark; each writes {SCRATCH_DIR}/NAME.json under the working "
                    f"directory (or --out); --update-results writes the committed "
                    f"{RESULTS_DIR}/NAME.json instead. `qplane bench NAME --help` says what it "
                    "measures.")
    benches = bench.add_subparsers(dest="bench", metavar="NAME", required=True)
    for name, help in BENCHMARKS.items():
        module = importlib.import_module(f"qplane.bench.{name}")
        parser = benches.add_parser(name, help=help, description=_plain(module.__doc__),
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(parser)
        _make_safe(name, parser)
        parser.set_defaults(func=module.main)


def _plain(doc: str | None) -> str | None:
    """A module docstring as plain help text: no doctest examples, no reST markup."""
    from qplane.cli._help import plain

    return plain(doc)
