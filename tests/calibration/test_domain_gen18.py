"""The eighteenth generation of held-out families: new, deterministic, well formed, labelled,
with the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen18 as g18
from qplane.calibration.domain_gen18 import GEN18, PRIOR_ERROR, make_gen18_case
from qplane.calibration.units import to_si


def test_rabi_cases_carry_the_nodes_prior_of_the_nominal_amplitude():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen18_case("rabi/dac_integral_nonlinearity", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        assert c.units == "mV" and c.sweep.max() > 2 * prior
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


def test_ramsey_cases_carry_their_detuning():
    rng = np.random.default_rng(13)
    for _ in range(10):
        c = make_gen18_case("ramsey/charge_parity_beating", rng)
        assert c.units == "us" and c.sweep[0] == 0 and len(c.sweep) >= 30 and c.shots
        assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_parity_beating_fits_at_the_mean_frequency():
    from scipy.optimize import curve_fit

    def damped(x, a, f, ph, t, o):
        return o + a * np.exp(-x / t) * np.cos(2 * math.pi * f * x + ph)

    f, t2 = 1.3e6, 40e-6
    x = np.linspace(0, 10 / f, 120)
    for split in (0.02, 0.05):
        y = 0.5 + 0.45 * np.exp(-x / t2) * g18.parity_fringe(x, f, split, 0.2)
        fit, _ = curve_fit(damped, x, y, p0=[0.45, f, 0.2, t2, 0.5])
        assert abs(fit[1] / f - 1) < 1e-3                           # the mean frequency


def test_db_slope_keeps_the_dip_at_f_r():
    rng = np.random.default_rng(1)
    for _ in range(50):
        fr, kappa, depth = 5e9, rng.uniform(0.3e6, 3e6), rng.uniform(0.4, 0.9)
        x = fr + np.linspace(-6, 6, 200001) * kappa
        mag = g18.db_slope(x, 8.0, rng.uniform(0.5, 2.0)) * np.abs(
            g18.notch(x, fr, kappa, depth))
        assert abs(x[np.argmin(mag)] - fr) < 0.02 * kappa            # the raw minimum
    for _ in range(10):
        c = make_gen18_case("resonator_spectroscopy/cable_loss_db_slope", rng)
        assert c.units == "GHz" and c.signal_type == "magnitude" and c.shots is None
        x = c.sweep * 1e9
        assert x.min() < c.truth["center"] < x.max() and len(x) >= 201


def test_dac_nonlinearity_peaks_at_the_nominal_truth():
    from qplane.calibration.domain_gen7 import _rabi_p

    api, full = 0.37, 1.0
    x = np.linspace(0, full, 400001)
    for c in (0.04, -0.04, 0.01):
        played = x * (1 + c * (x / full) ** 2)
        p = _rabi_p(played, api, 0.1, 0.0, 0.0, 1.0, 0.0)
        i = np.argmax(np.where(x < 1.5 * api, p, -1))
        assert abs(x[i] - g18.inl_nominal(api, c, full)) <= 2 * (x[1] - x[0])
    assert g18.inl_nominal(api, 0.04, full) < api < g18.inl_nominal(api, -0.04, full)


def test_two_day_t1_decays_with_the_days_mean_tau():
    tau, drift = 40e-6, 0.06
    t = np.linspace(0, 200e-6, 41)
    y = 0.5 * (np.exp(-t / (tau * (1 - drift / 2))) + np.exp(-t / (tau * (1 + drift / 2))))
    fit = -1 / np.polyfit(t[:21], np.log(y[:21]), 1)[0]
    assert abs(fit / tau - 1) < 0.005
    rng = np.random.default_rng(7)
    for _ in range(10):
        c = make_gen18_case("t1/two_day_interleaved_delays", rng)
        assert c.units == "us" and c.sweep[0] == 0 and np.all(np.diff(c.sweep) > 0)
        assert c.sweep.max() > 3.5 * c.truth["tau"] / 1e-6
        assert np.mean(c.signal[:2]) > np.mean(c.signal[-2:]) + 0.3


def test_stark_passes_peak_at_the_mean_centre():
    rng = np.random.default_rng(2)
    for _ in range(10):
        c = make_gen18_case("spectroscopy/stark_shifted_repeated_passes", rng)
        assert c.units == "MHz" and c.shots and len(c.sweep) >= 81
        x = c.sweep * 1e6
        assert x.min() < c.truth["center"] < x.max()
        i = np.argmin(np.abs(x - c.truth["center"]))
        assert np.mean(c.signal[max(i - 1, 0):i + 2]) > np.median(c.signal) + 0.15
    width = 1e6
    x = np.linspace(-10e6, 10e6, 200001)
    power = np.array([0.75, 0.95, 1.1, 1.3])
    centres = -0.4 * width * (power - power.mean())
    pe = np.mean([pw / (1 + 0.3 * pw) * g18._line(x, c, width * math.sqrt(1 + 0.3 * pw))
                  for pw, c in zip(power, centres)], axis=0)
    assert abs(x[np.argmax(pe)] - centres.mean()) < 0.05 * width


def test_cz_drift_leaves_the_minimum_at_the_truth():
    best = 0.2
    x = np.linspace(0.13, 0.27, 200001)
    target = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    drifted = target + 0.02 * (x - x.mean()) / np.ptp(x)
    assert abs(x[np.argmin(drifted)] / best - 1) < 0.01
    rng = np.random.default_rng(9)
    for _ in range(10):
        c = make_gen18_case("cz/readout_offset_linear_drift", rng)
        assert c.units == "mV" and c.sweep.min() < c.truth["cz_amplitude"] / 1e-3 < c.sweep.max()


def test_rb_and_echo_decay_with_their_tau():
    rng = np.random.default_rng(10)
    for _ in range(10):
        c = make_gen18_case("randomized_benchmarking/two_seed_sets_averaged", rng)
        assert c.sweep[0] == 1 and np.all(np.diff(c.sweep) > 0) and c.shots
        assert c.sweep.max() > 2 * c.truth["tau"] and np.max(c.signal) < 1
        assert np.mean(c.signal[:2]) > np.mean(c.signal[-3:]) + 0.25
        e = make_gen18_case("echo/shot_budget_cut_midway", rng)
        assert e.units == "us" and e.sweep[0] == 0 and e.sweep.max() > 2.9 * e.truth["tau"] / 1e-6
        assert np.mean(e.signal[:3]) > np.mean(e.signal[-3:]) + 0.15


def test_bad_families_are_what_the_docstring_says():
    rng = np.random.default_rng(11)
    for _ in range(10):
        c = make_gen18_case("spectroscopy/lo_stepped_twice_per_point", rng)
        assert c.units == "MHz" and c.shots and not c.truth and np.max(c.signal) < 0.35
        c = make_gen18_case("readout_frequency/qubit_parked_far_detuned", rng)
        assert c.shots % 2 == 0 and np.max(c.signal) < 0.6
        c = make_gen18_case("readout_amplitude/awg_max_clamped_axis", rng)
        assert c.units == "mV" and np.all(np.diff(c.sweep) >= 0)
        assert np.sum(c.sweep == c.sweep.max()) >= 0.3 * len(c.sweep)
        c = make_gen18_case("readout_duration/window_after_pulse_end", rng)
        assert c.units == "ns" and abs(np.mean(c.signal) - 0.5) < 0.05
        c = make_gen18_case("drag/window_from_neighbour_beta", rng)
        assert c.shots and not c.truth and len(c.sweep) >= 21
        c = make_gen18_case("t1/delay_register_overflow", rng)
        assert c.sweep.max() * 1e-6 > g18.DELAY_REGISTER_WRAP
        after = c.sweep * 1e-6 > g18.DELAY_REGISTER_WRAP
        assert np.max(c.signal[after]) > np.min(c.signal[~after]) + 0.2   # the decay restarts
        c = make_gen18_case("randomized_benchmarking/two_lengths_repeated_rows", rng)
        assert len(np.unique(c.sweep)) == 2 and len(c.sweep) >= 20
        c = make_gen18_case("resonator_spectroscopy/window_between_mux_resonators", rng)
        assert c.signal_type == "magnitude" and np.ptp(c.signal) < 0.3 * np.max(c.signal)
    assert np.allclose(g18.wrapped_delays(np.array([0.0, g18.DELAY_REGISTER_WRAP])), 0)


def test_the_benchmark_judges_its_targets_on_the_eighteenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN18) in sets
    assert res["families_gen18"]["mark"] in GEN18 and res["gen18_families"] == sorted(GEN18)
    assert "targets_met_gen18" in res and "targets_met_gen17" in res
    assert set(bench._KEY) >= {k for k, _ in GEN18.values()}
    assert bench.GENERATION_SEED_OFFSET[18] not in set(
        v for n, v in bench.GENERATION_SEED_OFFSET.items() if n != 18)   # its own seed
