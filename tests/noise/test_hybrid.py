"""The hybrid estimator: the pairwise estimator's edge totals, split by the full estimate.

Same truth as ``test_estimators.py`` (every symptom class of the nominal d = 3 memory DEM scaled
by its own factor, 0.4–2.5×, fixed seed), so how an edge's total is shared between its
edge-only mechanisms and the hyperedges through it differs from nominal. Thresholds leave a
margin over what these seeds give (noted beside each).
"""

from __future__ import annotations

import numpy as np
import pytest

from qplane.noise import learn_noise, q_of_p

from tests.noise.conftest import SHOTS

@pytest.fixture
def truth(scaled_truth):
    """``scaled_truth``, and which mechanisms are hyperedges of a scaled class."""
    dem, s, p_true, dets = scaled_truth
    hyper = np.array([len(parts) >= 2 for parts in s.components]) & (s.mechanism_class >= 0)
    return dem, s, p_true, dets, hyper


def _relative_error(m, p_true):
    return np.abs(q_of_p(m.probabilities) - q_of_p(p_true)) / q_of_p(p_true)


@pytest.mark.parametrize("shots", [30_000, SHOTS])
def test_hybrid_keeps_the_pairwise_edge_totals(truth, shots):
    dem, s, _, dets, _ = truth
    pairwise = learn_noise(dets[:shots], dem, estimator="pairwise")
    hybrid = learn_noise(dets[:shots], dem, estimator="hybrid")
    assert hybrid.estimator == "hybrid" and hybrid.kept_nominal == pairwise.kept_nominal
    # uncorrelated matching sees only these: it decodes with the pairwise weights
    np.testing.assert_allclose(s.edge_totals(hybrid.probabilities),
                               s.edge_totals(pairwise.probabilities), rtol=1e-6)   # 2e-8


@pytest.mark.parametrize("shots,factor", [(30_000, 0.9), (SHOTS, 0.6)])
def test_hybrid_splits_hyperedges_closer_to_the_truth(truth, shots, factor):
    dem, s, p_true, dets, hyper = truth
    pairwise = learn_noise(dets[:shots], dem, estimator="pairwise")
    hybrid = learn_noise(dets[:shots], dem, estimator="hybrid")
    err_h = np.median(_relative_error(hybrid, p_true)[hyper])
    err_p = np.median(_relative_error(pairwise, p_true)[hyper])
    assert err_h < factor * err_p                  # these seeds: 0.28 / 0.35, 0.19 / 0.375
    # the intervals are the jackknife of both steps: they bracket the estimate, and sharpen
    assert np.all(hybrid.lower <= hybrid.probabilities)
    assert np.all(hybrid.probabilities <= hybrid.upper)


def test_hybrid_intervals_sharpen_with_shots(truth):
    dem, _, _, dets, _ = truth
    few = learn_noise(dets[:20_000], dem, estimator="hybrid")
    many = learn_noise(dets, dem, estimator="hybrid")
    width = lambda m: np.median(m.upper - m.lower)  # noqa: E731
    assert width(many) < 0.5 * width(few)
