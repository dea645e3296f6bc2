"""The decoder bench's cost target judges the shipped fast model from its own rows: its int8
network's CPU time per shot and no significant LER loss against the fp32 network with either
residual matcher, pooled over the noise strengths and at each one."""

from qplane.bench._fast_model import (COST_TARGET, FAST_TIMING_KEY, cost_target,
                                      network_cost_target)


def _pair(p, a, b, errors_a, errors_b, only_a, only_b):
    return {"distance": 5, "p": p, "a": a, "b": b, "errors_a": errors_a, "errors_b": errors_b,
            "only_a_wrong": only_a, "only_b_wrong": only_b}


def _comparisons(unc_only_a=(10, 20), corr_only_a=(1, 2)):
    rows = []
    for p, ua, ca in zip((0.003, 0.005), unc_only_a, corr_only_a):
        rows.append(_pair(p, "neural-fast", "neural", 100 + ua, 100 + 10, ua, 10))
        rows.append(_pair(p, "neural-fast-correlated", "neural-correlated", 80 + ca, 80 + 2, ca, 2))
        rows.append(_pair(p, "neural-fast-correlated", "pymatching-correlated", 80, 80, 0, 0))
    return rows


def _timing(cpu=60.0, wall=90.0):
    return {"5": {FAST_TIMING_KEY: {"network_us_per_shot": wall, "network_cpu_us_per_shot": cpu},
                  "network onnx int8/batch1024/threads1": {"network_us_per_shot": 300.0}}}


def test_met_when_cheap_and_no_significant_loss_with_either_matcher():
    t = cost_target(_comparisons(), _timing())
    assert t["target"] == COST_TARGET and t["met"] and t["cost_met"] and t["no_loss"]
    assert t["us_per_shot"] == 60.0 and t["wall_us_per_shot"] == 90.0  # judged on CPU time
    # pooled over p: errors and discordant counts add (disjoint shots)
    assert t["pooled"]["neural-fast"]["errors"] == [230, 220]
    assert t["pooled"]["neural-fast"]["discordant"] == [30, 20]
    assert "neural-fast vs neural 230 / 220" in t["detail"]


def test_a_significant_uncorrelated_loss_fails_it_even_when_cheap():
    t = cost_target(_comparisons(unc_only_a=(40, 45)), _timing())
    assert t["cost_met"] and not t["no_loss"] and not t["met"]
    assert t["pooled"]["neural-fast"]["loss_pooled"]


def test_a_loss_at_one_noise_strength_fails_it():
    t = cost_target(_comparisons(unc_only_a=(10, 35)), _timing())
    assert t["pooled"]["neural-fast"]["loss_at_p"] == [0.005] and not t["met"]


def test_a_correlated_loss_fails_it():
    t = cost_target(_comparisons(corr_only_a=(15, 20)), _timing())
    assert t["pooled"]["neural-fast-correlated"]["loss_pooled"] and not t["met"]


def test_too_slow_fails_it():
    t = cost_target(_comparisons(), _timing(cpu=101.0, wall=101.0))
    assert t["no_loss"] and not t["cost_met"] and not t["met"]


def test_without_fast_rows_the_shipped_network_is_judged_on_cost_alone():
    assert cost_target([], _timing()) is None
    t = network_cost_target([], _timing(), int8_ok=True)
    assert t["best"] == "network onnx int8/batch1024/threads1" and not t["met"]
    assert network_cost_target([], {"3": {}}, int8_ok=True) is None
