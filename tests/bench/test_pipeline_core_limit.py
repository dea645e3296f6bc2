"""The pipeline benchmark's core limit: the most shots/s the cores could carry for a block's work,
from each component's measured cost per shot."""

from __future__ import annotations

import numpy as np
import pytest

from qplane.bench.pipeline import core_limit
from qplane.codes import memory_circuit

WIRE = [{"kind": k, "shots": 1024, "build_encode_us": e, "decode_us": d, "total_us": e + d}
        for k, e, d in (("syndrome", 4.0, 3.0), ("correction", 2.0, 1.0), ("applied", 5.0, 4.0))]


@pytest.fixture(scope="module")
def block():
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.003)
    dets, obs = circuit.compile_detector_sampler(seed=2).sample(
        1024, bit_packed=True, separate_observables=True)
    return circuit, dets, obs


def test_the_limit_shares_the_summed_cost_per_shot_between_the_cores(block):
    circuit, dets, preds = block
    one = core_limit(circuit, dets, preds, source="replay", decode_us_per_shot=0.2, wire=WIRE,
                     cores=1, repeats=5)
    parts = one["us_per_shot"]
    assert set(parts) == {"acquire", "decode", "record", "wire"}
    assert parts["decode"] == 0.2 and all(v > 0 for v in parts.values())
    # the syndrome is encoded once and decoded twice (worker, recorder); the others once each
    assert parts["wire"] == pytest.approx((4.0 + 2 * 3.0 + 3.0 + 9.0) / 1024)
    assert one["shots_per_s"] == pytest.approx(1e6 / sum(parts.values()))
    two = core_limit(circuit, dets, preds, source="replay", decode_us_per_shot=0.2, wire=WIRE,
                     cores=2, repeats=5)
    assert two["shots_per_s"] == pytest.approx(2e6 / sum(two["us_per_shot"].values()))


def test_simulated_acquisition_costs_stim_sampling_and_replay_a_copy(block):
    circuit, dets, preds = block
    sim, replay = (core_limit(circuit, dets, preds, source=s, decode_us_per_shot=0.2, wire=WIRE,
                              cores=2, repeats=5)["us_per_shot"]["acquire"]
                   for s in ("sim", "replay"))
    assert sim > replay  # sampling a shot costs more than copying a recorded one
    assert np.isfinite(sim) and np.isfinite(replay)
