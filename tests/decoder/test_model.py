import pytest
import torch

from qplane.decoder.model import SPECS, ModelSpec, build_model, get_spec
from qplane.decoder.volume import INPUT_CHANNELS
from qplane.errors import ModelMismatchError


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_keeps_the_shape_contract(name):
    spec = SPECS[name]
    net = build_model(spec, num_classes=11).eval()
    assert sum(p.numel() for p in net.parameters()) == spec.num_parameters(num_classes=11)
    with torch.no_grad():
        for shape in [(2, 4, 4), (4, 6, 6), (8, 8, 8), (3, 4, 6)]:
            out = net(torch.zeros((2, len(INPUT_CHANNELS)) + shape))
            assert out.shape == (2, 11) + shape


@pytest.mark.parametrize("name", ["cnn-tiny", "cnn-s", "cnn-f16", "cnn-f16x6"])
def test_receptive_field_is_what_the_spec_computes(name):
    spec = SPECS[name]
    net = build_model(spec, num_classes=3)
    size = spec.receptive_field + 6
    x = torch.zeros(1, len(INPUT_CHANNELS), size, size, size, requires_grad=True)
    centre = size // 2
    net(x)[0, :, centre, centre, centre].sum().backward()
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    for axis in range(3):
        span = touched.nonzero()[:, axis]
        assert int(span.max() - span.min() + 1) == spec.receptive_field


def test_specs_are_frozen_and_unknown_specs_are_refused():
    with pytest.raises(Exception):
        SPECS["cnn-s"].layers = 9  # type: ignore[misc]
    with pytest.raises(ModelMismatchError, match="unknown model spec"):
        get_spec("cnn-xxl")
    with pytest.raises(ModelMismatchError, match="version"):
        get_spec("cnn-s", version=99)
    assert isinstance(get_spec("cnn-s"), ModelSpec)


def test_a_full_first_convolution_widens_the_time_axis_only():
    spec = SPECS["cnn-f16t"]
    net = build_model(spec, num_classes=3)
    assert spec.receptive_field == 11 and spec.conv_kernels()[:2] == [(3, 3, 3), (3, 1, 1)]
    size = spec.receptive_field + 4
    x = torch.zeros(1, len(INPUT_CHANNELS), size, size, size, requires_grad=True)
    centre = size // 2
    net(x)[0, :, centre, centre, centre].sum().backward()
    touched = x.grad.abs().sum(dim=(0, 1)) > 0
    spans = [int(touched.nonzero()[:, a].max() - touched.nonzero()[:, a].min() + 1) for a in range(3)]
    assert spans == [11, 9, 9]
