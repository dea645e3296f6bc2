"""Estimating every mechanism's probability from detection events: pairwise, full and hybrid.

Both estimators start from parity moments (:mod:`qplane.noise.moments`):
``m_S = E[(−1)^(Σ_{i∈S} x_i)] = Π_{m : |D_m ∩ S| odd} (1 − 2 p_m)``, so with
``q = −log(1 − 2p)``, ``−log m_S = Σ_{m : |D_m ∩ S| odd} q_m`` — linear in the ``q``.

* **pairwise** — the matching graph's view. An edge ``(i, j)`` gets
  ``1 − 2 p_ij = sqrt(m_i m_j / m_ij)`` (the classic ``<x_i x_j>`` estimator written in parity
  moments), a boundary edge ``(i,)`` what is left of ``m_i`` after its learned pair edges. The
  learned edge totals are then fitted back onto the decomposed nominal model (multiplicative,
  iterative proportional fitting in ``q``): every mechanism, hyperedges included, is scaled so
  the edges it decomposes into add up to the learned totals, so correlated matching keeps them.
* **full** — every mechanism. The moments of every non-empty subset of every symptom class are
  counted and the linear system ``A q = −log m`` is solved by weighted least squares (weights the
  inverse variance of each log-moment, a tiny ridge towards nominal for directions the data do
  not fix). Each class's ``q`` is shared among its mechanisms in their nominal proportions.
  By default (``shrink=True``) each class's fit is then shrunk towards its pairwise value by
  its interval (empirical Bayes, :func:`_shrink_to_pairwise`): at tens of thousands of shots
  the plain fit's thousands of hyperedge classes are noisy, and the matcher pays for each.
* **hybrid** — the pairwise estimator's edge totals, split among the mechanisms that share each
  edge by the full estimator: the fit of the edge totals onto the decomposed model starts from
  the full estimate (shrunk as ``shrink`` says) instead of nominal, so each hyperedge gets its
  share of its edges as the device's higher moments measure it, not the nominal proportion.
  Uncorrelated matching sees only the edge totals, so it decodes exactly like pairwise; it is
  for correlated matching, which keeps the hyperedges.

Intervals: the shots are counted in ``groups`` contiguous groups; the estimate is repeated with
each group left out (the counts subtract), and the delete-one-group jackknife gives a standard
error; the interval is ``q ± 1.96 σ`` mapped to ``p`` (lower end at least 0).

Guards: fewer than ``min_shots`` shots → the nominal model, every mechanism counted. An
estimate that is undefined (a moment ≤ 0, a square root of a negative), not finite, ≤ 0,
below the window's resolution (``p · shots < 1``: it would fire less than once), or above
:data:`~qplane.noise.model.P_MAX` → that mechanism (its edge, its class) keeps its nominal
value, counted by reason in :attr:`LearnedNoise.reasons`. Nothing else can reach a matcher:
:class:`LearnedNoise` refuses a probability outside ``[P_MIN, P_MAX]``.

>>> import stim
>>> from qplane.codes import memory_circuit
>>> c = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004)
>>> dem = c.detector_error_model(decompose_errors=True)
>>> dets = dem.compile_sampler(seed=3).sample(20_000, bit_packed=True)[0]
>>> m = learn_noise(dets, dem, estimator="pairwise")
>>> m.estimator, m.shots, bool((m.lower <= m.probabilities).all())
('pairwise', 20000, True)
>>> learn_noise(dets[:10], dem).estimator    # too few shots: the nominal model
'nominal'
"""

from __future__ import annotations

import itertools
import time as _time
from collections import Counter
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import stim

from qplane.errors import QplaneError
from qplane.noise.model import P_MAX, P_MIN, LearnedNoise, guard_nominal, structure_of
from qplane.noise.moments import detector_rows, odd_counts, shots_per_group
from qplane.noise.structure import DemStructure, p_of_q, q_of_p

Estimator = Literal["pairwise", "full", "hybrid"]
ESTIMATORS = ("pairwise", "full", "hybrid")
#: Default fewest shots an estimate is made from (fewer: the nominal model).
MIN_SHOTS = 2_000
_Z95 = 1.959963984540054
_MAX_SUBSET = 4
Prior = Literal["mixture", "normal"]
PRIORS = ("mixture", "normal")


def as_packed(detection_events: np.ndarray, num_detectors: int) -> np.ndarray:
    """Detection events as stim's b8 rows: bit-packed ``uint8`` as is, booleans packed."""
    a = np.asarray(detection_events)
    width = (num_detectors + 7) // 8
    if a.ndim == 2 and a.dtype == np.uint8 and a.shape[1] == width and num_detectors != width:
        return a
    if a.ndim == 2 and a.shape[1] == num_detectors and (a.dtype == np.bool_ or a.dtype == np.uint8):
        return np.packbits(a.astype(bool), axis=1, bitorder="little")
    raise QplaneError(f"detection events must be (shots, {num_detectors}) booleans or "
                      f"(shots, {width}) bit-packed uint8 (stim's b8 layout), got "
                      f"{a.dtype} {a.shape}; is the circuit or DEM the one that was sampled?")


def learn_noise(detection_events: np.ndarray, dem: stim.DetectorErrorModel | DemStructure, *,
                estimator: Estimator = "full", min_shots: int = MIN_SHOTS, groups: int = 10,
                window: tuple[int, int] | None = None, source: str = "",
                version: int = 0, shrink: bool = True,
                prior: Prior = "mixture") -> LearnedNoise:
    """Learn every mechanism's probability of ``dem`` from detection events.

    Args:
        detection_events: ``(shots, detectors)`` booleans, or bit-packed (b8) ``uint8`` rows.
        dem: the nominal model (decomposed, for correlated matching), or its structure.
        estimator: ``"full"`` (every mechanism from its own moments), ``"pairwise"`` (the
            matching graph's edges, fitted back onto the decomposed model) or ``"hybrid"``
            (pairwise edge totals, split among their mechanisms by the full estimate).
        min_shots: fewer shots than this give the nominal model.
        groups: shot groups of the jackknife interval (2 or more).
        window: the shots' ``(first, stop)`` in their source (default ``(0, shots)``).
        source: where the shots came from, recorded in the model.
        version: the model's version number (the live estimator counts).
        shrink: for ``"full"`` and ``"hybrid"``: shrink each symptom class's least-squares
            estimate towards the pairwise solution by its interval (empirical Bayes, see the
            module); ``False`` gives the plain least-squares fit.
        prior: the shrinkage's prior on the classes' departures from the pairwise value:
            ``"mixture"`` (two normal scales, fitted by EM: most classes near the pairwise
            value, a few far) or ``"normal"`` (one scale per symptom size).
    """
    s = dem if isinstance(dem, DemStructure) else DemStructure(dem)
    if estimator not in ESTIMATORS:
        raise QplaneError(f"unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}")
    if prior not in PRIORS:
        raise QplaneError(f"unknown shrinkage prior {prior!r}; use one of {', '.join(PRIORS)}")
    if groups < 2:
        raise QplaneError(f"groups must be 2 or more (the jackknife needs them), got {groups}")
    packed = as_packed(detection_events, s.num_detectors)
    shots = packed.shape[0]
    window = (0, shots) if window is None else (int(window[0]), int(window[1]))
    common = dict(window=window, source=source, version=version, time=_time.time())
    flat = s.to_dem(s.nominal)
    if shots < max(min_shots, 1):
        return LearnedNoise.nominal_model(flat, shots=shots, reason="too_few_shots", **common)
    rows = detector_rows(packed, num_detectors=s.num_detectors)
    n = shots_per_group(shots, rows.shape[1], groups)
    counts = odd_counts(rows, moment_sets(s, estimator), groups=len(n))
    return estimate_from_counts(s, counts, n, estimator=estimator, shrink=shrink, prior=prior,
                                **common)


def moment_sets(s: DemStructure, estimator: Estimator) -> list[tuple[int, ...]]:
    """The detector sets whose parity moments ``estimator`` needs on structure ``s``."""
    if estimator == "pairwise":
        return [(i,) for i in range(s.num_detectors)] + [e for e in s.edges if len(e) == 2]
    if estimator in ("full", "hybrid"):
        return _full_system(s).all_sets
    raise QplaneError(f"unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}")


def estimate_from_counts(s: DemStructure, counts: np.ndarray, n: np.ndarray, *,
                         estimator: Estimator, window: tuple[int, int] | None = None,
                         source: str = "", version: int = 0,
                         time: float | None = None, shrink: bool = True,
                         prior: Prior = "mixture") -> LearnedNoise:
    """The estimate from odd counts of :func:`moment_sets` per shot group (what the live
    estimator keeps per block instead of the shots).

    Args:
        counts: ``(len(moment_sets(s, estimator)), groups)`` odd-parity shot counts.
        n: ``(groups,)`` shots per group.
        shrink, prior: as for :func:`learn_noise`.
    """
    n = np.asarray(n, dtype=np.int64)
    shots = int(n.sum())
    common = dict(window=window or (0, shots), source=source, version=version,
                  time=_time.time() if time is None else time)
    flat = s.to_dem(s.nominal)
    if len(n) < 2 or np.any(n <= 0):
        return LearnedNoise.nominal_model(flat, shots=shots, reason="too_few_groups", **common)
    m = _moments(np.asarray(counts), n)
    if estimator == "pairwise":
        q, valid, reasons = _pairwise(s, m)
        sd = None
    elif estimator == "full":
        q, valid, reasons, sd = _full(s, m, shrink=shrink, prior=prior)
    elif estimator == "hybrid":
        q, valid, reasons, sd = _hybrid(s, m, shrink=shrink, prior=prior)
    else:
        raise QplaneError(f"unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}")
    return _finish(s, flat, q, valid, reasons, estimator=estimator, shots=shots, common=common,
                   sd=sd)


def _moments(counts: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``m_S`` for the full data (column 0) and each delete-one-group replicate (1..G)."""
    total = counts.sum(axis=1, keepdims=True)
    c = np.concatenate([total, total - counts], axis=1).astype(np.float64)
    shots = np.concatenate([[n.sum()], n.sum() - n]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - 2.0 * c / shots


def _pairwise(s: DemStructure, m: np.ndarray, start: np.ndarray | None = None):
    """The pairwise estimate (every replicate column of ``m``); ``start``: the per-mechanism
    ``q`` (one column, or one per replicate) the fit of the edge totals starts from (default
    nominal): it sets how each edge's total is split among the mechanisms sharing it."""
    pairs = [e for e in s.edges if len(e) == 2]
    m_single, m_pair = m[: s.num_detectors], m[s.num_detectors:]
    nominal_edge_q = s.edge_incidence @ q_of_p(s.nominal)
    target = np.full((len(s.edges), m.shape[1]), np.nan)
    edge_index = {e: k for k, e in enumerate(s.edges)}
    pi = np.array([edge_index[e] for e in pairs], dtype=np.intp)
    a = np.array([e[0] for e in pairs], dtype=np.intp)
    b = np.array([e[1] for e in pairs], dtype=np.intp)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = m_single[a] * m_single[b] / m_pair
        ok = (m_single[a] > 0) & (m_single[b] > 0) & (m_pair > 0) & (r > 0) & (r < 1)
        target[pi] = np.where(ok, -0.5 * np.log(r), np.nan)
        # boundary edges: what m_i leaves after i's pair edges (nominal where not learned)
        pair_q = np.where(np.isfinite(target[pi]), target[pi], nominal_edge_q[pi][:, None])
        around = np.zeros_like(m_single)
        np.add.at(around, a, pair_q)
        np.add.at(around, b, pair_q)
        single_q = -np.log(np.where(m_single > 0, m_single, np.nan)) - around
    for e, k in edge_index.items():
        if len(e) == 1:
            target[k] = np.where(single_q[e[0]] > 0, single_q[e[0]], np.nan)
    good = np.isfinite(target) & (target > 0) & (p_of_q(np.nan_to_num(target)) <= P_MAX)
    target = np.where(good, target, np.nan)
    # fit the edge totals back onto the mechanisms (every column at once)
    E = s.edge_incidence
    k_m = np.asarray(E.sum(axis=0)).ravel()
    if start is None:
        start = q_of_p(guard_nominal(s.nominal))
    start = np.asarray(start, dtype=np.float64)
    q = (np.repeat(start[:, None], m.shape[1], axis=1) if start.ndim == 1
         else start.copy())
    fixed = np.isfinite(target)
    for _ in range(30):
        cur = E @ q
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.where(fixed & (cur > 0), np.log(target / cur), 0.0)
        step = (E.T @ lr) / np.maximum(k_m, 1)[:, None]
        q = q * np.exp(step)
        if np.max(np.abs(step)) < 1e-10:
            break
    learned_edges = E.T @ fixed[:, :1].astype(np.float64)
    valid = learned_edges[:, 0] > 0
    reasons = Counter()
    reasons["no_learned_edge"] = int(np.sum(~valid & (k_m > 0)))
    reasons["not_a_graph_edge"] = int(np.sum(k_m == 0))
    reasons["edges_guarded"] = int(np.sum(~fixed[:, 0]))
    return q, valid, reasons


def _subsets(classes: list[frozenset[int]]) -> tuple[list[tuple[int, ...]], sp.csr_matrix]:
    """Every non-empty subset (up to 4 detectors, and the whole set) of every class, and the
    (classes, sets) matrix saying which sets are a class's own."""
    seen: dict[tuple[int, ...], int] = {}
    rows, cols = [], []
    for c_index, c in enumerate(classes):
        d = tuple(sorted(c))
        subs = [sub for k in range(1, min(len(d), _MAX_SUBSET) + 1)
                for sub in itertools.combinations(d, k)]
        if len(d) > _MAX_SUBSET:
            subs.append(d)
        for sub in subs:
            rows.append(c_index)
            cols.append(seen.setdefault(sub, len(seen)))
    own = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(classes), len(seen)))
    return list(seen), own


def _incidence(sets: list[tuple[int, ...]], num_detectors: int) -> sp.csr_matrix:
    cols = np.fromiter(itertools.chain.from_iterable(sets), dtype=np.intp)
    rows = np.repeat(np.arange(len(sets)), [len(x) for x in sets])
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(sets), num_detectors))


class _FullSystem:
    """The full estimator's linear system for one structure, factorised once.

    The weights are the inverse variances of the log-moments *predicted by the nominal model*,
    so the normal matrix depends on the structure alone and its factorisation is reused by
    every estimate on that structure (the live estimator refits every refresh); weighted least
    squares with approximate weights stays unbiased.
    """

    def __init__(self, s: DemStructure):
        classes = [tuple(sorted(c)) for c in s.classes]
        self.sets, self.own = _subsets(s.classes)
        overlap = (_incidence(self.sets, s.num_detectors)
                   @ _incidence(classes, s.num_detectors).T).tocoo()
        odd = (overlap.data.astype(np.int64) % 2) == 1
        self.A = sp.csr_matrix((np.ones(int(odd.sum())), (overlap.row[odd], overlap.col[odd])),
                               shape=(len(self.sets), len(classes)))
        q_nom_m = q_of_p(guard_nominal(s.nominal))
        cls = s.mechanism_class
        self.q_nom_c = np.bincount(cls[cls >= 0], weights=q_nom_m[cls >= 0],
                                   minlength=len(classes))
        self.share = np.where(cls >= 0, q_nom_m / np.where(
            cls >= 0, self.q_nom_c[np.maximum(cls, 0)], 1.0), 0.0)
        m_nom = np.exp(-(self.A @ self.q_nom_c))
        self.w = m_nom ** 2 / np.maximum(1.0 - m_nom ** 2, 1e-12)
        self._solvers: dict[bytes, tuple] = {}
        # the pairwise estimator's sets, counted with the classes' (the shrinkage's prior)
        index = {x: k for k, x in enumerate(self.sets)}
        self.all_sets = list(self.sets)
        for x in moment_sets(s, "pairwise"):
            if x not in index:
                index[x] = len(self.all_sets)
                self.all_sets.append(x)
        self.pairwise_rows = np.array([index[x] for x in moment_sets(s, "pairwise")], np.intp)
        #: each class's shrinkage group: its symptom's size (1, 2, 3, 4 or more detectors)
        self.size_group = np.minimum([len(c) for c in classes], 4).astype(np.int64)

    def solver(self, usable: np.ndarray):
        key = np.packbits(usable).tobytes()
        if key not in self._solvers:
            if len(self._solvers) > 4:
                self._solvers.clear()
            w = np.where(usable, self.w, 0.0)
            AtW = self.A.T.multiply(w[None, :]).tocsr()
            M = (AtW @ self.A).tocsc()
            diag = M.diagonal()
            ridge = 1e-6 * float(np.median(diag[diag > 0])) if np.any(diag > 0) else 1.0
            M = (M + ridge * sp.identity(M.shape[0], format="csc")).tocsc()
            lu = _factorise(M)
            # a class is learned only when every moment of its own subsets is usable
            touched = np.asarray(self.own @ (~usable).astype(np.float64)).ravel() == 0
            self._solvers[key] = (AtW, ridge, lu, touched)
        return self._solvers[key]


#: Classes up to which the normal matrix is factorised dense (Cholesky): it is 40 % full at
#: d = 5, where a dense solve is ~50× faster than SuperLU's, and 240 MB at d = 7 (5,471 classes)
_DENSE_MAX = 6_000


class _Cholesky:
    """A dense Cholesky factor of a symmetric positive definite matrix, with ``solve``."""

    def __init__(self, M: sp.spmatrix):
        import scipy.linalg as la

        self._factor = la.cho_factor(M.toarray(), overwrite_a=True, check_finite=False)

    def solve(self, b: np.ndarray) -> np.ndarray:
        import scipy.linalg as la

        return la.cho_solve(self._factor, b, check_finite=False)


def _factorise(M: sp.spmatrix):
    """The normal matrix's factorisation: dense Cholesky when it is small enough (and positive
    definite, as ``AᵀWA`` plus a ridge is), sparse LU otherwise."""
    if M.shape[0] <= _DENSE_MAX:
        import scipy.linalg as la

        try:
            return _Cholesky(M)
        except la.LinAlgError:
            pass
    return spla.splu(M.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0)


def _full_system(s: DemStructure) -> _FullSystem:
    system = s.__dict__.get("_full_system")
    if system is None:
        system = s.__dict__["_full_system"] = _FullSystem(s)
    return system


def _full(s: DemStructure, m: np.ndarray, *, shrink: bool = True, prior: Prior = "mixture"):
    system = _full_system(s)
    rows = len(system.sets)
    usable = np.all(m[:rows] > 0, axis=1)
    with np.errstate(divide="ignore"):
        y = -np.log(np.where(usable[:, None], m[:rows], 1.0))
    AtW, ridge, lu, touched = system.solver(usable)
    qc = lu.solve(np.ascontiguousarray(AtW @ y + ridge * system.q_nom_c[:, None]))
    good_c = np.isfinite(qc[:, 0]) & (qc[:, 0] > 0) & (p_of_q(np.clip(qc[:, 0], 0, 50)) <= P_MAX)
    good_c &= touched
    cls = s.mechanism_class
    reasons = Counter()
    sd = None
    if shrink:
        q_pw, valid_pw, _ = _pairwise(s, m[system.pairwise_rows])
        q, sd, valid, shrunk = _shrink_to_pairwise(s, system, qc, good_c, q_pw, valid_pw,
                                                   prior=prior)
        reasons["shrunk_to_pairwise"] = shrunk
    else:
        q = qc[np.maximum(cls, 0)] * system.share[:, None]
        valid = (cls >= 0) & good_c[np.maximum(cls, 0)]
        reasons["class_guarded"] = int(np.sum((cls >= 0) & ~valid))
    reasons["unobservable"] = int(np.sum(cls < 0))
    reasons["moments_unusable"] = int(np.sum(~usable))
    return q, valid, reasons, sd


def _hybrid(s: DemStructure, m: np.ndarray, *, shrink: bool = True, prior: Prior = "mixture"):
    """Pairwise edge totals, split among each edge's mechanisms by the full estimate.

    The fit of the edge totals (:func:`_pairwise`) starts, replicate by replicate, from the
    full estimate where that learned the mechanism and from nominal elsewhere: where an edge's
    total has to be split between an edge-only mechanism and hyperedges, the full estimate's
    proportions (from the hyperedges' own higher moments) decide, not the nominal ones. A
    mechanism is learned when either estimate learned it. Its interval is the jackknife of
    the whole (both steps repeated per replicate), widened by the part of the shrinkage's
    posterior variance the replicates do not show.
    """
    q_full, valid_full, reasons_full, sd_full = _full(s, m, shrink=shrink, prior=prior)
    nominal = q_of_p(guard_nominal(s.nominal))[:, None]
    start = np.where(valid_full[:, None] & np.isfinite(q_full) & (q_full > 0), q_full, nominal)
    q, valid_pw, reasons = _pairwise(s, m[_full_system(s).pairwise_rows], start=start)
    for k in ("shrunk_to_pairwise", "unobservable", "moments_unusable"):
        if reasons_full.get(k):
            reasons[k] = reasons_full[k]
    sd = _jackknife_sd(q[:, 1:])
    if sd_full is not None:
        # the replicates repeat the shrinkage with its weights, which leaves out part of the
        # posterior variance of a shrunk departure (w σ² against the replicates' w² σ² for the
        # normal prior): add what the full estimate's posterior error has beyond its own
        # replicates' spread
        extra = sd_full ** 2 - _jackknife_sd(q_full[:, 1:]) ** 2
        sd = np.sqrt(sd ** 2 + np.where(valid_full & np.isfinite(extra), np.maximum(extra, 0), 0))
    return q, valid_pw | valid_full, reasons, sd


def _jackknife_sd(reps: np.ndarray) -> np.ndarray:
    """Delete-one-group jackknife standard error of each row's replicates (columns)."""
    g = reps.shape[1]
    with np.errstate(invalid="ignore"):
        return np.sqrt((g - 1) / g * np.nansum(
            (reps - np.nanmean(reps, axis=1, keepdims=True)) ** 2, axis=1))


def _mixture_posterior(rel: np.ndarray, var: np.ndarray, iterations: int = 50):
    """Posterior-mean weights and variances of departures ``rel`` (noise variances ``var``)
    under a two-scale normal mixture prior ``π N(0, τ₁²) + (1 − π) N(0, τ₂²)`` fitted to them by
    EM (the departures are latent; each EM step is closed-form).

    A device with a few bad qubits has most classes at their pairwise value and a few far from
    it: one normal scale, fitted to both, is too wide for the many (their noise stays) and too
    narrow for the few. The responsibilities are computed in log space, so a far departure
    belongs to the wide scale and is kept. ``rel`` may have columns (the estimate and its
    jackknife replicates): each column gets its own prior, fitted to it, so the replicates'
    spread includes the prior's own sampling error.

    Returns ``(w, post_var, prior_var)``, shaped as ``rel`` (``prior_var``: per column): each
    departure's posterior mean is ``w · rel`` and its posterior variance ``post_var``;
    ``prior_var`` is the fitted prior's variance.

    >>> rel = np.r_[np.zeros(90), np.full(10, 2.0)]
    >>> w, v, _ = _mixture_posterior(rel, np.full(100, 0.01))
    >>> bool(w[-1] > 0.99 and w[0] < w[-1])
    True
    """
    rel = np.asarray(rel, dtype=np.float64)
    flat = rel.ndim == 1
    x = rel[:, None] if flat else rel                         # (n, columns)
    v = np.maximum(np.asarray(var, dtype=np.float64), 1e-300)[:, None, None]
    base = np.maximum(np.mean(x ** 2, axis=0), 1e-12)         # (columns,)
    tau = np.stack([0.1 * base, 2.0 * base], axis=-1)         # (columns, 2)
    pi = np.broadcast_to(np.array([0.8, 0.2]), tau.shape)

    def step(tau, pi):
        tot = tau[None] + v                                   # (n, columns, 2)
        log_like = np.log(pi)[None] - 0.5 * (x[..., None] ** 2 / tot + np.log(tot))
        r = np.exp(log_like - log_like.max(axis=-1, keepdims=True))
        return r / r.sum(axis=-1, keepdims=True), tau[None] / tot

    for _ in range(iterations):
        r, wk = step(tau, pi)
        theta2 = (wk * x[..., None]) ** 2 + wk * v            # E[θ² | rel, scale]
        mass = r.sum(axis=0)                                  # (columns, 2)
        pi = np.clip(mass / x.shape[0], 1e-6, 1.0)
        pi = pi / pi.sum(axis=-1, keepdims=True)
        tau = np.maximum((r * theta2).sum(axis=0) / np.maximum(mass, 1e-300), 1e-12)
    r, wk = step(tau, pi)
    w = (r * wk).sum(axis=-1)
    second = (r * ((wk * x[..., None]) ** 2 + wk * v)).sum(axis=-1)
    post_var = np.maximum(second - (w * x) ** 2, 0.0)
    prior_var = (pi * tau).sum(axis=-1)
    if flat:
        return w[:, 0], post_var[:, 0], float(prior_var[0])
    return w, post_var, prior_var


def _shrink_to_pairwise(s: DemStructure, system: _FullSystem, qc: np.ndarray,
                        good_c: np.ndarray, q_pw: np.ndarray, valid_pw: np.ndarray, *,
                        prior: Prior = "mixture"):
    """Each class's least-squares ``q`` shrunk towards its pairwise value by its interval.

    With ``d_c`` the class's departure from its pairwise value and ``σ_c`` the jackknife error
    of that departure (both relative to the pairwise value), the departures of the classes of
    one symptom size are taken as drawn from a prior fitted to them (empirical Bayes) and each
    class keeps the posterior mean ``w_c d_c``, ``0 ≤ w_c ≤ 1``: a well-measured departure
    stays, one the data cannot tell from noise goes back to the pairwise value. ``prior``:
    ``"normal"``: ``N(0, τ²)`` with ``τ² = max(0, mean(d²) − mean(σ²))`` and
    ``w_c = τ² / (τ² + σ_c²)``; ``"mixture"`` (default): two normal scales fitted by EM
    (:func:`_mixture_posterior`), ``w_c`` the responsibility-weighted mean of the two scales'
    weights. The standard error of the result is the posterior one, ``sqrt(v_c +
    σ_pairwise²)`` with ``v_c`` the departure's posterior variance (``w_c σ_c²`` for the normal
    prior; a class the fit could not learn keeps its pairwise value with the prior's variance
    in place of ``v_c``). The class's ``q`` is
    shared among its mechanisms in their nominal proportions, as the plain fit shares it. The
    result stays positive: ``(1 − w_c) q_c⁰ + w_c q_c`` with both terms positive.

    Returns per-mechanism ``q`` (every replicate column), its standard error, validity (learned
    by the fit or by the pairwise estimator), and how many learned mechanisms went (almost) all
    the way back to the pairwise value (``w_c < 0.1``: ``reasons["shrunk_to_pairwise"]``, not a
    guard: they are learned).
    """
    cls = s.mechanism_class
    seen = cls >= 0
    n_c, cols = len(s.classes), qc.shape[1]
    q0 = np.zeros((n_c, cols))
    np.add.at(q0, cls[seen], q_pw[seen])
    ok_prior = np.all(np.isfinite(q0), axis=1) & (q0[:, 0] > 0)
    safe = np.where(ok_prior, q0[:, 0], 1.0)
    d = np.where(good_c[:, None] & ok_prior[:, None], qc - q0, 0.0)
    rel, rel_sd = d[:, 0] / safe, _jackknife_sd(d[:, 1:]) / safe
    w, post_var = np.zeros(n_c), np.zeros(n_c)
    w_cols = np.zeros((n_c, cols))   # the mixture's weights, refitted on every replicate
    tau2 = np.ones(n_c)   # a group too small to tell: the prior is uncertain by 100 %
    for g in np.unique(system.size_group):
        pick = (system.size_group == g) & good_c & ok_prior & np.isfinite(rel_sd)
        if pick.sum() < 2:
            continue
        if prior == "mixture":
            wc, vc, tc = _mixture_posterior(d[pick] / safe[pick, None], rel_sd[pick] ** 2)
            w_cols[pick], w[pick], post_var[pick], t = wc, wc[:, 0], vc[:, 0], float(tc[0])
        else:
            t = max(0.0, float(np.mean(rel[pick] ** 2) - np.mean(rel_sd[pick] ** 2)))
            w[pick] = t / np.maximum(t + rel_sd[pick] ** 2, 1e-300)
            post_var[pick] = w[pick] * rel_sd[pick] ** 2
            w_cols[pick] = w[pick, None]
        tau2[system.size_group == g] = t
    post = q0 + w_cols * d
    # posterior variance (relative); a class the fit could not learn keeps the prior's τ²
    measured = good_c & np.isfinite(rel_sd)
    var_rel = np.where(measured, post_var, tau2)
    sd_c = np.sqrt(var_rel * safe ** 2 + _jackknife_sd(q0[:, 1:]) ** 2)
    c = np.maximum(cls, 0)
    q = np.where(seen[:, None], post[c] * system.share[:, None], np.nan)
    sd = np.where(seen, sd_c[c] * system.share, np.nan)
    # learned: by the fit, or by the pairwise estimator (where neither learned it: nominal)
    learned_c = good_c | (np.bincount(cls[seen], weights=valid_pw[seen], minlength=n_c) > 0)
    valid = seen & ok_prior[c] & learned_c[c] & np.isfinite(q[:, 0]) & (q[:, 0] > 0)
    return q, sd, valid, int(np.sum(valid & (w[c] < 0.1)))


def _finish(s: DemStructure, flat: stim.DetectorErrorModel, q: np.ndarray, valid: np.ndarray,
            reasons: Counter, *, estimator: str, shots: int, common: dict,
            sd: np.ndarray | None = None) -> LearnedNoise:
    nominal = guard_nominal(s.nominal)
    p_all = p_of_q(np.clip(np.nan_to_num(q, nan=-1.0), -1.0, 50.0))
    point = p_all[:, 0]
    ok = valid & np.isfinite(point) & (point >= P_MIN) & (point <= P_MAX)
    reasons["out_of_range"] = int(np.sum(valid & ~ok))
    # an estimate that fires less than once in the window is not told apart from zero
    tiny = ok & (point * shots < 1.0)
    reasons["below_resolution"] = int(tiny.sum())
    ok &= ~tiny
    p = np.where(ok, point, nominal)
    if sd is None:
        sd = _jackknife_sd(q[:, 1:])
    q_hat = q_of_p(p)
    sd = np.where(ok & np.isfinite(sd), sd, 0.0)
    lower = np.where(ok, p_of_q(np.maximum(q_hat - _Z95 * sd, 0.0)), nominal)
    upper = np.where(ok, np.minimum(p_of_q(q_hat + _Z95 * sd), 0.5), nominal)
    reasons = {k: v for k, v in reasons.items() if v}
    reasons["kept"] = int(ok.sum())
    structure_of(str(flat), s)
    return LearnedNoise(nominal=str(flat), probabilities=p, lower=lower, upper=upper,
                        estimator=estimator, shots=shots, kept_nominal=int(np.sum(~ok)),
                        reasons=reasons, **common)
