"""The checks every blind generation of held-out families shares, from the eighth on: its
families new (no earlier generation or train set names them), covering every analysis kind and
every bad mode, half of them good; and its cases a function of the seed alone. What is
particular to a generation (its readouts, its truths on noiseless data, its bad families) stays
in its own ``test_domain_genN.py``.

Structure only: the verdicts on a blind generation are not looked at here.
"""

import numpy as np
import pytest

from qplane.bench.calibration import GENERATION_SEED_OFFSET
from tests.calibration._generation_checks import earlier_families, generation_of

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
