"""The thirteenth generation of held-out families: new, deterministic, well formed, labelled,
with the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen13 as g13
from qplane.calibration.domain_gen13 import GEN13, PRIOR_ERROR, make_gen13_case
from qplane.calibration.units import to_si


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    for family in ("rabi/block_rearm_transient", "rabi/carrier_leak_offset"):
        errors = []
        for _ in range(60):
            c = make_gen13_case(family, rng)
            prior = c.settings["expected_pi_amplitude"]          # in the sweep's units
            assert c.units == "mV" and c.sweep.max() > 2 * prior  # built from the prior
            if c.good:
                errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        if errors:
            errors = np.array(errors)
            assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_lockin_smeared_notch_keeps_its_minimum_within_a_step_of_the_resonance():
    rng = np.random.default_rng(1)
    for _ in range(10):
        fr, kappa, depth = rng.uniform(4e9, 8e9), rng.uniform(0.2e6, 3e6), rng.uniform(0.4, 0.9)
        f = fr + np.linspace(-10, 10, 201) * kappa                # a step of κ / 10
        raw = np.abs(1 - depth / (1 + 2j * (f - fr) / kappa))
        assert np.array_equal(np.abs(g13.notch(f, fr, kappa, depth)), raw)
        assert f[np.argmin(raw)] == fr
        alpha = math.exp(-1 / rng.uniform(0.25, 1.0))
        smeared = np.abs(g13.lockin_smear(g13.notch(f, fr, kappa, depth), alpha))
        lag = alpha / (1 - alpha)                                 # the filter's delay in steps
        assert lag < 0.6
        assert 0 <= f[np.argmin(smeared)] - fr <= (f[1] - f[0]) * math.ceil(lag)
    # a step input settles geometrically toward the new value
    out = g13.lockin_smear(np.r_[np.zeros(3), np.ones(5)], 0.3)
    assert np.allclose(1 - out[3:], 0.3 ** np.arange(1, 6))
    c = make_gen13_case("resonator_spectroscopy/lockin_lag_smear", rng)
    assert c.units == "MHz" and c.signal_type == "magnitude"
    assert np.diff(c.sweep).max() * 1e6 <= 0.1 * 3e6 + 1e-3 and np.all(np.diff(c.sweep) > 0)


def test_interleaved_combs_offset_is_monotone_in_time_and_the_line_peaks_at_the_centre():
    when = g13.combs_order(23, 4)
    assert sorted(when.tolist()) == list(range(23))
    for j in range(4):                                            # each comb acquired in order
        assert np.all(np.diff(when[j::4]) == 1)
    assert np.all(np.diff(when[:4]) > 0) and when[1] - when[0] == len(range(0, 23, 4))
    centre, width = 5e9, 1e6
    x = np.linspace(centre - 10e6, centre + 10e6, 200001)
    offset = 0.05 * (1 - np.exp(-g13.combs_order(len(x), 5) / len(x) / 0.7))
    y = 1.0 + offset + 0.5 * g13._lorentz(x, centre, width)
    assert x[np.argmax(y - offset)] == centre
    c = make_gen13_case("spectroscopy/interleaved_combs_warmup", np.random.default_rng(2))
    assert c.units == "GHz" and np.all(np.diff(c.sweep) > 0)


def test_rabi_peak_is_the_pi_amplitude_and_the_gain_overshoots_after_each_dead_time():
    from qplane.calibration.domain_gen7 import _rabi_p

    api = 0.37
    x = np.linspace(0, 2.5 * api, 250001)
    for phase in (0.1, -0.25):
        p = _rabi_p(x, api, phase, 0.0, 0.0, 0.9, 0.03)
        assert abs(x[np.argmax(p)] - api) <= x[1] - x[0]
    gain = g13.rearm_gain(40, 10, 0.05, 0.5)
    assert np.all(gain[::10] == 1.05) and np.all(gain[2::10] < 1.001)
    assert np.all(gain >= 1) and np.all(np.diff(gain[:10]) < 0)
    c = make_gen13_case("rabi/block_rearm_transient", np.random.default_rng(4))
    assert c.signal_type == "iq" and np.iscomplexobj(c.signal)


def test_ramsey_fringe_frequency_on_random_sorted_delays():
    f, t2, ph = 1.3e6, 12e-6, 0.2
    x = np.linspace(0, 20e-6, 400001)
    p = 0.45 * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    i = np.nonzero(np.sign(p[:-1]) != np.sign(p[1:]))[0]
    cross = x[i] - p[i] * (x[i + 1] - x[i]) / (p[i + 1] - p[i])
    assert math.isclose(1 / (2 * np.polyfit(np.arange(len(cross)), cross, 1)[0]), f,
                        rel_tol=1e-6)
    rng = np.random.default_rng(6)
    for _ in range(10):
        c = make_gen13_case("ramsey/random_sorted_delays", rng)
        gaps = np.diff(c.sweep)
        assert c.units == "us" and c.sweep[0] == 0 and np.all(gaps >= 0)
        assert gaps.std() > 0.5 * gaps.mean()                     # not a grid
        fringes = c.sweep.max() * 1e-6 * c.truth["frequency"]
        assert len(c.sweep) >= min(30, 5.9 * fringes)
        assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031


def test_t1_decay_constant_survives_the_mean_of_passes_under_the_cycle():
    tau = 40e-6
    t = np.linspace(0, 200e-6, 60)
    p = 0.9 * np.exp(-t / tau) + 0.03
    passes, n, period = 3, 60, 12.0
    minutes = (np.arange(passes)[:, None] * n + np.arange(n)[None, :]) * 2.0 / n
    cycle = 0.02 * np.sin(2 * math.pi * minutes / period)
    z = np.mean((1 + 2j) * p[None, :] + (0.3 - 0.1j) + cycle * (1 + 2j), axis=0)
    removed = z - np.mean(cycle, axis=0) * (1 + 2j)               # the cycle's mean over passes
    slope = np.polyfit(t, np.log(np.abs(removed - (0.3 - 0.1j) - 0.03 * (1 + 2j))), 1)[0]
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    c = make_gen13_case("t1/aircon_cycle_passes_iq", np.random.default_rng(7))
    assert c.units == "us" and c.signal_type == "iq" and c.shots is None


def test_cz_minimum_is_the_truth_on_a_square_root_grid():
    best = 0.2
    x = np.linspace(0.1, 0.3, 200001)
    p = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    assert abs(x[np.argmin(p)] - best) <= x[1] - x[0]
    c = make_gen13_case("cz/square_root_grid", np.random.default_rng(9))
    sq = c.sweep**2
    assert c.units == "mV" and np.allclose(np.diff(sq), sq[1] - sq[0])
    assert np.diff(c.sweep)[-1] < np.diff(c.sweep)[0]              # denser at the top
    assert c.sweep.min() < c.truth["cz_amplitude"] / 1e-3 < c.sweep.max()


def test_readout_frequency_optimum_under_the_jpa_profile():
    from scipy.special import erfc

    from qplane.calibration.domain_gen10 import _readout_draw

    # half the power gain half a bandwidth off the centre
    assert math.isclose(float(g13.jpa_snr_factor(np.array([1.0]), 0.0, 2.0, 20.0, 1.0)[0]),
                        math.sqrt(50 / 51), rel_tol=1e-12)
    rng = np.random.default_rng(10)
    r = _readout_draw(rng)
    k, mid, chi = r["kappa"], r["mid"], r["chi"]
    jpa = dict(centre=mid + 3 * k, bandwidth=8 * k, peak_db=18.0, hemt=25.0)
    f = mid + np.linspace(-2, 2, 400001) * k
    sep = np.abs(r["depth"] / (1 + 2j * (f - mid + chi) / k)
                 - r["depth"] / (1 + 2j * (f - mid - chi) / k))
    snr = r["snr"] * sep * g13.jpa_snr_factor(f, **jpa)
    direct = 1 - (0.99 * (erfc(snr / (2 * math.sqrt(2))) + 0.02) + 0.02 * (
        1 - 0.5 * erfc(snr / (2 * math.sqrt(2))))) / 2            # p_th 0.01, floor 0.02
    best = f[np.argmax(direct)]
    assert f[np.argmax(snr)] == best and abs(best - mid) < 2 * k
    g = g13.jpa_snr_factor(f, **jpa)
    assert best == f[np.argmax(sep * g)] and np.all(np.diff(g[f < mid + 3 * k]) > 0)
    c = make_gen13_case("readout_frequency/jpa_gain_profile", rng)
    assert c.units == "MHz" and c.shots % 2 == 0
    assert c.sweep.min() < c.truth["best"] / 1e6 < c.sweep.max()


def test_rb_survival_decays_with_tau_at_powers_of_two_in_seed_rows():
    r = 1e-3
    p = 1 - 2 * r
    m = 2.0 ** np.arange(12)
    slope = np.polyfit(m, np.log(0.45 * p**m), 1)[0]
    assert math.isclose(-1 / slope, -1 / math.log(p), rel_tol=1e-9)
    c = make_gen13_case("randomized_benchmarking/powers_of_two_seed_rows",
                        np.random.default_rng(10))
    lengths, counts = np.unique(c.sweep, return_counts=True)
    assert np.all(np.log2(lengths) == np.arange(len(lengths))) and 2 <= counts[0] <= 3
    assert np.all(counts == counts[0]) and lengths.max() > 2 * c.truth["tau"]


def test_bad_families_are_what_the_docstring_says():
    from qplane.calibration.domain_gen10 import _readout_draw, thermal_fidelity

    rng = np.random.default_rng(11)
    # a leaking carrier: the oscillation starts excited and peaks away from the π amplitude
    api, x = 0.3, np.linspace(0, 0.9, 90001)
    for eps in (0.25, 0.5):
        theta = math.pi * np.abs(x + eps * api * np.exp(1.2j)) / api
        p = (1 - np.cos(theta)) / 2
        assert p[0] >= 0.14 and abs(x[np.argmax(p[x < 1.5 * api])] - api) > 0.05 * api
    for _ in range(10):
        c = make_gen13_case("rabi/carrier_leak_offset", rng)
        assert c.shots and not c.truth
    # refocused at 2π: 1.5-3 fringes within T2*, a quarter of the window at most
    for _ in range(10):
        c = make_gen13_case("echo/refocus_at_two_pi", rng)
        assert c.units == "us" and not c.truth and len(c.sweep) >= 80
    # an unlocked LO: the population never leaves the thermal level
    for _ in range(10):
        c = make_gen13_case("drag/drive_lo_unlocked", rng)
        assert np.mean(c.signal) < 0.08 and c.shots
    # an extra attenuator: the noiseless fidelity only rises across the window
    from qplane.calibration.domain_gen8 import _amplitude_errors

    for _ in range(200):   # the least attenuation, the nominal optimum 3 σ high
        width, onset = rng.uniform(0.01, 0.06), rng.uniform(4, 8)
        eps_d, c_t = rng.uniform(0.005, 0.03), rng.uniform(0.1, 0.3)
        grid = np.geomspace(0.2 * width, 20 * width, 4001)
        e0, e1 = _amplitude_errors(grid, width, eps_d, onset * width, c_t)
        a = grid[np.argmax(1 - (e0 + e1) / 2)] * np.exp(0.45 + np.linspace(-0.7, 0.7, 41))
        e0, e1 = _amplitude_errors(a * 10 ** (-16 / 20), width, eps_d, onset * width, c_t)
        assert np.all(np.diff(1 - (e0 + e1) / 2) > 0)
    # the unused input: a coin toss
    d = make_gen13_case("readout_duration/unused_digitiser_input", rng)
    assert abs(np.mean(d.signal) - 0.5) < 0.01 and d.units == "ns" and d.shots % 2 == 0
    # a survey's step: the fidelity's peak narrower than the step (3 linewidths at the least)
    for _ in range(50):
        r = _readout_draw(rng)
        f = r["mid"] + np.linspace(-6, 6, 12001) * r["kappa"]
        fid = thermal_fidelity(f, tilt=0.0, p_th=0.01, floor=0.02, **r)
        top = f[fid > fid.min() + 0.5 * (fid.max() - fid.min())]
        assert top.max() - top.min() < 2.9 * r["kappa"]
        c = make_gen13_case("readout_frequency/step_wider_than_pair", rng)
        step = np.diff(c.sweep)
        assert np.allclose(step, step[0]) and len(c.sweep) >= 20
    # leakage to |02>: the dip lifted and split into two minima
    x = np.linspace(0.14, 0.26, 12001)
    leak = 0.45 * np.exp(-0.5 * ((x - 0.2) / (0.2 * 0.04)) ** 2)
    p = (1 - leak) * (0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / 0.2) ** 2))) + leak
    assert np.sum(np.diff(np.sign(np.diff(p))) > 0) == 2 and p[np.argmin(np.abs(x - 0.2))] > 0.3
    # leakage read as ground: the survival settles above 1/2
    m = np.arange(1, 3000)
    s = g13.leaked_survival(m, 1 - 2e-3, 0.45, 0.3, 1 / 500)
    assert s[-1] > 0.6 and np.all(np.diff(s) < 0)
    assert np.allclose(g13.leaked_survival(m, 1 - 2e-3, 0.45, 0.0, 1 / 500),
                       0.5 + 0.45 * (1 - 2e-3) ** m)


def test_the_benchmark_judges_its_targets_on_the_thirteenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN13) in sets
    assert res["families_gen13"]["mark"] in GEN13 and res["gen13_families"] == sorted(GEN13)
    assert "targets_met_gen13" in res and "targets_met_gen12" in res
    assert set(bench._KEY) >= {k for k, _ in GEN13.values()}
