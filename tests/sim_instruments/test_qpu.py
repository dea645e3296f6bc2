"""The SimulatedQPU's QEC interface, in both noise models."""

from __future__ import annotations

import numpy as np
import pytest
from qcodes.station import Station

from qplane.codes import memory_circuit
from qplane.errors import ConfigError, QplaneError
from qplane.sim_instruments.qpu import SimulatedQPU


@pytest.fixture
def uniform_qpu():
    qpu = SimulatedQPU("qpu_test_uniform", distance=3, rounds=2, physical_error_rate=0.01,
                       shots_per_block=32, seed=9)
    yield qpu
    qpu.close()


def test_uniform_model_runs_the_nominal_circuit(uniform_qpu):
    expected = memory_circuit(distance=3, rounds=2, basis="Z", p=0.01)
    assert uniform_qpu.circuit() == expected == uniform_qpu.decoding_circuit()
    block = uniform_qpu.acquire_block()
    assert block.detection_events.shape == (32, (expected.num_detectors + 7) // 8)
    assert block.circuit_id == uniform_qpu.circuit_id()
    result = uniform_qpu.apply_correction(block.index, np.zeros((32, 1), np.uint8))
    assert result.truth.shape == (32, 1)
    assert uniform_qpu.shots_done() == 32
    with pytest.raises(QplaneError, match="no pending block"):
        uniform_qpu.apply_correction(block.index, np.zeros((32, 1), np.uint8))


def test_correction_shape_is_checked(uniform_qpu):
    block = uniform_qpu.acquire_block()
    with pytest.raises(QplaneError, match="uint8 of shape"):
        uniform_qpu.apply_correction(block.index, np.zeros((32, 1), np.int64))


def test_device_model_needs_bound_controls():
    qpu = SimulatedQPU("qpu_test_unbound", noise_model="device")
    try:
        with pytest.raises(ConfigError, match="no controls are bound"):
            qpu.acquire_block()
    finally:
        qpu.close()


def test_device_model_decodes_with_the_nominal_circuit_whatever_the_truth(make_lab):
    lab = make_lab(distance=3, seed=2, shots_per_block=16, physical_error_rate=0.004)
    qpu = lab.station.components["qpu"]
    nominal = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004)
    assert qpu.decoding_circuit() == nominal
    assert qpu.circuit() != nominal  # the true noise is per qubit
    ident = qpu.circuit_id()
    qpu.advance_clock(3600.0)
    block = qpu.acquire_block()
    assert block.circuit_id == ident  # drift does not change what the decoder should use
    assert block.num_detectors == nominal.num_detectors


def test_same_seed_same_blocks_different_seed_different(make_lab):
    def blocks(seed):
        lab = make_lab(distance=3, seed=seed, shots_per_block=256)
        qpu = lab.station.components["qpu"]
        out = [qpu.acquire_block().detection_events for _ in range(2)]
        lab.close()
        return out
    a, b, c = blocks(1), blocks(1), blocks(2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_device_qpu_loads_from_a_station_yaml():
    station = Station()
    station.load_config("""
instruments:
  qpu_yaml:
    type: qplane.sim_instruments.qpu.SimulatedQPU
    init: {distance: 5, rounds: 2, basis: X, physical_error_rate: 0.002, shots_per_block: 8,
           seed: 3, noise_model: device, clock_speedup: 0, profile: {t1_median: 1.0e-4}}
""")
    qpu = station.load_instrument("qpu_yaml")
    try:
        assert qpu.profile.t1_median == 1e-4
        assert len(qpu.qubits()) == 49
        assert qpu.noise_model() == "device"
    finally:
        qpu.close()


def test_bad_profile_key_is_named():
    with pytest.raises(ConfigError, match="profile.t1"):
        SimulatedQPU("qpu_test_profile", profile={"t1": 1e-4})


def test_binding_controls_that_miss_qubits_is_refused(make_lab):
    from qplane.drivers import ControlMap
    from qplane.sim_instruments.lab import sim_lab_config

    lab = make_lab(distance=3, seed=1)
    section = sim_lab_config(distance=3)["qplane"]["controls"]
    section["qubits"] = 10  # the patch has 17
    controls = ControlMap.from_config(section, lab.station)
    with pytest.raises(ConfigError, match="no binding for qubit 'q10'"):
        lab.station.components["qpu"].bind_controls(controls)
