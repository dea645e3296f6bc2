"""A factorised network as 2D convolutions, and its channels-last int8 graph.

The factorised specs (``cnn-f16``, ``cnn-f24``: a spatial ``1 x k x k`` then a temporal
``k x 1 x 1`` convolution per block, :mod:`qplane.decoder.model`) never mix time and space in one
kernel, so every convolution is a 2D one: the spatial one on ``(batch * t, rows, cols)`` images,
the temporal one on ``(batch, t, rows * cols)`` ones. ONNX Runtime's CPU runs 3D int8
convolutions through a generic im2col path and 2D ones through its channels-last kernels, which
are ~1.7x faster here. In channels-last (NHWC) layout the two image shapes are the same bytes, so
moving between them is a free reshape.

- :class:`PlanarSiteLogits`: the same function as the network followed by its site gather
  (:class:`qplane.decoder.backends._SiteLogits`), written with 2D convolutions (float; exported
  to ONNX and quantised as usual).
- :func:`channels_last_int8`: rewires the quantised graph of that module so every
  ``QLinearConv`` runs channels-last (``com.microsoft.QLinearConv``, ``channels_last = 1``) and the
  tensors between them are only reshaped, never transposed: the int8 numbers of the quantised
  graph, without the 2-3 layout transposes per convolution that ONNX Runtime's own layout pass
  leaves around the reshapes.

>>> import torch
>>> from qplane.decoder.model import SPECS, build_model
>>> net = build_model(SPECS["cnn-f16"], num_classes=5).eval()
>>> index = torch.arange(0, 5 * 3 * 4 * 4, 7)
>>> planar = PlanarSiteLogits(net, index, (3, 4, 4)).eval()
>>> x = torch.rand(2, 4, 3, 4, 4)
>>> full = net(x).permute(0, 2, 3, 4, 1).reshape(2, -1)   # class axis last
>>> order = (index % 48) * 5 + index // 48                 # (class, slot) -> (slot, class)
>>> bool(torch.allclose(planar(x), full[:, order], atol=1e-5))
True
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from qplane.decoder.volume import INPUT_CHANNELS
from qplane.errors import DecoderError


def is_factorised(net: nn.Module) -> bool:
    """Whether ``net`` is a pre-decoder of a factorised spec (2D-convolution form exists)."""
    spec = getattr(net, "spec", None)
    return spec is not None and getattr(spec, "block", None) == "factorised"


def _stacked_conv2d(conv: nn.Conv3d) -> nn.Conv2d:
    """A full ``k x k x k`` ``conv`` as a 2D ``k x k`` one on the time-stacked input
    (:func:`time_stack`: input channel ``dt * c_in + c`` is channel ``c`` at time ``t + dt - k // 2``)."""
    k_t, k_r, k_c = conv.kernel_size
    out = nn.Conv2d(conv.in_channels * k_t, conv.out_channels, (k_r, k_c), padding=conv.padding[1:])
    with torch.no_grad():
        weight = conv.weight.permute(0, 2, 1, 3, 4)   # (out, dt, in, rows, cols)
        out.weight.copy_(weight.reshape(conv.out_channels, -1, k_r, k_c))
        out.bias.copy_(conv.bias)
    return out


def time_stack(x: torch.Tensor, k: int) -> torch.Tensor:
    """``(batch, c, t, rows, cols)`` -> ``(batch, k c, t, rows, cols)``: the ``k`` rounds around
    each slot side by side on the channel axis (zeros beyond the volume, as same-padding)."""
    t, half = x.shape[2], k // 2
    padded = torch.nn.functional.pad(x, (0, 0, 0, 0, half, half))
    return torch.cat([padded[:, :, dt:dt + t] for dt in range(k)], dim=1)


def _conv2d(conv: nn.Conv3d, axes: slice) -> nn.Conv2d:
    """``conv`` (a kernel of size 1 along one of its three axes) as a 2D convolution."""
    kernel, padding = conv.kernel_size[axes], conv.padding[axes]
    out = nn.Conv2d(conv.in_channels, conv.out_channels, kernel, padding=padding)
    with torch.no_grad():
        weight = conv.weight.reshape(conv.out_channels, conv.in_channels, *kernel)
        out.weight.copy_(weight)
        out.bias.copy_(conv.bias)
    return out


class PlanarSiteLogits(nn.Module):
    """A factorised network with its site gather, in 2D convolutions (same numbers).

    Args:
        net: a :class:`qplane.decoder.model.PreDecoderCNN` of a factorised spec (ReLU).
        index: the sites' flat indices into the ``(classes, t, rows, cols)`` output.
        shape: ``(t, rows, cols)`` of the volume.
    """

    def __init__(self, net: nn.Module, index: torch.Tensor | np.ndarray,
                 shape: tuple[int, int, int]):
        super().__init__()
        if not is_factorised(net) or net.spec.activation != "relu":
            raise DecoderError("the 2D-convolution form needs a factorised ReLU network "
                               "(cnn-f16 / cnn-f24); use the 3D graph for this spec")
        self.shape = tuple(int(s) for s in shape)
        convs = [m for m in net.body if isinstance(m, nn.Conv3d)]
        #: rounds stacked on the channel axis before the first convolution (a full first one)
        self.stack = int(convs[0].kernel_size[0])
        self.spatial = nn.ModuleList(_stacked_conv2d(c) if i == 0 and self.stack > 1
                                     else _conv2d(c, slice(1, 3))
                                     for i, c in enumerate(convs[0::2]))
        self.temporal = nn.ModuleList(_conv2d(c, slice(0, 2)) for c in convs[1::2])
        self.head = _conv2d(net.head, slice(1, 3))
        self.channels = [c.out_channels for c in convs[0::2]]
        classes, slots = int(net.num_classes), int(np.prod(self.shape))
        index = torch.as_tensor(np.asarray(index), dtype=torch.int64)
        self.register_buffer("index", (index % slots) * classes + index // slots)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, rows, cols = self.shape
        y = time_stack(x, self.stack) if self.stack > 1 else x  # (batch, c, t, rows, cols)
        for spatial, temporal, c in zip(self.spatial, self.temporal, self.channels):
            c_in = spatial.in_channels
            y = y.reshape(-1, c_in, t, rows, cols).permute(0, 2, 1, 3, 4)
            y = torch.relu(spatial(y.reshape(-1, c_in, rows, cols)))      # (b t, c, rows, cols)
            y = y.reshape(-1, t, c, rows * cols).permute(0, 2, 1, 3)     # (b, c, t, rows cols)
            y = torch.relu(temporal(y))
        y = self.head(y).permute(0, 2, 3, 1)                              # (b, t, rows cols, K)
        return y.reshape(-1, t * rows * cols * self.head.out_channels).index_select(1, self.index)


def planar_graph_bytes(net: nn.Module, site_index: np.ndarray,
                       shape: tuple[int, int, int]) -> bytes:
    """:class:`PlanarSiteLogits` of ``net`` as an ONNX graph for volumes of ``shape``.

    Input ``volume`` ``float32 (batch, 4, t, rows, cols)``, output ``logits`` ``float32 (batch,
    num_sites)``, batch dynamic: the same contract as
    :func:`qplane.decoder.backends.site_graph_bytes`.
    """
    from qplane.decoder.backends import site_module_bytes

    return site_module_bytes(lambda cpu_net: PlanarSiteLogits(cpu_net, site_index, shape), net,
                             shape)


def channels_last_int8(model: bytes, shape: tuple[int, int, int]) -> bytes:
    """The quantised graph of a :class:`PlanarSiteLogits`, rewired channels-last.

    ``model`` is what :func:`qplane.decoder.backends.quantize_int8` made of the module's ONNX
    export: ``QuantizeLinear`` of the volume, then ``QLinearConv`` nodes (spatial, temporal, ...,
    head) with reshapes and transposes between them, then the site ``Gather`` and a
    ``DequantizeLinear``. The result keeps every ``QLinearConv`` (weights, scales, zero points)
    and the output's scale, and replaces the rest: the volume is transposed once to
    ``(batch, t, rows, cols, 4)`` and quantised, and the convolutions (channels-last) are joined
    by reshapes only.

    Raises:
        DecoderError: the graph is not of that form.
    """
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load_from_string(model)
    graph = proto.graph
    convs = [n for n in graph.node if n.op_type == "QLinearConv"]
    # The first quantiser is the volume's (after layout-only reshapes / transposes of it).
    quant = [n for n in graph.node if n.op_type == "QuantizeLinear"][:1]
    gathers = [n for n in graph.node if n.op_type == "Gather"]
    if len(quant) != 1 or len(convs) < 3 or len(convs) % 2 != 1 or not gathers:
        raise DecoderError("channels-last rewrite: the int8 graph is not a quantised planar "
                           "network (QuantizeLinear, QLinearConv pairs, head, Gather)")
    t, rows, cols = (int(s) for s in shape)
    initial = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:  # the exporter may write constants as nodes
        if node.op_type == "Constant" and node.attribute:
            initial[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    if gathers[-1].input[1] not in initial:
        raise DecoderError("channels-last rewrite: the site Gather has no constant index")
    head = convs[-1]
    classes = int(initial[head.input[3]].shape[0])
    tensors = {"planar_sites_index": initial[gathers[-1].input[1]].astype(np.int64),
               "planar_flat_shape": np.array([-1, t * rows * cols * classes], dtype=np.int64)}
    nodes = [helper.make_node("Transpose", ["volume"], ["planar_nhwc"], perm=[0, 2, 3, 4, 1])]
    volume, scale = "planar_nhwc", list(quant[0].input[1:])
    stack = int(initial[convs[0].input[3]].shape[1]) // len(INPUT_CHANNELS)
    if stack > 1:  # a full first convolution: the rounds around each slot side by side
        half = stack // 2
        tensors["planar_pads"] = np.array([0, half, 0, 0, 0, 0, half, 0, 0, 0], dtype=np.int64)
        tensors["planar_t_axis"] = np.array([1], dtype=np.int64)
        nodes.append(helper.make_node("Pad", [volume, "planar_pads"], ["planar_padded"]))
        for dt in range(stack):
            tensors[f"planar_t{dt}"] = np.array([dt], dtype=np.int64)
            tensors[f"planar_t{dt}_end"] = np.array([dt + t], dtype=np.int64)
            nodes.append(helper.make_node("Slice", ["planar_padded", f"planar_t{dt}",
                                                    f"planar_t{dt}_end", "planar_t_axis"],
                                          [f"planar_round{dt}"]))
        nodes.append(helper.make_node("Concat", [f"planar_round{dt}" for dt in range(stack)],
                                      ["planar_stacked"], axis=4))
        # quantised as the first convolution reads it (the stacked volume's scale)
        volume, scale = "planar_stacked", list(convs[0].input[1:3])
    nodes.append(helper.make_node("QuantizeLinear", [volume, *scale], ["planar_q"]))
    current = "planar_q"
    for i, conv in enumerate(convs):
        if i < len(convs) - 1:  # the head (1x1) runs on the last temporal output as it is
            c_in = int(initial[conv.input[3]].shape[1])
            # spatial: (b t, rows, cols, c) images; temporal: (b, t, rows cols, c) columns
            target = [-1, rows, cols, c_in] if i % 2 == 0 else [-1, t, rows * cols, c_in]
            tensors[f"planar_shape{i}"] = np.array(target, dtype=np.int64)
            nodes.append(helper.make_node("Reshape", [current, f"planar_shape{i}"],
                                          [f"planar_in{i}"]))
            current = f"planar_in{i}"
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        attrs["channels_last"] = 1
        nodes.append(helper.make_node("QLinearConv", [current, *conv.input[1:]], [f"planar_y{i}"],
                                      domain="com.microsoft", **attrs))
        current = f"planar_y{i}"
    nodes += [helper.make_node("Reshape", [current, "planar_flat_shape"], ["planar_flat"]),
              helper.make_node("Gather", ["planar_flat", "planar_sites_index"], ["planar_sites"],
                               axis=1),
              helper.make_node("DequantizeLinear", ["planar_sites", head.input[6], head.input[7]],
                               ["logits"])]
    used = {name for node in nodes for name in node.input}
    tensors.update({k: v for k, v in initial.items() if k in used and k not in tensors})
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in tensors.items())
    del graph.value_info[:]
    if not any(o.domain == "com.microsoft" for o in proto.opset_import):
        proto.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return proto.SerializeToString()
