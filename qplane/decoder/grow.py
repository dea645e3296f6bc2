"""Deepen a trained factorised pre-decoder without changing its function (Net2Deeper), or
give it a full first convolution (:func:`full_first`).

A factorised ReLU network (``cnn-f16``, :mod:`qplane.decoder.model`) is a stack of
``conv -> ReLU`` pairs. Every activation after the first block is non-negative, so a new block
whose spatial ``1 x k x k`` and temporal ``k x 1 x 1`` convolutions are the identity (the centre
tap of channel ``i`` to channel ``i`` is 1, every other weight and the bias 0) passes it through
unchanged: ``relu(x) = x`` for ``x >= 0``. :func:`deepen` inserts such blocks into a copy of the
network with the deeper spec's layout, so a distillation run started from it (``init:``) begins
at the trained network's accuracy and only has to add what the extra depth (a receptive field
of ``2 (k - 1)`` more slots per block, one more non-linearity) can learn.

Quantise only after training: ONNX Runtime's int8 quantiser fails on the exact identity blocks
("'NoneType' object has no attribute 'data_type'": their all-zero biases do not reach it as
initializers); any training step, or a 1e-4 jitter of the weights, avoids it.

>>> import torch
>>> from qplane.decoder.model import SPECS, build_model
>>> net = build_model(SPECS["cnn-f16"], num_classes=5).eval()
>>> deep = deepen(net, SPECS["cnn-f16x5"]).eval()
>>> x = torch.rand(2, 4, 5, 6, 6)
>>> bool(torch.equal(net(x), deep(x)))
True
>>> mixed = full_first(net, SPECS["cnn-f16t"]).eval()
>>> bool(torch.allclose(net(x), mixed(x), atol=1e-6))
True
"""

from __future__ import annotations

import torch
from torch import nn

from qplane.decoder.model import ModelSpec, PreDecoderCNN, build_model
from qplane.errors import ModelMismatchError


def _blocks(net: PreDecoderCNN) -> list[list[nn.Conv3d]]:
    """The network's convolutions, one list per block."""
    convs = [m for m in net.body if isinstance(m, nn.Conv3d)]
    per = len(net.spec.kernels())
    return [convs[i:i + per] for i in range(0, len(convs), per)]


def deepen(net: PreDecoderCNN, spec: ModelSpec, *, at: int | None = None) -> PreDecoderCNN:
    """A ``spec`` network computing ``net``'s function, with identity blocks inserted.

    Args:
        net: a trained factorised ReLU network.
        spec: the deeper spec (same channels, kernel, block and activation; more layers).
        at: index of the block before which the new blocks go (1 .. ``net.spec.layers``);
            default: after the last block, just before the head.

    Raises:
        ModelMismatchError: ``spec`` is not a deeper ``net.spec``, or ``at`` is out of range
            (a block before the first would see the unrectified input).
    """
    old = net.spec
    same = (old.channels, old.kernel, old.block, old.activation) == (
        spec.channels, spec.kernel, spec.block, spec.activation)
    if not same or spec.layers <= old.layers or old.activation != "relu":
        raise ModelMismatchError(f"{spec.name} is not a deeper {old.name} (both ReLU, same "
                                 "channels, kernel and block, more layers)")
    at = old.layers if at is None else int(at)
    if not 1 <= at <= old.layers:
        raise ModelMismatchError(f"deepen: new blocks go before block 1 .. {old.layers}, not {at}")
    deep = build_model(spec, num_classes=net.num_classes).to(next(net.parameters()).device)
    source = _blocks(net)
    extra = spec.layers - old.layers
    with torch.no_grad():
        for i, block in enumerate(_blocks(deep)):
            if at <= i < at + extra:
                for conv in block:
                    conv.weight.zero_()
                    conv.bias.zero_()
                    centre = tuple(k // 2 for k in conv.kernel_size)
                    for c in range(conv.out_channels):
                        conv.weight[(c, c) + centre] = 1.0
                continue
            for new, conv in zip(block, source[i if i < at else i - extra]):
                new.weight.copy_(conv.weight)
                new.bias.copy_(conv.bias)
        deep.head.weight.copy_(net.head.weight)
        deep.head.bias.copy_(net.head.bias)
    return deep


def full_first(net: PreDecoderCNN, spec: ModelSpec) -> PreDecoderCNN:
    """A ``spec`` network (``full_first``) computing ``net``'s function.

    The first convolution becomes a full ``k x k x k`` one whose centre time slice is ``net``'s
    spatial ``1 x k x k`` kernel and whose other slices are zero, so the logits are the same;
    training can then use the taps that mix neighbouring rounds at the input. Everything else
    is copied.

    Raises:
        ModelMismatchError: ``spec`` is not ``net.spec`` with a full first convolution.
    """
    old = net.spec
    if old.full_first or not spec.full_first or old.block != "factorised" or (
            old.layers, old.channels, old.kernel, old.activation) != (
            spec.layers, spec.channels, spec.kernel, spec.activation):
        raise ModelMismatchError(f"{spec.name} is not {old.name} with a full first convolution")
    grown = build_model(spec, num_classes=net.num_classes).to(next(net.parameters()).device)
    old_convs = [m for m in net.body if isinstance(m, nn.Conv3d)] + [net.head]
    new_convs = [m for m in grown.body if isinstance(m, nn.Conv3d)] + [grown.head]
    with torch.no_grad():
        for i, (a, b) in enumerate(zip(old_convs, new_convs)):
            if i == 0:
                b.weight.zero_()
                b.weight[:, :, spec.kernel // 2] = a.weight[:, :, 0]
            else:
                b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)
    return grown
