"""The network backends: torch and ONNX Runtime (fp32, int8) decode alike; options are checked."""

import numpy as np
import pytest

from qplane.codes import memory_circuit
from qplane.config import DecodingSettings
from qplane.decoder.backends import onnx_providers
from qplane.decoder.neural import NeuralDecoder
from qplane.errors import ConfigError


def _shots(distance=3, shots=512, seed=21):
    circuit = memory_circuit(distance=distance, rounds=distance, basis="Z", p=0.003)
    dem = circuit.detector_error_model(decompose_errors=True)
    dets = circuit.compile_detector_sampler(seed=seed).sample(shots, bit_packed=True)
    return dem, dets


def _compiled(model, dem, **options):
    return NeuralDecoder(model=str(model), device="cpu", threads=1, **options
                         ).compile_decoder_for_dem(dem=dem)


def test_onnx_fp32_decodes_exactly_as_torch(tiny_model):
    dem, dets = _shots()
    # Threshold 0.5 on all classes, so the untrained network's decisions matter.
    options = dict(mode="clear", threshold=0.5, batch_size=200)
    torch_dec = _compiled(tiny_model, dem, **options)
    onnx_dec = _compiled(tiny_model, dem, backend="onnx", **options)
    assert (torch_dec.backend, onnx_dec.backend, onnx_dec.device_name) == ("torch", "onnx", "cpu")
    events = np.unpackbits(dets, axis=1, bitorder="little", count=dem.num_detectors).astype(bool)
    a, b = torch_dec.site_logits(events), onnx_dec.site_logits(events)
    # Tolerance: logits agree to 1e-4; decisions are identical away from the threshold.
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    clear = ~np.any(np.abs(a) < 1e-4, axis=1)
    assert clear.mean() > 0.9
    pa = torch_dec.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
    pb = onnx_dec.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
    assert np.array_equal(pa[clear], pb[clear])
    assert onnx_dec.corrections_applied > 0


def test_int8_model_loads_and_decodes_close_to_float(tiny_model):
    dem, dets = _shots()
    fp32 = _compiled(tiny_model, dem, backend="onnx", mode="clear", threshold=0.5)
    int8 = _compiled(tiny_model, dem, backend="onnx", precision="int8", mode="clear",
                     threshold=0.5)
    assert int8.backend == "onnx-int8"
    events = np.unpackbits(dets, axis=1, bitorder="little", count=dem.num_detectors).astype(bool)
    a, b = fp32.site_logits(events), int8.site_logits(events)
    # Quantisation error: small against the logits' spread, and the decisions mostly agree.
    assert np.abs(a - b).max() < 0.1 * (a.max() - a.min())
    assert np.mean((a > 0) == (b > 0)) > 0.95
    pred = int8.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
    assert pred.shape == (len(dets), 1) and pred.dtype == np.uint8
    # The calibration shots have a fixed seed: the same DEM gives the same int8 network.
    again = _compiled(tiny_model, dem, backend="onnx", precision="int8", mode="clear",
                      threshold=0.5)
    assert np.array_equal(again.site_logits(events), b)


def test_options_are_validated(tiny_model):
    with pytest.raises(ConfigError, match="int8.*backend 'onnx'"):
        NeuralDecoder(model=str(tiny_model), precision="int8")
    with pytest.raises(ConfigError, match="backend"):
        NeuralDecoder(model=str(tiny_model), backend="tensorrt")
    with pytest.raises(ConfigError, match="threads"):
        NeuralDecoder(model=str(tiny_model), threads=0)
    settings = DecodingSettings.model_validate({"decoder": {"type": "neural", "options": {
        "model": "d3", "backend": "onnx", "precision": "int8", "threads": 2}}})
    assert settings.decoder.options.kwargs() == {"model": "d3", "backend": "onnx",
                                                 "precision": "int8", "threads": 2}


def test_providers_follow_the_device_and_what_is_installed():
    cpu_only = ["AzureExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("auto", available=cpu_only) == ["CPUExecutionProvider"]
    rocm = ["ROCMExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("auto", available=rocm) == rocm
    assert onnx_providers("hip:1", available=rocm) == rocm
    with pytest.raises(ConfigError, match="onnxruntime-gpu"):
        onnx_providers("cuda:0", available=cpu_only)


def test_the_run_file_records_the_onnx_int8_backend(tmp_path):
    """A pipeline run with the ONNX int8 backend says so in its run file (Run.decoded_on)."""
    import yaml

    from qplane.config import load_config
    from qplane.pipeline.launcher import run_pipeline
    from qplane.runfile import open_run
    from tests.pipeline.conftest import write_config

    path = write_config(tmp_path, shots=64, shadow=0.0, p=0.003)
    document = yaml.safe_load(path.read_text())
    document["qplane"]["decoding"]["decoder"] = {"type": "neural-correlated", "options": {
        "model": "d3", "device": "cpu", "backend": "onnx", "precision": "int8", "threads": 1}}
    path.write_text(yaml.safe_dump(document))
    out = tmp_path / "onnx.h5"
    outcome = run_pipeline(load_config(path), out_path=str(out), duration=None, max_blocks=4)
    assert outcome.end_state == "completed", outcome.reason
    with open_run(out) as run:
        assert run.decoded_on == "onnx-int8 on cpu"


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_site_gathering_graph_gives_the_full_graphs_site_logits(tiny_model, precision):
    import torch

    from qplane.decoder.backends import build_network
    from qplane.decoder.data import ShotSource
    from qplane.decoder.model_file import load_model

    net, card, _ = load_model(tiny_model)
    source = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.005, classes=list(card.classes))
    volume = source.geometry.volume(source.sample(shots=300, seed=5)[0])
    index = np.asarray(source.sites.site_index)
    options = dict(backend="onnx", device="cpu", torch_device=torch.device("cpu"),
                   precision=precision, threads=1, calibration=[volume[:128]])
    full = build_network(net, **options)
    gathering = build_network(net, site_index=index, shape=source.geometry.shape, **options)
    a, b = full.site_logits(volume, index), gathering.site_logits(volume, index)
    assert b.shape == (300, len(index)) and b.dtype == np.float32
    if precision == "int8":  # the same int8 values, dequantised after the gather
        assert np.array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
