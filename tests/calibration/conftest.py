"""Fixtures shared by the calibration tests."""

import pytest


@pytest.fixture
def stubbed_benchmark(monkeypatch, tmp_path):
    """``run()`` runs ``qplane bench calibration``'s :func:`run_benchmark` at one case a family
    with every evaluation stubbed, and returns ``(results, sets)``: ``sets`` the family names
    of every case list given to ``evaluate_families``, each result of which is zeros plus a
    ``mark``, one family of its cases (so a test sees which set each result came from)."""
    import qplane.bench.calibration as bench
    import qplane.calibration.classifier as classifier
    import qplane.calibration.training as training

    sets = []

    def families(cases, opinion, **kw):
        sets.append({c.family for c in cases})
        return {k: 0.0 for k in ("gate_accepts_good", "gate_rejects_bad", "within_2sigma",
                                 "rabi_bias_abs_max", "model_class_accuracy")} | {
            "mark": next(iter({c.family for c in cases}))}

    class Opinion:
        card = {}

    monkeypatch.setattr(classifier.LearnedSecondOpinion, "load", staticmethod(
        lambda *a, **k: Opinion()))
    monkeypatch.setattr(training, "dataset", lambda *a, **k: [])
    monkeypatch.setattr(bench, "evaluate_families", families)
    monkeypatch.setattr(bench, "simlab_cases", lambda *a, **k: [])
    monkeypatch.setattr(bench, "evaluate", lambda *a, **k: {})
    monkeypatch.setattr(bench, "evaluate_qec", lambda *a, **k: {})

    def run():
        return bench.run_benchmark(per_family=1, out=str(tmp_path / "c.json")), sets

    return run
