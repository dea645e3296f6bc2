"""docs/architecture.md stays the map of the code: its module list is the generated one, and
every module path it names exists."""

import importlib.util
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def _module_map():
    spec = importlib.util.spec_from_file_location("module_map", ROOT / "docs" / "module_map.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_module_list_is_current():
    mm = _module_map()
    page = DOC.read_text(encoding="utf-8")
    listed = page[page.index(mm.BEGIN) + len(mm.BEGIN):page.index(mm.END)].strip()
    assert listed == mm.module_map().strip(), (
        "docs/architecture.md's module list is stale; run `python docs/module_map.py --write`")


def test_every_module_path_named_exists():
    page = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:qplane/)?[a-z_]+/[a-z_/]+\.py)`", page))
    assert named, "the page names no modules"
    missing = [p for p in sorted(named)
               if not (ROOT / p).exists() and not (ROOT / "qplane" / p).exists()]
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
