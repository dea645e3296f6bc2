"""Each fit recovers known parameters from simulated data within its stated error."""

import numpy as np
import pytest

from qplane.calibration.fits import fit_readout
from qplane.calibration.nodes import NODE_TYPES
from qplane.calibration.synthetic import QubitTruth, SyntheticBackend

# A healthy qubit; each test mis-sets the control its node calibrates.
TRUTH = QubitTruth(frequency=5.1e9, pi_amplitude=0.35, t1=70e-6, t2_star=45e-6, t2_echo=90e-6)


def _backend(seed: int) -> SyntheticBackend:
    b = SyntheticBackend(truth={"q0": TRUTH}, seed=seed)
    return b


def _settings(b: SyntheticBackend) -> dict[str, float]:
    return {k: v for k, v in b.settings.items()}


def _pulls(node_name: str, key: str, true_value, seeds=range(6), **tweak):
    pulls = []
    for seed in seeds:
        b = _backend(seed)
        b.settings.update(tweak)
        node = NODE_TYPES[node_name]()
        data = b.run_experiment(node.request("q0", _settings(b), check=False))
        analysis = node.analyse(data)
        assert analysis.gate.passed, analysis.gate.reason
        fit = analysis.fit
        pulls.append((fit.params[key] - true_value(b)) / fit.errors[key])
    return np.array(pulls)


def test_spectroscopy_recovers_qubit_frequency():
    pulls = _pulls("spectroscopy", "center", lambda b: TRUTH.frequency,
                   **{"q0.drive_frequency": TRUTH.frequency + 0.6e6})
    assert np.all(np.abs(pulls) < 4), pulls


def test_rabi_recovers_pi_amplitude():
    pulls = _pulls("rabi", "pi_amplitude", lambda b: TRUTH.pi_amplitude,
                   **{"q0.pi_amplitude": TRUTH.pi_amplitude * 1.03})
    assert np.all(np.abs(pulls) < 4), pulls


def test_ramsey_recovers_detuning_and_proposes_the_true_frequency():
    off = 120e3
    for seed in range(4):
        b = _backend(seed)
        b.settings["q0.drive_frequency"] = TRUTH.frequency - off
        node = NODE_TYPES["ramsey"]()
        analysis = node.analyse(b.run_experiment(node.request("q0", _settings(b), check=False)))
        assert analysis.gate.passed, analysis.gate.reason
        err = analysis.fit.errors["frequency"]
        assert abs(analysis.values["frequency_offset"] - off) < 4 * err
        new = node.proposal("q0", analysis, _settings(b))["drive_frequency"]
        assert abs(new - TRUTH.frequency) < 4 * err


@pytest.mark.parametrize("node_name,true_tau", [("t1", TRUTH.t1), ("echo", TRUTH.t2_echo)])
def test_decays_recover_time_constants(node_name, true_tau):
    pulls = _pulls(node_name, "tau", lambda b: true_tau)
    assert np.all(np.abs(pulls) < 4), pulls
    assert abs(np.mean(pulls)) < 2.5


def test_readout_recovers_angle_threshold_and_fidelity():
    rng = np.random.default_rng(7)
    n = 20000
    c0, c1, sigma = 0.2 + 0.1j, 0.2 + 0.1j + 1.2 * np.exp(0.7j), 0.3
    z0 = c0 + sigma * (rng.normal(size=n) + 1j * rng.normal(size=n))
    z1 = c1 + sigma * (rng.normal(size=n) + 1j * rng.normal(size=n))
    r = fit_readout(z0, z1)
    assert abs(r.angle - 0.7) < 0.02
    # The optimal threshold for equal Gaussian blobs is the midpoint of the projected centres.
    mid = ((c0 + c1) * np.exp(-0.7j)).real / 2
    assert abs(r.threshold - mid) < 0.05
    from scipy.stats import norm
    expected = norm.cdf(1.2 / 2 / sigma)
    assert abs(r.fidelity - expected) < 3 * r.fidelity_error + 0.005


def test_fits_recover_the_simulated_labs_truth():
    """The same nodes on the simulated lab's device model (its own physics and readout)."""
    from qplane.calibration.backend import StationBackend
    from qplane.calibration.run import read_settings
    from qplane.drivers import open_station
    from qplane.sim_instruments.lab import sim_lab_config

    with open_station(sim_lab_config(distance=3, seed=11, drift=False), simulate=True) as lab:
        backend = StationBackend.from_lab(lab)
        qpu = backend.device
        truth = qpu.truth()
        for q in ("q0", "q4"):
            i = qpu.layout.index(q)
            lab.controls.set("drive_frequency", q, float(truth.frequency[i]) + 150e3)
            lab.controls.set("pi_amplitude", q, float(truth.pi_amplitude[i]) * 1.03)
            settings = read_settings(backend, q)
            expect = {"spectroscopy": ("center", truth.frequency[i]),
                      "rabi": ("pi_amplitude", truth.pi_amplitude[i]),
                      "t1": ("tau", truth.t1[i]), "echo": ("tau", truth.t2_echo[i])}
            for name, (key, true) in expect.items():
                node = NODE_TYPES[name]()
                analysis = node.analyse(backend.run_experiment(node.request(q, settings,
                                                                             check=False)))
                assert analysis.gate.passed, (name, analysis.gate.reason)
                fit = analysis.fit
                assert abs(fit.params[key] - true) < 4 * fit.errors[key], (name, q)
            lab.controls.set("drive_frequency", q, float(truth.frequency[i]) + 60e3)
            node = NODE_TYPES["ramsey"]()
            analysis = node.analyse(backend.run_experiment(
                node.request(q, read_settings(backend, q), check=False)))
            assert analysis.gate.passed, analysis.gate.reason
            new = node.proposal(q, analysis, read_settings(backend, q))["drive_frequency"]
            assert abs(new - truth.frequency[i]) < 4 * analysis.fit.errors["frequency"] + 1e3
