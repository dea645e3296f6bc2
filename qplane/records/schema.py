"""JSON Schema of the wire records, generated from the record types.

``docs/records.schema.json`` is this schema, committed; ``tests/records/test_schema.py`` fails
when it drifts from the code. Regenerate it with::

    python -m qplane.records.schema --write docs/records.schema.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import msgspec

from qplane.records.wire import Header


def wire_schema() -> dict[str, Any]:
    """The JSON Schema of a message header (every record kind is a tagged ``body``).

    >>> s = wire_schema()
    >>> s["$defs"]["Syndrome"]["properties"]["kind"]["enum"]
    ['syndrome']
    """
    return msgspec.json.schema(Header)


def schema_text() -> str:
    """The schema as the committed file holds it (sorted keys, 2-space indent)."""
    return json.dumps(wire_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qplane.records.schema",
                                     description="print or write the wire records' JSON Schema")
    parser.add_argument("--write", metavar="PATH", help="write the schema to PATH")
    args = parser.parse_args(argv)
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(schema_text())
    else:
        sys.stdout.write(schema_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
