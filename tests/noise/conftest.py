import numpy as np
import pytest

from qplane.codes import memory_circuit
from qplane.noise import DemStructure

#: Shots sampled from the known non-uniform truth (``scaled_truth``).
SHOTS = 300_000


@pytest.fixture(scope="session")
def scaled_truth():
    """A known non-uniform truth and its detection events: the nominal d = 3 memory DEM with
    every symptom class scaled by its own factor (0.4–2.5×, fixed seed), so each mechanism's
    probability is identifiable from detection events and differs from nominal.

    Returns (nominal DEM, its DemStructure, true probabilities, SHOTS bit-packed shots)."""
    dem = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004).detector_error_model(
        decompose_errors=True)
    s = DemStructure(dem)
    rng = np.random.default_rng(5)
    factor = rng.uniform(0.4, 2.5, size=len(s.classes))
    cls = s.mechanism_class
    p_true = s.nominal * np.where(cls >= 0, factor[np.maximum(cls, 0)], 1.0)
    dets = s.to_dem(p_true).compile_sampler(seed=11).sample(SHOTS, bit_packed=True)[0]
    return dem, s, p_true, dets
