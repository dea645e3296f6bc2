"""The live estimator: a sliding window over the syndromes a decoding worker decodes.

:class:`LiveNoiseLearner` keeps, per block, only the odd-parity counts of the moments its
estimator needs (a few thousand integers at d = 5), never the shots; the window is the newest
blocks holding ``window_shots`` shots. Every ``refresh_shots`` shots, once the window holds
``min_shots``, :meth:`~LiveNoiseLearner.refresh` estimates a new :class:`LearnedNoise` from
the window's counts (the blocks grouped into ``groups`` contiguous groups for the jackknife);
the worker swaps to it between two blocks. :meth:`~LiveNoiseLearner.restart` empties the window
(the device changed: a calibration update).

>>> from qplane.codes import memory_circuit
>>> dem = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004).detector_error_model(
...     decompose_errors=True)
>>> live = LiveNoiseLearner(dem, estimator="full", window_shots=4000, refresh_shots=2000,
...                         min_shots=2000)
>>> sampler = dem.compile_sampler(seed=1)
>>> for _ in range(3):
...     live.observe(sampler.sample(1000, bit_packed=True)[0])
>>> live.due(), live.window_shots_now
(True, 3000)
>>> m = live.refresh()
>>> m.version, m.window, live.due()
(1, (0, 3000), False)
"""

from __future__ import annotations

import collections
from typing import Literal

import numpy as np
import stim

from qplane.errors import QplaneError
from qplane.noise.estimators import ESTIMATORS, as_packed, estimate_from_counts, moment_sets
from qplane.noise.model import LearnedNoise
from qplane.noise.moments import detector_rows, odd_counts
from qplane.noise.structure import DemStructure


def estimator_for(estimator: str, *, correlated: bool) -> Literal["pairwise", "full"]:
    """Resolve ``"auto"``: the pairwise estimator, for either matcher.

    ``qplane bench device_noise`` measured it best for uncorrelated *and* correlated matching:
    its effective weights beat even the true DEM's, while the full estimator (shrunk towards
    the pairwise solution) decodes like the true DEM — it converges to the device's real
    per-mechanism probabilities, the tool for studying the device. ``correlated`` is kept so the
    choice can depend on the matcher again.

    >>> estimator_for("auto", correlated=True), estimator_for("full", correlated=True)
    ('pairwise', 'full')
    """
    if estimator == "auto":
        return "pairwise"
    if estimator not in ESTIMATORS:
        raise QplaneError(f"unknown estimator {estimator!r}; use auto, pairwise or full")
    return estimator  # type: ignore[return-value]


class LiveNoiseLearner:
    """A sliding-window noise estimator fed block by block.

    Args:
        dem: the nominal (decomposed) model of the circuit being decoded, or its structure.
        estimator: ``"pairwise"`` or ``"full"``.
        window_shots: shots the window holds (the newest blocks; a block is dropped once the
            blocks after it hold the whole window).
        refresh_shots: shots between two estimates.
        min_shots: fewest shots in the window for an estimate.
        groups: jackknife groups.
        source: recorded in each model (e.g. the worker's name).
    """

    def __init__(self, dem: stim.DetectorErrorModel | DemStructure, *, estimator: str = "full",
                 window_shots: int = 100_000, refresh_shots: int = 50_000,
                 min_shots: int = 30_000, groups: int = 10, source: str = ""):
        self.structure = dem if isinstance(dem, DemStructure) else DemStructure(dem)
        self.estimator = estimator_for(estimator, correlated=True)
        if min(window_shots, refresh_shots, min_shots) < 1 or groups < 2:
            raise QplaneError("window_shots, refresh_shots and min_shots must be positive and "
                              "groups at least 2")
        self.window_shots, self.refresh_shots = int(window_shots), int(refresh_shots)
        self.min_shots, self.groups, self.source = int(min_shots), int(groups), source
        self._sets = moment_sets(self.structure, self.estimator)
        self._blocks: collections.deque[tuple[int, int, np.ndarray]] = collections.deque()
        self.shots_seen = 0        # every shot observed (the window's coordinates)
        self.window_shots_now = 0
        self._since = 0
        self.version = 0
        self.restarts = 0

    def observe(self, detection_events: np.ndarray) -> None:
        """Add one block (bit-packed b8 rows or booleans) to the window."""
        packed = as_packed(detection_events, self.structure.num_detectors)
        n = packed.shape[0]
        if n == 0:
            return
        rows = detector_rows(packed, num_detectors=self.structure.num_detectors)
        counts = odd_counts(rows, self._sets, groups=1)[:, 0]
        self._blocks.append((self.shots_seen, n, counts))
        self.shots_seen += n
        self.window_shots_now += n
        self._since += n
        while self._blocks and self.window_shots_now - self._blocks[0][1] >= self.window_shots:
            self.window_shots_now -= self._blocks.popleft()[1]

    def due(self) -> bool:
        """Whether the window is full enough and a refresh period has passed."""
        if self.window_shots_now < self.min_shots:
            return False
        return self.version == 0 or self._since >= self.refresh_shots

    def refresh(self, *, time: float | None = None) -> LearnedNoise:
        """Estimate a new model from the window (version + 1)."""
        if not self._blocks:
            raise QplaneError("the window is empty: observe blocks before refreshing")
        sizes = np.array([b[1] for b in self._blocks])
        ends = np.cumsum(sizes)
        groups = min(self.groups, len(sizes))
        cut = np.searchsorted(ends, ends[-1] * np.arange(1, groups) / groups, side="left") + 1
        bounds = np.unique(np.concatenate([[0], np.clip(cut, 1, len(sizes)), [len(sizes)]]))
        stack = np.stack([b[2] for b in self._blocks], axis=1)
        counts = np.add.reduceat(stack, bounds[:-1], axis=1)
        n = np.add.reduceat(sizes, bounds[:-1])
        self.version += 1
        self._since = 0
        window = (self._blocks[0][0], self._blocks[-1][0] + self._blocks[-1][1])
        return estimate_from_counts(self.structure, counts, n, estimator=self.estimator,
                                    window=window, source=self.source, version=self.version,
                                    time=time)

    def restart(self) -> None:
        """Empty the window: what was learned before no longer describes the device."""
        self._blocks.clear()
        self.window_shots_now = 0
        self._since = 0
        self.restarts += 1

    def nominal(self) -> LearnedNoise:
        """The nominal model (version 0), what decoding starts from."""
        return LearnedNoise.nominal_model(self.structure.to_dem(self.structure.nominal),
                                          source=self.source)
