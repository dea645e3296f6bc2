import numpy as np
import onnx
import onnxruntime
import torch

from qplane.codes import memory_circuit
from qplane.decoder.model_file import CARD_KEY, load_model, read_card
from qplane.decoder.onnx_export import export_model_file
from qplane.decoder.volume import SyndromeGeometry


def test_onnxruntime_predicts_what_torch_predicts(tiny_model, tmp_path):
    path = export_model_file(str(tiny_model), tmp_path / "tiny.onnx")
    proto = onnx.load(str(path))
    assert {p.key: p.value for p in proto.metadata_props}[CARD_KEY] == read_card(tiny_model).to_json()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    net, _, _ = load_model(str(tiny_model))
    # Real syndrome volumes at two distances (dynamic shape), plus the decision at a threshold.
    for distance, rounds, shots in [(3, 3, 64), (5, 2, 16)]:
        circuit = memory_circuit(distance=distance, rounds=rounds, basis="X", p=0.01)
        geometry = SyndromeGeometry.from_dem(circuit.detector_error_model(decompose_errors=True))
        x = geometry.volume(circuit.compile_detector_sampler(seed=4).sample(shots))
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        got = session.run(["logits"], {"volume": x})[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
        decided = np.abs(expected) > 1e-3  # away from the 0.5 decision boundary
        assert np.array_equal((got > 0)[decided], (expected > 0)[decided])
