"""Tesseract on a DEM's sites, with per-shot priors: the prior-taking residual decoder.

A site (:mod:`qplane.decoder.labels`) is every mechanism of one class at one slot: they flip the
same detectors and observables, so for a search decoder a site is one error whose probability
is the parity of its mechanisms' (``(1 - prod(1 - 2 p)) / 2``). :class:`SitePriorTesseract`
builds Tesseract (``pip install tesseract-decoder``) on that *site DEM* (plus the mechanisms
no site holds, merged per symptom the same way), in the DEM's own detector order, with the
long-beam settings of Tesseract's sinter decoder (beam 20, beam climbing, 21 detector orders,
here breadth-first from the DEM with a fixed seed) or the short-beam ones.

Per shot the priors may come from a network: :func:`blend_priors` moves every site's logit
from the DEM's towards the network's by ``weight`` (0: the DEM; 1: the network). Tesseract
then searches that shot with those costs, compiled for that shot (replacing a compiled
decoder's error list is cheaper but finds worse solutions: Tesseract keeps search state derived
from the costs it was built with).

>>> import numpy as np
>>> blend_priors(np.array([0.01, 0.2]), np.array([5.0, -40.0]), 0.0).round(3).tolist()
[0.01, 0.2]
>>> p = blend_priors(np.array([0.01, 0.2]), np.array([5.0, -40.0]), 1.0)
>>> bool(np.all((p > 0) & (p < 0.5)))
True
"""

from __future__ import annotations

import numpy as np
import stim

from qplane.decoder.labels import SiteMap
from qplane.decoder.volume import _mechanisms
from qplane.errors import DecoderError

#: Priors are kept inside ``[PRIOR_FLOOR, PRIOR_CEILING]``: never zero (an infinite cost), never
#: 0.5 or more (a free or negative cost breaks Tesseract's admissible search).
PRIOR_FLOOR, PRIOR_CEILING = 1e-12, 0.49
#: Tesseract settings per beam (those of its sinter decoders ``tesseract-long-beam`` /
#: ``tesseract-short-beam``; detector orders breadth-first from the DEM, seed 0).
BEAMS = {"long": {"det_beam": 20, "pqlimit": 1_000_000, "orders": 21},
         "short": {"det_beam": 15, "pqlimit": 200_000, "orders": 16}}


def _logit(x: np.ndarray) -> np.ndarray:
    return np.log(x) - np.log1p(-x)


def blend_priors(prior: np.ndarray, logits: np.ndarray, weight: float) -> np.ndarray:
    """Per-site probabilities: ``logit(p') = logit(prior) + weight * (logits - logit(prior))``.

    ``prior``: ``(sites,)`` DEM probabilities; ``logits``: ``(sites,)`` or ``(shots, sites)``
    network logits (non-finite values count as the prior's). The result lies in
    ``[PRIOR_FLOOR, PRIOR_CEILING]``: positive, below one half, never NaN.
    """
    prior = np.clip(np.asarray(prior, dtype=np.float64), PRIOR_FLOOR, PRIOR_CEILING)
    base = _logit(prior)
    if weight == 0:
        return np.broadcast_to(prior, np.shape(logits)).copy()
    logits = np.asarray(logits, dtype=np.float64)
    logits = np.where(np.isfinite(logits), np.clip(logits, -30.0, 30.0), base)
    mixed = base + float(weight) * (logits - base)
    return np.clip(1.0 / (1.0 + np.exp(-mixed)), PRIOR_FLOOR, PRIOR_CEILING)


def site_bce(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean binary cross-entropy of site ``logits`` against 0/1 site ``labels`` (same shape).

    >>> round(site_bce(np.array([[0.0, 0.0]]), np.array([[0, 1]])), 4)
    0.6931
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Temperature scaling: ``(T, b)`` minimising :func:`site_bce` of ``logits / T + b``.

    ``logits`` and ``labels``: ``(shots, sites)`` network logits and exact site labels
    (:meth:`~qplane.decoder.labels.SiteMap.labels`), e.g. of the shots a gate sends to the
    residual decoder. ``T`` is kept in ``[0.05, 20]`` and ``b`` in ``[-10, 10]``.

    Raises:
        DecoderError: shapes differ or there is nothing to fit.

    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(0.0, 2.0, size=(2000, 8))
    >>> y = (rng.random(z.shape) < 1 / (1 + np.exp(-z / 2.0))).astype(np.uint8)
    >>> t, b = fit_temperature(z, y)     # the logits are twice too confident
    >>> bool(1.7 < t < 2.3 and abs(b) < 0.2)
    True
    """
    import scipy.optimize

    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if z.shape != y.shape or not z.size:
        raise DecoderError(f"fit_temperature needs logits and labels of one non-empty shape, "
                           f"got {np.shape(logits)} and {np.shape(labels)}")
    z = np.clip(np.where(np.isfinite(z), z, 0.0), -30.0, 30.0)

    def loss(params):
        u = z * np.exp(-params[0]) + params[1]
        s = 1.0 / (1.0 + np.exp(-u))
        gu = s - y
        return (float(np.mean(np.logaddexp(0.0, u) - y * u)),
                np.array([float(np.mean(-gu * z * np.exp(-params[0]))), float(np.mean(gu))]))

    result = scipy.optimize.minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B",
                                     bounds=[(np.log(0.05), np.log(20.0)), (-10.0, 10.0)])
    return float(np.exp(result.x[0])), float(result.x[1])


def _parity_probability(probs: list[float]) -> float:
    return float((1.0 - np.prod(1.0 - 2.0 * np.asarray(probs))) / 2.0)


def _tail(dets, obs: int) -> str:
    return " ".join([f"D{d}" for d in dets] + [f"L{i}" for i in range(64) if obs >> i & 1])


class SitePriorTesseract:
    """Tesseract compiled for a DEM's sites; decodes shots with the DEM's or per-shot priors.

    Args:
        dem: the (decomposed or not) DEM the sites were mapped from.
        sites: its :class:`~qplane.decoder.labels.SiteMap`.
        beam: ``"long"`` or ``"short"`` (see :data:`BEAMS`).

    Raises:
        DecoderError: ``tesseract-decoder`` is not installed.
    """

    def __init__(self, dem: stim.DetectorErrorModel, sites: SiteMap, *, beam: str = "long"):
        try:
            import tesseract_decoder.tesseract as tesseract
            import tesseract_decoder.utils as tutils
        except ImportError as e:
            raise DecoderError("residual 'tesseract' needs the tesseract-decoder package: "
                               "pip install tesseract-decoder (or qplane[soft])") from e
        if beam not in BEAMS:
            raise DecoderError(f"unknown Tesseract beam {beam!r}; use 'long' or 'short'")
        probs = [inst.args_copy()[0] for inst in dem.flattened() if inst.type == "error"]
        coo = sites.mechanism_site.tocoo()
        mechanism_site = np.full(len(probs), -1, dtype=np.int64)
        mechanism_site[coo.row] = coo.col
        per_site: list[list[float]] = [[] for _ in range(sites.num_sites)]
        others: dict[tuple, list[float]] = {}
        for m, (dets, obs) in enumerate(_mechanisms(dem)):
            if mechanism_site[m] >= 0:
                per_site[mechanism_site[m]].append(probs[m])
            elif dets:  # a mechanism flipping no detector cannot be decoded
                others.setdefault((tuple(dets), obs), []).append(probs[m])
        #: The DEM's probability of each site, ``float64 (num_sites,)``.
        self.site_prior = np.clip([_parity_probability(p) for p in per_site],
                                  PRIOR_FLOOR, PRIOR_CEILING)
        #: The mechanisms outside every site, merged per symptom (they keep their prior).
        self.other_prior = np.clip([_parity_probability(p) for p in others.values()],
                                   PRIOR_FLOOR, PRIOR_CEILING)
        rows = sites.site_detectors.tolil().rows
        self._tails = ([_tail(rows[i], int(sites.site_observables[i]))
                        for i in range(sites.num_sites)] + [_tail(*k) for k in others])
        self.num_sites = sites.num_sites
        self.num_detectors = dem.num_detectors
        self.num_observables = dem.num_observables
        settings = BEAMS[beam]
        site_dem = self.site_dem(self.site_prior)
        # Breadth-first detector orders from the DEM itself (it has the coordinates), seeded:
        # the same circuit always gets the same decoder.
        orders = tutils.build_det_orders(dem, num_det_orders=settings["orders"],
                                         method=tutils.DetOrder.DetBFS, seed=0)
        self._config = tesseract.TesseractConfig(
            site_dem, det_beam=settings["det_beam"], beam_climbing=True,
            pqlimit=settings["pqlimit"], det_orders=orders)
        self._decoder = self._config.compile_decoder()
        #: Shots decoded with per-shot priors / in all.
        self.shots_with_priors = 0
        self.shots = 0

    def site_dem(self, site_p: np.ndarray) -> stim.DetectorErrorModel:
        """The site DEM with site probabilities ``site_p`` (``(num_sites,)``)."""
        p = np.concatenate([np.asarray(site_p, dtype=np.float64), self.other_prior])
        lines = [f"error({x:.17g}) {tail}" for x, tail in zip(p, self._tails)]
        if self.num_detectors:  # keep every detector, even one no error flips
            lines.append(f"detector D{self.num_detectors - 1}")
        return stim.DetectorErrorModel("\n".join(lines))

    def compile_for(self, site_p: np.ndarray):
        """A Tesseract decoder for the site DEM with site probabilities ``site_p``.

        Compiled afresh (~10 ms at d = 5): replacing a compiled decoder's error list is not the
        same, since Tesseract keeps search state derived from the costs it was built with.
        """
        import tesseract_decoder.tesseract as tesseract

        config = tesseract.TesseractConfig(
            self.site_dem(site_p), det_beam=self._config.det_beam, beam_climbing=True,
            pqlimit=self._config.pqlimit, det_orders=self._config.det_orders)
        return config.compile_decoder()

    def decode(self, events: np.ndarray, site_p: np.ndarray | None = None) -> np.ndarray:
        """Observable flips ``bool (shots, num_observables)`` for ``bool (shots, detectors)``.

        ``site_p``: ``(shots, num_sites)`` per-shot site probabilities (from
        :func:`blend_priors`), or ``None`` for the DEM's own.
        """
        events = np.asarray(events, dtype=bool)
        out = np.zeros((len(events), self.num_observables), dtype=bool)
        if site_p is None:
            if len(events):
                out[:] = self._decoder.decode_batch(events)
        else:
            site_p = np.asarray(site_p, dtype=np.float64)
            if site_p.shape != (len(events), self.num_sites):
                raise DecoderError(f"site priors must have shape ({len(events)}, "
                                   f"{self.num_sites}), got {site_p.shape}")
            for i, shot in enumerate(events):
                out[i] = self.compile_for(site_p[i]).decode(shot)
            self.shots_with_priors += len(events)
        self.shots += len(events)
        return out
