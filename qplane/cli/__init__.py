"""The ``qplane`` command line: thin glue over the library packages.

Each command group is a module here that defines ``register(subparsers)``; that function adds
its parsers and sets ``func`` to the callable that runs the command (taking the parsed
``argparse.Namespace`` and returning an exit code). Library code is imported inside the command
functions, so ``qplane --help`` stays fast. Benchmarks are one command, ``qplane bench NAME``
(:mod:`qplane.cli.bench` over the :mod:`qplane.bench` package).

>>> parser = build_parser()
>>> parser.parse_args(["report", "run.h5"]).runs
['run.h5']
"""

from __future__ import annotations

import argparse
import importlib
import sys

from qplane.errors import QplaneError

#: Modules that each contribute subcommands, in the order ``qplane --help`` lists them.
COMMAND_MODULES = [
    "qplane.cli.run",
    "qplane.cli.worker",
    "qplane.cli.analysis",
    "qplane.cli.serve",
    "qplane.cli.decoder",
    "qplane.cli.calibration",
    "qplane.cli.noise",
    "qplane.cli.schema",
    "qplane.cli.keys",
    "qplane.cli.bench",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``qplane`` argument parser with every command of :data:`COMMAND_MODULES`."""
    parser = argparse.ArgumentParser(
        prog="qplane",
        description="qplane: an open, hardware-neutral control plane for quantum processors.",
    )
    parser.add_argument("--version", action=_Version,
                        help="print the installed qplane version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


class _Version(argparse.Action):
    """``--version``: the version is looked up only when asked (start-up stays fast)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"qplane {version()}")
        parser.exit()


def version() -> str:
    """The installed version (package metadata), else ``qplane.__version__`` of the source tree.

    >>> import qplane
    >>> version() == qplane.__version__
    True
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("qplane")
    except PackageNotFoundError:
        from qplane import __version__

        return __version__


def main(argv: list[str] | None = None) -> int:
    """Run ``qplane ARGV``; a :class:`~qplane.errors.QplaneError` is one line and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except QplaneError as e:
        print(f"qplane {args.command}: error: {e}", file=sys.stderr)
        return 2


__all__ = ["COMMAND_MODULES", "build_parser", "main", "version"]
