"""The live estimator: its sliding window, refreshes and restarts."""

from __future__ import annotations

import numpy as np

from qplane.codes import memory_circuit
from qplane.noise import DemStructure, LiveNoiseLearner, learn_noise

DEM = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004).detector_error_model(
    decompose_errors=True)


def _blocks(n: int, shots: int = 1000, seed: int = 1):
    sampler = DEM.compile_sampler(seed=seed)
    return [sampler.sample(shots, bit_packed=True)[0] for _ in range(n)]


def test_a_refresh_estimates_what_learn_noise_does_on_the_window():
    # blocks of 1024 shots: the live jackknife groups (whole blocks) are then learn_noise's
    # (whole 64-shot words), and the shrinkage's weights depend on the groups' spread
    s = DemStructure(DEM)
    live = LiveNoiseLearner(s, estimator="full", window_shots=5120, refresh_shots=3072,
                            min_shots=3072, groups=5)
    blocks = _blocks(8, shots=1024)
    for b in blocks:
        live.observe(b)
    assert live.window_shots_now == 5120  # the newest five blocks
    m = live.refresh()
    offline = learn_noise(np.concatenate(blocks[3:]), s, estimator="full", groups=5)
    np.testing.assert_allclose(m.probabilities, offline.probabilities, rtol=1e-9)
    assert m.window == (3072, 8192) and m.version == 1 and not live.due()
    for b in _blocks(3, shots=1024, seed=2):
        live.observe(b)
    assert live.due() and live.refresh().version == 2


def test_a_restart_empties_the_window_until_min_shots_again():
    live = LiveNoiseLearner(DEM, estimator="pairwise", window_shots=4000, refresh_shots=1000,
                            min_shots=2000)
    for b in _blocks(3):
        live.observe(b)
    assert live.due()
    live.restart()
    assert live.window_shots_now == 0 and not live.due() and live.restarts == 1
    live.observe(_blocks(1)[0])
    assert not live.due()
    live.observe(_blocks(1, seed=3)[0])
    m = live.refresh()
    assert m.shots == 2000 and m.window == (3000, 5000)  # shots counted since the start
