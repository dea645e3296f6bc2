"""The ninth generation of held-out families: new, deterministic, well formed, labelled, with
the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen9 as g9
from qplane.calibration.domain_gen9 import GEN9, PRIOR_ERROR, gen9_set, make_gen9_case
from qplane.calibration.units import to_si
from tests.calibration._generation_checks import (assert_well_formed, earlier_families,
                                                  earlier_noises)


def test_families_are_new_and_cover_every_kind_and_every_bad_mode():
    from qplane.calibration.kinds import KINDS

    assert not set(GEN9) & earlier_families(9)
    assert {k for k, _ in GEN9.values()} == set(KINDS)
    assert ("readout_frequency", "ok") in GEN9.values()   # no generation had held it out
    modes = [m for _, m in GEN9.values()]
    assert {"ok", "undersampled", "off_range", "anomalous", "no_signal"} <= set(modes)
    assert modes.count("ok") == len(modes) // 2
    assert all(f.split("/")[0] == k for f, (k, _) in GEN9.items())


def test_cases_are_well_formed_labelled_and_their_noises_new():
    earlier = earlier_noises(9)
    cases = gen9_set(2, seed=5)
    new = {c.noise for c in cases} - {"binomial"}
    assert len(new) >= 12 and not new & earlier
    assert_well_formed(cases)


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen9_case("rabi/shot_projection_iq", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        assert c.units == "mV" and c.sweep.max() > 2 * prior     # built from the prior
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)
    bad = make_gen9_case("rabi/drive_detuned", rng)
    assert bad.settings["expected_pi_amplitude"] > 0 and not bad.truth


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_readout_frequency_truth_is_the_noiseless_error_minimum():
    rng = np.random.default_rng(1)
    for _ in range(20):
        mid, kappa = rng.uniform(6e9, 7.5e9), rng.uniform(0.5e6, 3e6)
        chi = kappa * rng.uniform(0.5, 0.95) / 2
        depth = rng.uniform(0.5, 0.95)
        f = mid + np.linspace(-5, 5, 200001) * kappa
        sep = np.abs(depth / (1 + 2j * (f - mid + chi) / kappa)
                     - depth / (1 + 2j * (f - mid - chi) / kappa))
        assert abs(f[np.argmax(sep)] - mid) <= 1e-4 * kappa     # 2χ ≤ κ: one maximum
        snr = rng.uniform(3, 6) / sep.max()                      # as the generator draws it
        e = g9.readout_error(f, mid - chi, mid + chi, kappa, depth, snr,
                             rng.uniform(0.01, 0.05))
        assert abs(f[np.argmin(e)] - mid) <= 1e-4 * kappa
    # and the generator's truth is that midpoint, inside the coarse survey and the file
    c = make_gen9_case("readout_frequency/permille_two_scans", rng)
    assert c.units == "MHz" and np.all(c.signal == np.round(c.signal, 1))
    assert 0 <= c.signal.min() < 100 < c.signal.max() <= 1000
    assert not np.all(np.diff(c.sweep) > 0)                     # survey, then the zoom


def test_median_of_shots_keeps_the_fringe():
    # the median is monotone in the population, so it crosses its p = 1/2 value exactly
    # where the fringe does: the fringe frequency is unchanged
    p = np.linspace(0, 1, 201)
    for sep in (0.6, 1.0, 1.5):
        m = g9.median_signal(p, sep)
        assert np.all(np.diff(m) > 0)
        t = np.linspace(0, 5e-6, 2001)
        fringe = 0.5 + 0.45 * np.exp(-t / 4e-6) * np.cos(2 * math.pi * 2e6 * t + 0.2)
        mt = g9.median_signal(fringe, sep) - g9.median_signal([0.5], sep)[0]
        assert np.array_equal(np.sign(mt), np.sign(fringe - 0.5))
    # the simulated medians follow the noiseless curve (10 000 shots: within 4 of their σ)
    rng = np.random.default_rng(2)
    q = np.array([0.1, 0.5, 0.9])
    v = rng.normal(size=(3, 10000)) + 1.2 * (rng.random((3, 10000)) < q[:, None])
    sigma = 1.2533 * np.std(v, axis=1) / 100
    assert np.all(np.abs(np.median(v, axis=1) - g9.median_signal(q, 1.2)) < 4 * sigma)


def test_shot_projection_iq_is_affine_in_the_population():
    rng = np.random.default_rng(4)
    c0, d, r = 0.3 - 0.1j, 0.8 * np.exp(0.7j), 0.04
    p = np.array([0.0, 0.25, 0.5, 1.0])
    mean = g9.shot_iq_mean(p, c0, d, r)
    assert np.allclose(mean, c0 + (mean[-1] - c0) * p)          # a π rotation stays the peak
    # the mean position of a decaying shot: E[t/T | t < T] for T1 = T / r, numerically
    t = np.linspace(0, 1, 200001)
    w = np.exp(-r * t)
    assert math.isclose(g9._decay_fraction(r), np.trapezoid(t * w, t) / np.trapezoid(w, t),
                        rel_tol=1e-6)
    z = g9._shot_iq(np.full(4000, 0.5), c0, d, 0.0, r, 200, rng)  # no blob width: projection
    assert abs(np.mean(z) - g9.shot_iq_mean(np.array([0.5]), c0, d, r)[0]) < 0.01 * abs(d)
    spread = np.std(np.real((z - c0) / d))
    assert 0.8 < spread / math.sqrt(0.25 / 200) < 1.2               # binomial p(1-p)/N


def test_drag_phase_minimum_is_the_truth():
    beta, dalpha, best, half = 0.4, 1.7, -0.21, 0.9
    x = np.linspace(-1.2, 0.8, 200001)
    p = 0.05 + 0.8 * np.sin(np.pi / (2 * half) * (x - best)) ** 2
    phase = np.angle((1 - p) * np.exp(1j * (beta - dalpha / 2)) + p * np.exp(
        1j * (beta + dalpha / 2)))
    assert abs(x[np.argmin(phase)] - best) < 1e-5
    assert np.all(np.diff(np.angle((1 - np.linspace(0, 1, 101)) * np.exp(-0.85j)
                                   + np.linspace(0, 1, 101) * np.exp(0.85j))) > 0)


def test_decay_readouts_keep_the_decay_constant():
    # a ratio to the first point and a gain are affine maps of the population: the decay
    # constant of a noiseless log-linear fit is the truth
    tau, x = 40e-6, np.linspace(0, 150e-6, 60)
    p = 0.5 + 0.4 * np.exp(-x / tau)
    ratio = (1.0 + 1.3 * p) / (1.0 + 1.3 * p[0])
    base = (1.0 + 1.3 * 0.5) / (1.0 + 1.3 * p[0])
    slope = np.polyfit(x, np.log(ratio - base), 1)[0]
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    rng = np.random.default_rng(6)
    c = make_gen9_case("echo/normalised_first_tail", rng)
    x = c.sweep * to_si(c.units)[1]
    assert c.signal[0] == 1.0 and c.units == "ns"
    assert np.sum(x > 7.5 * c.truth["tau"]) >= 3 and x.max() < 12.01 * c.truth["tau"]
    t1 = make_gen9_case("t1/pulse_tube_references", rng)
    assert np.sum(t1.sweep == 0) >= 4                            # the re-measured references


def test_cz_truth_in_codes_and_every_spectroscopy_truth_inside():
    rng = np.random.default_rng(7)
    c = make_gen9_case("cz/awg_codes_dropped_triggers", rng)
    assert c.units == "" and np.all(c.sweep == np.round(c.sweep)) and c.sweep.max() < 8192
    x = np.linspace(c.sweep.min(), c.sweep.max(), 100001)
    phase = np.pi / 2 * (1 + (x / c.truth["cz_amplitude"]) ** 2)
    assert abs(x[np.argmin(np.cos(phase))] - c.truth["cz_amplitude"]) <= x[1] - x[0]
    s = make_gen9_case("spectroscopy/iq_lsb_centre_out", rng)
    assert np.all(s.signal.real == np.round(s.signal.real))
    assert np.all(s.signal.imag == np.round(s.signal.imag))
    n = len(s.sweep)
    assert np.array_equal(np.argsort(np.argsort(s.sweep)), g9.centre_out(n))  # rank = order


def test_orders_are_permutations():
    for n in (1, 2, 7, 60, 151):
        assert sorted(g9.bit_reversed(n)) == list(range(n))
        assert sorted(g9.centre_out(n)) == list(range(n))
    c = make_gen9_case("ramsey/median_of_shots", np.random.default_rng(9))
    assert np.array_equal(np.argsort(np.argsort(c.sweep)), g9.bit_reversed(len(c.sweep)))
    assert c.settings["detuning"] > 0


def test_bad_families_are_what_the_docstring_says():
    rng = np.random.default_rng(10)
    swapped = make_gen9_case("readout_amplitude/labels_swapped", rng)
    assert np.all(swapped.signal < 0.5) and swapped.units == "mV"
    late = make_gen9_case("ramsey/detuning_beyond_nyquist", rng)
    step = (late.sweep[1] - late.sweep[0]) * to_si(late.units)[1]
    fringes = late.settings["detuning"] * step
    assert 2.0 < fringes < 4.0 and 0.1 < abs(fringes - round(fringes)) < 0.4
    rb = make_gen9_case("randomized_benchmarking/interleaved_mixed", rng)
    assert np.array_equal(rb.sweep[0::2], rb.sweep[1::2])       # every length twice
    t1 = make_gen9_case("t1/window_starts_late", rng)
    assert t1.sweep.min() > 0 and t1.units == "us"


def test_short_readout_window_only_rises():
    # noiseless: the fixed-threshold fidelity rises across the window (its maximum beyond)
    from qplane.calibration.domain_gen8 import _duration_truth

    rng = np.random.default_rng(11)
    for _ in range(5):
        snr, rate = rng.uniform(3, 8) / 1e-3, 1 / rng.uniform(300e-9, 800e-9)
        t1, prep = rng.uniform(20e-6, 80e-6), rng.uniform(0.005, 0.02)
        best = _duration_truth(snr, t1, rate, prep)
        x = best / 5 * np.exp(np.linspace(-1, 1, 25))
        eg, ee = g9.fixed_threshold_fidelity(x, snr, t1, rate, prep)
        assert np.all(np.diff(1 - (eg + ee) / 2) > 0)
        # the analytic errors agree with simulated traces at one duration
        t = x[-1]
        tau = rng.exponential(t1, 40000)
        tau[rng.random(40000) < prep] = 0.0
        from qplane.calibration.domain_gen8 import _ring_up

        excited = snr * _ring_up(np.minimum(tau, t), rate) + rng.normal(0, math.sqrt(t), 40000)
        theta = snr * _ring_up(np.array([t]), rate)[0] / 2
        assert abs(np.mean(excited < theta) - ee[-1]) < 0.01


def test_the_benchmark_judges_its_targets_on_the_ninth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN9) in sets
    assert res["families_gen9"]["mark"] in GEN9 and res["gen9_families"] == sorted(GEN9)
    assert "targets_met_gen9" in res and "targets_met_gen8" in res
    assert set(bench._KEY) >= {k for k, _ in GEN9.values()}
