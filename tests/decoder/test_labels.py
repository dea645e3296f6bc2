import numpy as np
import pytest

from qplane.codes import memory_circuit
from qplane.decoder.labels import SiteMap, mechanism_classes
from qplane.decoder.volume import SyndromeGeometry


@pytest.mark.parametrize("basis", ["X", "Z"])
@pytest.mark.parametrize("distance,rounds,p", [(3, 3, 0.01), (3, 1, 0.02), (5, 5, 0.01), (5, 2, 0.005)])
def test_true_labels_are_exact(basis, distance, rounds, p):
    """Applying the true labels clears every detection event and reproduces the observable flip."""
    dem = memory_circuit(distance=distance, rounds=rounds, basis=basis, p=p).detector_error_model(
        decompose_errors=True)
    geometry = SyndromeGeometry.from_dem(dem)
    sites = SiteMap.from_dem(dem, geometry, mechanism_classes(dem, geometry))
    assert sites.unlabelled_mechanisms == 0
    events, obs, errors = dem.compile_sampler(seed=7).sample(2000, return_errors=True)
    assert events.any(axis=1).mean() > 0.3  # plenty of non-trivial shots
    labels = sites.labels(errors)
    assert labels.shape == (2000, sites.num_sites) and labels.any()
    residual, flips = sites.apply(events, labels)
    assert not residual.any()
    assert np.array_equal(flips.astype(bool), obs[:, 0])
    # And the labels are not trivially the identity: a wrong label leaves a residual.
    broken = labels.copy()
    shot, site = np.argwhere(labels)[0]
    broken[shot, site] ^= 1
    assert sites.apply(events, broken)[0][shot].any()


def test_hyperedge_classes_exist_and_sites_index_network_output():
    dem = memory_circuit(distance=5, rounds=5, basis="Z", p=0.003).detector_error_model(
        decompose_errors=True)
    geometry = SyndromeGeometry.from_dem(dem)
    classes = mechanism_classes(dem, geometry)
    sites = SiteMap.from_dem(dem, geometry, classes)
    assert (sites.site_weight >= 3).any() and (sites.site_weight <= 2).any()
    assert np.all(sites.site_index < len(classes) * geometry.num_slots)
    assert np.array_equal(sites.site_class, sites.site_index // geometry.num_slots)
    # Every site's anchor is the first of its detectors' slots.
    anchors = sites.site_index % geometry.num_slots
    for i in range(0, sites.num_sites, 97):
        dets = sites.site_detectors[i].indices
        assert anchors[i] == geometry.slot_of_detector[dets].min()


def test_classes_missing_from_the_list_are_left_unlabelled():
    dem = memory_circuit(distance=3, rounds=3, basis="Z", p=0.003).detector_error_model(
        decompose_errors=True)
    geometry = SyndromeGeometry.from_dem(dem)
    classes = mechanism_classes(dem, geometry)
    sites = SiteMap.from_dem(dem, geometry, classes[:-5])
    assert sites.unlabelled_mechanisms > 0
    assert set(np.unique(sites.site_class)) <= set(range(len(classes) - 5))
