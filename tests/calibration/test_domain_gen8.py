"""The eighth generation of held-out families: new, deterministic, well formed, labelled, with
the settings a node passes; and the benchmark judges its targets on it.

Structure only: the verdicts on the blind generation are not looked at here.
"""

import numpy as np

from qplane.calibration.domain_gen8 import GEN8, PRIOR_ERROR, gen8_set, make_gen8_case
from qplane.calibration.units import to_si
from tests.calibration._generation_checks import earlier_families, earlier_noises


def test_families_are_new_and_cover_the_qec_kinds_and_every_mode():
    assert not set(GEN8) & earlier_families(8)
    kinds = {k for k, _ in GEN8.values()}
    # the QEC-lab kinds no earlier generation held out, each with good and bad data
    for kind in ("drag", "readout_amplitude", "readout_duration", "cz"):
        assert {m for k, m in GEN8.values() if k == kind} >= {"ok"}
        assert len({m for k, m in GEN8.values() if k == kind}) == 2
    assert {"rabi", "ramsey", "spectroscopy", "resonator_spectroscopy", "t1"} <= kinds
    modes = [m for _, m in GEN8.values()]
    assert {"ok", "undersampled", "off_range", "anomalous", "no_signal"} <= set(modes)
    assert 0.45 <= modes.count("ok") / len(modes) <= 0.6
    assert all(f.split("/")[0] == k for f, (k, _) in GEN8.items())


def test_cases_are_well_formed_and_labelled():
    from qplane.calibration.kinds import kind_for

    earlier = earlier_noises(8)
    cases = gen8_set(2, seed=5)
    new = {c.noise for c in cases} - {"binomial"}
    assert len(new) >= 10 and not new & earlier
    for c in cases:
        assert c.good == (c.mode == "ok") and bool(c.truth) == c.good
        assert all(np.isfinite(v) for v in c.truth.values())
        if c.kind != "drag":   # a DRAG coefficient has either sign
            assert all(v > 0 for v in c.truth.values())
        signal = np.asarray(c.signal)
        assert len(signal) == len(c.sweep) >= 20 and np.all(np.isfinite(c.sweep))
        assert np.all(np.isfinite(signal))
        if c.signal_type == "iq":
            assert np.iscomplexobj(signal) and c.shots is None
        else:
            assert signal.ndim == 1 and not np.iscomplexobj(signal)
        if c.signal_type == "population":
            assert c.shots and np.all((signal >= 0) & (signal <= 1))
        assert to_si(c.units)[0] in ("", kind_for(c.kind).sweep_unit)
        kind_for(c.kind).settings(dict(c.settings))   # settings the kind takes
        if c.good:   # the truth lies inside the sweep (SI)
            x = c.sweep * to_si(c.units)[1]
            key = next(iter(c.truth.values()))
            if c.kind in ("drag", "cz", "readout_amplitude", "readout_duration",
                          "spectroscopy", "resonator_spectroscopy"):
                assert x.min() < key < x.max()


def test_rabi_cases_carry_the_nodes_prior_with_its_error():
    rng = np.random.default_rng(3)
    errors = []
    for _ in range(60):
        c = make_gen8_case("rabi/leakage_third_blob", rng)
        prior = c.settings["expected_pi_amplitude"]              # in the sweep's units
        errors.append(prior * to_si(c.units)[1] / c.truth["pi_amplitude"] - 1)
        assert c.sweep.max() > 2 * prior                         # built from the prior
    errors = np.array(errors)
    assert 0.5 * PRIOR_ERROR < np.std(errors) < 2 * PRIOR_ERROR and np.all(errors != 0)
    bad = make_gen8_case("rabi/leakage_dominated", rng)
    assert bad.settings["expected_pi_amplitude"] > 0 and not bad.truth


def test_new_readouts_and_layouts_are_what_the_docstring_says():
    from qplane.calibration.domain_gen8 import outside_in

    rng = np.random.default_rng(8)
    assert sorted(outside_in(7)) == list(range(7))
    drag = make_gen8_case("drag/if_leakage_iq", rng)
    n = len(drag.sweep)
    assert np.array_equal(np.argsort(np.argsort(drag.sweep)), outside_in(n))  # rank = order
    cz = make_gen8_case("cz/interleaved_flux_memory", rng)
    assert cz.sweep[0] == cz.sweep.min() and cz.sweep[1] == cz.sweep.max()
    amp = make_gen8_case("readout_amplitude/percent_rounded", rng)
    assert 50 < amp.signal.max() <= 100 and np.allclose(amp.signal * 100,
                                                         np.round(amp.signal * 100))
    off = make_gen8_case("readout_amplitude/pump_off", rng)
    assert np.all(np.abs(off.signal - 50) < 6)
    dur = make_gen8_case("readout_duration/one_trace_integrated", rng)
    assert dur.units == "ns" and np.all(np.diff(dur.sweep) > 0)
    assert np.allclose(dur.sweep, np.round(dur.sweep))            # whole digitiser samples
    decays = make_gen8_case("readout_duration/qubit_decays", rng)
    assert np.argmax(decays.signal) < 3                           # the peak is below the window
    vna = make_gen8_case("resonator_spectroscopy/vna_db", rng)
    assert vna.units == "Hz" and len(vna.sweep) in (201, 401, 801, 1601)
    assert np.all(vna.signal < -20)                               # dB below the line's input
    counts = make_gen8_case("ramsey/dead_time_counts", rng)
    assert np.all(counts.signal == np.round(counts.signal)) and counts.settings["detuning"] > 0
    raw = make_gen8_case("drag/minimum_outside_counts", rng)
    assert np.all(raw.signal == np.round(raw.signal)) and raw.signal.max() > 1
    image = make_gen8_case("spectroscopy/mixer_image_khz", rng)
    assert image.units == "kHz" and image.sweep.min() < 0 < image.sweep.max()
    log = make_gen8_case("ramsey/log_spaced_aliased", rng)
    assert np.allclose(np.diff(np.log(log.sweep)), np.log(log.sweep[1] / log.sweep[0]))


def test_the_benchmark_judges_its_targets_on_the_eighth_generation(stubbed_benchmark):
    import qplane.bench.calibration as bench

    res, sets = stubbed_benchmark()
    assert set(GEN8) in sets
    assert res["families_gen8"]["mark"] in GEN8 and res["gen8_families"] == sorted(GEN8)
    assert "targets_met_gen8" in res
    assert set(bench._KEY) >= {k for k, _ in GEN8.values()}
