"""The estimators recover known per-mechanism probabilities, within their intervals.

The truth is the nominal d = 3 memory DEM with every symptom class scaled by its own factor
(0.4–2.5×, fixed seed), so each mechanism's probability is identifiable from detection events
and differs from nominal. With 95 % intervals about 5 % of mechanisms fall outside by chance;
the thresholds below leave a wide margin for that (at these seeds ~93 % are inside), while a
biased or mis-scaled estimator puts most of them outside (the nominal model: ~10 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from qplane.noise import DemStructure, LearnedNoise, learn_noise, p_of_q, q_of_p

from tests.noise.conftest import SHOTS

@pytest.fixture
def truth(scaled_truth):
    return scaled_truth


@pytest.mark.parametrize("shrink", [True, False])
def test_full_estimator_recovers_every_mechanism(truth, shrink):
    dem, s, p_true, dets = truth
    m = learn_noise(dets, dem, estimator="full", shrink=shrink)
    seen = ~s.unobservable
    inside = (m.lower <= p_true) & (p_true <= m.upper)
    assert inside[seen].mean() >= 0.85
    nominal_inside = (m.lower <= s.nominal) & (s.nominal <= m.upper)
    assert nominal_inside[seen].mean() <= 0.5  # the intervals are narrow enough to matter
    # no estimate is wildly off: within 6 standard errors (from the interval's width)
    sd = (q_of_p(m.upper) - q_of_p(m.lower)) / (2 * 1.96)
    z = np.abs(q_of_p(m.probabilities) - q_of_p(p_true)) / np.maximum(sd, 1e-12)
    assert np.all(z[seen & (m.upper > m.lower)] < 6)
    assert np.median(np.abs(m.probabilities - p_true)[seen] / p_true[seen]) < 0.15
    assert m.kept_nominal == int(s.unobservable.sum()) + m.reasons.get("class_guarded", 0)


def _pairwise_truth(s: DemStructure, p: np.ndarray) -> np.ndarray:
    """What the pairwise estimator converges to: q_ij = sum of q over every mechanism flipping
    both i and j; a boundary edge's q what is left of -log m_i."""
    q = q_of_p(p)
    sym = []
    for parts in s.components:
        dset: set[int] = set()
        for dets, _ in parts:
            dset ^= set(dets)
        sym.append(dset)
    single = np.zeros(s.num_detectors)
    for m, dset in enumerate(sym):
        for i in dset:
            single[i] += q[m]
    out = np.zeros(len(s.edges))
    pair_q = {}
    for k, e in enumerate(s.edges):
        if len(e) == 2:
            out[k] = sum(q[m] for m, dset in enumerate(sym) if e[0] in dset and e[1] in dset)
            pair_q[e] = out[k]
    for k, e in enumerate(s.edges):
        if len(e) == 1:
            out[k] = single[e[0]] - sum(v for pe, v in pair_q.items() if e[0] in pe)
    return p_of_q(out)


def test_pairwise_estimator_recovers_every_edge_total(truth):
    dem, s, p_true, dets = truth
    m = learn_noise(dets, dem, estimator="pairwise")
    want = _pairwise_truth(s, p_true)
    learned, nominal = s.edge_totals(m.probabilities), _pairwise_truth(s, s.nominal)
    rel = np.abs(learned - want) / want
    assert np.median(rel) < 0.1
    assert np.median(np.abs(nominal - want) / want) > 2 * np.median(rel)


def test_estimates_sharpen_with_shots(truth):
    dem, s, p_true, dets = truth
    few = learn_noise(dets[:20_000], dem, estimator="full")
    many = learn_noise(dets, dem, estimator="full")
    width = lambda m: np.median(m.upper - m.lower)  # noqa: E731
    assert width(many) < 0.5 * width(few)


def test_learned_model_round_trips_and_feeds_a_matcher(truth):
    import pymatching

    dem, s, p_true, dets = truth
    m = learn_noise(dets, dem, estimator="full", source="test", window=(5, 5 + SHOTS))
    back = LearnedNoise.from_dict(m.to_dict())
    assert back.hash == m.hash and back.window == (5, 5 + SHOTS)
    np.testing.assert_array_equal(back.probabilities, m.probabilities)
    again = LearnedNoise.from_dem(m.to_dem(), dem)
    np.testing.assert_allclose(again.probabilities, m.probabilities, rtol=1e-15)
    pymatching.Matching.from_detector_error_model(m.to_dem(), enable_correlations=True)
    assert m.card()["shots"] == SHOTS


def test_q_and_p_are_inverse():
    p = np.array([1e-9, 0.001, 0.1, 0.4])
    np.testing.assert_allclose(p_of_q(q_of_p(p)), p, rtol=1e-12)
