"""``qplane report``: a self-contained HTML report of one run, or of several side by side.

:func:`write_report` opens each run file, computes the derived quantities once
(:class:`RunStats`), draws the figures (:mod:`qplane.analysis._figures`), writes each as a PNG
into the output folder and embeds the same images in one HTML file (base64), so the report
opens offline, with no server, and can be mailed as a single file. The page is rendered from
jinja2 templates (``qplane/analysis/templates/*.html.j2``, package data) with autoescaping on.

Sections (each an ``<section id=...>``): ``summary``, ``comparison`` (with two or more runs:
each pair's logical-error-rate ratio, its interval and an exact significance test, from
:mod:`qplane.analysis.compare`), ``logical-error-rate``, ``detection-events`` (every run's
stabilizer maps on one shared colour scale, stated on the page), ``latency``, ``shadow``,
``noise`` (the learned noise models against nominal, per stabilizer and over time),
``calibration``, ``events``, ``problems``.

>>> list(SECTIONS)[:3]
['summary', 'comparison', 'logical-error-rate']

Usage: ``write_report(["run.h5"])`` writes ``run.report.html`` and ``run.<figure>.png`` beside
the run file and returns the HTML's path (``tests/analysis/test_report.py`` renders real ones).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import math
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import jinja2
import pandas as pd
import xarray as xr

from qplane import __version__
from qplane.analysis import _figures as figures
from qplane.analysis import stats
from qplane.analysis.noise import noise_summary
from qplane.analysis.live import LiveStats, format_bound, format_calibration, snapshot_from_run
from qplane.runfile import Run, open_run
from qplane.errors import QplaneError
from qplane.progress import track

#: Section id -> heading, in report order.
SECTIONS = {
    "summary": "Run summary",
    "comparison": "Comparison",
    "logical-error-rate": "Logical error rate",
    "detection-events": "Detection events",
    "latency": "Decoder latency",
    "shadow": "Shadow decoder",
    "noise": "Learned noise",
    "calibration": "Calibration",
    "events": "Events",
    "problems": "Gaps and errors",
}

_MAX_EVENT_ROWS = 300
_MAX_NODE_FIGURES = 12


@dataclasses.dataclass(frozen=True)
class RunStats:
    """Everything the report shows about one run, computed once."""

    label: str
    summary: dict[str, Any]
    t0: float
    overall_ler: dict[str, float]
    ler: pd.DataFrame
    detection: xr.Dataset
    latency: dict[str, Any]
    shadow_overall: dict[str, float]
    shadow: pd.DataFrame
    calibration: pd.DataFrame
    outcomes: pd.DataFrame
    traces: pd.DataFrame
    events: pd.DataFrame
    versions: dict[str, str]
    config_text: str
    model_cards: dict[str, Any]
    node_figures: list[tuple[Any, bytes]]
    #: The run's :func:`~qplane.analysis.live.snapshot_from_run`: the summary's blocks, shots,
    #: logical error rate, shadow counts and calibration counts, as the live views show them.
    live: LiveStats
    #: The learned noise models against nominal (:func:`qplane.analysis.noise.noise_summary`).
    noise: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def compute(cls, run: Run, *, label: str | None = None, windows: int = 30,
                max_shots: int | None = 2_000_000) -> "RunStats":
        """Compute every quantity of the report for ``run``."""
        blocks = run.blocks
        t0 = float(blocks["t_acquired"].min()) if len(blocks) else 0.0
        shadow_overall, shadow = stats.shadow_disagreement(run, windows=windows)
        calibration = run.calibration
        node_figures, seen = [], set()
        for row, rec in zip(calibration.index[::-1], calibration.iloc[::-1].itertuples(index=False)):
            if len(node_figures) >= _MAX_NODE_FIGURES:
                break
            if (rec.node, rec.qubit) in seen:
                continue
            seen.add((rec.node, rec.qubit))  # only each one's latest run is looked at
            png = run.calibration_figure(int(row))
            if png:
                node_figures.append((rec, png))
        return cls(
            label=label or os.path.splitext(os.path.basename(run.path))[0],
            summary=run.summary(),
            t0=t0,
            overall_ler=stats.overall_logical_error_rate(run),
            ler=stats.logical_error_rate(run, windows=windows),
            detection=stats.detection_statistics(run, max_shots=max_shots),
            latency=stats.latency(run),
            shadow_overall=shadow_overall,
            shadow=shadow,
            calibration=calibration,
            outcomes=stats.calibration_outcomes(run),
            traces=stats.parameter_traces(run),
            events=run.events,
            versions=run.versions,
            config_text=run.config_text,
            model_cards=run.model_cards,
            node_figures=node_figures,
            live=snapshot_from_run(run),
            noise=noise_summary(run),
        )


def _fmt_rate(r: dict[str, float]) -> str:
    if not r["n"] or math.isnan(r["rate"]):
        return "n/a"
    return (f"{r['rate']:.3e} [{format_bound(r['lower'], 3)}, {format_bound(r['upper'], 3)}] "
            f"({r['k']:,} / {r['n']:,})")


def _fmt_ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1e3:.3f} ms"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """The report's templates (package data in ``qplane/analysis/templates``), autoescaped:
    every value put into the page is text, so a ``<`` in a run id or message stays a ``<``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("qplane.analysis", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["rate"] = _fmt_rate
    env.filters["tojson_indent"] = lambda value: json.dumps(value, indent=2, default=str)
    return env


@dataclasses.dataclass(frozen=True)
class _Figure:
    """One figure as the page embeds it: caption, PNG file name, base64 PNG."""

    caption: str
    file: str
    encoded: str


class _Figures:
    """Writes PNGs into the output folder and returns what the page needs to embed them."""

    def __init__(self, out_dir: str, prefix: str):
        self.out_dir = out_dir
        self.prefix = prefix
        self.written: list[str] = []

    def add(self, name: str, fig: Any, caption: str) -> _Figure | None:
        """Write ``fig`` as ``<prefix>.<name>.png``; ``None`` when there is nothing to plot."""
        if fig is None:
            return None
        data = figures.png_bytes(fig)
        path = os.path.join(self.out_dir, f"{self.prefix}.{name}.png")
        with open(path, "wb") as f:
            f.write(data)
        self.written.append(path)
        return _Figure(caption, os.path.basename(path), base64.b64encode(data).decode())


def _summary(all_stats: Sequence[RunStats]) -> dict[str, Any]:
    keys = [("run_id", "run id"), ("path", "file"), ("state", "state"), ("end_reason", "how it ended"),
            ("created", "started"), ("ended", "ended"), ("config_path", "config"),
            ("decoder", "decoder"), ("decoded_on", "decoded on"), ("distance", "distance"), ("rounds", "rounds"),
            ("basis", "basis"), ("blocks", "blocks recorded"), ("shots", "shots recorded"),
            ("duration_s", "duration (s)"), ("simulated", "simulated (truth known)"),
            ("events", "events"),
            ("schema_version", "schema version"), ("qplane_version", "qplane version")]
    rows = []
    for key, name in keys:
        row = [name]
        for s in all_stats:
            value = s.summary.get(key, "")
            if isinstance(value, float):
                value = f"{value:.3f}"
            elif isinstance(value, int) and not isinstance(value, bool):
                value = f"{value:,}"
            row.append(value)
        rows.append(row)
    # The numbers the live views show come from their one computation (snapshot_from_run).
    rows.append(["blocks corrected"] + [f"{s.live.blocks:,}" for s in all_stats])
    rows.append(["shots corrected"] + [f"{s.live.shots:,}" for s in all_stats])
    rows.append(["calibration"] + [format_calibration(s.live) for s in all_stats])
    rows.append(["logical error rate [95% CI]"] + [
        _fmt_rate(stats.rate_with_interval(s.live.failures, s.live.shots))
        if s.live.failures is not None else "n/a" for s in all_stats])
    rows.append(["latency p50 / p99"] + [
        f"{_fmt_ms(s.latency['latency']['p50'])} / {_fmt_ms(s.latency['latency']['p99'])}"
        for s in all_stats])
    rows.append(["decode time p50 / p99"] + [
        f"{_fmt_ms(s.latency['decode']['p50'])} / {_fmt_ms(s.latency['decode']['p99'])}"
        for s in all_stats])
    rows.append(["shadow disagreement [95% CI]"] + [
        _fmt_rate(stats.rate_with_interval(s.live.shadow_disagreements, s.live.shadow_shots))
        for s in all_stats])
    versions = sorted({k for s in all_stats for k in s.versions})
    return {"rows": rows,
            "versions": [[k] + [s.versions.get(k, "") for s in all_stats] for k in versions]}


def _calibration(all_stats: Sequence[RunStats], figs: _Figures) -> list[dict[str, Any]]:
    out = []
    for i, s in enumerate(all_stats):
        if s.calibration.empty and s.traces.empty:
            out.append({"label": s.label, "empty": True})
            continue
        changes = s.traces[s.traces["kind"] == "setting"]
        out.append({
            "label": s.label, "empty": False,
            "figure": figs.add(f"calibration{i}", figures.calibration_figure(
                s.label, s.calibration, s.traces, s.t0), f"Calibration timeline of {s.label}"),
            "outcome_columns": list(s.outcomes.columns),
            "outcomes": [[node] + list(row) for node, row in s.outcomes.iterrows()],
            "changes": [[f"{r.t - s.t0:.2f}", r.parameter, f"{r.value:.6g}", r.source]
                        for r in changes.itertuples(index=False)][:_MAX_EVENT_ROWS],
            "node_figures": [{"node": r.node, "qubit": r.qubit, "outcome": r.outcome,
                              "at": f"{r.t - s.t0:.1f}", "encoded": base64.b64encode(png).decode()}
                             for r, png in s.node_figures][:_MAX_NODE_FIGURES],
            "runs": [[f"{r.t - s.t0:.2f}", r.node, r.qubit, r.outcome, r.reason]
                     for r in s.calibration.itertuples(index=False)][:_MAX_EVENT_ROWS],
        })
    return out


def _events(all_stats: Sequence[RunStats]) -> list[dict[str, Any]]:
    return [{"label": s.label, "count": len(s.events),
             "rows": [[f"{r.t - s.t0:.3f}", r.level, r.source, r.kind, r.message]
                      for r in s.events.head(_MAX_EVENT_ROWS).itertuples(index=False)],
             "more": max(0, len(s.events) - _MAX_EVENT_ROWS)} for s in all_stats]


def _problems(all_stats: Sequence[RunStats]) -> list[dict[str, Any]]:
    out = []
    for s in all_stats:
        bad = s.events[s.events["level"].isin(["warning", "error"])] if len(s.events) else s.events
        out.append({"label": s.label, "problems": s.summary.get("problems", []),
                    "rows": [[f"{r.t - s.t0:.3f}", r.level, r.source, r.kind, r.message,
                              json.dumps(r.details)[:300]]
                             for r in bad.head(_MAX_EVENT_ROWS).itertuples(index=False)]})
    return out


def _comparison_rows(comparisons: Sequence[Any]) -> list[list[str]]:
    """One table row per compared pair (:class:`~qplane.analysis.compare.Comparison`)."""
    from qplane.analysis.compare import format_p, format_ratio

    rows = []
    for c in comparisons:
        if c.method == "unavailable":
            rows.append([f"{c.label_b} / {c.label_a}", "n/a", "n/a", "n/a", "n/a", "none", c.note])
            continue
        a = stats.rate_with_interval(c.failures_a, c.shots_a, c.confidence)
        b = stats.rate_with_interval(c.failures_b, c.shots_b, c.confidence)
        rows.append([f"{c.label_b} / {c.label_a}", _fmt_rate(a), _fmt_rate(b),
                     f"{format_ratio(c.ratio)} [{format_ratio(c.lower)}, {format_ratio(c.upper)}]",
                     format_p(c.p_value), c.test, c.note])
    return rows


def _scale(scale: tuple[float, float] | None) -> dict[str, str] | None:
    return None if scale is None else {"vmin": f"{scale[0]:.6g}", "vmax": f"{scale[1]:.6g}"}


def render_html(all_stats: Sequence[RunStats], figs: _Figures,
                comparisons: Sequence[Any] = ()) -> str:
    """The report's HTML for the computed statistics (writes the PNGs through ``figs``).

    The page comes from the templates in ``qplane/analysis/templates`` (``report.html.j2`` and
    one ``<section id>.html.j2`` per section), autoescaped. ``comparisons`` are the pairs'
    :class:`~qplane.analysis.compare.Comparison` (:func:`write_report` computes them).
    """
    labels = [s.label for s in all_stats]
    scales = {
        "detection_heatmap": figures.colour_scale(
            [s.detection for s in all_stats if s.detection.sizes.get("stabilizer", 0)],
            "stabilizer_rate"),
        "stabilizer_time": figures.colour_scale(
            [s.detection for s in all_stats if s.detection.sizes.get("window", 0)
             and s.detection.sizes.get("stabilizer", 0)], "stabilizer_rate_over_time"),
    }
    drawn = {
        "logical_error_rate": figs.add("logical_error_rate", figures.logical_error_rate_figure(
            [(s.label, s.ler, s.t0) for s in all_stats]), "Logical error rate per time window"),
        "detection_heatmap": figs.add("detection_heatmap", figures.detection_heatmap_figure(
            [(s.label, s.detection) for s in all_stats], scales["detection_heatmap"]), "Detection-event rate over the patch"),
        "detection_time": figs.add("detection_time", figures.detection_time_figure(
            [(s.label, s.detection, s.t0) for s in all_stats]), "Detection events over time"),
        "stabilizer_time": figs.add("stabilizer_time", figures.stabilizer_time_figure(
            [(s.label, s.detection, s.t0) for s in all_stats], scales["stabilizer_time"]),
            "Detection-event rate of each stabilizer over time"),
        "latency": figs.add("latency", figures.latency_figure(
            [(s.label, s.latency) for s in all_stats]), "Latency histogram with p50 and p99"),
        "shadow": figs.add("shadow", figures.shadow_figure(
            [(s.label, s.shadow, s.t0) for s in all_stats]), "Shadow-decoder disagreement"),
    }
    latency_rows = [[f"{what} {q}"] + [_fmt_ms(s.latency[key][q]) for s in all_stats]
                    for key, what in (("latency", "acquired to applied"), ("decode", "in decoder"))
                    for q in ("p50", "p90", "p99", "p999", "max")]
    # The path stage by stage (runs from schema 2.1 on): p50 / p99 / p99.9 of each.
    latency_rows += [[f"stage: {key.replace('_', ' ')} p50 / p99 / p99.9"]
                     + [" / ".join(_fmt_ms(s.latency[key][q]) for q in ("p50", "p99", "p999"))
                        for s in all_stats]
                     for key, _, _ in stats.LATENCY_STAGES
                     if any(s.latency[key]["count"] for s in all_stats)]
    return _environment().get_template("report.html.j2").render(
        title="qplane report: " + " vs ".join(labels),
        version=__version__,
        made=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        sections=SECTIONS, labels=labels, runs=all_stats, figs=drawn,
        summary=_summary(all_stats), latency_rows=latency_rows,
        calibration=_calibration(all_stats, figs), events=_events(all_stats),
        problems=_problems(all_stats),
        comparisons=_comparison_rows(comparisons),
        scales={key: _scale(value) for key, value in scales.items()},
    )


def write_report(paths: Sequence[str | os.PathLike], *, out_dir: str | os.PathLike | None = None,
                 windows: int = 30, max_shots: int | None = 2_000_000) -> str:
    """Write the HTML report (and its PNGs) for one run file, or several compared.

    Args:
        paths: run files; two or more are compared side by side.
        out_dir: folder for the report (created); default: the first run file's folder.
        windows: time windows for the rates over time.
        max_shots: at most about this many shots are read for the detection statistics.

    Returns:
        The path of the HTML file, ``<stem>.report.html`` (``<stemA>_vs_<stemB>.report.html``).
    """
    if not paths:
        raise QplaneError("give at least one run file to report on")
    paths = [os.fspath(p) for p in paths]
    out = os.fspath(out_dir) if out_dir is not None else os.path.dirname(os.path.abspath(paths[0]))
    os.makedirs(out, exist_ok=True)
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    labels = stems if len(set(stems)) == len(stems) else [f"{i}:{s}" for i, s in enumerate(stems)]
    all_stats = []
    for path, label in track(list(zip(paths, labels)), "report",
                             label=lambda item: f"reading {item[1]}"):
        with open_run(path) as run:
            all_stats.append(RunStats.compute(run, label=label, windows=windows, max_shots=max_shots))
    comparisons = []
    if len(paths) > 1:
        from qplane.analysis.compare import compare_files

        comparisons = compare_files(paths, labels=labels)
    prefix = "_vs_".join(stems)[:120]
    figs = _Figures(out, prefix)
    page = render_html(all_stats, figs, comparisons)
    target = os.path.join(out, f"{prefix}.report.html")
    with open(target, "w", encoding="utf-8") as f:
        f.write(page)
    return target
