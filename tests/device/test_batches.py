"""Several blocks per device call: the batch serves and scores exactly what one by one does."""

from __future__ import annotations

import numpy as np
import pytest
import stim

from qplane.codes import memory_circuit
from qplane.device import CorrectionResult, SyndromeBlock, acquire_blocks, apply_corrections
from qplane.drivers import ReplayQPU
from qplane.errors import QplaneError, SourceExhausted
from qplane.sim_instruments.qpu import SimulatedQPU


@pytest.fixture
def replay_files(tmp_path):
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    circuit.to_file(str(tmp_path / "c.stim"))
    dets, obs = circuit.compile_detector_sampler(seed=5).sample(23, separate_observables=True)
    stim.write_shot_data_file(data=np.hstack([dets, obs]), path=str(tmp_path / "s.b8"),
                              format="b8", num_detectors=circuit.num_detectors,
                              num_observables=1)
    return str(tmp_path / "s.b8"), str(tmp_path / "c.stim")


_opened = 0


def _replay(files, *, loop: bool, shots: int = 2) -> ReplayQPU:
    global _opened
    _opened += 1
    return ReplayQPU(f"replay_batch_{_opened}", source=files[0], format="b8", circuit=files[1],
                     observables="appended", shots_per_block=shots, distance=3, rounds=3,
                     basis="Z", loop=loop)


def _sim(seed: int = 4, shots: int = 3) -> SimulatedQPU:
    global _opened
    _opened += 1
    qpu = SimulatedQPU(f"sim_batch_{_opened}", distance=3, rounds=3, basis="Z",
                       physical_error_rate=0.01, seed=seed)
    qpu.shots_per_block(shots)
    return qpu


def _same_blocks(a: list[SyndromeBlock], b: list[SyndromeBlock]) -> None:
    assert [x.index for x in a] == [x.index for x in b]
    assert [x.circuit_id for x in a] == [x.circuit_id for x in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.detection_events, y.detection_events)


def _wrong(rng, block: SyndromeBlock) -> np.ndarray:
    return rng.integers(0, 2, (len(block.detection_events), 1), dtype=np.uint8)


@pytest.mark.parametrize("loop", [True, False])
def test_replay_batch_serves_and_scores_what_one_by_one_does(replay_files, loop):
    one, many = _replay(replay_files, loop=loop), _replay(replay_files, loop=loop)
    try:
        singles, batches = [], []
        for _ in range(3):  # 23 shots in blocks of 2: the batches cross the end of the data
            batch = many.acquire_blocks(5)
            batches += batch
            for _ in batch:
                singles.append(one.acquire_block())
        _same_blocks(singles, batches)
        assert len(batches) == (15 if loop else 12)  # off: the last batch ends with the data
        assert one.shots_served() == many.shots_served()
        rng = np.random.default_rng(1)
        flips = [_wrong(rng, b) for b in singles]
        by_one = [one.apply_correction(b.index, f) for b, f in zip(singles, flips)]
        by_batch = many.apply_corrections([(b.index, f) for b, f in zip(batches, flips)])
        assert [(r.index, r.shots, r.failures) for r in by_one] == \
               [(r.index, r.shots, r.failures) for r in by_batch]
        assert sum(r.failures for r in by_batch) > 0  # the scores were compared, not all zero
        for r, s in zip(by_one, by_batch):
            np.testing.assert_array_equal(r.truth, s.truth)
        if not loop:
            with pytest.raises(SourceExhausted):
                many.acquire_blocks(5)
    finally:
        one.close()
        many.close()


def test_sim_batch_serves_and_scores_what_one_by_one_does():
    one, many = _sim(), _sim()
    try:
        singles = [one.acquire_block() for _ in range(200)]  # crosses the sampler's batches
        batches = [b for _ in range(25) for b in many.acquire_blocks(8)]
        _same_blocks(singles, batches)
        rng = np.random.default_rng(2)
        flips = [_wrong(rng, b) for b in singles]
        by_one = [one.apply_correction(b.index, f) for b, f in zip(singles, flips)]
        by_batch = many.apply_corrections([(b.index, f) for b, f in zip(batches, flips)])
        assert [(r.index, r.failures) for r in by_one] == [(r.index, r.failures) for r in by_batch]
        assert (one.shots_done(), one.logical_failures()) == (many.shots_done(), many.logical_failures())
        assert many.logical_failures() > 0
    finally:
        one.close()
        many.close()


def test_a_refused_correction_fails_alone(replay_files):
    qpu = _replay(replay_files, loop=True)
    try:
        blocks = qpu.acquire_blocks(3)
        good = np.zeros((2, 1), np.uint8)
        results = apply_corrections(qpu, [(blocks[0].index, good),
                                          (blocks[1].index, np.zeros((3, 1), np.uint8)),
                                          (blocks[2].index, good)])
        assert [type(r) for r in results] == [CorrectionResult, QplaneError, CorrectionResult]
        assert "must be uint8 of shape (2, 1)" in str(results[1])  # the per-block message
        # the first and third were applied once, the refused one is still pending
        assert qpu.apply_corrections([(blocks[1].index, good)])[0].index == blocks[1].index
        with pytest.raises(QplaneError, match="names a block twice"):
            qpu.apply_corrections([(blocks[0].index, good), (blocks[0].index, good)])
    finally:
        qpu.close()


class _CountingSim(SimulatedQPU):
    """Overrides only the per-block call: the batch helper must still call it per block."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = 0

    def acquire_block(self):
        self.seen += 1
        return super().acquire_block()


def test_a_subclass_watching_each_block_is_called_per_block():
    global _opened
    _opened += 1
    qpu = _CountingSim(f"sim_batch_{_opened}", distance=3, rounds=3, basis="Z",
                       physical_error_rate=0.01, seed=1)
    try:
        assert len(acquire_blocks(qpu, 4)) == 4 and qpu.seen == 4
    finally:
        qpu.close()


def test_the_helper_uses_the_native_batch_once():
    qpu = _sim()
    calls = []
    native = qpu.acquire_blocks
    qpu.acquire_blocks = lambda n: calls.append(n) or native(n)
    try:
        assert len(acquire_blocks(qpu, 6)) == 6 and calls == [6]
    finally:
        qpu.close()
