"""The committed JSON Schema of the wire records is the one the code generates."""

import json
import pathlib

from qplane.records import RECORD_KINDS
from qplane.records.schema import schema_text, wire_schema

COMMITTED = pathlib.Path(__file__).resolve().parents[2] / "docs" / "records.schema.json"


def test_committed_schema_matches_the_record_types():
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "docs/records.schema.json is out of date with qplane.records; regenerate it with "
        "`qplane schema records --write docs/records.schema.json` and commit it")


def test_schema_names_every_kind_with_its_tag():
    defs = wire_schema()["$defs"]
    tags = {d["properties"]["kind"]["enum"][0] for d in defs.values()
            if "enum" in d.get("properties", {}).get("kind", {})}
    assert tags == set(RECORD_KINDS)
    json.dumps(wire_schema())  # plain JSON
