"""``qplane report``: a self-contained HTML report of one run, or of several side by side.

:func:`write_report` opens each run file, computes the derived quantities once
(:class:`RunStats`), draws the figures (:mod:`qplane.analysis.figures`), writes each as a PNG
into the output folder and embeds the same images in one HTML file (base64), so the report
opens offline, with no server, and can be mailed as a single file.

Sections (each an ``<section id=...>``): ``summary``, ``logical-error-rate``,
``detection-events``, ``latency``, ``shadow``, ``calibration``, ``events``, ``problems``.

>>> list(SECTIONS)[:3]
['summary', 'logical-error-rate', 'detection-events']

Usage: ``write_report(["run.h5"])`` writes ``run.report.html`` and ``run.<figure>.png`` beside
the run file and returns the HTML's path (``tests/analysis/test_report.py`` renders real ones).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import xarray as xr

from qplane import __version__
from qplane.analysis import figures, stats
from qplane.runfile.reader import Run, open_run
from qplane.errors import QplaneError

#: Section id -> heading, in report order.
SECTIONS = {
    "summary": "Run summary",
    "logical-error-rate": "Logical error rate",
    "detection-events": "Detection events",
    "latency": "Decoder latency",
    "shadow": "Shadow decoder",
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
        )


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt_rate(r: dict[str, float]) -> str:
    if not r["n"] or math.isnan(r["rate"]):
        return "n/a"
    return f"{r['rate']:.3e} [{r['lower']:.3e}, {r['upper']:.3e}] ({r['k']:,} / {r['n']:,})"


def _fmt_ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1e3:.3f} ms"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class _Figures:
    """Writes PNGs into the output folder and returns the HTML that embeds them."""

    def __init__(self, out_dir: str, prefix: str):
        self.out_dir = out_dir
        self.prefix = prefix
        self.written: list[str] = []

    def add(self, name: str, fig: Any, caption: str) -> str:
        if fig is None:
            return '<p class="none">Nothing to plot.</p>'
        data = figures.png_bytes(fig)
        path = os.path.join(self.out_dir, f"{self.prefix}.{name}.png")
        with open(path, "wb") as f:
            f.write(data)
        self.written.append(path)
        encoded = base64.b64encode(data).decode()
        return (f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{encoded}">'
                f"<figcaption>{_e(caption)} <span class=\"file\">({_e(os.path.basename(path))})</span>"
                "</figcaption></figure>")


def _summary_section(all_stats: Sequence[RunStats]) -> str:
    keys = [("run_id", "run id"), ("path", "file"), ("state", "state"), ("end_reason", "how it ended"),
            ("created", "started"), ("ended", "ended"), ("config_path", "config"),
            ("decoder", "decoder"), ("distance", "distance"), ("rounds", "rounds"),
            ("basis", "basis"), ("blocks", "blocks"), ("shots", "shots"),
            ("duration_s", "duration (s)"), ("simulated", "simulated (truth known)"),
            ("calibration_runs", "calibration node runs"),
            ("parameter_changes", "parameter changes"), ("events", "events"),
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
    rows.append(["logical error rate [95% CI]"] + [_fmt_rate(s.overall_ler) for s in all_stats])
    rows.append(["latency p50 / p99"] + [
        f"{_fmt_ms(s.latency['latency']['p50'])} / {_fmt_ms(s.latency['latency']['p99'])}"
        for s in all_stats])
    rows.append(["decode time p50 / p99"] + [
        f"{_fmt_ms(s.latency['decode']['p50'])} / {_fmt_ms(s.latency['decode']['p99'])}"
        for s in all_stats])
    rows.append(["shadow disagreement [95% CI]"] + [_fmt_rate(s.shadow_overall) for s in all_stats])
    table = _table([""] + [s.label for s in all_stats], rows, "summary")
    versions = sorted({k for s in all_stats for k in s.versions})
    vtable = _table(["package"] + [s.label for s in all_stats],
                    [[k] + [s.versions.get(k, "") for s in all_stats] for k in versions])
    configs = "".join(f"<details><summary>configuration of {_e(s.label)}</summary>"
                      f"<pre>{_e(s.config_text)}</pre></details>" for s in all_stats)
    cards = "".join(f"<details><summary>model cards of {_e(s.label)}</summary>"
                    f"<pre>{_e(json.dumps(s.model_cards, indent=2, default=str))}</pre></details>"
                    for s in all_stats if s.model_cards)
    return (table + "<details><summary>package versions</summary>" + vtable + "</details>"
            + configs + cards)


def _calibration_section(all_stats: Sequence[RunStats], figs: _Figures) -> str:
    parts = []
    for i, s in enumerate(all_stats):
        parts.append(f"<h3>{_e(s.label)}</h3>")
        if s.calibration.empty and s.traces.empty:
            parts.append('<p class="none">No calibration node ran and no parameter changed.</p>')
            continue
        parts.append(figs.add(f"calibration{i}", figures.calibration_figure(
            s.label, s.calibration, s.traces, s.t0), f"Calibration timeline of {s.label}"))
        if not s.outcomes.empty:
            parts.append(_table(["node"] + list(s.outcomes.columns),
                                [[node] + list(row) for node, row in s.outcomes.iterrows()]))
        changes = s.traces[s.traces["kind"] == "setting"]
        if len(changes):
            parts.append(_table(
                ["time (s)", "parameter", "new value", "source"],
                [[f"{r.t - s.t0:.2f}", r.parameter, f"{r.value:.6g}", r.source]
                 for r in changes.itertuples(index=False)][:_MAX_EVENT_ROWS]))
        latest = [(r, png) for r, png in s.node_figures][:_MAX_NODE_FIGURES]
        if latest:
            parts.append("<p>Latest stored figure of each node and qubit:</p>")
            parts.append("".join(
                f'<figure class="node"><img alt="{_e(r.node)} {_e(r.qubit)}" '
                f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                f"<figcaption>{_e(r.node)} {_e(r.qubit)}: {_e(r.outcome)} at "
                f"{r.t - s.t0:.1f} s</figcaption></figure>" for r, png in latest))
        if len(s.calibration):
            parts.append(_table(
                ["time (s)", "node", "qubit", "outcome", "reason"],
                [[f"{r.t - s.t0:.2f}", r.node, r.qubit, r.outcome, r.reason]
                 for r in s.calibration.itertuples(index=False)][:_MAX_EVENT_ROWS]))
    return "".join(parts)


def _events_section(all_stats: Sequence[RunStats]) -> str:
    parts = []
    for s in all_stats:
        ev = s.events
        parts.append(f"<h3>{_e(s.label)}: {len(ev):,} events</h3>")
        shown = ev.head(_MAX_EVENT_ROWS)
        parts.append(_table(
            ["time (s)", "level", "source", "kind", "message"],
            [[f"{r.t - s.t0:.3f}", r.level, r.source, r.kind, r.message]
             for r in shown.itertuples(index=False)], "events"))
        if len(ev) > _MAX_EVENT_ROWS:
            parts.append(f"<p>... {len(ev) - _MAX_EVENT_ROWS:,} more in the run file.</p>")
    return "".join(parts)


def _problems_section(all_stats: Sequence[RunStats]) -> str:
    parts = []
    for s in all_stats:
        problems = s.summary.get("problems", [])
        bad = s.events[s.events["level"].isin(["warning", "error"])] if len(s.events) else s.events
        parts.append(f"<h3>{_e(s.label)}</h3>")
        if not problems and bad.empty:
            parts.append('<p class="ok">No gaps, duplicates, torn writes, warnings or errors.</p>')
            continue
        parts.append("<ul>" + "".join(f'<li class="problem">{_e(p)}</li>' for p in problems) + "</ul>")
        if len(bad):
            parts.append(_table(["time (s)", "level", "source", "kind", "message", "details"],
                                [[f"{r.t - s.t0:.3f}", r.level, r.source, r.kind, r.message,
                                  json.dumps(r.details)[:300]]
                                 for r in bad.head(_MAX_EVENT_ROWS).itertuples(index=False)],
                                "problems"))
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}figure{margin:.8em 0}img{max-width:100%}
figcaption{font-size:.8em;color:#555}.file{color:#999}.none{color:#777;font-style:italic}
.ok{color:#2a7}.problem{color:#b22}pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.8em}
nav a{margin-right:1em}figure.node{display:inline-block;width:32%;margin:.3em}
"""


def render_html(all_stats: Sequence[RunStats], figs: _Figures) -> str:
    """The report's HTML for the computed statistics (writes the PNGs through ``figs``)."""
    labels = [s.label for s in all_stats]
    body = {
        "summary": _summary_section(all_stats),
        "logical-error-rate": figs.add("logical_error_rate", figures.logical_error_rate_figure(
            [(s.label, s.ler, s.t0) for s in all_stats]), "Logical error rate per time window")
            + "".join(f"<p>{_e(s.label)}: not simulated, no ground truth to score against.</p>"
                      for s in all_stats if not s.summary.get("simulated")),
        "detection-events": figs.add("detection_heatmap", figures.detection_heatmap_figure(
            [(s.label, s.detection) for s in all_stats]), "Detection-event rate over the patch")
            + figs.add("detection_time", figures.detection_time_figure(
                [(s.label, s.detection, s.t0) for s in all_stats]), "Detection events over time")
            + figs.add("stabilizer_time", figures.stabilizer_time_figure(
                [(s.label, s.detection, s.t0) for s in all_stats]),
                "Detection-event rate of each stabilizer over time"),
        "latency": figs.add("latency", figures.latency_figure(
            [(s.label, s.latency) for s in all_stats]), "Latency histogram with p50 and p99")
            + _table(["", *labels], [
                [f"{what} {q}"] + [_fmt_ms(s.latency[key][q]) for s in all_stats]
                for key, what in (("latency", "acquired to applied"), ("decode", "in decoder"))
                for q in ("p50", "p90", "p99", "max")]),
        "shadow": figs.add("shadow", figures.shadow_figure(
            [(s.label, s.shadow, s.t0) for s in all_stats]), "Shadow-decoder disagreement")
            + "".join(f"<p>{_e(s.label)}: {_e(_fmt_rate(s.shadow_overall))}</p>" for s in all_stats),
        "calibration": _calibration_section(all_stats, figs),
        "events": _events_section(all_stats),
        "problems": _problems_section(all_stats),
    }
    nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title in SECTIONS.items())
    sections = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{body[key]}</section>'
                       for key, title in SECTIONS.items())
    title = "qplane report: " + " vs ".join(labels)
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            f'<p class="made">Made by qplane {_e(__version__)} on {made}.</p><nav>{nav}</nav>'
            f"{sections}</body></html>")


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
    for path, label in zip(paths, labels):
        with open_run(path) as run:
            all_stats.append(RunStats.compute(run, label=label, windows=windows, max_shots=max_shots))
    prefix = "_vs_".join(stems)[:120]
    figs = _Figures(out, prefix)
    page = render_html(all_stats, figs)
    target = os.path.join(out, f"{prefix}.report.html")
    with open(target, "w", encoding="utf-8") as f:
        f.write(page)
    return target
