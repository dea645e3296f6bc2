"""The learned second opinion: shipped with a card, accurate, advisory, never able to write."""

import numpy as np

from qplane.calibration.classifier import MODE_CLASS, LearnedSecondOpinion
from qplane.calibration.nodes import RabiNode
from qplane.calibration.run import run_node
from qplane.calibration.synthetic import SyntheticBackend
from qplane.calibration.training import dataset


def test_shipped_model_loads_with_its_card():
    op = LearnedSecondOpinion.load()
    assert op.card["name"] == "sweep_classifier"
    assert op.card["validation"]["class_accuracy"] >= 0.95
    assert op.card["training"]["data_fingerprint"]


def test_shipped_model_classifies_fresh_cases():
    op = LearnedSecondOpinion.load()
    cases = dataset(3, seed=4242)
    verdicts = op.predict([d for d, _ in cases])
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
