"""Deepening a trained fast network by identity blocks keeps its function exactly."""

import numpy as np
import pytest
import torch

from qplane.decoder.backends import _SiteLogits
from qplane.decoder.data import ShotSource
from qplane.decoder.grow import deepen, full_first
from qplane.decoder.model import SPECS, build_model
from qplane.decoder.model_file import load_model
from qplane.decoder.onnx_planar import PlanarSiteLogits
from qplane.errors import ModelMismatchError


@pytest.fixture(scope="module")
def shipped():
    """The shipped d3-fast (cnn-f16) and volumes of real d = 3 shots."""
    net, card, _ = load_model("d3-fast")
    source = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.005, classes=list(card.classes))
    return net.eval(), source, torch.as_tensor(source.geometry.volume(source.sample(shots=256, seed=5)[0]))


@pytest.mark.parametrize("spec,at", [("cnn-f16x5", None), ("cnn-f16x5", 1), ("cnn-f16x6", 2),
                                     ("cnn-f16x6", 4)])
def test_the_deepened_network_has_the_same_logits(shipped, spec, at):
    net, _, x = shipped
    deep = deepen(net, SPECS[spec], at=at).eval()
    assert deep.spec.layers == SPECS[spec].layers
    with torch.no_grad():
        torch.testing.assert_close(deep(x), net(x), rtol=0, atol=1e-6)
    # and it is a different network: its extra blocks train (every weight gets a gradient)
    deep.train()
    deep(x).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in deep.parameters())


def test_the_deepened_network_runs_planar(shipped):
    net, source, x = shipped
    deep = deepen(net, SPECS["cnn-f16x6"]).eval()
    index = np.asarray(source.sites.site_index)
    with torch.no_grad():
        reference = _SiteLogits(net, index, source.geometry.shape).eval()(x[:64])
        planar = PlanarSiteLogits(deep, index, source.geometry.shape).eval()(x[:64])
    torch.testing.assert_close(planar, reference, rtol=1e-5, atol=1e-5)


def test_a_random_identity_block_would_change_the_logits(shipped):
    # the check above can fail: the same layout with its inserted blocks left random differs
    net, _, x = shipped
    deep = deepen(net, SPECS["cnn-f16x5"]).eval()
    torch.manual_seed(3)
    fresh = build_model(SPECS["cnn-f16x5"], num_classes=net.num_classes)
    with torch.no_grad():
        convs = [[m for m in n.body if isinstance(m, torch.nn.Conv3d)] for n in (deep, fresh)]
        for new, old in zip(convs[0][8:10], convs[1][8:10]):  # the fifth (inserted) block
            new.weight.copy_(old.weight)
        assert float((deep(x) - net(x)).abs().max()) > 1e-3


@pytest.mark.parametrize("spec,at,match", [("cnn-f24", None, "not a deeper"),
                                           ("cnn-f16", None, "not a deeper"),
                                           ("cnn-s", None, "not a deeper"),
                                           ("cnn-f16x5", 0, "before block 1"),
                                           ("cnn-f16x5", 5, "before block 1")])
def test_deepen_refuses_what_would_not_keep_the_function(shipped, spec, at, match):
    with pytest.raises(ModelMismatchError, match=match):
        deepen(shipped[0], SPECS[spec], at=at)


def test_a_full_first_convolution_keeps_the_logits_and_trains(shipped):
    net, source, x = shipped
    grown = full_first(net, SPECS["cnn-f16t"]).eval()
    first = [m for m in grown.body if isinstance(m, torch.nn.Conv3d)][0]
    assert tuple(first.kernel_size) == (3, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(grown(x), net(x), rtol=0, atol=1e-6)
    grown.train()
    grown(x).sum().backward()
    # the new taps (the rounds before and after) get a gradient: training can use them
    assert first.weight.grad[:, :, 0].abs().sum() > 0 and first.weight.grad[:, :, 2].abs().sum() > 0


def test_full_first_taps_change_the_logits(shipped):
    # the check above can fail: a non-zero tap in a neighbouring round changes the function
    net, _, x = shipped
    grown = full_first(net, SPECS["cnn-f16t"]).eval()
    first = [m for m in grown.body if isinstance(m, torch.nn.Conv3d)][0]
    with torch.no_grad():
        first.weight[:, :, 0] += 0.3
        assert float((grown(x) - net(x)).abs().max()) > 1e-3


@pytest.mark.parametrize("spec", ["cnn-f16x5", "cnn-f24", "cnn-f16"])
def test_full_first_refuses_another_layout(shipped, spec):
    with pytest.raises(ModelMismatchError, match="full first"):
        full_first(shipped[0], SPECS[spec])
    grown = full_first(shipped[0], SPECS["cnn-f16t"])
    with pytest.raises(ModelMismatchError, match="full first"):
        full_first(grown, SPECS["cnn-f16t"])


def test_the_grown_file_loads_as_the_full_first_spec(shipped, tmp_path):
    # the command is scripts/widen_model.py (library modules take no command line)
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "scripts" / "widen_model.py"
    spec = importlib.util.spec_from_file_location("widen_model", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "grown.safetensors"
    assert script.main(["d3-fast", "cnn-f16t", str(out)]) == 0
    net, card, _ = load_model(str(out))
    assert card.spec == "cnn-f16t" and card.architecture == SPECS["cnn-f16t"].to_dict()
    assert card.architecture["full_first"] is True and "full_first" not in SPECS["cnn-f16"].to_dict()
    assert card.training["grown_from"]["spec"] == "cnn-f16"
    with torch.no_grad():
        torch.testing.assert_close(net.eval()(shipped[2]), shipped[0](shipped[2]), rtol=0, atol=1e-6)
