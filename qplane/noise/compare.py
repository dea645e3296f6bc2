"""Comparing two noise models mechanism by mechanism, whatever their order or decomposition.

Two detector error models are compared on their *symptoms*: each mechanism's detectors (the XOR
of its components) and observables. Mechanisms with the same symptom are merged (their
probabilities XOR-combine), so a learned model, the nominal one and a device's true model (a
circuit with other noise channels, another decomposition) line up.

>>> import stim
>>> a = stim.DetectorErrorModel("error(0.01) D0 D1\\nerror(0.02) D1 L0")
>>> b = stim.DetectorErrorModel("error(0.02) D0 D1\\nerror(0.02) D1 L0\\nerror(0.001) D0")
>>> c = compare_models(a, b)
>>> c["common"], c["only_b"], round(c["ratio_b_over_a"]["max"], 3)
(2, 1, 2.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import stim

from qplane.noise.structure import DemStructure, p_of_q, q_of_p


def symptom_probabilities(dem: stim.DetectorErrorModel) -> dict[tuple, float]:
    """``(detectors, observables) -> probability`` of every symptom of ``dem`` (merged)."""
    s = DemStructure(dem)
    q: dict[tuple, float] = {}
    for parts, p in zip(s.components, s.nominal):
        dets: set[int] = set()
        obs: set[int] = set()
        for d, o in parts:
            dets ^= set(d)
            obs ^= set(o)
        key = (tuple(sorted(dets)), tuple(sorted(obs)))
        q[key] = q.get(key, 0.0) + float(q_of_p(min(p, 0.4999)))
    return {k: float(p_of_q(v)) for k, v in q.items()}


def compare_models(a: stim.DetectorErrorModel, b: stim.DetectorErrorModel) -> dict[str, Any]:
    """How far model ``b`` is from model ``a``: ratios of the common symptoms' probabilities,
    symptoms only one has, total probability and per-detector flip rates."""
    pa, pb = symptom_probabilities(a), symptom_probabilities(b)
    common = sorted(set(pa) & set(pb))
    ra = np.array([pa[k] for k in common])
    rb = np.array([pb[k] for k in common])
    ratio = rb / np.maximum(ra, 1e-300) if len(common) else np.ones(0)
    out: dict[str, Any] = {
        "common": len(common), "only_a": len(set(pa) - set(pb)), "only_b": len(set(pb) - set(pa)),
        "total_probability": {"a": float(sum(pa.values())), "b": float(sum(pb.values()))},
    }
    if len(ratio):
        out["ratio_b_over_a"] = {"min": float(ratio.min()), "p05": float(np.quantile(ratio, 0.05)),
                                 "median": float(np.median(ratio)),
                                 "p95": float(np.quantile(ratio, 0.95)),
                                 "max": float(ratio.max())}
        out["mean_abs_log_ratio"] = float(np.mean(np.abs(np.log(ratio))))
        order = np.argsort(-np.abs(np.log(ratio)))[:5]
        out["most_changed"] = [{"detectors": list(common[i][0]), "observables": list(common[i][1]),
                                "a": float(ra[i]), "b": float(rb[i])} for i in order]
    out["detector_rates"] = detector_rates_ratio(pa, pb, max(a.num_detectors, b.num_detectors))
    return out


def detector_flip_rates(p: dict[tuple, float], num_detectors: int) -> np.ndarray:
    """Each detector's detection probability under a symptom model (XOR of what flips it)."""
    q = np.zeros(num_detectors)
    for (dets, _), v in p.items():
        for d in dets:
            q[d] += q_of_p(min(v, 0.4999))
    return p_of_q(q)


def detector_rates_ratio(pa: dict[tuple, float], pb: dict[tuple, float],
                         num_detectors: int) -> dict[str, float]:
    ra, rb = detector_flip_rates(pa, num_detectors), detector_flip_rates(pb, num_detectors)
    r = rb / np.maximum(ra, 1e-300)
    return {"mean_a": float(ra.mean()), "mean_b": float(rb.mean()),
            "median_ratio": float(np.median(r)), "max_ratio": float(r.max()),
            "min_ratio": float(r.min())}
