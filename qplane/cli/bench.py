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
>>> args.bench, args.quick, args.out, args.func.__name__
('sim', True, None, 'run')
>>> resolve_outputs(args); args.out
'runs/bench/sim.json'
>>> args = parser.parse_args(["bench", "sim", "--update-results"])
>>> resolve_outputs(args); args.out
'bench/results/sim.json'
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

#: Where results go without ``--out`` (a run's scratch space, never a tracked file).
SCRATCH_DIR = "runs/bench"
#: The committed results, written only with ``--update-results``.
RESULTS_DIR = "bench/results"
#: Other committed files a benchmark rewrites with ``--update-results``: option -> path.
COMMITTED_EXTRAS = {"decoder": {"markdown": "docs/decoder.md"}}


def resolve_outputs(args: argparse.Namespace) -> None:
    """Fill in ``args.out`` (and a benchmark's other outputs) from ``--update-results``.

    An explicit ``--out`` wins; otherwise results go to ``runs/bench/NAME.json``, or to the
    committed ``bench/results/NAME.json`` with ``--update-results``. Extra committed files
    (``docs/decoder.md``) are written only with ``--update-results`` or when named.
    """
    update = getattr(args, "update_results", False)
    if hasattr(args, "out") and args.out is None:
        args.out = f"{RESULTS_DIR if update else SCRATCH_DIR}/{args.bench}.json"
    for option, path in COMMITTED_EXTRAS.get(args.bench, {}).items():
        if getattr(args, option, None) is None and update:
            setattr(args, option, path)


def _runner(main: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        resolve_outputs(args)
        return main(args)

    run.__doc__ = main.__doc__
    return run


def _make_safe(name: str, parser: argparse.ArgumentParser) -> None:
    """Default the benchmark's ``--out`` (and committed extras) to nothing; add ``--update-results``."""
    extras = COMMITTED_EXTRAS.get(name, {})
    has_out = False
    for action in parser._actions:
        if action.dest == "out":
            has_out = True
            action.default = None
            action.help = (f"results file (default: {SCRATCH_DIR}/{name}.json; with "
                           f"--update-results: the committed {RESULTS_DIR}/{name}.json)")
        elif action.dest in extras:
            action.default = None
            action.help = (f"{action.help} (default: none; with --update-results: "
                           f"{extras[action.dest]})")
    if has_out:
        parser.add_argument("--update-results", action="store_true",
                            help=f"write the committed {RESULTS_DIR}/{name}.json (and the tables "
                                 "it feeds) instead of a scratch file")


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
        parser.set_defaults(func=_runner(module.main))


def _plain(doc: str | None) -> str | None:
    """A module docstring as plain help text: no doctest examples, no reST markup."""
    from qplane.cli._help import plain

    return plain(doc)
