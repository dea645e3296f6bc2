"""The noise estimators ``qplane bench device_noise`` learns with: their bench names, the
``learn_noise`` options of each, and their time per 1M shots."""

from __future__ import annotations

import math
import time
from typing import Any

from qplane.bench._devices import NOMINAL_P

TRAIN = (10_000, 30_000, 100_000, 1_000_000)
ESTIMATORS = ("pairwise", "full", "hybrid")
#: every estimator the bench can run: ``full-plain`` is the full estimator without its
#: shrinkage towards the pairwise solution (the least-squares fit alone), for comparison;
#: ``full-normal`` / ``hybrid-normal`` shrink with the one-scale normal prior (the default
#: before the two-scale mixture, ``prior="normal"``)
ALL_ESTIMATORS = ("pairwise", "full", "hybrid", "full-plain", "full-normal", "hybrid-normal")


def estimator_options(name: str) -> dict[str, Any]:
    """``learn_noise`` keywords of a bench estimator name.

    >>> estimator_options("full-plain"), estimator_options("hybrid-normal")
    ({'estimator': 'full', 'shrink': False}, {'estimator': 'hybrid', 'prior': 'normal'})
    """
    if name == "full-plain":
        return {"estimator": "full", "shrink": False}
    if name.endswith("-normal"):
        return {"estimator": name[: -len("-normal")], "prior": "normal"}
    return {"estimator": name}


def time_estimator(distance: int = 5, shots: int = 1_000_000, repeats: int = 3) -> dict[str, Any]:
    """Seconds per ``shots`` shots of each estimator at ``distance`` (one core, best of
    ``repeats``, the nominal structure cached; ``first_call_s``: building it included)."""
    from qplane.codes import memory_circuit
    from qplane.noise import DemStructure, learn_noise, nominal_dem

    dem = nominal_dem(memory_circuit(distance=distance, rounds=distance, basis="Z", p=NOMINAL_P))
    dets = dem.compile_sampler(seed=1).sample(shots, bit_packed=True)[0]
    out: dict[str, Any] = {"distance": distance, "shots": shots}
    for est in ESTIMATORS:
        t0 = time.perf_counter()
        s = DemStructure(dem)
        learn_noise(dets, s, estimator=est)
        first = time.perf_counter() - t0
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            learn_noise(dets, s, estimator=est)
            best = min(best, time.perf_counter() - t0)
        out[est] = {"s_per_1m": best * 1e6 / shots, "first_call_s_per_1m": first * 1e6 / shots}
    return out

