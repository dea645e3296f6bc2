"""The checks every blind generation of held-out families shares, from the eighth on: its
families new (no earlier generation or train set names them), covering every analysis kind and
every bad mode, half of them good; its cases a function of the seed alone, well formed, with
noises no earlier generation has, and every one analysable; once measured, a development set
keyed on its generator. What is
particular to a generation (its readouts, its truths on noiseless data, its bad families) stays
in its own ``test_domain_genN.py``.

Structure only: the verdicts on a blind generation are not looked at here.
"""

import numpy as np
import pytest

from qplane.bench.calibration import GENERATION_SEED_OFFSET
from tests.calibration._generation_checks import (assert_every_case_analysable,
                                                  assert_well_formed, earlier_families,
                                                  earlier_noises, generation_of)

NEWEST = max(GENERATION_SEED_OFFSET)


@pytest.mark.parametrize("n", range(10, NEWEST + 1))
def test_families_are_new_and_cover_every_kind_and_every_bad_mode(n):
    from qplane.calibration.kinds import KINDS

    families, _ = generation_of(n)
    assert not set(families) & earlier_families(n)
    assert {k for k, _ in families.values()} == set(KINDS)
    modes = [m for _, m in families.values()]
    assert {"ok", "undersampled", "off_range", "anomalous", "no_signal"} <= set(modes)
    assert modes.count("ok") == len(modes) // 2
    assert all(f.split("/")[0] == k for f, (k, _) in families.items())


@pytest.mark.parametrize("n", range(8, NEWEST + 1))
def test_generation_is_deterministic_with_a_seed(n):
    families, make_set = generation_of(n)
    a, b, c = make_set(1, seed=11), make_set(1, seed=11), make_set(1, seed=12)
    assert [x.family for x in a] == list(families)
    for x, y in zip(a, b):
        assert np.array_equal(x.sweep, y.sweep) and np.array_equal(x.signal, y.signal)
        assert x.truth == y.truth and x.units == y.units and x.settings == y.settings
    assert all(not np.array_equal(np.asarray(x.signal), np.asarray(y.signal))
               for x, y in zip(a, c))


@pytest.mark.parametrize("n", range(13, NEWEST + 1))
def test_cases_are_well_formed_labelled_and_their_noises_new(n):
    families, make_set = generation_of(n)
    cases = make_set(2, seed=5)
    new = {c.noise for c in cases}
    assert len(new) == len(families) and not new & earlier_noises(n)
    assert_well_formed(cases)
    assert_well_formed(make_set(5, seed=17))


@pytest.mark.slow   # a few seconds a generation: traces of up to 1601 points among them
@pytest.mark.parametrize("n", range(8, NEWEST + 1))
def test_every_case_is_analysable(n):
    assert_every_case_analysable(generation_of(n)[1](1, seed=4))


#: generations measured blind and made development sets since -> the benchmark's seed of each
#: (the training sets are drawn at other seeds)
MEASURED_SEEDS = {11: 797, 12: 799, 13: 801, 14: 803, 15: 805}


@pytest.mark.parametrize("n, bench_seed", sorted(MEASURED_SEEDS.items()))
def test_measured_it_became_a_development_set_keyed_on_its_generator(n, bench_seed):
    """Blind until its one measurement (``calibration_genN_blind.json``), a training set after,
    drawn at seeds other than the benchmark's."""
    from qplane.calibration import training_sets
    from qplane.calibration.training_ensemble import BENCH_SEEDS

    name = f"gen{n}"
    assert name in training_sets.GENERATIONS and BENCH_SEEDS[name] == bench_seed
    cases = training_sets._cases(name, 1, seed=0)
    assert {c[3] for c in cases} == set(generation_of(n)[0]) and {c[4] for c in cases} == {name}
    assert f"qplane.calibration.domain_{name}" in training_sets.source_closure(
        ("qplane.calibration.analysis", training_sets.SET_MODULES[name]))
