"""ONNX export of a pre-decoder network, for runtimes other than torch.

The exported graph takes ``volume`` ``float32 (batch, 4, t, rows, cols)`` and returns ``logits``
``float32 (batch, num_classes, t, rows, cols)``; batch, t, rows and cols are dynamic, so one
file serves every distance and number of rounds, as the torch model does. The model card goes
into the ONNX metadata (key ``qplane.model_card``).
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path
from typing import BinaryIO

import torch

from qplane.decoder.model_file import CARD_KEY, ModelCard, load_model
from qplane.decoder.volume import INPUT_CHANNELS


def export_onnx(net: torch.nn.Module, path: str | Path | BinaryIO, *,
                card: ModelCard | None = None, opset: int = 17) -> Path | BinaryIO:
    """Write ``net`` as ONNX to ``path`` (dynamic batch and volume shape).

    Args:
        net: the pre-decoder network.
        path: output ``.onnx`` file, or a binary stream to write the graph to.
        card: model card to store in the ONNX metadata.
        opset: ONNX opset.

    Returns:
        ``path``.
    """
    import onnx

    net = copy.deepcopy(net).to("cpu").to(memory_format=torch.contiguous_format).eval()
    example = torch.zeros(1, len(INPUT_CHANNELS), 4, 4, 4)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of dynamo, which needs onnxscript.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net, (example,), buffer, input_names=["volume"], output_names=["logits"],
            dynamic_axes={"volume": {0: "batch", 2: "t", 3: "rows", 4: "cols"},
                          "logits": {0: "batch", 2: "t", 3: "rows", 4: "cols"}},
            opset_version=opset, dynamo=False)
    proto = onnx.load_from_string(buffer.getvalue())
    if card is not None:
        entry = proto.metadata_props.add()
        entry.key, entry.value = CARD_KEY, card.to_json()
    if hasattr(path, "write"):
        path.write(proto.SerializeToString())
        return path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    return path


def export_model_file(model: str | Path, path: str | Path, *, sha256: str | None = None) -> Path:
    """Export a model file (shipped name or path) to ONNX, card included."""
    net, card, _ = load_model(model, sha256=sha256)
    return export_onnx(net, path, card=card)
