"""Guards: no negative, zero or NaN probability ever reaches a matcher, whatever the data.

Property tests (hypothesis) feed every estimator (the full one with and without its shrinkage
towards the pairwise solution) few shots and degenerate data — all zero,
all one, one detector stuck at 1, random bits at any density — and check every probability of
the learned model is finite and inside ``[P_MIN, P_MAX]``, the intervals bracket it, the guards
account for every mechanism kept nominal, and PyMatching builds from the model.
"""

from __future__ import annotations

import numpy as np
import pymatching
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qplane.codes import memory_circuit
from qplane.errors import QplaneError
from qplane.noise import P_MAX, P_MIN, DemStructure, LearnedNoise, learn_noise

DEM = memory_circuit(distance=3, rounds=2, basis="X", p=0.003).detector_error_model(
    decompose_errors=True)
STRUCTURE = DemStructure(DEM)
D = DEM.num_detectors


def _check(m: LearnedNoise) -> None:
    p = m.probabilities
    assert np.all(np.isfinite(p)) and np.all(p >= P_MIN) and np.all(p <= P_MAX)
    assert np.all(m.lower <= p + 1e-15) and np.all(p <= m.upper + 1e-15)
    assert np.all(np.isfinite(m.lower)) and np.all(m.lower >= 0)
    learned = m.reasons.get("kept", 0) if m.estimator != "nominal" else 0
    assert learned + m.kept_nominal == STRUCTURE.num_mechanisms
    dem = m.to_dem()
    for ins in dem.flattened():
        if ins.type == "error":
            assert P_MIN <= ins.args_copy()[0] <= P_MAX
    pymatching.Matching.from_detector_error_model(dem, enable_correlations=True)


def _data(kind: str, shots: int, density: float, stuck: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "zeros":
        bits = np.zeros((shots, D), bool)
    elif kind == "ones":
        bits = np.ones((shots, D), bool)
    else:
        bits = rng.random((shots, D)) < density
        if kind == "stuck":
            bits[:, stuck % D] = True
    return bits


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["zeros", "ones", "stuck", "random"]),
       shots=st.integers(0, 3000), density=st.floats(0.0, 1.0), stuck=st.integers(0, 10_000),
       seed=st.integers(0, 2**32 - 1),
       estimator=st.sampled_from(["pairwise", "full", "hybrid"]),
       min_shots=st.sampled_from([0, 1, 100, 2000]), shrink=st.booleans())
def test_no_bad_probability_reaches_a_matcher(kind, shots, density, stuck, seed, estimator,
                                              min_shots, shrink):
    bits = _data(kind, shots, density, stuck, seed)
    m = learn_noise(bits, STRUCTURE, estimator=estimator, min_shots=min_shots, groups=4,
                    shrink=shrink)
    _check(m)
    if shots < max(min_shots, 1):
        assert m.estimator == "nominal" and m.reasons == {"too_few_shots": STRUCTURE.num_mechanisms}


@pytest.mark.parametrize("estimator,shrink", [("pairwise", True), ("full", True),
                                              ("hybrid", True), ("hybrid", False),
                                              ("full", False)])
@pytest.mark.parametrize("kind", ["zeros", "ones", "stuck"])
def test_degenerate_data_keeps_nominal_and_says_so(kind, estimator, shrink):
    m = learn_noise(_data(kind, 5000, 0.05, 3, 1), STRUCTURE, estimator=estimator,
                    shrink=shrink)
    _check(m)
    if kind in ("zeros", "ones"):
        # nothing learnable: every mechanism keeps its nominal value, counted
        assert m.kept_nominal == STRUCTURE.num_mechanisms
        np.testing.assert_array_equal(m.probabilities, np.clip(STRUCTURE.nominal, P_MIN, P_MAX))
    else:
        assert m.kept_nominal > 0 and sum(v for k, v in m.reasons.items() if k != "kept") > 0


def test_the_model_refuses_a_bad_probability():
    p = np.clip(STRUCTURE.nominal, P_MIN, P_MAX).copy()
    for bad in (0.0, -0.1, np.nan, 0.5):
        q = p.copy()
        q[0] = bad
        with pytest.raises(QplaneError, match="guard"):
            LearnedNoise(nominal=str(DEM.flattened()), probabilities=q, lower=q, upper=q,
                         estimator="full", shots=1)


def test_wrong_shapes_are_refused_with_a_way_out():
    with pytest.raises(QplaneError, match="is the circuit or DEM the one"):
        learn_noise(np.zeros((10, D + 1), bool), DEM)
    with pytest.raises(QplaneError, match="estimator"):
        learn_noise(np.zeros((10, D), bool), DEM, estimator="magic")
