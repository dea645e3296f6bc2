"""The robust3 train families (domain_robust3.py): which kind of bad, drawn as physics."""

import numpy as np
import pytest

from qplane.calibration.domain_robust3 import (
    KERR_CRITICAL,
    KIND_MODES,
    _benchmarking,
    _duffing_photons,
    _ramsey,
    make_robust3_case,
    robust3_train_set,
)


def test_every_kind_and_mode_is_drawn_labelled_and_deterministic():
    cases = robust3_train_set(2, seed=4)
    assert {(c.kind, c.mode) for c in cases} == {(k, m) for k, ms in KIND_MODES.items()
                                                 for m in ms}
    assert all(c.family == f"{c.kind}/train_robust3" for c in cases)
    assert all(bool(c.truth) == (c.mode == "ok") for c in cases)
    assert all(len(c.sweep) == len(c.signal) >= 3 for c in cases)
    assert all(np.all(np.isfinite(np.asarray(c.signal))) for c in cases)
    again = robust3_train_set(2, seed=4)
    assert all(np.array_equal(a.sweep, b.sweep) and np.array_equal(a.signal, b.signal)
               for a, b in zip(cases, again))
    other = robust3_train_set(2, seed=5)
    assert not np.array_equal(cases[0].signal, other[0].signal)


def test_an_unknown_kind_or_mode_names_what_is_drawn():
    with pytest.raises(ValueError, match="robust3 has no 'rabi'"):
        make_robust3_case("rabi", "ok", np.random.default_rng(0))


def test_a_too_long_ramsey_window_holds_the_envelope_in_its_first_points():
    rng = np.random.default_rng(3)
    for _ in range(40):   # the envelope's 1/e within the first 12 % (ok: 25-125 %)
        x, p, _, truth, settings = _ramsey("off_range", rng)
        late = np.abs(p[x > 0.5 * x.max()] - 0.5)
        assert late.max() < 0.02 and settings["detuning"] > 0
        x, p, _, truth, _ = _ramsey("ok", rng)
        assert truth["frequency"] * (x.max() - x.min()) >= 1.4


def test_good_benchmarking_scatters_per_sequence_and_bad_windows_miss_the_decay():
    rng = np.random.default_rng(8)
    repeated = 0
    for _ in range(30):
        m, p, _, truth, _ = _benchmarking("ok", rng)
        assert np.all(m == np.round(m)) and m.min() >= 1
        assert 1.0 * truth["tau"] <= m.max() <= 8.5 * truth["tau"]   # (powers of 2: ×√2)
        repeated += len(np.unique(m)) < len(m)
        m, _, _, truth, _ = _benchmarking("off_range", rng)
        ratio = m.max() / truth["tau"]
        assert ratio < 0.3 or (np.diff(np.unique(m)).min() >= 1.0 * truth["tau"] - 1)
    assert repeated > 15   # most draws measure several random sequences per length


def test_a_kerr_resonator_past_its_critical_drive_jumps_and_depends_on_the_direction():
    delta = np.linspace(-8, 8, 801)
    below = _duffing_photons(delta, 0.5 * KERR_CRITICAL)
    assert np.abs(np.diff(below)).max() < 0.05           # continuous below it
    k = 3 * KERR_CRITICAL
    up, down = _duffing_photons(delta, k), _duffing_photons(delta[::-1], k)[::-1]
    assert np.abs(np.diff(up)).max() > 0.3                # a jump where the branch ends
    assert np.abs(up - down).max() > 0.3                  # hysteresis: swept up ≠ down
    y = up
    assert np.allclose(y * ((delta - k * y) ** 2 + 1), 1, atol=1e-6)


def test_the_analysis_takes_every_variant():
    from qplane.calibration import analyse

    for c in robust3_train_set(1, seed=11):
        assert analyse(c.kind, second_opinion=False, **c.analyse_args()).kind == c.kind
