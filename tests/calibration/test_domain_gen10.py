"""The tenth generation of held-out families: new, deterministic, well formed, labelled, with
the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen10 as g10
from qplane.calibration.domain_gen10 import GEN10, PRIOR_ERROR, gen10_set, make_gen10_case
from qplane.calibration.units import to_si
from tests.calibration._generation_checks import assert_well_formed, earlier_noises


def test_cases_are_well_formed_labelled_and_their_noises_new():
    earlier = earlier_noises(10)
    cases = gen10_set(2, seed=5)
    new = {c.noise for c in cases}
    assert len(new) >= 14 and not new & earlier
    assert_well_formed(cases)


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen10_case("rabi/rotated_i_wrong_angle", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        assert c.units == "mV" and c.sweep.max() > 2 * prior     # built from the prior
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)
    bad = make_gen10_case("rabi/prior_wrong_prefix", rng)
    # the prior a thousand times too large: far beyond the sweep, clipped to 1 V full scale
    assert bad.settings["expected_pi_amplitude"] > 2 * bad.sweep.max() and not bad.truth
    assert bad.sweep.max() == 1000.0 and bad.units == "mV"


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_compressed_resonator_minimum_is_the_resonance():
    rng = np.random.default_rng(1)
    for _ in range(10):
        fr, kappa, depth = rng.uniform(6e9, 7.5e9), rng.uniform(0.3e6, 3e6), rng.uniform(0.4, 0.9)
        f = fr + np.linspace(-10, 10, 200001) * kappa
        m = np.abs(1 - depth / (1 + 2j * (f - fr) / kappa))
        out = g10.rapp_compress(m, rng.uniform(1, 3))
        assert np.all(np.diff(out[np.argsort(m)]) >= -1e-12)     # monotone in |S21|
        assert abs(f[np.argmin(out)] - fr) <= 1e-4 * kappa
    loss = 20 * np.log10(g10.rapp_compress(np.array([0.2, 1.0]), 2.5)[1])
    assert math.isclose(loss, -2.5, rel_tol=1e-9)
    c = make_gen10_case("resonator_spectroscopy/twpa_compressed_descending", rng)
    assert c.units == "GHz" and np.all(np.diff(c.sweep) < 0)


def test_readout_frequency_truth_is_the_noiseless_fidelity_maximum():
    rng = np.random.default_rng(2)
    for _ in range(20):
        mid, kappa = rng.uniform(6e9, 7.5e9), rng.uniform(0.5e6, 3e6)
        chi, depth = kappa * rng.uniform(0.5, 0.95) / 2, rng.uniform(0.5, 0.95)
        snr, tilt = rng.uniform(3, 6) / depth, rng.uniform(0.02, 0.08) * rng.choice([-1, 1])
        best = g10.thermal_fidelity_best(mid, chi, kappa, depth, snr, tilt)
        f = mid + np.linspace(-3, 3, 600001) * kappa
        for p_th, floor in ((0.0, 0.0), (rng.uniform(0.02, 0.1), rng.uniform(0.01, 0.05))):
            fid = g10.thermal_fidelity(f, mid, chi, kappa, depth, snr, tilt, p_th, floor)
            top = g10.thermal_fidelity(np.array([best]), mid, chi, kappa, depth, snr, tilt,
                                       p_th, floor)[0]
            assert top >= fid.max() - 1e-12                           # flat at the top
            assert abs(f[np.argmax(fid)] - best) <= 1e-3 * kappa
        assert 0 < abs(best - mid) < 0.5 * kappa                 # the tilt moves it, a little
    # the fidelity by Monte Carlo at one point: thermal shots in both preparations
    from scipy.special import erfc, erfcinv

    e, p_th, floor = 0.08, 0.06, 0.03
    snr_sep = 2 * math.sqrt(2) * float(erfcinv(2 * e))
    assert math.isclose(0.5 * erfc(snr_sep / (2 * math.sqrt(2))), e, rel_tol=1e-9)
    n = 400000
    hot0, hot1 = rng.random(n) < p_th, rng.random(n) < p_th          # excited before the π
    read1_given0 = np.where(hot0, rng.random(n) > e, rng.random(n) < e)
    decayed = rng.random(n) < floor
    read0_given1 = np.where(hot1, rng.random(n) > e, decayed | (rng.random(n) < e))
    mc = 1 - (read1_given0.mean() + read0_given1.mean()) / 2
    exact = 1 - ((1 - p_th) * (2 * e + floor) + 2 * p_th * (1 - e)) / 2
    assert abs(mc - exact) < 0.005                                # decay and overlap rarely both
    c = make_gen10_case("readout_frequency/thermal_fidelity_descending_ghz", rng)
    assert c.units == "GHz" and np.all(np.diff(c.sweep) < 0) and c.shots % 2 == 0


def test_misrotated_i_is_affine_in_the_population():
    rng = np.random.default_rng(4)
    for _ in range(10):
        c0 = complex(rng.normal(), rng.normal())
        d = rng.uniform(0.2, 5) * np.exp(1j * rng.uniform(-np.pi, np.pi))
        err = math.radians(rng.uniform(15, 40)) * rng.choice([-1, 1])
        p = np.linspace(0, 1, 11)
        y = np.real((c0 + d * p - c0) * np.exp(-1j * (np.angle(d) + err)))
        assert np.allclose(y, abs(d) * math.cos(err) * p)        # a π rotation stays the peak


def test_ramsey_fringe_frequency_under_gaussian_decay():
    # without the wander the fringe crosses 1/2 every 1 / 2f, whatever the envelope
    f, t_phi, t1, ph = 1.3e6, 12e-6, 60e-6, 0.2
    x = np.linspace(0, 20e-6, 400001)
    p = 0.5 + 0.45 * np.exp(-(x / t_phi) ** 2 - x / (2 * t1)) * np.cos(2 * math.pi * f * x + ph)
    s = p - 0.5
    i = np.nonzero(np.sign(s[:-1]) != np.sign(s[1:]))[0]
    cross = x[i] - s[i] * (x[i + 1] - x[i]) / (s[i + 1] - s[i])
    slope = np.polyfit(np.arange(len(cross)), cross, 1)[0]
    assert math.isclose(1 / (2 * slope), f, rel_tol=1e-6)
    # and the wander is zero-mean: the fringe's mean frequency is the truth
    assert abs(np.mean(g10._pink(120, np.random.default_rng(5)))) < 1e-12
    c = make_gen10_case("ramsey/one_over_f_phase_noise", np.random.default_rng(6))
    assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031


def test_decay_readouts_keep_the_decay_constant():
    rng = np.random.default_rng(7)
    tau, x = 40e-6, np.linspace(0, 150e-6, 60)
    # heating: at a fixed thermal population the decay is exponential in tau
    p_th = 0.02
    p = p_th + (0.9 - p_th) * np.exp(-x / tau)
    assert math.isclose(-1 / np.polyfit(x, np.log(p - p_th), 1)[0], tau, rel_tol=1e-9)
    # the IQ imbalance is real-linear: the image plane is still affine in the population
    c0, d = 0.3 - 0.2j, 1.1 * np.exp(0.4j)
    q = 0.5 + 0.4 * np.exp(-x / tau)
    z = g10.iq_imbalance(c0 + d * q, 1.15, math.radians(9)) + (0.2 + 0.5j)
    inf = g10.iq_imbalance(c0 + d * 0.5, 1.15, math.radians(9)) + (0.2 + 0.5j)
    slope = np.polyfit(x, np.log(np.abs(z - inf)), 1)[0]
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    a, b = rng.normal(size=5) + 1j * rng.normal(size=5), rng.normal(size=5)
    m = g10.iq_imbalance(a, 1.1, 0.1)
    assert np.allclose(g10.iq_imbalance(a * b, 1.1, 0.1), m * b)   # real scale factors pass
    c = make_gen10_case("t1/heating_shuffled_repeats", rng)
    assert c.units == "ms" and not np.all(np.diff(c.sweep) >= 0)
    _, counts = np.unique(c.sweep, return_counts=True)
    assert np.all((counts >= 2) & (counts <= 4)) and len(set(counts)) == 1


def test_drifting_line_is_seen_where_the_sweep_meets_the_qubit():
    rng = np.random.default_rng(8)
    for _ in range(10):
        width = rng.uniform(0.3e6, 3e6)
        span = width * rng.uniform(12, 25)
        x = np.linspace(5e9 - span / 2, 5e9 + span / 2, 400001)
        f_start = 5e9 + rng.uniform(-0.25, 0.25) * span
        r = rng.uniform(0.1, 0.5) * rng.choice([-1, 1]) * width / span
        qubit = f_start + r * (x - x[0])
        line = (width / 2) ** 2 / ((x - qubit) ** 2 + (width / 2) ** 2)
        best = g10.drifting_line_centre(f_start, x[0], r)
        assert abs(x[np.argmax(line)] - best) <= 2 * (x[1] - x[0])
        assert abs(best - f_start) <= abs(r) * span * 1.01      # the drift, at most
    c = make_gen10_case("spectroscopy/flux_drift_khz", rng)
    assert c.units == "kHz" and c.sweep.min() > 4e6              # absolute, in kHz


def test_drag_minimum_is_the_truth_and_every_point_repeats():
    rng = np.random.default_rng(9)
    c = make_gen10_case("drag/shuffled_repeats", rng)
    values, counts = np.unique(c.sweep, return_counts=True)
    assert np.all(counts == counts[0]) and counts[0] in (2, 3)
    assert not np.all(np.diff(c.sweep) >= 0)
    best, half = c.truth["center"], 0.8
    x = np.linspace(values.min(), values.max(), 200001)
    p = 0.05 + 0.7 * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    assert abs(x[np.argmin(p)] - best) <= x[1] - x[0]


def test_bad_families_are_what_the_docstring_says():
    rng = np.random.default_rng(10)
    rb = make_gen10_case("randomized_benchmarking/heating_drift", rng)
    lengths, counts = np.unique(rb.sweep, return_counts=True)
    assert np.all(counts == counts[0]) and counts[0] in (2, 3)
    assert np.array_equal(rb.sweep[:len(lengths)], lengths)          # pass by pass
    ro = make_gen10_case("readout_duration/tls_switching_t1", rng)
    assert ro.units == "us" and np.all(np.diff(ro.sweep) > 0)
    flat = make_gen10_case("echo/amplifier_saturated_flat", rng)
    assert flat.signal_type == "magnitude" and not flat.truth
    two = make_gen10_case("readout_frequency/heterodyne_image_two_dips", rng)
    assert two.units == "Hz" and two.signal_type == "population" and two.shots % 2 == 0
    # the prior's prefix error: 0.6-1.5 fringes a step
    for _ in range(20):
        c = make_gen10_case("rabi/prior_wrong_prefix", rng)
        api = c.settings["expected_pi_amplitude"] / 1000             # about, 4 % off
        per_step = (c.sweep[1] - c.sweep[0]) / (2 * api)
        assert 0.5 < per_step < 1.7


def test_above_transitions_window_only_falls():
    from qplane.calibration.domain_gen8 import _amplitude_errors

    rng = np.random.default_rng(11)
    for _ in range(20):
        width = rng.uniform(0.01, 0.06)
        eps_d, c_t, onset = rng.uniform(0.005, 0.03), rng.uniform(0.1, 0.3), width * rng.uniform(
            4, 8)
        grid = np.geomspace(0.2 * width, 20 * width, 4001)
        e0, e1 = _amplitude_errors(grid, width, eps_d, onset, c_t)
        best = grid[np.argmax(1 - (e0 + e1) / 2)]
        x = best * math.exp(1.3) * np.exp(np.linspace(-0.7, 0.7, 41))
        e0, e1 = _amplitude_errors(x, width, eps_d, onset, c_t)
        assert np.all(np.diff(1 - (e0 + e1) / 2) < 0)


def test_tls_features_are_in_the_noiseless_data():
    # the TLS swap cuts a notch into the CZ fringe; the TLS beating makes a T1 non-monotone
    best = 0.2
    x = best * np.linspace(0.8, 1.2, 2001)
    p = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    w = 0.02 * best
    swap = 0.5 * (w / 2) ** 2 / ((x - 1.03 * best) ** 2 + (w / 2) ** 2)
    cut = (1 - swap) * p + swap * 0.5
    assert np.sum(np.diff(np.sign(np.diff(cut))) != 0) >= 3       # extra extrema
    t = np.linspace(0, 200e-6, 2001)
    beat = np.exp(-t / 50e-6) * (1 - 0.5 * np.sin(math.pi * 3 / t[-1] * t) ** 2)
    assert np.any(np.diff(beat) > 0)


def test_the_benchmark_judges_its_targets_on_the_tenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN10) in sets
    assert res["families_gen10"]["mark"] in GEN10 and res["gen10_families"] == sorted(GEN10)
    assert "targets_met_gen10" in res and "targets_met_gen9" in res
    assert set(bench._KEY) >= {k for k, _ in GEN10.values()}
