"""Syndromes point calibration at the drifting qubit: per-neighbourhood detection-rate triggers.

Each detector of the surface-code memory belongs to one ancilla (stim puts a detector at its
ancilla's coordinates), and each ancilla's *region* is the ancilla and the data qubits it
touches. A miscalibrated qubit raises the detection rate of the regions it belongs to: a detuned
data qubit dephases, flipping the X-type checks around it; a mis-set π amplitude or readout on
an ancilla flips its own detectors.

:class:`SyndromeMonitor` keeps, per region, a *baseline* detection rate (learnt from the first
blocks after calibration, or set) and a *current* rate over a sliding window of recent shots.
A region *fires* when its current rate exceeds the baseline by both a relative margin and a
number of standard errors (binomial, over the window's detector-shots). Fired regions vote for
their qubits, weighted by excess, and :meth:`SyndromeMonitor.suspects` ranks the qubits so the
calibration worker checks the most likely culprits first. A region that fired is muted until
its window has refilled, so one drift causes one trigger, not one per block.

>>> import stim
>>> from qplane.codes import patch_layout
>>> circuit = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3)
>>> regions = Regions.from_circuit(circuit, patch_layout(distance=3))
>>> len(regions.names), sorted(regions.qubits[regions.names[0]])[:1]
(8, ['q0'])
"""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np
import stim

from qplane.codes import PatchLayout
from qplane.errors import QplaneError


@dataclasses.dataclass(frozen=True)
class Regions:
    """Detector → region (ancilla) mapping and each region's qubits.

    Attributes:
        names: region names (their ancilla's qubit name), in a fixed order.
        detector_region: int array ``(num_detectors,)``: the region index of each detector.
        qubits: region name -> the qubit names in it (the ancilla and its data neighbours).
    """

    names: tuple[str, ...]
    detector_region: np.ndarray
    qubits: dict[str, tuple[str, ...]]

    @classmethod
    def from_circuit(cls, circuit: stim.Circuit, layout: PatchLayout) -> "Regions":
        """Build from a circuit with stim's detector coordinates and the patch layout."""
        by_xy = {tuple(map(float, c)): i for i, c in enumerate(layout.coords)}
        ancillas = [i for i, r in enumerate(layout.roles) if r != "data"]
        names = tuple(layout.names[i] for i in ancillas)
        index = {layout.names[i]: k for k, i in enumerate(ancillas)}
        coords = circuit.get_detector_coordinates()
        det_region = np.empty(circuit.num_detectors, dtype=np.int64)
        for d in range(circuit.num_detectors):
            xy = tuple(map(float, coords[d][:2]))
            q = by_xy.get(xy)
            if q is None or layout.roles[q] == "data":
                raise QplaneError(f"detector {d} at {xy} sits on no ancilla of the layout")
            det_region[d] = index[layout.names[q]]
        qubits = {}
        for i in ancillas:
            ax, ay = layout.coords[i]
            near = [layout.names[j] for j, (x, y) in enumerate(layout.coords)
                    if layout.roles[j] == "data" and abs(x - ax) == 1 and abs(y - ay) == 1]
            qubits[layout.names[i]] = (layout.names[i], *near)
        return cls(names, det_region, qubits)


@dataclasses.dataclass(frozen=True)
class Trigger:
    """A region whose detection rate rose beyond its baseline."""

    region: str
    qubits: tuple[str, ...]
    rate: float
    baseline: float
    sigma: float   # how many standard errors above the baseline


class SyndromeMonitor:
    """Per-region detection rates against their baselines (see the module docstring).

    Args:
        regions: the detector → region map.
        window: how many shots the current rate is taken over.
        baseline_shots: shots used to learn the baseline when none is set.
        relative: a region fires only above ``baseline·(1 + relative)`` ...
        sigma: ... and more than ``sigma`` standard errors above the baseline.
    """

    def __init__(self, regions: Regions, *, window: int = 8192, baseline_shots: int = 16384,
                 relative: float = 0.3, sigma: float = 5.0):
        self.regions = regions
        self.window = int(window)
        self.baseline_shots = int(baseline_shots)
        self.relative = float(relative)
        self.sigma = float(sigma)
        n = len(regions.names)
        self._per_region = np.bincount(regions.detector_region, minlength=n).astype(float)
        self._blocks: deque[tuple[int, np.ndarray]] = deque()
        self._base_sum = np.zeros(n)
        self._base_shots = 0
        self.baseline: np.ndarray | None = None
        self._muted_until = np.zeros(n, dtype=np.int64)
        self._shots_seen = 0

    def set_baseline(self, rates: np.ndarray) -> None:
        """Fix the per-region baseline detection rates (fraction of detector-shots)."""
        self.baseline = np.asarray(rates, dtype=float).copy()

    def update(self, detection_events: np.ndarray, *, bit_packed: bool = True) -> list[Trigger]:
        """Add one block; return the regions that fire now.

        Args:
            detection_events: ``(shots, ceil(D/8))`` uint8 stim b8 (or ``(shots, D)`` bools
                with ``bit_packed=False``).
        """
        d = len(self.regions.detector_region)
        ev = np.asarray(detection_events)
        if bit_packed:
            ev = np.unpackbits(ev, axis=1, bitorder="little")[:, :d]
        if ev.shape[1] != d:
            raise QplaneError(f"block has {ev.shape[1]} detectors, the regions map {d}")
        counts = np.bincount(self.regions.detector_region, weights=ev.sum(axis=0),
                             minlength=len(self.regions.names))
        return self.update_counts(counts, len(ev))

    def update_detector_counts(self, counts: np.ndarray, shots: int) -> list[Trigger]:
        """Add detection counts per *detector* over ``shots`` shots (the instrument server's
        ``detection_counts`` record)."""
        counts = np.asarray(counts, dtype=float)
        if counts.shape != self.regions.detector_region.shape:
            raise QplaneError(f"expected {len(self.regions.detector_region)} detector counts, "
                              f"got {counts.shape}")
        return self.update_counts(np.bincount(self.regions.detector_region, weights=counts,
                                              minlength=len(self.regions.names)), shots)

    def update_counts(self, counts: np.ndarray, shots: int) -> list[Trigger]:
        """Add one block given as per-region detection counts over ``shots`` shots.

        This is what the decoding side reports (:func:`region_counts`): a few numbers per
        block instead of the detection events.
        """
        counts = np.asarray(counts, dtype=float)
        if counts.shape != (len(self.regions.names),):
            raise QplaneError(f"expected {len(self.regions.names)} region counts, got "
                              f"{counts.shape}")
        self._shots_seen += shots
        if self.baseline is None:
            self._base_sum += counts
            self._base_shots += shots
            if self._base_shots >= self.baseline_shots:
                self.baseline = self._base_sum / (self._base_shots * self._per_region)
            return []
        self._blocks.append((shots, counts))
        while sum(s for s, _ in self._blocks) - self._blocks[0][0] >= self.window:
            self._blocks.popleft()
        fired = self._fired()
        if sum(s for s, _ in self._blocks) >= self.window:
            # The baseline follows the device down (a recovered TLS, a fixed drift) at once,
            # and up only through accept() after a check found nothing to fix.
            self.baseline = np.minimum(self.baseline, np.where(np.isfinite(self.rates()),
                                                               self.rates(), np.inf))
        return fired

    def rates(self) -> np.ndarray:
        """Current per-region detection rates over the window."""
        shots = sum(s for s, _ in self._blocks)
        if shots == 0:
            return np.full(len(self.regions.names), np.nan)
        total = np.sum([c for _, c in self._blocks], axis=0)
        return total / (shots * self._per_region)

    def _fired(self) -> list[Trigger]:
        shots = sum(s for s, _ in self._blocks)
        if shots < self.window or self.baseline is None:
            return []
        rate = self.rates()
        base = np.maximum(self.baseline, 1e-6)
        se = np.sqrt(base * (1 - base) / (shots * self._per_region))
        z = (rate - base) / se
        hot = (rate > base * (1 + self.relative)) & (z > self.sigma)
        hot &= self._muted_until <= self._shots_seen
        out = []
        for k in np.flatnonzero(hot):
            name = self.regions.names[k]
            out.append(Trigger(name, self.regions.qubits[name], float(rate[k]),
                               float(base[k]), float(z[k])))
            self._muted_until[k] = self._shots_seen + self.window
        return out

    def accept(self, region_names: list[str] | tuple[str, ...]) -> None:
        """Take the current rates of these regions as their new baseline.

        For a rise that calibration checked and could not attribute to a setting (a T1 drop,
        say): without it the region would fire again at every window.
        """
        rate = self.rates()
        if self.baseline is None:
            return
        for r in region_names:
            k = self.regions.names.index(r)
            if np.isfinite(rate[k]):
                self.baseline[k] = max(self.baseline[k], rate[k])

    def clear(self, region_names: list[str] | tuple[str, ...] | None = None) -> None:
        """Forget the window (after a recalibration): rates must re-accumulate to fire again."""
        self._blocks.clear()
        if region_names is None:
            self._muted_until[:] = self._shots_seen + self.window
        else:
            for r in region_names:
                self._muted_until[self.regions.names.index(r)] = self._shots_seen + self.window

    @staticmethod
    def suspects(triggers: list[Trigger]) -> list[str]:
        """Qubits of the fired regions, most likely culprit first.

        Each region votes for its qubits with its excess rate; a data qubit between several hot
        regions collects several votes. An ancilla's vote in its own region counts 1.5 times
        (the region's detectors are its own measurements).
        """
        score: dict[str, float] = {}
        for t in triggers:
            excess = t.rate - t.baseline
            for q in t.qubits:
                w = 1.5 if q == t.region else 1.0
                score[q] = score.get(q, 0.0) + w * excess
        return sorted(score, key=lambda q: -score[q])


def region_counts(regions: Regions, detection_events: np.ndarray) -> np.ndarray:
    """Per-region detection counts of one block of bit-packed detection events.

    What a decoding worker reports to calibration with each block (see
    :meth:`SyndromeMonitor.update_counts`).
    """
    d = len(regions.detector_region)
    ev = np.unpackbits(np.asarray(detection_events), axis=1, bitorder="little")[:, :d]
    return np.bincount(regions.detector_region, weights=ev.sum(axis=0),
                       minlength=len(regions.names))
