"""Each package's ``__init__`` is its public API.

* every name a package lists in ``__all__`` is importable from the package;
* library modules import another qplane package only through that package's ``__init__``
  (``from qplane.calibration import SettingChange``, not ``from qplane.calibration.updates
  import SettingChange``), found with :mod:`ast`, module level and inside functions;
* the packages on the CLI and pipeline start-up paths stay cheap to import: ``import
  qplane.config`` / ``qplane.records`` / ``qplane.pipeline`` import neither torch, pandas nor
  matplotlib (checked in a fresh interpreter).

CLI glue and benchmarks (``cli/``, ``bench/``, ``commands.py``, ``bench.py``,
``bench_results.py``) are outside the library and not checked here.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import pathlib
import subprocess
import sys

import pytest

import qplane

ROOT = pathlib.Path(qplane.__file__).parent

#: qplane's packages (each a folder with an ``__init__.py``).
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())

#: Not library code: CLI glue and benchmarks.
GLUE_FILES = {"commands.py", "bench.py"}
GLUE_DIRS = {"cli", "bench"}
GLUE_MODULES = {"cli.py", "bench_results.py"}

#: Deep imports into another package that stay, as ``(module, imported module): reason``.
#: Keep this list short; each entry needs a reason a reader accepts.
ALLOWED_DEEP: dict[tuple[str, str], str] = {}

#: Heavy third-party packages the light packages must not pull in.
HEAVY = ("torch", "pandas", "matplotlib")
LIGHT = ("qplane.config", "qplane.records", "qplane.pipeline")


def _library_modules() -> list[pathlib.Path]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in GLUE_DIRS or path.name in GLUE_FILES or rel.as_posix() in GLUE_MODULES:
            continue
        out.append(path)
    return out


def deep_imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """``(line, module)`` for each import in ``path`` that reaches past another qplane
    package's ``__init__`` (``qplane.<other package>.<module>``)."""
    rel = path.relative_to(ROOT)
    own = rel.parts[0] if len(rel.parts) > 1 else None
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if (len(parts) >= 3 and parts[0] == "qplane" and parts[1] in PACKAGES
                    and parts[1] != own):
                found.append((node.lineno, name))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_is_importable(package):
    module = importlib.import_module(f"qplane.{package}")
    names = getattr(module, "__all__", None)
    assert names, f"qplane.{package} has no __all__; list its public API there"
    assert len(names) == len(set(names)), f"qplane.{package}.__all__ repeats a name"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"qplane.{package}.__all__ names what it does not provide: {missing}"
    assert module.__doc__, f"qplane.{package} has no docstring (the package's map)"


def test_library_imports_other_packages_through_their_init():
    offenders = []
    for path in _library_modules():
        rel = path.relative_to(ROOT).as_posix()
        for line, name in deep_imports(path):
            if (rel, name) not in ALLOWED_DEEP:
                package = ".".join(name.split(".")[:2])
                offenders.append(f"qplane/{rel}:{line}: imports {name}; import the name from "
                                 f"{package} (add it to its __all__ if it is public)")
    assert not offenders, "\n".join(offenders)


def test_allowed_deep_imports_are_still_needed():
    for (rel, name), reason in ALLOWED_DEEP.items():
        assert reason, f"{rel}: the exception for {name} needs a reason"
        assert name in {n for _, n in deep_imports(ROOT / rel)}, (
            f"qplane/{rel} no longer imports {name}; remove it from ALLOWED_DEEP")


def test_the_check_finds_a_deep_import(tmp_path, monkeypatch):
    fake = tmp_path / "qplane"
    (fake / "pipeline").mkdir(parents=True)
    module = fake / "pipeline" / "x.py"
    module.write_text("from qplane.calibration.updates import SettingChange\n"
                      "from qplane.calibration import SettingsLedger\n"
                      "from qplane.pipeline.transport import Outbox\n"
                      "def f():\n    import qplane.decoder.neural\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    assert deep_imports(module) == [(1, "qplane.calibration.updates"),
                                    (5, "qplane.decoder.neural")]


@pytest.mark.parametrize("name", LIGHT)
def test_light_packages_do_not_import_heavy_dependencies(name):
    # A fresh interpreter, so nothing imported by the test session hides what this one imports.
    code = (f"import json, sys, {name}\n"
            f"print(json.dumps(sorted(h for h in {HEAVY!r} if h in sys.modules)))\n")
    path = [str(ROOT.parent), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(path)), check=True)
    heavy = json.loads(result.stdout.strip().splitlines()[-1])
    assert not heavy, f"import {name} imports {heavy}; import them where they are used"
