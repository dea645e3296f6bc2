"""The session-9 rules for ``unsure`` (training_ensemble.py, classifier.py)."""

import numpy as np
import torch

from qplane.calibration.classifier import (
    CHANNELS,
    LENGTH,
    MODES,
    NUM_SCALARS,
    LearnedSecondOpinion,
    SweepClassifier,
    SweepEnsemble,
)
from qplane.calibration.training_ensemble import DEFAULTS, abstain_threshold, judge


class _Fixed(SweepClassifier):
    """A member whose logits are a fixed function of the first scalar (for exact tests)."""

    def __init__(self, table):
        super().__init__(width=4)
        self.table = torch.tensor(table, dtype=torch.float32)

    def forward(self, x, s):
        return self.table[s[:, 0].long()]


def _feats(codes, modes):
    out = []
    for c, m in zip(codes, modes):
        s = np.zeros(NUM_SCALARS, dtype=np.float32)
        s[0] = c
        out.append(((np.zeros((CHANNELS, LENGTH), np.float32), s), m))
    return out


def _one_hot(i, k=8.0):
    row = [0.0] * len(MODES)
    row[i] = k
    return row


# code 0: both members say ok; code 1: they split (ok / anomalous); code 2: both say
# anomalous, each only just
A = _Fixed([_one_hot(0), _one_hot(0), [0.3, 0, 0, 0, 0.5, 0]])
B = _Fixed([_one_hot(0), _one_hot(4), [0.3, 0, 0, 0, 0.5, 0]])
ENSEMBLE = SweepEnsemble([A, B]).eval()


def test_members_that_name_different_classes_make_the_verdict_unsure():
    feats = _feats([0, 1, 2], ["ok", "ok", "ok"])
    plain = LearnedSecondOpinion(ENSEMBLE, {}).predict_features([f for f, _ in feats])
    rule = LearnedSecondOpinion(ENSEMBLE, {"unsure_on_disagreement": True}).predict_features(
        [f for f, _ in feats])
    assert [v.unsure for v in plain] == [False, False, False]
    assert [v.unsure for v in rule] == [False, True, False]
    assert [v.label for v in rule] == [v.label for v in plain]   # labels never change
    assert not DEFAULTS["unsure_on_disagreement"] and DEFAULTS["unsure_catch"] is None


def test_judge_reports_the_share_of_errors_unsure_marks():
    feats = _feats([0, 1, 2, 2], ["ok", "anomalous", "ok", "anomalous"])
    g = judge(ENSEMBLE, feats, {"unsure_on_disagreement": True})
    # errors: code 1 (split: labelled either way, unsure) and code 2 as ok (anomalous, sure)
    assert g["unsure"] == 0.25 and 0 < g["unsure_catches"] <= 1


def test_the_threshold_is_chosen_on_the_errors_the_other_rule_leaves():
    feats = _feats([0, 1, 2, 2, 2], ["ok", "anomalous", "ok", "ok", "anomalous"])
    conf = LearnedSecondOpinion(ENSEMBLE, {}).predict_features([f for f, _ in feats])[2]
    t = abstain_threshold(ENSEMBLE, feats, catch=0.5, card={"unsure_on_disagreement": True})
    assert conf.confidence < t < conf.confidence + 1e-6   # just above the errors' confidence
    card = {"unsure_on_disagreement": True, "abstain_below": t}
    g = judge(ENSEMBLE, feats, card)
    assert g["unsure_catches"] == 1.0
    assert abstain_threshold(ENSEMBLE, _feats([0], ["ok"]), catch=0.5) == 0.0   # no errors
