"""The structure of a detector error model: its mechanisms, their edges and symptom classes.

The estimators learn *probabilities*; the structure (which detectors and observables each
mechanism flips, how a hyperedge is decomposed into matching-graph edges) comes from the nominal
model. :class:`DemStructure` reads it once from a (decomposed) ``stim.DetectorErrorModel``:

* a *mechanism* is one ``error`` instruction of the flattened model, in order;
* its *components* are the parts between ``^`` separators (the edges and boundary edges a
  matcher sees); its *symptom* is the XOR of its components' detectors (what it really flips);
* a *symptom class* groups mechanisms with the same symptom: detection events alone cannot tell
  them apart, so an estimator learns the class and shares it in the nominal proportions;
* an *edge* is a component's detector pair, or a single detector (a boundary edge).

>>> import stim
>>> s = DemStructure(stim.DetectorErrorModel('''
...     error(0.1) D0 D1
...     error(0.2) D1 ^ D2 L0
...     error(0.05) D2
... '''))
>>> s.num_mechanisms, s.edges, [sorted(c) for c in s.classes]
(3, [(0, 1), (1,), (2,)], [[0, 1], [1, 2], [2]])
>>> s.probabilities_of(s.to_dem([0.1, 0.3, 0.01])).tolist()
[0.1, 0.3, 0.01]
"""

from __future__ import annotations

import hashlib
from functools import cached_property

import numpy as np
import stim

from qplane.errors import QplaneError


def q_of_p(p: np.ndarray) -> np.ndarray:
    """``−log(1 − 2p)``: the additive form of a probability under XOR (``p < 1/2``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.log1p(-2.0 * np.asarray(p, dtype=np.float64))


def p_of_q(q: np.ndarray) -> np.ndarray:
    """The inverse of :func:`q_of_p`: ``(1 − e^(−q)) / 2``."""
    return -0.5 * np.expm1(-np.asarray(q, dtype=np.float64))


def dem_hash(dem: stim.DetectorErrorModel | str) -> str:
    """A short SHA-256 of a detector error model's text (16 hex digits).

    >>> len(dem_hash("error(0.1) D0"))
    16
    """
    return hashlib.sha256(str(dem).encode()).hexdigest()[:16]


class DemStructure:
    """The mechanisms of a nominal detector error model, flattened, with their probabilities.

    Args:
        dem: the nominal model; use ``decompose_errors=True`` so that correlated matching can
            keep the hyperedges (an undecomposed model works too: its hyperedges are then
            components of their own, which the pairwise estimator leaves nominal).
    """

    def __init__(self, dem: stim.DetectorErrorModel):
        if not isinstance(dem, stim.DetectorErrorModel):
            raise QplaneError(f"expected a stim.DetectorErrorModel, got {type(dem).__name__}")
        flat = dem.flattened()
        self.num_detectors = flat.num_detectors
        self.num_observables = flat.num_observables
        self._instructions: list[stim.DemInstruction] = list(flat)
        self._error_at: list[int] = []
        nominal: list[float] = []
        components: list[list[tuple[tuple[int, ...], tuple[int, ...]]]] = []
        for k, ins in enumerate(self._instructions):
            if ins.type != "error":
                continue
            self._error_at.append(k)
            nominal.append(float(ins.args_copy()[0]))
            parts: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
            dets: list[int] = []
            obs: list[int] = []
            for t in ins.targets_copy():
                if t.is_separator():
                    parts.append((tuple(sorted(dets)), tuple(sorted(obs))))
                    dets, obs = [], []
                elif t.is_relative_detector_id():
                    dets.append(t.val)
                elif t.is_logical_observable_id():
                    obs.append(t.val)
            parts.append((tuple(sorted(dets)), tuple(sorted(obs))))
            components.append(parts)
        self.nominal = np.array(nominal, dtype=np.float64)
        self.components = components
        self.hash = dem_hash(flat)
        self._index()

    def _index(self) -> None:
        symptoms: list[frozenset[int]] = []
        for parts in self.components:
            s: set[int] = set()
            for dets, _ in parts:
                s ^= set(dets)
            symptoms.append(frozenset(s))
        class_of: dict[frozenset[int], int] = {}
        self.mechanism_class = np.full(self.num_mechanisms, -1, dtype=np.int64)
        for m, s in enumerate(symptoms):
            if s:
                self.mechanism_class[m] = class_of.setdefault(s, len(class_of))
        self.classes: list[frozenset[int]] = list(class_of)
        edge_of: dict[tuple[int, ...], int] = {}
        rows, cols = [], []
        for m, parts in enumerate(self.components):
            for dets, _ in parts:
                if 1 <= len(dets) <= 2:
                    rows.append(edge_of.setdefault(dets, len(edge_of)))
                    cols.append(m)
        self.edges: list[tuple[int, ...]] = list(edge_of)
        #: (edges, mechanisms) incidence: 1 where the mechanism has the edge as a component
        import scipy.sparse as sp

        self.edge_incidence = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(self.edges), self.num_mechanisms))

    @property
    def num_mechanisms(self) -> int:
        return len(self._error_at)

    @cached_property
    def unobservable(self) -> np.ndarray:
        """Mechanisms that flip no detector (the syndromes cannot see them)."""
        return self.mechanism_class < 0

    def to_dem(self, probabilities: np.ndarray) -> stim.DetectorErrorModel:
        """The nominal model with every mechanism's probability replaced, in order."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if probabilities.shape != (self.num_mechanisms,):
            raise QplaneError(f"need {self.num_mechanisms} probabilities, one per mechanism, "
                              f"got shape {probabilities.shape}")
        out = stim.DetectorErrorModel()
        it = iter(probabilities)
        for ins in self._instructions:
            if ins.type == "error":
                out.append(stim.DemInstruction("error", [float(next(it))], ins.targets_copy()))
            else:
                out.append(ins)
        return out

    def probabilities_of(self, dem: stim.DetectorErrorModel) -> np.ndarray:
        """The per-mechanism probabilities of ``dem``, which must have this structure."""
        flat = [ins for ins in dem.flattened() if ins.type == "error"]
        mine = [self._instructions[k] for k in self._error_at]
        if len(flat) != len(mine) or any(a.targets_copy() != b.targets_copy()
                                         for a, b in zip(flat, mine)):
            raise QplaneError("the detector error model does not have the nominal model's "
                              "structure (its mechanisms differ); learn it against the same "
                              "circuit, or give the nominal model it was learned from")
        return np.array([float(ins.args_copy()[0]) for ins in flat])

    def edge_totals(self, probabilities: np.ndarray) -> np.ndarray:
        """Each edge's total probability: the XOR of the mechanisms that have it as a component."""
        return p_of_q(self.edge_incidence @ q_of_p(probabilities))
