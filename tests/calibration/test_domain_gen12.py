"""The twelfth generation of held-out families: new, deterministic, well formed, labelled, with
the settings a node passes, each good family's truth right on noiseless data; and the
benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import math

import numpy as np
from scipy.special import erfc

from qplane.calibration import domain_gen12 as g12
from qplane.calibration.domain_gen12 import GEN12, PRIOR_ERROR, gen12_set, make_gen12_case
from qplane.calibration.units import to_si
from tests.calibration._generation_checks import assert_well_formed, earlier_noises


def test_cases_are_well_formed_labelled_and_their_noises_new():
    earlier = earlier_noises(12)
    cases = gen12_set(2, seed=5)
    new = {c.noise for c in cases}
    assert len(new) >= 14 and not new & earlier
    assert_well_formed(cases)


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen12_case("rabi/adc8_averaged_iq", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        assert c.units == "mV" and c.sweep.max() > 2 * prior     # built from the prior
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)


# --- truth on noiseless data, by a direct calculation -----------------------------------------

def test_reflection_phase_turns_fastest_at_the_resonance_and_is_written_wrapped():
    rng = np.random.default_rng(1)
    for _ in range(10):
        fr, kappa, eta = rng.uniform(4e9, 8e9), rng.uniform(0.2e6, 2e6), rng.uniform(0.6, 0.9)
        f = fr + np.linspace(-10, 10, 200001) * kappa
        phase = np.unwrap(np.angle(g12.reflection(f, fr, kappa, eta)))
        slope = np.abs(np.gradient(phase, f))
        assert abs(f[np.argmax(slope)] - fr) <= 1e-4 * kappa
        assert abs(phase[-1] - phase[0]) > 1.8 * math.pi           # overcoupled: it winds
        # the cable delay adds a constant slope: the fastest turn stays at f_r
        delayed = phase - 2 * math.pi * (f - fr) * rng.uniform(5e-9, 40e-9)
        assert abs(f[np.argmax(np.abs(np.gradient(delayed, f)))] - fr) <= 1e-4 * kappa
    w = g12.wrap_rad(np.linspace(-20, 20, 1001))
    assert np.all((w > -math.pi) & (w <= math.pi))
    c = make_gen12_case("resonator_spectroscopy/reflection_phase_wrapped_rad", rng)
    assert c.signal_type == "phase" and c.units == "GHz" and np.all(np.abs(c.signal) <= math.pi)
    assert np.any(np.abs(np.diff(c.signal)) > math.pi)             # a wrap in the trace


def test_readout_amplitude_optimum_and_the_permuted_geometric_grid():
    from qplane.calibration.domain_gen8 import _amplitude_errors

    width, eps_d, onset, c_t = 0.03, 0.01, 0.18, 0.2
    a = np.geomspace(0.2 * width, 20 * width, 400001)
    overlap = 0.5 * erfc(a / width / (2 * math.sqrt(2)))
    r = (a / onset) ** 4
    direct = 1 - (2 * overlap + 2 * eps_d + 2 * c_t * r / (1 + r)) / 2
    e0, e1 = _amplitude_errors(a, width, eps_d, onset, c_t)
    assert np.allclose(direct, 1 - (e0 + e1) / 2)
    best = a[np.argmax(direct)]
    assert 0.2 * width < best < 20 * width and best not in (a[0], a[-1])
    c = make_gen12_case("readout_amplitude/permuted_pink_gain", np.random.default_rng(2))
    ordered = np.sort(c.sweep)
    assert not np.array_equal(ordered, c.sweep) and c.units == "V" and c.shots % 2 == 0
    assert np.allclose(np.diff(np.log(ordered)), np.log(ordered[1] / ordered[0]))


def test_rabi_peak_is_the_pi_amplitude_and_the_codes_are_8_bit():
    from qplane.calibration.domain_gen7 import _rabi_p

    api = 0.37
    x = np.linspace(0, 2.5 * api, 250001)
    for phase in (0.1, -0.25):
        p = _rabi_p(x, api, phase, 0.0, 0.0, 0.9, 0.03)
        assert abs(x[np.argmax(p)] - api) <= x[1] - x[0]
    c = make_gen12_case("rabi/adc8_averaged_iq", np.random.default_rng(4))
    z = np.asarray(c.signal)
    assert c.signal_type == "iq" and np.iscomplexobj(z)
    for part in (z.real, z.imag):
        assert np.array_equal(part, np.round(part)) and part.min() >= -128 and part.max() <= 127
    assert np.max(np.abs(np.concatenate([z.real, z.imag]))) < 127   # full scale not reached
    codes = g12.adc_codes(np.array([0.3 + 0.7j]), 1.0)[0]
    assert codes == complex(round(0.3 * 127), round(0.7 * 127))


def test_ramsey_fringe_frequency_and_heavy_tailed_iq():
    f, t2, ph = 1.3e6, 12e-6, 0.2
    x = np.linspace(0, 20e-6, 400001)
    p = 0.45 * np.exp(-x / t2) * np.cos(2 * math.pi * f * x + ph)
    i = np.nonzero(np.sign(p[:-1]) != np.sign(p[1:]))[0]
    cross = x[i] - p[i] * (x[i + 1] - x[i]) / (p[i + 1] - p[i])
    assert math.isclose(1 / (2 * np.polyfit(np.arange(len(cross)), cross, 1)[0]), f,
                        rel_tol=1e-6)
    rng = np.random.default_rng(6)
    c = make_gen12_case("ramsey/student_t_iq_us", rng)
    assert c.units == "us" and c.signal_type == "iq"
    assert abs(c.settings["detuning"] / c.truth["frequency"] - 1) <= 0.031
    t = g12._student_t(20000, 1.0, rng).real
    assert np.mean(t**4) / np.mean(t**2) ** 2 > 4                    # heavier than Gaussian


def test_heralded_t1_keeps_the_decay_constant():
    tau, p_th, err = 40e-6, 0.08, 0.02
    keep, q = g12.heralded(p_th, err)
    assert math.isclose(keep, 0.92 * 0.98 + 0.08 * 0.02) and math.isclose(q, 0.08 * 0.02 / keep)
    t = np.linspace(0, 200e-6, 60)
    e0, e1 = 0.02, 0.05
    p = p_th + (1 - q - p_th) * np.exp(-t / tau)
    read = p * (1 - e1) + (1 - p) * e0
    floor = p_th * (1 - e1) + (1 - p_th) * e0                      # where it settles
    slope = np.polyfit(t, np.log(read - floor), 1)[0]
    assert math.isclose(-1 / slope, tau, rel_tol=1e-9)
    c = make_gen12_case("t1/heralded_postselected", np.random.default_rng(7))
    assert c.units == "us" and c.signal_type == "population" and c.shots


def test_homodyne_line_on_chebyshev_nodes_peaks_at_the_centre():
    nodes = g12.chebyshev_nodes(4e9, 4.1e9, 101)
    gaps = np.diff(nodes)
    assert np.all(gaps > 0) and gaps[0] < gaps[50] / 10 and gaps[-1] < gaps[50] / 10
    centre, width = 4.05e9 + 1e6, 1e6
    x = np.linspace(4e9, 4.1e9, 400001)
    for angle in (-1.3, 0.0, 0.7, 1.3):
        m = np.abs(1.0 + 0.4 * np.exp(1j * angle) * g12._lorentz(x, centre, width))
        assert abs(x[np.argmax(m)] - centre) <= x[1] - x[0]
    c = make_gen12_case("spectroscopy/chebyshev_nodes_homodyne_ghz", np.random.default_rng(8))
    g = np.diff(c.sweep)
    assert c.units == "GHz" and np.all(g > 0) and g[0] < g[len(g) // 2]


def test_cz_minimum_is_the_truth_on_a_descending_attenuator_grid():
    best = 0.2
    x = np.linspace(0.1, 0.3, 200001)
    p = 0.5 + 0.45 * np.cos(np.pi / 2 * (1 + (x / best) ** 2))
    assert abs(x[np.argmin(p)] - best) <= x[1] - x[0]
    c = make_gen12_case("cz/attenuator_db_steps", np.random.default_rng(9))
    db = 20 * np.log10(c.sweep[:-1] / c.sweep[1:])
    assert c.units == "mV" and np.all(db > 0) and np.allclose(db, db[0]) and 0.1 <= db[0] <= 0.25


def test_rb_mean_survival_decays_with_tau_and_the_sequences_thin():
    r = 1e-3
    p = 1 - 2 * r
    m = np.arange(1, 2000)
    slope = np.polyfit(m, np.log(0.45 * p**m), 1)[0]
    assert math.isclose(-1 / slope, -1 / math.log(p), rel_tol=1e-9)
    k = g12.sequences_per_length(np.linspace(1, 1500, 30), 36, 4)
    assert k[0] == 36 and k[-1] == 4 and np.all(np.diff(k) <= 0)
    c = make_gen12_case("randomized_benchmarking/sequences_thinning", np.random.default_rng(10))
    assert len(np.unique(c.sweep)) == len(c.sweep) and c.sweep.max() > c.truth["tau"]


def test_bad_families_are_what_the_docstring_says():
    from qplane.calibration.domain_gen10 import _readout_draw, thermal_fidelity

    rng = np.random.default_rng(11)
    # beyond the dressed pair: the noiseless fidelity only falls away from the midpoint
    for _ in range(10):
        r = _readout_draw(rng)
        for side in (-1, 1):
            f = r["mid"] + side * np.linspace(0.4, 5.0, 500) * r["kappa"]
            fid = thermal_fidelity(f, tilt=0.0, p_th=0.01, floor=0.02, **r)
            assert np.all(np.diff(fid) < 0)
    # a stale demodulation IF: the separation vanishes at whole beat periods
    t = np.linspace(10e-9, 4e-6, 4001)
    s = g12.demod_separation(t, 1e6) / np.sqrt(t)
    assert np.sum(np.diff(np.sign(np.diff(s))) < 0) >= 3              # it falls and recovers
    assert g12.demod_separation(np.array([1e-6, 2e-6]), 1e6).max() < 1e-15
    # pulse heating: the noiseless population falls, then rises again
    x = np.linspace(0, 6, 400)                # the least of it: the latest, the weakest heat
    pop = 0.95 * np.exp(-x) + 0.15 / (1 + np.exp(-(x - 4) / 0.6))
    assert np.argmin(pop) < len(x) - 1 and pop[-1] > pop.min() + 0.05
    # RB lengths far too short: the decay falls by at most 6 % over the window
    for _ in range(20):
        c = make_gen12_case("randomized_benchmarking/lengths_far_too_short", rng)
        assert c.sweep.max() <= max(0.06 / 5e-4 / 2 * 1.01, 25)
    # the virtual Z disabled: at most 0.6 fringe over the window
    for _ in range(20):
        c = make_gen12_case("ramsey/virtual_z_not_applied", rng)
        assert 8 <= c.sweep.max() * 1e-9 * c.settings["detuning"] <= 20.01
    # photon-number splitting: at least three maxima
    x = np.linspace(-20, 20, 4001)
    w = [math.exp(-1) * 1**k / math.factorial(k) for k in range(3)]
    line = sum(wk * g12._lorentz(x, -3.0 * k, 1.0) for k, wk in enumerate(w))
    assert np.sum(np.diff(np.sign(np.diff(line))) < 0) == 3
    # the long DRAG train: a uniform coarse β grid
    d = make_gen12_case("drag/long_train_aliased", rng)
    assert np.allclose(np.diff(d.sweep), d.sweep[1] - d.sweep[0]) and d.shots
    e = make_gen12_case("echo/trigger_before_sequence", rng)
    assert e.units == "us" and e.signal_type == "iq" and not e.truth
    ro = make_gen12_case("readout_duration/demod_if_mismatch", rng)
    assert ro.units == "ns" and np.all(np.diff(ro.sweep) > 0) and ro.shots % 2 == 0
    rf = make_gen12_case("readout_frequency/window_beyond_dressed_pair", rng)
    assert rf.units == "MHz" and rf.shots % 2 == 0 and np.all(np.diff(rf.sweep) > 0)
    th = make_gen12_case("t1/pulse_heating_rise", rng)
    assert th.units == "us" and th.signal_type == "iq"
    sp = make_gen12_case("spectroscopy/photon_number_split", rng)
    assert sp.units == "MHz" and not sp.truth


def test_the_benchmark_judges_its_targets_on_the_twelfth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN12) in sets
    assert res["families_gen12"]["mark"] in GEN12 and res["gen12_families"] == sorted(GEN12)
    assert "targets_met_gen12" in res and "targets_met_gen11" in res
    assert set(bench._KEY) >= {k for k, _ in GEN12.values()}
