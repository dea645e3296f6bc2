"""Print the module list of docs/architecture.md from the modules' own docstrings.

    python docs/module_map.py            # print the list
    python docs/module_map.py --write    # replace the list in docs/architecture.md

Each module's line is the first sentence of its docstring; ``tests/test_architecture_doc.py``
fails when a module is missing from the page or the list is stale.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN, END = "<!-- module map: begin -->", "<!-- module map: end -->"


def _summary(path: pathlib.Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    match = re.match(r"(.+?\.)(\s|$)", first)
    return (match.group(1) if match else first).rstrip(":;") or "(no docstring)"


def module_map() -> str:
    """The list, one line per module, grouped by package."""
    lines = []
    package_dir = ROOT / "qplane"
    for pkg in sorted(p for p in package_dir.iterdir() if (p / "__init__.py").exists()):
        lines.append(f"\n**`qplane/{pkg.name}/`** — {_summary(pkg / '__init__.py')}\n")
        for mod in sorted(pkg.rglob("*.py")):
            if mod.name == "__init__.py" and mod.parent == pkg:
                continue
            rel = mod.relative_to(package_dir).as_posix()
            lines.append(f"- `{rel}` — {_summary(mod)}")
    return "\n".join(lines).strip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update docs/architecture.md")
    args = parser.parse_args(argv)
    text = module_map()
    if not args.write:
        sys.stdout.write(text)
        return 0
    page = DOC.read_text(encoding="utf-8")
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    DOC.write_text(page[:start] + "\n\n" + text + "\n" + page[end:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
