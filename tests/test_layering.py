"""Package layering: nothing in qplane outside ``sim_instruments/`` (and the benchmarks in
``bench/``, which run the simulated lab) imports the simulator.

The device contract (:mod:`qplane.device`) and the code definition (:mod:`qplane.codes`) are
what the rest of qplane builds on; a lab on real hardware must not need the simulator. Imports
are found with :mod:`ast` (module-level, inside functions, and in docstring examples), so a
mention of ``qplane.sim_instruments`` in prose does not count, but an import does.
"""

from __future__ import annotations

import ast
import doctest
import pathlib

import qplane

ROOT = pathlib.Path(qplane.__file__).parent
SIMULATOR = "qplane.sim_instruments"

#: Packages whose modules may all import the simulator, each with its reason.
ALLOWED_PACKAGES = {
    # the simulator itself
    "sim_instruments": "the simulated lab",
    # every benchmark (qplane bench NAME): the simulated lab is what they measure or run on
    # (bench/sim.py, bench/calibration.py's simlab set, bench/_closed_loop.py's drifting device)
    "bench": "benchmarks run on the simulated lab",
}

#: Modules that may import the simulator, each with its reason (keep this list short).
ALLOWED = {
    # the docstring example opens a simulated lab to show StationBackend on a real station
    "calibration/backend.py": "doctest builds a simulated lab",
}

#: Packages that must never import the simulator, whatever ALLOWED says.
NEUTRAL = ("device", "codes")


def _imports(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def _doctest_sources(tree: ast.AST) -> list[str]:
    parser = doctest.DocTestParser()
    sources = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                sources.extend(ex.source for ex in parser.get_examples(doc))
    return sources


def simulator_imports(path: pathlib.Path) -> set[str]:
    """Every module name under :data:`SIMULATOR` that ``path`` imports, code or doctest."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = _imports(tree)
    for source in _doctest_sources(tree):
        try:
            names |= _imports(ast.parse(source))
        except SyntaxError:
            continue  # a continuation fragment; its import lines parse on their own example
    return {n for n in names if n == SIMULATOR or n.startswith(SIMULATOR + ".")}


def _modules() -> list[pathlib.Path]:
    return sorted(p for p in ROOT.rglob("*.py")
                  if p.relative_to(ROOT).parts[0] not in ALLOWED_PACKAGES)


def test_nothing_outside_the_simulator_imports_it():
    offenders = {}
    for path in _modules():
        rel = path.relative_to(ROOT).as_posix()
        found = simulator_imports(path)
        if found and rel not in ALLOWED:
            offenders[rel] = sorted(found)
    assert not offenders, (
        f"these modules import the simulator: {offenders}; import the contract from qplane.device "
        "or the circuits from qplane.codes instead (or, if the module really runs the simulated "
        "lab, add it to ALLOWED in tests/test_layering.py with its reason)")


def test_the_allow_list_is_current():
    stale = [rel for rel in ALLOWED if not simulator_imports(ROOT / rel)]
    assert not stale, f"ALLOWED lists modules that no longer import the simulator: {stale}"


def test_the_neutral_packages_never_import_the_simulator():
    for package in NEUTRAL:
        for path in sorted((ROOT / package).rglob("*.py")):
            assert not simulator_imports(path), f"{path} imports the simulator"


def test_the_check_sees_imports_in_code_and_doctests(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Prose naming qplane.sim_instruments is fine.\n\n'
                      '>>> from qplane.sim_instruments.lab import sim_lab_config\n"""\n\n'
                      'def f():\n    import qplane.sim_instruments.qpu\n')
    assert simulator_imports(sample) == {"qplane.sim_instruments.lab",
                                         "qplane.sim_instruments.lab.sim_lab_config",
                                         "qplane.sim_instruments.qpu"}
