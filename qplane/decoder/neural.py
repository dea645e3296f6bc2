"""The neural decoder: a 3D-CNN pre-decoder, then PyMatching on the residual syndrome.

For each shot the network predicts, at every site (class x slot, see :mod:`qplane.decoder.labels`),
the probability that the site's error fired. Sites allowed by the model's decision rule whose
probability clears the rule's threshold are applied as corrections: their detectors are flipped
out of the syndrome and their observable flips are kept. PyMatching (uncorrelated or correlated)
decodes the residual syndrome; the prediction is the XOR of both observable flips.

The rule (which classes may be applied, and the threshold) is chosen on validation shots when
the model is trained and stored in its model card, one per mode: ``"uncorrelated"`` and
``"correlated"`` (lowest validation LER with that matcher) and ``"clear"`` (fewest residual
detection events at no validation LER cost).

Everything the decoder needs comes from the DEM it is compiled for; a DEM of another code family
or orientation convention is refused (:class:`~qplane.errors.ModelMismatchError`), another
distance or number of rounds is allowed and recorded (the network is fully convolutional), and a
noise strength outside the trained range is warned about and recorded.

>>> import numpy as np
>>> from qplane.codes import memory_circuit
>>> circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.003)
>>> decoder = NeuralDecoder(model="d3")
>>> compiled = decoder.compile_decoder_for_dem(dem=circuit.detector_error_model(decompose_errors=True))
>>> dets, obs = circuit.compile_detector_sampler(seed=1).sample(64, separate_observables=True, bit_packed=True)
>>> compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets).shape
(64, 1)
>>> 0.0 <= compiled.cleared_fraction <= 1.0
True
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import pymatching
import stim
import torch

from qplane.config import NeuralOptions, validate_section
from qplane.decoder.backends import OnnxNetwork, TorchNetwork, build_network, calibration_volumes
from qplane.decoder.labels import SiteMap
from qplane.decoder.model_file import ModelCard, file_sha256, load_model, read_card, resolve_model_path, shipped_models
from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events
from qplane.decoder.volume import SyndromeGeometry
from qplane.errors import ConfigError, DecoderError, ModelMismatchError

#: Modes a model card carries a rule for.
MODES = ("uncorrelated", "correlated", "clear")


class NoiseMismatchWarning(UserWarning):
    """The DEM's noise lies outside what the model was trained on (decoding goes on)."""


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA (or ROCm) if present, else MPS, else CPU; anything else as torch reads it.

    >>> resolve_device("cpu").type
    'cpu'
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"unknown torch device {device!r}: {e}", key="device") from e


def dem_median_probability(dem: stim.DetectorErrorModel) -> float:
    """Median probability of the DEM's error mechanisms: a cheap noise-strength signature."""
    probs = [inst.args_copy()[0] for inst in dem.flattened() if inst.type == "error"]
    return float(np.median(probs)) if probs else 0.0


def rule_for_noise(rule: dict, signature: float) -> dict:
    """The rule to apply to a DEM whose median mechanism probability is ``signature``.

    A card's rule may carry ``by_noise``: rules chosen per validation noise strength, each with
    its DEM's median mechanism probability. The entry nearest ``signature`` (on a log scale) is
    used, and its ``p`` kept as ``validated_p``; without ``by_noise`` the rule itself is.

    >>> rule = {"classes": "all", "threshold": 0.8, "by_noise": [
    ...     {"p": 0.003, "dem_median_probability": 2e-4, "classes": "hyperedge", "threshold": 0.7},
    ...     {"p": 0.005, "dem_median_probability": 3.4e-4, "classes": "all", "threshold": 0.8}]}
    >>> rule_for_noise(rule, 2.2e-4)
    {'classes': 'hyperedge', 'threshold': 0.7, 'validated_p': 0.003}
    >>> rule_for_noise({"classes": "none", "threshold": 0.5}, 2.2e-4)
    {'classes': 'none', 'threshold': 0.5}
    """
    entries = rule.get("by_noise") or []
    if not entries or signature <= 0:
        return {k: v for k, v in rule.items() if k != "by_noise"}
    best = min(entries, key=lambda e: abs(math.log(e["dem_median_probability"] / signature)))
    return {"classes": best["classes"], "threshold": best["threshold"], "validated_p": best["p"]}


def site_rule_mask(sites: SiteMap, rule: dict) -> np.ndarray:
    """Sites a rule may apply: ``"hyperedge"`` (flipping >= 3 detectors), ``"all"`` or ``"none"``."""
    kind = rule.get("classes", "hyperedge")
    if kind == "none":
        return np.zeros(sites.num_sites, dtype=bool)
    if kind == "hyperedge":
        return sites.site_weight >= 3
    if kind == "all":
        return np.ones(sites.num_sites, dtype=bool)
    raise ConfigError(f"unknown rule classes {kind!r}; use 'hyperedge', 'all' or 'none'",
                      key="rule")


class CompiledNeuralDecoder(CompiledDecoder):
    """The pre-decoder and residual matcher bound to one DEM.

    Cheap running statistics (over every shot decoded so far) are attributes:
    ``shots``, ``detection_events_in``, ``detection_events_out`` (left for matching),
    ``corrections_applied``, ``network_seconds``, ``matching_seconds``, and the properties
    :attr:`cleared_fraction` and :attr:`residual_density`. ``notes`` lists what differs from
    the training conditions (distance, rounds, noise); ``noise_mismatch`` flags the latter.
    """

    def __init__(self, *, net: torch.nn.Module, card: ModelCard, sha256: str,
                 geometry: SyndromeGeometry, sites: SiteMap, matching: pymatching.Matching,
                 num_observables: int, correlated: bool, rule: dict, device: torch.device,
                 batch_size: int, notes: list[str], noise_mismatch: bool,
                 noise_signature: float = 0.0, network: TorchNetwork | OnnxNetwork | None = None):
        self.net = net
        #: What runs the network (:mod:`qplane.decoder.backends`); ``backend`` and
        #: ``device_name`` are what the run file records.
        self.network = network if network is not None else TorchNetwork(net, device)
        self.backend = self.network.backend
        self.device_name = self.network.device
        self.card = card
        self.sha256 = sha256
        self.geometry = geometry
        self.sites = sites
        self.matching = matching
        self.num_detectors = geometry.num_detectors
        self.num_observables = num_observables
        self.correlated = correlated
        self.rule = dict(rule)
        self.device = device
        self.batch_size = batch_size
        self.notes = notes
        self.noise_mismatch = noise_mismatch
        self.noise_signature = noise_signature
        # The network's own copy when it gathers the sites itself (checked by identity).
        own = getattr(self.network, "site_index", None)
        self._site_index = own if own is not None else np.asarray(sites.site_index)
        self._rule_mask = site_rule_mask(sites, rule)
        self.shots = 0
        self.detection_events_in = 0
        self.detection_events_out = 0
        self.corrections_applied = 0
        self.network_seconds = 0.0
        self.matching_seconds = 0.0

    @property
    def cleared_fraction(self) -> float:
        """Fraction of detection events the pre-decoder cleared (0 before any event)."""
        if self.detection_events_in == 0:
            return 0.0
        return 1.0 - self.detection_events_out / self.detection_events_in

    @property
    def residual_density(self) -> float:
        """Residual detection events per detector per shot."""
        return self.detection_events_out / max(1, self.shots * self.num_detectors)

    def card_rule(self, mode: str) -> dict:
        """The card's rule for ``mode`` at this DEM's noise (see :func:`rule_for_noise`)."""
        return rule_for_noise(self.card.rules[mode], self.noise_signature)

    def site_logits(self, events: np.ndarray) -> np.ndarray:
        """The network's logits at every site: ``float32 (shots, num_sites)`` for unpacked events."""
        out = np.zeros((events.shape[0], self.sites.num_sites), dtype=np.float32)
        for start in range(0, events.shape[0], self.batch_size):
            chunk = events[start:start + self.batch_size]
            out[start:start + len(chunk)] = self.network.site_logits(
                self.geometry.volume(chunk), self._site_index)
        return out

    def decode_from_logits(self, events: np.ndarray, logits: np.ndarray, *,
                           rule: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Apply a rule's corrections and match the residual.

        Returns:
            ``(predictions, residual)``: ``uint8 (shots, ceil(num_observables/8))`` bit-packed
            predictions and ``bool (shots, num_detectors)`` residual detection events.
        """
        if rule is None:
            columns, threshold = np.flatnonzero(self._rule_mask), float(self.rule["threshold"])
        else:
            columns = np.flatnonzero(site_rule_mask(self.sites, rule))
            threshold = float(rule["threshold"])
        logit_threshold = float(np.log(threshold / (1.0 - threshold)))
        # Only the rule's sites are compared (a ``hyperedge`` rule is a fraction of them).
        fired = np.zeros(logits.shape, dtype=bool)
        if len(columns):
            fired[:, columns] = logits[:, columns] > logit_threshold
        residual, flips = self.sites.apply(events, fired)
        kwargs = {"enable_correlations": True} if self.correlated else {}
        start = time.perf_counter()
        matched = self.matching.decode_batch(
            np.packbits(residual, axis=1, bitorder="little"),
            bit_packed_shots=True, bit_packed_predictions=True, **kwargs)
        self.matching_seconds += time.perf_counter() - start
        obs_bits = ((flips[:, None] >> np.arange(self.num_observables, dtype=np.uint64)) & 1).astype(bool)
        predictions = matched ^ np.packbits(obs_bits, axis=1, bitorder="little")
        self.corrections_applied += int(fired.sum())
        return predictions.astype(np.uint8), residual

    def decode_shots_bit_packed(self, *, bit_packed_detection_event_data: np.ndarray) -> np.ndarray:
        check_detection_events(bit_packed_detection_event_data, self.num_detectors)
        events = np.unpackbits(bit_packed_detection_event_data, axis=1, bitorder="little",
                               count=self.num_detectors).astype(bool)
        start = time.perf_counter()
        logits = self.site_logits(events)
        self.network_seconds += time.perf_counter() - start
        predictions, residual = self.decode_from_logits(events, logits)
        self.shots += events.shape[0]
        self.detection_events_in += int(events.sum())
        self.detection_events_out += int(residual.sum())
        return predictions


class NeuralDecoder(Decoder):
    """The 3D-CNN pre-decoder followed by PyMatching, as a qplane / sinter decoder.

    Holds only its options (so sinter can ship it to worker processes); the model is loaded
    when compiling for a DEM.

    Args:
        model: a shipped model name (``"d3"``, ``"d5"``, ``"d7"``), a path to a model file, or
            ``"auto"``: the shipped model whose (last) training distance is nearest the DEM's
            (variants such as ``"d5-fast"`` are chosen by name only).
        sha256: pin of the model file; a file with another hash is refused.
        device: ``"auto"`` (CUDA / ROCm / MPS when present, else CPU) or a torch device.
        correlated: decode the residual with correlated PyMatching.
        mode: which of the card's rules to apply; default ``"correlated"`` or
            ``"uncorrelated"`` after ``correlated``; ``"clear"`` clears the most events.
        threshold: override the rule's probability threshold (for studies, not production).
        batch_size: shots per network call.
        backend: ``"torch"`` or ``"onnx"`` (ONNX Runtime; providers chosen from ``device``, see
            :func:`qplane.decoder.backends.onnx_providers`).
        precision: ``"fp32"``, or ``"int8"`` (ONNX only: static quantisation calibrated on
            shots sampled from the DEM).
        threads: intra-op threads of the network (``None``: the runtime's default).

    Raises:
        ConfigError: bad options. ModelMismatchError: wrong pin or an unusable model file.
    """

    def __init__(self, *, model: str = "auto", sha256: str | None = None, device: str = "auto",
                 correlated: bool = False, mode: str | None = None,
                 threshold: float | None = None, batch_size: int = 1024,
                 backend: str = "torch", precision: str = "fp32", threads: int | None = None):
        # The options' shape is the config's options model (one source for both).
        validate_section(NeuralOptions, {
            "model": str(model), "sha256": sha256, "device": device, "mode": mode,
            "threshold": threshold, "batch_size": batch_size, "backend": backend,
            "precision": precision, "threads": threads}, key="options")
        resolve_device(device)
        if model != "auto":
            path = resolve_model_path(model)
            if sha256 is not None and file_sha256(path) != str(sha256).lower():
                raise ModelMismatchError(
                    f"sha256 pin: {path} has sha256 {file_sha256(path)}, but the config pins "
                    f"{sha256}; pin the file you mean to run")
            read_card(path)
        self.model = str(model)
        self.sha256 = sha256
        self.device = device
        self.correlated = bool(correlated)
        self.mode = mode or ("correlated" if correlated else "uncorrelated")
        self.threshold = threshold
        self.batch_size = batch_size
        self.backend = backend
        self.precision = precision
        self.threads = threads
        self.name = "neural-correlated" if correlated else "neural"

    def _model_for(self, distance: int) -> str | Path:
        if self.model != "auto":
            return self.model
        best = None
        for name, path in shipped_models().items():
            if "-" in name:  # variants (e.g. the distilled "d5-fast") are chosen by name only
                continue
            card = read_card(path)
            # The distance of the last training stage (a fine-tuned model also lists its init's).
            trained = int(card.training.get("distance", max(card.distances)))
            gap = abs(trained - distance)
            if best is None or gap < best[0] or (gap == best[0] and trained > best[1]):
                best = (gap, trained, name)
        if best is None:
            raise DecoderError("model 'auto': no shipped models in qplane/decoder/models")
        return best[2]

    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> CompiledNeuralDecoder:
        geometry = SyndromeGeometry.from_dem(dem)
        device = resolve_device(self.device)
        net, card, digest = load_model(self._model_for(geometry.distance), sha256=self.sha256,
                                       device=device)
        if geometry.orientation not in card.orientations:
            raise ModelMismatchError(
                f"orientation convention: the DEM has {geometry.orientation!r}, the model was "
                f"trained on {list(card.orientations)}; train on this basis / layout")
        notes = []
        if geometry.distance not in card.distances:
            notes.append(f"distance {geometry.distance} not trained (trained {list(card.distances)})")
        if geometry.rounds not in card.rounds:
            notes.append(f"rounds {geometry.rounds} not trained (trained {list(card.rounds)})")
        trained = card.noise.get("dem_median_probability") or []
        signature = dem_median_probability(dem)
        noise_mismatch = bool(trained) and not (0.5 * min(trained) <= signature <= 2.0 * max(trained))
        if noise_mismatch:
            message = (f"noise: DEM median mechanism probability {signature:.3g} is outside the "
                       f"trained range {min(trained):.3g}..{max(trained):.3g} (x0.5..x2)")
            notes.append(message)
            warnings.warn(message, NoiseMismatchWarning, stacklevel=2)
        if not card.rules.get(self.mode):
            raise ModelMismatchError(f"model card has no rule for mode {self.mode!r}")
        rule = rule_for_noise(card.rules[self.mode], signature)
        if self.threshold is not None:
            rule["threshold"] = float(self.threshold)
        sites = SiteMap.from_dem(dem, geometry, list(card.classes))
        kwargs = {"enable_correlations": True} if self.correlated else {}
        matching = pymatching.Matching.from_detector_error_model(dem, **kwargs)
        calibration = None
        if self.precision == "int8":
            calibration = calibration_volumes(dem, geometry)
        network = build_network(net, backend=self.backend, device=self.device,
                                torch_device=device, precision=self.precision,
                                threads=self.threads, calibration=calibration,
                                site_index=np.asarray(sites.site_index), shape=geometry.shape)
        return CompiledNeuralDecoder(
            net=net, network=network, card=card, sha256=digest, geometry=geometry, sites=sites, matching=matching,
            num_observables=dem.num_observables, correlated=self.correlated, rule=rule,
            device=device, batch_size=self.batch_size, notes=notes, noise_mismatch=noise_mismatch,
            noise_signature=signature)
