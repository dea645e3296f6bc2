"""Features version 5 (sweep_features.py): the sweep in units of its own fitted scale, the same
whatever the layout, units, order, gain and offset; the v5 model's card matches its file."""

import hashlib
import re

import numpy as np
import pytest

from qplane.calibration import analyse
from qplane.calibration.classifier import (
    CHANNELS,
    NUM_SCALARS,
    V4_SCALARS,
    MODELS_DIR,
    LearnedSecondOpinion,
    analysis_features,
)
from qplane.calibration.sweep_features import PHYSICS_SCALARS, data_noise, physics_features

IDX = {name: i for i, name in enumerate(PHYSICS_SCALARS)}


def _t1(n, top, *, unit="us", factor=1e6, gain=1.0, off=0.0, order=None, seed=0):
    t = np.linspace(0, top, n)
    p = 0.05 + 0.85 * np.exp(-t / 40e-6) + np.random.default_rng(seed).normal(0, 0.004, n)
    o = np.arange(n) if order is None else order
    return analyse("t1", (t * factor)[o], (off + gain * p)[o], units=unit,
                   signal_type="magnitude", second_opinion=False)


def test_units_order_gain_and_offset_leave_every_feature_unchanged():
    ref = analysis_features(_t1(80, 240e-6))
    order = np.random.default_rng(3).permutation(80)
    other = analysis_features(_t1(80, 240e-6, unit="ns", factor=1e9, gain=-40.0, off=3.0,
                                  order=order))
    assert ref[0].shape == (CHANNELS, 64) and ref[1].shape == (NUM_SCALARS,)
    sign = np.sign(np.dot(ref[0][0], other[0][0]))
    # a negative gain flips the signal, the fitted curve and the residuals; not the sampling
    assert np.allclose(ref[0][:4], sign * other[0][:4], atol=1e-3)
    assert np.allclose(ref[0][4], other[0][4], atol=1e-3)
    assert np.allclose(ref[1][V4_SCALARS:], other[1][V4_SCALARS:], atol=1e-3)


def test_the_same_decay_at_two_layouts_reads_the_same_in_units_of_its_decay_constant():
    """60 points over 6 decay constants and 150 points over 8: on the canonical grid (delay /
    fitted T1) the signal agrees where both windows cover it, and so do the span-free scalars."""
    a = physics_features(_t1(60, 240e-6, seed=1))
    b = physics_features(_t1(150, 320e-6, unit="ns", factor=1e9, gain=7.0, seed=2))
    covered = (a[0][1] > 0) & (b[0][1] > 0)
    both = covered.copy()   # cells inside both windows, not at an edge of either
    both[1:-1] &= covered[:-2] & covered[2:]
    both[[0, -1]] = False
    assert both.sum() > 30
    # channel 0 is normalised by each window's own 5-95 % range: compare shapes up to scale
    ca, cb = a[0][0][both], b[0][0][both]
    ca, cb = (ca - ca.mean()) / ca.std(), (cb - cb.mean()) / cb.std()
    assert np.max(np.abs(ca - cb)) < 0.1
    for name in ("valid", "start"):
        assert abs(a[1][IDX[name]] - b[1][IDX[name]]) < 0.02, name
    assert a[1][IDX["span"]] < b[1][IDX["span"]] < a[1][IDX["span"]] + 0.1


def test_a_window_far_too_long_reads_differently_from_a_good_one():
    good = physics_features(_t1(40, 200e-6))[1]
    long = physics_features(_t1(40, 2000e-6))[1]   # 50 decay constants: decayed in 1-2 points
    assert long[IDX["span"]] - good[IDX["span"]] > 0.15
    assert long[IDX["flat"]] > 0.8 > good[IDX["flat"]]
    assert long[IDX["max_step"]] > good[IDX["max_step"]]


def test_an_aliased_rabi_has_a_coarse_step_in_units_of_its_fitted_period():
    api = 0.3
    fine = np.linspace(0, 3 * api, 60)
    coarse = np.arange(12) * 1.4 * api   # 1.4 pi amplitudes per step
    feats = []
    for x in (fine, coarse):
        p = 0.05 + 0.4 * (1 - np.cos(np.pi * x / api))
        feats.append(physics_features(analyse("rabi", x, p, shots=1000, second_opinion=False))[1])
    # the fit of the aliased data finds a slower fringe, yet still fewer points per fringe
    assert feats[1][IDX["points_per_scale"]] < feats[0][IDX["points_per_scale"]]


def test_data_noise_is_the_white_noise_level_on_a_smooth_signal():
    x = np.linspace(0, 1, 400)
    y = np.sin(2 * np.pi * x) + np.random.default_rng(0).normal(0, 0.05, 400)
    assert data_noise(x, y) == pytest.approx(0.05, rel=0.15)
    assert data_noise(x[::-1], y[::-1]) == pytest.approx(data_noise(x, y))


def test_no_canonical_scale_gives_zero_physics_features():
    x = np.linspace(0, 1, 30)
    r = analyse("drag", x, 0.5 + 0.3 * np.sin(np.pi * x) ** 2, shots=500, scale=1.0,
                second_opinion=False)
    chans, scal = physics_features(r)
    assert not chans.any() and not scal.any()


def _stated_sha(card: str) -> str:
    m = re.search(r"sha256 `([0-9a-f]{64})`", card)
    assert m, "the card states the model file's sha256"
    return m.group(1)


@pytest.mark.parametrize("name", ["sweep_classifier_v5", "sweep_classifier_v6",
                                  "sweep_classifier_v7", "sweep_classifier_v8"])
def test_the_model_card_states_the_sha256_of_its_file(name):
    data = (MODELS_DIR / f"{name}.safetensors").read_bytes()
    card = (MODELS_DIR / f"{name}.md").read_text()
    assert _stated_sha(card) == hashlib.sha256(data).hexdigest()


def test_the_v5_model_is_an_ensemble_reading_features_version_5():
    op = LearnedSecondOpinion.load(MODELS_DIR / "sweep_classifier_v5.safetensors")
    assert op.card["features_version"] == 5 and op.card["members"] >= 2
    assert op.model.scalars == NUM_SCALARS and op.model.channels == CHANNELS
    assert 0 < op.card["abstain_below"] < 1
    # every generation it was trained on is named; the blind sixth is not among them
    assert "gen6" not in op.card["training"]["generations"]
    v = op.classify_analysis(_t1(60, 240e-6))
    assert v["label"] == "expected" and "unsure" in v


def test_the_v6_model_names_generations_one_to_six_and_not_the_seventh():
    op = LearnedSecondOpinion.load(MODELS_DIR / "sweep_classifier_v6.safetensors")
    assert op.card["features_version"] == 5 and op.card["members"] == 3
    assert op.card["training"]["generations"] == [f"gen{i}" for i in range(1, 7)]
    assert "robust2" in op.card["training"]["sets"]
    v = op.classify_analysis(_t1(60, 240e-6))
    assert v["label"] == "expected" and "unsure" in v


def test_the_v7_model_names_generations_one_to_twelve_and_not_the_blind_thirteenth():
    from qplane.calibration.classifier import V7_MODEL

    op = LearnedSecondOpinion.load(V7_MODEL)
    assert op.card["features_version"] == 5 and op.card["members"] == 3
    assert sorted(op.card["training"]["generations"]) == sorted(
        f"gen{i}" for i in range(1, 13))
    assert "gen13" not in op.card["training"]["sets"]
    assert "robust3" in op.card["training"]["sets"]
    v = op.classify_analysis(_t1(60, 240e-6))
    assert v["label"] == "expected" and "unsure" in v


def test_the_v8_model_is_the_candidate_naming_generations_one_to_fifteen_not_the_sixteenth():
    from qplane.calibration.classifier import CANDIDATE_MODEL, V8_MODEL

    op = LearnedSecondOpinion.load(V8_MODEL)
    assert CANDIDATE_MODEL == V8_MODEL
    assert op.card["features_version"] == 5 and op.card["members"] == 5
    assert sorted(op.card["training"]["generations"]) == sorted(
        f"gen{i}" for i in range(1, 16))
    assert "gen16" not in op.card["training"]["sets"]
    assert "gen16" not in op.card["validation"]["sets"]
    assert op.card["training"]["input_noise"] == 0.05
    v = op.classify_analysis(_t1(60, 240e-6))
    assert v["label"] == "expected" and "unsure" in v
