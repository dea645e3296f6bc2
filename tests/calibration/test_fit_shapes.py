"""Session 6's fits and gate: curved backgrounds, stretched Ramsey envelopes, a compressing
Rabi drive, the aliasing check against the expected π amplitude, the model-choice error."""

import math

import numpy as np

from qplane.calibration import analyse
from qplane.calibration.nodes import NODE_TYPES
from qplane.calibration.synthetic import QubitTruth, SyntheticBackend


def _curved_line(rng, n=120, curvature=0.12):
    x = np.linspace(5.0e9 - 10e6, 5.0e9 + 10e6, n)
    u = (x - 5.0e9) / 10e6
    center, h = 5.0e9 + 1.3e6, 0.6e6
    y = 0.5 + curvature * u**2 - 0.5 * h**2 / ((x - center) ** 2 + h**2)
    return x, y + rng.normal(0, 0.01, n), center


def test_a_line_on_a_curved_background_is_fitted_within_2_sigma_and_accepted():
    inside = 0
    for seed in range(5):
        x, y, center = _curved_line(np.random.default_rng(seed))
        r = analyse("spectroscopy", x, y, signal_type="magnitude", second_opinion=False)
        assert r.passed, r.reason
        assert r.fit.model.endswith("_quadratic")
        v = r.values["frequency"]
        inside += abs(v.value - center) <= 2 * v.error
    assert inside >= 4
    # a linear background leaves the bend in the residuals: refused
    x, y, _ = _curved_line(np.random.default_rng(0))
    r = analyse("spectroscopy", x, y, signal_type="magnitude", second_opinion=False,
                background="linear")
    assert not r.passed and r.gate.check == "residuals"


def _gauss_ramsey(rng, n=160, f=1.0e6, t2=12e-6, shots=400):
    x = np.linspace(0, 20e-6, n)
    p = 0.5 + 0.45 * np.exp(-(x / t2) ** 2) * np.cos(2 * np.pi * f * x + 0.2)
    return x, rng.binomial(shots, p) / shots


def test_a_gaussian_ramsey_envelope_is_recognised_and_accepted():
    inside = 0
    for seed in range(5):
        x, y = _gauss_ramsey(np.random.default_rng(10 + seed))
        r = analyse("ramsey", x, y, shots=400, detuning=1e6, second_opinion=False)
        assert r.passed, r.reason
        assert r.fit.model == "ramsey_stretched"
        assert abs(r.values["envelope_exponent"].value - 2.0) < 0.3
        v = r.values["fringe_frequency"]
        inside += abs(v.value - 1e6) <= 2 * v.error
    assert inside >= 4
    # an exponential-only envelope cannot take the Gaussian decay: refused
    x, y = _gauss_ramsey(np.random.default_rng(10))
    r = analyse("ramsey", x, y, shots=400, detuning=1e6, envelope="exponential",
                second_opinion=False)
    assert not r.passed and r.gate.check == "residuals"


def test_an_exponential_ramsey_keeps_the_exponential_envelope():
    rng = np.random.default_rng(3)
    x = np.linspace(0, 20e-6, 160)
    p = 0.5 + 0.45 * np.exp(-x / 12e-6) * np.cos(2 * np.pi * 1e6 * x)
    r = analyse("ramsey", x, rng.binomial(400, p) / 400, shots=400, detuning=1e6,
                second_opinion=False)
    assert r.passed and r.fit.model == "ramsey_fringes"


def test_a_chirped_gaussian_ramsey_is_still_refused():
    rng = np.random.default_rng(5)
    x = np.linspace(0, 20e-6, 200)
    f = 1e6 * (1 + 0.35 * x / x[-1] / 2)
    p = 0.5 + 0.45 * np.exp(-(x / 15e-6) ** 2) * np.cos(2 * np.pi * f * x)
    r = analyse("ramsey", x, rng.binomial(30, p) / 30, shots=30, detuning=1e6,
                second_opinion=False)
    assert not r.passed and r.gate.check == "residuals"


def _aliased_rabi(rng, n=14, api=0.2, step=0.32, shots=500):
    x = np.arange(n) * step
    p = 0.05 + 0.45 * (1 - np.cos(np.pi * x / api))
    return x, rng.binomial(shots, p) / shots


def test_an_aliased_rabi_is_refused_when_the_expected_amplitude_is_given():
    x, y = _aliased_rabi(np.random.default_rng(1))
    plain = analyse("rabi", x, y, shots=500, second_opinion=False)
    assert plain.passed        # without the setting: a slow alias that looks resolved
    assert [c for c in plain.gate.criteria if c.name == "aliasing"][0].passed
    r = analyse("rabi", x, y, shots=500, expected_pi_amplitude=0.22, second_opinion=False)
    assert not r.passed and r.gate.check == "sampling"
    assert r.reason.startswith("aliased") and "expected_pi_amplitude" in r.reason
    # the setting is in the sweep's units
    r = analyse("rabi", x * 1e3, y, shots=500, units="mV", expected_pi_amplitude=220.0,
                second_opinion=False)
    assert not r.passed and r.reason.startswith("aliased")


def test_a_well_sampled_rabi_passes_the_aliasing_check_whatever_the_expected_value():
    rng = np.random.default_rng(2)
    x = np.linspace(0, 0.8, 41)
    p = 0.05 + 0.45 * (1 - np.exp(-0.3 * x) * np.cos(np.pi * x / 0.33))
    y = rng.binomial(500, p) / 500
    for expected in (0.30, 0.36, 0.15, 0.7):   # near, or far off with no alias near it
        r = analyse("rabi", x, y, shots=500, expected_pi_amplitude=expected,
                    second_opinion=False)
        assert r.passed, (expected, r.reason)


def test_the_rabi_node_refuses_an_aliased_sweep_of_its_own():
    truth = QubitTruth(frequency=5.1e9, pi_amplitude=0.06, t1=70e-6, t2_star=45e-6,
                       t2_echo=90e-6)
    b = SyntheticBackend(truth={"q0": truth}, seed=4)
    node = NODE_TYPES["rabi"]()
    settings = dict(b.settings)
    good = node.analyse(b.run_experiment(node.request("q0", settings, check=False)))
    assert good.gate.passed, good.gate.reason
    req = node.request("q0", settings, check=False)
    coarse = type(req)(req.kind, req.qubit, np.arange(10) * 0.06 * 1.6, shots=req.shots)
    bad = node.analyse(b.run_experiment(coarse))
    assert not bad.gate.passed and bad.gate.reason.startswith("aliased"), bad.gate.reason


def test_a_compressing_drive_is_fitted_where_the_rotation_reaches_pi():
    rng = np.random.default_rng(6)
    x = np.linspace(0, 1.2, 61)
    theta = 0.1 + (np.pi - 0.1) * np.tanh(x / 1.2) / math.tanh(0.4 / 1.2)
    y = 0.5 - 0.45 * np.exp(-0.4 * x) * np.cos(theta) + rng.normal(0, 0.005, 61)
    r = analyse("rabi", x, y, sigma=0.005, drive="auto", second_opinion=False)
    assert r.passed and r.fit.model == "rabi_compressed"
    v = r.values["pi_amplitude"]
    assert abs(v.value - 0.4) <= 3 * v.error
    linear = analyse("rabi", x, y, sigma=0.005, second_opinion=False)
    assert abs(linear.values["pi_amplitude"].value - 0.4) > abs(v.value - 0.4)


def test_the_model_choice_widens_the_rabi_error_only_when_candidates_disagree():
    rng = np.random.default_rng(7)
    x = np.linspace(0, 1.0, 45)
    p = 0.05 + 0.45 * (1 - np.exp(-0.5 * x) * np.cos(0.06 + (np.pi - 0.06) * x / 0.4))
    y = rng.binomial(300, p) / 300
    on = analyse("rabi", x, y, shots=300, second_opinion=False)
    off = analyse("rabi", x, y, shots=300, model_uncertainty=False, second_opinion=False)
    assert on.values["pi_amplitude"].value == off.values["pi_amplitude"].value
    assert on.values["pi_amplitude"].error >= off.values["pi_amplitude"].error
    assert on.values["pi_amplitude"].error <= 3 * off.values["pi_amplitude"].error



def test_ramsey_through_a_compressing_readout_keeps_its_frequency():
    """Photon counts with detector dead time (``mu / (1 + d mu / bright)``) compress the
    bright half of each fringe: the fringe's square (a second harmonic) takes the distortion
    and the fringe frequency stays right."""
    import numpy as np

    from qplane.calibration import analyse

    rng = np.random.default_rng(4)
    t = np.linspace(0, 8e-6, 121)
    f, bright, dark = 1.3e6, 3000.0, 300.0
    p = 0.5 + 0.45 * np.exp(-t / 12e-6) * np.cos(2 * np.pi * f * t + 0.2)
    mu = dark + (bright - dark) * p
    sat = 1 + 0.8 * mu / bright
    counts = np.round(rng.normal(mu / sat, np.sqrt(mu / sat**3)))
    r = analyse("ramsey", t, counts, signal_type="magnitude", detuning=1.3e6,
                second_opinion=False)
    assert r.outcome.value == "success", r.reason
    assert r.fit.model == "ramsey_fringes_harmonic"
    v = r.values["fringe_frequency"]
    assert abs(v.value - f) < 3 * v.error
