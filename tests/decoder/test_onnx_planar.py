"""Factorised networks as 2D convolutions (the fast ONNX graphs): same numbers, int8 close to float."""

import numpy as np
import pytest
import torch

from qplane.decoder.backends import _SiteLogits, build_network, int8_saturates, quantize_int8
from qplane.decoder.data import ShotSource
from qplane.decoder.model_file import load_model
from qplane.decoder.onnx_planar import (PlanarSiteLogits, channels_last_int8, is_factorised,
                                        planar_graph_bytes)
from qplane.errors import DecoderError


#: The int8 bound (within 0.1 of float on average, 1.0 at worst) is ONNX Runtime's on CPUs with
#: VNNI; without it (x86 AVX2) its uint8 x int8 kernels saturate and the bound is not met (on an
#: AVX2-only EPYC: mean 0.26, max 3.8 at d = 3): expected to fail there, and build_network warns.
int8_bound = pytest.mark.xfail(int8_saturates(), strict=False,
                               reason="ONNX Runtime's u8s8 kernels saturate on x86 without VNNI")


def _source(net_card, distance=3, p=0.005):
    return ShotSource.build(distance=distance, rounds=distance, basis="Z", p=p,
                            classes=list(net_card.classes))


@pytest.fixture(scope="module")
def fast():
    """The shipped d3-fast (cnn-f16), its d = 3 shots, volumes and sites."""
    net, card, _ = load_model("d3-fast")
    source = _source(card)
    events = source.sample(shots=768, seed=11)[0]
    return net, source, source.geometry.volume(events), np.asarray(source.sites.site_index)


def test_the_planar_module_is_the_3d_network(fast):
    net, source, volume, index = fast
    assert is_factorised(net)
    x = torch.as_tensor(volume[:64])
    with torch.no_grad():
        reference = _SiteLogits(net, index, source.geometry.shape).eval()(x)
        planar = PlanarSiteLogits(net, index, source.geometry.shape).eval()(x)
    torch.testing.assert_close(planar, reference, rtol=1e-5, atol=1e-5)


@int8_bound
def test_the_fast_network_runs_planar_in_fp32_and_int8(fast):
    net, source, volume, index = fast
    options = dict(backend="onnx", device="cpu", torch_device=torch.device("cpu"), threads=1,
                   site_index=index, shape=source.geometry.shape)
    calibration = [volume[i:i + 128] for i in range(0, 512, 128)]
    fp32 = build_network(net, precision="fp32", **options)
    int8 = build_network(net, precision="int8", calibration=calibration, **options)
    assert (fp32.graph, int8.graph, int8.backend) == ("planar", "planar", "onnx-int8")
    test = volume[512:]  # not the calibration shots
    with torch.no_grad():
        expected = net(torch.as_tensor(test)).reshape(len(test), -1)[:, index].numpy()
    a, b = fp32.site_logits(test, index), int8.site_logits(test, index)
    np.testing.assert_allclose(a, expected, rtol=1e-4, atol=1e-4)
    # The stated bound: int8 logits within 0.1 of float on average and 1.0 at worst, and the
    # same side of every decision threshold (p = 0.5 ... 0.95) at >= 99.9 % of the sites.
    error = np.abs(a - b)
    assert error.mean() < 0.1 and error.max() < 1.0
    for threshold in (0.5, 0.7, 0.8, 0.9, 0.95):
        cut = np.log(threshold / (1 - threshold))
        assert np.mean((a > cut) == (b > cut)) >= 0.999


def test_the_channels_last_rewrite_keeps_the_int8_numbers(fast):
    net, source, volume, index = fast
    ops, _ = _rewrite_keeps_the_numbers(net, volume, index, source.geometry.shape, 256)
    assert ops.count("Transpose") == 1 and ops.count("QLinearConv") == 9  # 4 blocks x 2 + head


def _rewrite_keeps_the_numbers(net, volume, index, shape, calibration):
    """Quantise ``net``'s planar graph on the first ``calibration`` volumes, rewrite it
    channels-last, check both give the same numbers on the rest; the rewritten graph's op
    types and its logits."""
    import onnx
    import onnxruntime

    quantised = quantize_int8(planar_graph_bytes(net, index, shape),
                              [volume[i:i + 128] for i in range(0, calibration, 128)])
    rewritten = channels_last_int8(quantised, shape)
    runs = [onnxruntime.InferenceSession(m, providers=["CPUExecutionProvider"]).run(
        ["logits"], {"volume": volume[calibration:]})[0] for m in (quantised, rewritten)]
    np.testing.assert_array_equal(runs[0], runs[1])
    return [n.op_type for n in onnx.load_from_string(rewritten).graph.node], runs[1]


def test_other_graphs_are_refused(tiny_model):
    net, card, _ = load_model(tiny_model)  # cnn-tiny: full 3x3x3 blocks
    source = _source(card)
    assert not is_factorised(net)
    with pytest.raises(DecoderError, match="factorised"):
        PlanarSiteLogits(net, np.asarray(source.sites.site_index), source.geometry.shape)
    with pytest.raises(DecoderError, match="not a quantised planar"):
        channels_last_int8(_site_graph(net, source), source.geometry.shape)


def _site_graph(net, source):
    from qplane.decoder.backends import site_graph_bytes

    return site_graph_bytes(net, np.asarray(source.sites.site_index), source.geometry.shape)


@pytest.fixture(scope="module")
def full_first_net(fast):
    """d3-fast with a full first convolution whose neighbouring-round taps are not zero."""
    from qplane.decoder.grow import full_first
    from qplane.decoder.model import SPECS

    net = full_first(fast[0], SPECS["cnn-f16t"]).eval()
    first = [m for m in net.body if isinstance(m, torch.nn.Conv3d)][0]
    with torch.no_grad():
        gen = torch.Generator().manual_seed(4)
        scale = first.weight.abs().mean()
        first.weight[:, :, 0::2] += 0.5 * scale * torch.randn(first.weight[:, :, 0::2].shape,
                                                              generator=gen)
    return net


@int8_bound
def test_a_full_first_convolution_runs_planar_with_the_same_numbers(fast, full_first_net):
    _, source, volume, index = fast
    shape = source.geometry.shape
    x = torch.as_tensor(volume[:64])
    with torch.no_grad():
        reference = _SiteLogits(full_first_net, index, shape).eval()(x)
        planar = PlanarSiteLogits(full_first_net, index, shape).eval()(x)
        assert float((reference - _SiteLogits(fast[0], index, shape).eval()(x)).abs().max()) > 1e-2
    torch.testing.assert_close(planar, reference, rtol=1e-5, atol=1e-5)
    ops, int8 = _rewrite_keeps_the_numbers(full_first_net, volume, index, shape, 512)
    assert ops.count("Transpose") == 1 and ops.count("QLinearConv") == 9 and "Concat" in ops
    with torch.no_grad():
        expected = full_first_net(torch.as_tensor(volume[512:])).reshape(len(volume) - 512, -1)
    error = np.abs(int8 - expected[:, index].numpy())
    assert error.mean() < 0.1 and error.max() < 1.0


def test_int8_on_a_saturating_cpu_warns(fast, monkeypatch, caplog):
    import qplane.decoder.backends as backends

    net, source, volume, index = fast
    monkeypatch.setattr(backends, "int8_saturates", lambda: True)
    with caplog.at_level("WARNING", logger="qplane.decoder.backends"):
        build_network(net, precision="int8", calibration=[volume[:128]], backend="onnx",
                      device="cpu", torch_device=torch.device("cpu"), threads=1,
                      site_index=index, shape=source.geometry.shape)
    assert "without VNNI" in caplog.text
