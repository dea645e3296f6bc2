"""The simulated QPU's acquisition: small blocks come from one sampled batch, dropped whenever
the circuit changes, and the blocks' distribution is that of sampling each on its own."""

from __future__ import annotations

import numpy as np
import pytest

from qplane.sim_instruments.qpu import SAMPLE_BATCH, SimulatedQPU


def _detection_rate(blocks: list) -> float:
    bits = np.unpackbits(np.concatenate([b.detection_events for b in blocks]), axis=1)
    return float(bits.mean())


def test_small_blocks_match_direct_sampling_in_distribution():
    qpu = SimulatedQPU("qpu_acq_small", distance=3, rounds=3, physical_error_rate=0.01,
                       shots_per_block=1, seed=4)
    try:
        small = [qpu.acquire_block() for _ in range(4 * SAMPLE_BATCH)]
        assert {b.detection_events.shape for b in small} == {(1, 3)}
        assert len({b.index for b in small}) == len(small)
        direct = qpu.circuit().compile_detector_sampler(seed=99).sample(
            4 * SAMPLE_BATCH, bit_packed=True)
        rate_direct = float(np.unpackbits(direct, axis=1).mean())
        # 1024 shots x 24 detectors: the rates agree well within 5 standard errors.
        sigma = np.sqrt(rate_direct * (1 - rate_direct) / (4 * SAMPLE_BATCH * 24))
        assert abs(_detection_rate(small) - rate_direct) < 5 * sigma * np.sqrt(2)
        # Each block's truth is that of its own shots, handed back with its correction.
        for b in small[:5]:
            result = qpu.apply_correction(b.index, np.zeros((1, 1), np.uint8))
            assert result.shots == 1 and result.truth.shape == (1, 1)
    finally:
        qpu.close()


def test_a_changed_circuit_drops_the_sampled_batch():
    qpu = SimulatedQPU("qpu_acq_change", distance=3, rounds=3, physical_error_rate=0.0,
                       shots_per_block=4, seed=1)
    try:
        noiseless = qpu.acquire_block()
        assert not noiseless.detection_events.any()
        qpu.physical_error_rate(0.1)  # rebuilds the circuit: no noiseless shot may be served
        noisy = [qpu.acquire_block() for _ in range(8)]
        assert _detection_rate(noisy) > 0.05
        qpu.shots_per_block(SAMPLE_BATCH)  # at the batch size blocks are sampled directly
        assert qpu.acquire_block().detection_events.shape[0] == SAMPLE_BATCH
    finally:
        qpu.close()


def test_same_seed_same_small_blocks():
    def blocks(seed):
        qpu = SimulatedQPU(f"qpu_acq_seed{seed}", distance=3, rounds=3,
                           physical_error_rate=0.02, shots_per_block=3, seed=seed)
        try:
            return np.concatenate([qpu.acquire_block().detection_events for _ in range(200)])
        finally:
            qpu.close()

    assert np.array_equal(blocks(5), blocks(5))
    assert not np.array_equal(blocks(5), blocks(6))


def _rate_of_next_blocks(qpu, n: int) -> float:
    """Detection rate of the next ``n`` blocks (corrected at once), over the real detectors."""
    blocks = [qpu.acquire_block() for _ in range(n)]
    for b in blocks:
        qpu.apply_correction(b.index, np.zeros((b.detection_events.shape[0], 1), np.uint8))
    bits = np.unpackbits(np.concatenate([b.detection_events for b in blocks]), axis=1,
                         bitorder="little")
    return float(bits[:, :blocks[0].num_detectors].mean())


@pytest.mark.parametrize("route", ["control_map", "instrument_parameter"])
def test_a_setting_changed_between_two_one_shot_blocks_takes_effect_at_once(make_lab, route):
    """The kept sampler and batch never go stale: the block right after a setting changes,
    however it is set, comes from the rebuilt circuit (the batch of the old one had
    SAMPLE_BATCH - 1 shots left, more than the blocks looked at here)."""
    lab = make_lab(distance=3, seed=4, drift=False, shots_per_block=1)
    qpu = lab.station.components["qpu"]
    names = qpu.qubits()
    good = {q: lab.controls.get("pi_amplitude", q) for q in names}

    def set_all(scale: float) -> None:
        for q in names:
            if route == "control_map":
                lab.controls.set("pi_amplitude", q, scale * good[q])
            else:  # straight on the electronics, past the ControlMap
                param, raw = lab.controls.check("pi_amplitude", q, scale * good[q], step=False)
                param.set(raw)

    n = SAMPLE_BATCH // 2
    qpu.acquire_block()  # samples a batch of the calibrated circuit
    calibrated = _rate_of_next_blocks(qpu, n)
    errors = qpu.error_rates()
    set_all(1.2)  # every pi pulse 20 % too strong
    miscalibrated = _rate_of_next_blocks(qpu, n)
    set_all(1.0)
    restored = _rate_of_next_blocks(qpu, n)
    # 128 shots x 24 detectors: calibrated ~0.06, miscalibrated ~0.27 (seeded, so exact).
    assert miscalibrated > 2.5 * calibrated, (calibrated, miscalibrated)
    assert restored < 0.6 * miscalibrated, (restored, miscalibrated)
    assert np.array_equal(qpu.error_rates().idle, errors.idle)  # the same noise as before

