"""The fourteenth generation of held-out families: new, deterministic, well formed, labelled,
with the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen14 as g14
from qplane.calibration.domain_gen14 import GEN14, PRIOR_ERROR, make_gen14_case
from qplane.calibration.units import to_si


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    for family in ("rabi/fast_repetition_memory", "rabi/awg_output_clipping"):
        errors = []
        for _ in range(60):
            c = make_gen14_case(family, rng)
            prior = c.settings["expected_pi_amplitude"]          # in the sweep's units
            assert c.units == "mV" and c.sweep.max() > 2 * prior  # built from the prior
            if c.good:
                errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        if errors:
            errors = np.array(errors)
            assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_segmented_vna_sweep_keeps_the_notch_minimum_at_the_resonance():
    f, wing = g14.segment_sweep(5e9, 3e6, 10e6, 201, 21)
    assert np.all(np.diff(f) > 0) and len(f) == 201 + 2 * 20
    assert np.all(np.abs(f[wing] - 5e9) > 3e6) and np.all(np.abs(f[~wing] - 5e9) <= 3e6 + 1)
    rng = np.random.default_rng(1)
    for _ in range(10):
        fr, kappa, depth = rng.uniform(4e9, 8e9), rng.uniform(0.2e6, 3e6), rng.uniform(0.4, 0.9)
        fc = fr + rng.uniform(0.3, 1.5) * kappa
        f, wing = g14.segment_sweep(fc, 3 * kappa, 15 * kappa, 200001, 30)
        raw = np.abs(1 - depth / (1 + 2j * (f - fr) / kappa))
        assert abs(f[np.argmin(raw)] - fr) <= (f[1 + len(f) // 2] - f[len(f) // 2])
        assert not wing[np.argmin(raw)]                            # in the dense segment
    for _ in range(10):
        c = make_gen14_case("resonator_spectroscopy/vna_segment_sweep_ifbw", rng)
        step = np.diff(c.sweep)
        assert c.units == "GHz" and c.signal_type == "magnitude" and np.all(step > 0)
        assert step.max() > 3 * step.min()                        # sparse wings, dense centre
        x = c.sweep * 1e9
        assert x.min() < c.truth["center"] < x.max()


def test_power_broadened_line_peaks_at_its_centre_with_the_broadened_width():
    centre, gamma, s = 5e9, 0.5e6, 15.0
    f = centre + np.linspace(-20e6, 20e6, 400001)
    p = g14.saturated_line(f, centre, gamma, s)
    assert f[np.argmax(p)] == centre and math.isclose(p.max(), s / 2 / (1 + s))
    top = f[p >= p.max() / 2]
    assert math.isclose(top.max() - top.min(), gamma * math.sqrt(1 + s), rel_tol=1e-3)
    # through the thermal population and the assignment errors (affine): the same peak
    read = 0.02 + 0.93 * (0.03 + 0.94 * p)
    assert f[np.argmax(read)] == centre
    c = make_gen14_case("spectroscopy/power_broadened_saturating", np.random.default_rng(2))
    assert c.units == "MHz" and c.shots and np.all(np.diff(c.sweep) > 0)


def test_rabi_peak_stays_at_the_pi_amplitude_under_the_repetition_memory():
    from qplane.calibration.domain_gen7 import _rabi_p

    api = 0.37
    x = np.linspace(0, 2.5 * api, 250001)
    s = np.linspace(0, 1, 1001)
    for r in (math.exp(-0.5), math.exp(-2.0)):
        mem = g14.repetition_memory(s, r)
        assert np.all(np.diff(mem) > 0) and mem[0] == 0 and math.isclose(mem[-1], 1 / (1 + r))
        # the steady state: a shot starting from r of the last one's excitation returns it
        start = r * mem
        assert np.allclose(start + (1 - 2 * start) * s, mem)
        for phase in (0.1, -0.25):
            p = g14.repetition_memory(_rabi_p(x, api, phase, 0.0, 0.0, 1.0, 0.0), r)
            assert abs(x[np.argmax(p)] - api) <= x[1] - x[0]
    c = make_gen14_case("rabi/fast_repetition_memory", np.random.default_rng(4))
    assert c.signal_type == "population" and c.shots


def test_ramsey_zero_crossings_survive_the_fading_contrast_there_and_back():
    when = g14.there_and_back_order(9)
    assert sorted(when.tolist()) == list(range(9))
    assert np.all(np.diff(when[0::2]) == 1) and np.all(np.diff(when[1::2]) == -1)
    f, t2, ph = 1.3e6, 12e-6, 0.2
    x = np.linspace(0, 20e-6, 400001)
    fringe = 0.45 * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    fade = 1 - 0.15 * g14.there_and_back_order(len(x)) / (len(x) - 1)
    p = fade * fringe                                          # p − 1/2
    assert np.array_equal(np.sign(p), np.sign(fringe))
    i = np.nonzero(np.sign(fringe[:-1]) != np.sign(fringe[1:]))[0]
    cross = x[i] - fringe[i] * (x[i + 1] - x[i]) / (fringe[i + 1] - fringe[i])
    assert math.isclose(1 / (2 * np.polyfit(np.arange(len(cross)), cross, 1)[0]), f,
                        rel_tol=1e-6)
    rng = np.random.default_rng(6)
    for _ in range(10):
        c = make_gen14_case("ramsey/there_and_back_fading", rng)
        assert c.units == "us" and c.sweep[0] == 0 and np.all(np.diff(c.sweep) > 0)
        assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031
        fringes = c.sweep.max() * 1e-6 * c.truth["frequency"]
        assert len(c.sweep) >= min(30, 7.9 * fringes)


def test_t1_ground_population_rises_with_tau_and_the_shots_fall_with_the_delay():
    tau = 0.6e-3
    t = np.linspace(0, 3e-3, 60)
    p0 = 1 - (0.02 + 0.93 * (0.01 + 0.9 * np.exp(-t / tau)))
    settled = 1 - (0.02 + 0.93 * 0.01)                            # P(0) at long delays
    slope = np.polyfit(t, np.log(settled - p0), 1)[0]
    assert np.all(np.diff(p0) > 0)
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    k = g14.budget_shots(t, 1000, 0.5e-3)
    assert k[0] == 1000 and np.all(np.diff(k) <= 0) and k.min() >= 125
    rng = np.random.default_rng(7)
    for _ in range(10):
        c = make_gen14_case("t1/ground_population_budget_ms", rng)
        assert c.units == "ms" and c.signal_type == "population" and c.shots
        assert np.mean(c.signal[:3]) < np.mean(c.signal[-3:])     # the ground population rises


def test_echo_phase_cycled_difference_decays_to_zero_with_tau():
    tau = 50e-6
    t = np.linspace(0, 200e-6, 60)
    drift = 0.03 * np.sin(t / 30e-6)
    plus = 0.02 + 0.9 * (0.5 + 0.45 * np.exp(-t / tau)) + drift
    minus = 0.02 + 0.9 * (0.5 - 0.45 * np.exp(-t / tau)) + drift
    d = (plus - minus) / 2
    assert np.allclose(d, 0.9 * 0.45 * np.exp(-t / tau))         # offset and drift cancel
    assert math.isclose(-1 / np.polyfit(t, np.log(d), 1)[0], tau, rel_tol=1e-9)
    c = make_gen14_case("echo/phase_cycled_difference", np.random.default_rng(8))
    assert c.units == "us" and c.signal_type == "magnitude" and c.shots is None
    assert abs(np.mean(c.signal[-5:])) < 0.1 < c.signal[0]


def test_cz_minimum_is_the_truth_without_the_wander_and_the_wander_is_small():
    best = 0.2
    x = np.linspace(0.1, 0.3, 200001)
    p = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    assert abs(x[np.argmin(p)] - best) <= x[1] - x[0]
    c = make_gen14_case("cz/pink_flux_offset_wander", np.random.default_rng(9))
    assert c.units == "mV" and np.allclose(np.diff(c.sweep), c.sweep[1] - c.sweep[0])
    assert c.sweep.min() < c.truth["cz_amplitude"] / 1e-3 < c.sweep.max()


def test_rb_iq_decays_with_tau_in_a_permuted_order():
    r = 1e-3
    p = 1 - 2 * r
    m = np.random.default_rng(0).permutation(np.arange(1, 2000, 50)).astype(float)
    z = (0.3 - 0.2j) + (1.1 + 0.4j) * (1 - (0.49 + 0.45 * p**m))
    u = np.real((z - (0.3 - 0.2j) - (1.1 + 0.4j) * 0.51) / -(1.1 + 0.4j))
    slope = np.polyfit(m, np.log(u), 1)[0]
    assert math.isclose(-1 / slope, -1 / math.log(p), rel_tol=1e-9)
    c = make_gen14_case("randomized_benchmarking/averaged_iq_permuted_lengths",
                        np.random.default_rng(10))
    assert c.signal_type == "iq" and np.iscomplexobj(c.signal) and c.shots is None
    assert np.any(np.diff(c.sweep) < 0) and len(np.unique(c.sweep)) == len(c.sweep)
    assert c.sweep.max() > 2 * c.truth["tau"]


def test_bad_families_are_what_the_docstring_says():
    from qplane.calibration.domain_gen10 import _readout_draw, thermal_fidelity

    rng = np.random.default_rng(11)
    # a clipped AWG: the rotation angle never reaches pi, the population plateaus
    api, x = 0.3, np.linspace(0, 0.9, 90001)
    for limit, smooth in ((0.55, 2), (0.8, 5)):
        applied = g14.rapp_limit(x, limit * api, smooth)
        assert np.all(np.diff(applied) >= 0) and applied.max() < limit * api
        p = (1 - np.cos(math.pi * applied / api)) / 2
        assert np.all(np.diff(p) >= 0)                            # no maximum inside
        assert p[-1] - p[len(p) // 2] < 0.05                      # a plateau
    for _ in range(10):
        c = make_gen14_case("rabi/awg_output_clipping", rng)
        assert c.shots and not c.truth
    # the sign bug: the odd points on the mirrored fringe, at least 0.37 of the contrast off
    # it at the optimum (|β*| 0.3 and the widest fringe, half-period 1.44)
    best, half = 0.3, 1.6 * 0.9
    assert np.sin(np.pi / (2 * half) * (-best - best)) ** 2 > 0.37
    for _ in range(10):
        c = make_gen14_case("drag/beta_sign_alternating", rng)
        assert c.shots and not c.truth and len(c.sweep) >= 21
    # ionisation resonances: each dip a local minimum of the noiseless fidelity, even on the
    # steepest flank of the window (the least depth, the widest dip)
    from qplane.calibration.domain_gen8 import _amplitude_errors

    for width, onset, at in ((0.01, 4, -0.6), (0.06, 8, 0.6), (0.03, 6, -0.6), (0.03, 6, 0.6)):
        u = np.linspace(-0.7, 0.7, 14001)
        x = width * 2.5 * np.exp(u)
        e0, e1 = _amplitude_errors(x, width, 0.03, onset * width, 0.3)
        dipped = e1 + 0.15 * np.exp(-0.5 * ((u - at) / 0.07) ** 2)
        fid = 1 - (e0 + dipped) / 2
        near = np.abs(u - at) < 0.15
        i = np.argmin(np.where(near, fid, np.inf))
        assert near[i] and fid[i] < fid[near].max() - 0.03 and 0 < i < len(u) - 1
        assert np.all(np.diff(fid[i:i + 20]) > 0) and np.all(np.diff(fid[i - 20:i + 1]) < 0)
    for _ in range(10):
        c = make_gen14_case("readout_amplitude/ionisation_resonances", rng)
        assert c.units == "V" and c.shots % 2 == 0 and np.all(np.diff(c.sweep) > 0)
    # a wrapping register: the integrated length falls to near zero at every wrap
    t = np.linspace(20e-9, 3e-6, 300)
    w = g14.wrapped_duration(t, 1024e-9)
    assert np.sum(np.diff(w) < 0) == 2 and np.all(w < 1024e-9)
    for _ in range(10):
        d = make_gen14_case("readout_duration/length_register_wraps", rng)
        assert d.units == "ns" and d.shots % 2 == 0
        assert np.isclose(d.sweep.max(), np.round(d.sweep.max()))   # whole ns
        assert d.sweep.max() >= 2.2 * 512 - 1                         # past two wraps at least
    # a saturating spur: the noiseless fidelity within 1 % of 1/2
    for _ in range(50):
        r = _readout_draw(rng)
        f = r["mid"] + np.linspace(-4, 4, 801) * r["kappa"]
        fid = thermal_fidelity(f, tilt=0.0, p_th=0.49, floor=0.01, **r)
        assert np.all(np.abs(fid - 0.5) < 0.01)
    # the missing recovery gate: flat
    for _ in range(10):
        c = make_gen14_case("randomized_benchmarking/recovery_gate_missing", rng)
        assert abs(np.mean(c.signal) - 0.5) < 0.06 and c.shots
    # a coarse survey: at most one point above the line's half height
    for _ in range(50):
        width = rng.uniform(20e3, 200e3)
        step = width * rng.uniform(2.5, 5)
        x = step * np.arange(100) + rng.uniform(0, step)
        assert np.sum(g14._lorentz(x, 50 * step, width) >= 0.5) <= 1
        c = make_gen14_case("spectroscopy/narrow_line_coarse_survey", rng)
        assert c.signal_type == "iq" and np.allclose(np.diff(c.sweep), np.diff(c.sweep)[0])
    # an inverted flux pulse: the population moves by less than 0.03 x the contrast
    x = np.linspace(0.1, 0.3, 61)
    p = 0.5 + 0.45 * np.cos(np.pi / 2 + 0.03 * (x / x.max()) ** 2)
    assert np.ptp(p) < 0.03 * 0.45
    for _ in range(10):
        c = make_gen14_case("cz/flux_polarity_inverted", rng)
        assert c.units == "mV" and not c.truth


def test_the_benchmark_judges_its_targets_on_the_fourteenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN14) in sets
    assert res["families_gen14"]["mark"] in GEN14 and res["gen14_families"] == sorted(GEN14)
    assert "targets_met_gen14" in res and "targets_met_gen13" in res
    assert set(bench._KEY) >= {k for k, _ in GEN14.values()}
