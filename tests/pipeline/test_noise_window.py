"""A decoding worker learns which qubits a calibration update set, and restarts only their part
of its live noise window: the read-only history call over the control link."""

from __future__ import annotations

import numpy as np
import pytest
import zmq

from qplane.calibration.backend import StationBackend
from qplane.codes import memory_circuit
from qplane.drivers import open_station
from qplane.noise import LiveNoiseLearner
from qplane.noise.qubits import qubit_detectors
from qplane.pipeline.calibration_link import CalibrationService, RemoteBackend
from qplane.pipeline.noise_window import DeviceChanges
from qplane.pipeline.transport import Outbox, make_socket
from qplane.records import CalibrationCall, HistoryCall, Record, WriteSettingCall
from qplane.sim_instruments.lab import sim_lab_config

from tests.pipeline.serving import serving

RUN = "noise-window-run"


@pytest.fixture
def served(tmp_path):
    lab = open_station(sim_lab_config(distance=3, drift=False), simulate=True)
    ctx = zmq.Context()
    router = make_socket(ctx, zmq.ROUTER, f"ipc://{tmp_path}/ctl", bind=True)
    cal = make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/ctl", bind=False)
    dec = make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/ctl", bind=False)
    sink = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)  # the recorder's end
    records = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
    qpu = lab.station.components["qpu"]
    service = CalibrationService(StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                                 replies=Outbox(router, run_id=RUN, source="instrument_server"),
                                 records=Outbox(records, run_id=RUN, source="instrument_server"))
    try:
        with serving(service, router, run_id=RUN):
            yield service, cal, dec
    finally:
        sink.close(linger=0)
        ctx.destroy(linger=0)
        lab.close()


def test_a_decoder_reads_the_history_and_restarts_the_window_of_the_qubit_changed(served):
    service, cal, dec = served
    remote = RemoteBackend(cal, Outbox(cal, run_id=RUN, source="calibration"), timeout=30)
    changes = DeviceChanges(dec, Outbox(dec, run_id=RUN, source="decoder-0"), timeout=30)
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004)
    changes.add_circuit("c", circuit)
    dem = circuit.detector_error_model(decompose_errors=True)
    live = LiveNoiseLearner(dem, estimator="pairwise", window_shots=10_000,
                            refresh_shots=5000, min_shots=1000)
    sampler = dem.compile_sampler(seed=1)
    assert changes.note(0, {"c": 0}) == [] and changes.poll() == []  # the baseline
    live.observe(sampler.sample(1500, bit_packed=True)[0])
    live.refresh()
    old = remote.read_setting("q4.pi_amplitude")
    remote.write_setting("q4.pi_amplitude", old + 0.01, details={"node": "rabi"})
    # the block after the change: the worker asks, and keeps decoding meanwhile
    assert changes.note(1, {"c": live.shots_seen}) == []
    live.observe(sampler.sample(500, bit_packed=True)[0])
    ((qubits, at),) = changes.poll(wait=30)
    assert qubits == {"q4"} and at == {"c": 1500}
    touched = changes.detectors("c", qubits)
    np.testing.assert_array_equal(touched, qubit_detectors(circuit)["q4"])
    assert 0 < len(touched) < circuit.num_detectors and changes.per_qubit == 1
    # restarted where the change happened, for those detectors only: every block is kept
    live.restart(touched, at=at["c"])
    assert live.window_shots_now == 2000 and live.restarts == 1
    assert not live.due()  # 500 shots since the change < min_shots
    live.observe(sampler.sample(500, bit_packed=True)[0])
    assert live.due()  # the restarted part is full: due long before the refresh period
    # nothing new: no call, no restart
    assert changes.note(1, {"c": live.shots_seen}) == [] and changes.poll() == []
    # the decoder never subscribed to the calibration worker's detection counts
    assert set(service.subscribers.values()) == {"calibration"}


def test_a_decoder_may_ask_for_the_history_but_write_nothing(served):
    service, _, _ = served
    def call(args, source):
        return Record.build(CalibrationCall(args=args), run_id=RUN, source=source, seq=0)
    assert service.refusal(call(HistoryCall(), "decoder-0")) is None
    write = WriteSettingCall(setting="q0.pi_amplitude", value=0.5, details={})
    assert "only the calibration worker" in service.refusal(call(write, "decoder-0"))
    assert service.refusal(call(write, "calibration")) is None


def test_when_the_ledger_does_not_answer_the_whole_window_restarts(tmp_path):
    ctx = zmq.Context()
    try:
        dec = make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/nobody", bind=False)
        changes = DeviceChanges(dec, Outbox(dec, run_id=RUN, source="decoder-0"), timeout=0.05)
        changes.note(0, {"c": 0})
        changes.note(2, {"c": 100})
        assert changes.settle() == [(None, {"c": 100})]
        assert changes.detectors("c", None) is None and changes.whole == 1
    finally:
        ctx.destroy(linger=0)
    ok = DeviceChanges(None, None)
    ok.add_circuit("c", memory_circuit(distance=3, rounds=3, basis="Z", p=0.004))
    assert ok.detectors("c", {"drive_lo"}) is None  # a setting of no qubit: all of them
    assert ok.note(5, {"c": 0}) == []
    # a count that goes down: a new ledger, restart everything at once
    assert ok.note(3, {"c": 10}) == [(None, {"c": 10})]


def test_a_whole_restart_at_a_past_shot_keeps_the_blocks_after_it():
    dem = memory_circuit(distance=3, rounds=3, basis="Z", p=0.004).detector_error_model(
        decompose_errors=True)
    live = LiveNoiseLearner(dem, estimator="pairwise", window_shots=10_000, refresh_shots=1000,
                            min_shots=1000)
    sampler = dem.compile_sampler(seed=2)
    for _ in range(3):
        live.observe(sampler.sample(1000, bit_packed=True)[0])
    live.restart(at=2000)
    assert live.window_shots_now == 1000 and live.due()
