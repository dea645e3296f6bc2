"""The decoder bench's fast-model rows: the distilled network judged against its teacher.

Where a fast model is shipped for a distance (``dN-fast``, :mod:`qplane.decoder.distill`), the
decoder benchmark decodes its own test shots with it as the loop runs it (ONNX Runtime int8, the
planar graph, one thread) with uncorrelated (``neural-fast``) and correlated
(``neural-fast-correlated``) residual matching, beside the shipped fp32 network with the same
matchers (``neural``, ``neural-correlated``), and compares them shot for shot (McNemar). The
issue's cost target, "network <= 100 us per shot at d = 5 on one CPU core with no significant
LER loss", is judged from those numbers (:func:`cost_target`): the fast int8 network's CPU time
per shot (batch 1024, one intra-op thread: the calling thread's CPU time, what one core pays;
the wall clock beside it) and, for *both* matchers, no significant loss against the fp32
network pooled over the distance's noise strengths nor at any single one.

>>> comparisons = [
...     {"distance": 5, "p": 0.003, "a": "neural-fast", "b": "neural", "errors_a": 30,
...      "errors_b": 25, "only_a_wrong": 9, "only_b_wrong": 4},
...     {"distance": 5, "p": 0.003, "a": "neural-fast-correlated", "b": "neural-correlated",
...      "errors_a": 20, "errors_b": 20, "only_a_wrong": 1, "only_b_wrong": 1}]
>>> timing = {"5": {FAST_TIMING_KEY: {"network_us_per_shot": 70.0,
...                                   "network_cpu_us_per_shot": 60.0}}}
>>> t = cost_target(comparisons, timing)
>>> t["met"], t["us_per_shot"], t["pooled"]["neural-fast"]["errors"]
(True, 60.0, [30, 25])
"""

from __future__ import annotations

from typing import Any

#: Decoder rows of the fast model (ONNX int8), uncorrelated and correlated residual matching.
FAST_DECODERS = ("neural-fast", "neural-fast-correlated")
#: Its comparisons: against the shipped fp32 network with the same matcher (the LER-loss
#: check), and correlated against correlated PyMatching (the main baseline of every neural row).
FAST_PAIRS = (("neural-fast", "neural"), ("neural-fast-correlated", "neural-correlated"),
              ("neural-fast-correlated", "pymatching-correlated"))
#: The timing row whose CPU time the cost target reads (``qplane.bench.decoder._timing``).
FAST_TIMING_KEY = "fast network onnx int8/batch1024/threads1"
#: The cost target: distance, microseconds per shot, significance level of a loss.
COST_DISTANCE, COST_US, ALPHA = 5, 100.0, 0.05
COST_TARGET = ("network <= 100 us per shot at d=5 on one core with no significant LER loss "
               "(shipped fast model, ONNX int8, against the fp32 network, uncorrelated and "
               "correlated residual matching)")


def fast_model(model: str) -> str | None:
    """The fast model shipped beside ``model`` (``"d5"`` -> ``"d5-fast"``), or ``None``."""
    from qplane.decoder.model_store import shipped_models

    name = f"{model}-fast"
    return name if name in shipped_models() else None


def compile_fast(name: str, dem) -> dict[str, Any]:
    """The fast model as the loop runs it (ONNX int8, one thread, CPU), both matchers."""
    from qplane.decoder.neural import NeuralDecoder

    return {row: NeuralDecoder(model=name, device="cpu", correlated=correlated, backend="onnx",
                               precision="int8", threads=1).compile_decoder_for_dem(dem=dem)
            for row, correlated in zip(FAST_DECODERS, (False, True))}


def decode_fast(compiled: dict[str, Any], events, truth) -> dict[str, dict[str, Any]]:
    """Failures (bool per shot) and residual events of the fast rows on one shot set.

    The network runs once (both rows' int8 networks are the same graph on the same DEM); each
    row applies its own card rule and matcher.
    """
    import numpy as np

    logits = compiled[FAST_DECODERS[0]].site_logits(events)
    out = {}
    for row, decoder in compiled.items():
        pred, residual = decoder.decode_from_logits(events, logits)
        out[row] = {"fail": np.any(pred != truth, axis=1), "residual": int(residual.sum())}
    return out


def _pooled(comparisons: list[dict], a: str, b: str, distance: int) -> dict[str, Any] | None:
    """``a`` against ``b`` at ``distance``, every noise strength pooled (disjoint shots, so the
    discordant counts add), and whether any single strength or the pool shows a loss."""
    from qplane.bench.decoder import mcnemar

    rows = [c for c in comparisons
            if c["distance"] == distance and (c["a"], c["b"]) == (a, b)]
    if not rows:
        return None
    sums = {k: sum(c[k] for c in rows) for k in ("errors_a", "errors_b", "only_a_wrong",
                                                   "only_b_wrong")}
    p = mcnemar(sums["only_a_wrong"], sums["only_b_wrong"])

    def loss(only_a: int, only_b: int) -> bool:
        return only_a > only_b and mcnemar(only_a, only_b) < ALPHA

    lost_at = [c["p"] for c in rows if loss(c["only_a_wrong"], c["only_b_wrong"])]
    return {"errors": [sums["errors_a"], sums["errors_b"]],
            "discordant": [sums["only_a_wrong"], sums["only_b_wrong"]], "mcnemar_p": p,
            "ratio": sums["errors_b"] / sums["errors_a"] if sums["errors_a"] else None,
            "loss_pooled": loss(sums["only_a_wrong"], sums["only_b_wrong"]),
            "loss_at_p": lost_at}


def cost_target(comparisons: list[dict], timing: dict | None) -> dict[str, Any] | None:
    """The cost target judged on the shipped fast model, or ``None`` when the bench has no
    fast rows at :data:`COST_DISTANCE` (no fast model shipped, or that distance not run)."""
    row = (timing or {}).get(str(COST_DISTANCE), {}).get(FAST_TIMING_KEY)
    pooled = {a: _pooled(comparisons, a, b, COST_DISTANCE) for a, b in FAST_PAIRS[:2]}
    if row is None or any(v is None for v in pooled.values()):
        return None
    cpu = row.get("network_cpu_us_per_shot", row["network_us_per_shot"])
    no_loss = all(not v["loss_pooled"] and not v["loss_at_p"] for v in pooled.values())
    parts = [f"{cpu:.1f} us CPU ({row['network_us_per_shot']:.1f} wall)"]
    for (a, b), v in zip(FAST_PAIRS, pooled.values()):
        parts.append(f"{a} vs {b} {v['errors'][0]} / {v['errors'][1]} errors, discordant "
                     f"{v['discordant'][0]} / {v['discordant'][1]}, McNemar p "
                     f"{v['mcnemar_p']:.2g}" + (f", loss at p = {v['loss_at_p']}"
                                                 if v["loss_at_p"] else ""))
    return {"target": COST_TARGET, "best": FAST_TIMING_KEY, "us_per_shot": cpu,
            "wall_us_per_shot": row["network_us_per_shot"], "pooled": pooled,
            "cost_met": bool(cpu <= COST_US), "no_loss": bool(no_loss),
            "detail": "; ".join(parts), "met": bool(cpu <= COST_US and no_loss)}


def network_cost_target(comparisons: list[dict], timing: dict | None, *,
                        int8_ok: bool) -> dict[str, Any] | None:
    """The cost target row: :func:`cost_target` where the bench has fast rows at d = 5, else
    the fastest of the shipped network's backends (int8 only where ``int8_ok``: its own LER
    check against fp32 passed), or ``None`` without d = 5 timings."""
    fast = cost_target(comparisons, timing)
    if fast is not None or timing is None or str(COST_DISTANCE) not in timing:
        return fast
    net = {k: v["network_us_per_shot"] for k, v in timing[str(COST_DISTANCE)].items()
           if k.startswith("network ") and k.endswith("threads1")}
    usable = {k: v for k, v in net.items() if int8_ok or "int8" not in k}
    if not usable:
        return None
    best = min(usable, key=usable.get)
    return {"target": "network <= 100 us per shot at d=5 on one core with no significant LER "
                      "loss", "best": best, "us_per_shot": usable[best],
            "detail": f"{best}: {usable[best]:.1f} us (no fast model shipped)",
            "met": bool(usable[best] <= COST_US)}
