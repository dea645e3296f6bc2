"""The wide train families (session 5): every kind and mode drawn, sane data, analysable."""

import numpy as np

from qplane.calibration import analyse
from qplane.calibration.domain import SWEEP_KINDS
from qplane.calibration.domain_wide import LAYOUTS, WIDE_MODES, _unit_layout, wide_train_set
from tests._parallel import fork_map


def test_every_kind_and_mode_is_drawn_with_finite_data():
    cases = wide_train_set(3, seed=11)
    assert {(c.kind, c.mode) for c in cases} == {(k, m) for k in SWEEP_KINDS for m in WIDE_MODES}
    for c in cases:
        assert c.family.endswith("/train_wide") and len(c.sweep) >= 4
        assert np.all(np.isfinite(c.sweep)) and np.all(np.isfinite(np.asarray(c.signal)))
        assert bool(c.truth) == (c.mode == "ok")


def test_layouts_span_zero_to_one_in_order():
    rng = np.random.default_rng(3)
    for layout in LAYOUTS:
        for n in (12, 40, 300):
            u = _unit_layout(n, rng, layout)
            assert len(u) == n and u[0] == 0 and np.isclose(u[-1], 1) and np.all(np.diff(u) > 0)


def test_wide_cases_analyse_without_an_exception():
    verdicts = fork_map(lambda c: analyse(c.kind, second_opinion=False,
                                          **c.analyse_args()).gate.passed,
                        wide_train_set(1, seed=4)[::6])
    assert verdicts and all(v in (True, False) for v in verdicts)
