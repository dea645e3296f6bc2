"""Derived quantities of a run, each with its statistics.

Every function takes an open :class:`~qplane.runfile.reader.Run` and returns a pandas or xarray
object; rates come with a binomial confidence interval (Wilson score, :func:`wilson_interval`).
Only corrected blocks (``applied``) count towards logical error and latency.

>>> lo, hi = wilson_interval(5, 100)
>>> round(float(lo), 4), round(float(hi), 4)
(0.0215, 0.1118)
>>> wilson_interval(0, 0)
(nan, nan)
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from qplane.errors import QplaneError

#: Rows of a shot dataset read at once when streaming through a file.
CHUNK_SHOTS = 1 << 20


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise QplaneError(f"confidence must lie in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(k: Any, n: Any, confidence: float = 0.95) -> tuple[Any, Any]:
    """Wilson score interval of the binomial rate ``k / n``, elementwise.

    qplane's one Wilson interval (the reports, the live view and the benchmarks all use it);
    it agrees with ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``, including
    the ends: the lower bound is exactly 0 at ``k == 0`` and the upper exactly 1 at ``k == n``.

    Args:
        k: successes (here: failures or disagreements), scalar or array.
        n: trials (shots), same shape; where ``n == 0`` the interval is ``(nan, nan)``.
        confidence: two-sided coverage, 0.95 by default.

    Returns:
        ``(lower, upper)``, floats for scalar input, arrays otherwise.

    >>> lo, hi = wilson_interval(np.array([0, 10]), np.array([1000, 1000]))
    >>> [round(float(x), 5) for x in lo], [round(float(x), 5) for x in hi]
    ([0.0, 0.00544], [0.00383, 0.01831])
    >>> wilson_interval(0, 10)[0], wilson_interval(10, 10)[1]
    (0.0, 1.0)
    """
    z = _z(confidence)
    k_arr = np.asarray(k, dtype="f8")
    n_arr = np.asarray(n, dtype="f8")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        denom = 1 + z * z / n_arr
        centre = (p + z * z / (2 * n_arr)) / denom
        half = z * np.sqrt(p * (1 - p) / n_arr + z * z / (4 * n_arr * n_arr)) / denom
        # at k == 0 (k == n) the bound is 0 (1) exactly; the formula leaves rounding dust there
        lower = np.where(k_arr <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        upper = np.where(k_arr >= n_arr, 1.0, np.clip(centre + half, 0.0, 1.0))
        lower = np.where(n_arr > 0, lower, np.nan)
        upper = np.where(n_arr > 0, upper, np.nan)
    if lower.ndim == 0:
        return float(lower), float(upper)
    return lower, upper


def rate_with_interval(k: int, n: int, confidence: float = 0.95) -> dict[str, float]:
    """``{"k", "n", "rate", "lower", "upper"}`` for one binomial count.

    >>> r = rate_with_interval(3, 1000)
    >>> r["rate"], round(r["upper"], 4)
    (0.003, 0.0088)
    """
    lower, upper = wilson_interval(k, n, confidence)
    return {"k": int(k), "n": int(n), "rate": (k / n) if n else math.nan,
            "lower": lower, "upper": upper}


# -- logical error rate -----------------------------------------------------------------------


def _applied(run, *fields: str) -> dict[str, np.ndarray]:
    """Columns ``fields`` of the corrected blocks (fast path, no DataFrame)."""
    cols = run.block_columns("applied", *fields)
    keep = cols.pop("applied")
    return {name: values[keep] for name, values in cols.items()}


def failures_per_block(run, *, source: str = "blocks") -> pd.Series:
    """Logical failures of each corrected block, indexed by block index.

    Args:
        source: ``"blocks"``: the failure count the instrument scored (``/qec/blocks``);
            ``"shots"``: recomputed shot by shot from the corrections applied (the
            predictions) against ``/qec/truth`` (streams both datasets; the two must agree).
    """
    if source not in ("blocks", "shots"):
        raise QplaneError(f"source must be 'blocks' or 'shots', got {source!r}")
    cols = _applied(run, "block_index", "shot_start", "shots", "failures")
    index = pd.Index(cols["block_index"], name="block")
    if source == "blocks":
        return pd.Series(cols["failures"], index=index, name="failures")
    return pd.Series(_recount_failures(run, cols["shot_start"], cols["shots"]), index=index,
                     name="failures")


def _recount_failures(run, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Failures of the blocks at shot rows [start, start + size), from corrections vs truth."""
    total = int((starts + sizes).max()) if len(starts) else 0
    cumulative = np.zeros(total + 1, dtype=np.int64)
    for start in range(0, total, CHUNK_SHOTS):
        stop = min(total, start + CHUNK_SHOTS)
        corr = run.read_shots("corrections", start, stop)
        truth = run.read_shots("truth", start, stop)
        if corr.shape[1] == 1:
            wrong = corr[:, 0] != truth[:, 0]
        else:
            wrong = np.any(corr != truth, axis=1)
        cumulative[start + 1:stop + 1] = np.cumsum(wrong) + cumulative[start]
    return cumulative[starts + sizes] - cumulative[starts]


def _time_windows(t: np.ndarray, window_s: float | None, windows: int) -> np.ndarray:
    """Window number of each time in ``t``: fixed ``window_s`` wide, or ``windows`` equal ones."""
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    t0, t1 = float(np.min(t)), float(np.max(t))
    if window_s is None:
        window_s = max((t1 - t0) / max(1, windows), 1e-9)
        n = max(1, windows)
    else:
        if window_s <= 0:
            raise QplaneError(f"window_s must be positive, got {window_s}")
        n = int(math.floor((t1 - t0) / window_s)) + 1
    return np.minimum(((t - t0) / window_s).astype(np.int64), n - 1)


def windowed_rate(t: np.ndarray, k: np.ndarray, n: np.ndarray, *, window_s: float | None = None,
                  windows: int = 30, confidence: float = 0.95) -> pd.DataFrame:
    """Sum counts ``k`` of ``n`` trials stamped at times ``t`` into time windows, with Wilson CIs.

    Returns:
        One row per non-empty window: ``time`` (UTC datetime of ``t_start``), ``t_start``,
        ``t_end`` (first and last time in it), ``items``, ``n``, ``k``, ``rate``, ``lower``,
        ``upper``.

    >>> df = windowed_rate(np.array([0., 1, 2, 3]), np.array([1, 0, 2, 0]), np.array([10] * 4),
    ...                    window_s=2.0)
    >>> df[["n", "k", "rate"]].to_dict("list")
    {'n': [20, 20], 'k': [1, 2], 'rate': [0.05, 0.1]}
    """
    t = np.asarray(t, dtype="f8")
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    index = _time_windows(t, window_s, windows)
    if len(index) and np.any(np.diff(index) < 0):  # blocks out of time order: sort them
        order = np.argsort(index, kind="stable")
        t, k, n, index = t[order], k[order], n[order], index[order]
    starts = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1]) if len(index) else \
        np.zeros(0, dtype=np.int64)
    if len(starts):
        n_sum = np.add.reduceat(n, starts)
        k_sum = np.add.reduceat(k, starts)
        t_start = np.minimum.reduceat(t, starts)
        t_end = np.maximum.reduceat(t, starts)
        items = np.diff(np.concatenate([starts, [len(index)]]))
    else:
        n_sum = k_sum = items = np.zeros(0, dtype=np.int64)
        t_start = t_end = np.zeros(0)
    keep = n_sum > 0
    n_sum, k_sum, t_start, t_end, items = n_sum[keep], k_sum[keep], t_start[keep], t_end[keep], items[keep]
    lower, upper = wilson_interval(k_sum, n_sum, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k_sum / n_sum
    time_ns = (t_start * 1e9).astype("datetime64[ns]")
    return pd.DataFrame({
        "time": pd.DatetimeIndex(time_ns).tz_localize("UTC"),
        "t_start": t_start, "t_end": t_end, "items": items, "n": n_sum, "k": k_sum,
        "rate": rate, "lower": np.asarray(lower, dtype="f8"), "upper": np.asarray(upper, dtype="f8"),
    })


def logical_error_rate(run, *, window_s: float | None = None, windows: int = 30,
                       source: str = "blocks", confidence: float = 0.95) -> pd.DataFrame:
    """Logical error rate per time window, with its Wilson interval.

    Args:
        run: an open run.
        window_s: window width in seconds; default: the run's span cut into ``windows``.
        source: where failures come from, see :func:`failures_per_block`.
        confidence: of the interval.

    Returns:
        :func:`windowed_rate`'s table, with ``items`` = blocks, ``n`` = shots, ``k`` = failures.
        Empty when the run has no ground truth (not simulated).
    """
    if source not in ("blocks", "shots"):
        raise QplaneError(f"source must be 'blocks' or 'shots', got {source!r}")
    cols = _applied(run, "t_acquired", "shot_start", "shots", "failures")
    if not len(cols["failures"]) or np.any(cols["failures"] < 0):
        return windowed_rate(np.zeros(0), np.zeros(0), np.zeros(0))
    failures = cols["failures"] if source == "blocks" else \
        _recount_failures(run, cols["shot_start"], cols["shots"])
    return windowed_rate(cols["t_acquired"], failures, cols["shots"], window_s=window_s,
                         windows=windows, confidence=confidence)


def overall_logical_error_rate(run, confidence: float = 0.95) -> dict[str, float]:
    """The run's logical error rate over every corrected shot (NaN when not simulated)."""
    cols = _applied(run, "shots", "failures")
    if not len(cols["failures"]) or np.any(cols["failures"] < 0):
        return rate_with_interval(0, 0, confidence)
    return rate_with_interval(int(cols["failures"].sum()), int(cols["shots"].sum()), confidence)


def shadow_disagreement(run, *, window_s: float | None = None, windows: int = 30,
                        confidence: float = 0.95) -> tuple[dict[str, float], pd.DataFrame]:
    """Shadow-decoder disagreement: overall (rate and interval) and per time window."""
    cols = _applied(run, "t_acquired", "shadow_shots", "shadow_disagreements")
    some = cols["shadow_shots"] > 0
    k, n = cols["shadow_disagreements"][some], cols["shadow_shots"][some]
    overall = rate_with_interval(int(k.sum()), int(n.sum()), confidence)
    table = windowed_rate(cols["t_acquired"][some], k, n, window_s=window_s, windows=windows,
                          confidence=confidence)
    return overall, table


# -- latency ------------------------------------------------------------------------------------


#: The stages of a block's path, in order: (key, from field, to field).
LATENCY_STAGES = (("acquired_to_sent", "t_acquired", "t_sent"),
                  ("sent_to_received", "t_sent", "t_received"),
                  ("received_to_decoded", "t_received", "t_decoded"),
                  ("decoded_to_applied", "t_decoded", "t_applied"))


def latency(run) -> dict[str, Any]:
    """Latency of corrected blocks: acquired -> applied (``latency``), inside the decoder
    (``decode``) and per stage of the path (:data:`LATENCY_STAGES`, from schema 2.1; empty
    before); each with count, mean, p50, p90, p99, p99.9 (``p999``) and max in seconds, plus
    the samples."""
    cols = _applied(run, "t_acquired", "t_sent", "t_received", "t_decoded", "t_applied",
                    "decode_seconds")
    for name in ("t_sent", "t_received"):  # 0 or NaN: not measured
        cols[name] = np.where(cols[name] > 0, cols[name], np.nan)
    out: dict[str, Any] = {}
    series = [("latency", cols["t_applied"] - cols["t_acquired"]),
              ("decode", cols["decode_seconds"])]
    series += [(key, cols[b] - cols[a]) for key, a, b in LATENCY_STAGES]
    for key, values in series:
        values = values[np.isfinite(values)]
        if len(values):
            p50, p90, p99, p999 = np.percentile(values, [50, 90, 99, 99.9])
            stats = {"count": len(values), "mean": float(values.mean()), "p50": float(p50),
                     "p90": float(p90), "p99": float(p99), "p999": float(p999),
                     "max": float(values.max())}
        else:
            stats = {"count": 0, **{k: math.nan for k in ("mean", "p50", "p90", "p99", "p999",
                                                          "max")}}
        out[key] = {**stats, "samples": values}
    return out


# -- detection events ---------------------------------------------------------------------------


def detection_statistics(run, *, max_shots: int | None = 2_000_000,
                         windows: int = 40) -> xr.Dataset:
    """Detection-event rates per detector, per stabilizer (over the patch), per block, and per
    stabilizer over time.

    One pass over ``/qec/detection_events``. With ``max_shots``, evenly spaced blocks are read
    until about that many shots (the per-block series then has those blocks only).

    Returns:
        Dataset with ``detector_rate`` (detector; coordinates x, y, t from the stored circuit),
        ``stabilizer_rate`` (stabilizer; coordinates stabilizer_x, stabilizer_y: the mean over
        rounds of the detectors at that place), ``block_rate`` (block; coordinate time: fraction
        of detectors that fired), ``stabilizer_rate_over_time`` (window, stabilizer: the blocks
        read cut into ``windows`` consecutive groups; coordinate window_time, the first block's
        acquisition) and attribute ``shots`` (how many shots the rates are over).
    """
    blocks = run.blocks
    nd = run.num_detectors
    if len(blocks) and max_shots is not None and blocks["shots"].sum() > max_shots:
        stride = int(math.ceil(blocks["shots"].sum() / max_shots))
        blocks = blocks.iloc[::stride]
    nb = len(blocks)
    nw = max(1, min(windows, nb))
    window_of = (np.arange(nb) * nw) // max(nb, 1)
    counts = np.zeros(nd, dtype=np.int64)
    window_counts = np.zeros((nw, nd), dtype=np.int64)
    per_block = np.zeros(nb, dtype=np.int64)
    starts = blocks["shot_start"].to_numpy()
    sizes = blocks["shots"].to_numpy()
    # Group neighbouring blocks into reads of about CHUNK_SHOTS rows.
    i = 0
    while i < nb:
        j = i
        while j + 1 < nb and starts[j + 1] == starts[j] + sizes[j] \
                and starts[j + 1] + sizes[j + 1] - starts[i] <= CHUNK_SHOTS:
            j += 1
        lo, hi = int(starts[i]), int(starts[j] + sizes[j])
        bits = np.unpackbits(run.read_shots("detection_events", lo, hi), axis=1, count=nd,
                             bitorder="little")
        rel = starts[i:j + 1] - lo
        # Sum the rows of each window's blocks in this read (blocks here are contiguous).
        wins = window_of[i:j + 1]
        first = np.concatenate([[True], wins[1:] != wins[:-1]])
        window_counts[wins[first]] += np.add.reduceat(bits, rel[first], axis=0, dtype=np.int64)
        fired = bits.sum(axis=1, dtype=np.int64)
        cumulative = np.concatenate([[0], np.cumsum(fired)])
        per_block[i:j + 1] = cumulative[rel + sizes[i:j + 1]] - cumulative[rel]
        i = j + 1
    counts = window_counts.sum(axis=0)
    shots = int(sizes.sum())
    window_shots = np.bincount(window_of, weights=sizes, minlength=nw) if nb else np.zeros(nw)
    try:
        coords = run.detector_coordinates()
    except QplaneError:
        coords = pd.DataFrame({"x": np.full(nd, np.nan), "y": np.full(nd, np.nan),
                               "t": np.full(nd, np.nan)})
    with np.errstate(invalid="ignore", divide="ignore"):
        det_rate = counts / shots if shots else np.full(nd, np.nan)
        block_rate = per_block / (sizes * nd) if nd else np.zeros(nb)
    places = coords[["x", "y"]].copy()
    places["rate"] = det_rate
    places["detectors"] = 1
    placed = places.dropna(subset=["x", "y"])
    by_place = placed.groupby(["x", "y"], sort=True).agg(
        rate=("rate", "mean"), detectors=("detectors", "sum")).reset_index()
    place_of = placed.groupby(["x", "y"], sort=True).ngroup().to_numpy()
    onehot = np.zeros((nd, len(by_place)))
    onehot[placed.index.to_numpy(), place_of] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        over_time = (window_counts @ onehot) / (window_shots[:, None] * onehot.sum(axis=0)[None, :])
    times = blocks["time"].dt.tz_localize(None).to_numpy()
    window_time = times[np.searchsorted(window_of, np.arange(nw))] if nb else \
        np.zeros(nw, dtype="datetime64[ns]")
    return xr.Dataset(
        {
            "detector_rate": ("detector", det_rate),
            "stabilizer_rate": ("stabilizer", by_place["rate"].to_numpy()),
            "stabilizer_detectors": ("stabilizer", by_place["detectors"].to_numpy()),
            "block_rate": ("block", block_rate),
            "stabilizer_rate_over_time": (("window", "stabilizer"), over_time),
        },
        coords={
            "detector": np.arange(nd),
            "x": ("detector", coords["x"].to_numpy()),
            "y": ("detector", coords["y"].to_numpy()),
            "t": ("detector", coords["t"].to_numpy()),
            "stabilizer_x": ("stabilizer", by_place["x"].to_numpy()),
            "stabilizer_y": ("stabilizer", by_place["y"].to_numpy()),
            "block": blocks.index.to_numpy(),
            "time": ("block", times),
            "window_time": ("window", window_time),
        },
        attrs={"shots": shots, "blocks_read": nb},
    )


# -- calibration ---------------------------------------------------------------------------------


def parameter_traces(run) -> pd.DataFrame:
    """Every parameter's value over time, settings and (simulation) true values, in one table.

    Columns: ``time``, ``t``, ``parameter``, ``value``, ``kind`` (``setting``: a change made by
    ``source``; ``truth``: the simulated device's true value, from ``/simulation/truth``, or in
    files written before that table from history rows whose source is ``truth`` or a
    ``true_value`` in a change's details) and ``source``.
    """
    rows = []
    for rec in run.simulation_truth.itertuples(index=False):
        rows.append((rec.t, rec.setting, rec.value, "truth", "truth"))
    for rec in run.parameters.itertuples(index=False):
        details = rec.details if isinstance(rec.details, dict) else {}
        rows.append((rec.t, rec.parameter, rec.new, "setting", rec.source))
        if "true_value" in details:
            try:
                rows.append((rec.t, rec.parameter, float(details["true_value"]), "truth", "details"))
            except (TypeError, ValueError):
                pass
    truth = getattr(run, "simulation_truth", None)
    if truth is not None:
        rows += [(t, setting, value, "truth", "simulation")
                 for t, setting, value in zip(truth["t"], truth["setting"], truth["value"])]
    frame = pd.DataFrame(rows, columns=["t", "parameter", "value", "kind", "source"])
    frame.insert(0, "time", pd.to_datetime(frame["t"], unit="s", utc=True))
    return frame.sort_values(["parameter", "t", "kind"], kind="stable").reset_index(drop=True)


def calibration_outcomes(run) -> pd.DataFrame:
    """Calibration-node runs counted by node and outcome (rows: node, columns: outcome)."""
    cal = run.calibration
    if cal.empty:
        return pd.DataFrame()
    return cal.groupby(["node", "outcome"]).size().unstack(fill_value=0)
