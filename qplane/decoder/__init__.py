"""Decoders: the protocol (sinter's), PyMatching, and the neural pre-decoder.

``sinter_decoders()`` is the entry point for ``sinter collect``::

    sinter collect --custom_decoders_module_function qplane.decoder:sinter_decoders ...
"""

from __future__ import annotations

from qplane.decoder.matching import CompiledPyMatching, PyMatchingDecoder
from qplane.decoder.model import SPECS, ModelSpec
from qplane.decoder.model_file import ModelCard, file_sha256, load_model, shipped_models
from qplane.decoder.neural import CompiledNeuralDecoder, NeuralDecoder, NoiseMismatchWarning
from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events, packed_width
from qplane.decoder.registry import DECODER_TYPES, make_decoder, sinter_decoders

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
