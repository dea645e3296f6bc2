"""Decoders: the protocol (sinter's), PyMatching, and the neural pre-decoder.

``sinter_decoders()`` is the entry point for ``sinter collect``::

    sinter collect --custom_decoders_module_function qplane.decoder:sinter_decoders ...
"""

from __future__ import annotations

from qplane.decoder.matching import CompiledPyMatching, PyMatchingDecoder
from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events, packed_width
from qplane.decoder.registry import DECODER_TYPES, make_decoder, sinter_decoders

__all__ = [
    "CompiledDecoder",
    "CompiledPyMatching",
    "DECODER_TYPES",
    "Decoder",
    "PyMatchingDecoder",
    "check_detection_events",
    "make_decoder",
    "packed_width",
    "sinter_decoders",
]
