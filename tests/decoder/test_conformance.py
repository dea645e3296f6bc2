"""One conformance test for every registered qplane decoder, on the same circuits and shots."""

import math

import numpy as np
import pytest
import sinter

from qplane.codes import memory_circuit
from qplane.decoder import DECODER_TYPES, make_decoder, sinter_decoders

CASES = [(3, 3, "Z", 0.005), (3, 3, "X", 0.005), (5, 3, "Z", 0.005)]


@pytest.mark.slow
@pytest.mark.parametrize("distance,rounds,basis,p", CASES)
def test_every_decoder_on_the_same_shots(distance, rounds, basis, p):
    circuit = memory_circuit(distance=distance, rounds=rounds, basis=basis, p=p)
    dem = circuit.detector_error_model(decompose_errors=True)
    shots = 4000
    dets, obs = circuit.compile_detector_sampler(seed=2024).sample(
        shots, separate_observables=True, bit_packed=True)
    failures, predictions = {}, {}
    for name in sorted(DECODER_TYPES):
        compiled = make_decoder(name).compile_decoder_for_dem(dem=dem)
        pred = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        assert pred.shape == (shots, 1) and pred.dtype == np.uint8
        assert not np.any(pred & 0xFE)  # only the one observable bit may be set
        predictions[name] = pred
        failures[name] = int(np.any(pred != obs, axis=1).sum())
    # Every decoder is far better than guessing and close to the PyMatching baseline: no more
    # than 25% worse plus four standard deviations (it would be a broken decoder otherwise).
    base = failures["pymatching"]
    assert base < 0.1 * shots
    for name, f in failures.items():
        assert f <= 1.25 * base + 4 * math.sqrt(base) + 5, (name, failures)
        # A decoder agrees with PyMatching on all but a small fraction of shots.
        assert np.mean(np.any(predictions[name] != predictions["pymatching"], axis=1)) < 0.05


@pytest.mark.slow
def test_the_sinter_entry_point_decodes_a_sinter_collect_task():
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.005)
    stats = sinter.collect(
        num_workers=1,
        tasks=[sinter.Task(circuit=circuit, json_metadata={"d": 3})],
        decoders=["qplane-neural", "qplane-pymatching"],
        custom_decoders=sinter_decoders(),
        max_shots=1000,
        max_errors=1000,
    )
    by_decoder = {s.decoder: s for s in stats}
    assert set(by_decoder) == {"qplane-neural", "qplane-pymatching"}
    for s in by_decoder.values():
        assert s.shots == 1000 and 0 <= s.errors < 100
