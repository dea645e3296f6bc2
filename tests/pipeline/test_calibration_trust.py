"""Only the calibration worker may run experiments or write settings; whatever a calibration
call holds, the service answers it (a result or a refusal) and never raises (hypothesis)."""

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qplane.calibration.backend import StationBackend
from qplane.drivers import open_station
from qplane.pipeline.calibration_link import CalibrationService
from qplane.pipeline.transport import Outbox, make_socket
from qplane.records import CALIBRATION_CALLS, CalibrationCall, Record, decode
from qplane.sim_instruments.lab import sim_lab_config

RUN = "cal-trust"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("caltrust")
    lab = open_station(sim_lab_config(distance=3, drift=False), simulate=True)
    ctx = zmq.Context()
    router = make_socket(ctx, zmq.ROUTER, f"ipc://{folder}/ctl", bind=True, linger_ms=0)
    sink = make_socket(ctx, zmq.PULL, f"ipc://{folder}/rec", bind=True, linger_ms=0)
    records = make_socket(ctx, zmq.PUSH, f"ipc://{folder}/rec", bind=False, linger_ms=0)
    qpu = lab.station.components["qpu"]
    svc = CalibrationService(StationBackend(qpu, lab.controls), tuple(qpu.qubits()),
                             replies=Outbox(router, run_id=RUN, source="instrument_server"),
                             records=Outbox(records, run_id=RUN, source="instrument_server"))
    svc.sink = sink
    yield svc
    ctx.destroy(linger=0)
    lab.close()


def call(name, source, **args):
    body = CalibrationCall(args=CALIBRATION_CALLS[name](**args))
    return Record.build(body, run_id=RUN, source=source, seq=0)


@pytest.mark.parametrize("name,args", [
    ("write_settings", {"settings": {"q0.pi_amplitude": 0.45}, "node": "rabi"}),
    ("write_setting", {"setting": "q0.pi_amplitude", "value": 0.45}),
    ("run_experiment", {"kind": "readout_iq", "qubit": "q0", "shots": 4}),
    ("revert", {"qubit": "q0", "node": "rabi"}),
])
def test_only_the_calibration_worker_may_write_or_run_experiments(service, name, args):
    for source in ("decoder-0", "instrument_server", "intruder"):
        assert "only the calibration worker" in service.refusal(call(name, source, **args))
    assert service.refusal(call(name, "calibration", **args)) is None


def test_reads_are_open_to_any_role(service):
    assert service.refusal(call("read_setting", "decoder-0", setting="q0.pi_amplitude")) is None


json_values = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8)
args_strategy = st.one_of(
    st.builds(lambda s, v, d: ("write_setting", {"setting": s, "value": v, "details": d}),
              st.sampled_from(["q0.pi_amplitude", "q9.x", "", "q0.drive_frequency"]),
              st.floats(allow_nan=False, allow_infinity=False),
              st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
    st.builds(lambda s: ("write_settings", {"settings": s, "node": "rabi"}),
              st.dictionaries(st.sampled_from(["q0.pi_amplitude", "q1.pi_amplitude", "nope"]),
                              st.floats(allow_nan=False, allow_infinity=False), max_size=2)),
    st.builds(lambda s: ("read_setting", {"setting": s}), st.text(max_size=12)),
    st.builds(lambda q, n: ("revert", {"qubit": q, "node": n}), st.sampled_from(["q0", "zz"]),
              st.text(max_size=5)),
    st.builds(lambda k, q, n: ("run_experiment", {"kind": k, "qubit": q, "shots": n}),
              st.sampled_from(["readout_iq", "rabi_amplitude", "ramsey"]),
              st.sampled_from(["q0", "q7", ""]), st.integers(1, 50)),
)


@given(args_strategy)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_call_is_answered_never_raised(service, case):
    name, args = case
    try:
        rec = call(name, "calibration", **args)
    except Exception:  # a call that cannot even be built is refused at the sender
        return
    before = service.calls
    service.handle([b"peer"], rec)  # raises nothing: a result or a refusal goes back
    assert service.calls == before + 1
    while service.sink.poll(0):
        decode(service.sink.recv_multipart())
