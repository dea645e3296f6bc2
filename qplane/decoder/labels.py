"""Exact local labels from the detector error model.

Every error mechanism of a DEM flips a set of detectors and a set of observables. Its *class* is
its detector pattern relative to an anchor (the first of its detectors in ``(t, row, col)``
order) plus its observable mask; its *slot* is the anchor's. A network predicts, per class and
slot, whether an odd number of such mechanisms fired. Mechanisms of one class at one slot flip
exactly the same detectors and observables, so the parity label is exact: applying the true
labels of a shot clears every detection event and reproduces the observable flip
(``tests/decoder/test_labels.py`` proves it on sampled shots).

A (class, slot) pair that some mechanism of the DEM has is a *site*: the labels, the network's
predictions used for decoding and the corrections all live on sites.

>>> from qplane.codes import memory_circuit
>>> from qplane.decoder.volume import SyndromeGeometry
>>> dem = memory_circuit(distance=3, rounds=3, basis="Z", p=0.003).detector_error_model(
...     decompose_errors=True)
>>> geometry = SyndromeGeometry.from_dem(dem)
>>> classes = mechanism_classes(dem, geometry)
>>> sites = SiteMap.from_dem(dem, geometry, classes)
>>> sites.unlabelled_mechanisms
0
>>> dets, obs, errors = dem.compile_sampler(seed=3).sample(50, return_errors=True)
>>> residual, flips = sites.apply(dets, sites.labels(errors))
>>> bool(residual.any()), bool((flips == obs[:, 0]).all())
(False, True)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse
import stim

from qplane.decoder.volume import SyndromeGeometry, _mechanisms

#: A class: ``(pattern, observable_mask)``; pattern is a sorted tuple of ``(dt, drow, dcol)``.
ClassKey = tuple[tuple[tuple[int, int, int], ...], int]


def _anchor_and_key(dets: list[int], obs: int, geometry: SyndromeGeometry) -> tuple[int, ClassKey]:
    _, rows, cols = geometry.shape
    slots = sorted(int(geometry.slot_of_detector[d]) for d in dets)
    tri = [(s // (rows * cols), (s // cols) % rows, s % cols) for s in slots]
    a = tri[0]
    pattern = tuple((p[0] - a[0], p[1] - a[1], p[2] - a[2]) for p in tri)
    return slots[0], (pattern, obs)


def class_sort_key(key: ClassKey):
    """A deterministic order of classes: by size, then pattern, then observable mask."""
    return (len(key[0]), key[0], key[1])


def mechanism_classes(dem: stim.DetectorErrorModel, geometry: SyndromeGeometry) -> list[ClassKey]:
    """Every class the DEM's mechanisms fall into, sorted by :func:`class_sort_key`."""
    keys = {_anchor_and_key(dets, obs, geometry)[1] for dets, obs in _mechanisms(dem) if dets}
    return sorted(keys, key=class_sort_key)


def classes_to_json(classes: list[ClassKey]) -> list:
    """Classes as plain lists, for a model card."""
    return [[[list(p) for p in pattern], obs] for pattern, obs in classes]


def classes_from_json(data: list) -> list[ClassKey]:
    """Inverse of :func:`classes_to_json`."""
    return [(tuple(tuple(int(v) for v in p) for p in pattern), int(obs)) for pattern, obs in data]


@dataclasses.dataclass(frozen=True, eq=False)
class SiteMap:
    """The sites of one DEM for a fixed class list, and how labels and corrections map to them.

    Attributes:
        num_classes: length of the class list (the network's output channels).
        site_index: ``int64 (num_sites,)``, flat index ``class * num_slots + slot`` of each site in
            the network's output ``(classes, t, rows, cols)``.
        site_class: ``int64 (num_sites,)``, class of each site.
        site_weight: ``int64 (num_sites,)``, number of detectors each site flips.
        site_detectors: sparse ``(num_sites, num_detectors)`` 0/1 matrix.
        site_observables: ``uint64 (num_sites,)``, observable mask of each site.
        mechanism_site: sparse ``(num_mechanisms, num_sites)`` 0/1 matrix.
        unlabelled_mechanisms: mechanisms whose class is not in the list (or that flip no
            detector); they are left to the matching decoder.
    """

    num_classes: int
    site_index: np.ndarray
    site_class: np.ndarray
    site_weight: np.ndarray
    site_detectors: scipy.sparse.csr_matrix
    site_observables: np.ndarray
    mechanism_site: scipy.sparse.csr_matrix
    unlabelled_mechanisms: int

    @property
    def num_sites(self) -> int:
        return len(self.site_index)

    @classmethod
    def from_dem(cls, dem: stim.DetectorErrorModel, geometry: SyndromeGeometry,
                 classes: list[ClassKey]) -> "SiteMap":
        """Map ``dem``'s mechanisms onto sites of ``classes`` laid out on ``geometry``."""
        index_of_class = {key: i for i, key in enumerate(classes)}
        flat_of_mech = []
        site_info: dict[int, tuple[list[int], int]] = {}
        unlabelled = 0
        for dets, obs in _mechanisms(dem):
            cls_index = -1
            if dets:
                anchor, key = _anchor_and_key(dets, obs, geometry)
                cls_index = index_of_class.get(key, -1)
            if cls_index < 0:
                unlabelled += 1
                flat_of_mech.append(-1)
                continue
            flat = cls_index * geometry.num_slots + anchor
            flat_of_mech.append(flat)
            site_info.setdefault(flat, (dets, obs))
        site_index = np.array(sorted(site_info), dtype=np.int64)
        position = {int(f): i for i, f in enumerate(site_index)}
        mech_rows = [m for m, f in enumerate(flat_of_mech) if f >= 0]
        mech_cols = [position[f] for f in flat_of_mech if f >= 0]
        mechanism_site = scipy.sparse.csr_matrix(
            (np.ones(len(mech_rows), dtype=np.int32), (mech_rows, mech_cols)),
            shape=(len(flat_of_mech), len(site_index)))
        det_rows, det_cols = [], []
        observables = np.zeros(len(site_index), dtype=np.uint64)
        weight = np.zeros(len(site_index), dtype=np.int64)
        for i, flat in enumerate(site_index):
            dets, obs = site_info[int(flat)]
            det_rows += [i] * len(dets)
            det_cols += dets
            observables[i] = obs
            weight[i] = len(dets)
        site_detectors = scipy.sparse.csr_matrix(
            (np.ones(len(det_rows), dtype=np.int32), (det_rows, det_cols)),
            shape=(len(site_index), geometry.num_detectors))
        return cls(num_classes=len(classes), site_index=site_index,
                   site_class=site_index // geometry.num_slots, site_weight=weight,
                   site_detectors=site_detectors, site_observables=observables,
                   mechanism_site=mechanism_site, unlabelled_mechanisms=unlabelled)

    def labels(self, errors: np.ndarray) -> np.ndarray:
        """Per-site parity of fired mechanisms.

        Args:
            errors: ``bool (shots, num_mechanisms)`` from stim's DEM sampler (``return_errors``).

        Returns:
            ``uint8 (shots, num_sites)``.
        """
        counts = scipy.sparse.csr_matrix(errors.astype(np.int32)) @ self.mechanism_site
        return (counts.toarray() & 1).astype(np.uint8)

    def apply(self, events: np.ndarray, fired: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply corrections at the fired sites.

        Args:
            events: ``bool (shots, num_detectors)`` detection events.
            fired: ``bool``/``uint8 (shots, num_sites)``, the sites to correct.

        Returns:
            ``(residual, observable_flips)``: ``bool (shots, num_detectors)`` detection events
            left, and ``uint64 (shots,)`` the observable mask the corrections flip.
        """
        fired = np.asarray(fired, dtype=bool)
        shots, sites = np.nonzero(fired)  # corrections are sparse: never densify as integers
        chosen = scipy.sparse.csr_matrix(
            (np.ones(len(shots), dtype=np.int32), (shots, sites)), shape=fired.shape)
        flips_det = (chosen @ self.site_detectors).toarray()
        residual = np.logical_xor(events, flips_det & 1)
        obs = np.zeros(fired.shape[0], dtype=np.uint64)
        np.bitwise_xor.at(obs, shots, self.site_observables[sites])
        return residual, obs
