"""The learned noise of a run against its nominal model: per model, per stabilizer, over time.

For each model in ``/noise/models`` (:attr:`qplane.runfile.Run.noise_models`), the detection
probability every detector would have under the learned model and under the nominal one
(:func:`qplane.noise.compare.detector_flip_rates` — an XOR over the mechanisms that flip it);
their ratio says where the device is worse than its model. Detectors are grouped by stabilizer
(the detector's ``x, y`` coordinates in the recorded circuit), so each stabilizer gets one
learned-over-nominal ratio per model, i.e. over time.

>>> import os
>>> from qplane.runfile import open_run
>>> here = os.path.dirname(os.path.abspath(__file__))
>>> with open_run(os.path.join(here, "..", "..", "tests", "data", "run_v3.h5")) as run:
...     n = noise_summary(run)
>>> len(n["models"]), sorted(n["models"][0])[:3]
(1, ['estimator', 'hash', 'kept_nominal'])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qplane.runfile import Run

#: Stabilizers listed per run, worst first.
WORST = 5


def noise_summary(run: Run) -> dict[str, Any]:
    """Every learned model's detection rates against nominal, overall and per stabilizer."""
    from qplane.noise import detector_flip_rates, symptom_probabilities

    from qplane.analysis.gain import live_gain

    models = run.noise_models
    out: dict[str, Any] = {"models": [], "stabilizers": []}
    if not models:
        return out
    try:
        out["gain"] = live_gain(run)
    except Exception:  # noqa: BLE001 - a run whose blocks cannot be decoded again: no gain
        out["gain"] = None
    table = run.noise_table
    try:
        coords = run.detector_coordinates()
        keys = [f"({x:g}, {y:g})" if np.isfinite(x) else "?"
                for x, y in zip(coords["x"], coords["y"])]
    except Exception:  # noqa: BLE001 - no circuit: detectors without places
        keys = ["?"] * run.num_detectors
    nominal_rates: dict[str, np.ndarray] = {}
    per_stab: dict[str, list[float]] = {}
    for m, (_, row) in zip(models, table.iterrows()):
        nd = m.structure.num_detectors
        if m.nominal_hash not in nominal_rates:
            nominal_rates[m.nominal_hash] = detector_flip_rates(
                symptom_probabilities(m.structure.to_dem(m.structure.nominal)), nd)
        nom = nominal_rates[m.nominal_hash]
        learned = detector_flip_rates(symptom_probabilities(m.to_dem()), nd)
        ratio = learned / np.maximum(nom, 1e-300)
        out["models"].append({
            "time": float(row["t"]), "worker": row["worker"], "version": int(m.version),
            "hash": m.hash, "estimator": m.estimator, "shots": int(m.shots),
            "kept_nominal": int(m.kept_nominal), "nominal_detection_rate": float(nom.mean()),
            "learned_detection_rate": float(learned.mean()),
            "worst_ratio": float(ratio.max())})
        for key in set(keys):
            sel = np.array([k == key for k in keys[:nd]])
            per_stab.setdefault(key, []).append(float(ratio[sel].mean()) if sel.any() else np.nan)
    last = {k: v[-1] for k, v in per_stab.items()}
    for key in sorted(last, key=lambda k: -last[k])[:WORST]:
        out["stabilizers"].append({"stabilizer": key, "last_ratio": last[key],
                                   "over_time": per_stab[key]})
    return out
