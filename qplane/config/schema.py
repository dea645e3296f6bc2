"""The config file's JSON Schema, generated from the model tree, for editors.

``docs/config.schema.json`` is committed; a test fails when it differs from what the model
generates. Regenerate it after changing a config model::

    qplane schema config --write    # writes docs/config.schema.json
    qplane schema config            # exit 1 if the committed file is stale

An editor with a YAML language server picks it up with a first line
``# yaml-language-server: $schema=../docs/config.schema.json`` in a config file.

>>> config_json_schema()["title"]
'qplane config file'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Where the committed schema lives (in a source checkout).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "config.schema.json"


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file (``ConfigDocument.model_json_schema()``)."""
    from qplane.config.model import ConfigDocument

    schema = ConfigDocument.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as the committed file holds it (sorted keys, two-space indent)."""
    return json.dumps(config_json_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: str | Path = SCHEMA_PATH) -> Path:
    """Write the schema to ``path`` (default ``docs/config.schema.json``); return the path."""
    path = Path(path)
    path.write_text(schema_text(), encoding="utf-8")
    return path

