"""Decoders: the protocol (sinter's), PyMatching, and the neural pre-decoder.

Modules:

* :mod:`~qplane.decoder.protocol` — the :class:`Decoder` / :class:`CompiledDecoder` protocol
  every qplane decoder implements (bit-packed detection events in, predictions out);
* :mod:`~qplane.decoder.matching` — :class:`PyMatchingDecoder`, the classical baseline;
* :mod:`~qplane.decoder.registry` — decoders by name (:data:`DECODER_TYPES`,
  :func:`make_decoder`, :func:`sinter_decoders`);
* :mod:`~qplane.decoder.neural` — :class:`NeuralDecoder`: a 3D-CNN pre-decoder, then
  PyMatching on the residual syndrome;
* :mod:`~qplane.decoder.neural_soft` — :class:`NeuralSoftDecoder` (``neural-soft``): the network
  sends the shots the cheap decoders disagree on, or that it is unsure about, to Tesseract;
* :mod:`~qplane.decoder.site_priors` — Tesseract on a DEM's sites with per-shot priors;
* :mod:`~qplane.decoder.model` — the pre-decoder network, built from frozen :data:`SPECS`;
* :mod:`~qplane.decoder.model_file` — model files: weights plus :class:`ModelCard`, pinned by
  SHA-256 (:func:`load_model`);
* :mod:`~qplane.decoder.model_store` — where model files live and how a config pins one
  (:func:`resolve_model_path`, :func:`file_sha256`; no torch);
* :mod:`~qplane.decoder.volume` — the syndrome volume (detectors on a grid);
* :mod:`~qplane.decoder.labels` — exact local labels from the detector error model;
* :mod:`~qplane.decoder.data` — training data from stim's DEM sampler;
* :mod:`~qplane.decoder.training` — the training loop, checkpoints and rule selection;
* :mod:`~qplane.decoder.onnx_export` — ONNX export of a pre-decoder network.

``import qplane.decoder`` does not import torch: the neural names load on first use
(``from qplane.decoder import NeuralDecoder`` works as usual). ``sinter_decoders()`` is the
entry point for ``sinter collect``::

    sinter collect --custom_decoders_module_function qplane.decoder:sinter_decoders ...
"""

from __future__ import annotations

import importlib
from typing import Any

from qplane.decoder.matching import CompiledPyMatching, PyMatchingDecoder
from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events, packed_width
from qplane.decoder.registry import DECODER_TYPES, make_decoder, sinter_decoders

#: Names loaded on first use (most need torch), and the module that holds each.
_LAZY = {
    "SPECS": "qplane.decoder.model", "ModelSpec": "qplane.decoder.model",
    "ModelCard": "qplane.decoder.model_file", "load_model": "qplane.decoder.model_file",
    "file_sha256": "qplane.decoder.model_store",
    "resolve_model_path": "qplane.decoder.model_store",
    "shipped_models": "qplane.decoder.model_store",
    "CompiledNeuralDecoder": "qplane.decoder.neural", "NeuralDecoder": "qplane.decoder.neural",
    "NeuralSoftDecoder": "qplane.decoder.neural_soft",
    "NoiseMismatchWarning": "qplane.decoder.neural",
    "export_onnx": "qplane.decoder.onnx_export",
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
    "NeuralSoftDecoder",
    "NoiseMismatchWarning",
    "PyMatchingDecoder",
    "SPECS",
    "check_detection_events",
    "export_onnx",
    "file_sha256",
    "load_model",
    "make_decoder",
    "packed_width",
    "resolve_model_path",
    "shipped_models",
    "sinter_decoders",
]
