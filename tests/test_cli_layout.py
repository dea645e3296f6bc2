"""The command line's shape: every benchmark is a ``qplane bench NAME``, CLI glue stays in
``qplane/cli/`` (and the benchmarks in ``qplane/bench/``), and building the parser imports no
heavy library code."""

from __future__ import annotations

import argparse
import ast
import importlib
import pathlib
import pkgutil
import subprocess
import sys

import pytest

import qplane
import qplane.bench
from qplane.cli import build_parser
from qplane.cli._help import plain

ROOT = pathlib.Path(qplane.__file__).parent
#: Packages that may hold CLI glue.
CLI_PACKAGES = ("cli", "bench")
#: Library modules that may still use argparse, each with its reason (keep this list short).
ARGPARSE_ALLOWED = {
    # the entry point the launcher starts each pipeline process with (`python -m
    # qplane.pipeline.process ROLE SPEC`): the pipeline's own process bootstrap, not a command
    "pipeline/process.py": "pipeline child-process entry point",
}


def _bench_subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    bench = commands.choices["bench"]
    names = next(a for a in bench._actions if isinstance(a, argparse._SubParsersAction))
    return dict(names.choices)


def _bench_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(qplane.bench.__path__)
                  if not m.name.startswith("_"))


def test_every_benchmark_module_is_registered_under_qplane_bench():
    registered = _bench_subparsers()
    assert _bench_modules() == sorted(qplane.bench.BENCHMARKS), (
        "every public module of qplane/bench is a benchmark: list it in qplane.bench.BENCHMARKS "
        "(or make it private, _named)")
    assert sorted(registered) == _bench_modules()


@pytest.mark.parametrize("name", sorted(qplane.bench.BENCHMARKS))
def test_each_benchmark_help_describes_it(name, capsys):
    module = importlib.import_module(f"qplane.bench.{name}")
    assert module.__doc__ and callable(module.main) and callable(module.add_arguments)
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["bench", name, "--help"])
    assert exit_.value.code == 0
    first_line = plain(module.__doc__.strip().splitlines()[0])  # help shows no reST markup
    assert first_line in capsys.readouterr().out
    args = build_parser().parse_args(["bench", name])
    assert args.func is module.main


def test_closed_loop_help_lists_what_the_harness_runs():
    from qplane.bench import _closed_loop, closed_loop

    assert closed_loop.MODES == _closed_loop.MODES
    assert sorted(closed_loop.SCENARIO_NAMES) == sorted(_closed_loop.SCENARIOS)


def _imports_argparse(path: pathlib.Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "argparse":
            return True
    return False


def test_no_library_package_imports_argparse():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in CLI_PACKAGES or rel.as_posix() in ARGPARSE_ALLOWED:
            continue
        if _imports_argparse(path):
            offenders.append(rel.as_posix())
    assert not offenders, (
        f"these library modules import argparse: {offenders}; put the command in qplane/cli/ "
        "(a benchmark in qplane/bench/) and call a library function from it")


def test_the_argparse_allow_list_is_current():
    stale = [rel for rel in ARGPARSE_ALLOWED if not _imports_argparse(ROOT / rel)]
    assert not stale, f"ARGPARSE_ALLOWED lists modules that no longer import argparse: {stale}"


def test_building_the_parser_imports_no_heavy_library_code():
    code = ("import sys; from qplane.cli import build_parser; build_parser(); "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    heavy = {"numpy", "torch", "stim", "h5py", "qcodes", "pydantic", "zmq", "pymatching"}
    assert not heavy & set(out), f"`qplane --help` imports {sorted(heavy & set(out))}"
