"""The report's figures, drawn with matplotlib's object API (no pyplot, no global state).

Each function takes one or more labelled results of :mod:`qplane.analysis.stats` (several to
compare runs on one set of axes) and returns a :class:`matplotlib.figure.Figure`, or ``None``
when there is nothing to draw. Times are plotted as seconds since each run's first block, so
runs of different dates line up.

>>> import pandas as pd
>>> fig = latency_figure([("a", {"latency": {"samples": np.array([1e-3, 2e-3]), "p50": 1.5e-3,
...                                          "p99": 2e-3}})])
>>> fig.axes[0].get_xlabel()
'latency, acquired to applied (ms)'
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
#: One colour per calibration outcome (a success that wrote a setting, a check in spec, ...).
_OUTCOME_COLOURS = {"success": "#2ca02c", "in_spec": "#1f77b4", "out_of_spec": "#ff7f0e",
                    "bad_data": "#d62728", "fit_failed": "#9467bd"}
#: At most this many settings get a panel of their own in the calibration timeline (those that
#: changed most often); the report's change table lists every change.
MAX_TIMELINE_SETTINGS = 8


def png_bytes(fig: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def logical_error_rate_figure(items: Sequence[tuple[str, pd.DataFrame, float]]) -> Figure | None:
    """Logical error rate per window with its interval; items are (label, table, run start)."""
    items = [(label, df, t0) for label, df, t0 in items if len(df)]
    if not items:
        return None
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    for i, (label, df, t0) in enumerate(items):
        mid = (df["t_start"] + df["t_end"]) / 2 - t0
        rate = df["rate"].to_numpy()
        err = np.clip(np.vstack([rate - df["lower"].to_numpy(), df["upper"].to_numpy() - rate]), 0, None)
        ax.errorbar(mid, rate, yerr=err, fmt="o-", ms=3, capsize=2, color=_COLOURS[i % 6],
                    label=label)
    ax.set_xlabel("time since first block (s)")
    ax.set_ylabel("logical error rate per shot")
    if all((df["rate"] > 0).all() for _, df, _ in items):
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Logical error rate per window (95% Wilson interval)")
    return fig


def colour_scale(datasets: Sequence[xr.Dataset], variable: str) -> tuple[float, float] | None:
    """The one colour scale ``(vmin, vmax)`` of ``variable`` over every run's dataset, so that
    runs drawn side by side share it (``None`` when no run has a finite value).

    >>> ds = [xr.Dataset({"r": ("s", [0.1, 0.3])}), xr.Dataset({"r": ("s", [0.2, 0.5])})]
    >>> colour_scale(ds, "r")
    (0.1, 0.5)
    """
    values = [ds[variable].to_numpy().ravel() for ds in datasets
              if variable in ds and ds[variable].size]
    values = np.concatenate(values) if values else np.zeros(0)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    return float(values.min()), float(values.max())


def detection_heatmap_figure(items: Sequence[tuple[str, xr.Dataset]],
                             scale: tuple[float, float] | None = None) -> Figure | None:
    """Detection-event rate of each stabilizer, drawn at its place on the patch; every run's
    map on the one colour scale ``scale`` (default: :func:`colour_scale` over the runs)."""
    items = [(label, ds) for label, ds in items if ds.sizes.get("stabilizer", 0)]
    if not items:
        return None
    scale = scale or colour_scale([ds for _, ds in items], "stabilizer_rate") or (0.0, 1.0)
    vmin, vmax = scale
    fig = Figure(figsize=(4.2 * len(items) + 0.8, 4.0))
    axes = fig.subplots(1, len(items), squeeze=False)[0]
    mappable = None
    for ax, (label, ds) in zip(axes, items):
        x = ds["stabilizer_x"].to_numpy()
        y = ds["stabilizer_y"].to_numpy()
        r = ds["stabilizer_rate"].to_numpy()
        # Each stabilizer as its plaquette: a square between its data qubits, halved at the
        # patch's edge (stim places measure qubits on a grid of pitch 2 x unique-x step).
        steps = np.diff(np.unique(np.concatenate([x, y])))
        half = float(steps[steps > 0].min()) / 2 if np.any(steps > 0) else 0.5
        boxes = []
        for xi, yi in zip(x, y):
            x0, x1 = max(xi - half, x.min()), min(xi + half, x.max())
            y0, y1 = max(yi - half, y.min()), min(yi + half, y.max())
            boxes.append(Rectangle((x0, y0), x1 - x0, y1 - y0))
        collection = PatchCollection(boxes, cmap="viridis", edgecolor="k", linewidth=0.5)
        collection.set_array(r)
        collection.set_clim(vmin, vmax)
        mappable = ax.add_collection(collection)
        ax.set_xlim(x.min() - half, x.max() + half)
        ax.set_ylim(y.min() - half, y.max() + half)
        for box, ri in zip(boxes, r):
            centre = (box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2)
            ax.annotate(f"{ri:.3f}", centre, ha="center", va="center", fontsize=6,
                        color="w" if ri < (vmin + vmax) / 2 else "k")
        ax.set_aspect("equal")
        ax.invert_yaxis()
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(f"{label}\n{int(ds.attrs.get('shots', 0)):,} shots", fontsize=9)
    fig.colorbar(mappable, ax=list(axes), label="detection events per shot per round")
    fig.suptitle("Detection-event rate per stabilizer (mean over rounds)", fontsize=10, y=1.04)
    return fig


def detection_time_figure(items: Sequence[tuple[str, xr.Dataset, float]]) -> Figure | None:
    """Fraction of detectors firing per block over time (points) and its running mean."""
    items = [(label, ds, t0) for label, ds, t0 in items if ds.sizes.get("block", 0)]
    if not items:
        return None
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    for i, (label, ds, t0) in enumerate(items):
        t = (ds["time"].to_numpy().astype("datetime64[ns]").astype("i8") / 1e9) - t0
        r = ds["block_rate"].to_numpy()
        colour = _COLOURS[i % 6]
        ax.plot(t, r, ".", ms=2, alpha=0.3, color=colour)
        window = max(1, len(r) // 40)
        smooth = pd.Series(r).rolling(window, min_periods=1, center=True).mean()
        ax.plot(t, smooth, "-", color=colour, label=f"{label} (running mean of {window})")
    ax.set_xlabel("time since first block (s)")
    ax.set_ylabel("detection-event fraction")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Detection events over time")
    return fig


def stabilizer_time_figure(items: Sequence[tuple[str, xr.Dataset, float]],
                           scale: tuple[float, float] | None = None) -> Figure | None:
    """Each stabilizer's detection-event rate over time: rows are stabilizers (x, y), columns
    time windows; a drifting qubit shows as a brightening band. Every run on the one colour
    scale ``scale`` (default: :func:`colour_scale` over the runs)."""
    items = [(label, ds, t0) for label, ds, t0 in items
             if ds.sizes.get("window", 0) and ds.sizes.get("stabilizer", 0)]
    if not items:
        return None
    vmin, vmax = scale or colour_scale([ds for _, ds, _ in items],
                                       "stabilizer_rate_over_time") or (0.0, 1.0)
    fig = Figure(figsize=(8, 1.0 + 0.12 * max(ds.sizes["stabilizer"] for _, ds, _ in items)
                          * len(items) + 0.6 * len(items)))
    axes = fig.subplots(len(items), 1, squeeze=False)[:, 0]
    for ax, (label, ds, t0) in zip(axes, items):
        rates = ds["stabilizer_rate_over_time"].to_numpy().T  # (stabilizer, window)
        t = ds["window_time"].to_numpy().astype("datetime64[ns]").astype("i8") / 1e9 - t0
        edges = np.append(t, t[-1] + (t[-1] - t[-2] if len(t) > 1 else 1.0))
        mesh = ax.pcolormesh(edges, np.arange(rates.shape[0] + 1), rates, cmap="viridis",
                             shading="flat", vmin=vmin, vmax=vmax)
        names = [f"({x:g},{y:g})" for x, y in zip(ds["stabilizer_x"].to_numpy(),
                                                  ds["stabilizer_y"].to_numpy())]
        step = max(1, len(names) // 24)
        ax.set_yticks(np.arange(len(names))[::step] + 0.5, names[::step], fontsize=6)
        ax.set_ylabel(f"{label}\nstabilizer (x,y)", fontsize=8)
        fig.colorbar(mesh, ax=ax, label="per shot per round")
    axes[-1].set_xlabel("time since first block (s)")
    axes[0].set_title("Detection-event rate of each stabilizer over time")
    return fig


def latency_figure(items: Sequence[tuple[str, dict[str, Any]]]) -> Figure | None:
    """Histogram of acquired -> applied latency per block, with p50 and p99 marked."""
    items = [(label, lat) for label, lat in items if len(lat["latency"]["samples"])]
    if not items:
        return None
    fig = Figure(figsize=(8, 3.2))
    ax = fig.add_subplot()
    everything = np.concatenate([lat["latency"]["samples"] for _, lat in items]) * 1e3
    lo, hi = max(float(everything.min()), 1e-3), max(float(everything.max()), 2e-3)
    bins = np.logspace(np.log10(lo), np.log10(hi * 1.01), 50)
    for i, (label, lat) in enumerate(items):
        colour = _COLOURS[i % 6]
        stats = lat["latency"]
        ax.hist(stats["samples"] * 1e3, bins=bins, histtype="step", color=colour,
                label=f"{label}: p50 {stats['p50'] * 1e3:.2f} ms, p99 {stats['p99'] * 1e3:.2f} ms")
        ax.axvline(stats["p50"] * 1e3, color=colour, ls="--", lw=1)
        ax.axvline(stats["p99"] * 1e3, color=colour, ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("latency, acquired to applied (ms)")
    ax.set_ylabel("blocks")
    ax.legend(fontsize=8)
    ax.set_title("Decoder loop latency per block (dashed: p50, dotted: p99)")
    return fig


def shadow_figure(items: Sequence[tuple[str, pd.DataFrame, float]]) -> Figure | None:
    """Shadow-decoder disagreement rate per window with its interval."""
    items = [(label, df, t0) for label, df, t0 in items if len(df)]
    if not items:
        return None
    fig = Figure(figsize=(8, 3.0))
    ax = fig.add_subplot()
    for i, (label, df, t0) in enumerate(items):
        mid = (df["t_start"] + df["t_end"]) / 2 - t0
        rate = df["rate"].to_numpy()
        err = np.clip(np.vstack([rate - df["lower"].to_numpy(), df["upper"].to_numpy() - rate]), 0, None)
        ax.errorbar(mid, rate, yerr=err, fmt="s-", ms=3, capsize=2, color=_COLOURS[i % 6],
                    label=label)
    ax.set_xlabel("time since first block (s)")
    ax.set_ylabel("disagreeing shots / shadow shots")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Shadow-decoder disagreement (95% Wilson interval)")
    return fig


def timeline_settings(traces: pd.DataFrame, limit: int = MAX_TIMELINE_SETTINGS) -> list[str]:
    """The settings that changed, most changes first (at most ``limit``); truth alone is no change.

    >>> df = pd.DataFrame({"parameter": ["a", "b", "b", "c"], "kind": ["setting"] * 3 + ["truth"]})
    >>> timeline_settings(df)
    ['b', 'a']
    """
    if traces.empty:
        return []
    changed = traces[traces["kind"] == "setting"]["parameter"]
    return list(changed.value_counts(sort=True).index[:limit]) if len(changed) else []


def calibration_figure(label: str, calibration: pd.DataFrame, traces: pd.DataFrame,
                       t0: float) -> Figure | None:
    """A compact timeline: which node ran when (one colour per outcome), then one thin panel per
    setting that changed (the setting as steps, each change marked, the simulated truth as an
    overlay line). Settings that never changed get no panel; at most
    :data:`MAX_TIMELINE_SETTINGS` panels."""
    if calibration.empty and traces.empty:
        return None
    parameters = timeline_settings(traces)
    rows = 1 + len(parameters)
    ends = [t0] + [float(df["t"].max()) for df in (traces, calibration) if len(df)]
    t_end = max(ends)
    nodes = list(dict.fromkeys(calibration["node"])) if len(calibration) else []
    top = 0.5 + 0.22 * max(len(nodes), 1)
    fig = Figure(figsize=(8, 0.6 + top + 1.05 * len(parameters)))
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False,
                        height_ratios=[top] + [1.05] * len(parameters))[:, 0]
    ax = axes[0]
    if len(calibration):
        ys = calibration["node"].map({n: i for i, n in enumerate(nodes)})
        colours = calibration["outcome"].map(lambda o: _OUTCOME_COLOURS.get(o, "#7f7f7f"))
        ax.scatter(calibration["t"] - t0, ys, c=list(colours), marker="|", s=60, linewidths=1.2)
    ax.set_yticks(range(len(nodes)), [f"{n}" for n in nodes], fontsize=8)
    ax.set_ylim(-0.7, max(0.7, len(nodes) - 0.3))
    outcomes = sorted(set(calibration["outcome"])) if len(calibration) else []
    for outcome in outcomes:
        ax.scatter([], [], color=_OUTCOME_COLOURS.get(outcome, "#7f7f7f"), marker="s", label=outcome)
    if outcomes:
        ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(outcomes),
                  frameon=False)
    fig.suptitle(f"{label}: node runs (one colour per outcome) and the {len(parameters)} "
                 "settings changed most", fontsize=9)
    for ax, parameter in zip(axes[1:], parameters):
        trace = traces[traces["parameter"] == parameter]
        setting = trace[trace["kind"] == "setting"]
        truth = trace[trace["kind"] == "truth"]
        if len(truth):
            ax.plot(truth["t"] - t0, truth["value"], "-", color="0.6", lw=1)
        if len(setting):
            # Each value holds until the next change, the last one until the end of the record.
            xs = list(setting["t"] - t0) + [t_end - t0]
            ax.step(xs, list(setting["value"]) + [setting["value"].iloc[-1]], where="post",
                    color=_COLOURS[0], lw=1.2)
            ax.plot(setting["t"] - t0, setting["value"], "v", color=_COLOURS[1], ms=4)
        ax.set_ylabel(parameter, fontsize=7, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(axis="y", useOffset=True, style="sci", scilimits=(-3, 4))
        ax.yaxis.get_offset_text().set_fontsize(6)
        ax.grid(alpha=0.3)
    if parameters:
        axes[1].plot([], [], color=_COLOURS[0], label="setting")
        axes[1].plot([], [], "v", color=_COLOURS[1], label="change")
        axes[1].plot([], [], color="0.6", label="true value (simulation)")
        axes[1].legend(fontsize=6, loc="upper right", ncols=3)
    axes[-1].set_xlabel("time since first block (s)")
    return fig
