"""Decoders: the protocol (sinter's), PyMatching, and the neural pre-decoder.

``sinter_decoders()`` is the entry point for ``sinter collect``::

    sinter collect --custom_decoders_module_function qplane.decoder:sinter_decoders ...
"""

from __future__ import annotations

import importlib
from typing import Any

from qplane.decoder.matching import CompiledPyMatching, PyMatchingDecoder
from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events, packed_width
from qplane.decoder.registry import DECODER_TYPES, make_decoder, sinter_decoders

#: Names that need torch, imported on first use (``from qplane.decoder import NeuralDecoder``
#: works as usual; ``import qplane.decoder`` alone does not import torch).
_LAZY = {
    "SPECS": "qplane.decoder.model", "ModelSpec": "qplane.decoder.model",
    "ModelCard": "qplane.decoder.model_file", "file_sha256": "qplane.decoder.model_store",
    "load_model": "qplane.decoder.model_file", "shipped_models": "qplane.decoder.model_store",
    "CompiledNeuralDecoder": "qplane.decoder.neural", "NeuralDecoder": "qplane.decoder.neural",
    "NoiseMismatchWarning": "qplane.decoder.neural",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qplane.decoder' has no attribute {name!r}")

__all__ = [
    "CompiledDecoder",
    "CompiledNeuralDecoder",
    "CompiledPyMatching",
    "DECODER_TYPES",
    "Decoder",
    "ModelCard",
    "ModelSpec",
    "NeuralDecoder",
    "NoiseMismatchWarning",
    "PyMatchingDecoder",
    "SPECS",
    "check_detection_events",
    "file_sha256",
    "load_model",
    "make_decoder",
    "packed_width",
    "shipped_models",
    "sinter_decoders",
]
