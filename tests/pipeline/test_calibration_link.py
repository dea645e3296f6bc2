"""The calibration backend over the wire: service (instrument server side) and remote backend."""

import threading

import numpy as np
import pytest
import zmq

from qplane.calibration.backend import StationBackend
from qplane.drivers import open_station
from qplane.errors import LimitError, QplaneError
from qplane.pipeline.calibration_link import CalibrationService, RemoteBackend
from qplane.pipeline.transport import Inbox, Outbox, make_socket
from qplane.sim_instruments.experiments import ExperimentKind, ExperimentRequest
from qplane.sim_instruments.lab import sim_lab_config

RUN = "cal-run"


@pytest.fixture
def lab():
    lab = open_station(sim_lab_config(distance=3, drift=False), simulate=True)
    yield lab
    lab.close()


@pytest.fixture
def wire(tmp_path):
    ctx = zmq.Context()
    router = make_socket(ctx, zmq.ROUTER, f"ipc://{tmp_path}/ctl", bind=True)
    dealer = make_socket(ctx, zmq.DEALER, f"ipc://{tmp_path}/ctl", bind=False)
    records = make_socket(ctx, zmq.PULL, f"ipc://{tmp_path}/rec", bind=True)
    to_records = make_socket(ctx, zmq.PUSH, f"ipc://{tmp_path}/rec", bind=False)
    yield router, dealer, records, to_records
    ctx.destroy(linger=0)


def serve(service, router, stop):
    inbox = Inbox(router, run_id=RUN, envelope=1)
    while not stop.is_set():
        if router.poll(20):
            got = inbox.recv()
            if got is not None:
                service.handle(*got)


def recorded(sock):
    from qplane.pipeline.wire import decode

    out = []
    while sock.poll(200):
        out.append(decode(sock.recv_multipart()))
    return out


def test_remote_calls_run_on_the_device_and_writes_are_recorded_or_refused(lab, wire):
    router, dealer, records, to_records = wire
    qpu = lab.station.components["qpu"]
    service = CalibrationService(StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                                 replies=Outbox(router, run_id=RUN, source="instrument_server"),
                                 records=Outbox(to_records, run_id=RUN, source="instrument_server"))
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(service, router, stop))
    thread.start()
    try:
        remote = RemoteBackend(dealer, Outbox(dealer, run_id=RUN, source="calibration"), timeout=30)
        assert remote.qubits() == tuple(qpu.qubits())
        data = remote.run_experiment(ExperimentRequest(ExperimentKind.READOUT_IQ, "q0", None, shots=200))
        assert data.kind is ExperimentKind.READOUT_IQ and data.iq0.shape == (200,) and data.iq0.dtype == complex
        rabi = remote.run_experiment(ExperimentRequest(ExperimentKind.RABI_AMPLITUDE, "q0",
                                                       np.linspace(0.0, 0.5, 11), shots=100))
        assert rabi.sweep.shape == (11,) and np.all((rabi.signal >= 0) & (rabi.signal <= 1))

        old = remote.read_setting("q0.pi_amplitude")
        remote.write_setting("q0.pi_amplitude", old + 0.01, details={"node": "rabi"})
        assert remote.read_setting("q0.pi_amplitude") == pytest.approx(old + 0.01)
        # beyond the configured limit: refused by the control map, nothing written
        with pytest.raises(LimitError, match="refused write_setting: LimitError"):
            remote.write_setting("q0.pi_amplitude", 5.0)
        assert remote.read_setting("q0.pi_amplitude") == pytest.approx(old + 0.01)
        with pytest.raises(QplaneError, match="unknown calibration call 'reboot'"):
            remote._call("reboot")
    finally:
        stop.set()
        thread.join()
    changes = [r for r in recorded(records) if r.kind == "parameter_change"]
    assert len(changes) == 1
    m = changes[0].meta
    assert m["parameter"] == "q0.pi_amplitude"
    assert m["old"] == pytest.approx(old) and m["new"] == pytest.approx(old + 0.01)
    assert m["node"] == "rabi" and m["update"] and m["details"]["requested_by"] == "calibration"
    assert "true_value" not in m["details"]  # the truth has its own records
    assert service.refused == 2
    # The simulated truth: simulation_truth records, one per qubit and control, never changes.
    sent = service.record_truth(Outbox(to_records, run_id=RUN, source="truth"))
    truth_records = recorded(records)
    assert sent == len(truth_records) == 4 * len(qpu.qubits())
    assert {r.kind for r in truth_records} == {"simulation_truth"}
    (amp,) = [r.meta for r in truth_records if r.meta["setting"] == "q0.pi_amplitude"]
    assert amp["value"] == pytest.approx(float(qpu.truth().pi_amplitude[0]))
