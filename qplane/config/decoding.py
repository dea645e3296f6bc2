"""``qplane.decoding``: the decoding workers and their decoder, options typed per decoder.

``decoding.decoder`` is a union discriminated by ``type``: each decoder type has its own
options model, read from the decoder's constructor (``pymatching`` and
``pymatching-correlated`` take none; ``neural`` and ``neural-correlated`` take the
:class:`~qplane.decoder.neural.NeuralDecoder` keywords except ``correlated``, which the type
fixes; ``neural-soft`` the :class:`~qplane.decoder.neural_soft.NeuralSoftDecoder` keywords).
An options model hands the decoder only the keys the file gave, so the constructor's own
defaults apply to the rest: ``make_decoder(d.type, **d.options)``.

>>> d = DecodingSettings.model_validate({"decoder": {"type": "neural", "options": {"model": "d3"}}})
>>> d.decoder.options.kwargs()
{'model': 'd3'}
>>> DecodingSettings.model_validate({}).decoder.type
'pymatching'

:func:`check_model_files` is the part that looks at the file system (``qplane check`` runs
it): a named model file must exist and match its SHA-256 pin.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, Discriminator, Field, Tag, model_validator

from qplane.config._base import KeyedValueError, Section

#: Decoder types by the options model family they use (the discriminator's tags).
_FAMILY = {"pymatching": "pymatching", "pymatching-correlated": "pymatching",
           "neural": "neural", "neural-correlated": "neural", "neural-soft": "neural-soft"}
#: Every decoder type a config may name (equal to ``qplane.decoder.DECODER_TYPES``' keys).
DECODER_NAMES = tuple(sorted(_FAMILY))
_DEVICE_RE = re.compile(r"^(auto|(cpu|cuda|mps|xpu|hip|meta)(:\d+)?)$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


def _device(value: str) -> str:
    if not _DEVICE_RE.match(value):
        raise ValueError(f"must be 'auto' or a torch device such as 'cpu', 'cuda', 'cuda:1' or "
                         f"'mps', got {value!r}")
    return value


def _sha256(value: str) -> str:
    if not _SHA256_RE.match(value):
        raise ValueError(f"must be the model file's SHA-256 as 64 hex digits, got {value!r} "
                         "(print it with: sha256sum FILE)")
    return value


class DecoderOptions(Section):
    """Base of the per-decoder options models: a mapping of the keys the file gave.

    ``make_decoder(type, **options)`` works on it directly (``keys`` and ``__getitem__``).
    """

    def kwargs(self) -> dict[str, Any]:
        """The options the file gave, as keyword arguments of the decoder's constructor."""
        return self.model_dump(exclude_unset=True)

    def keys(self) -> Any:
        return self.kwargs().keys()

    def __getitem__(self, key: str) -> Any:
        return self.kwargs()[key]


class PyMatchingOptions(DecoderOptions):
    """Options of ``pymatching`` and ``pymatching-correlated``: none (the type says which)."""


class NetworkOptions(DecoderOptions):
    """The network's options, shared by every decoder that runs a model (``neural``,
    ``neural-correlated``, ``neural-soft``)."""

    model: str = Field("auto", description="a shipped model name (d3, d5, d7), the path of a "
                       "model file, or 'auto': the shipped model nearest the code distance")
    sha256: Optional[Annotated[str, AfterValidator(_sha256)]] = Field(
        None, description="pin: the model file's SHA-256; a file with another hash is refused")
    device: Annotated[str, AfterValidator(_device)] = Field(
        "auto", description="'auto' (a GPU when present, else the CPU) or a torch device")
    batch_size: int = Field(1024, ge=1, description="shots per network call")
    backend: Literal["torch", "onnx"] = Field(
        "torch", description="what runs the network: 'torch', or 'onnx' (ONNX Runtime; CUDA / "
                             "ROCm / OpenVINO / DirectML provider when installed, else the CPU)")
    precision: Literal["fp32", "int8"] = Field(
        "fp32", description="network precision; 'int8' (static quantisation calibrated on "
                            "the circuit's own shots) needs backend 'onnx'")
    threads: Optional[int] = Field(None, ge=1, le=256, description="intra-op threads of the "
                                   "network (default: the runtime's own choice)")

    @model_validator(mode="after")
    def _pin_and_precision(self) -> NetworkOptions:
        if self.model == "auto" and self.sha256 is not None:
            raise KeyedValueError("sha256", "a sha256 pin needs an explicit model, not 'auto'; "
                                            "name the model file you pin")
        if self.precision == "int8" and self.backend != "onnx":
            raise KeyedValueError("precision", "precision 'int8' needs backend 'onnx' (torch "
                                               "runs fp32); set backend: onnx")
        return self


class NeuralOptions(NetworkOptions):
    """Options of ``neural`` and ``neural-correlated`` (see ``NeuralDecoder``)."""

    mode: Optional[Literal["uncorrelated", "correlated", "clear"]] = Field(
        None, description="which of the model card's rules to apply (default: the decoder "
                          "type's own)")
    threshold: Optional[float] = Field(None, gt=0.0, lt=1.0, description="override the rule's "
                                       "probability threshold (for studies, not production)")


class NeuralSoftOptions(NetworkOptions):
    """Options of ``neural-soft`` (see ``NeuralSoftDecoder``): the network's, and the gate's."""

    residual: Literal["tesseract"] = Field(
        "tesseract", description="the prior-taking decoder of the gated shots (Tesseract on "
                                 "the DEM's sites; pip install tesseract-decoder)")
    gate_fraction: float = Field(
        0.05, ge=0.0, le=1.0, description="fraction of shots (sampled from the DEM at compile "
        "time) whose network uncertainty sends them to the residual decoder, besides those the "
        "cheap decoders disagree on; 0: only those, 1: every shot")
    prior_weight: float = Field(
        0.0, ge=0.0, le=1.0, description="how far the gated shots' priors move from the DEM's "
        "towards the network's probabilities (0: the DEM's, 1: the network's)")
    beam: Literal["long", "short"] = Field("short", description="Tesseract's beam settings "
                                           "(short: as accurate as long on validation, cheaper)")


Weights = Literal["nominal", "learned"]
_WEIGHTS_HELP = ("'nominal': the decoding circuit's own model; 'learned': start from it, then "
                 "decode with the model learned live from the syndromes (qplane.decoding.noise)")


class PyMatchingDecoderSettings(Section):
    """``decoding.decoder`` for PyMatching, plain or correlated."""

    type: Literal["pymatching", "pymatching-correlated"] = Field(
        "pymatching", description="decoder name (see qplane.decoder.DECODER_TYPES)")
    weights: Weights = Field("nominal", description=_WEIGHTS_HELP)
    options: PyMatchingOptions = Field(default_factory=PyMatchingOptions,
                                       description="keyword options of the decoder (none)")


class NeuralDecoderSettings(Section):
    """``decoding.decoder`` for the neural pre-decoder followed by (correlated) PyMatching."""

    type: Literal["neural", "neural-correlated"] = Field(
        description="decoder name (see qplane.decoder.DECODER_TYPES)")
    weights: Weights = Field("nominal", description=_WEIGHTS_HELP + " (the residual matcher's)")
    options: NeuralOptions = Field(default_factory=NeuralOptions,
                                   description="keyword options of the decoder")


class NeuralSoftDecoderSettings(Section):
    """``decoding.decoder`` for the network gating hard shots to Tesseract (``neural-soft``)."""

    type: Literal["neural-soft"] = Field(
        description="decoder name (see qplane.decoder.DECODER_TYPES)")
    weights: Weights = Field("nominal", description=_WEIGHTS_HELP + " (the decoders' DEM)")
    options: NeuralSoftOptions = Field(default_factory=NeuralSoftOptions,
                                       description="keyword options of the decoder")


def _family(value: Any) -> Optional[str]:
    kind = value.get("type", "pymatching") if isinstance(value, dict) else getattr(value, "type", None)
    return _FAMILY.get(kind) if isinstance(kind, str) else None


DecoderSettings = Annotated[
    Union[Annotated[PyMatchingDecoderSettings, Tag("pymatching")],
          Annotated[NeuralDecoderSettings, Tag("neural")],
          Annotated[NeuralSoftDecoderSettings, Tag("neural-soft")]],
    Discriminator(_family, custom_error_type="unknown_decoder",
                  custom_error_message="unknown decoder",
                  custom_error_context={"known": ", ".join(DECODER_NAMES)}),
]


class NoiseLearningSettings(Section):
    """``qplane.decoding.noise``: the live noise estimator of ``weights: learned``.

    Each decoding worker learns from the syndromes it decodes, over a sliding window of the
    last ``window_shots`` shots; every ``refresh_shots`` shots, once the window holds at least
    ``min_shots``, it re-estimates and swaps to the new model between two blocks.
    """

    estimator: Literal["auto", "pairwise", "full", "hybrid"] = Field(
        "auto", description="'pairwise' (matching-graph edges, fitted onto the decomposed "
        "model, hyperedges kept), 'full' (every mechanism from its own moments), 'hybrid' "
        "(the pairwise edge totals, split among their mechanisms by the full estimate), or "
        "'auto': the one qplane bench device_noise measures best (pairwise)")
    window_shots: int = Field(100_000, ge=1_000, le=100_000_000,
                              description="shots in the sliding window an estimate is made from")
    refresh_shots: int = Field(50_000, ge=1, description="re-estimate every this many shots")
    min_shots: int = Field(30_000, ge=1, description="fewest shots in the window before the "
                           "first learned model (until then: the nominal one)")
    groups: int = Field(10, ge=2, le=100, description="shot groups of the jackknife intervals")

    @model_validator(mode="after")
    def _window_holds_min(self) -> NoiseLearningSettings:
        if self.min_shots > self.window_shots:
            raise KeyedValueError("min_shots", f"min_shots ({self.min_shots}) is more than the "
                                  f"window holds ({self.window_shots}); lower it or widen "
                                  "window_shots")
        return self


class DecodingSettings(Section):
    """``qplane.decoding``: how many workers, which decoder, how much shadow decoding."""

    workers: int = Field(1, ge=1, le=64, description="decoding worker processes")
    decoder: DecoderSettings = Field(default_factory=PyMatchingDecoderSettings,
                                     description="the decoder: type and its options")
    shadow_fraction: float = Field(0.0, ge=0.0, le=1.0, description="fraction of shots also "
                                   "decoded by plain PyMatching to check the decoder")
    noise: NoiseLearningSettings = Field(default_factory=NoiseLearningSettings,
                                         description="the live noise estimator (used with "
                                         "decoder.weights: learned)")


def check_model_files(decoding: DecodingSettings, *,
                      key: str = "qplane.decoding") -> list[tuple[str, str]]:
    """The named model file exists and matches its pin; ``[(dotted key, message)]`` otherwise.

    Reads and hashes the file (no torch import).
    """
    options = decoding.decoder.options
    if not isinstance(options, (NeuralOptions, NeuralSoftOptions)) or options.model == "auto":
        return []
    from qplane.decoder import file_sha256, resolve_model_path
    from qplane.errors import DecoderError

    prefix = f"{key}.decoder.options"
    try:
        path = resolve_model_path(options.model)
    except DecoderError as e:
        return [(f"{prefix}.model", f"{e}; give a shipped model name or the path of a model "
                                    "file (relative to the working directory)")]
    if options.sha256 is None:
        return []
    try:
        digest = file_sha256(path)
    except OSError as e:
        return [(f"{prefix}.model", f"cannot read model file {path}: {e.strerror}")]
    if digest != options.sha256.lower():
        return [(f"{prefix}.sha256", f"{path} has sha256 {digest}, but the config pins "
                                     f"{options.sha256}; pin the file you mean to run")]
    return []
