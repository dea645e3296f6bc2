"""CPU time per block of each hot-path component, measured in one process (robust under load).

The instrument server (on a :class:`qplane.drivers.ReplayQPU`), one decoding worker
(PyMatching) and the recorder run in this one thread, stepped in turn over ``inproc://``
sockets; each component's thread CPU time is summed over its steps (and its retaining outbox's
pumps), so the numbers are the Python work per block, without the scheduler's noise or the
ZeroMQ I/O thread. Steps that handled nothing (a component polled while another had the work)
are counted apart (``idle``): a real process waits in its poll instead.

Each component's CPU is also printed relative to the worker's (a fixed PyMatching job), which
moves less than the microseconds under load. The recorder's periodic flush (block rows,
checkpoint) is timed on its own: CPU per flush and its share per block.

    PYTHONPATH=. python scripts/hot_path_cpu.py [--distance 3] [--shots 1] [--in-flight 8]
                                                [--blocks 4000] [--profile server.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import sys
import tempfile
import threading
import time

import numpy as np
import stim
import zmq

from qplane.codes import memory_circuit
from qplane.decoder import PyMatchingDecoder
from qplane.drivers import ReplayQPU
from qplane.pipeline.decoding_worker import DecodingWorker
from qplane.pipeline.delivery import RetainingOutbox
from qplane.pipeline.instrument_server import InstrumentServer
from qplane.pipeline.recorder import Recorder
from qplane.pipeline.transport import make_socket
from qplane.records import RunEnd
from qplane.runfile import open_run

RUN = "hot-path-cpu"


def _replay(folder: str, distance: int, shots: int) -> ReplayQPU:
    circuit = memory_circuit(distance=distance, rounds=distance, basis="Z", p=0.003)
    circuit.to_file(os.path.join(folder, "c.stim"))
    dets, obs = circuit.compile_detector_sampler(seed=7).sample(1 << 16, separate_observables=True)
    stim.write_shot_data_file(data=np.hstack([dets, obs]), path=os.path.join(folder, "s.b8"),
                              format="b8", num_detectors=circuit.num_detectors,
                              num_observables=circuit.num_observables)
    return ReplayQPU(f"replay_cpu_{os.getpid()}", source=os.path.join(folder, "s.b8"), format="b8",
                     circuit=os.path.join(folder, "c.stim"), observables="appended",
                     shots_per_block=shots, distance=distance, rounds=distance, basis="Z",
                     loop=True)


def measure(distance: int, shots: int, in_flight: int, blocks: int, folder: str,
            profile: str = "", freeze: bool = True) -> dict:
    ctx = zmq.Context()
    ep = {k: f"inproc://{k}" for k in ("records", "syndromes", "control")}
    rec_sock = make_socket(ctx, zmq.ROUTER, ep["records"], bind=True)
    path = os.path.join(folder, "run.h5")
    recorder = Recorder(records=rec_sock, path=path, run_id=RUN, compression="none")

    def outbox(source):
        return RetainingOutbox(make_socket(ctx, zmq.DEALER, ep["records"], bind=False),
                               run_id=RUN, source=source)

    qpu = _replay(folder, distance, shots)
    server_out = outbox("instrument_server")
    server = InstrumentServer(
        qpu=qpu, dispatch=make_socket(ctx, zmq.ROUTER, ep["syndromes"], bind=True),
        control=make_socket(ctx, zmq.ROUTER, ep["control"], bind=True), records=server_out,
        monitor=None, max_in_flight=in_flight, correction_timeout=30.0, max_blocks=blocks,
        heartbeat_timeout=60.0)
    server.start(config_text="x", config_path="c", station_snapshot={})
    worker_out = outbox("decoder-0")
    worker = DecodingWorker(
        name="decoder-0", decoder=PyMatchingDecoder(),
        dispatch=make_socket(ctx, zmq.DEALER, ep["syndromes"], bind=False),
        control=make_socket(ctx, zmq.DEALER, ep["control"], bind=False), records=worker_out,
        credit=in_flight, heartbeat_timeout=60.0)
    starting = threading.Thread(target=worker.start)
    starting.start()
    while starting.is_alive():
        server.step(poll_ms=5)
        recorder.step(poll_ms=0)
    assert server.wait_for_workers(1, timeout=10.0)
    gc_pauses = [0.0, 0]  # seconds in the cyclic garbage collector, full collections

    def on_gc(phase, info, t=[0.0]):
        if phase == "start":
            t[0] = time.perf_counter()
        else:
            gc_pauses[0] += time.perf_counter() - t[0]
            gc_pauses[1] += info["generation"] == 2

    # The recorder's periodic flush (block rows written, checkpoint, acknowledgements), timed
    # on its own: each flush's thread CPU and wall time, and its share of the recorder's CPU.
    flushes: list[tuple[float, float]] = []  # (thread CPU s, wall s) of each flush
    write_blocks, checkpoint = recorder._write_blocks, recorder._checkpoint

    def timed_write_blocks() -> None:
        c0, t0 = time.thread_time(), time.perf_counter()
        write_blocks()
        checkpoint()
        flushes.append((time.thread_time() - c0, time.perf_counter() - t0))

    recorder._write_blocks, recorder._checkpoint = timed_write_blocks, lambda: None
    if freeze:
        gc.collect()
        gc.freeze()  # as each pipeline process does before its loop
    gc.callbacks.append(on_gc)
    parts = {"server": (lambda: server.step(poll_ms=0), server_out),
             "worker": (lambda: worker.step(poll_ms=0), worker_out),
             "recorder": (lambda: recorder.step(poll_ms=0), None)}
    busy = {k: 0.0 for k in parts}
    idle = {k: 0.0 for k in parts}
    profs = {k: cProfile.Profile(time.thread_time) for k in parts} if profile else {}
    clock = time.thread_time
    t0 = time.perf_counter()
    while server.acquiring or server.in_flight:
        for name, (step, out) in parts.items():
            c0 = clock()
            n = profs[name].runcall(step) if profs else step()
            if out is not None:
                out.pump()
            dt = clock() - c0
            if n:
                busy[name] += dt
            else:
                idle[name] += dt
    wall = time.perf_counter() - t0
    gc.callbacks.remove(on_gc)
    gc.unfreeze()
    recorder._write_blocks, recorder._checkpoint = write_blocks, checkpoint
    in_loop = list(flushes)
    applied = server.blocks_applied
    for name, prof in profs.items():
        prof.dump_stats(f"{profile}.{name}")
    # the end of the run: streams ended, the file closed and checked
    server.drain(timeout=5.0)
    server_out.end_stream()
    worker_out.end_stream()
    launcher = outbox("launcher")
    launcher.send(RunEnd(end_state="completed", reason="harness"))
    launcher.end_stream()
    for _ in range(200):
        for out in (server_out, worker_out, launcher):
            out.release()
            out.pump()
        recorder.step(poll_ms=1)
    recorder.close()
    with open_run(path) as run:
        integrity = run.integrity()
        recorded = int((run.blocks["applied"] == 1).sum())
    qpu.close()
    for s in (rec_sock,):
        s.close(0)
    ctx.destroy(linger=0)
    return {"distance": distance, "shots": shots, "in_flight": in_flight, "blocks": applied,
            "recorded_applied": recorded, "problems": integrity.problems,
            "busy_us_per_block": {k: 1e6 * v / applied for k, v in busy.items()},
            "idle_us_per_block": {k: 1e6 * v / applied for k, v in idle.items()},
            "wall_us_per_block": 1e6 * wall / applied,
            "gc_us_per_block": 1e6 * gc_pauses[0] / applied, "full_collections": gc_pauses[1],
            "flushes": len(in_loop),
            "flush_cpu_ms_p50": 1e3 * float(np.median([c for c, _ in in_loop])) if in_loop else 0.0,
            "flush_cpu_ms_max": 1e3 * max((c for c, _ in in_loop), default=0.0),
            "flush_us_per_block": 1e6 * sum(c for c, _ in in_loop) / applied}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--distance", type=int, default=3)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--in-flight", type=int, default=8)
    p.add_argument("--blocks", type=int, default=4000)
    p.add_argument("--no-freeze", action="store_true",
                   help="leave the start-up heap to the garbage collector (no gc.freeze())")
    p.add_argument("--profile", default="", help="cProfile each component's steps into PROFILE.server, .worker, .recorder")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qplane-cpu-") as folder:
        r = measure(a.distance, a.shots, a.in_flight, a.blocks, folder, a.profile,
                    freeze=not a.no_freeze)
    busy, idle = r["busy_us_per_block"], r["idle_us_per_block"]
    print(f"d={r['distance']} shots={r['shots']} in_flight={r['in_flight']} blocks={r['blocks']} "
          f"(recorded {r['recorded_applied']}, problems {r['problems']}): CPU us/block "
          + ", ".join(f"{k} {busy[k]:.1f} (+{idle[k]:.1f} idle)" for k in busy)
          + f"; total busy {sum(busy.values()):.1f}; garbage collector {r['gc_us_per_block']:.1f} "
          f"us/block, {r['full_collections']} full collection(s)")
    print(f"recorder flushes: {r['flushes']} in the loop, CPU per flush p50 "
          f"{r['flush_cpu_ms_p50']:.2f} ms, max {r['flush_cpu_ms_max']:.2f} ms; "
          f"{r['flush_us_per_block']:.1f} us/block of the recorder's busy time")
    # Per unit of the decoding worker's work (PyMatching, a fixed job): on a loaded machine
    # every component slows together, so these ratios move less than the microseconds do.
    worker = busy["worker"] + idle["worker"]
    if worker > 0:
        print("relative to the worker (busy + idle): " + ", ".join(
            f"{k} {(busy[k] + idle[k]) / worker:.3f}" for k in busy if k != "worker"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
