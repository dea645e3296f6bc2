"""``neural-soft``: the network picks the hard shots, a prior-taking decoder decodes them.

Correlated PyMatching decodes every shot. The pre-decoder network (the ``neural`` model) runs on
every shot too, and a shot is *gated* to the residual decoder (Tesseract on the DEM's sites,
:mod:`qplane.decoder.site_priors`) when

- the cheap decoders disagree on it: correlated PyMatching, uncorrelated PyMatching and the
  network's hard corrections (every site above probability 0.5, then correlated matching), or
- the network is unsure about it: its uncertainty ``sum over sites of min(q, 1 - q)`` is in
  the top ``gate_fraction`` of shots the decoder samples from its own DEM at compile time
  (1024 shots, a fixed seed: a circuit always gets the same threshold).

Gated shots are decoded by Tesseract with priors ``blend_priors(dem, network, prior_weight)``:
``prior_weight`` 0 keeps the DEM's priors (the network only chooses the shots), 1 takes the
network's probabilities as that shot's priors. The defaults (``gate_fraction`` 0.05,
``prior_weight`` 0, Tesseract's short beam) were chosen on validation shots (docs/decoder.md,
"neural-soft"). The shipped CPU-trained networks' probabilities made Tesseract worse at every
weight tried, so the network's part is choosing the few shots (~5-7 % at d = 5, p = 0.005)
that get the expensive decoder; those are Tesseract's hardest shots, so the average cost is
still several times the network's (~1.5 ms per shot at d = 5 on one CPU core). At d = 7,
p = 0.003 validation shots chose ``gate_fraction`` 0.005 (0.7 % of shots gated;
``config/sim_d7_neural_soft.yaml``). Temperature-scaling the network (site_priors.
fit_temperature) found it already calibrated on the gated shots (T ~ 0.95), and its priors
still made Tesseract worse: they are posteriors given the same syndrome Tesseract searches.

>>> import numpy as np
>>> from qplane.codes import memory_circuit
>>> circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.003)
>>> dem = circuit.detector_error_model(decompose_errors=True)
>>> compiled = NeuralSoftDecoder(model="d3").compile_decoder_for_dem(dem=dem)
>>> dets = circuit.compile_detector_sampler(seed=1).sample(64, bit_packed=True)
>>> compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets).shape
(64, 1)
>>> 0 <= compiled.shots_gated <= compiled.shots == 64
True
"""

from __future__ import annotations

import time

import numpy as np
import pymatching
import stim

from qplane.config import NeuralSoftOptions, validate_section
from qplane.decoder.backends import CALIBRATION_SEED
from qplane.decoder.protocol import CompiledDecoder, Decoder, check_detection_events
from qplane.decoder.site_priors import SitePriorTesseract, blend_priors

#: The hard rule whose disagreement with correlated PyMatching gates a shot.
HARD_RULE = {"classes": "all", "threshold": 0.5}
#: Shots sampled from the DEM at compile time to set the uncertainty threshold, and their seed
#: (beside the int8 calibration's; never a training, validation or test seed).
GATE_SHOTS = 1024
GATE_SEED = CALIBRATION_SEED + 1


def uncertainty(logits: np.ndarray) -> np.ndarray:
    """Per shot, ``sum over sites of min(q, 1 - q)`` for ``(shots, sites)`` network logits.

    >>> uncertainty(np.array([[0.0, -50.0], [50.0, 50.0]])).round(3).tolist()
    [0.5, 0.0]
    """
    return (1.0 / (1.0 + np.exp(np.abs(np.asarray(logits, dtype=np.float64))))).sum(axis=1)


class CompiledNeuralSoftDecoder(CompiledDecoder):
    """Network + correlated PyMatching on every shot, Tesseract with priors on the gated ones.

    Running statistics: ``shots``, ``shots_gated``, ``network_seconds``, ``matching_seconds``,
    ``residual_seconds`` (Tesseract), and :attr:`gated_fraction`; ``backend``,
    ``device_name``, ``card``, ``sha256``, ``notes`` and ``rule`` as the neural decoder's.
    """

    def __init__(self, *, neural, residual: SitePriorTesseract,
                 matching_uncorrelated: pymatching.Matching, gate_threshold: float,
                 gate_fraction: float, prior_weight: float):
        self.neural = neural
        self.residual = residual
        self.matching_uncorrelated = matching_uncorrelated
        self.gate_threshold = float(gate_threshold)
        self.gate_fraction = float(gate_fraction)
        self.prior_weight = float(prior_weight)
        self.num_detectors = neural.num_detectors
        self.num_observables = neural.num_observables
        self.backend, self.device_name = neural.backend, neural.device_name
        self.card, self.sha256, self.notes = neural.card, neural.sha256, neural.notes
        self.rule = {"gate": "disagreement or uncertainty", "gate_fraction": self.gate_fraction,
                     "gate_threshold": self.gate_threshold, "prior_weight": self.prior_weight,
                     "residual": "tesseract", "hard_rule": dict(HARD_RULE)}
        self.shots = self.shots_gated = 0
        self.network_seconds = self.matching_seconds = self.residual_seconds = 0.0

    @property
    def gated_fraction(self) -> float:
        """Fraction of the shots decoded so far that went to the residual decoder."""
        return self.shots_gated / self.shots if self.shots else 0.0

    def gate(self, events: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(gated, correlated)``: which shots go to the residual decoder, and correlated
        PyMatching's bit-packed predictions for all of them."""
        packed = np.packbits(events, axis=1, bitorder="little")
        start = time.perf_counter()
        correlated = self.neural.matching.decode_batch(
            packed, bit_packed_shots=True, bit_packed_predictions=True, enable_correlations=True)
        plain = self.matching_uncorrelated.decode_batch(
            packed, bit_packed_shots=True, bit_packed_predictions=True)
        self.matching_seconds += time.perf_counter() - start
        hard, _ = self.neural.decode_from_logits(events, logits, rule=HARD_RULE)
        gated = (np.any(correlated != plain, axis=1) | np.any(correlated != hard, axis=1)
                 | (uncertainty(logits) >= self.gate_threshold))
        return gated, correlated

    def decode_events(self, events: np.ndarray,
                      logits: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(predictions, gated)`` for ``bool (shots, num_detectors)`` events.

        ``predictions``: ``uint8 (shots, ceil(num_observables / 8))`` bit-packed; ``gated``:
        ``bool (shots,)``. ``logits``: the network's site logits when already computed.
        """
        events = np.asarray(events, dtype=bool)
        if logits is None:
            start = time.perf_counter()
            logits = self.neural.site_logits(events)
            self.network_seconds += time.perf_counter() - start
        gated, out = self.gate(events, logits)
        index = np.flatnonzero(gated)
        if len(index):
            start = time.perf_counter()
            priors = (None if self.prior_weight == 0 else
                      blend_priors(self.residual.site_prior, logits[index], self.prior_weight))
            flips = self.residual.decode(events[index], priors)
            out = out.copy()
            out[index] = np.packbits(flips, axis=1, bitorder="little")
            self.residual_seconds += time.perf_counter() - start
        self.shots += len(events)
        self.shots_gated += len(index)
        return out, gated

    def decode_shots_bit_packed(self, *, bit_packed_detection_event_data: np.ndarray) -> np.ndarray:
        check_detection_events(bit_packed_detection_event_data, self.num_detectors)
        events = np.unpackbits(bit_packed_detection_event_data, axis=1, bitorder="little",
                               count=self.num_detectors).astype(bool)
        return self.decode_events(events)[0]


class NeuralSoftDecoder(Decoder):
    """The pre-decoder network gating shots to Tesseract with (optionally) the network's priors.

    Args:
        model, sha256, device, batch_size, backend, precision, threads: the network's, as
            :class:`~qplane.decoder.neural.NeuralDecoder`'s.
        residual: the prior-taking decoder of the gated shots: ``"tesseract"``.
        gate_fraction: in ``[0, 1]``; the fraction of (DEM-sampled) shots whose network
            uncertainty gates them, on top of the shots the cheap decoders disagree on (0: those
            only; 1: every shot).
        prior_weight: in ``[0, 1]``; how far the gated shots' priors move from the DEM's to the
            network's (:func:`~qplane.decoder.site_priors.blend_priors`).
        beam: Tesseract's ``"short"`` or ``"long"`` beam (short: the same validation errors
            at d = 5, p = 0.005, about half the search time).

    Raises:
        ConfigError: bad options. ModelMismatchError: wrong pin or an unusable model file.
    """

    def __init__(self, *, model: str = "auto", sha256: str | None = None, device: str = "auto",
                 batch_size: int = 1024, backend: str = "torch", precision: str = "fp32",
                 threads: int | None = None, residual: str = "tesseract",
                 gate_fraction: float = 0.05, prior_weight: float = 0.0, beam: str = "short"):
        from qplane.decoder.neural import NeuralDecoder

        validate_section(NeuralSoftOptions, {
            "model": str(model), "sha256": sha256, "device": device, "batch_size": batch_size,
            "backend": backend, "precision": precision, "threads": threads,
            "residual": residual, "gate_fraction": gate_fraction,
            "prior_weight": prior_weight, "beam": beam}, key="options")
        self._neural = NeuralDecoder(model=model, sha256=sha256, device=device, correlated=True,
                                     batch_size=batch_size, backend=backend,
                                     precision=precision, threads=threads)
        self.residual = residual
        self.gate_fraction = float(gate_fraction)
        self.prior_weight = float(prior_weight)
        self.beam = beam
        self.name = "neural-soft"

    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> CompiledNeuralSoftDecoder:
        neural = self._neural.compile_decoder_for_dem(dem=dem)
        residual = SitePriorTesseract(dem, neural.sites, beam=self.beam)
        if self.gate_fraction >= 1:
            threshold = -np.inf
        elif self.gate_fraction <= 0:
            threshold = np.inf
        else:
            shots = dem.compile_sampler(seed=GATE_SEED).sample(GATE_SHOTS)[0]
            scores = uncertainty(neural.site_logits(shots))
            threshold = float(np.quantile(scores, 1.0 - self.gate_fraction))
        return CompiledNeuralSoftDecoder(
            neural=neural, residual=residual,
            matching_uncorrelated=pymatching.Matching.from_detector_error_model(dem),
            gate_threshold=threshold, gate_fraction=self.gate_fraction,
            prior_weight=self.prior_weight)
