"""``qplane schema config|records``: write or check the committed JSON Schemas.

``docs/config.schema.json`` (the config file, for editors) and ``docs/records.schema.json``
(the wire records) are generated from the models and committed; tests fail when they drift.
Regenerate them after changing a model::

    qplane schema config            # check: exit 1 if the committed file is stale
    qplane schema config --write    # rewrite docs/config.schema.json
    qplane schema records --write docs/records.schema.json   # (without --write: to stdout)

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> parser.parse_args(["schema", "config"]).write
False
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qplane.cli._help import plain


def register(subparsers: Any) -> None:
    """Add ``schema config`` and ``schema records`` to the ``qplane`` command line."""
    schema = subparsers.add_parser("schema", help="write or check the committed JSON Schemas",
                                   description=plain(__doc__),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = schema.add_subparsers(dest="schema", metavar="WHICH", required=True)
    config = sub.add_parser("config", help="the config file's schema (docs/config.schema.json)",
                            description="Check (or, with --write, rewrite) docs/config.schema.json.")
    config.add_argument("--out", default=None,
                        help="the schema file (default: docs/config.schema.json of the checkout)")
    config.add_argument("--write", action="store_true",
                        help="write the file (default: only compare; exit 1 when it is stale)")
    config.add_argument("--check", action="store_true",
                        help="compare without writing (the default; kept for scripts)")
    config.set_defaults(func=_config)
    records = sub.add_parser("records", help="the wire records' schema (docs/records.schema.json)",
                             description="Print or write the wire records' JSON Schema.")
    records.add_argument("--write", metavar="PATH", help="write the schema to PATH")
    records.set_defaults(func=_records)


def _config(args: argparse.Namespace) -> int:
    from qplane.config.schema import SCHEMA_PATH, schema_text, write_schema

    out = args.out or str(SCHEMA_PATH)
    if not args.write or args.check:
        try:
            current = Path(out).read_text(encoding="utf-8")
        except OSError:
            current = ""
        if current != schema_text():
            print(f"{out} is stale; regenerate it with: qplane schema config --write",
                  file=sys.stderr)
            return 1
        return 0
    print(write_schema(out))
    return 0


def _records(args: argparse.Namespace) -> int:
    from qplane.records.schema import schema_text

    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(schema_text())
    else:
        sys.stdout.write(schema_text())
    return 0
