"""Soft information: the per-shot reweighted matching graph."""

import numpy as np
import pymatching

from qplane.codes import memory_circuit
from qplane.decoder.labels import SiteMap, mechanism_classes
from qplane.decoder.soft import SoftMatcher
from qplane.decoder.volume import SyndromeGeometry


def _setup(shots=150):
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    dem = circuit.detector_error_model(decompose_errors=True)
    geometry = SyndromeGeometry.from_dem(dem)
    sites = SiteMap.from_dem(dem, geometry, mechanism_classes(dem, geometry))
    events, obs, errors = dem.compile_sampler(seed=9).sample(shots, return_errors=True)
    return dem, sites, events, obs[:, 0], sites.labels(errors)


def test_alpha_zero_is_correlated_matching_on_the_dem():
    dem, sites, events, _, _ = _setup()
    soft = SoftMatcher(dem, sites)
    matching = pymatching.Matching.from_detector_error_model(dem, enable_correlations=True)
    expected = matching.decode_batch(events.astype(np.uint8), enable_correlations=True)[:, 0]
    logits = np.random.default_rng(1).normal(size=(len(events), sites.num_sites))
    got = soft.decode(events, logits, alpha=0.0)
    assert np.array_equal(got, expected.astype(bool))
    assert soft.shots_reweighted == len(events)


def test_a_confident_true_posterior_fixes_what_matching_gets_wrong():
    dem, sites, events, truth, labels = _setup()
    soft = SoftMatcher(dem, sites)
    logits = np.where(labels > 0, 12.0, -12.0)  # a network that knows the fired sites
    got = soft.decode(events, logits, alpha=1.0)
    matching = pymatching.Matching.from_detector_error_model(dem, enable_correlations=True)
    base = matching.decode_batch(events.astype(np.uint8), enable_correlations=True)[:, 0]
    assert (got != truth).sum() <= (base.astype(bool) != truth).sum()
    assert (got != truth).sum() <= 1
