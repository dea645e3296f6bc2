"""Uncertainties under correlated noise, model choice that protects the key, nested starts, and
the T1 shape test (issue 14's held-out targets: within 2σ, Rabi bias, bad data rejected)."""

import math

import numpy as np

from qplane.calibration import analyse
from qplane.calibration.analysis import inflate_errors, residual_correlation
from qplane.calibration.criteria import GateContext, ShapeTest
from qplane.calibration.fit_models import (
    FIT_MODELS,
    correlated_errors,
    fit_model,
    key_shift,
    select_model,
)
from qplane.calibration.fits import FitResult


def _t1(x, tau, a=0.9, off=0.05):
    return off + a * np.exp(-x / tau)


def test_white_correlation_gives_the_usual_errors():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 200e-6, 61)
    y = _t1(x, 40e-6) + rng.normal(0, 0.01, 61)
    model = FIT_MODELS["exponential"]
    fit = fit_model(model, x, y, 0.01)
    errors = correlated_errors(model, x, np.full(61, 0.01), fit.params, [1.0])
    for k in model.names:
        assert math.isclose(errors[k], fit.errors[k], rel_tol=1e-3), k


def test_correlated_noise_widens_the_errors_to_cover_the_truth():
    # AR(1) noise with rho = 0.8 carries ~9x fewer independent points than it has
    x = np.linspace(0, 200e-6, 81)
    inside, widened = 0, []
    for seed in range(24):
        rng = np.random.default_rng(seed)
        e = np.zeros(81)
        for i in range(1, 81):
            e[i] = 0.8 * e[i - 1] + rng.normal(0, 0.01)
        y = _t1(x, 40e-6) + e + rng.normal(0, 0.005, 81)
        r = analyse("t1", x, y, signal_type="magnitude", second_opinion=False, model="exponential")
        v = r.values["t1"]
        inside += abs(v.value - 40e-6) <= 2 * v.error
        plain = fit_model(FIT_MODELS["exponential"], r.x, r.y, r.noise.sigma)
        widened.append(v.error / plain.errors["tau"])
    assert min(widened) >= 1.0 and np.median(widened) > 1.5, widened
    assert inside >= 20, inside


def test_residual_correlation_of_a_slow_drift_is_long():
    z = np.sin(np.linspace(0, 3, 200)) + np.random.default_rng(1).normal(0, 0.1, 200)
    rho = residual_correlation(z)
    assert rho[0] == 1.0 and rho[10] > 0.5


def test_white_noise_is_not_widened():
    rng = np.random.default_rng(3)
    x = np.linspace(0, 200e-6, 61)
    y = _t1(x, 40e-6) + rng.normal(0, 0.01, 61)
    fit = fit_model(FIT_MODELS["exponential"], x, y, 0.01)
    assert inflate_errors(fit, x, y, np.full(61, 0.01)).errors == fit.errors


def _fit(value, error):
    return FitResult("m", {"k": value}, {"k": error}, 1.0, 10, 5.0, True, points=12)


def test_key_shift_keeps_the_richer_model_when_the_key_moves():
    simple = _fit(1.00, 0.01)
    assert key_shift(simple, _fit(1.001, 0.02), "k") > 0.5        # consistent: no evidence
    assert key_shift(simple, _fit(1.10, 0.02), "k") < 1e-3        # the simple model biases it


def test_richer_models_start_from_the_nested_fits():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 1.0, 81)
    theta = 0.2 + (np.pi - 0.2) * x / 0.35
    y = 0.03 + 0.45 * (1 - np.exp(-0.5 * x) * np.cos(theta)) + rng.normal(0, 0.01, 81)
    models = [FIT_MODELS[n] for n in ("rabi_simple", "rabi_phase", "rabi_damped_nophase",
                                      "rabi_damped")]
    _, fits = select_model(models, x, y, 0.01)
    chi2 = {k: f.chi2_red * f.dof for k, f in fits.items()}
    assert chi2["rabi_damped"] <= min(chi2.values()) + 1e-6
    assert chi2["rabi_phase"] <= chi2["rabi_simple"] + 1e-6


def test_rabi_with_a_phase_is_fitted_with_it():
    biases = []
    for seed in range(6):
        rng = np.random.default_rng(10 + seed)
        x = np.linspace(0, 0.9, 40)
        phase = 0.25 * (-1) ** seed
        theta = phase + (np.pi - phase) * x / 0.3
        y = 0.05 + 0.4 * (1 - np.exp(-1.0 * x) * np.cos(theta)) + rng.normal(0, 0.015, 40)
        r = analyse("rabi", x, y, signal_type="magnitude", second_opinion=False)
        assert r.passed, r.reason
        biases.append(r.values["pi_amplitude"].value / 0.3 - 1)
    assert max(map(abs, biases)) < 0.02, biases


def test_t1_that_drops_part_way_is_refused_and_an_exponential_is_not():
    x = np.linspace(0, 600e-6, 25)
    for seed in range(4):
        rng = np.random.default_rng(20 + seed)
        y = _t1(x, 150e-6)
        cut = 4
        y[cut:] = 0.05 + 0.9 * np.exp(-x[cut:] / 25e-6)
        r = analyse("t1", x, y + rng.normal(0, 0.03, 25), signal_type="magnitude",
                    second_opinion=False)
        assert not r.passed and r.gate.check == "residuals", r.reason
        shape = next(c for c in r.gate.criteria if c.name == "shape")
        assert shape.passed is False, shape
        good = analyse("t1", x, _t1(x, 150e-6) + rng.normal(0, 0.03, 25),
                       signal_type="magnitude", second_opinion=False)
        assert good.passed, good.reason
        shape = next(c for c in good.gate.criteria if c.name == "shape")
        assert shape.passed


def test_shape_test_is_a_reusable_criterion():
    x = np.linspace(0, 300e-6, 41)
    y = _t1(x, 60e-6) + np.random.default_rng(5).normal(0, 0.01, 41)
    fit = fit_model(FIT_MODELS["exponential"], x, y, 0.01)
    c = ShapeTest(FIT_MODELS["stretched_exponential"])
    assert c.evaluate(GateContext(fit, x, y, np.full(41, 0.01))).passed
    assert "stretched_exponential" in repr(c)
