"""``qplane serve``: a read-only live view of run files in the browser.

A small Starlette app, served by uvicorn, over run files named on the command line or found in
folders (re-scanned on every listing, so runs started later appear). It has three GET routes
and nothing that writes:

* ``/`` — the page (``static/index.html``); it polls the JSON below and redraws its SVG
  charts in place (``static/view.js``, shipped with the package: nothing is fetched from
  the internet);
* ``/api/runs`` — the runs it can show, with their state;
* ``/api/run?name=NAME`` — one run's numbers (:func:`run_payload`), read fresh from its file.

The numbers are :func:`~qplane.analysis.live.snapshot_from_run`'s (what ``qplane watch``
shows) and the statistics of :mod:`qplane.analysis.stats` (what ``qplane report`` draws).
The server binds to loopback unless asked otherwise (:func:`check_host`).

>>> app = create_app([])
>>> sorted(route.path for route in app.routes)
['/', '/api/run', '/api/runs', '/static']
>>> check_host("127.0.0.1", allow_remote=False)
>>> check_host("0.0.0.0", allow_remote=False)
Traceback (most recent call last):
...
qplane.errors.QplaneError: refusing to serve on 0.0.0.0: it is not a loopback address, so anyone who can reach this machine could read the run files. Use --host 127.0.0.1 (the default), or pass --allow-remote if you mean it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from qplane.errors import QplaneError, RunFileError

#: Folder of the page's static files (package data).
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
#: Shots read for the detection heat map per refresh (evenly spaced blocks).
HEATMAP_MAX_SHOTS = 200_000
#: Points in the time series the page draws.
SERIES_WINDOWS = 40
#: Latest rows of the calibration and parameter tables sent to the page.
TABLE_ROWS = 50
#: Latency samples (the most recent) histogrammed for the page.
LATENCY_SAMPLES = 5000


def check_host(host: str, *, allow_remote: bool) -> str | None:
    """Refuse a non-loopback ``host`` unless ``allow_remote``; then return a warning for it.

    Returns:
        ``None`` for a loopback host, else (with ``allow_remote``) a warning to print.

    Raises:
        QplaneError: ``host`` is not loopback and ``allow_remote`` is false.
    """
    if host == "localhost":
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    if not allow_remote:
        raise QplaneError(
            f"refusing to serve on {host}: it is not a loopback address, so anyone who can reach "
            "this machine could read the run files. Use --host 127.0.0.1 (the default), or pass "
            "--allow-remote if you mean it.")
    return (f"warning: serving on {host}, which is not loopback: anyone who can reach this "
            "machine can read these run files (the view is read-only, with no authentication)")


def find_runs(sources: Iterable[str]) -> dict[str, str]:
    """Run files named in ``sources`` (files, or folders searched recursively for ``*.h5``).

    Returns:
        ``{name: path}``, names being paths relative to their folder (a named file: its name).
    """
    runs: dict[str, str] = {}
    for source in sources:
        if os.path.isdir(source):
            for root, dirs, files in os.walk(source):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if f.endswith((".h5", ".hdf5")):
                        path = os.path.join(root, f)
                        runs.setdefault(os.path.relpath(path, source), path)
        elif os.path.exists(source):
            runs.setdefault(os.path.basename(source), source)
    return runs


def _clean(value: Any) -> Any:
    """``value`` as JSON: NaN and infinities become ``None``, numpy scalars and arrays plain."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _series(table: Any) -> dict[str, list]:
    return {"t": table["t_start"].tolist(), "rate": table["rate"].tolist(),
            "lower": table["lower"].tolist(), "upper": table["upper"].tolist(),
            "k": table["k"].tolist(), "n": table["n"].tolist()}


def run_payload(path: str, *, now: float | None = None,
                heatmap_max_shots: int = HEATMAP_MAX_SHOTS) -> dict[str, Any]:
    """Everything the page shows of the run file at ``path``, as JSON-ready values.

    Keys: ``snapshot`` (the :class:`~qplane.analysis.live.LiveStats` fields, with
    ``ler``/``ler_lower``/``ler_upper``, ``ler_text`` as the page prints it, ``shadow_rate``
    and the plain dashboard's one-line ``summary``), ``ler`` and ``shadow`` (per time window: ``t, rate, lower, upper, k, n``),
    ``latency`` (p50/p90/p99 and a histogram of the recent samples, milliseconds),
    ``heatmap`` (detection rate per stabilizer at ``x, y``), ``calibration`` (latest node
    runs), ``changes`` (latest setting changes), ``events`` (latest warnings and errors).

    >>> from qplane.analysis.synthetic import write_synthetic_run
    >>> import tempfile, os
    >>> path = write_synthetic_run(os.path.join(tempfile.mkdtemp(), "r.h5"), blocks=4,
    ...                            shots_per_block=64, calibration_every=2)
    >>> payload = run_payload(path)
    >>> payload["snapshot"]["blocks"], payload["snapshot"]["state"]
    (4, 'completed')
    """
    from qplane.analysis.live import format_line, snapshot_from_run
    from qplane.analysis.stats import (detection_statistics, latency, logical_error_rate,
                                       shadow_disagreement)
    from qplane.runfile import open_run

    with open_run(path) as run:
        snap = snapshot_from_run(run, now=now)
        fields = dataclasses.asdict(snap)
        interval = snap.logical_error_interval
        fields.update(ler=snap.logical_error_rate, ler_lower=interval[0] if interval else None,
                      ler_upper=interval[1] if interval else None,
                      shadow_rate=snap.shadow_rate, summary=format_line(snap),
                      ler_text=(f"{snap.logical_error_rate:.3e} [{interval[0]:.3e}, "
                                f"{interval[1]:.3e}] 95%" if interval else
                                "- (no ground truth)"))
        ler = logical_error_rate(run, windows=SERIES_WINDOWS)
        _, shadow = shadow_disagreement(run, windows=SERIES_WINDOWS)
        lat = latency(run)
        samples = lat["latency"]["samples"][-LATENCY_SAMPLES:] * 1e3
        counts, edges = (np.histogram(samples, bins=30) if len(samples)
                         else (np.zeros(0), np.zeros(0)))
        heat: dict[str, Any] = {"x": [], "y": [], "rate": [], "shots": 0}
        if run.num_detectors and snap.blocks_acquired:
            det = detection_statistics(run, max_shots=heatmap_max_shots, windows=1)
            heat = {"x": det["stabilizer_x"].values, "y": det["stabilizer_y"].values,
                    "rate": det["stabilizer_rate"].values, "shots": det.attrs["shots"]}
        cal = run.calibration.tail(TABLE_ROWS)
        changes = run.parameters
        changes = changes[changes["source"] != "truth"].tail(TABLE_ROWS)
        events = run.events
        events = events[events["level"].isin(["warning", "error"])].tail(TABLE_ROWS)
        payload = {
            "name": os.path.basename(path),
            "decoder": run.decoder,
            "snapshot": fields,
            "ler": _series(ler),
            "shadow": _series(shadow),
            "latency": {
                "p50_ms": lat["latency"]["p50"] * 1e3, "p90_ms": lat["latency"]["p90"] * 1e3,
                "p99_ms": lat["latency"]["p99"] * 1e3,
                "decode_p50_ms": lat["decode"]["p50"] * 1e3,
                "decode_p99_ms": lat["decode"]["p99"] * 1e3,
                "counts": counts, "edges_ms": edges,
            },
            "heatmap": heat,
            "calibration": [{"t": r.t, "node": r.node, "qubit": r.qubit, "outcome": r.outcome}
                            for r in cal.itertuples(index=False)],
            "changes": [{"t": r.t, "parameter": r.parameter, "old": r.old, "new": r.new,
                         "source": r.source, "node": r.node}
                        for r in changes.itertuples(index=False)],
            "events": [{"t": r.t, "level": r.level, "source": r.source, "kind": r.kind,
                        "message": r.message} for r in events.itertuples(index=False)],
        }
    return _clean(payload)


def create_app(sources: Iterable[str]) -> Any:
    """The Starlette app over the run files in ``sources`` (see :func:`find_runs`); GET only."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    sources = list(sources)

    async def index(request: Any) -> Any:
        return FileResponse(os.path.join(STATIC_DIR, "index.html"))

    def runs(request: Any) -> Any:
        listing = []
        for name, path in find_runs(sources).items():
            try:
                from qplane.runfile import open_run

                with open_run(path) as run:
                    state = run.state if run.finished else "running"
                    run_id = run.run_id
            except (OSError, RunFileError) as e:
                state, run_id = f"unreadable: {e}", ""
            listing.append({"name": name, "state": state, "run_id": run_id})
        return JSONResponse({"runs": listing})

    def one_run(request: Any) -> Any:
        name = request.query_params.get("name", "")
        path = find_runs(sources).get(name)
        if path is None:  # only files found in the sources are ever opened
            return JSONResponse({"error": f"no run named {name!r}; see /api/runs"},
                                status_code=404)
        try:
            return JSONResponse(run_payload(path))
        except (OSError, RunFileError) as e:  # e.g. the writer is reopening the file
            return JSONResponse({"error": f"cannot read {name} just now: {e}"}, status_code=503)

    return Starlette(routes=[
        Route("/", index, methods=["GET"]),
        Route("/api/runs", runs, methods=["GET"]),
        Route("/api/run", one_run, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ])


def serve(sources: Iterable[str], *, host: str = "127.0.0.1", port: int = 0,
          allow_remote: bool = False, on_ready: Callable[[str], None] | None = None,
          stop: threading.Event | None = None) -> None:
    """Serve :func:`create_app` on ``host:port`` (0: any free port) until interrupted.

    Args:
        sources: run files and folders.
        host, port: where to listen; a non-loopback host needs ``allow_remote``.
        allow_remote: allow a non-loopback host (a warning is printed to stderr).
        on_ready: called with the page's URL once the socket listens.
        stop: set it to shut the server down (from another thread).

    Raises:
        QplaneError: the host is refused, or the address cannot be bound.
    """
    import uvicorn

    warning = check_host(host, allow_remote=allow_remote)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise QplaneError(f"cannot listen on {host}:{port}: {e}; choose another --port "
                          "(0: any free one)") from e
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    server = uvicorn.Server(uvicorn.Config(create_app(sources), log_level="warning",
                                           access_log=False))
    if stop is not None:
        def watch_stop() -> None:
            stop.wait()
            server.should_exit = True
        threading.Thread(target=watch_stop, daemon=True).start()
    if on_ready is not None:
        original = server.startup

        async def startup(*args: Any, **kwargs: Any) -> None:
            await original(*args, **kwargs)
            on_ready(f"http://{shown}:{bound}/")

        server.startup = startup  # type: ignore[method-assign]
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["check_host", "create_app", "find_runs", "run_payload", "serve"]
