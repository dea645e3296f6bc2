"""The fifteenth generation of held-out families: new, deterministic, well formed, labelled,
with the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import itertools
import math

import numpy as np

from qplane.calibration import domain_gen15 as g15
from qplane.calibration.domain_gen15 import GEN15, PRIOR_ERROR, make_gen15_case
from qplane.calibration.units import to_si


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen15_case("rabi/dbfs_amplitude_grid", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        assert c.units == "mV" and c.sweep.max() > 2 * prior      # built from the prior
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_jitter_averaged_notch_stays_symmetric_with_its_minimum_at_the_mean_resonance():
    rng = np.random.default_rng(1)
    for _ in range(10):
        fr, kappa, depth = rng.uniform(4e9, 8e9), rng.uniform(0.3e6, 3e6), rng.uniform(0.4, 0.9)
        jitter = kappa * rng.uniform(0.05, 0.3)
        d = np.linspace(-5, 5, 200001) * kappa
        mag = g15.jitter_averaged_notch(fr + d, fr, kappa, depth, jitter)
        assert abs(d[np.argmin(mag)]) <= d[1] - d[0]
        assert np.allclose(mag, mag[::-1], atol=1e-12)              # symmetric about f_r
        # the average of the magnitudes by brute force over many jittered sweeps
        delta = rng.normal(0, jitter, 20000)
        f = fr + np.array([-1.0, 0.0, 0.7]) * kappa
        brute = np.mean(np.abs(1 - depth / (1 + 2j * (f[:, None] - fr - delta) / kappa)), 1)
        assert np.allclose(g15.jitter_averaged_notch(f, fr, kappa, depth, jitter), brute,
                           atol=3e-3)
        assert mag.min() > 1 - depth                                # shallower than one sweep
    for _ in range(10):
        c = make_gen15_case("resonator_spectroscopy/jitter_averaged_sweeps", rng)
        assert c.units == "MHz" and c.signal_type == "magnitude" and np.all(np.diff(c.sweep) > 0)
        x = c.sweep * 1e6
        assert x.min() < c.truth["center"] < x.max()


def test_stitched_segments_keep_the_line_centre_under_per_segment_offsets():
    assert g15.segment_offsets(7, 3, np.array([0.0, 1.0, 2.0])).tolist() == [0, 0, 0, 1, 1, 2, 2]
    centre, width = 5e9, 1e6
    f = centre + np.linspace(-10e6, 10e6, 400001)
    line = 0.5 * g15._lorentz(f, centre, width)
    assert f[np.argmax(line)] == centre
    # offsets of at most 5 % of the height per seam: the peak stays the only maximum above
    # the half height, at the centre when no seam lies within two widths of it
    rng = np.random.default_rng(2)
    for _ in range(20):
        steps = 0.5 * rng.uniform(0.02, 0.05, 4) * rng.choice([-1, 1], 4)
        y = line + g15.segment_offsets(len(f), 4, np.cumsum(steps))
        seams = f[np.nonzero(np.diff(g15.segment_offsets(len(f), 4, np.arange(4.0))))[0]]
        if np.all(np.abs(seams - centre) > 2 * width):
            assert f[np.argmax(y)] == centre
        assert np.ptp(np.cumsum(steps)) < 0.2 * 0.5
    for _ in range(10):
        c = make_gen15_case("spectroscopy/stitched_lo_segments", rng)
        assert c.units == "MHz" and c.signal_type == "magnitude" and c.shots is None
        assert np.all(np.diff(c.sweep) > 0) and len(c.sweep) >= 90
        x = c.sweep * 1e6
        assert x.min() < c.truth["center"] < x.max()


def test_dbfs_grid_is_geometric_and_the_rabi_peak_is_the_pi_amplitude():
    from qplane.calibration.domain_gen7 import _rabi_p

    x = g15.dbfs_grid(2.0, 30.0, 61)
    assert math.isclose(x[-1], 2.0) and math.isclose(x[0], 2.0 * 10 ** (-30 / 20))
    db = 20 * np.log10(x / 2.0)
    assert np.allclose(np.diff(db), 0.5) and np.allclose(db, np.round(db, 1))
    api = 0.37
    fine = g15.dbfs_grid(2.5 * api, 30.0, 300001, step_db=1e-9)
    for phase in (0.1, -0.25):
        p = _rabi_p(fine, api, phase, 0.0, 0.0, 1.0, 0.0)
        i = np.argmax(np.where(fine < 1.5 * api, p, -1))
        assert abs(fine[i] - api) <= fine[i + 1] - fine[i]
    rng = np.random.default_rng(4)
    for _ in range(10):
        c = make_gen15_case("rabi/dbfs_amplitude_grid", rng)
        assert c.signal_type == "population" and c.shots and np.all(np.diff(c.sweep) > 0)
        steps = np.diff(c.sweep)
        assert steps[-1] > 10 * steps[0]                          # dense at small amplitudes


def test_ramsey_frequency_survives_the_dead_time_offset():
    f, t2, ph, t0 = 1.3e6, 40e-6, 0.2, 3.5e-6
    x = np.linspace(t0, t0 + 10e-6, 400001)
    fringe = np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    i = np.nonzero(np.sign(fringe[:-1]) != np.sign(fringe[1:]))[0]
    cross = x[i] - fringe[i] * (x[i + 1] - x[i]) / (fringe[i + 1] - fringe[i])
    assert math.isclose(1 / (2 * np.polyfit(np.arange(len(cross)), cross, 1)[0]), f,
                        rel_tol=1e-6)
    rng = np.random.default_rng(6)
    for _ in range(10):
        c = make_gen15_case("ramsey/dead_time_offset_window", rng)
        assert c.units == "us" and 2 <= c.sweep[0] <= 5 and np.allclose(
            np.diff(c.sweep), c.sweep[1] - c.sweep[0])
        assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031
        assert len(c.sweep) >= 30 and c.shots


def test_t1_decay_keeps_tau_under_a_threshold_offset():
    tau = 40e-6
    t = np.linspace(0, 200e-6, 60)
    excited = 0.01 + 0.9 * np.exp(-t / tau)
    for d in (0.0, 0.02, -0.03):                 # the threshold trades P(1|0) for P(0|1)
        e0, e1 = 0.04 + d, 0.07 - d
        p = e0 + (1 - e0 - e1) * excited
        settled = e0 + (1 - e0 - e1) * 0.01
        slope = np.polyfit(t, np.log(p - settled), 1)[0]
        assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    rng = np.random.default_rng(7)
    for _ in range(10):
        c = make_gen15_case("t1/threshold_drift_shuffled_rounds", rng)
        assert c.units == "us" and c.signal_type == "population" and c.shots >= 200
        assert np.mean(c.signal[:3]) > np.mean(c.signal[-3:])
        assert c.sweep.max() > 3 * c.truth["tau"] / 1e-6


def test_xy4_echo_decays_with_tau_on_the_sequencer_grid():
    x = g15.sequencer_grid(96.0, 150000.0, 80, 16.0)
    assert np.all(np.mod(x, 16) == 0) and x[0] == 96 and np.all(np.diff(x) > 0)
    tau = 50e-6
    t = x * 1e-9
    p = 0.02 + 0.9 * (0.5 + 0.45 * (1 - 4 * 0.05**2) * np.exp(-t / tau))
    assert math.isclose(-1 / np.polyfit(t, np.log(p - 0.02 - 0.45), 1)[0], tau, rel_tol=1e-9)
    rng = np.random.default_rng(8)
    for _ in range(10):
        c = make_gen15_case("echo/xy4_ns_grid", rng)
        assert c.units == "ns" and c.shots and 80 <= c.sweep[0] <= 160
        assert np.allclose(c.sweep, np.round(c.sweep)) and np.all(np.diff(c.sweep) > 0)
        assert np.all(np.mod(np.round(c.sweep), 16) == 0)          # whole ns on the grid


def test_cz_minimum_is_the_truth_under_readout_crosstalk():
    best = 0.2
    x = np.linspace(0.1, 0.3, 200001)
    target = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    for c, control in ((0.03, 0.05), (0.08, 0.95)):
        p = (1 - c) * target + c * control
        assert abs(x[np.argmin(p)] - best) <= x[1] - x[0]
    rng = np.random.default_rng(9)
    for _ in range(10):
        case = make_gen15_case("cz/mux_readout_crosstalk", rng)
        assert case.units == "mV" and np.allclose(np.diff(case.sweep),
                                                  case.sweep[1] - case.sweep[0])
        assert case.sweep.min() < case.truth["cz_amplitude"] / 1e-3 < case.sweep.max()


def test_rb_majority_vote_is_affine_and_decays_with_tau():
    for e in (0.03, 0.12):                       # the majority's error by enumeration
        brute = sum(math.prod(e if w else 1 - e for w in wrong)
                    for wrong in itertools.product((0, 1), repeat=3) if sum(wrong) >= 2)
        assert math.isclose(g15.majority_error(e), brute)
    r, spam = 1e-3, 0.05
    p = 1 - 2 * r
    m = np.unique(np.round(np.geomspace(1, 3000, 50)))
    survival = 0.5 + (0.5 - spam) * p**m
    assert math.isclose(0.5 + (0.5 - spam), 1 - spam)               # the SPAM floor at m = 0
    a, b = 1 - g15.majority_error(0.05), g15.majority_error(0.1)
    read0 = a * survival + b * (1 - survival)
    slope = np.polyfit(m, np.log(read0 - (a + b) / 2), 1)[0]
    assert math.isclose(-1 / slope, -1 / math.log(p), rel_tol=1e-9)
    rng = np.random.default_rng(10)
    for _ in range(10):
        c = make_gen15_case("randomized_benchmarking/log_lengths_majority_vote", rng)
        assert c.signal_type == "population" and c.shots and len(c.sweep) >= 20
        assert np.all(np.diff(c.sweep) > 0) and np.all(c.sweep == np.round(c.sweep))
        assert c.sweep[0] == 1 and c.sweep.max() > 2 * c.truth["tau"]
        ratio = c.sweep[1:] / c.sweep[:-1]
        assert ratio[-1] < 1.5 and np.diff(c.sweep)[-1] > 10 * np.diff(c.sweep)[0]


def test_bad_families_are_what_the_docstring_says():
    from qplane.calibration.domain_gen8 import _amplitude_errors
    from qplane.calibration.domain_gen10 import _readout_draw, thermal_fidelity

    rng = np.random.default_rng(11)
    # a flux jump: the fidelity falls onto a lower curve, a step well above 0.05 and over
    # twice the largest step of the curve it left near the jump (the coarsest, widest window)
    for _ in range(300):
        r = _readout_draw(rng)
        centre = r["mid"] + rng.uniform(-0.3, 0.3) * r["kappa"]
        x = centre + np.linspace(-3.5, 3.5, 51) * r["kappa"]
        before = thermal_fidelity(x, tilt=0.0, p_th=0.01, floor=0.01, **r)
        after = thermal_fidelity(x, tilt=0.0, p_th=0.05, floor=0.04,
                                 **dict(r, chi=r["chi"] * 0.3))
        assert np.all(after < before)
        for j in range(int(0.35 * 51), int(0.65 * 51) + 1):
            assert before[j] - after[j] > 0.05
            assert before[j] - after[j] > 2 * np.max(np.abs(np.diff(before))[j - 3:j + 2])
    for _ in range(10):
        c = make_gen15_case("readout_frequency/flux_jump_mid_sweep", rng)
        assert c.units == "MHz" and c.shots % 2 == 0 and not c.truth
    # a bistable JPA: above the switch the fidelity is far below the curve it left
    for width, onset, switch in ((0.01, 4, -0.25), (0.06, 8, 0.25), (0.03, 6, 0.0)):
        for low in (3.0, 5.0):
            u = np.linspace(-0.7, 0.7, 1401)
            grid = np.geomspace(0.2 * width, 20 * width, 4001)
            e0, e1 = _amplitude_errors(grid, width, 0.03, onset * width, 0.3)
            for current in np.array([0.7, 1.4]) * grid[np.argmax(1 - (e0 + e1) / 2)]:
                x = current * np.exp(u)
                a0, a1 = _amplitude_errors(x, width, 0.03, onset * width, 0.3)
                b0, b1 = _amplitude_errors(x, low * width, 0.03, onset * width, 0.3)
                i = np.searchsorted(u, switch)
                step = (1 - (a0[i] + a1[i]) / 2) - (1 - (b0[i] + b1[i]) / 2)
                coarse = _amplitude_errors(current * np.exp(np.linspace(-0.7, 0.7, 21)), width,
                                           0.03, onset * width, 0.3)
                assert step > 0.08                                 # over 3 x any step of
                assert step > 3 * np.max(np.abs(np.diff(sum(coarse) / 2)))   # the coarsest
    for _ in range(10):
        c = make_gen15_case("readout_amplitude/jpa_bistable_switch", rng)
        assert c.units == "mV" and c.shots % 2 == 0 and np.all(np.diff(c.sweep) > 0)
    # zeroed weights: a tie broken at random, the fidelity 1/2 whatever the tie's odds
    for q in (0.3, 0.5, 0.7):
        assert 1 - (q + (1 - q)) / 2 == 0.5
    for _ in range(10):
        c = make_gen15_case("readout_duration/integration_weights_zeroed", rng)
        assert c.units == "ns" and c.shots % 2 == 0 and abs(np.mean(c.signal) - 0.5) < 0.02
        assert np.all(np.mod(np.round(c.sweep), 4) == 0)
    # one extra pi: the population peaks (near the top) at beta*, inside the window
    for _ in range(10):
        c = make_gen15_case("drag/odd_pulse_count_inverted", rng)
        assert c.shots and not c.truth and len(c.sweep) >= 21
        assert np.max(c.signal) > 0.8                             # the inverted fringe's top
    best, span, half = 0.3, 1.0, 0.6
    x = np.linspace(best - 0.15 * span - span / 2, best - 0.15 * span + span / 2, 10001)
    p = 1 - (0.1 + 0.3 * np.sin(np.pi / (2 * half) * (x - best)) ** 2)
    assert abs(x[np.argmax(p)] - best) <= x[1] - x[0] and p.max() >= 0.9 and 0 < np.argmax(p)
    # the second pi/2 missing: 1/2 at every delay, lowered by under 0.025 by T1
    t = np.linspace(0, 1.0, 100)
    assert np.all(0.5 - 0.5 * np.exp(-t / 20.0) < 0.025)
    for _ in range(10):
        c = make_gen15_case("ramsey/second_half_pi_missing", rng)
        assert c.units == "us" and c.sweep[0] == 0 and "detuning" in c.settings
        assert abs(np.mean(c.signal) - 0.5) < 0.06 and c.shots
    # the refocusing pulse off frequency: flat at 1/2 within 1e-3 from the first delay
    assert 0.45 * math.exp(-9) < 1e-4
    for _ in range(10):
        c = make_gen15_case("echo/refocus_off_frequency", rng)
        assert c.units == "us" and c.shots and abs(np.mean(c.signal) - 0.5) < 0.06
    # the Stark-shifted line: below the window, the trace falls across it
    for _ in range(50):
        width = rng.uniform(0.45e6, 6e6)
        span = width * rng.uniform(10, 20)
        x = np.linspace(-span / 2, span / 2, 201)
        p = g15._lorentz(x, -span / 2 - rng.uniform(0.6, 1.5) * width, width)
        assert np.all(np.diff(p) < 0) and p[0] < 0.75
    for _ in range(10):
        c = make_gen15_case("spectroscopy/readout_tone_on_stark_shift", rng)
        assert c.units == "MHz" and c.shots and not c.truth
        assert np.mean(c.signal[:5]) > np.mean(c.signal[-5:])
    # a collapsed T1: the decay below e^-2 of its amplitude by the second point
    for _ in range(10):
        c = make_gen15_case("t1/collapsed_below_first_step", rng)
        assert c.units == "us" and c.shots and c.sweep[0] == 0
        assert np.allclose(np.diff(c.sweep), c.sweep[1])
    assert math.exp(-2) < 0.14


def test_the_benchmark_judges_its_targets_on_the_fifteenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN15) in sets
    assert res["families_gen15"]["mark"] in GEN15 and res["gen15_families"] == sorted(GEN15)
    assert "targets_met_gen15" in res and "targets_met_gen14" in res
    assert set(bench._KEY) >= {k for k, _ in GEN15.values()}
