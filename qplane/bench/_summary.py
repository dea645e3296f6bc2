"""The results file of ``qplane bench device_noise``: the targets measured from its cases
(:func:`summarise`), and adding a later run's rows to it (:func:`add_rows`)."""

from __future__ import annotations

from typing import Any

from qplane.bench._estimators import ALL_ESTIMATORS, ESTIMATORS
from qplane.bench._soft_rows import summarise_soft


def summarise(cases: list[dict[str, Any]], timing: dict[str, Any]) -> dict[str, Any]:
    """The targets, measured: per distance the miscalibrated device's gains over nominal
    uncorrelated PyMatching (both bases pooled) for every learned model and shot count, the
    nominal and true DEMs; each learned-from-30k decoder's LER over the true DEM's with the same
    matcher, and the worst of them per estimator and matcher; ``neural-soft`` with each learned
    DEM against correlated PyMatching with the same DEM, per device and distance
    (:func:`~qplane.bench._soft_rows.summarise_soft`)."""
    def pooled(device, d, label, matcher):
        k = n = 0
        for c in cases:
            if c["device"] == device and c["distance"] == d:
                for r in c["rows"]:
                    if r["matcher"] == matcher and r["weights"] == label:
                        k, n = k + r["errors"], n + r["shots"]
        return k / n if n else None

    out: dict[str, Any] = {}
    estimators = tuple(sorted({r["estimator"] for c in cases for r in c["rows"]
                               if r.get("estimator")}))
    train = sorted({r["train_shots"] for c in cases for r in c["rows"] if r.get("train_shots")})
    for d in sorted({c["distance"] for c in cases}):
        nom = pooled("miscalibrated", d, "nominal", "pymatching")
        labels = ["nominal", "true"] + [f"learned-{e}-{n // 1000}k" for e in estimators
                                        for n in train]
        for label in labels:
            corr = pooled("miscalibrated", d, label, "pymatching-correlated")
            if nom and corr:
                name = label.replace("learned-", "")   # pairwise-30k -> pairwise_30k
                name = "_".join(name.rsplit("-", 1)) if name.startswith(estimators) else name
                out[f"miscalibrated_d{d}_correlated_{name}_gain"] = nom / corr
    within: dict[str, float] = {}
    worst: dict[str, float] = {}
    for c in cases:
        for r in c["rows"]:
            if r.get("train_shots") == 30_000:
                key = f"{c['device']}/d{c['distance']}/{c['basis']}/{r['decoder']}"
                within[key] = r["ler_over_true"]
                w = f"{r['matcher']}/{r['estimator']}"
                worst[w] = max(worst.get(w, 0.0), r["ler_over_true"])
    out["learned_30k_over_true"] = within
    out["learned_30k_over_true_worst"] = worst
    out["estimator_s_per_1m_d5"] = {e: timing[e]["s_per_1m"] for e in ESTIMATORS if e in timing}
    soft = summarise_soft(cases)
    if soft:
        out["neural_soft_vs_correlated_learned"] = soft
    return out



def add_rows(base: dict[str, Any], new: dict[str, Any],
             relabel: dict[str, str] | None = None) -> dict[str, Any]:
    """``base`` with the rows of ``new``'s cases it lacks added to its matching cases.

    A case matches on device, distance and basis, and must have decoded the same test shots:
    its ``pymatching/nominal`` and ``*/true`` rows must give the same errors in both (the
    shots come from fixed seeds, so they do when the settings agree). The estimators and
    training shot counts become the union; the targets are summarised again. ``relabel``
    (``{old: new}``): first the file's rows of estimator ``old`` are renamed estimator ``new``
    (an estimator whose default changed: its earlier rows keep what they measured under the
    name that says so, and the rerun rows take the name).
    """
    out = dict(base)
    index = {(c["device"], c["distance"], c["basis"]): c for c in base.get("cases", [])}
    cases = [dict(c, rows=[_relabelled(r, relabel or {}) for r in c["rows"]])
             for c in base.get("cases", [])]
    by_key = {(c["device"], c["distance"], c["basis"]): c for c in cases}
    for c in new.get("cases", []):
        key = (c["device"], c["distance"], c["basis"])
        if key not in index:
            raise SystemExit(f"--add-to: the file has no case {key}; run it in full instead")
        have = {r["decoder"]: r for r in by_key[key]["rows"]}
        for ref in ("pymatching/nominal", "pymatching/true", "pymatching-correlated/true"):
            theirs = next((r for r in c["rows"] if r["decoder"] == ref), None)
            if theirs is None or ref not in have or theirs["errors"] != have[ref]["errors"]:
                raise SystemExit(f"--add-to: case {key} decoded other shots than the file's "
                                 f"({ref} differs); use the file's --shots and --seed")
        by_key[key]["rows"] += [r for r in c["rows"] if r["decoder"] not in have]
    out["cases"] = cases
    if new.get("soft_shots"):
        out["soft_shots"] = new["soft_shots"]
    relabel = relabel or {}
    old = [relabel.get(e, e) for e in base.get("estimators", [])]
    out["estimators"] = sorted({*old, *relabel, *new.get("estimators", [])},
                               key=lambda e: ALL_ESTIMATORS.index(e))
    out["added"] = [*base.get("added", []), {"estimators": new.get("estimators"),
                                             "train_shots": new.get("train_shots"),
                                             "cases": len(new.get("cases", [])),
                                             "seconds": new.get("seconds"),
                                             **({"relabelled": relabel} if relabel else {})}]
    out["measured"] = summarise(cases, base.get("estimator_timing") or {})
    out.pop("written", None)
    return out


def _relabelled(row: dict[str, Any], relabel: dict[str, str]) -> dict[str, Any]:
    """``row`` with its estimator renamed by ``relabel`` (its decoder and weights labels too)."""
    est = row.get("estimator")
    if est not in relabel:
        return row
    old, new = f"learned-{est}-", f"learned-{relabel[est]}-"
    return dict(row, estimator=relabel[est],
                weights=row["weights"].replace(old, new, 1),
                decoder=row["decoder"].replace(old, new, 1))


def load_results(path: str) -> dict[str, Any]:
    """A results file's contents, or ``{}`` when there is none (or it is not JSON)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}

