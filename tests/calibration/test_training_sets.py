"""The cache of analysed training sets (training_sets.analysed) is keyed on the analysis code."""

from qplane.calibration import training_sets


def test_closure_holds_the_fits_and_gate_but_not_the_second_opinion():
    mods = training_sets.source_closure(("qplane.calibration.analysis",
                                         "qplane.calibration.domain_gen6"))
    for m in ("analysis", "fits", "fit_models", "fit_shapes", "criteria", "gates", "noise",
              "domain_gen6", "domain_gen4", "domain"):
        assert f"qplane.calibration.{m}" in mods
    assert not set(mods) & training_sets.NOT_ANALYSIS


def test_a_changed_analysis_never_reads_the_old_analyses(tmp_path, monkeypatch):
    first = training_sets.analysed("gen3", 1, seed=0, cache=tmp_path)
    assert len(first) == 2 and len(list(tmp_path.glob("*.pkl"))) == 1
    # the same code reads the cache back (draw is not called again)
    monkeypatch.setattr(training_sets, "draw", lambda *a, **k: ["fresh"])
    assert [r.family for r in training_sets.analysed("gen3", 1, seed=0, cache=tmp_path)] \
        == [r.family for r in first]
    # a change to the fits' source: the cached analyses are stale and must not be read
    real = training_sets._source_file
    fits = real("qplane.calibration.fits")
    edited = tmp_path / "fits.py"
    edited.write_text(fits.read_text() + "\n# a changed fit\n")
    monkeypatch.setattr(training_sets, "_source_file",
                        lambda m: edited if m == "qplane.calibration.fits" else real(m))
    training_sets.analysis_version.cache_clear()
    try:
        assert training_sets.analysed("gen3", 1, seed=0, cache=tmp_path) == ["fresh"]
    finally:
        training_sets.analysis_version.cache_clear()


def test_the_version_names_the_cache_file(tmp_path):
    training_sets.analysed("gen3", 1, seed=1, cache=tmp_path)
    (path,) = tmp_path.glob("*.pkl")
    assert path.name == f"gen3_1_1_{training_sets.analysis_version('gen3')}.pkl"


def test_the_seventh_generation_is_a_development_set_keyed_on_its_generator():
    from qplane.calibration.domain_gen7 import GEN7
    from qplane.calibration.training_ensemble import BENCH_SEEDS

    assert "gen7" in training_sets.GENERATIONS and BENCH_SEEDS["gen7"] == 789
    cases = training_sets._cases("gen7", 1, seed=0)
    assert {c[3] for c in cases} == set(GEN7) and {c[4] for c in cases} == {"gen7"}
    assert "qplane.calibration.domain_gen7" in training_sets.source_closure(
        ("qplane.calibration.analysis", training_sets.SET_MODULES["gen7"]))


def test_the_robust3_families_are_a_set_keyed_on_their_generator():
    from qplane.calibration.domain_robust3 import TRAIN_FAMILIES

    cases = training_sets._cases("robust3", 1, seed=0)
    assert {c[3] for c in cases} == {f for v in TRAIN_FAMILIES.values() for f in v}
    assert {c[4] for c in cases} == {"robust3"}
    closure = training_sets.source_closure(
        ("qplane.calibration.analysis", training_sets.SET_MODULES["robust3"]))
    assert {"qplane.calibration.domain_robust3", "qplane.calibration.domain_robust"} <= set(closure)


def test_the_eighth_generation_is_a_development_set_keyed_on_its_generator():
    from qplane.calibration.domain_gen8 import GEN8
    from qplane.calibration.training_ensemble import BENCH_SEEDS

    assert "gen8" in training_sets.GENERATIONS and BENCH_SEEDS["gen8"] == 791
    cases = training_sets._cases("gen8", 1, seed=0)
    assert {c[3] for c in cases} == set(GEN8) and {c[4] for c in cases} == {"gen8"}
    assert "qplane.calibration.domain_gen8" in training_sets.source_closure(
        ("qplane.calibration.analysis", training_sets.SET_MODULES["gen8"]))


def test_the_ninth_generation_is_a_development_set_keyed_on_its_generator():
    from qplane.calibration.domain_gen9 import GEN9
    from qplane.calibration.training_ensemble import BENCH_SEEDS

    assert "gen9" in training_sets.GENERATIONS and BENCH_SEEDS["gen9"] == 793
    assert "gen16" not in training_sets.GENERATIONS   # a blind generation is never a set
    assert "gen17" not in training_sets.GENERATIONS
    assert "gen18" not in training_sets.GENERATIONS
    cases = training_sets._cases("gen9", 1, seed=0)
    assert {c[3] for c in cases} == set(GEN9) and {c[4] for c in cases} == {"gen9"}
    assert "qplane.calibration.domain_gen9" in training_sets.source_closure(
        ("qplane.calibration.analysis", training_sets.SET_MODULES["gen9"]))
