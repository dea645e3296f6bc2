"""The live estimator: a sliding window over the syndromes a decoding worker decodes.

:class:`LiveNoiseLearner` keeps, per block, only the odd-parity counts of the moments its
estimator needs (a few thousand integers at d = 5), never the shots; the window is the newest
blocks holding ``window_shots`` shots. Every ``refresh_shots`` shots, once the window holds
``min_shots``, :meth:`~LiveNoiseLearner.refresh` estimates a new :class:`LearnedNoise` from
the window's counts (the blocks grouped into ``groups`` contiguous groups for the jackknife);
the worker swaps to it between two blocks. :meth:`~LiveNoiseLearner.restart` empties the window
(the device changed), or, given the detectors a change touches
(:func:`qplane.noise.qubits.detectors_touched`), restarts it *for the mechanisms that flip one
of them only*: those are learned from the shots after the change alone (until that sub-window
holds ``min_shots`` they keep the value of the model in use), every other mechanism from the
whole window, and a refresh is due once the sub-window is full and a fifth of the refresh
period has passed; at most :data:`MAX_SUBWINDOWS` sub-windows are estimated per refresh.

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
import dataclasses
from typing import Literal

import numpy as np
import stim

from qplane.errors import QplaneError
from qplane.noise.estimators import ESTIMATORS, as_packed, estimate_from_counts, moment_sets
from qplane.noise.model import LearnedNoise, guard_nominal
from qplane.noise.moments import detector_rows, odd_counts
from qplane.noise.structure import DemStructure


#: At most this many restarted sub-windows are estimated per refresh (each costs an estimate).
MAX_SUBWINDOWS = 3


def estimator_for(estimator: str, *, correlated: bool) -> Literal["pairwise", "full", "hybrid"]:
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
        raise QplaneError(f"unknown estimator {estimator!r}; use auto, pairwise, full or "
                          "hybrid")
    return estimator  # type: ignore[return-value]


class LiveNoiseLearner:
    """A sliding-window noise estimator fed block by block.

    Args:
        dem: the nominal (decomposed) model of the circuit being decoded, or its structure.
        estimator: ``"pairwise"``, ``"full"`` or ``"hybrid"``.
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
        # per-detector restarts: the shot from which each detector's moments count
        self._detector_from = np.zeros(self.structure.num_detectors, np.int64)
        self._pending: set[int] = set()   # restart points whose sub-window is not learned yet
        self._mechanism_detectors = _mechanism_detectors(self.structure)
        self._in_use = guard_nominal(self.structure.nominal)  # the model decoding now

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
        if (self._since >= self.refresh_shots // 5
                and any(self.shots_seen - e >= self.min_shots for e in self._pending)):
            return True  # a restarted part of the window is full: learn it soon
        return self.version == 0 or self._since >= self.refresh_shots

    def refresh(self, *, time: float | None = None) -> LearnedNoise:
        """Estimate a new model from the window (version + 1).

        Mechanisms restarted by a per-detector :meth:`restart` inside the window are learned
        from the blocks after their restart only (or keep the model in use, :meth:`in_use`,
        while those hold fewer than ``min_shots``); ``reasons`` counts them as
        ``window_restarted`` and ``restart_pending``.
        """
        if not self._blocks:
            raise QplaneError("the window is empty: observe blocks before refreshing")
        self.version += 1
        self._since = 0
        blocks = list(self._blocks)
        model = self._estimate(blocks, time=time)
        first = blocks[0][0]
        epoch = self._mechanism_epochs()
        ready = self.shots_seen - self.min_shots  # restarts after this have too few shots
        restarted = np.unique(epoch[(epoch > first) & (epoch <= ready)])
        if len(restarted) > MAX_SUBWINDOWS:
            # bound the work: each mechanism learns from the shots after the nearest of a few
            # cut points at or after its restart (fewer shots, all after its change)
            cuts = restarted[np.linspace(0, len(restarted) - 1, MAX_SUBWINDOWS).round()
                             .astype(np.intp)]
            sel = (epoch > first) & (epoch <= ready)
            epoch[sel] = cuts[np.searchsorted(cuts, epoch[sel], side="left")]
            restarted = cuts
        young = np.unique(epoch[epoch > ready])
        restarted = np.concatenate([restarted, young[:1]]) if len(young) else restarted
        epoch[epoch > ready] = young[0] if len(young) else 0  # all kept at the model in use
        self._pending = {e for e in self._pending if e > first}
        if len(restarted) and model.estimator != "nominal":
            p, lo, hi = model.probabilities.copy(), model.lower.copy(), model.upper.copy()
            learned = pending = 0
            for e in restarted:
                mask = epoch == e
                part = [b for b in blocks if b[0] >= e]
                sub = (self._estimate(part, time=time)
                       if sum(b[1] for b in part) >= self.min_shots else None)
                if sub is None or sub.estimator == "nominal":
                    p[mask] = lo[mask] = hi[mask] = self._in_use[mask]
                    pending += int(mask.sum())
                else:
                    p[mask], lo[mask], hi[mask] = (sub.probabilities[mask], sub.lower[mask],
                                                   sub.upper[mask])
                    learned += int(mask.sum())
                    self._pending.discard(int(e))
            reasons = dict(model.reasons, window_restarted=learned, restart_pending=pending)
            model = dataclasses.replace(model, probabilities=p, lower=lo, upper=hi,
                                        reasons={k: v for k, v in reasons.items() if v})
        if model.estimator != "nominal":
            self._in_use = model.probabilities
        return model

    def _estimate(self, blocks: list[tuple[int, int, np.ndarray]], *,
                  time: float | None) -> LearnedNoise:
        """The estimate from ``blocks`` (their counts grouped for the jackknife)."""
        sizes = np.array([b[1] for b in blocks])
        ends = np.cumsum(sizes)
        groups = min(self.groups, len(sizes))
        cut = np.searchsorted(ends, ends[-1] * np.arange(1, groups) / groups, side="left") + 1
        bounds = np.unique(np.concatenate([[0], np.clip(cut, 1, len(sizes)), [len(sizes)]]))
        stack = np.stack([b[2] for b in blocks], axis=1)
        counts = np.add.reduceat(stack, bounds[:-1], axis=1)
        n = np.add.reduceat(sizes, bounds[:-1])
        window = (blocks[0][0], blocks[-1][0] + blocks[-1][1])
        return estimate_from_counts(self.structure, counts, n, estimator=self.estimator,
                                    window=window, source=self.source, version=self.version,
                                    time=time)

    def _mechanism_epochs(self) -> np.ndarray:
        """Per mechanism, the latest restart of any detector it flips (0: none)."""
        ptr, idx = self._mechanism_detectors
        out = np.zeros(len(ptr) - 1, np.int64)
        values = self._detector_from[idx]
        nonempty = np.flatnonzero(np.diff(ptr) > 0)
        if len(nonempty):
            out[nonempty] = np.maximum.reduceat(values, ptr[nonempty])
        return out

    def restart(self, detectors: np.ndarray | list[int] | None = None, *,
                at: int | None = None) -> None:
        """The device changed: what was learned before no longer describes it.

        Args:
            detectors: the detectors the change touches (e.g. the qubits a calibration update
                set, :func:`qplane.noise.qubits.detectors_touched`): only the mechanisms that
                flip one of them start over. ``None``: the whole window starts over.
            at: the shot (in :attr:`shots_seen` coordinates, a block boundary) where the
                change happened, if the learner has observed blocks since (the worker learns
                which qubits changed only when the server answers); default: now.
        """
        self.restarts += 1
        at = self.shots_seen if at is None else min(int(at), self.shots_seen)
        if detectors is None:
            while self._blocks and self._blocks[0][0] < at:
                self.window_shots_now -= self._blocks.popleft()[1]
            self._since = min(self._since, self.window_shots_now)
            self._detector_from[:] = np.maximum(self._detector_from, at)
            self._pending = {e for e in self._pending if e > at}
            return
        d = np.asarray(detectors, dtype=np.int64)
        if d.size and (d.min() < 0 or d.max() >= self.structure.num_detectors):
            raise QplaneError(f"detectors must lie in [0, {self.structure.num_detectors}), got "
                              f"{d.min()}..{d.max()}")
        if d.size:
            self._detector_from[d] = np.maximum(self._detector_from[d], at)
            self._pending.add(at)

    def in_use(self) -> np.ndarray:
        """The per-mechanism probabilities of the model decoding now (the latest learned)."""
        return self._in_use.copy()

    def nominal(self) -> LearnedNoise:
        """The nominal model (version 0), what decoding starts from."""
        return LearnedNoise.nominal_model(self.structure.to_dem(self.structure.nominal),
                                          source=self.source)


def _mechanism_detectors(s: DemStructure) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices)`` of every detector each mechanism's components flip."""
    ptr, idx = [0], []
    for parts in s.components:
        dets = sorted({d for dets, _ in parts for d in dets})
        idx.extend(dets)
        ptr.append(len(idx))
    return np.array(ptr, np.int64), np.array(idx, np.int64)
