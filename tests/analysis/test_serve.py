"""``qplane serve``: the read-only web view, over HTTP and in a real headless browser."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterator

import pytest

from qplane.analysis.live import snapshot_from_run
from qplane.analysis.web import check_host, find_runs, run_payload, serve
from qplane.errors import QplaneError
from qplane.runfile import open_run
from tests.analysis.conftest import REPO, stepped_writer


@contextlib.contextmanager
def served(*sources: str) -> Iterator[str]:
    """The app served in a thread on a loopback ephemeral port; yields its URL, then stops it."""
    urls: queue.Queue = queue.Queue()
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            serve(list(sources), port=0, on_ready=urls.put, stop=stop)
        except BaseException as e:  # noqa: BLE001 - reported in the test thread
            errors.append(e)
            urls.put(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        url = urls.get(timeout=60)
        if url is None:
            raise errors[0]
        yield url
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the server did not stop"


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_only_loopback_unless_asked():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.5"):
        assert check_host(host, allow_remote=False) is None
    for host in ("0.0.0.0", "192.168.1.10", "example.org"):
        with pytest.raises(QplaneError, match="--allow-remote"):
            check_host(host, allow_remote=False)
        assert "not loopback" in check_host(host, allow_remote=True)


def test_cli_refuses_a_remote_host(sample_run):
    result = subprocess.run([sys.executable, "-m", "qplane.cli", "serve", sample_run,
                             "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60,
                            cwd=REPO)
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr


def test_runs_are_found_in_folders_and_files(sample_run, tmp_path):
    (tmp_path / "sub").mkdir()
    shutil.copy(sample_run, tmp_path / "sub" / "a.h5")
    (tmp_path / "notes.txt").write_text("not a run")
    assert find_runs([str(tmp_path), sample_run]) == {
        os.path.join("sub", "a.h5"): str(tmp_path / "sub" / "a.h5"),
        "sample.h5": sample_run,
    }


def test_the_payload_has_the_snapshot_numbers(sample_run):
    payload = run_payload(sample_run)
    with open_run(sample_run) as run:
        snap = snapshot_from_run(run)
    s = payload["snapshot"]
    assert (s["blocks"], s["shots"], s["failures"]) == (snap.blocks, snap.shots, snap.failures)
    assert s["ler"] == snap.logical_error_rate
    assert s["ler_text"].startswith(f"{snap.logical_error_rate:.3e} ")
    assert s["calibration_runs"] == snap.calibration_runs
    assert sum(payload["ler"]["n"]) == snap.shots and sum(payload["ler"]["k"]) == snap.failures
    assert payload["heatmap"]["rate"] and payload["latency"]["counts"]
    assert len(payload["changes"]) == snap.parameter_updates
    json.dumps(payload, allow_nan=False)  # strict JSON: no NaN


def test_the_server_is_read_only_and_serves_only_found_runs(sample_run):
    with served(sample_run) as url:
        status, listing = _get(url + "api/runs")
        assert status == 200 and listing["runs"][0]["name"] == "sample.h5"
        status, payload = _get(url + "api/run?name=sample.h5")
        assert status == 200 and payload["snapshot"]["blocks"] > 0
        status, _ = _get(url + "api/run?" + urllib.parse.urlencode({"name": "../../etc/passwd"}))
        assert status == 404
        with urllib.request.urlopen(url, timeout=30) as r:
            assert b'id="ler"' in r.read()
        with urllib.request.urlopen(url + "static/view.js", timeout=30) as r:
            script = r.read().decode()
        assert "http://" not in script.replace("http://www.w3.org/2000/svg", "")  # nothing remote
        for method in ("POST", "PUT", "DELETE"):
            request = urllib.request.Request(url + "api/runs", method=method, data=b"")
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(request, timeout=30)
            assert e.value.code == 405


def _browser() -> tuple[str, str]:
    """The system chromium and its chromedriver, or skip."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("chromium and chromedriver are not installed "
                    "(apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    return browser, driver


def _expected(path: str) -> tuple[int, str]:
    with open_run(path) as run:
        snap = snapshot_from_run(run)
    return snap.blocks, f"{snap.logical_error_rate:.3e}"


@pytest.mark.slow
def test_the_page_in_a_headless_browser_follows_a_running_run(tmp_path):
    """A run being written: the page shows its LER, then the same page updates in place as
    more blocks arrive, until the run is completed."""
    browser, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    runs = tmp_path / "runs"
    runs.mkdir()
    path = str(runs / "live.h5")
    server = subprocess.Popen([sys.executable, "-m", "qplane.cli", "serve", str(runs), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    chrome = None
    try:
        line = server.stdout.readline()
        assert "http://127.0.0.1:" in line, line + server.stderr.read()
        url = line.split(" at ")[1].split()[0]
        with stepped_writer(path, blocks=12, pauses=(3, 8)) as writer:
            assert writer.stdout.readline().strip() == "3"
            chrome = webdriver.Chrome(service=Service(driver_path), options=options)
            chrome.get(url + "?" + urllib.parse.urlencode({"run": "live.h5", "poll": 300}))
            wait = WebDriverWait(chrome, 60, poll_frequency=0.2)

            def shows(blocks: int, ler: str):
                def check(d):
                    shown = d.find_element(By.ID, "blocks").get_attribute("data-blocks")
                    return shown == str(blocks) and d.find_element(By.ID, "ler").text.startswith(ler)
                return check

            blocks, ler = _expected(path)
            assert blocks == 4  # blocks 0..3 flushed
            wait.until(shows(blocks, ler))
            assert chrome.find_element(By.ID, "state").text.startswith("running")
            updates = int(chrome.find_element(By.TAG_NAME, "body").get_attribute("data-updates"))
            # the charts are drawn: the LER band and points, the heat map's cells
            assert chrome.find_elements(By.CSS_SELECTOR, "#ler-chart circle")
            assert chrome.find_elements(By.CSS_SELECTOR, "#heatmap rect")

            writer.stdin.write("go\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "8"
            blocks, ler = _expected(path)
            assert blocks == 9
            wait.until(shows(blocks, ler))
            assert int(chrome.find_element(By.TAG_NAME, "body").get_attribute("data-updates")) > updates
            assert len(chrome.find_elements(By.CSS_SELECTOR, "#ler-chart circle")) >= 2

            writer.stdin.write("go\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "closed"
            blocks, ler = _expected(path)
            wait.until(lambda d: d.find_element(By.ID, "state").text.startswith("completed"))
            wait.until(shows(blocks, ler))
            errors = [e for e in chrome.get_log("browser") if e["level"] == "SEVERE"]
            assert not errors, errors
    finally:
        if chrome is not None:
            chrome.quit()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
        server.stderr.close()
