"""qplane report: every section renders, self-contained, for synthetic, killed and real runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from qplane.analysis import open_run
from qplane.analysis.report import SECTIONS, write_report
from qplane.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sections(html: str) -> dict[str, str]:
    """Section id -> its HTML."""
    return dict(re.findall(r'<section id="([a-z-]+)">(.*?)</section>', html, flags=re.S))


def _check_self_contained(html: str) -> None:
    assert not re.search(r'(src|href)="(https?:|//)', html), "the report must open offline"
    assert "<script" not in html


@pytest.fixture(scope="module")
def sample_report(sample_run, tmp_path_factory) -> str:
    """``qplane report`` of a copy of the sample run, with the default folder (beside it)."""
    folder = tmp_path_factory.mktemp("report")
    copy = folder / "sample.h5"
    shutil.copy(sample_run, copy)
    assert main(["report", str(copy)]) == 0
    return str(folder / "sample.report.html")


def test_report_has_every_section_with_its_content(sample_report, sample_run, capsys):
    html = open(sample_report, encoding="utf-8").read()
    _check_self_contained(html)
    sections = _sections(html)
    assert list(sections) == list(SECTIONS)
    for key in ("logical-error-rate", "detection-events", "latency", "shadow", "calibration"):
        assert "data:image/png;base64," in sections[key], key
    assert "p50" in sections["latency"] and "p99" in sections["latency"]
    assert "rabi_amplitude" in sections["calibration"]
    assert "run_start" in sections["events"]
    assert "sequence gap" in sections["problems"] and "never corrected" in sections["problems"]
    with open_run(sample_run) as run:
        assert run.run_id in sections["summary"]


def test_report_writes_its_figures_beside_the_run_by_default(sample_report):
    folder = os.path.dirname(sample_report)
    pngs = sorted(p for p in os.listdir(folder) if p.endswith(".png"))
    assert pngs == sorted(["sample.logical_error_rate.png", "sample.detection_heatmap.png",
                           "sample.detection_time.png", "sample.stabilizer_time.png",
                           "sample.latency.png", "sample.shadow.png",
                           "sample.calibration0.png"])
    for name in pngs:
        with open(os.path.join(folder, name), "rb") as f:
            assert f.read(8) == PNG_MAGIC


@pytest.mark.slow  # renders a second report
def test_report_compares_runs_side_by_side(sample_run, tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(os.path.join(os.path.dirname(__file__), "..", "data", "run_v1.h5"), other)
    path = write_report([sample_run, other], out_dir=tmp_path / "out")
    assert os.path.basename(path) == "sample_vs_other.report.html"
    sections = _sections(open(path, encoding="utf-8").read())
    header = re.search(r"<thead>(.*?)</thead>", sections["summary"], flags=re.S).group(1)
    assert "sample" in header and "other" in header
    assert sections["calibration"].count("<h3>") == 2


@pytest.mark.slow  # uses the killed-writer fixture (a writer process)
def test_report_renders_for_a_killed_writer(killed_run, tmp_path):
    path, _ = killed_run
    html = open(write_report([path], out_dir=tmp_path), encoding="utf-8").read()
    sections = _sections(html)
    assert "writer was killed" in sections["problems"]
    assert "unfinished" in sections["summary"]


@pytest.mark.slow  # a real 3-second qplane run (processes, stim, PyMatching)
def test_report_for_a_real_short_run(pipeline_run, tmp_path, capsys):
    assert main(["report", pipeline_run, "--out", str(tmp_path)]) == 0
    html = open(tmp_path / "run.report.html", encoding="utf-8").read()
    _check_self_contained(html)
    sections = _sections(html)
    assert list(sections) == list(SECTIONS)
    for key in ("logical-error-rate", "detection-events", "latency"):
        assert "data:image/png;base64," in sections[key], key
    assert "completed" in sections["summary"]


@pytest.mark.slow
def test_report_dom_in_headless_chromium(sample_report, tmp_path):
    """The report as a real browser builds it: every section and image present, no script errors."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    path = sample_report
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run(args + ["--dump-dom", f"file://{path}"], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for key in SECTIONS:
        assert f'id="{key}"' in dom.stdout, key
    assert dom.stdout.count("<img") >= 7
    shot = tmp_path / "report.png"
    subprocess.run(args + [f"--screenshot={shot}", "--window-size=1200,2400", f"file://{path}"],
                   capture_output=True, timeout=120)
    assert shot.read_bytes().startswith(PNG_MAGIC)


def test_report_of_a_run_without_blocks_shows_the_stored_node_figures(tmp_path):
    import base64

    import numpy as np
    from matplotlib.figure import Figure

    from qplane.analysis._figures import png_bytes
    from qplane.analysis.synthetic import append_row
    from qplane.runfile import RunFileWriter

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    png = png_bytes(fig, dpi=30)

    path = tmp_path / "calonly.h5"
    w = RunFileWriter.create(path, run_id="cal", config_text="", config_path="",
                             station_snapshot={}, num_detectors=8, num_observables=1)
    append_row(w, "/calibration/runs", time=5.0, node="t1", qubit="q2", outcome="out_of_spec",
               reason="T1 too short", sweep=np.array([1.0, 2.0]), signal=np.array([2.0, 1.0]),
               figure_png=np.frombuffer(png, dtype=np.uint8))
    w.close("interrupted", "operator")
    sections = _sections(open(write_report([path], out_dir=tmp_path), encoding="utf-8").read())
    assert base64.b64encode(png).decode() in sections["calibration"]
    assert "T1 too short" in sections["calibration"] and "out_of_spec" in sections["calibration"]
    assert "interrupted" in sections["summary"]
    assert "Nothing to plot" in sections["logical-error-rate"]


def test_report_values_are_escaped(tmp_path):
    """A run id, event message or problem holding markup appears as text, never as markup."""
    from qplane.runfile import RunFileWriter

    evil = '<script>alert("x")</script>'
    path = tmp_path / "evil.h5"
    w = RunFileWriter.create(path, run_id=evil, config_text=f"note: '{evil}'", config_path=evil,
                             station_snapshot={}, num_detectors=8, num_observables=1)
    w.append_event(level="error", source=evil, kind="crash", message=evil)
    w.close("failed", evil)
    html = open(write_report([path], out_dir=tmp_path), encoding="utf-8").read()
    _check_self_contained(html)
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    sections = _sections(html)
    assert escaped in sections["summary"] and escaped in sections["events"]
    assert escaped in sections["problems"]


def test_the_report_templates_are_package_data():
    import tomllib
    from importlib import resources

    templates = resources.files("qplane.analysis").joinpath("templates")
    names = {p.name for p in templates.iterdir()}
    assert {"report.html.j2", "_macros.html.j2"} <= names
    assert {f"{key}.html.j2" for key in SECTIONS} <= names
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    assert "templates/*.j2" in package_data["qplane.analysis"]
