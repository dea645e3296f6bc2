"""The pre-decoder network: a fully convolutional 3D CNN, built from a registry of frozen specs.

Every convolution is same-padded, so one model runs on any distance and number of rounds: the
input is ``(batch, len(INPUT_CHANNELS), t, rows, cols)``, the output the logits of every class at
every slot, ``(batch, num_classes, t, rows, cols)``. Sizes are named by spec so they are
comparable across runs; the receptive field and parameter count are computed, not typed.

>>> spec = SPECS["cnn-s"]
>>> spec.receptive_field, spec.num_parameters(num_classes=105)
(9, 89993)
>>> fast = SPECS["cnn-f16"]          # factorised (2+1)D blocks, ReLU: the fast network
>>> fast.receptive_field, fast.num_parameters(num_classes=105), fast.to_dict()["block"]
(9, 12473, 'factorised')
>>> import torch
>>> net = build_model(spec, num_classes=7)
>>> net(torch.zeros(2, 4, 3, 4, 4)).shape
torch.Size([2, 7, 3, 4, 4])
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from qplane.decoder.volume import INPUT_CHANNELS
from qplane.errors import ModelMismatchError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The architecture of a pre-decoder network.

    Attributes:
        name: registry name, e.g. ``"cnn-s"``.
        version: bumped whenever the layer layout behind the name changes.
        layers: number of blocks; each grows the receptive field by ``kernel - 1`` on every axis.
        channels: hidden channels.
        kernel: odd kernel size in every dimension.
        block: ``"full"``: one ``kernel``-cubed 3D convolution per block; ``"factorised"``: a
            spatial ``1 x kernel x kernel`` convolution, then a temporal ``kernel x 1 x 1`` one,
            each followed by the activation ((2+1)D: the same receptive field with
            ``kernel^2 + kernel`` taps instead of ``kernel^3``, ~2x cheaper at inference).
        activation: ``"gelu"`` or ``"relu"`` (ReLU folds into ONNX Runtime's int8 convolution;
            GELU needs a dequantise / quantise pair around it).
        full_first: the network's first convolution (a factorised block's spatial one) is a
            full ``kernel``-cubed kernel instead: time and space mixed at the input, where one
            fault's detection events lie (the time axis sees ``kernel - 1`` more slots).
    """

    name: str
    version: int
    layers: int
    channels: int
    kernel: int
    block: str = "full"
    activation: str = "gelu"
    full_first: bool = False

    def __post_init__(self) -> None:
        if self.block not in BLOCKS or self.activation not in ACTIVATIONS:
            raise ModelMismatchError(
                f"model spec {self.name!r}: block {self.block!r} / activation {self.activation!r}"
                f" unknown; use a block of {BLOCKS} and an activation of {tuple(ACTIVATIONS)}")

    @property
    def receptive_field(self) -> int:
        """Slots seen along each axis by one output slot (the time axis's with ``full_first``)."""
        extra = self.kernel - 1 if self.full_first and self.block == "factorised" else 0
        return 1 + self.layers * (self.kernel - 1) + extra

    def kernels(self) -> list[tuple[int, int, int]]:
        """The kernel shape of every convolution of one block, in order."""
        k = self.kernel
        return [(k, k, k)] if self.block == "full" else [(1, k, k), (k, 1, 1)]

    def conv_kernels(self) -> list[tuple[int, int, int]]:
        """The kernel shape of every convolution of the network, in order."""
        shapes = [shape for _ in range(self.layers) for shape in self.kernels()]
        if self.full_first:
            shapes[0] = (self.kernel,) * 3
        return shapes

    def num_parameters(self, *, num_classes: int) -> int:
        """Trainable parameters of the network with ``num_classes`` outputs."""
        c, c_in, total = self.channels, len(INPUT_CHANNELS), 0
        for shape in self.conv_kernels():
            total += c_in * shape[0] * shape[1] * shape[2] * c + c
            c_in = c
        return total + c * num_classes + num_classes

    def to_dict(self) -> dict:
        """The layout as plain data (what a model card records, :func:`spec_from_dict`);
        ``full_first`` only where set, so the specs before it keep the layout their cards hold."""
        data = dataclasses.asdict(self)
        if not self.full_first:
            del data["full_first"]
        return data


#: Block layouts and activations a spec may name.
BLOCKS = ("full", "factorised")
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


#: Every known spec, by name. Never change an entry in place: add a new name or bump ``version``.
SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(name="cnn-tiny", version=1, layers=2, channels=8, kernel=3),
        ModelSpec(name="cnn-s", version=1, layers=4, channels=32, kernel=3),
        ModelSpec(name="cnn-m", version=1, layers=6, channels=48, kernel=3),
        ModelSpec(name="cnn-l", version=1, layers=8, channels=64, kernel=3),
        # The fast networks (distilled from the cnn-s models; docs/decoder.md "Fast models").
        ModelSpec(name="cnn-f16", version=1, layers=4, channels=16, kernel=3,
                  block="factorised", activation="relu"),
        ModelSpec(name="cnn-f24", version=1, layers=4, channels=24, kernel=3,
                  block="factorised", activation="relu"),
        # cnn-f16 one and two blocks deeper (receptive field 11 / 13), grown from a trained
        # cnn-f16 by identity blocks (qplane/decoder/grow.py).
        ModelSpec(name="cnn-f16x5", version=1, layers=5, channels=16, kernel=3,
                  block="factorised", activation="relu"),
        ModelSpec(name="cnn-f16x6", version=1, layers=6, channels=16, kernel=3,
                  block="factorised", activation="relu"),
        # cnn-f16 whose first convolution is a full 3x3x3 one (time and space mixed at the
        # input), grown from a trained cnn-f16 by its centre time slice (grow.py).
        ModelSpec(name="cnn-f16t", version=1, layers=4, channels=16, kernel=3,
                  block="factorised", activation="relu", full_first=True),
    )
}


def get_spec(name: str, version: int | None = None) -> ModelSpec:
    """The registered spec ``name``; with ``version``, check it matches.

    Raises:
        ModelMismatchError: unknown spec name or version.
    """
    spec = SPECS.get(name)
    if spec is None:
        raise ModelMismatchError(f"unknown model spec {name!r}; known specs: {', '.join(SPECS)}")
    if version is not None and spec.version != version:
        raise ModelMismatchError(
            f"model spec {name!r} is version {version} in the model file but version "
            f"{spec.version} in this qplane; use a qplane release that has it")
    return spec


def spec_from_dict(data: dict) -> ModelSpec:
    """The spec a card's recorded layout names, checked against this qplane's registry.

    Raises:
        ModelMismatchError: unknown name or version, or a layout that differs from the
            registered spec of that name and version.
    """
    spec = get_spec(data["name"], data.get("version"))
    if spec.to_dict() != {**spec.to_dict(), **data}:
        raise ModelMismatchError(
            f"model spec {spec.name!r} v{spec.version}: the file records layout {data}, this "
            f"qplane has {spec.to_dict()}; use the qplane release that wrote the file")
    return spec


class PreDecoderCNN(nn.Module):
    """Same-padded 3D CNN: conv-activation stack, then a 1x1x1 head with one logit per class."""

    def __init__(self, spec: ModelSpec, num_classes: int):
        super().__init__()
        self.spec = spec
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        c_in = len(INPUT_CHANNELS)
        for shape in spec.conv_kernels():
            layers += [nn.Conv3d(c_in, spec.channels, shape, padding=tuple(k // 2 for k in shape)),
                       ACTIVATIONS[spec.activation]()]
            c_in = spec.channels
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv3d(c_in, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_model(spec: ModelSpec, *, num_classes: int) -> PreDecoderCNN:
    """A freshly initialised network of ``spec`` with ``num_classes`` outputs."""
    return PreDecoderCNN(spec, num_classes)
