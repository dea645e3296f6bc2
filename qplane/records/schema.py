"""JSON Schema of the wire records, generated from the record types.

``docs/records.schema.json`` is this schema, committed; ``tests/records/test_schema.py`` fails
when it drifts from the code. Regenerate it with::

    qplane schema records --write docs/records.schema.json
"""

from __future__ import annotations

import json
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

