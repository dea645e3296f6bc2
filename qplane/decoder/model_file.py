"""Model files: safetensors weights with the model card in the metadata, pinned by SHA-256.

A model file holds the network's tensors and, under the metadata key :data:`CARD_KEY`, the
:class:`ModelCard` as JSON: the code family and orientation convention it was trained for, its
output classes, the distances, rounds, bases and noise it was trained on, the decision rules
chosen on validation shots, the training seed and steps, the validation metrics and the qplane
version. Configs pin a file by its SHA-256 (:func:`file_sha256`).

Shipped models live in ``qplane/decoder/models/`` and are named by file stem (``"d5"``).

>>> all(path.suffix == ".safetensors" for path in shipped_models().values())
True
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from qplane.decoder.labels import ClassKey, classes_from_json, classes_to_json
from qplane.decoder.model import PreDecoderCNN, build_model, get_spec, spec_from_dict
from qplane.decoder.model_store import MODELS_DIR, file_sha256, resolve_model_path, shipped_models
from qplane.decoder.volume import CODE_FAMILY
from qplane.errors import ModelMismatchError

#: Metadata key of the model card inside a safetensors file.
CARD_KEY = "qplane.model_card"

#: Version of the model-card layout; readers refuse a newer one.
CARD_FORMAT_VERSION = 1

__all__ = ["CARD_FORMAT_VERSION", "CARD_KEY", "MODELS_DIR", "ModelCard", "file_sha256", "load_model",
           "read_card", "resolve_model_path", "save_model", "shipped_models"]


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """Everything needed to use, judge and reproduce a trained pre-decoder.

    Attributes:
        spec: model spec name (see :data:`qplane.decoder.model.SPECS`).
        spec_version: that spec's version.
        classes: output classes, in channel order (see :mod:`qplane.decoder.labels`).
        code_family: always :data:`qplane.decoder.volume.CODE_FAMILY` for now.
        orientations: orientation conventions seen in training (one per memory basis).
        distances: code distances trained on.
        rounds: numbers of rounds trained on.
        bases: memory bases trained on.
        noise: noise model: ``{"model", "p", "fingerprint", "dem_median_probability"}``.
        rules: decision rules by mode (``"uncorrelated"``, ``"correlated"``, ``"clear"``), each
            ``{"classes": "hyperedge" | "all" | "none", "threshold": float}``, chosen on
            validation shots; ``by_noise`` optionally lists the rules chosen per validation noise
            strength (see :func:`qplane.decoder.neural.rule_for_noise`).
        training: seed, steps, shots, batch size, learning rate, initial model, command.
        validation: metrics on validation shots (never the benchmark's test shots).
        package_version: qplane version that wrote the file.
        format_version: :data:`CARD_FORMAT_VERSION`.
        architecture: the spec's layout (:meth:`qplane.decoder.model.ModelSpec.to_dict`), checked
            against the registry on load; ``None`` in files written before it was recorded.
    """

    spec: str
    spec_version: int
    classes: tuple[ClassKey, ...]
    orientations: tuple[str, ...]
    distances: tuple[int, ...]
    rounds: tuple[int, ...]
    bases: tuple[str, ...]
    noise: dict[str, Any]
    rules: dict[str, dict[str, Any]]
    training: dict[str, Any]
    validation: dict[str, Any]
    package_version: str
    code_family: str = CODE_FAMILY
    format_version: int = CARD_FORMAT_VERSION
    architecture: dict[str, Any] | None = None

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["classes"] = classes_to_json(list(self.classes))
        if data["architecture"] is None:  # files written before it was recorded stay byte-equal
            del data["architecture"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelCard":
        data = json.loads(text)
        if data.get("format_version", 0) > CARD_FORMAT_VERSION:
            raise ModelMismatchError(
                f"model card format {data['format_version']} is newer than this qplane reads "
                f"({CARD_FORMAT_VERSION}); upgrade qplane")
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["classes"] = tuple(classes_from_json(data["classes"]))
        for key in ("orientations", "distances", "rounds", "bases"):
            data[key] = tuple(data[key])
        return cls(**data)


def save_model(path: str | Path, model: PreDecoderCNN, card: ModelCard) -> str:
    """Write ``model`` with ``card`` to ``path``; returns the file's SHA-256."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(tensors, str(path), metadata={CARD_KEY: card.to_json()})
    return file_sha256(path)


def read_card(path: str | Path) -> ModelCard:
    """The model card of a model file, without loading the weights."""
    with safetensors.safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if CARD_KEY not in metadata:
        raise ModelMismatchError(f"{path}: no qplane model card in the safetensors metadata")
    return ModelCard.from_json(metadata[CARD_KEY])


def load_model(model: str | Path, *, sha256: str | None = None,
               device: str | torch.device = "cpu") -> tuple[PreDecoderCNN, ModelCard, str]:
    """Load a model file, checking its pin and structure.

    Args:
        model: shipped model name or path.
        sha256: the pin; when given, a file with another SHA-256 is refused.
        device: torch device to put the weights on.

    Returns:
        ``(network in eval mode, card, sha256 of the file)``.

    Raises:
        ModelMismatchError: wrong pin, unknown spec, other code family, or tensors that do not
            fit the spec.
    """
    path = resolve_model_path(model)
    digest = file_sha256(path)
    if sha256 is not None and digest != sha256.lower():
        raise ModelMismatchError(
            f"sha256 pin: {path} has sha256 {digest}, but the config pins {sha256}; "
            "pin the file you mean to run")
    card = read_card(path)
    if card.code_family != CODE_FAMILY:
        raise ModelMismatchError(
            f"code family: model is for {card.code_family!r}, this qplane decodes {CODE_FAMILY!r}")
    spec = (spec_from_dict(card.architecture) if card.architecture
            else get_spec(card.spec, card.spec_version))
    if spec.name != card.spec:
        raise ModelMismatchError(f"{path}: card names spec {card.spec!r} but records the layout "
                                 f"of {spec.name!r}")
    net = build_model(spec, num_classes=len(card.classes))
    try:
        net.load_state_dict(safetensors.torch.load_file(str(path)))
    except RuntimeError as e:
        raise ModelMismatchError(f"{path}: tensors do not fit spec {spec.name!r}: {e}") from e
    net.to(device).eval()
    return net, card, digest
