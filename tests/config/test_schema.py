"""docs/config.schema.json is the model's JSON Schema, and every shipped config satisfies it."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from qplane.cli import main
from qplane.config.schema import SCHEMA_PATH, schema_text
from tests.config.conftest import REPO


def test_committed_schema_is_what_the_model_generates():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "docs/config.schema.json is stale; regenerate it with: qplane schema config --write")


def test_check_mode_reports_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    assert main(["schema", "config", "--check", "--out", str(stale)]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["schema", "config", "--out", str(stale)]) == 1  # the default only checks
    assert main(["schema", "config", "--write", "--out", str(stale)]) == 0
    assert main(["schema", "config", "--check", "--out", str(stale)]) == 0


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "config").glob("*.yaml")))
def test_every_shipped_config_satisfies_the_schema(name):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    document = yaml.safe_load((REPO / "config" / name).read_text())
    jsonschema.Draft202012Validator(schema).validate(document)


def test_the_schema_refuses_an_unknown_decoder_option():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    document = yaml.safe_load((REPO / "config" / "sim_d3_neural.yaml").read_text())
    document["qplane"]["decoding"]["decoder"]["options"]["batchsize"] = 4
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(document)
