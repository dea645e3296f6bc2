"""Decoder options are typed per decoder type, and a named model file must exist and match its pin."""

from __future__ import annotations

import inspect
import shutil

import pytest
import yaml

from qplane.config import DECODER_NAMES, NeuralOptions, PyMatchingOptions, parse_config
from qplane.decoder.model_store import file_sha256, shipped_models
from tests.config.conftest import broken, errors_of


def with_decoder(document, decoder):
    return broken(document, lambda d: d["qplane"]["decoding"].update(decoder=decoder))


def test_every_registered_decoder_has_an_options_model():
    from qplane.decoder.registry import DECODER_TYPES

    assert set(DECODER_NAMES) == set(DECODER_TYPES)


@pytest.mark.parametrize("model, cls", [(PyMatchingOptions, "PyMatchingDecoder"),
                                        (NeuralOptions, "NeuralDecoder")])
def test_options_models_match_the_decoders_constructors(model, cls):
    """Same keywords (``correlated`` is the decoder type's), same defaults."""
    if cls == "NeuralDecoder":
        from qplane.decoder.neural import NeuralDecoder as decoder
    else:
        from qplane.decoder.matching import PyMatchingDecoder as decoder
    params = {k: p.default for k, p in inspect.signature(decoder.__init__).parameters.items()
              if k not in ("self", "correlated")}
    fields = {k: f.default for k, f in model.model_fields.items()}
    assert fields == params


def test_options_pass_only_what_the_file_gave(document):
    cfg = parse_config(yaml.safe_dump(with_decoder(document, {
        "type": "neural-correlated", "options": {"model": "d3", "batch_size": 64}})), "c.yaml")
    options = cfg.qplane.decoding.decoder.options
    assert options.kwargs() == {"model": "d3", "batch_size": 64}
    assert dict(options) == {"model": "d3", "batch_size": 64}  # make_decoder(type, **options)
    assert options.device == "auto"  # the default, typed


def test_a_pinned_model_file_that_matches_validates(document, tmp_path):
    model = tmp_path / "m.safetensors"
    shutil.copy(shipped_models()["d3"], model)
    parse_config(yaml.safe_dump(with_decoder(document, {
        "type": "neural", "options": {"model": str(model), "sha256": file_sha256(model)}})), "c.yaml")


def test_a_missing_model_file_is_a_config_error(document, tmp_path):
    missing = tmp_path / "gone.safetensors"
    error = errors_of(with_decoder(document, {"type": "neural", "options": {"model": str(missing)}}))
    assert error.key == "qplane.decoding.decoder.options.model"
    assert f"model {str(missing)!r} is neither a shipped model" in error.message
    assert "d3" in error.message  # names the shipped ones


def test_a_wrong_pin_is_a_config_error(document, tmp_path):
    model = tmp_path / "m.safetensors"
    shutil.copy(shipped_models()["d3"], model)
    pin = file_sha256(model)
    with open(model, "ab") as f:  # the file changed after it was pinned
        f.write(b"\0")
    error = errors_of(with_decoder(document, {"type": "neural",
                                              "options": {"model": str(model), "sha256": pin}}))
    assert error.key == "qplane.decoding.decoder.options.sha256"
    assert f"has sha256 {file_sha256(model)}, but the config pins {pin}" in error.message


def test_a_wrong_pin_of_a_shipped_model_is_a_config_error(document):
    error = errors_of(with_decoder(document, {"type": "neural",
                                              "options": {"model": "d5", "sha256": "ab" * 32}}))
    assert error.key == "qplane.decoding.decoder.options.sha256"
    assert "d5.safetensors has sha256" in error.message


def test_neural_modes_are_the_decoders():
    import typing

    from qplane.decoder.neural import MODES

    mode = NeuralOptions.model_fields["mode"].annotation
    literal = next(a for a in typing.get_args(mode) if a is not type(None))
    assert set(typing.get_args(literal)) == set(MODES)


def test_the_decoder_validates_its_options_with_the_same_model():
    from qplane.decoder.registry import make_decoder
    from qplane.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'options.batch_size': must be >= 1, got 0"):
        make_decoder("neural", batch_size=0)
    with pytest.raises(ConfigError, match=r"'options.sha256': a sha256 pin needs an explicit model"):
        make_decoder("neural", sha256="0" * 64)
