"""The pre-decoder network: a fully convolutional 3D CNN, built from a registry of frozen specs.

Every convolution is same-padded, so one model runs on any distance and number of rounds: the
input is ``(batch, len(INPUT_CHANNELS), t, rows, cols)``, the output the logits of every class at
every slot, ``(batch, num_classes, t, rows, cols)``. Sizes are named by spec so they are
comparable across runs; the receptive field and parameter count are computed, not typed.

>>> spec = SPECS["cnn-s"]
>>> spec.receptive_field, spec.num_parameters(num_classes=105)
(9, 89993)
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
        layers: number of ``kernel``-sized 3D convolutions (each followed by GELU).
        channels: hidden channels.
        kernel: odd kernel size in every dimension.
    """

    name: str
    version: int
    layers: int
    channels: int
    kernel: int

    @property
    def receptive_field(self) -> int:
        """Slots seen along each axis by one output slot."""
        return 1 + self.layers * (self.kernel - 1)

    def num_parameters(self, *, num_classes: int) -> int:
        """Trainable parameters of the network with ``num_classes`` outputs."""
        k3 = self.kernel ** 3
        c, n_in = self.channels, len(INPUT_CHANNELS)
        return (n_in * k3 * c + c) + (self.layers - 1) * (c * k3 * c + c) + (c * num_classes + num_classes)


#: Every known spec, by name. Never change an entry in place: add a new name or bump ``version``.
SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(name="cnn-tiny", version=1, layers=2, channels=8, kernel=3),
        ModelSpec(name="cnn-s", version=1, layers=4, channels=32, kernel=3),
        ModelSpec(name="cnn-m", version=1, layers=6, channels=48, kernel=3),
        ModelSpec(name="cnn-l", version=1, layers=8, channels=64, kernel=3),
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


class PreDecoderCNN(nn.Module):
    """Same-padded 3D CNN: conv-GELU stack, then a 1x1x1 head with one logit per class."""

    def __init__(self, spec: ModelSpec, num_classes: int):
        super().__init__()
        self.spec = spec
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        c_in = len(INPUT_CHANNELS)
        for _ in range(spec.layers):
            layers += [nn.Conv3d(c_in, spec.channels, spec.kernel, padding=spec.kernel // 2), nn.GELU()]
            c_in = spec.channels
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv3d(c_in, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_model(spec: ModelSpec, *, num_classes: int) -> PreDecoderCNN:
    """A freshly initialised network of ``spec`` with ``num_classes`` outputs."""
    return PreDecoderCNN(spec, num_classes)
