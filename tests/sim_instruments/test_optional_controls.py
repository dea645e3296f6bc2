"""The optional controls in the simulated lab: unbound they are played ideally, bound they
change the experiments and the QEC noise the way docs/calibration.md says."""

from __future__ import annotations

import numpy as np
import pytest

from qplane.calibration import SettingsLedger, StationBackend
from qplane.calibration.nodes import ReadoutNode
from qplane.calibration.run import run_node
from qplane.device import OPTIONAL_CONTROLS, ExperimentRequest
from qplane.drivers import open_station
from qplane.sim_instruments import sim_lab_config
from qplane.sim_instruments.noise import (
    NoisyCircuitTemplate,
    Settings,
    qubit_error_rates,
    readout_errors,
)
from qplane.sim_instruments.readout_physics import best_fidelity, ideal_readout


@pytest.fixture(scope="module")
def labs():
    full = open_station(sim_lab_config(distance=3, drift=False, seed=4, optional_controls=True),
                        simulate=True)
    yield None, full
    full.close()


def test_unbound_optional_controls_leave_the_device_as_it_was(labs):
    _, full = labs
    qf = full.station.components["qpu"]
    assert {k.split(".")[1] for k in qf.true_settings()} >= set(OPTIONAL_CONTROLS)
    qf.calibrate_perfectly()
    ef = qf.error_rates()
    # the same device with the optional controls unbound: the required settings only
    s = qf.settings()
    plain = Settings(s.drive_frequency, s.pi_amplitude, s.readout_angle, s.readout_threshold)
    tpl = NoisyCircuitTemplate(distance=3, rounds=3, basis="Z")
    ep = qubit_error_rates(qf.truth(), plain, qf.profile, target_pulses=tpl.target_pulses,
                           data=tpl.data)
    e01, e10 = readout_errors(qf.truth(), s.readout_angle, s.readout_threshold,
                              qf.profile.readout_duration)
    np.testing.assert_allclose(ep.readout_e01, e01)   # the nominal readout, as before
    np.testing.assert_allclose(ep.readout_e10, e10)
    assert ep.cz_phase is None and np.all(ef.cz_phase == 0)
    np.testing.assert_allclose(ep.h, ef.h)          # ideal DRAG adds nothing
    np.testing.assert_allclose(ep.idle, ef.idle)
    # the optimised readout tone reads better than the nominal one
    assert np.all(ef.measure < ep.measure)


def test_readout_tone_and_drag_change_the_noise(labs):
    _, full = labs
    qpu = full.station.components["qpu"]
    qpu.calibrate_perfectly()
    base = qpu.error_rates()
    c = full.controls
    c.set("readout_frequency", "q3", c.get("readout_frequency", "q3") + 0.8e6)
    c.set("drag_beta", "q3", c.get("drag_beta", "q3") + 0.5)
    worse = qpu.error_rates()
    i = qpu.layout.index("q3")
    assert worse.measure[i] > 2 * base.measure[i]
    assert worse.h[i, 2] > base.h[i, 2]
    others = [j for j in range(len(base.measure)) if j != i]
    np.testing.assert_allclose(worse.measure[others], base.measure[others])
    qpu.calibrate_perfectly()


def test_ideal_readout_is_the_peak_of_the_fidelity(labs):
    _, full = labs
    qpu = full.station.components["qpu"]
    truth, p = qpu.truth(), qpu.profile
    f, a, t = ideal_readout(truth, p)
    best = best_fidelity(truth, p, f, a, t)
    for df, fa, ft in ((0.2e6, 1, 1), (-0.2e6, 1, 1), (0, 1.2, 1), (0, 0.8, 1), (0, 1, 1.3),
                       (0, 1, 0.7)):
        assert np.all(best_fidelity(truth, p, f + df, a * fa, t * ft) <= best + 1e-9)


def test_readout_experiments_and_iq_node_with_the_tone_bound(labs):
    _, full = labs
    qpu = full.station.components["qpu"]
    qpu.calibrate_perfectly()
    c = full.controls
    q = "q6"
    f = c.get("readout_frequency", q)
    data = qpu.run_experiment(ExperimentRequest("readout_fidelity_frequency", q,
                                                f + np.linspace(-1e6, 1e6, 21), shots=2000))
    assert data.signal[10] == pytest.approx(data.signal.max(), abs=0.005)
    assert data.signal[0] < data.signal[10] - 0.05
    assert data.settings["readout_frequency"] == pytest.approx(f)
    backend = StationBackend.from_lab(full)
    run = run_node(ReadoutNode(), q, backend, SettingsLedger(backend, clock=backend.now),
                   mode="check")
    assert run.outcome.value == "in_spec", run.reason
    # a tone 1 MHz off: the IQ blobs close up and the fidelity drops
    c.set("readout_frequency", q, f + 1.0e6)
    off = run_node(ReadoutNode(), q, backend, SettingsLedger(backend, clock=backend.now),
                   mode="check")
    assert off.analysis.values["fidelity"] < run.analysis.values["fidelity"] - 0.02
    c.set("readout_frequency", q, f)


def test_rb_sweep_must_be_whole_cliffords():
    from qplane.errors import ConfigError

    with pytest.raises(ConfigError, match="whole"):
        ExperimentRequest("randomized_benchmarking", "q0", [0, 10.5, 20], shots=10)
