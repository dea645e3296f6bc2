
import numpy as np
import pytest
import stim

from qplane.codes import memory_circuit
from qplane.decoder import NeuralDecoder, NoiseMismatchWarning, file_sha256, make_decoder
from qplane.errors import ConfigError, DecoderError, ModelMismatchError


def _dem(distance=3, rounds=3, basis="Z", p=0.003):
    return memory_circuit(distance=distance, rounds=rounds, basis=basis, p=p).detector_error_model(
        decompose_errors=True)


def _shots(distance=3, rounds=3, basis="Z", p=0.003, n=300, seed=11):
    circuit = memory_circuit(distance=distance, rounds=rounds, basis=basis, p=p)
    return circuit.compile_detector_sampler(seed=seed).sample(n, separate_observables=True, bit_packed=True)


def test_options_come_from_a_config_and_the_pin_is_checked(tiny_model):
    digest = file_sha256(tiny_model)
    decoder = make_decoder("neural", model=str(tiny_model), sha256=digest, device="auto")
    assert decoder.name == "neural"
    compiled = decoder.compile_decoder_for_dem(dem=_dem())
    assert compiled.sha256 == digest
    with pytest.raises(ModelMismatchError, match="sha256 pin"):
        make_decoder("neural", model=str(tiny_model), sha256="0" * 64)
    with pytest.raises(ConfigError, match="mode"):
        make_decoder("neural-correlated", model=str(tiny_model), mode="bold")
    with pytest.raises(DecoderError, match="neither a shipped model"):
        make_decoder("neural", model="no-such-model")


def test_refuses_orientation_mismatch(z_only_model):
    decoder = NeuralDecoder(model=str(z_only_model))
    decoder.compile_decoder_for_dem(dem=_dem(basis="Z"))
    with pytest.raises(ModelMismatchError, match="orientation"):
        decoder.compile_decoder_for_dem(dem=_dem(basis="X"))


def test_refuses_other_code_family_and_unknown_spec(tiny_model, tmp_path, model_writer):
    rep = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=3,
                                 before_round_data_depolarization=0.01)
    with pytest.raises(ModelMismatchError, match="code family"):
        NeuralDecoder(model=str(tiny_model)).compile_decoder_for_dem(dem=rep.detector_error_model())
    other = model_writer(tmp_path / "other.safetensors", code_family="color-code")
    with pytest.raises(ModelMismatchError, match="code family"):
        NeuralDecoder(model=str(other)).compile_decoder_for_dem(dem=_dem())
    unknown = model_writer(tmp_path / "unknown.safetensors", spec_version=42)
    with pytest.raises(ModelMismatchError, match="version"):
        NeuralDecoder(model=str(unknown)).compile_decoder_for_dem(dem=_dem())


def test_other_distance_and_noise_are_allowed_but_recorded(tiny_model):
    compiled = NeuralDecoder(model=str(tiny_model)).compile_decoder_for_dem(dem=_dem(distance=5, rounds=2))
    assert any("distance 5" in n for n in compiled.notes)
    assert any("rounds 2" in n for n in compiled.notes)
    assert not compiled.noise_mismatch
    with pytest.warns(NoiseMismatchWarning, match="noise"):
        compiled = NeuralDecoder(model=str(tiny_model)).compile_decoder_for_dem(dem=_dem(p=0.05))
    assert compiled.noise_mismatch


@pytest.mark.parametrize("correlated", [False, True])
def test_decodes_in_any_batching_and_keeps_stats(tiny_model, correlated):
    dets, _ = _shots(n=200)
    compiled = NeuralDecoder(model=str(tiny_model), correlated=correlated, batch_size=7,
                             threshold=0.5, mode="clear").compile_decoder_for_dem(dem=_dem())
    whole = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
    assert whole.shape == (200, 1) and whole.dtype == np.uint8
    one_by_one = np.concatenate([compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets[i:i + 1])
                                 for i in range(0, 200, 41)])
    assert one_by_one.shape == (len(range(0, 200, 41)), 1)
    assert np.array_equal(one_by_one, whole[::41])
    assert compiled.shots == 200 + len(range(0, 200, 41))
    assert compiled.detection_events_in > 0
    assert 0 <= compiled.detection_events_out
    assert compiled.cleared_fraction == pytest.approx(
        1 - compiled.detection_events_out / compiled.detection_events_in)
    assert compiled.network_seconds > 0 and compiled.matching_seconds > 0
    with pytest.raises(DecoderError, match="shape"):
        compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets[:, :2])


def test_no_corrections_means_exactly_pymatching(tiny_model):
    """With nothing applied, the decoder is PyMatching on the full syndrome, shot for shot."""
    import pymatching

    dets, _ = _shots(n=500, p=0.005)
    dem = _dem(p=0.005)
    compiled = NeuralDecoder(model=str(tiny_model)).compile_decoder_for_dem(dem=dem)
    compiled.rule = {"classes": "none", "threshold": 0.5}
    compiled._rule_mask[:] = False
    ours = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
    theirs = pymatching.Matching.from_detector_error_model(dem).decode_batch(
        dets, bit_packed_shots=True, bit_packed_predictions=True)
    assert np.array_equal(ours, theirs)
    assert compiled.detection_events_out == compiled.detection_events_in
