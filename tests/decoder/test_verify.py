"""``qplane decoder verify``: a card's claims re-checked on fresh shots (tiny models)."""

import json

import pytest

from qplane.cli import main
from qplane.decoder.verify import verify_model
from qplane.errors import DecoderError

TASKS = [{"basis": "Z", "p": 0.003, "shots": 1000, "pymatching_uncorrelated_errors": 10,
          "pymatching_correlated_errors": 10}]
HONEST = {"uncorrelated": {"classes": "hyperedge", "threshold": 0.99},
          "correlated": {"classes": "hyperedge", "threshold": 0.99},
          "clear": {"classes": "hyperedge", "threshold": 0.99}}


def _validation(errors):
    return {"tasks": TASKS, "candidates": [
        {"classes": "all", "threshold": 0.01, "uncorrelated_errors": errors,
         "correlated_errors": errors, "by_task": {"uncorrelated_errors": [errors],
                                                  "correlated_errors": [errors]}}]}


def test_an_honest_card_passes(model_writer, tmp_path):
    # An untrained net is never 99 % sure: every rule leaves the syndrome to the matcher, as
    # the card says (no candidate listed: the claim is "no worse").
    path = model_writer(tmp_path / "honest.safetensors", bases=("Z",), rules=HONEST,
                        validation=_validation(5))
    result = verify_model(str(path), shots=300)
    assert result["passed"]
    assert {c["status"] for c in result["claims"]} == {"confirmed"}
    assert all(c["errors"][0] == c["errors"][1] for c in result["claims"])


def test_a_false_claim_fails_with_exit_1(model_writer, tmp_path, capsys):
    # The card claims that applying every site above 1 % halves the errors; on fresh shots the
    # untrained net applies garbage and the matcher's answer is wrecked.
    rule = {"classes": "all", "threshold": 0.01}
    path = model_writer(tmp_path / "false.safetensors", bases=("Z",),
                        rules={"uncorrelated": rule, "correlated": rule, "clear": rule},
                        validation=_validation(5))
    out = tmp_path / "verify.json"
    assert main(["decoder", "verify", str(path), "--shots", "300", "--json", str(out)]) == 1
    assert "FAILED" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert not result["passed"] and result["claims"][0]["status"] == "failed"
    assert result["claims"][0]["claimed_errors"] == [5, 10]


def test_strict_fails_an_unconfirmed_improvement(model_writer, tmp_path):
    rules = dict(HONEST, uncorrelated={"classes": "all", "threshold": 0.999})
    validation = _validation(5)
    validation["candidates"][0]["threshold"] = 0.999
    path = model_writer(tmp_path / "unconfirmed.safetensors", bases=("Z",), rules=rules,
                        validation=validation)
    result = verify_model(str(path), shots=200)
    claim = next(c for c in result["claims"] if c["mode"] == "uncorrelated")
    assert claim["status"] == "unconfirmed" and result["passed"]
    assert not verify_model(str(path), shots=200, strict=True)["passed"]


def test_a_card_without_claims_is_refused(tiny_model):
    with pytest.raises(DecoderError, match="no validation tasks"):
        verify_model(str(tiny_model), shots=10)
