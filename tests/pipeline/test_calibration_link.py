"""The calibration backend over the wire: service (instrument server side) and remote backend."""

import json
import threading

import h5py
import numpy as np
import pytest
import zmq

from qplane.calibration.backend import StationBackend
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.nodes import ReadoutNode
from qplane.device import ExperimentKind, ExperimentRequest
from qplane.drivers import open_station
from qplane.errors import ConfigError, LimitError, PipelineError, QplaneError, WireFormatError
from qplane.pipeline.calibration_link import (
    CalibrationService,
    RemoteBackend,
    RemoteLedger,
    remote_error,
)
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import Inbox, Outbox, make_socket
from qplane.records import QecInfo, RunEnd, RunStart
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
    from qplane.records import decode

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
            remote.call("reboot")
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
    # the write beyond the limit was refused by the server; the unknown call never left the
    # caller (calls are typed: one that cannot be built is not sent)
    assert service.refused == 1
    # The simulated truth: simulation_truth records, one per qubit and control, never changes.
    sent = service.record_truth(Outbox(to_records, run_id=RUN, source="truth"))
    truth_records = recorded(records)
    assert sent == len(truth_records) == 4 * len(qpu.qubits())
    assert {r.kind for r in truth_records} == {"simulation_truth"}
    (amp,) = [r.meta for r in truth_records if r.meta["setting"] == "q0.pi_amplitude"]
    assert amp["value"] == pytest.approx(float(qpu.truth().pi_amplitude[0]))


class OffThresholdReadout(ReadoutNode):
    """The issue's reproduction: the angle is within every limit, the threshold (2.5) inside
    calibration's old +-10 but outside the control map's +-2."""

    def proposal(self, qubit, analysis, settings):
        return {"readout_angle": settings[f"{qubit}.readout_angle"] + 0.05,
                "readout_threshold": 2.5}


def test_one_ledger_on_the_server_atomic_updates_and_typed_errors_over_the_link(lab, wire, tmp_path):
    router, dealer, records, to_records = wire
    qpu = lab.station.components["qpu"]
    server_records = Outbox(to_records, run_id=RUN, source="instrument_server")
    service = CalibrationService(StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                                 replies=Outbox(router, run_id=RUN, source="instrument_server"),
                                 records=server_records)
    worker_records = Outbox(to_records, run_id=RUN, source="calibration")
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(service, router, stop))
    thread.start()
    try:
        remote = RemoteBackend(dealer, Outbox(dealer, run_id=RUN, source="calibration"), timeout=30)
        ledger = RemoteLedger(remote)
        angle = remote.read_setting("q0.readout_angle")
        threshold = remote.read_setting("q0.readout_threshold")
        # The reproduction: nothing moves, and the caller gets a LimitError (not a bare
        # QplaneError), so the worker's own handling of a refusal runs.
        with pytest.raises(LimitError, match=r"readout_threshold\[q0\].*outside qplane's limits"):
            ledger.apply("q0", {"readout_angle": angle + 0.05, "readout_threshold": 2.5},
                         node="readout")
        assert remote.read_setting("q0.readout_angle") == angle
        assert remote.read_setting("q0.readout_threshold") == threshold
        # ... and through a node run, which is still recorded, saying the update was refused.
        runs = []
        graph = CalibrationGraph(remote, ledger, on_run=runs.append)
        graph.add(OffThresholdReadout(), timeout=3600.0)
        run = graph.calibrate("readout", "q0")
        assert run.outcome.value == "out_of_spec" and run.reason.startswith("update refused:")
        assert remote.read_setting("q0.readout_angle") == angle
        for r in runs:
            body, arrays = r.record_parts()
            worker_records.send(body, arrays)
        # A committed update: both settings, one update id; the worker asks the server's ledger.
        t0 = remote.now()
        changes = ledger.apply("q0", {"readout_angle": angle + 0.05, "readout_threshold": 0.1},
                               node="readout", fit={"fidelity": 0.97})
        assert len(changes) == 2 and len({c.update for c in changes}) == 1
        assert remote.read_setting("q0.readout_threshold") == pytest.approx(0.1)
        assert ledger.changed_since("q0", t0) and not ledger.changed_since("q1", t0)
        assert [c.uid for c in ledger.last_run(qubit="q0", node="readout")] == [c.uid for c in changes]
        assert [c.uid for c in ledger.history] == [c.uid for c in changes]
        reverted = ledger.revert(qubit="q0", node="readout")
        assert {c.reverts for c in reverted} == {changes[0].update}
        assert remote.read_setting("q0.readout_angle") == angle
        # Typed errors: a qplane error keeps its class; anything else names the remote type.
        with pytest.raises(ConfigError, match="no binding for qubit 'q99'"):
            remote.read_setting("q99.pi_amplitude")
        with pytest.raises(WireFormatError, match="calibration call read_setting: Object missing "
                                                  "required field `setting`"):
            remote.call("read_setting", {})
        with pytest.raises(PipelineError, match="the server raised KeyError"):
            raise remote_error("read_setting", "KeyError", "KeyError: 'setting'")
    finally:
        stop.set()
        thread.join()
    assert service.updates_refused == 2 and service.writes == 4

    # Everything in the run file: 4 change rows (update + revert), no row for the refusal.
    path = str(tmp_path / "run.h5")
    server_records.send(RunStart(config_text="x", config_path="c.yaml", station_snapshot={},
                                 num_detectors=8, num_observables=1,
                                 qec=QecInfo(distance=3, rounds=3, basis="Z", shots_per_block=1)))
    service.record_truth(Outbox(to_records, run_id=RUN, source="truth"))
    Outbox(to_records, run_id=RUN, source="launcher").send(
        RunEnd(end_state="completed", reason="test"))
    recorder = Recorder(records=records, path=path, run_id=RUN)
    recorder.run()
    recorder.close()
    with h5py.File(path, "r") as f:
        history = f["parameters/history"][()]
        truth = f["simulation/truth"][()]
        cal = f["calibration/runs"][()]
        events = f["events"][()]
    assert [h["parameter"].decode() for h in history] == ["q0.readout_angle",
                                                          "q0.readout_threshold"] * 2
    assert {h["node"].decode() for h in history} == {"readout", "revert"}
    assert len({h["update"].decode() for h in history}) == 2
    assert all(h["source"].decode() == "instrument_server" for h in history)
    assert len(truth) == 4 * len(qpu.qubits())
    assert [r["outcome"].decode() for r in cal] == ["out_of_spec"]
    refusals = [e for e in events if e["kind"].decode() == "setting_update_refused"]
    assert len(refusals) == 2
    details = json.loads(refusals[0]["details"])
    assert details["error_type"] == "LimitError" and details["requested_by"] == "calibration"
    assert details["settings"]["q0.readout_threshold"] == 2.5
    # `qplane calibration history` reads exactly these rows; revert finds the node's update.
    from qplane.calibration.history import read_history, revert_plan

    assert len(read_history(path)) == 4
    with pytest.raises(QplaneError, match="no unreverted change"):
        revert_plan(read_history(path), qubit="q0", node="readout")
