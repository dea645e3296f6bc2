"""The learned second opinion: shipped with a card, accurate, advisory, never able to write."""

import numpy as np

from qplane.calibration.classifier import MODE_CLASS, LearnedSecondOpinion
from qplane.calibration.nodes import RabiNode
from qplane.calibration.run import run_node
from qplane.calibration.synthetic import SyntheticBackend
from qplane.calibration.training import dataset
from tests._parallel import fork_map


def test_shipped_model_loads_with_its_card():
    op = LearnedSecondOpinion.load()
    assert op.card["name"] == "sweep_classifier"
    assert op.card["validation"]["class_accuracy"] >= 0.95
    assert op.card["training"]["data_fingerprint"]


def test_shipped_model_classifies_fresh_cases():
    from qplane.calibration.classifier import features

    op = LearnedSecondOpinion.load()
    cases = dataset(3, seed=4242)
    # what op.predict does (features of each data set, then the network), the analyses in
    # forked processes
    verdicts = op.predict_features(fork_map(features, [d for d, _ in cases]))
    acc = np.mean([v.label == MODE_CLASS[m] for v, (_, m) in zip(verdicts, cases)])
    assert acc >= 0.9, acc
    assert all(v.action for v in verdicts)


class Says:
    """A stand-in second opinion with a fixed verdict."""

    def __init__(self, label):
        self.label = label

    def classify(self, data):
        return {"label": self.label, "mode": self.label, "confidence": 1.0, "action": "x"}


def test_disagreement_is_flagged_but_the_opinion_is_only_advisory():
    # issue 14: the second opinion is strictly advisory: it records its verdict and a
    # disagreement flags a person, but only the gate, specs and limits decide a write
    backend = SyntheticBackend(seed=5)
    backend.settings["q0.pi_amplitude"] = 0.41
    run = run_node(RabiNode(), "q0", backend, backend.ledger(), mode="calibrate",
                   second_opinion=Says("anomalous"))
    assert run.analysis.gate.passed
    assert run.flagged and run.outcome.value == "success" and "second opinion" in run.reason
    assert run.verdict["label"] == "anomalous"
    assert [c.control for c in run.changes] == ["pi_amplitude"]


def test_model_alone_never_updates():
    backend = SyntheticBackend(seed=5)
    backend.failures[("q0", "rabi_amplitude")] = "no_signal"
    backend.settings["q0.pi_amplitude"] = 0.41
    run = run_node(RabiNode(), "q0", backend, backend.ledger(), mode="calibrate",
                   second_opinion=Says("expected"))
    assert not run.analysis.gate.passed and run.flagged
    assert run.changes == () and backend.settings["q0.pi_amplitude"] == 0.41


def test_agreement_updates_and_records_the_verdict():
    backend = SyntheticBackend(seed=5)
    backend.settings["q0.pi_amplitude"] = 0.41
    run = run_node(RabiNode(), "q0", backend, backend.ledger(), mode="calibrate",
                   second_opinion=LearnedSecondOpinion.load())
    assert run.outcome.value == "success" and not run.flagged
    assert run.verdict["label"] == "expected"


def test_features_do_not_depend_on_the_sweep_layout():
    """The same physics sampled with other point counts, units, gain and offset gives the same
    channels (up to noise) and the same scalars that do not count points."""
    from qplane.calibration import analyse
    from qplane.calibration.classifier import analysis_features

    feats = []
    for n, unit, factor, gain, off in ((41, "us", 1e6, 1.0, 0.0), (157, "ns", 1e9, -3e-3, 0.7),
                                      (23, "s", 1.0, 25.0, -4.0)):
        t = np.linspace(0, 300e-6, n)
        p = 0.05 + 0.85 * np.exp(-t / 60e-6) + np.random.default_rng(n).normal(0, 0.005, n)
        r = analyse("t1", t * factor, off + gain * p, units=unit, signal_type="magnitude",
                    second_opinion=False)
        feats.append(analysis_features(r))
    ref_x, ref_s = feats[0]
    keep = np.ones(len(ref_s), bool)
    keep[6] = False   # log points
    for x, s in feats[1:]:
        sign = np.sign(np.dot(x[0], ref_x[0]))   # a negative gain flips the signal
        assert np.max(np.abs(sign * x[0] - ref_x[0])) < 0.1
        assert np.max(np.abs(sign * x[1] - ref_x[1])) < 0.05
        assert np.max(np.abs(s[keep] - ref_s[keep])) < 0.15, (s, ref_s)


def test_shipped_model_transfers_to_held_out_families():
    from qplane.calibration import analyse
    from qplane.calibration.classifier import MODE_CLASS, analysis_features
    from qplane.calibration.domain import heldout_set

    op = LearnedSecondOpinion.load()
    cases = heldout_set(2, seed=99)
    feats = fork_map(lambda c: analysis_features(analyse(c.kind, second_opinion=False,
                                                         **c.analyse_args())), cases)
    verdicts = op.predict_features(feats)
    acc = np.mean([v.label == MODE_CLASS[c.mode] for v, c in zip(verdicts, cases)])
    # held-out transfer as measured by `qplane bench calibration` (0.74 over 420 cases; the
    # issue's 0.9 target is not met yet): well above chance over the four classes
    assert acc >= 0.6, acc


def test_the_shipped_version_2_model_and_the_version_3_candidate_read_their_scalars():
    from qplane.calibration.classifier import BASE_SCALARS, V3_MODEL, V3_SCALARS

    old = LearnedSecondOpinion.load()
    assert old.card["features_version"] == 2 and old.model.scalars == BASE_SCALARS
    new = LearnedSecondOpinion.load(V3_MODEL)
    assert new.card["features_version"] == 3 and new.model.scalars == V3_SCALARS
    assert new.card["training"]["qec_per_cell"] > 0 and new.card["validation"]["cases"] > 500
    cases = dataset(1, seed=77)[:6]
    # predict takes analysis results as well as data: the six are analysed once for both
    from qplane.calibration.classifier import analyse_data

    results = [analyse_data(d) for d, _ in cases]
    assert len(old.predict(results)) == len(new.predict(results)) == len(cases)


def test_qec_kinds_have_their_own_one_hot():
    from qplane.calibration import analyse
    from qplane.calibration.classifier import (BASE_SCALARS, QEC_FEATURE_KINDS, V3_SCALARS,
                                               analysis_features)
    from qplane.calibration.domain_qec import make_qec_case

    rng = np.random.default_rng(2)
    for i, kind in enumerate(QEC_FEATURE_KINDS):
        c = make_qec_case(kind, "ok", rng)
        _, s = analysis_features(analyse(kind, second_opinion=False, **c.analyse_args()))
        assert s[BASE_SCALARS + i] == 1.0 and s[BASE_SCALARS:V3_SCALARS].sum() == 1.0
        flat = make_qec_case(kind, "no_signal", rng)   # no best value: NaN numbers read as 0
        _, s = analysis_features(analyse(kind, second_opinion=False, **flat.analyse_args()))
        assert np.all(np.isfinite(s))


def test_bench_families_in_processes_match_one_process_and_judge_a_compare_model():
    from qplane.bench.calibration import evaluate_families
    from qplane.calibration.classifier import CANDIDATE_MODEL
    from qplane.calibration.domain_gen4 import gen4_set

    op, cand = LearnedSecondOpinion.load(), LearnedSecondOpinion.load(CANDIDATE_MODEL)
    cases = gen4_set(1, seed=11)
    one = evaluate_families(cases, op, compare=cand)
    two = evaluate_families(cases, op, jobs=2, compare=cand)
    import json

    # (json: NaN — no fitted value for bad data — compares equal to itself there)
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert "compare_model_class_accuracy" in one
    assert set(one["per_family"]) == {c.family for c in cases}


def test_features_version_4_read_the_minimum_criterion_and_the_gates_verdict():
    """DRAG's gate refuses a maximum through its ``minimum`` criterion, which the version-3
    scalars never read: version 4 appends it, the gate's verdict and the other numbers."""
    from qplane.calibration import analyse
    from qplane.calibration.classifier import EXTRA_SCALARS, V3_SCALARS, analysis_features

    x = np.linspace(-0.6, 0.6, 41)
    rng = np.random.default_rng(2)
    for sign, passed in ((1, 1.0), (-1, 0.0)):   # a minimum, then a maximum, at beta = 0.1
        p = 0.5 + sign * 0.4 * (np.sin(np.pi / 2.4 * (x - 0.1)) ** 2 - 0.5)
        y = rng.binomial(300, p) / 300
        r = analyse("drag", x, y, shots=300, scale=1.0, second_opinion=False)
        _, s = analysis_features(r)
        extra = dict(zip(EXTRA_SCALARS, s[V3_SCALARS:]))
        assert extra["minimum"] == passed and extra["gate"] == float(r.gate.passed)
        assert 0 <= extra["explained"] <= 1 and 0 <= extra["autocorrelation"] <= 1
        assert np.all(np.isfinite(s))


def test_the_version_4_candidate_reads_every_scalar_and_judges_the_qec_kinds():
    from qplane.calibration import analyse
    from qplane.calibration.classifier import V4_MODEL, V4_SCALARS

    op = LearnedSecondOpinion.load(V4_MODEL)
    assert op.card["features_version"] == 4 and op.model.scalars == V4_SCALARS
    assert op.card["training"]["wide_per_cell"] > 0 and op.card["validation"]["cases"] > 300
    assert any(f.endswith("/train_wide") for f in op.card["training"]["domain_families"])
    # DRAG's second opinion (session 4: 0.71 on the simulated lab's validation seed): a sweep
    # moved off the ideal coefficient shows a maximum between two minima beyond its ends, which
    # the version-3 candidate called "expected"
    x = np.linspace(0.36, 1.56, 41)
    for seed in range(3):
        y = np.random.default_rng(seed).binomial(300, 0.05 + 0.8 * np.sin(np.pi / 1.56 * x) ** 2)
        r = analyse("drag", x, y / 300, shots=300, scale=1.0, second_opinion=False)
        assert op.classify_analysis(r)["label"] == "suboptimal_sweep"


def test_a_warm_start_predicts_exactly_what_the_older_model_predicts():
    import torch

    from qplane.calibration.classifier import NUM_SCALARS, V3_MODEL
    from qplane.calibration.training import warm_start

    old = LearnedSecondOpinion.load(V3_MODEL).model
    new = warm_start(V3_MODEL)
    assert new.scalars == NUM_SCALARS > old.scalars
    g = torch.Generator().manual_seed(0)
    x, s = torch.randn(8, 3, 64, generator=g), torch.rand(8, NUM_SCALARS, generator=g)
    with torch.no_grad():
        assert torch.allclose(old(x, s), new.eval()(x, s), atol=1e-6)


def test_an_ensemble_of_members_reading_different_inputs_round_trips(tmp_path):
    from qplane.calibration.classifier import (BASE_SCALARS, NUM_SCALARS, SweepClassifier,
                                               SweepEnsemble, features, save_model)

    model = SweepEnsemble([LearnedSecondOpinion.load().model,
                           SweepClassifier(8, NUM_SCALARS, 5)]).eval()
    card = {"features_version": 5, "members": 2,
            "member_reads": [[m.channels, m.scalars, m.conv[0].out_channels]
                             for m in model.members]}
    save_model(model, card, tmp_path / "m.safetensors")
    back = LearnedSecondOpinion.load(tmp_path / "m.safetensors")
    assert back.model.members[0].scalars == BASE_SCALARS
    feats = [features(d) for d, _ in dataset(1, seed=3)[:4]]
    assert [v.to_dict() for v in back.predict_features(feats)] == \
        [v.to_dict() for v in LearnedSecondOpinion(model, card).predict_features(feats)]
