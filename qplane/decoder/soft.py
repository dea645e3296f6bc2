"""Soft information for the global decoder: per-shot reweighting of the matching graph.

Hard corrections throw away what the network knows about the sites it is unsure of. Here the
network's probabilities change the *weights* the global decoder uses instead: for every shot,
each site's probability becomes

    logit(p_site') = logit(p_site) + alpha * (logit(q_site) - logit(p_site)),

where ``p_site`` is the DEM's prior (the sum of its mechanisms' probabilities), ``q_site`` the
network's posterior and ``alpha`` in ``[0, 1]`` how far to trust it (0: the DEM as it is, 1: the
network's marginals). Each mechanism keeps its share of its site's probability; mechanisms
outside every site keep their prior. Correlated PyMatching then decodes the shot's full
syndrome on a graph built from that shot's DEM (PyMatching 2.4 takes no per-call weights, so
the graph is built per shot: a few ms at d = 5, which is why :class:`SoftMatcher` can *gate*:
only shots where the cheap decoders disagree are reweighted).

>>> import numpy as np
>>> from qplane.codes import memory_circuit
>>> from qplane.decoder.neural import NeuralDecoder
>>> circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.003)
>>> dem = circuit.detector_error_model(decompose_errors=True)
>>> compiled = NeuralDecoder(model="d3", correlated=True).compile_decoder_for_dem(dem=dem)
>>> soft = SoftMatcher(dem, compiled.sites)
>>> events = circuit.compile_detector_sampler(seed=2).sample(8)
>>> soft.decode(events, np.full((8, compiled.sites.num_sites), -20.0, np.float32), alpha=0.0).shape
(8,)
"""

from __future__ import annotations

import numpy as np
import pymatching
import stim

from qplane.decoder.labels import SiteMap


def _logit(x: np.ndarray) -> np.ndarray:
    return np.log(x) - np.log1p(-x)


class SoftMatcher:
    """Correlated PyMatching on a per-shot DEM reweighted by the network's site probabilities.

    Args:
        dem: the decomposed DEM the decoder is compiled for.
        sites: its sites (:class:`~qplane.decoder.labels.SiteMap`).
    """

    def __init__(self, dem: stim.DetectorErrorModel, sites: SiteMap):
        errors = [inst for inst in dem.flattened() if inst.type == "error"]
        self.prior = np.array([inst.args_copy()[0] for inst in errors], dtype=np.float64)
        self.tails = [" ".join("^" if t.is_separator() else str(t) for t in inst.targets_copy())
                      for inst in errors]
        coo = sites.mechanism_site.tocoo()
        self.mechanism_site = np.full(len(errors), -1, dtype=np.int64)
        self.mechanism_site[coo.row] = coo.col
        self.labelled = self.mechanism_site >= 0
        site = np.maximum(self.mechanism_site, 0)
        site_prior = np.zeros(sites.num_sites)
        np.add.at(site_prior, self.mechanism_site[self.labelled], self.prior[self.labelled])
        self.site_prior = np.clip(site_prior, 1e-12, 0.5)
        self.share = np.where(self.labelled, self.prior / self.site_prior[site], 1.0)
        self._site = site
        self.num_detectors = dem.num_detectors
        self.shots_reweighted = 0

    def shot_dem(self, logits: np.ndarray, alpha: float) -> stim.DetectorErrorModel:
        """The DEM reweighted by one shot's site logits (``float (num_sites,)``)."""
        if alpha == 0:  # exactly the DEM (no round trip through logits)
            return self._dem_text(self.prior)
        prior_logit = _logit(self.site_prior)
        site_logit = prior_logit + alpha * (np.clip(logits, -30, 30) - prior_logit)
        site_p = 1.0 / (1.0 + np.exp(-site_logit))
        p = np.where(self.labelled, np.clip(site_p[self._site] * self.share, 1e-12, 0.499),
                     self.prior)
        return self._dem_text(p)

    def _dem_text(self, p: np.ndarray) -> stim.DetectorErrorModel:
        return stim.DetectorErrorModel(
            "\n".join(f"error({x:.17g}) {tail}" for x, tail in zip(p, self.tails)))

    def decode(self, events: np.ndarray, logits: np.ndarray, *, alpha: float) -> np.ndarray:
        """Observable-0 predictions ``bool (shots,)`` for ``bool (shots, num_detectors)`` events.

        (Memory experiments have one observable; the mask of all is ``decode_masks``.)
        """
        return (self.decode_masks(events, logits, alpha=alpha)[:, 0] & 1).astype(bool)

    def decode_masks(self, events: np.ndarray, logits: np.ndarray, *,
                     alpha: float) -> np.ndarray:
        """Predicted observable flips ``uint8 (shots, num_observables)`` for every shot."""
        out = []
        for shot, row in zip(events, logits):
            matching = pymatching.Matching.from_detector_error_model(
                self.shot_dem(row, alpha), enable_correlations=True)
            out.append(matching.decode(np.asarray(shot, dtype=np.uint8),
                                       enable_correlations=True))
        self.shots_reweighted += len(out)
        return np.array(out, dtype=np.uint8).reshape(len(events), -1)
