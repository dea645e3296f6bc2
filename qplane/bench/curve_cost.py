"""``qplane bench curve_cost``: what CURVE encryption costs the pipeline, against plain tcp.

Two measurements, each at 64- and 1024-shot blocks, plain and CURVE interleaved in one
invocation (so both see the same machine load):

- ``pipeline``: the whole closed loop (``qplane run`` in process: instrument server, decoding
  worker(s), recorder) on loopback tcp, once without keys and once with the run's keys
  (``qplane.security.keys``), ``duration`` seconds each; throughput is corrected blocks per
  second as the instrument server counts them. Target: CURVE costs at most 10 % at 1024 shots.
  Beside it, the CPU time per block of every process of the run (``cpu_us_per_block``, their
  ``total``; ``cpu_cost_percent``): what CURVE costs in work, which other load on a shared
  machine does not distort as it distorts throughput;
- ``transport``: one hop (build + encode, send, receive + decode) of syndrome records through a
  PUSH/PULL pair, plain and CURVE, ``transport_seconds`` each: CURVE's cost alone (throughput,
  and this process's CPU time per record, ZeroMQ's IO threads included).

:func:`measure_curve_cost` returns the results as a dict (``qplane bench resilience`` includes
it); ``main`` writes ``runs/bench/curve_cost.json`` (``--update-results``: the committed
``bench/results/curve_cost.json``)::

    qplane bench curve_cost --duration 5 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import textwrap
import time
from typing import Any

from qplane.bench._proc import CpuWatch
from qplane.bench._results import write_results

#: CURVE's largest acceptable throughput cost at 1024-shot blocks, percent.
TARGET_PERCENT = 10.0
#: Blocks left out of the CPU time per block (start-up).
WARMUP_BLOCKS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config_text(folder: str, shots: int, distance: int, workers: int, keys: str | None) -> str:
    endpoints = {name: f"tcp://127.0.0.1:{_free_port()}"
                 for name in ("syndromes", "corrections", "records", "control", "monitor")}
    security = f"\n  security: {{keys: {json.dumps(keys)}}}" if keys else ""
    return textwrap.dedent(f"""\
        instruments:
          qpu:
            type: qplane.sim_instruments.qpu.SimulatedQPU
            init: {{distance: {distance}, rounds: {distance}, basis: Z, physical_error_rate: 0.004, seed: 7}}
        qplane:
          qpu: qpu
          run: {{output_dir: {json.dumps(folder)}}}
          acquisition: {{shots_per_block: {shots}, max_in_flight: 8}}
          decoding: {{workers: {workers}}}
          endpoints: {json.dumps(endpoints)}""") + security + "\n"


def _pipeline_once(folder: str, name: str, *, shots: int, duration: float, distance: int,
                   workers: int, keys: str | None) -> dict[str, Any]:
    from qplane.config import parse_config
    from qplane.pipeline import run_pipeline

    path = os.path.join(folder, f"{name}.yaml")
    text = _config_text(folder, shots, distance, workers, keys)
    with open(path, "w") as f:
        f.write(text)
    out_path = os.path.join(folder, f"{name}.h5")
    with CpuWatch() as watch:
        outcome = run_pipeline(parse_config(text, path), out_path=out_path, duration=duration)
    stats = outcome.stats or {}
    elapsed = float(stats.get("elapsed") or duration)
    applied = int(stats.get("blocks_applied", 0))
    return {"end_state": outcome.end_state, "blocks_applied": applied, "seconds": elapsed,
            "blocks_per_s": applied / elapsed if elapsed > 0 else 0.0,
            "shots_per_s": applied * shots / elapsed if elapsed > 0 else 0.0,
            "cpu_us_per_block": _cpu_per_block(watch, out_path)}


def _cpu_per_block(watch: CpuWatch, run_file: str) -> dict[str, float]:
    """Each process's CPU µs per applied block, after the first ``WARMUP_BLOCKS`` (start-up
    left out), and their ``total``: CPU time is what CURVE costs, whatever else loads the
    machine (throughput on a shared machine is not)."""
    import h5py
    import numpy as np

    with h5py.File(run_file, "r") as f:
        blocks = f["qec/blocks"][:]
    applied = np.sort(blocks[blocks["applied"] == 1]["t_acquired"])
    if len(applied) <= WARMUP_BLOCKS:
        return {}
    cpu = watch.cpu_since(float(applied[WARMUP_BLOCKS]))
    cpu["launcher"] = cpu.pop("own")
    n = len(applied) - WARMUP_BLOCKS
    out = {name: 1e6 * seconds / n for name, seconds in sorted(cpu.items())}
    out["total"] = sum(out.values())
    return out


def _transport_once(folder: str, *, shots: int, seconds: float, keys: str | None,
                    detector_bytes: int = 3) -> tuple[float, float]:
    """Syndrome records per second through one PUSH/PULL hop (CURVE with ``keys``), and the
    CPU µs per record of this process (both ends and ZeroMQ's IO threads)."""
    import numpy as np
    import zmq

    from qplane.pipeline.security import SecureContext, TransportSecurity
    from qplane.pipeline.transport import Inbox, Outbox, make_socket
    from qplane.records import Syndrome

    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    endpoints = {"syndromes": endpoint}
    server = SecureContext(TransportSecurity(role="instrument_server", endpoints=endpoints, keys=keys))
    client = SecureContext(TransportSecurity(role="decoder", endpoints=endpoints, keys=keys))
    try:
        push = make_socket(server, zmq.PUSH, endpoint, bind=True)
        inbox = Inbox(make_socket(client, zmq.PULL, endpoint, bind=False), run_id="bench")
        out = Outbox(push, run_id="bench", source="instrument_server")
        events = np.random.default_rng(0).integers(0, 255, (shots, detector_bytes), dtype=np.uint8)
        body = Syndrome(block_index=0, circuit_id="0" * 16, num_detectors=8 * detector_bytes,
                        t_acquired=0.0)
        out.send(body, {"detection_events": events})
        inbox.recv()  # connected (and, with CURVE, handshaken)
        n, t0, cpu0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            for _ in range(50):
                out.send(body, {"detection_events": events})
                if inbox.recv() is None:
                    raise RuntimeError("a benchmark record was rejected")
            n += 50
        return n / (time.perf_counter() - t0), 1e6 * (time.process_time() - cpu0) / n
    finally:
        server.destroy(linger=0)
        client.destroy(linger=0)


def _cost(plain: float, curve: float) -> float:
    """CURVE's throughput cost, percent of plain tcp's."""
    return 100.0 * (plain - curve) / plain if plain > 0 else float("nan")


def measure_curve_cost(*, block_sizes: tuple[int, ...] = (64, 1024), duration: float = 5.0,
                       repeats: int = 1, distance: int = 3, workers: int = 1,
                       transport_seconds: float = 1.0, pipeline: bool = True) -> dict[str, Any]:
    """Throughput with CURVE against plain tcp at each block size, in one invocation.

    Plain and CURVE runs alternate (their order flips each repeat); each figure is the median
    over ``repeats``. Returns ``{"pipeline": {shots: {...}}, "transport": {shots: {...}},
    "target_percent", "met", "load_average"}`` where each entry holds the plain and CURVE
    throughput and ``cost_percent``; ``met`` judges the pipeline at 1024 shots (the transport
    figure when ``pipeline`` is False).
    """
    from qplane.pipeline.security import create_keys

    load_before = os.getloadavg()
    results: dict[str, Any] = {"pipeline": {}, "transport": {}, "target_percent": TARGET_PERCENT,
                               "duration_s": duration, "repeats": repeats, "distance": distance,
                               "workers": workers}
    with tempfile.TemporaryDirectory(prefix="qplane-curve-") as folder:
        keys = os.path.join(folder, "keys")
        create_keys(keys)
        for shots in block_sizes:
            samples: dict[str, dict[str, list[float]]] = {
                "pipeline": {"plain": [], "curve": []}, "transport": {"plain": [], "curve": []}}
            cpu: dict[str, dict[str, list[float]]] = {
                "pipeline": {"plain": [], "curve": []}, "transport": {"plain": [], "curve": []}}
            for r in range(repeats):
                order = ("plain", "curve") if r % 2 == 0 else ("curve", "plain")
                for mode in order:
                    k = keys if mode == "curve" else None
                    rate, us = _transport_once(folder, shots=shots, seconds=transport_seconds, keys=k)
                    samples["transport"][mode].append(rate)
                    cpu["transport"][mode].append(us)
                    if pipeline:
                        got = _pipeline_once(folder, f"{mode}-{shots}-{r}", shots=shots,
                                             duration=duration, distance=distance,
                                             workers=workers, keys=k)
                        samples["pipeline"][mode].append(got["blocks_per_s"])
                        if got["cpu_us_per_block"]:
                            cpu["pipeline"][mode].append(got["cpu_us_per_block"]["total"])
            for what, unit, per in (("transport", "records_per_s", "record"),
                                    ("pipeline", "blocks_per_s", "block")):
                plain, curve = samples[what]["plain"], samples[what]["curve"]
                if not plain:
                    continue
                p, c = statistics.median(plain), statistics.median(curve)
                row = {f"plain_{unit}": p, f"curve_{unit}": c, "cost_percent": _cost(p, c),
                       "samples": samples[what]}
                if cpu[what]["plain"] and cpu[what]["curve"]:
                    cp, cc = statistics.median(cpu[what]["plain"]), statistics.median(cpu[what]["curve"])
                    row.update({f"plain_cpu_us_per_{per}": cp, f"curve_cpu_us_per_{per}": cc,
                                "cpu_cost_percent": 100.0 * (cc - cp) / cp if cp > 0 else float("nan"),
                                "cpu_samples": cpu[what]})
                results[what][str(shots)] = row
    judged = results["pipeline"].get("1024") or results["transport"].get("1024")
    results["met"] = bool(judged is not None and judged["cost_percent"] <= TARGET_PERCENT)
    results["load_average"] = {"before": list(load_before), "after": list(os.getloadavg())}
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per pipeline run")
    parser.add_argument("--repeats", type=int, default=1, help="runs per mode and block size")
    parser.add_argument("--distance", type=int, default=3, help="surface-code distance")
    parser.add_argument("--workers", type=int, default=1, help="decoding workers")
    parser.add_argument("--transport-only", action="store_true",
                        help="only the one-hop transport measurement (seconds, no pipeline)")
    parser.add_argument("--out", default=os.path.join("runs", "bench", "curve_cost.json"),
                        help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark and write its results file."""
    results = measure_curve_cost(duration=args.duration, repeats=args.repeats,
                                 distance=args.distance, workers=args.workers,
                                 pipeline=not args.transport_only)
    for what, per in (("transport", "record"), ("pipeline", "block")):
        for shots, r in results[what].items():
            cpu = (f"; CPU per {'record' if what == 'transport' else 'block'} "
                   f"{r[f'plain_cpu_us_per_{per}']:.0f} -> {r[f'curve_cpu_us_per_{per}']:.0f} µs "
                   f"(+{r['cpu_cost_percent']:.1f} %)"
                   if "cpu_cost_percent" in r else "")
            print(f"{what} {shots} shots: CURVE costs {r['cost_percent']:.1f} % of the "
                  f"throughput{cpu}")
    print(f"target <= {TARGET_PERCENT:g} % at 1024 shots: {'met' if results['met'] else 'NOT met'}"
          f" (load average {results['load_average']['before'][0]:.1f})")
    write_results(args.out, {"benchmark": "curve_cost", **results})
    print(f"wrote {args.out}")
    return 0
