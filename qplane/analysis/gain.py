"""What the applied decoder gained: the recorded blocks decoded again by reference decoders.

The shadow decoder of a run counts only how often plain PyMatching with the nominal model
*disagrees* with the decoder that was applied; which of the two was right needs the truth. A
run file with truth (a simulated lab, or any memory experiment: the observable flips are known)
holds everything to settle it: each corrected block's detection events, the predictions that
were applied and the true flips. :func:`reference_decodings` decodes recorded blocks again with
reference decoders (one compiled decoder per block, e.g. the nominal model, or an oracle with a
simulated device's true noise at the block's time) and counts, per time window and overall,
the applied decoder's failures against each reference's on *the same shots*, with McNemar's
exact test (the shots where exactly one of the two failed split 50/50 under equal rates).

:func:`live_gain` is the *live gain* of a run with ``weights: learned``: the run's own matcher
with the nominal model (what decoding started from, and the shadow's model) against what was
applied, on a bounded, evenly spread sample of the corrected blocks; ``gain`` is the nominal
reference's logical error rate over the applied one (above 1: learning helped).
:class:`LiveGainTracker` computes the same incrementally for the dashboard (each refresh
decodes only blocks it has not seen, at most ``max_blocks_per_update`` of them).

>>> r = paired_counts(np.array([1, 0, 1, 0], bool), np.array([1, 1, 0, 0], bool))
>>> r["both"], r["only_a"], r["only_b"]
(1, 1, 1)
>>> round(mcnemar_p(10, 30), 4)
0.0022
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from qplane.errors import QplaneError

#: Matchers whose nominal twin is the same matcher with the nominal model; anything else (a
#: neural decoder) is compared with the shadow's model, plain PyMatching nominal.
_SAME_MATCHER = ("pymatching", "pymatching-correlated")


def paired_counts(wrong_a: np.ndarray, wrong_b: np.ndarray) -> dict[str, int]:
    """Shots where both, only ``a`` or only ``b`` failed, and the shots compared."""
    a, b = np.asarray(wrong_a, bool), np.asarray(wrong_b, bool)
    return {"shots": int(a.size), "both": int(np.sum(a & b)), "only_a": int(np.sum(a & ~b)),
            "only_b": int(np.sum(b & ~a))}


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts (1.0 when there are none)."""
    import scipy.stats

    n = int(only_a) + int(only_b)
    return 1.0 if n == 0 else float(scipy.stats.binomtest(int(only_a), n, 0.5).pvalue)


def _wrong(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.any(np.asarray(pred) != np.asarray(truth), axis=1)


def _summary(counts: dict[str, int], name: str) -> dict[str, Any]:
    """Rates, ratio and test of the applied decoder (``a``) against reference ``name``."""
    n = max(counts["shots"], 1)
    applied = (counts["both"] + counts["only_a"]) / n
    ref = (counts["both"] + counts["only_b"]) / n
    return {"reference": name, **counts, "ler_applied": applied, f"ler_{name}": ref,
            "reference_over_applied": ref / applied if applied > 0 else math.nan,
            "applied_over_reference": applied / ref if ref > 0 else math.nan,
            "mcnemar_p": mcnemar_p(counts["only_a"], counts["only_b"])}


def applied_blocks(run) -> dict[str, np.ndarray]:
    """Columns of the corrected blocks: seq, block_index, circuit_id, shot_start, shots,
    t_acquired and noise_version (0 where the run has none), in acquisition order."""
    table = run.blocks
    table = table[table["applied"]].sort_values("shot_start")
    out = {k: table[k].to_numpy() for k in ("seq", "block_index", "shot_start", "shots",
                                            "t_acquired")}
    out["circuit_id"] = np.array([str(c) for c in table["circuit_id"]], dtype=object)
    out["noise_version"] = (table["noise_version"].to_numpy() if "noise_version" in table
                            else np.zeros(len(table), np.int64))
    return out


def reference_decodings(run, references: Mapping[str, Callable[[dict[str, Any]], Any]], *,
                        rows: np.ndarray | None = None, windows: int = 12) -> dict[str, Any]:
    """Decode recorded blocks again with reference decoders; compare with what was applied.

    Args:
        run: an open run with truth (:func:`qplane.runfile.open_run`).
        references: name -> a function of a block (a dict of its :func:`applied_blocks`
            columns) returning the compiled decoder (sinter's ``CompiledDecoder``) to decode it
            with; it is called once per block, so it should cache its decoders.
        rows: positions in :func:`applied_blocks` to decode (default: every corrected block).
        windows: equal time windows (by ``t_acquired``) of the per-window rates.

    Returns:
        ``{"blocks", "shots", "overall": {name: summary}, "per_window": [...]}``; each summary
        has the counts (``both``, ``only_a``: only the applied decoder failed, ``only_b``: only
        the reference), both rates, their ratios and McNemar's p.
    """
    if not run.simulated:
        raise QplaneError(f"{run.path}: no truth recorded, so no logical error rate to compare; "
                          "use a simulated run or a memory experiment with recorded truth")
    blocks = applied_blocks(run)
    rows = np.arange(len(blocks["seq"])) if rows is None else np.asarray(rows, dtype=np.intp)
    if len(rows) == 0:
        return {"blocks": 0, "shots": 0, "overall": {}, "per_window": []}
    t = blocks["t_acquired"][rows]
    edges = np.linspace(t.min(), t.max() + 1e-9, max(1, windows) + 1)
    window_of = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, max(1, windows) - 1)
    per: dict[int, dict[str, dict[str, int]]] = {}
    total = {name: {"shots": 0, "both": 0, "only_a": 0, "only_b": 0} for name in references}
    for k, r in enumerate(rows):
        block = {key: values[r] for key, values in blocks.items()}
        start, stop = int(block["shot_start"]), int(block["shot_start"] + block["shots"])
        dets = run.read_shots("detection_events", start, stop)
        wrong_applied = _wrong(run.read_shots("predictions", start, stop),
                               truth := run.read_shots("truth", start, stop))
        for name, compiled_for in references.items():
            pred = compiled_for(block).decode_shots_bit_packed(
                bit_packed_detection_event_data=dets)
            c = paired_counts(wrong_applied, _wrong(pred, truth))
            w = per.setdefault(int(window_of[k]), {}).setdefault(
                name, {"shots": 0, "both": 0, "only_a": 0, "only_b": 0})
            for key in c:
                w[key] += c[key]
                total[name][key] += c[key]
    per_window = []
    for w in sorted(per):
        row: dict[str, Any] = {"window": w, "t_start": float(edges[w] - edges[0]),
                               "shots": next(iter(per[w].values()))["shots"]}
        for name, c in per[w].items():
            s = _summary(c, name)
            row["ler_applied"] = s["ler_applied"]
            row[f"ler_{name}"] = s[f"ler_{name}"]
        per_window.append(row)
    return {"blocks": int(len(rows)), "shots": int(blocks["shots"][rows].sum()),
            "overall": {name: _summary(c, name) for name, c in total.items()},
            "per_window": per_window}


def nominal_reference(run) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """The run's nominal reference: its matcher (or the shadow's, for a neural decoder) with
    the nominal model of each block's recorded circuit; returns ``(label, compiled_for)``."""
    from qplane.decoder import make_decoder

    name = run.decoder if run.decoder in _SAME_MATCHER else "pymatching"
    decoder = make_decoder(name)
    cache: dict[str, Any] = {}

    def compiled_for(block: Mapping[str, Any]) -> Any:
        cid = str(block["circuit_id"])
        if cid not in cache:
            dem = run.circuit(cid).detector_error_model(decompose_errors=True)
            cache[cid] = decoder.compile_decoder_for_dem(dem=dem)
        return cache[cid]

    return f"{name} nominal", compiled_for


def _spread(n: int, most: int) -> np.ndarray:
    """At most ``most`` positions of ``range(n)``, evenly spread, first and last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.intp))


def live_gain(run, *, max_blocks: int = 200, windows: int = 6) -> dict[str, Any] | None:
    """The gain of learned weights over the nominal model, on a sample of the recorded blocks.

    None when the run has no learned model (nothing to gain) or no truth. Otherwise the
    :func:`reference_decodings` summary against the nominal reference, with ``label`` (which
    reference), ``gain`` (nominal LER / applied LER), ``learned_blocks`` (the sampled blocks
    decoded with a learned model) and the per-window rates.
    """
    if "noise_version" not in run.blocks or not run.simulated:
        return None
    blocks = applied_blocks(run)
    if not np.any(blocks["noise_version"] > 0):
        return None
    label, compiled_for = nominal_reference(run)
    rows = _spread(len(blocks["seq"]), max_blocks)
    out = reference_decodings(run, {"nominal": compiled_for}, rows=rows, windows=windows)
    s = out["overall"]["nominal"]
    return {"label": label, "blocks": out["blocks"], "shots": out["shots"],
            "learned_blocks": int(np.sum(blocks["noise_version"][rows] > 0)),
            "ler_applied": s["ler_applied"], "ler_nominal": s["ler_nominal"],
            "gain": s["reference_over_applied"], "only_applied_wrong": s["only_a"],
            "only_nominal_wrong": s["only_b"], "mcnemar_p": s["mcnemar_p"],
            "per_window": out["per_window"]}


class LiveGainTracker:
    """:func:`live_gain` kept up to date as a run file grows (the dashboard's source).

    Each :meth:`update` decodes, with the nominal reference, the corrected blocks it has not
    seen yet that were decoded with a learned model (at most ``max_blocks_per_update`` of them,
    the newest first skipped to later updates), and adds their counts.

    Args:
        max_blocks_per_update: bounds the work of one update.
    """

    def __init__(self, *, max_blocks_per_update: int = 20):
        self.max_blocks_per_update = int(max_blocks_per_update)
        self.counts = {"shots": 0, "both": 0, "only_a": 0, "only_b": 0}
        self.blocks = 0
        self._done: set[int] = set()
        self._reference: tuple[str, Callable] | None = None

    def update(self, run) -> dict[str, Any] | None:
        """Add the new learned blocks of ``run``; the gain so far (None before any)."""
        if "noise_version" not in run.blocks or not run.simulated:
            return self.summary()
        blocks = applied_blocks(run)
        new = [i for i in np.flatnonzero(blocks["noise_version"] > 0)
               if int(blocks["seq"][i]) not in self._done][: self.max_blocks_per_update]
        if not new:
            return self.summary()
        if self._reference is None:
            self._reference = nominal_reference(run)
        out = reference_decodings(run, {"nominal": self._reference[1]}, rows=np.array(new),
                                  windows=1)
        c = out["overall"]["nominal"]
        for key in self.counts:
            self.counts[key] += c[key]
        self.blocks += len(new)
        self._done.update(int(blocks["seq"][i]) for i in new)
        return self.summary()

    def summary(self) -> dict[str, Any] | None:
        """The gain so far, as :func:`live_gain` reports it (no per-window rates)."""
        if not self.blocks or self._reference is None:
            return None
        s = _summary(self.counts, "nominal")
        return {"label": self._reference[0], "blocks": self.blocks, "shots": s["shots"],
                "ler_applied": s["ler_applied"], "ler_nominal": s["ler_nominal"],
                "gain": s["reference_over_applied"], "only_applied_wrong": s["only_a"],
                "only_nominal_wrong": s["only_b"], "mcnemar_p": s["mcnemar_p"]}
