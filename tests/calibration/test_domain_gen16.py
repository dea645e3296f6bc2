"""The sixteenth generation of held-out families: new, deterministic, well formed, labelled,
with the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np

from qplane.calibration import domain_gen16 as g16
from qplane.calibration.domain_gen16 import GEN16, PRIOR_ERROR, make_gen16_case
from qplane.calibration.units import to_si


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen16_case("rabi/unequal_shot_counts", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        assert c.units == "mV" and c.sweep.max() > 2 * prior      # built from the prior
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


def test_ramsey_cases_carry_their_detuning():
    rng = np.random.default_rng(13)
    for _ in range(10):
        c = make_gen16_case("ramsey/residual_photon_stark_phase", rng)
        assert c.units == "us" and c.sweep[0] == 0 and len(c.sweep) >= 30 and c.shots
        assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_standing_wave_ripple_leaves_the_dip_at_f_r():
    rng = np.random.default_rng(1)
    for gamma in (0.05, 0.15):                    # bounded by 1 / (1 ± Γ)
        w = g16.standing_wave(np.linspace(0, 3, 3001), gamma, 1.0, 0.4)
        assert math.isclose(w.max(), 1 / (1 - gamma), rel_tol=1e-5)
        assert math.isclose(w.min(), 1 / (1 + gamma), rel_tol=1e-5)
    for _ in range(200):
        fr, kappa, depth = 5e9, rng.uniform(0.3e6, 3e6), rng.uniform(0.4, 0.9)
        span = kappa * rng.uniform(8, 20)
        x = fr + np.linspace(-3, 3, 60001) * kappa
        mag = np.abs(g16.notch(x, fr, kappa, depth)) * g16.standing_wave(
            x, rng.uniform(0.05, 0.15), span * rng.uniform(1, 3), rng.uniform(-math.pi, math.pi))
        assert abs(x[np.argmin(mag)] - fr) < 0.02 * kappa        # the raw minimum, no fit
    for _ in range(10):
        c = make_gen16_case("resonator_spectroscopy/impedance_mismatch_ripple", rng)
        assert c.units == "GHz" and c.signal_type == "magnitude" and c.shots is None
        assert np.all(np.diff(c.sweep) > 0) and len(c.sweep) >= 151
        x = c.sweep * 1e9
        assert x.min() < c.truth["center"] < x.max()


def test_square_pulse_line_peaks_at_its_centre_above_its_sidelobes():
    for area in (0.3, 0.4, 0.5):                 # rabi T: a pulse of 0.6-1 pi on resonance
        t = 0.5e-6
        d = np.linspace(-8, 8, 160001) / t
        p = g16.square_pulse_line(d, 0.0, area / t, t)
        assert d[np.argmax(p)] == 0 and math.isclose(p.max(), math.sin(math.pi * area) ** 2)
        assert np.allclose(p, p[::-1], atol=1e-12)               # symmetric about the centre
        lobes = p[np.abs(d) > 1.2 / t]
        assert lobes.max() < 0.3 * p.max() and lobes.max() > 0.01 * p.max()   # sidelobes
    rng = np.random.default_rng(2)
    for _ in range(10):
        c = make_gen16_case("spectroscopy/square_pulse_sinc_sidelobes", rng)
        assert c.units == "MHz" and c.signal_type == "population" and c.shots
        assert np.allclose(np.diff(c.sweep), c.sweep[1] - c.sweep[0]) and len(c.sweep) >= 60
        x = c.sweep * 1e6
        assert x.min() < c.truth["center"] < x.max()


def test_unequal_shot_counts_keep_the_rabi_peak_at_the_pi_amplitude():
    from qplane.calibration.domain_gen7 import _rabi_p

    api = 0.37
    x = np.linspace(0, 2.5 * api, 250001)
    for phase in (0.1, -0.25):
        p = _rabi_p(x, api, phase, 0.0, 0.0, 1.0, 0.0)
        i = np.argmax(np.where(x < 1.5 * api, p, -1))
        assert abs(x[i] - api) <= x[1] - x[0]
    # the binomial mean is p whatever a point's shot count: the counts only change the noise
    rng = np.random.default_rng(4)
    kept = np.array([50, 400, 1000])
    means = [np.mean(rng.binomial(k, 0.3, 20000) / k) for k in kept]
    assert np.allclose(means, 0.3, atol=3e-3)
    spread = []
    for _ in range(10):
        c = make_gen16_case("rabi/unequal_shot_counts", rng)
        assert c.signal_type == "population" and c.shots and np.all(np.diff(c.sweep) > 0)
        assert c.sweep[0] == 0 and len(c.sweep) >= 41
        spread.append(np.std(np.diff(c.signal, 2)))
    assert min(spread) > 0


def test_ramsey_frequency_survives_the_residual_photons_phase():
    f, t2, ph, decay = 1.3e6, 40e-6, 0.2, 100e-9
    x = np.linspace(0, 10e-6, 400001)
    for amplitude in (0.4, -0.4):
        phase = 2 * math.pi * f * x + ph + g16.photon_stark_phase(x, amplitude, decay)
        inst = np.gradient(phase, x) / (2 * math.pi)
        assert np.all(np.abs(inst[x > 20 * decay] / f - 1) < 1e-5)     # the detuning after
        fringe = np.exp(-x / t2) * np.cos(phase)
        late = x > 20 * decay
        xs, fs = x[late], fringe[late]
        i = np.nonzero(np.sign(fs[:-1]) != np.sign(fs[1:]))[0]
        cross = xs[i] - fs[i] * (xs[i + 1] - xs[i]) / (fs[i + 1] - fs[i])
        assert math.isclose(1 / (2 * np.polyfit(np.arange(len(cross)), cross, 1)[0]), f,
                            rel_tol=1e-6)
        assert abs(g16.photon_stark_phase(np.array([20 * decay]), amplitude, decay)[0]
                   - amplitude) < 1e-8


def test_photon_counter_clicks_decay_with_tau():
    tau = 40e-6
    t = np.linspace(0, 200e-6, 60)
    excited = 0.01 + 0.9 * np.exp(-t / tau)
    for eta, dark in ((0.6, 0.08), (0.9, 0.02)):
        p = dark + (eta - dark) * excited
        settled = dark + (eta - dark) * 0.01
        assert math.isclose(-1 / np.polyfit(t, np.log(p - settled), 1)[0], tau, rel_tol=1e-9)
    rng = np.random.default_rng(7)
    for _ in range(10):
        c = make_gen16_case("t1/photon_counter_clicks", rng)
        assert c.units == "us" and c.signal_type == "population" and c.shots >= 200
        assert np.mean(c.signal[:3]) > np.mean(c.signal[-3:]) + 0.2
        assert np.mean(c.signal[:2]) < 0.95                       # the counter's efficiency
        assert c.sweep.max() > 3 * c.truth["tau"] / 1e-6


def test_ef_shelved_echo_is_affine_and_decays_with_tau():
    p = g16.shelved_readout(np.array([0.0, 0.5, 1.0]), 0.95, 0.02, 0.15, 0.02)
    assert np.allclose(np.diff(p), np.diff(p)[0])                   # affine in P1
    assert p[2] > 1 - 0.15                                         # better than unshelved
    tau = 50e-6
    t = np.linspace(0, 200e-6, 80)
    read = g16.shelved_readout(0.5 + 0.45 * np.exp(-t / tau), 0.9, 0.03, 0.2, 0.03)
    mid = g16.shelved_readout(np.array([0.5]), 0.9, 0.03, 0.2, 0.03)[0]
    assert math.isclose(-1 / np.polyfit(t, np.log(read - mid), 1)[0], tau, rel_tol=1e-9)
    rng = np.random.default_rng(8)
    for _ in range(10):
        c = make_gen16_case("echo/ef_shelved_readout", rng)
        assert c.units == "us" and c.shots and c.sweep[0] == 0
        assert np.mean(c.signal[:3]) > np.mean(c.signal[-3:]) + 0.15
        assert c.sweep.max() > 2.9 * c.truth["tau"] / 1e-6


def test_cz_minimum_is_the_truth_through_a_misset_threshold():
    from scipy.special import erfc

    for snr, th in ((3.0, 0.6), (5.0, 0.8)):
        e0, e1 = g16.threshold_errors(snr, th)
        assert e0 < e1 and 1 - e0 - e1 > 0.5                       # asymmetric, still read
        # by integrating the blobs: P(x > θ | 0) and P(x < θ | 1), σ = 1
        assert math.isclose(e0, 0.5 * erfc(th * snr / math.sqrt(2)))
        u = np.linspace(-10, 10, 400001)
        blob = np.exp(-0.5 * (u - snr) ** 2) / math.sqrt(2 * math.pi)
        assert math.isclose(np.trapezoid(np.where(u < th * snr, blob, 0), u), e1, rel_tol=1e-3)
    best = 0.2
    x = np.linspace(0.1, 0.3, 200001)
    target = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    e0, e1 = g16.threshold_errors(3.0, 0.8)
    assert abs(x[np.argmin(e0 + (1 - e0 - e1) * target)] - best) <= x[1] - x[0]
    rng = np.random.default_rng(9)
    for _ in range(10):
        case = make_gen16_case("cz/misset_threshold_conditional_phase", rng)
        assert case.units == "mV" and np.allclose(np.diff(case.sweep),
                                                  case.sweep[1] - case.sweep[0])
        assert case.sweep.min() < case.truth["cz_amplitude"] / 1e-3 < case.sweep.max()


def test_rb_on_the_physical_pulse_axis_decays_with_its_tau():
    r = 1e-3
    p = 1 - 2 * r
    m = np.unique(np.round(np.linspace(1, 3000, 40)))
    x = g16.PULSES_PER_CLIFFORD * m
    survival = 0.5 + 0.45 * p**m
    slope = np.polyfit(x, np.log(survival - 0.5), 1)[0]
    assert math.isclose(-1 / slope, g16.PULSES_PER_CLIFFORD * -1 / math.log(p), rel_tol=1e-9)
    rng = np.random.default_rng(10)
    for _ in range(10):
        c = make_gen16_case("randomized_benchmarking/physical_gate_count_axis", rng)
        assert c.signal_type == "population" and c.shots and len(c.sweep) >= 20
        assert c.sweep[0] == g16.PULSES_PER_CLIFFORD and np.all(np.diff(c.sweep) > 0)
        assert np.allclose(c.sweep / g16.PULSES_PER_CLIFFORD,
                           np.round(c.sweep / g16.PULSES_PER_CLIFFORD))
        assert c.sweep.max() > 2 * c.truth["tau"]


def test_bad_families_are_what_the_docstring_says():
    from qplane.calibration.domain_gen8 import _amplitude_errors
    from qplane.calibration.domain_gen10 import (
        _readout_draw, thermal_fidelity, thermal_fidelity_best,
    )

    rng = np.random.default_rng(11)
    # centred on the bare resonator: the best frequency beyond the nearer edge, the fidelity
    # falling monotonically across the window from a clearly read level
    for _ in range(200):
        r = _readout_draw(rng)
        k = r["kappa"]
        best = thermal_fidelity_best(tilt=0.0, **r)
        half = k * rng.uniform(1.2, 2.0)
        edge = r["mid"] + k * rng.uniform(0.5, 1.0)
        x = np.linspace(edge, edge + 2 * half, 51)
        fid = thermal_fidelity(x, tilt=0.0, p_th=0.03, floor=0.04, **r)
        assert best < x.min() and np.all(np.diff(fid) < 0) and fid[0] > 0.6
    for _ in range(10):
        c = make_gen16_case("readout_frequency/centred_on_bare_resonator", rng)
        assert c.units == "MHz" and c.shots % 2 == 0 and not c.truth
        assert abs(np.mean(c.signal[:3]) - np.mean(c.signal[-3:])) > 0.05   # a flank
    # the digitiser's rail: 1/2 from at + width on, a drop of over 0.3 from the curve it left
    u = np.linspace(-0.7, 0.7, 1401)
    for width in (0.01, 0.06):
        grid = np.geomspace(0.2 * width, 20 * width, 4001)
        e0, e1 = _amplitude_errors(grid, width, 0.03, 8 * width, 0.3)
        best = grid[np.argmax(1 - (e0 + e1) / 2)]
        for at in (-0.3, 0.3):
            e0, e1 = _amplitude_errors(best * 1.4 * np.exp(u), width, 0.03, 8 * width, 0.3)
            fid = 1 - (e0 + e1) / 2
            read = g16.rail_collapse(u, fid, at, 0.15)
            assert np.all(read[u >= at + 0.15] == 0.5) and np.all(read[u <= at] == fid[u <= at])
            assert fid[np.searchsorted(u, at)] - 0.5 > 0.3
    for _ in range(10):
        c = make_gen16_case("readout_amplitude/digitiser_rail_collapse", rng)
        assert c.units == "mV" and c.shots % 2 == 0 and np.all(np.diff(c.sweep) > 0)
        assert abs(np.mean(c.signal[-3:]) - 0.5) < 0.03 and np.max(c.signal) > 0.8
    # the trigger at half rate: every second point at 1/2, the others a readout's fidelity
    for _ in range(10):
        c = make_gen16_case("readout_duration/trigger_half_rate_background", rng)
        assert c.units == "ns" and c.shots % 2 == 0 and np.all(np.mod(np.round(c.sweep), 4) == 0)
        a, b = c.signal[0::2], c.signal[1::2]
        low, high = (a, b) if np.mean(a) < np.mean(b) else (b, a)
        assert abs(np.mean(low) - 0.5) < 0.01 and np.min(high) > 0.6
    # the amplitude a thousandth: (pi / 1000)^2 of the population at most, flat at the floor
    assert (math.pi / 1000) ** 2 < 1e-5
    for _ in range(10):
        c = make_gen16_case("drag/amplitude_unit_mismatch", rng)
        assert c.shots and not c.truth and len(c.sweep) >= 21
        assert np.max(c.signal) < 0.12 and np.ptp(c.signal) < 0.1
    # the VNA's default 201 points: a step of 3-6 linewidths, at most one point within the
    # dip's half width
    for step in (3.0, 6.0):
        for offset in np.linspace(0, 1, 21):
            d = step * (np.arange(-50, 51) + offset)               # in linewidths
            assert np.sum(np.abs(d) <= 0.5) <= 1
    for _ in range(10):
        c = make_gen16_case("resonator_spectroscopy/vna_default_points_wide_span", rng)
        assert c.units == "GHz" and len(c.sweep) == 201 and c.signal_type == "magnitude"
        assert np.allclose(np.diff(c.sweep), c.sweep[1] - c.sweep[0])
        assert 3 * 0.2e6 <= (c.sweep[1] - c.sweep[0]) * 1e9 <= 6 * 1e6
    # the pi pulse on the neighbour's line: under 1.5 % excited, flat
    for _ in range(10):
        c = make_gen16_case("t1/pi_pulse_on_neighbour_line", rng)
        assert c.units == "us" and c.shots and c.sweep[0] == 0
        assert np.mean(c.signal) < 0.1 and abs(np.mean(c.signal[:5]) - np.mean(c.signal[-5:])) < 0.05
    # the sequence memory: the survival at every length beyond it that of the limit's, its
    # plateau at least 0.12 above the asymptote (a p^L >= 0.4 e^-1.2)
    assert 0.4 * math.exp(-1.2) > 0.12
    for _ in range(10):
        c = make_gen16_case("randomized_benchmarking/sequence_memory_truncated", rng)
        assert c.shots and np.all(np.diff(c.sweep) > 0) and c.sweep[0] == 1
        n = len(c.sweep)
        tail = c.signal[int(0.6 * n):]
        assert np.mean(tail) > 0.55 and np.mean(c.signal[:2]) > np.mean(tail) + 0.05
    # the delays a thousandth: under 0.5 % of the intended window, the echo still at its top
    assert 1 - math.exp(-5 / 1000) < 0.005
    for _ in range(10):
        c = make_gen16_case("echo/delays_thousandfold_short", rng)
        assert c.units == "ns" and c.shots and c.sweep.max() <= 750
        assert np.allclose(c.sweep, np.round(c.sweep)) and np.mean(c.signal) > 0.7


def test_the_benchmark_judges_its_targets_on_the_sixteenth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN16) in sets
    assert res["families_gen16"]["mark"] in GEN16 and res["gen16_families"] == sorted(GEN16)
    assert "targets_met_gen16" in res and "targets_met_gen15" in res
    assert set(bench._KEY) >= {k for k, _ in GEN16.values()}
    assert bench.GENERATION_SEED_OFFSET[16] not in set(
        v for n, v in bench.GENERATION_SEED_OFFSET.items() if n != 16)   # its own seed
