import numpy as np
import pytest
import stim

from qplane.codes import memory_circuit
from qplane.decoder.volume import INPUT_CHANNELS, SyndromeGeometry
from qplane.errors import ModelMismatchError


@pytest.mark.parametrize("basis", ["X", "Z"])
@pytest.mark.parametrize("distance,rounds", [(3, 1), (3, 3), (5, 2), (5, 5), (7, 3)])
def test_volume_mapping(basis, distance, rounds):
    circuit = memory_circuit(distance=distance, rounds=rounds, basis=basis, p=0.003)
    dem = circuit.detector_error_model(decompose_errors=True)
    g = SyndromeGeometry.from_dem(dem)
    assert (g.distance, g.rounds) == (distance, rounds)
    assert g.shape == (rounds + 1, distance + 1, distance + 1)
    # Every detector has its own slot, and the inverse map agrees.
    assert len(np.unique(g.slot_of_detector)) == dem.num_detectors
    assert np.array_equal(g.detector_at_slot[g.slot_of_detector], np.arange(dem.num_detectors))
    assert (g.detector_at_slot >= 0).sum() == dem.num_detectors
    # Slots match the coordinates: (t, y/2, x/2).
    coords = dem.get_detector_coordinates()
    for det in (0, dem.num_detectors // 2, dem.num_detectors - 1):
        x, y, t = coords[det]
        assert g.slot_of_detector[det] == np.ravel_multi_index((int(t), int(y) // 2, int(x) // 2), g.shape)
    # Masks: memory-basis stabilizers exist in every slice; the others only between the ends.
    half = (distance * distance - 1) // 2
    basis_mask, other_mask, support = g.static_channels
    assert basis_mask.sum(axis=(1, 2)).tolist() == [half] * (rounds + 1)
    assert other_mask.sum(axis=(1, 2)).tolist() == [0] + [half] * (rounds - 1) + [0]
    assert not np.any(basis_mask * other_mask)
    assert support.sum() > 0 and np.all(support <= basis_mask + other_mask)
    # Orientation convention: stim puts X-memory boundary stabilizers top/bottom, Z left/right.
    assert g.orientation.endswith("tb" if basis == "X" else "lr")
    # Detection events land in channel 0 at their slots.
    events = circuit.compile_detector_sampler(seed=2).sample(20)
    vol = g.volume(events)
    assert vol.shape == (20, len(INPUT_CHANNELS)) + g.shape
    assert np.array_equal(vol[:, 0].reshape(20, -1)[:, g.slot_of_detector], events.astype(np.float32))
    assert vol[:, 0].sum() == events.sum()


def test_refuses_non_surface_code_dem():
    rep = stim.Circuit.generated("repetition_code:memory", distance=5, rounds=3,
                                 before_round_data_depolarization=0.01)
    with pytest.raises(ModelMismatchError, match="code family"):
        SyndromeGeometry.from_dem(rep.detector_error_model())


def test_refuses_dem_without_coordinates():
    dem = stim.DetectorErrorModel("error(0.1) D0 D1\nerror(0.1) D1 L0")
    with pytest.raises(ModelMismatchError, match="code family"):
        SyndromeGeometry.from_dem(dem)
