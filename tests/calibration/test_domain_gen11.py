"""The eleventh generation of held-out families: new, deterministic, well formed, labelled, with
the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen11 as g11
from qplane.calibration.domain_gen11 import GEN11, PRIOR_ERROR, gen11_set, make_gen11_case
from qplane.calibration.units import to_si
from tests.calibration._generation_checks import assert_well_formed, earlier_noises


def test_cases_are_well_formed_labelled_and_their_noises_new():
    earlier = earlier_noises(11)
    cases = gen11_set(2, seed=5)
    new = {c.noise for c in cases}
    assert len(new) >= 14 and not new & earlier
    assert_well_formed(cases)


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen11_case("rabi/telegraph_offset_iq", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        assert c.units == "mV" and c.sweep.max() > 2 * prior     # built from the prior
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_dbm_resonator_minimum_is_the_resonance():
    rng = np.random.default_rng(1)
    for _ in range(10):
        fr, kappa, depth = rng.uniform(4e9, 8e9), rng.uniform(0.2e6, 2e6), rng.uniform(0.5, 0.95)
        f = fr + np.linspace(-10, 10, 200001) * kappa
        dbm = g11.power_dbm(np.abs(1 - depth / (1 + 2j * (f - fr) / kappa)), -50.0)
        assert abs(f[np.argmin(dbm)] - fr) <= 1e-4 * kappa
        assert math.isclose(dbm.min(), -50 + 20 * math.log10(1 - depth), rel_tol=1e-9)
        # the off window: 1.5 spans of at least 10 linewidths away the dip is below 0.01 dB
        tail = g11.power_dbm(np.abs(1 - depth / (1 + 2j * 5 * 10)), 0.0)
        assert abs(tail) < 0.02
    states = g11.telegraph(400, 40.0, rng)
    switches = int(np.sum(states[1:] != states[:-1]))
    assert 2 <= switches < 40 and states.any() and not states.all()
    c = make_gen11_case("resonator_spectroscopy/dbm_gain_telegraph", rng)
    assert c.units == "MHz" and np.all(c.signal < -30) and np.all(np.diff(c.sweep) > 0)


def test_readout_frequency_optimum_is_the_midpoint_at_either_gain():
    rng = np.random.default_rng(2)
    for _ in range(20):
        mid, kappa = rng.uniform(6e9, 7.5e9), rng.uniform(0.5e6, 3e6)
        chi, depth = kappa * rng.uniform(0.5, 0.95) / 2, rng.uniform(0.5, 0.95)
        snr = rng.uniform(3, 6) / depth
        best = g11.thermal_fidelity_best(mid, chi, kappa, depth, snr, 0.0)
        assert abs(best - mid) <= 1e-6 * kappa
        f = mid + np.linspace(-3, 3, 600001) * kappa
        for gain in (1.0, rng.uniform(0.90, 0.97)):               # the second half's SNR
            fid = g11.thermal_fidelity(f, mid, chi, kappa, depth, snr * gain, 0.0,
                                       rng.uniform(0.005, 0.03), rng.uniform(0.01, 0.04))
            assert abs(f[np.argmax(fid)] - mid) <= 1e-3 * kappa
    c = make_gen11_case("readout_frequency/interleaved_halves_mhz", rng)
    n = len(c.sweep)
    first, second = c.sweep[:(n + 1) // 2], c.sweep[(n + 1) // 2:]
    assert c.units == "MHz" and c.shots % 2 == 0
    assert np.all(np.diff(first) > 0) and np.all(np.diff(second) > 0)
    assert np.all(first[:len(second)] < second) and np.all(second < first[1:len(second) + 1])


def test_rabi_peak_is_the_pi_amplitude_and_the_offset_only_switches():
    from qplane.calibration.domain_gen7 import _rabi_p

    api = 0.37
    x = np.linspace(0, 2.5 * api, 250001)
    for phase in (0.1, -0.25):
        p = _rabi_p(x, api, phase, 0.0, 0.0, 0.9, 0.03)
        assert abs(x[np.argmax(p)] - api) <= x[1] - x[0]
    rng = np.random.default_rng(4)
    c = make_gen11_case("rabi/telegraph_offset_iq", rng)
    assert c.signal_type == "iq" and np.iscomplexobj(c.signal)
    s = g11.telegraph(60, 10.0, rng)
    assert set(s.tolist()) == {False, True}


def test_ramsey_passes_keep_the_fringe_frequency():
    # an affine map of the population per pass leaves the zero crossings of its own mean
    f, t2, ph = 1.3e6, 12e-6, 0.2
    x = np.linspace(0, 20e-6, 400001)
    for contrast, offset in ((1.0, 0.0), (0.87, 0.03), (0.93, -0.04)):
        s = contrast * 0.45 * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
        p = 0.5 + offset + s - (0.5 + offset)
        i = np.nonzero(np.sign(p[:-1]) != np.sign(p[1:]))[0]
        cross = x[i] - p[i] * (x[i + 1] - x[i]) / (p[i + 1] - p[i])
        assert math.isclose(1 / (2 * np.polyfit(np.arange(len(cross)), cross, 1)[0]), f,
                            rel_tol=1e-6)
    c = make_gen11_case("ramsey/reversed_repeats_spam_steps", np.random.default_rng(6))
    values, counts = np.unique(c.sweep, return_counts=True)
    passes = int(counts[0])
    assert passes in (2, 3) and np.all(counts == passes) and c.units == "ns"
    one = c.sweep[:len(values)]
    assert np.all(np.diff(one) < 0) and np.array_equal(np.tile(one, passes), c.sweep)
    assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031


def test_decay_readouts_keep_the_decay_constant():
    rng = np.random.default_rng(7)
    tau = 40e-6
    # the two-segment grid with points lost: IQ affine in the population
    c = make_gen11_case("t1/two_segment_dropped_points", rng)
    x = c.sweep * to_si(c.units)[1]
    steps = np.diff(x)
    assert c.units == "us" and np.all(steps > 0) and steps.max() > 2 * steps.min()
    z = (0.3 - 0.2j) + 1.1 * np.exp(0.4j) * (0.02 + 0.9 * np.exp(-x / tau))
    slope = np.polyfit(x, np.log(np.abs(z - (0.3 - 0.2j) - 1.1 * np.exp(0.4j) * 0.02)), 1)[0]
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    # clipped shots: the exact clipped mean against shots, then affine in the population
    mu0, mu1, sigma = 0.1, -3.0, 1.0
    rail = abs(mu1) - sigma * -1.0                                # 16 % of |1>'s shots clip
    shots = rng.normal(mu1, sigma, 400000)
    assert abs(np.clip(shots, -rail, rail).mean() - g11.clipped_mean(
        np.array([mu1]), sigma, rail)[0]) < 0.01
    m0, m1 = g11.clipped_mean(np.array([mu0, mu1]), sigma, rail)
    assert abs(m1 - mu1) > 0.01                                   # the clipping shows
    t = np.linspace(0, 150e-6, 60)
    p = 0.5 + 0.4 * np.exp(-t / tau)
    mean = (1 - p) * m0 + p * m1                                  # each shot is |0> or |1>
    slope = np.polyfit(t, np.log(np.abs(mean - (0.5 * m0 + 0.5 * m1))), 1)[0]
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    e = make_gen11_case("echo/shot_clipped_rail", rng)
    assert e.signal_type == "magnitude" and e.units == "us"


def test_quadratic_grid_line_centre_is_the_truth():
    rng = np.random.default_rng(8)
    grid = g11.quadratic_grid(5e9, 30e6, 101)
    gaps = np.diff(grid)
    assert np.all(gaps[50:] > 0) and np.all(np.diff(gaps[50:]) > 0)   # dense at the centre
    assert math.isclose(grid[0], 5e9 - 15e6) and math.isclose(grid[-1], 5e9 + 15e6)
    centre, width = 5e9 + 2e6, 1e6
    x = np.linspace(grid[0], grid[-1], 300001)
    assert abs(x[np.argmax(g11._lorentz(x, centre, width))] - centre) <= x[1] - x[0]
    c = make_gen11_case("spectroscopy/quadratic_grid_descending_mhz", rng)
    assert c.units == "MHz" and np.all(np.diff(c.sweep) < 0) and c.sweep.min() > 3000


def test_drag_minimum_is_the_truth_and_both_passes_descend():
    rng = np.random.default_rng(9)
    c = make_gen11_case("drag/descending_passes_baseline_drift", rng)
    n = len(c.sweep) // 2
    assert np.array_equal(c.sweep[:n], c.sweep[n:]) and np.all(np.diff(c.sweep[:n]) < 0)
    best, half = c.truth["center"], 0.8
    x = np.linspace(c.sweep.min(), c.sweep.max(), 200001)
    p = 0.05 + 0.7 * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    assert abs(x[np.argmin(p)] - best) <= x[1] - x[0]


def test_bad_families_are_what_the_docstring_says():
    from qplane.calibration.domain_gen9 import fixed_threshold_fidelity

    rng = np.random.default_rng(10)
    # the CZ window below the operating point: the noiseless fringe only falls
    u = np.linspace(0.45, 0.85, 200)
    assert np.all(np.diff(np.cos(np.pi / 2 * (1 + u ** 2))) < 0)
    # the π pulse muted: one half at every duration, whatever the threshold
    t = np.geomspace(50e-9, 4e-6, 30)
    miss_g, _ = fixed_threshold_fidelity(t, 5e3, 40e-6, 1 / 80e-9, 0.0)
    assert np.allclose(1 - (miss_g + (1 - miss_g)) / 2, 0.5)
    ro = make_gen11_case("readout_duration/pi_pulse_muted", rng)
    assert ro.units == "ns" and np.all(np.diff(ro.sweep) > 0) and ro.shots % 2 == 0
    # coherent RB error: the noiseless survival rises somewhere
    m = np.arange(1, 400)
    surv = 0.5 + 0.45 * np.exp(-m / 300) * (1 + 0.3 * np.cos(2 * math.pi * m / 60))
    assert np.any(np.diff(surv) > 0)
    # the parity doublet: two maxima
    x = np.linspace(-20, 20, 4001)
    line = 0.5 * g11._lorentz(x, -1.0, 1.0) + 0.5 * g11._lorentz(x, 1.0, 1.0)
    assert np.sum(np.diff(np.sign(np.diff(line))) < 0) == 2
    # the coarse divider: whole-ns delays, 0.55-1.45 fringes a step
    for _ in range(20):
        c = make_gen11_case("ramsey/divider_coarse_ns", rng)
        step = (c.sweep[1] - c.sweep[0]) * 1e-9
        assert math.isclose(c.sweep[1], round(c.sweep[1])) and 0.55 < step * c.settings["detuning"] < 1.5
    # every other echo point a detuned Ramsey
    e = make_gen11_case("echo/alternate_refocus_dropped", rng)
    assert e.units == "us" and e.signal_type == "population"
    amp = make_gen11_case("readout_amplitude/resonator_telegraph_shift", rng)
    assert amp.units == "V" and amp.shots % 2 == 0
    off = make_gen11_case("resonator_spectroscopy/window_off_dbm", rng)
    assert off.units == "MHz" and np.all(off.signal < -30) and not off.truth


def test_the_benchmark_judges_its_targets_on_the_eleventh_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN11) in sets
    assert res["families_gen11"]["mark"] in GEN11 and res["gen11_families"] == sorted(GEN11)
    assert "targets_met_gen11" in res and "targets_met_gen10" in res
    assert set(bench._KEY) >= {k for k, _ in GEN11.values()}
