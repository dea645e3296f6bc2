"""The robust train families (domain_robust.py): every mode, in its randomised variants."""

import numpy as np

from qplane.calibration.domain import SWEEP_KINDS
from qplane.calibration.domain_robust import MODES, robust_train_set
from tests._parallel import fork_map


def test_every_kind_and_mode_is_drawn_and_labelled():
    cases = robust_train_set(2, seed=4)
    assert {(c.kind, c.mode) for c in cases} == {(k, m) for k in SWEEP_KINDS for m in MODES}
    assert all(c.family.endswith("/train_robust") for c in cases)
    assert all(bool(c.truth) == (c.mode == "ok") for c in cases)
    assert all(len(c.sweep) == len(c.signal) >= 4 for c in cases)


def test_bad_rabi_and_decay_windows_include_aliasing_and_far_too_long():
    from qplane.calibration.domain_robust import _decay, _rabi

    rng = np.random.default_rng(7)
    alias, windows = [], []
    for _ in range(60):
        x, _, _, truth, _ = _rabi("undersampled", 50, rng)
        if len(x) >= 8:   # the aliasing variant: a uniform step longer than half a period
            alias.append(float(np.median(np.diff(np.sort(x)))) / truth["pi_amplitude"])
        x, _, _, truth, _ = _decay("echo", "off_range", 50, rng)
        windows.append(float(np.max(x)) / truth["tau"])
    assert alias and min(alias) > 0.5 and max(alias) > 1.05
    assert min(windows) < 0.3 and max(windows) > 12
    assert not any(0.3 < w < 12 for w in windows)


def test_the_analysis_takes_every_variant():
    from qplane.calibration import analyse

    cases = robust_train_set(1, seed=11)
    kinds = fork_map(lambda c: analyse(c.kind, second_opinion=False, **c.analyse_args()).kind,
                     cases)
    assert kinds == [c.kind for c in cases]


def test_the_session_7_variants_are_drawn_labelled_and_analysed():
    from qplane.calibration import analyse
    from qplane.calibration.domain_robust import robust2_train_set

    cases = robust2_train_set(2, seed=5)
    assert {(c.kind, c.mode) for c in cases} == {(k, m) for k in SWEEP_KINDS for m in MODES}
    assert all(c.family.endswith("/train_robust2") for c in cases)
    assert all(bool(c.truth) == (c.mode == "ok") for c in cases)
    kinds = fork_map(lambda c: analyse(c.kind, second_opinion=False, **c.analyse_args()).kind,
                     cases[:12])
    assert kinds == [c.kind for c in cases[:12]]
