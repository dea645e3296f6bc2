"""The seventh generation of held-out families: new, deterministic, well formed, labelled, with
the settings a node passes; and the benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import numpy as np

from qplane.calibration.domain_gen7 import GEN7, PRIOR_ERROR, gen7_set, make_gen7_case
from tests._parallel import fork_map
from tests.calibration._generation_checks import earlier_families, earlier_noises


def test_families_are_new_and_cover_every_kind_and_mode():
    assert not set(GEN7) & earlier_families(7)
    kinds = {k for k, _ in GEN7.values()}
    assert {"spectroscopy", "rabi", "ramsey", "t1", "echo"} <= kinds
    assert {"resonator_spectroscopy", "randomized_benchmarking"} <= kinds
    modes = [m for _, m in GEN7.values()]
    assert {"ok", "undersampled", "off_range", "anomalous", "no_signal"} <= set(modes)
    # roughly gen6's proportion of good data (7 of 13)
    assert 0.45 <= modes.count("ok") / len(modes) <= 0.6
    assert all(f.split("/")[0] == k for f, (k, _) in GEN7.items())


def test_generation_is_deterministic_with_a_seed():
    a, b, c = gen7_set(2, seed=11), gen7_set(2, seed=11), gen7_set(2, seed=12)
    assert [x.family for x in a] == [f for f in GEN7 for _ in range(2)]
    for x, y in zip(a, b):
        assert np.array_equal(x.sweep, y.sweep) and np.array_equal(x.signal, y.signal)
        assert x.truth == y.truth and x.units == y.units
    assert any(not np.array_equal(np.asarray(x.signal), np.asarray(y.signal))
               for x, y in zip(a, c))


def test_cases_are_well_formed_and_labelled():
    from qplane.calibration.kinds import kind_for
    from qplane.calibration.units import to_si

    earlier = earlier_noises(7)
    cases = gen7_set(3, seed=5)
    new = {c.noise for c in cases} - {"binomial"}
    assert new and not new & earlier
    for c in cases:
        assert c.good == (c.mode == "ok") and bool(c.truth) == c.good
        assert all(np.isfinite(v) and v > 0 for v in c.truth.values())
        signal = np.asarray(c.signal)
        assert len(signal) == len(c.sweep) >= 7 and np.all(np.isfinite(c.sweep))
        assert np.all(np.isfinite(signal))
        if c.signal_type == "iq":
            assert np.iscomplexobj(signal)
        else:
            assert signal.ndim == 1 and not np.iscomplexobj(signal)
        assert to_si(c.units)[0] in ("", kind_for(c.kind).sweep_unit)
        # every setting is one the kind (or analyse itself) takes
        kind_for(c.kind).settings({k: v for k, v in c.settings.items() if k != "sigma"})
        if "sigma" in c.settings:
            s = np.asarray(c.settings["sigma"])
            assert s.shape == signal.shape and np.all(s > 0)


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(40):
        for family in ("rabi/jitter_squeezed", "rabi/offset_window_p0"):
            c = make_gen7_case(family, rng)
            prior = c.settings["expected_pi_amplitude"]          # in the sweep's units
            factor = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}[c.units]
            errors.append(prior * factor / c.truth["pi_amplitude"] - 1)
            assert c.sweep.max() > 2 * prior                     # built from the prior
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)
    bad = make_gen7_case("rabi/attenuator_removed", rng)
    step = bad.sweep[1] - bad.sweep[0]
    # the sweep from the old value has a step of 0.55-0.9 of the (unknown) π amplitude:
    # the prior is far larger than two steps
    assert bad.settings["expected_pi_amplitude"] > 2 * step and not bad.truth


def test_new_readouts_and_layouts_are_what_the_docstring_says():
    rng = np.random.default_rng(8)
    wrap = make_gen7_case("rabi/accumulator_wrap", rng)
    assert np.all(wrap.signal == np.round(wrap.signal))
    assert wrap.signal.min() >= -32768 and wrap.signal.max() <= 32767
    assert np.ptp(wrap.signal) > 32768                           # the wrap's jump
    echo = make_gen7_case("echo/squeezed_ps", rng)
    assert echo.units == "ps" and np.all(echo.sweep == np.round(echo.sweep))
    ramsey = make_gen7_case("ramsey/clock_rounded", rng)
    assert ramsey.units == "μs" and ramsey.settings["detuning"] > 0
    rb = make_gen7_case("randomized_benchmarking/sequence_variance", rng)
    lengths, counts = np.unique(rb.sweep, return_counts=True)
    assert np.all(lengths == np.round(lengths)) and np.all(counts >= 3)
    tls = make_gen7_case("t1/tls_switching", rng)
    assert np.any(np.diff(tls.sweep) < 0)                        # shuffled acquisition
    adaptive = make_gen7_case("spectroscopy/adaptive_compressed", rng)
    assert np.any(np.diff(adaptive.sweep) < 0)                   # coarse grid, then refined
    res = make_gen7_case("resonator_spectroscopy/thermal_shadow", rng)
    assert res.units == "MHz" and 200 <= len(res.sweep) and np.max(res.signal) < 1e-9


def test_every_case_is_analysable():
    # whatever the verdict (not looked at): no case makes analyse raise
    from qplane.calibration import analyse
    from qplane.calibration.analysis import AnalysisResult

    cases = gen7_set(1, seed=4)
    assert all(fork_map(lambda c: isinstance(analyse(c.kind, second_opinion=False,
                                                     **c.analyse_args()), AnalysisResult),
                        cases))


def test_the_benchmark_judges_its_targets_on_the_seventh_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN7) in sets
    assert res["families_gen7"]["mark"] in GEN7 and res["gen7_families"] == sorted(GEN7)
    assert "targets_met_gen7" in res
    assert set(bench._KEY) >= {k for k, _ in GEN7.values()}
