"""The domain-randomised families: train layouts and noises never include a held-out one."""

import numpy as np

from qplane.calibration.domain import (
    FIRST_HELDOUT,
    HELDOUT,
    TRAIN_LAYOUTS,
    _layout,
    heldout_set,
    train_set,
)
from tests._parallel import fork_map


def test_train_layouts_are_sorted_sweeps_over_the_range_and_never_geometric():
    rng = np.random.default_rng(0)
    assert "log" not in TRAIN_LAYOUTS and "chebyshev" not in TRAIN_LAYOUTS
    for layout in set(TRAIN_LAYOUTS):
        x = _layout(2.0, 10.0, 40, rng, layout=layout)
        assert len(x) == 40 and np.all(np.diff(x) >= 0)
        assert abs(x[0] - 2.0) < 1e-12 and abs(x[-1] - 10.0) < 1e-12


def test_train_cases_use_no_held_out_noise():
    noises = {c.noise for c in train_set(1, seed=3)}
    assert "student" not in noises and noises <= {"binomial", "gaussian", "pink", "iq"}


def test_later_held_out_families_are_appended_after_the_first_sessions():
    assert list(HELDOUT)[:len(FIRST_HELDOUT)] == list(FIRST_HELDOUT)
    assert {"rabi/chebyshev_t", "ramsey/chebyshev_t", "t1/biexponential"} <= set(HELDOUT)
    cases = [c for c in heldout_set(1, seed=1) if c.family == "rabi/chebyshev_t"]
    assert cases[0].noise == "student" and cases[0].good


def test_analysed_cases_are_cached_and_read_back(tmp_path, monkeypatch):
    from qplane.calibration import training

    calls = []

    def fake(per_cell, domain_per_cell, *, seed, log=None):
        calls.append(seed)
        return [((np.full((3, 64), seed, np.float32), np.zeros(21, np.float32)), "ok")]

    monkeypatch.setattr(training, "feature_cases", fake)
    path = tmp_path / "c.npz"
    first = training.cached_feature_cases(path, 1, 1, seed=5)
    again = training.cached_feature_cases(path, 1, 1, seed=5)
    assert calls == [5] and again[0][1] == "ok" and np.array_equal(again[0][0][0], first[0][0][0])
    training.cached_feature_cases(path, 1, 1, seed=6)       # other arguments: analysed anew
    assert calls == [5, 6]


def test_a_forced_noise_is_used_and_never_a_held_out_one_by_default():
    rng = np.random.default_rng(4)
    from qplane.calibration.domain import make_case

    case = make_case("ramsey", "ok", rng, noise="heavy")
    assert case.noise == "heavy" and case.family == "ramsey/train"
    noises = {c.noise for c in train_set(1, seed=4)}
    assert not noises & {"heavy", "glitch", "student"}


def test_fourth_generation_is_disjoint_from_train_and_earlier_families():
    from qplane.calibration.domain import NOISES, TRAIN_FAMILIES
    from qplane.calibration.domain_gen4 import GEN4, gen4_set

    train = {f for v in TRAIN_FAMILIES.values() for f in v}
    assert not set(GEN4) & (set(HELDOUT) | train)
    cases = gen4_set(1, seed=2)
    assert [c.family for c in cases] == list(GEN4)
    assert not {c.noise for c in cases} & set(NOISES)      # noises train never uses
    ramsey = next(c for c in cases if c.family == "ramsey/lowshot_descending")
    assert np.all(np.diff(ramsey.sweep) < 0) and 15 <= ramsey.shots <= 50
    assert all(c.good == (c.mode == "ok") and (not c.good or c.truth) for c in cases)


def test_fifth_generation_is_disjoint_from_train_and_earlier_families():
    from qplane.calibration.domain import BROAD_NOISES, TRAIN_FAMILIES
    from qplane.calibration.domain_gen4 import GEN4
    from qplane.calibration.domain_gen5 import GEN5, gen5_set

    train = {f for v in TRAIN_FAMILIES.values() for f in v}
    assert not set(GEN5) & (set(HELDOUT) | set(GEN4) | train)
    cases = gen5_set(1, seed=3)
    assert [c.family for c in cases] == list(GEN5)
    assert not {c.noise for c in cases} & (set(BROAD_NOISES) - {"binomial", "gaussian"})
    rabi = next(c for c in cases if c.family == "rabi/compressed_telegraph")
    assert np.any(np.diff(rabi.sweep) < 0)                  # shuffled acquisition order
    ramsey = next(c for c in cases if c.family == "ramsey/gauss_repeats")
    assert len(np.unique(ramsey.sweep)) < len(ramsey.sweep)  # repeated points
    spec = next(c for c in cases if c.family == "spectroscopy/curved_sigma")
    assert spec.analyse_args()["sigma"].shape == spec.signal.shape
    assert all(c.good == (c.mode == "ok") and (not c.good or c.truth) for c in cases)
    assert all(np.all(np.isfinite(c.signal)) for c in cases)


def test_broad_train_families_use_no_held_out_noise_or_layout():
    from qplane.calibration.domain import BROAD_LAYOUTS, BROAD_NOISES, broad_train_set

    held_noises = {"student", "heavy", "glitch", "walk", "ou", "iq_offset_drift",
                   "binomial_few", "gaussian_low_snr"}
    assert not set(BROAD_NOISES) & held_noises
    assert not {"log", "chebyshev"} & set(BROAD_LAYOUTS)
    cases = broad_train_set(1, seed=5)
    assert {c.family for c in cases} == {f"{k}/train_broad" for k in
                                         ("spectroscopy", "rabi", "ramsey", "t1", "echo")}
    assert {c.noise for c in cases} <= set(BROAD_NOISES)
    rng = np.random.default_rng(1)
    for layout in ("power_wide", "dense_end_wide"):
        x = _layout(0.0, 1.0, 50, rng, layout=layout)
        assert np.all(np.diff(x) >= 0) and x[0] == 0.0 and abs(x[-1] - 1.0) < 1e-12


def test_train_set_stream_is_unchanged_by_the_broad_families():
    # the sessions 1-3 train families draw exactly what they drew before session 4
    a = train_set(1, seed=7)
    assert [c.family for c in a] == [f"{c.kind}/train" for c in a]
    assert all(c.noise in ("binomial", "gaussian", "pink", "iq") for c in a)


def test_qec_train_cases_are_analysable_and_labelled():
    from qplane.calibration import analyse
    from qplane.calibration.domain_qec import QEC_KINDS, QEC_MODES, make_qec_case

    rng = np.random.default_rng(3)
    for kind in QEC_KINDS:
        ok = make_qec_case(kind, "ok", rng)
        r = analyse(kind, second_opinion=False, **ok.analyse_args())
        assert r.passed, (kind, r.reason)
        flat = make_qec_case(kind, "no_signal", rng)
        assert np.ptp(flat.signal) < 0.2 and flat.mode in QEC_MODES


def test_sixth_generation_is_new_well_formed_and_analysable():
    # structure only: the verdicts on the blind generation are not looked at here
    from qplane.calibration import analyse
    from qplane.calibration.analysis import AnalysisResult
    from qplane.calibration.domain import BROAD_NOISES, TRAIN_FAMILIES
    from qplane.calibration.domain_gen4 import GEN4, gen4_set
    from qplane.calibration.domain_gen5 import GEN5, gen5_set
    from qplane.calibration.domain_gen6 import GEN6, gen6_set
    from qplane.calibration.domain_wide import NOISES as WIDE_NOISES
    from qplane.calibration.domain_wide import TRAIN_FAMILIES as WIDE_FAMILIES

    train = {f for v in (*TRAIN_FAMILIES.values(), *WIDE_FAMILIES.values()) for f in v}
    assert not set(GEN6) & (set(HELDOUT) | set(GEN4) | set(GEN5) | train)
    assert {k for k, _ in GEN6.values()} == {"spectroscopy", "rabi", "ramsey", "t1", "echo"}
    assert {"ok", "undersampled", "off_range", "anomalous", "no_signal"} <= {
        m for _, m in GEN6.values()}
    cases = gen6_set(1, seed=4)
    assert [c.family for c in cases] == list(GEN6)
    earlier = {c.noise for c in gen4_set(1, seed=4) + gen5_set(1, seed=4)}
    new = {c.noise for c in cases} - {"binomial", "gaussian"}
    assert not new & (set(BROAD_NOISES) | set(WIDE_NOISES) | earlier)
    for c in cases:
        assert c.good == (c.mode == "ok") and bool(c.truth) == c.good
        assert all(np.isfinite(v) for v in c.truth.values())
        signal = np.asarray(c.signal)
        assert len(signal) == len(c.sweep) and np.all(np.isfinite(c.sweep))
        if c.signal_type == "iq":
            assert np.iscomplexobj(signal) or signal.shape == (len(c.sweep), 2)
    spec = next(c for c in cases if c.family == "spectroscopy/pulsed_phase_deg")
    assert spec.units == "GHz" and spec.settings["signal_units"] == "deg"
    assert np.isnan(spec.signal).any() and np.nanmax(np.abs(spec.signal)) <= 180
    rabi = next(c for c in cases if c.family == "rabi/symmetric_counts")
    assert rabi.sweep[0] < 0 < rabi.sweep[-1] and np.all(rabi.signal == np.round(rabi.signal))
    assert 9 <= len(next(c for c in cases if c.family == "rabi/coarse_spam").sweep) <= 13
    assert len(next(c for c in cases if c.family == "t1/thermal_fine").sweep) >= 400
    # every case is analysable (whatever the verdict)
    assert all(fork_map(lambda c: isinstance(analyse(c.kind, second_opinion=False,
                                                     **c.analyse_args()), AnalysisResult),
                        cases))
