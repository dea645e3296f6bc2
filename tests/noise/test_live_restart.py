"""A calibration change restarts the live estimator's window for the qubits it touches only."""

from __future__ import annotations

import numpy as np

from qplane.codes import memory_circuit
from qplane.noise import DemStructure, LiveNoiseLearner, learn_noise
from qplane.noise.qubits import detectors_touched, qubit_detectors

CIRCUIT = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004)
DEM = CIRCUIT.detector_error_model(decompose_errors=True)
S = DemStructure(DEM)


def _touched_mechanisms(dets):
    d = set(int(x) for x in dets)
    return np.array([any(set(ds) & d for ds, _ in parts) for parts in S.components])


def _sample(dem, n_blocks, seed, shots=1000):
    sampler = dem.compile_sampler(seed=seed)
    return [sampler.sample(shots, bit_packed=True)[0] for _ in range(n_blocks)]


def test_a_qubit_reaches_the_detectors_of_its_stabilizers_and_neighbours():
    reach = qubit_detectors(CIRCUIT)
    assert len(reach) == 17 and all(len(v) for v in reach.values())
    assert all(v.max() < CIRCUIT.num_detectors for v in reach.values())
    # a data qubit reaches fewer detectors than the whole patch: a restart is local
    assert max(len(v) for v in reach.values()) < CIRCUIT.num_detectors
    assert detectors_touched(reach, ["q3", "q4"]).tolist() == sorted(
        set(reach["q3"]) | set(reach["q4"]))
    assert detectors_touched(reach, ["drive_lo"]) is None


def test_a_per_qubit_restart_relearns_only_the_mechanisms_it_touches():
    dets = detectors_touched(qubit_detectors(CIRCUIT), ["q4"])
    touched = _touched_mechanisms(dets)
    assert 0 < touched.sum() < len(touched)
    # after the change the touched mechanisms are three times as likely
    changed = S.to_dem(np.where(touched, 3 * S.nominal, S.nominal))
    live = LiveNoiseLearner(S, estimator="pairwise", window_shots=20_000, refresh_shots=20_000,
                            min_shots=4000, groups=4)
    before, after = _sample(DEM, 8, seed=1), _sample(changed, 5, seed=2)
    for b in before:
        live.observe(b)
    first = live.refresh()
    live.restart(dets)
    assert live.restarts == 1 and live.window_shots_now == 8000  # nothing was dropped
    for k, b in enumerate(after):
        live.observe(b)
        # due as soon as the restarted part holds min_shots, not after the refresh period
        assert live.due() == (k >= 3)
    m = live.refresh()
    whole = learn_noise(np.concatenate(before + after), S, estimator="pairwise")
    fresh = learn_noise(np.concatenate(after), S, estimator="pairwise")
    np.testing.assert_allclose(m.probabilities[~touched], whole.probabilities[~touched], rtol=1e-9)
    np.testing.assert_allclose(m.probabilities[touched], fresh.probabilities[touched], rtol=1e-9)
    assert m.reasons["window_restarted"] == int(touched.sum())
    # the relearned mechanisms follow the change; the mixed window would lag behind it
    ratio = m.probabilities[touched].sum() / first.probabilities[touched].sum()
    lagging = whole.probabilities[touched].sum() / first.probabilities[touched].sum()
    assert ratio > 2.2 and ratio > lagging + 0.5
    assert not live.due()


def test_until_the_restarted_part_is_full_its_mechanisms_keep_the_model_in_use():
    dets = detectors_touched(qubit_detectors(CIRCUIT), ["q0"])
    touched = _touched_mechanisms(dets)
    live = LiveNoiseLearner(S, estimator="pairwise", window_shots=20_000, refresh_shots=2000,
                            min_shots=4000, groups=4)
    for b in _sample(DEM, 6, seed=3):
        live.observe(b)
    first = live.refresh()
    live.restart(dets)
    for b in _sample(DEM, 2, seed=4):
        live.observe(b)
    assert live.due()  # the regular refresh period has passed
    m = live.refresh()
    np.testing.assert_array_equal(m.probabilities[touched], first.probabilities[touched])
    assert m.reasons["restart_pending"] == int(touched.sum())
    assert np.all(np.isfinite(m.probabilities)) and np.all(m.probabilities > 0)


def test_a_whole_restart_still_empties_the_window():
    live = LiveNoiseLearner(S, estimator="pairwise", window_shots=4000, refresh_shots=1000,
                            min_shots=2000)
    for b in _sample(DEM, 3, seed=5):
        live.observe(b)
    live.restart()
    assert live.window_shots_now == 0 and not live.due()


def test_many_restarts_are_learned_from_a_few_subwindows_after_each_change():
    from qplane.noise.live import MAX_SUBWINDOWS

    reach = qubit_detectors(CIRCUIT)
    live = LiveNoiseLearner(S, estimator="pairwise", window_shots=40_000, refresh_shots=5000,
                            min_shots=2000, groups=4)
    blocks = _sample(DEM, 16, seed=7)
    for k, b in enumerate(blocks):
        if 2 <= k < 10:
            live.restart(reach[f"q{k}"])
        live.observe(b)
    epochs_before = live._mechanism_epochs()
    m = live.refresh()
    assert len(np.unique(epochs_before[epochs_before > 0])) > MAX_SUBWINDOWS
    assert m.reasons["window_restarted"] == int(np.sum(epochs_before > 0))
    assert np.all(np.isfinite(m.probabilities)) and np.all(m.probabilities > 0)
