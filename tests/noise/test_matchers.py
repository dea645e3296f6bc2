"""Every registered decoder compiles for a learned DEM (``weights: learned``) and decodes."""

from __future__ import annotations

import numpy as np
import pytest

from qplane.codes import memory_circuit
from qplane.decoder import DECODER_TYPES, make_decoder
from qplane.noise import learn_noise

DEM = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004).detector_error_model(
    decompose_errors=True)


@pytest.fixture(scope="module")
def learned():
    dets, obs, _ = DEM.compile_sampler(seed=1).sample(30_000, bit_packed=True)
    return learn_noise(dets, DEM, estimator="pairwise"), dets[:2000], obs[:2000]


@pytest.mark.parametrize("name", sorted(DECODER_TYPES))
def test_each_decoder_decodes_with_learned_weights(name, learned):
    model, dets, obs = learned
    options = {"model": "d3", "device": "cpu"} if name.startswith("neural") else {}
    compiled = make_decoder(name, **options).compile_decoder_for_dem(dem=model.to_dem())
    predictions = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
    assert predictions.shape == obs.shape
    assert np.any(predictions != obs, axis=1).mean() < 0.05
