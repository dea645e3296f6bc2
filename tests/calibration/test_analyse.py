"""qplane.calibration.analyse on any lab's data: fit models, noise model, gate, units, types."""

import math

import numpy as np
import pytest

from qplane.calibration import analyse
from qplane.calibration.criteria import Gate, GateContext, RelativeUncertainty, ResidualsWhite
from qplane.calibration.fit_models import FIT_MODELS, fit_model
from qplane.calibration.units import format_value, to_si
from qplane.errors import AnalysisError


def _rabi(x, api, phase, damping, c=0.9, off=0.03):
    theta = phase + (np.pi - phase) * x / api
    return off + c / 2 * (1 - np.exp(-damping * x) * np.cos(theta))


def test_rabi_with_phase_and_damping_has_no_bias():
    rng = np.random.default_rng(1)
    biases = []
    for seed in range(5):
        x = np.linspace(0, 1.0, 61)
        y = _rabi(x, 0.35, 0.25 * (-1) ** seed, 1.2) + rng.normal(0, 0.01, 61)
        r = analyse("rabi", x, y, signal_type="magnitude", second_opinion=False)
        assert r.passed, r.reason
        assert r.fit.model == "rabi_damped"
        biases.append(r.values["pi_amplitude"].value / 0.35 - 1)
    assert max(map(abs, biases)) < 0.02, biases


def test_simple_rabi_keeps_the_simple_model():
    x = np.linspace(0, 0.8, 41)
    y = _rabi(x, 0.3, 0.0, 0.0)
    y = np.random.default_rng(0).binomial(500, y) / 500
    r = analyse("rabi", x, y, shots=500, second_opinion=False)
    assert r.passed and r.fit.model == "rabi_simple", (r.fit.model, r.reason)
    assert abs(r.values["pi_amplitude"].value - 0.3) < 3 * r.values["pi_amplitude"].error


def test_fano_background_centre_is_the_pole():
    rng = np.random.default_rng(2)
    f = np.linspace(7.0e9 - 3e6, 7.0e9 + 3e6, 201)
    c, w = 7.0e9 + 0.4e6, 0.27e6
    h = w / 2
    lor = h**2 / ((f - c) ** 2 + h**2)
    disp = h * (f - c) / ((f - c) ** 2 + h**2)
    y = 1.0 - 0.6 * lor + 0.5 * disp + 0.05 * (f - 7e9) / 3e6 + rng.normal(0, 0.005, len(f))
    r = analyse("spectroscopy", f, y * 1e-3, signal_type="magnitude", second_opinion=False)
    assert r.passed, r.reason
    assert r.fit.model.endswith("fano"), r.fit.model
    assert abs(r.values["frequency"].value - c) < 0.05 * w


@pytest.mark.parametrize("model", ["lorentzian", "gaussian", "gaussian_linear", "exponential",
                                   "ramsey_fringes", "ramsey_decay"])
def test_each_model_recovers_its_parameters(model):
    m = FIT_MODELS[model]
    if model.startswith(("lorentzian", "gaussian")):
        x = np.linspace(-5e6, 5e6, 121)
        p = {"center": 0.7e6, "width": 1.2e6, "amplitude": 0.5, "offset": 0.1, "slope": 0.02}
    elif model == "exponential":
        x = np.linspace(0, 300e-6, 41)
        p = {"tau": 60e-6, "amplitude": 0.8, "offset": 0.05}
    elif model == "ramsey_fringes":
        x = np.linspace(0, 10e-6, 101)
        p = {"frequency": 1.3e6, "t2": 7e-6, "offset": 0.5, "a_cos": 0.3, "a_sin": -0.2}
    else:
        x = np.linspace(0, 100e-6, 51)
        p = {"t2": 30e-6, "offset": 0.5, "amplitude": 0.45}
    y = m.evaluate(x, p) + np.random.default_rng(3).normal(0, 0.002, len(x))
    fit = fit_model(m, x, y, 0.002)
    assert fit.converged
    for k, v in p.items():
        if k in fit.params:
            assert abs(fit.params[k] - v) < 5 * fit.errors[k] + 1e-9 * abs(v), (k, fit.params[k])


def test_zero_detuning_ramsey_is_analysable():
    t = np.linspace(0, 60, 61)    # µs
    y = 0.5 + 0.45 * np.exp(-t / 20) + np.random.default_rng(4).normal(0, 0.01, 61)
    r = analyse("ramsey", t, y, units="us", detuning=0, second_opinion=False)
    assert r.passed, r.reason
    assert abs(r.values["t2_star"].value - 20e-6) < 3 * r.values["t2_star"].error
    assert "[" not in r.reason or "0]" not in r.reason


def test_detuned_ramsey_short_window():
    t = np.linspace(0.05, 1.95, 49)   # µs, a healthy qubit
    y = 0.5 + 0.45 * np.exp(-t / 40) * np.cos(2 * np.pi * 1.01 * t)
    y = np.random.default_rng(5).binomial(400, y) / 400
    r = analyse("ramsey", t, y, units="µs", shots=400, detuning=1e6, second_opinion=False)
    assert r.passed, r.reason
    v = r.values["frequency_offset"]
    assert abs(v.value - 10e3) < 3 * v.error


def test_no_signal_is_no_signal_not_under_sampled():
    f = np.linspace(5.0e9, 5.004e9, 81)
    y = 0.02 + np.random.default_rng(6).normal(0, 0.003, 81)
    r = analyse("spectroscopy", f, y, signal_type="magnitude", second_opinion=False)
    assert r.outcome.value == "bad_data" and r.gate.check == "signal", r.reason
    assert "no signal" in r.reason


def test_gate_tolerates_technical_noise_but_catches_structure():
    rng = np.random.default_rng(7)
    x = np.linspace(0, 300e-6, 61)
    clean = 0.05 + 0.85 * np.exp(-x / 60e-6)
    accepted = 0
    for _ in range(10):   # binomial shots plus technical noise 3x the shot noise
        y = rng.binomial(1000, clean) / 1000 + rng.normal(0, 0.025, len(x))
        accepted += analyse("t1", x, y, shots=1000, second_opinion=False).passed
    assert accepted >= 9
    y = clean.copy()
    y[30:] = np.clip(y[30:] + 0.3, 0, 1)    # a fluctuator resets the population mid-sweep
    y = rng.binomial(1000, y) / 1000 + rng.normal(0, 0.01, len(x))
    r = analyse("t1", x, y, shots=1000, second_opinion=False)
    assert r.gate.check == "residuals", r.reason


def test_specs_are_relative_and_configurable():
    t = np.linspace(0, 5e-6, 101)
    y = 0.5 + 0.4 * np.exp(-t / 20e-6) * np.cos(2 * np.pi * 2e6 * t)
    y = y + np.random.default_rng(8).normal(0, 0.05, len(t))
    loose = analyse("ramsey", t, y, detuning=2e6, second_opinion=False)
    strict = analyse("ramsey", t, y, detuning=2e6, max_relative_error=1e-5,
                     second_opinion=False)
    assert loose.passed and not strict.passed and strict.gate.check == "noise"
    crit = {c.name: c for c in loose.gate.criteria}
    assert crit["uncertainty"].threshold == 0.02 and crit["uncertainty"].passed


def test_criteria_apply_to_a_standalone_fit():
    x = np.linspace(0, 1, 41)
    y = 0.1 + 0.8 * np.exp(-x / 0.2) + np.random.default_rng(9).normal(0, 0.01, 41)
    fit = fit_model(FIT_MODELS["exponential"], x, y, 0.01)
    g = Gate([ResidualsWhite(), RelativeUncertainty("tau", 1e-4)])
    res = g.evaluate(GateContext(fit, x, y, np.full(41, 0.01)))
    assert res.check == "noise" and [c.passed for c in res.criteria] == [True, False]
    assert res.criteria[1].value > 1e-4


@pytest.mark.parametrize("signal_type", ["population", "magnitude", "phase", "iq"])
def test_every_signal_type(signal_type):
    rng = np.random.default_rng(10)
    t = np.linspace(0, 200e-6, 41)
    p = 0.05 + 0.9 * np.exp(-t / 50e-6)
    if signal_type == "population":
        y, kw = rng.binomial(800, p) / 800, {"shots": 800}
    elif signal_type == "magnitude":
        y, kw = 3.2e-3 - 1.7e-3 * p + rng.normal(0, 2e-5, 41), {}
    elif signal_type == "phase":
        y, kw = 170 + 40 * p + rng.normal(0, 0.4, 41), {"signal_units": "deg"}
    else:
        z = (0.3 - 0.1j) + (0.8 + 1.1j) * p + 0.01 * (rng.normal(size=41) + 1j * rng.normal(
            size=41))
        y, kw = z, {}
    r = analyse("t1", t, y, signal_type=signal_type, second_opinion=False, **kw)
    assert r.passed, r.reason
    v = r.values["t1"]
    assert abs(v.value - 50e-6) < 3 * v.error


def test_units_are_converted_and_printed_with_prefixes():
    assert to_si("GHz") == ("Hz", 1e9) and to_si("us")[0] == "s" and to_si("mV")[1] == 1e-3
    t = np.linspace(0, 200, 41)   # ns
    y = 0.03 + 0.9 * np.exp(-t / 45) + np.random.default_rng(11).normal(0, 0.01, 41)
    r = analyse("t1", t, y, units="ns", second_opinion=False)
    assert abs(r.values["t1"].value - 45e-9) < 3e-9
    assert r.values["t1"].text.endswith(" ns") and "0.0 µs" not in r.card()
    assert format_value(4.2e-8, "s") == "42 ns"
    with pytest.raises(AnalysisError, match="needs s"):
        analyse("t1", t, y, units="MHz", second_opinion=False)


def test_unknown_settings_and_shapes_are_refused():
    with pytest.raises(AnalysisError, match="no setting"):
        analyse("t1", [0, 1, 2], [1, 0.5, 0.2], detunig=3, second_opinion=False)
    with pytest.raises(AnalysisError, match="one length"):
        analyse("t1", [0, 1, 2], [1, 0.5], second_opinion=False)
    with pytest.raises(AnalysisError, match="unknown analysis kind"):
        analyse("drag2", [0, 1], [0, 1], second_opinion=False)


@pytest.mark.parametrize("sigma", [0.0, -0.01, [0.01, 0.0, 0.01, 0.01], [0.01, np.nan, 0.01, 0.01]])
def test_a_sigma_that_is_not_positive_is_refused_naming_it(sigma):
    # it used to drop those points silently: sigma 0 read "under-sampled: only 0 points"
    with pytest.raises(AnalysisError, match="sigma must be positive and finite at every point"):
        analyse("t1", [0, 1, 2, 3], [1, 0.6, 0.35, 0.2], sigma=sigma, second_opinion=False)


def test_result_is_json_ready():
    import json

    x = np.linspace(0, 1, 41)
    y = 0.1 + 0.8 * np.exp(-x / 0.2)
    r = analyse("t1", x, y, units="s", sigma=0.01, second_opinion=False)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["outcome"] == "success" and d["noise"]["source"] == "given"
    assert {c["name"] for c in d["gate"]["criteria"]} >= {"signal", "residuals", "uncertainty"}
    assert math.isfinite(d["values"]["t1"]["error"])


class _Says:
    def __init__(self, label):
        self.label = label

    def classify_analysis(self, result):
        return {"label": self.label, "mode": self.label, "confidence": 0.9, "action": "x"}


def test_second_opinion_is_recorded_and_flags_but_never_decides():
    x = np.linspace(0, 1, 41)
    y = 0.1 + 0.8 * np.exp(-x / 0.2) + np.random.default_rng(12).normal(0, 0.01, 41)
    agree = analyse("t1", x, y, second_opinion=_Says("expected"))
    disagree = analyse("t1", x, y, second_opinion=_Says("anomalous"))
    assert agree.passed and not agree.flagged
    assert disagree.passed and disagree.flagged and disagree.outcome.value == "success"
    assert disagree.second_opinion["label"] == "anomalous" and "flagged" in disagree.card()


def test_held_out_families_are_separate_from_training():
    from qplane.calibration.domain import HELDOUT, TRAIN_FAMILIES, heldout_set

    train = {f for fams in TRAIN_FAMILIES.values() for f in fams}
    assert not train & set(HELDOUT)
    for family in ("ramsey/short_window", "ramsey/aliased", "t1/too_short", "rabi/real_like",
                   "spectroscopy/fano"):
        assert family in HELDOUT
    cases = heldout_set(1, seed=0)
    assert {c.family for c in cases} == set(HELDOUT)
    short = next(c for c in cases if c.family == "ramsey/short_window")
    from qplane.calibration.units import convert
    x = convert(short.sweep, short.units, "s")
    assert abs(x.min() - 0.05e-6) < 1e-12 and abs(x.max() - 1.95e-6) < 1e-12
