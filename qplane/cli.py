"""The ``qplane`` command line.

Each subcommand lives beside the code it drives, in a module that defines
``register(subparsers)``; that function adds its parser and sets ``func`` to the callable that
runs it (taking the parsed ``argparse.Namespace`` and returning an exit code). Benchmarks share
one ``qplane bench NAME`` command: a module that has one defines ``register_bench(benches)`` and
adds its ``NAME`` parser to ``benches`` (:func:`add_bench` does it for a bench module that
defines ``add_arguments(parser)`` and documents itself in its docstring).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from qplane.errors import QplaneError

#: Modules that each contribute subcommands, in the order ``qplane --help`` lists them.
COMMAND_MODULES = [
    "qplane.pipeline.commands",
    "qplane.analysis.commands",
    "qplane.decoder.commands",
    "qplane.calibration.commands",
    "qplane.sim_instruments.commands",
]


def add_bench(benches, name: str, module, *, help: str, run) -> argparse.ArgumentParser:
    """Add ``qplane bench NAME``: described by ``module``'s docstring, its options from
    ``module.add_arguments``, run by ``run(args)``."""
    parser = benches.add_parser(name, help=help, description=module.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qplane",
        description="qplane: an open, hardware-neutral control plane for quantum processors.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [importlib.import_module(name) for name in COMMAND_MODULES]
    for module in modules:
        if hasattr(module, "register"):
            module.register(subparsers)
    bench = subparsers.add_parser("bench", help="run a benchmark (writes bench/results/<name>.json)",
                                  description="Run one benchmark; each writes bench/results/<NAME>.json.")
    benches = bench.add_subparsers(dest="bench", metavar="NAME", required=True)
    for module in modules:
        if hasattr(module, "register_bench"):
            module.register_bench(benches)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QplaneError as e:
        print(f"qplane {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
