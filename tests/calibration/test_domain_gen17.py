"""The seventeenth generation of held-out families: new, deterministic, well formed, labelled,
with the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen17 as g17
from qplane.calibration.domain_gen17 import GEN17, PRIOR_ERROR, make_gen17_case
from qplane.calibration.units import to_si


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen17_case("rabi/dense_near_prior_grid", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        assert c.units == "mV" and c.sweep.max() > 2 * prior      # built from the prior
        near = np.abs(c.sweep / prior - 1) <= 0.2 + 1e-9
        assert np.sum(near) >= 20 and np.all(np.diff(c.sweep) > 0)   # dense near the prior
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


def test_ramsey_cases_carry_their_detuning():
    rng = np.random.default_rng(13)
    for _ in range(10):
        c = make_gen17_case("ramsey/thermal_spectator_zz_mixture", rng)
        assert c.units == "us" and c.sweep[0] == 0 and len(c.sweep) >= 30 and c.shots
        assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_group_delay_dips_at_f_r():
    rng = np.random.default_rng(1)
    for _ in range(100):
        fr, kappa, depth = 5e9, rng.uniform(0.3e6, 3e6), rng.uniform(0.4, 0.9)
        x = fr + np.linspace(-5, 5, 2001) * kappa
        cable = rng.uniform(20e-9, 80e-9)
        s21 = g17.notch(x, fr, kappa, depth) * np.exp(-2j * math.pi * x * cable)
        delay = g17.group_delay(x, s21, int(rng.integers(1, 10)))
        assert abs(x[np.argmin(delay)] - fr) <= x[1] - x[0]      # the raw minimum, no fit
        dip = (1 / (1 - depth) - 1) / (math.pi * kappa)
        assert abs(delay[0] - cable) < 0.02 * dip                  # the cable's baseline
        fine = fr + np.linspace(-0.2, 0.2, 40001) * kappa
        exact = g17.group_delay(fine, g17.notch(fine, fr, kappa, depth), 1)
        assert math.isclose(-exact.min(), dip, rel_tol=1e-4)
    for _ in range(10):
        c = make_gen17_case("resonator_spectroscopy/vna_group_delay_format", rng)
        assert c.units == "GHz" and c.signal_type == "magnitude" and c.shots is None
        assert np.all(np.diff(c.sweep) > 0) and len(c.sweep) >= 201
        x = c.sweep * 1e9
        assert x.min() < c.truth["center"] < x.max()
        assert np.median(c.signal) - np.min(c.signal) > 20         # a dip of tens of ns


def test_neighbour_mixture_is_affine_and_the_line_peaks_at_its_centre():
    rng = np.random.default_rng(2)
    pe = np.linspace(0, 1, 11)
    e0, e1, w = 0.03, 0.08, 0.15
    p = (1 - w) * (e0 + (1 - e0 - e1) * pe) + w * (4 * e0 + (1 - 4 * e0 - 4 * e1) * pe)
    assert np.allclose(np.diff(p), np.diff(p)[0]) and np.diff(p)[0] > 0.05   # affine, read
    for _ in range(10):
        c = make_gen17_case("spectroscopy/neighbour_shifted_readout_resonator", rng)
        assert c.units == "MHz" and c.signal_type == "population" and c.shots
        assert np.allclose(np.diff(c.sweep), c.sweep[1] - c.sweep[0]) and len(c.sweep) >= 81
        x = c.sweep * 1e6
        assert x.min() < c.truth["center"] < x.max()
        i = np.argmin(np.abs(x - c.truth["center"]))
        assert np.mean(c.signal[max(i - 1, 0):i + 2]) > np.median(c.signal) + 0.15


def test_rabi_peak_is_at_the_pi_amplitude_on_the_dense_grid():
    from qplane.calibration.domain_gen7 import _rabi_p

    api = 0.37
    x = np.linspace(0, 2.5 * api, 250001)
    for phase in (0.1, -0.25):
        p = _rabi_p(x, api, phase, 0.0, 0.0, 1.0, 0.0)
        i = np.argmax(np.where(x < 1.5 * api, p, -1))
        assert abs(x[i] - api) <= x[1] - x[0]


def test_spectator_mixture_keeps_the_main_fringe_frequency():
    from scipy.optimize import curve_fit

    def damped(x, a, f, ph, t, o):
        return o + a * np.exp(-x / t) * np.cos(2 * math.pi * f * x + ph)

    f, t2 = 1.3e6, 40e-6
    x = np.linspace(0, 10 / f, 120)
    for w, ratio in ((0.1, 1.25), (0.1, 0.5), (0.04, 1.5)):
        y = 0.5 + 0.45 * np.exp(-x / t2) * ((1 - w) * np.cos(2 * math.pi * f * x + 0.2)
                                             + w * np.cos(2 * math.pi * ratio * f * x + 0.2))
        fit, _ = curve_fit(damped, x, y, p0=[0.45, f, 0.2, t2, 0.5])
        assert abs(fit[1] / f - 1) < 0.005                          # the main frequency
        spectrum = np.abs(np.fft.rfft(y - y.mean(), 8192))
        freqs = np.fft.rfftfreq(8192, x[1] - x[0])
        assert abs(freqs[np.argmax(spectrum)] / f - 1) < 0.05        # and the main peak


def test_adaptive_delays_decay_with_tau():
    tau = 40e-6
    rng = np.random.default_rng(7)
    for _ in range(10):
        c = make_gen17_case("t1/bayesian_adaptive_delays", rng)
        assert c.units == "us" and c.signal_type == "population" and c.shots >= 200
        assert c.sweep[0] == 0 and np.all(np.diff(c.sweep) > 0) and len(c.sweep) >= 20
        assert c.sweep.max() > 3.5 * c.truth["tau"] / 1e-6          # the anchors
        steps = np.diff(c.sweep)
        assert steps.max() > 5 * np.median(steps)                    # clusters and gaps
        assert np.mean(c.signal[:2]) > np.mean(c.signal[-2:]) + 0.3
    t = np.sort(rng.gamma(4.0, 1.3 / 4.0, 50)) * tau
    p = 0.01 + 0.9 * np.exp(-t / tau)
    assert math.isclose(-1 / np.polyfit(t, np.log(p - 0.01), 1)[0], tau, rel_tol=1e-9)


def test_detuned_refocus_leaves_the_decay_with_tau():
    assert g17.refocused_fraction(0.0) == 1.0
    assert 0.9 < g17.refocused_fraction(0.3) < g17.refocused_fraction(0.1) < 1.0
    tau, t2s = 50e-6, 2e-6
    t = np.linspace(0, 200e-6, 80)
    eta = g17.refocused_fraction(0.3)
    p = 0.5 + 0.45 * (eta * np.exp(-t / tau)
                      + (1 - eta) * np.exp(-(t / t2s) ** 2) * np.cos(2 * math.pi * 5e5 * t))
    late = t > 6 * t2s
    assert math.isclose(-1 / np.polyfit(t[late], np.log(p[late] - 0.5), 1)[0], tau,
                        rel_tol=1e-9)
    rng = np.random.default_rng(8)
    for _ in range(10):
        c = make_gen17_case("echo/detuned_refocusing_pulse", rng)
        assert c.units == "us" and c.shots and c.sweep[0] == 0
        assert np.mean(c.signal[:3]) > np.mean(c.signal[-3:]) + 0.15
        assert c.sweep.max() > 2.9 * c.truth["tau"] / 1e-6


def test_cz_minimum_is_the_truth_through_uint8_codes():
    best = 0.2
    x = np.linspace(0.13, 0.27, 200001)
    target = 0.03 + 0.9 * (0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2)))
    codes = g17.uint8_codes(target)
    assert np.max(np.abs(codes - target)) <= 0.5 / 255 + 1e-12
    low = x[codes == codes.min()]
    assert low.min() <= best <= low.max() and low.max() - low.min() < 0.1 * best
    assert abs((low.min() + low.max()) / 2 - best) < 0.002 * best   # centred on the truth
    rng = np.random.default_rng(9)
    for _ in range(10):
        c = make_gen17_case("cz/uint8_exported_population", rng)
        assert c.units == "mV" and np.allclose(np.diff(c.sweep), c.sweep[1] - c.sweep[0])
        assert c.sweep.min() < c.truth["cz_amplitude"] / 1e-3 < c.sweep.max()
        assert np.allclose(c.signal * 255, np.round(c.signal * 255))


def test_postselected_rb_decays_with_its_tau():
    r = 1e-3
    p = 1 - 2 * r
    m = np.unique(np.round(np.linspace(1, 3000, 40)))
    survival = 0.5 + 0.45 * p**m
    assert math.isclose(-1 / np.polyfit(m, np.log(survival - 0.5), 1)[0], -1 / math.log(p),
                        rel_tol=1e-9)
    rng = np.random.default_rng(10)
    for _ in range(10):
        c = make_gen17_case("randomized_benchmarking/leakage_postselected_counts", rng)
        assert c.signal_type == "population" and c.shots and len(c.sweep) >= 20
        assert c.sweep[0] == 1 and np.all(np.diff(c.sweep) > 0)
        assert np.allclose(c.sweep, np.round(c.sweep)) and c.sweep.max() > 2 * c.truth["tau"]
        assert np.mean(c.signal[:2]) > np.mean(c.signal[-3:]) + 0.25


def test_bad_families_are_what_the_docstring_says():
    rng = np.random.default_rng(11)
    # the stuck buffer: the same value exactly from 30-60 % of the points on
    for _ in range(10):
        c = make_gen17_case("readout_frequency/digitiser_stuck_buffer", rng)
        assert c.units == "MHz" and c.shots % 2 == 0 and not c.truth
        n = len(c.sweep)
        k = int(np.argmax(c.signal == c.signal[-1]))
        assert 0.25 * n <= k <= 0.6 * n and np.all(c.signal[k:] == c.signal[-1])
        assert len(np.unique(c.signal[:k])) > 0.5 * k
    # the axis order lost: the fidelities are the right values in a scrambled order
    for _ in range(10):
        c = make_gen17_case("readout_amplitude/axis_order_lost", rng)
        assert c.units == "mV" and c.shots % 2 == 0 and np.all(np.diff(c.sweep) > 0)
        assert np.ptp(c.signal) > 0.05
        assert np.sum(np.diff(c.signal) > 0) not in (0, len(c.sweep) - 1)
    # the time of flight unset: chance up to the line's delay, a readout's fidelity after
    for _ in range(10):
        c = make_gen17_case("readout_duration/time_of_flight_unset", rng)
        assert c.units == "ns" and c.shots % 2 == 0 and np.all(np.mod(np.round(c.sweep), 4) == 0)
        early = c.sweep < 0.4 * c.sweep.max()
        assert abs(np.mean(c.signal[early]) - 0.5) < 0.01 and np.max(c.signal) > 0.8
    # the stale waveform: one level at every beta
    for _ in range(10):
        c = make_gen17_case("drag/stale_waveform_cache", rng)
        assert c.shots and not c.truth and len(c.sweep) >= 21
        sigma = math.sqrt(0.25 / c.shots)
        assert np.std(c.signal) < 3 * sigma
    # lengths stepped past the decay: under 5 % of the decay left at the second length
    assert 0.5 * math.exp(-3) < 0.05 * 0.5
    for _ in range(10):
        c = make_gen17_case("randomized_benchmarking/lengths_step_past_decay", rng)
        assert c.shots and c.sweep[0] == 1 and np.allclose(np.diff(c.sweep), c.sweep[1] - 1)
        assert np.mean(c.signal[:1]) > np.mean(c.signal[1:]) + 0.25
    # the zoom on the flank: no minimum in the window, the dip beside it
    for _ in range(10):
        c = make_gen17_case("resonator_spectroscopy/zoom_window_on_flank", rng)
        assert c.units == "GHz" and c.signal_type == "magnitude" and len(c.sweep) >= 101
    for side in (-1, 1):
        for off in (0.6, 1.5):
            x = 5e9 + 1e6 * (side * off + np.linspace(-0.15, 0.15, 101))
            mag = np.abs(g17.notch(x, 5e9, 1e6, 0.9))
            assert np.all(np.diff(mag) * side > 0)                     # monotone: a flank
    # the cosmic-ray burst: a block of points far below the decay's curve
    for _ in range(10):
        c = make_gen17_case("t1/cosmic_ray_burst", rng)
        assert c.units == "us" and 100 <= c.shots <= 300 and c.sweep[0] == 0
        assert np.min(c.signal[: int(0.3 * len(c.sweep))]) < 0.1 < np.mean(c.signal[:2]) - 0.5
    rates = g17.burst_rates(20, 5, 50.0, 3.0)
    assert np.all(rates[:5] == 0) and rates[5] == 50 and np.all(np.diff(rates[5:]) < 0)
    # the JPA's dropouts: stretches of 2-5 points, one in the first third
    for _ in range(20):
        mask = g17.dropout_mask(60, rng, 20)
        edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        assert starts[0] < 20 and np.all((ends - starts >= 2) & (ends - starts <= 5))
    for _ in range(10):
        c = make_gen17_case("echo/jpa_self_oscillation_dropouts", rng)
        assert c.units == "us" and c.shots and not c.truth
        assert c.signal[0] > 0.7 and np.min(c.signal[:len(c.sweep) // 3 + 5]) < 0.62


def test_the_benchmark_judges_its_targets_on_the_seventeenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN17) in sets
    assert res["families_gen17"]["mark"] in GEN17 and res["gen17_families"] == sorted(GEN17)
    assert "targets_met_gen17" in res and "targets_met_gen16" in res
    assert set(bench._KEY) >= {k for k, _ in GEN17.values()}
    assert bench.GENERATION_SEED_OFFSET[17] not in set(
        v for n, v in bench.GENERATION_SEED_OFFSET.items() if n != 17)   # its own seed
