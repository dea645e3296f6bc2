"""The device contract: the simulated QPU implements it, and the pipeline asks only through it."""

from __future__ import annotations

import numpy as np
import msgspec
import pytest

from qplane.calibration.backend import StationBackend
from qplane.codes import circuit_fingerprint
from qplane.device import (
    CONTROLS,
    QEC_METHODS,
    ControlledDevice,
    ExperimentRunner,
    QECDevice,
    SimulatedTruth,
)
from qplane.drivers import open_station
from qplane.pipeline.calibration_link import CalibrationService
from qplane.sim_instruments.lab import sim_lab_config
from qplane.sim_instruments.noise import Settings


@pytest.fixture(scope="module")
def lab():
    lab = open_station(sim_lab_config(distance=3, seed=3, drift=False), simulate=True)
    try:
        yield lab
    finally:
        lab.close()


class _Sent:
    """An outbox stand-in that keeps what it was asked to send."""

    def __init__(self):
        self.sent = []

    def send(self, body, arrays=None):
        self.sent.append((body.kind_name(), msgspec.to_builtins(body)))


class _Hardware:
    """A device with the calibration interface but no hidden truth, as real hardware has."""

    def qubits(self):
        return ("q0",)

    def run_experiment(self, request):
        raise NotImplementedError


def test_the_simulated_qpu_implements_every_protocol(lab):
    qpu = lab.station.components["qpu"]
    for protocol in (QECDevice, ExperimentRunner, ControlledDevice, SimulatedTruth):
        assert isinstance(qpu, protocol), protocol.__name__
    assert all(callable(getattr(qpu, m)) for m in QEC_METHODS)
    assert qpu.circuit_id() == circuit_fingerprint(qpu.decoding_circuit())
    block = qpu.acquire_block()
    shots = block.detection_events.shape[0]
    flips = np.zeros((shots, (block.num_observables + 7) // 8), dtype=np.uint8)
    result = qpu.apply_correction(block.index, flips)
    assert result.index == block.index and result.shots == shots


def test_hardware_is_not_simulated_truth():
    assert isinstance(_Hardware(), ExperimentRunner)
    assert not isinstance(_Hardware(), (SimulatedTruth, QECDevice, ControlledDevice))


def test_true_settings_are_the_perfect_calibration_of_the_truth(lab):
    qpu = lab.station.components["qpu"]
    ideal = Settings.calibrated(qpu.truth())
    true = qpu.true_settings()
    names = qpu.qubits()
    assert list(true) == [f"{q}.{c}" for c in CONTROLS for q in names]
    for c in CONTROLS:
        assert [true[f"{q}.{c}"] for q in names] == pytest.approx(list(getattr(ideal, c)))


def test_the_calibration_service_records_truth_only_for_a_simulated_device(lab):
    qpu = lab.station.components["qpu"]
    service = CalibrationService(StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                                 replies=_Sent(), records=_Sent())
    truth = _Sent()
    assert service.record_truth(truth) == len(CONTROLS) * len(qpu.qubits())
    kind, meta = truth.sent[0]
    assert kind == "simulation_truth" and meta["setting"] == f"q0.{CONTROLS[0]}"
    assert meta["value"] == pytest.approx(qpu.true_settings()[f"q0.{CONTROLS[0]}"])
    sent = {m["setting"]: m["value"] for _, m in truth.sent}
    assert sent["q1.pi_amplitude"] == pytest.approx(float(qpu.truth().pi_amplitude[1]))

    hardware = CalibrationService(StationBackend(_Hardware(), lab.controls), ("q0",),
                                  replies=_Sent(), records=_Sent())
    assert hardware.record_truth(_Sent()) == 0
