"""Calibration experiments on the simulated device recover the truth within statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from qplane.device import (
    SWEEP_LIMITS,
    ExperimentData,
    ExperimentKind,
    ExperimentRequest,
    ExperimentRunner,
)
from qplane.errors import ConfigError, LimitError

QUBIT = "q4"  # the centre data qubit of the distance-3 patch


def fit(f, x, data, p0):
    """Least-squares fit with binomial error bars; returns (params, standard errors)."""
    p = np.clip(data.signal, 1.0 / data.shots, 1 - 1.0 / data.shots)
    sigma = np.sqrt(p * (1 - p) / data.shots)
    popt, pcov = curve_fit(f, x, data.signal, p0=p0, sigma=sigma, absolute_sigma=True,
                           maxfev=20000)
    return popt, np.sqrt(np.diag(pcov))


def within(estimate, error, truth, n_sigma=4.0):
    return abs(estimate - truth) < n_sigma * error


@pytest.fixture(scope="module")
def qpu(frozen_lab):
    return frozen_lab.station.components["qpu"]


def truth_of(qpu, qubit=QUBIT):
    return qpu.truth().qubit(qpu.layout.index(qubit))


def test_qpu_is_an_experiment_runner(qpu):
    assert isinstance(qpu, ExperimentRunner)
    assert QUBIT in qpu.qubits()


def test_spectroscopy_peaks_at_the_true_frequency(qpu):
    t = truth_of(qpu)
    sweep = t["frequency"] + np.linspace(-1.5e6, 1.5e6, 151) + 137e3  # not centred on truth
    data = qpu.run_experiment(ExperimentRequest("qubit_spectroscopy", QUBIT, sweep, shots=400))
    lorentz = lambda f, a, b, f0, w: a + b / (1 + ((f - f0) / w) ** 2)  # noqa: E731
    (a, b, f0, w), err = fit(lorentz, sweep, data, [0.01, 0.5, sweep[np.argmax(data.signal)],
                                                     1e5])
    assert err[2] < 20e3  # the test means something: the peak is located to < 20 kHz
    assert within(f0, err[2], t["frequency"]), (f0 - t["frequency"], err[2])
    assert data.settings["spectroscopy_rabi_frequency"] > 0


def test_rabi_period_matches_the_true_pi_amplitude(qpu):
    t = truth_of(qpu)
    amps = np.linspace(0, 0.95, 60)
    data = qpu.run_experiment(ExperimentRequest("rabi_amplitude", QUBIT, amps, shots=500))
    rabi = lambda a, off, amp, a_pi: off + amp * (1 - np.cos(np.pi * a / a_pi)) / 2  # noqa: E731
    (off, amp, a_pi), err = fit(rabi, amps, data, [0.01, 0.95, 0.8 * t["pi_amplitude"]])
    assert err[2] < 0.005 * t["pi_amplitude"]
    assert within(a_pi, err[2], t["pi_amplitude"]), (a_pi, t["pi_amplitude"], err[2])
    # Readout errors and the residual excited population are in the data, as on a device.
    assert 0 < off < 0.05 and 0.9 < amp < 1.0


@pytest.mark.parametrize("offset", [0.0, 150e3])
def test_ramsey_fringes_at_the_set_detuning(qpu, frozen_lab, offset):
    t = truth_of(qpu)
    controls = frozen_lab.controls
    controls.set("drive_frequency", QUBIT, t["frequency"] - offset)
    try:
        delta = 1.0e6
        tau = np.linspace(0, 8e-6, 120)
        data = qpu.run_experiment(ExperimentRequest("ramsey", QUBIT, tau, shots=300,
                                                    artificial_detuning=delta))
    finally:
        controls.set("drive_frequency", QUBIT, t["frequency"])
    ramsey = lambda x, a, b, f, phi, t2: a + b * np.exp(-x / t2) * np.cos(2 * np.pi * f * x + phi)  # noqa: E731,E501
    (a, b, f, phi, t2), err = fit(ramsey, tau, data, [0.5, 0.45, delta + offset, 0.0, 50e-6])
    assert err[2] < 5e3
    assert within(f, err[2], delta + offset), (f, delta + offset, err[2])
    assert data.settings["artificial_detuning"] == delta


def test_t1_decay_recovers_the_true_t1(qpu):
    t = truth_of(qpu)
    tau = np.linspace(0, 4 * t["t1"], 50)
    data = qpu.run_experiment(ExperimentRequest("t1", QUBIT, tau, shots=1000))
    decay = lambda x, a, b, t1: a + b * np.exp(-x / t1)  # noqa: E731
    (a, b, t1), err = fit(decay, tau, data, [0.01, 0.9, 50e-6])
    assert err[2] < 0.05 * t["t1"]
    assert within(t1, err[2], t["t1"]), (t1, t["t1"], err[2])


def test_hahn_echo_recovers_the_true_t2_echo(qpu):
    t = truth_of(qpu)
    tau = np.linspace(0, 4 * t["t2_echo"], 50)
    data = qpu.run_experiment(ExperimentRequest("hahn_echo", QUBIT, tau, shots=1000))
    decay = lambda x, a, b, t2: a - b * np.exp(-x / t2)  # noqa: E731
    (a, b, t2), err = fit(decay, tau, data, [0.5, 0.5, 50e-6])
    assert err[2] < 0.06 * t["t2_echo"]
    assert within(t2, err[2], t["t2_echo"]), (t2, t["t2_echo"], err[2])
    assert t["t2_echo"] > t["t2_star"]  # the echo refocuses slow dephasing


def test_readout_iq_blobs_sit_at_the_true_centres(qpu):
    t = truth_of(qpu)
    data = qpu.run_experiment(ExperimentRequest("readout_iq", QUBIT, None, shots=4000))
    assert data.iq0.shape == data.iq1.shape == (4000,)
    sigma = t["iq_sigma"]
    assert abs(np.median(data.iq0.real) - t["iq0"].real) < 4 * 1.25 * sigma / np.sqrt(4000)
    assert abs(np.median(data.iq1.imag) - t["iq1"].imag) < 4 * 1.25 * sigma / np.sqrt(4000)
    # The calibrated discriminator: about 1 % assignment error each way, not zero.
    e01, p1 = data.signal
    assert 0.001 < e01 < 0.03 and 0.95 < p1 < 0.999


def test_projection_noise_is_binomial(qpu):
    """Repeated points scatter with the binomial spread of their mean, no more, no less."""
    x = np.full(400, 0.5 * truth_of(qpu)["pi_amplitude"])  # P1 = 1/2
    data = qpu.run_experiment(ExperimentRequest("rabi_amplitude", QUBIT, x, shots=200))
    p = data.signal.mean()
    expected = np.sqrt(p * (1 - p) / 200)
    assert abs(data.signal.std() / expected - 1) < 0.15


def test_experiments_advance_the_simulated_clock(qpu):
    before = qpu.sim_time()
    data = qpu.run_experiment(ExperimentRequest("t1", QUBIT, [0, 1e-4], shots=100))
    assert data.time == before
    assert qpu.sim_time() == pytest.approx(before + data.duration)
    assert data.duration == pytest.approx(100 * (2 * qpu.profile.repetition_time + 1e-4))


def test_spectroscopy_outside_the_electronics_reach_is_refused(qpu):
    with pytest.raises(LimitError, match="drive_frequency"):
        qpu.run_experiment(ExperimentRequest("qubit_spectroscopy", QUBIT, [5.6e9, 5.7e9],
                                             shots=10))


def test_unknown_qubit_is_refused(qpu):
    with pytest.raises(ConfigError, match="no qubit 'q99'"):
        qpu.run_experiment(ExperimentRequest("t1", "q99", [0, 1e-6], shots=10))


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="rabi", qubit="q0", sweep=[0, 1]), "unknown experiment kind"),
    (dict(kind="t1", qubit="q0", sweep=[0]), "2..2001 points"),
    (dict(kind="t1", qubit="q0", sweep=[[0, 1]]), "one-dimensional"),
    (dict(kind="t1", qubit="q0", sweep=[0, -1e-6]), r"\[0.0, 0.002\] s"),
    (dict(kind="t1", qubit="q0", sweep=[0, np.nan]), "finite"),
    (dict(kind="t1", qubit="q0", sweep=[0, 1e-6], shots=0), "shots"),
    (dict(kind="t1", qubit="q0", sweep=[0, 1e-6], shots=True), "shots"),
    (dict(kind="t1", qubit="q0", sweep=np.zeros(2000), shots=100_000), "exceeds"),
    (dict(kind="ramsey", qubit="q0", sweep=[0, 1e-6], artificial_detuning=1e9), "artificial"),
    (dict(kind="t1", qubit="q0", sweep=[0, 1e-6], artificial_detuning=1e6), "ramsey only"),
    (dict(kind="t1", qubit="", sweep=[0, 1e-6]), "qubit"),
])
def test_requests_are_validated(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ExperimentRequest(**kwargs)


def test_every_kind_has_limits_and_data_validates():
    assert set(SWEEP_LIMITS) == set(ExperimentKind)
    with pytest.raises(ValueError, match="fractions"):
        ExperimentData("t1", "q0", [0, 1], "s", [0.5, 1.5], 10, {}, 0.0)
    with pytest.raises(ValueError, match="'s'"):
        ExperimentData("t1", "q0", [0, 1], "Hz", [0.5, 0.5], 10, {}, 0.0)
    with pytest.raises(ValueError, match="iq0"):
        ExperimentData("readout_iq", "q0", [0, 1], "state", [0.5, 0.5], 10, {}, 0.0)
    d = ExperimentData("t1", "q0", [0, 1], "s", [0.5, 0.25], 10, {"x": 1}, 2.0)
    with pytest.raises(ValueError):
        d.signal[0] = 0.1  # read-only
