"""``qplane bench resilience``: a long run with random kill -9 / SIGSTOP of workers and a fuzz of
every endpoint, and what the pipeline made of it.

One run of the real pipeline (instrument server, ``--workers`` decoding workers, a calibration
worker with ``--calibration``, the recorder) for ``--seconds``. Every ``--fault-every``
seconds (on average, randomly) one worker or the recorder, chosen at random, gets kill -9 or
SIGSTOP; meanwhile a fuzzer sends every endpoint malformed messages (random bytes, broken JSON)
and well-formed records it may not send (a correction from an unregistered peer, a registration
under another role). It reports:

- ``blocks_acquired`` / ``applied`` / ``lost`` (acquired = applied + lost; the target is lost 0)
  and the rows the file holds (every acquired block once, a recorder restart included);
- ``restarts`` per process, and each fault with its detection latency (injection -> the
  launcher's finding, and -> the instrument server declaring the decoder lost);
- ``rejections`` counted by the instrument server and the recorder.

    qplane bench resilience [--seconds 60] [--workers 3] [--update-results]

The CURVE-against-plain throughput section is measured by the security half of issue 11
(``qplane.bench.curve_cost.measure_curve_cost``) and joins this file at merge (see ``main``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import textwrap
import time
from typing import Any

from qplane.bench._results import write_results


def _config(folder: str, *, workers: int, calibration: bool) -> str:
    path = os.path.join(folder, "resilience.yaml")
    if calibration:
        import yaml

        from qplane.sim_instruments.lab import sim_lab_config

        document = sim_lab_config(distance=3, drift=True, clock_speedup=600.0, seed=5)
        document["qplane"] = dict(document.get("qplane", {}))
        document["qplane"].update({
            "qpu": "qpu", "acquisition": {"shots_per_block": 64, "max_in_flight": 8},
            "decoding": {"workers": workers},
            "calibration": {"enabled": True, "second_opinion": False, "figures": False},
            "supervision": {"restart": {"max_restarts": 1000}}})
        with open(path, "w") as f:
            yaml.safe_dump(document, f)
        return path
    with open(path, "w") as f:
        f.write(textwrap.dedent(f"""
            instruments:
              qpu:
                type: qplane.sim_instruments.qpu.SimulatedQPU
                init: {{distance: 3, rounds: 3, basis: Z, physical_error_rate: 0.003, seed: 1}}
            qplane:
              qpu: qpu
              acquisition: {{shots_per_block: 64, max_in_flight: 8}}
              decoding: {{workers: {workers}, decoder: {{type: pymatching}}}}
              supervision: {{restart: {{max_restarts: 1000}}}}
            """))
    return path


class _Fuzzer:
    """Malformed and unauthorised messages to every endpoint of a run (plain pyzmq)."""

    def __init__(self, endpoints: dict[str, str], run_id: str, seed: int):
        import zmq

        self.zmq = zmq
        self.ctx = zmq.Context()
        self.rng = random.Random(seed)
        self.run_id = run_id
        kinds = {"syndromes": zmq.DEALER, "control": zmq.DEALER, "records": zmq.DEALER,
                 "monitor": zmq.PUB}
        self.sockets = {}
        for name, kind in kinds.items():
            s = self.ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SNDHWM, 100)
            s.connect(endpoints[name])
            self.sockets[name] = s
        self.sent = 0

    def _forged(self) -> list[bytes]:
        from qplane.records import Correction, Record, Register, encode

        import numpy as np

        if self.rng.random() < 0.5:
            body, arrays = Correction(syndrome_seq=self.rng.randrange(10**6), t_decoded=0.0,
                                      decode_seconds=0.0), {"predictions": np.zeros((64, 1), np.uint8)}
        else:
            body, arrays = Register(name="intruder", role="calibration", credit=4), {}
        rec = Record.build(body, run_id=self.run_id, source="intruder", seq=self.sent, arrays=arrays)
        return encode(rec)

    def send_some(self, n: int = 5) -> None:
        for _ in range(n):
            name = self.rng.choice(sorted(self.sockets))
            r = self.rng.random()
            if r < 0.4:
                frames = [os.urandom(self.rng.randrange(1, 64)) for _ in range(self.rng.randrange(1, 4))]
            elif r < 0.7:
                frames = [b"event", b"{\"broken json", b""]
            else:
                frames = self._forged()
            try:
                self.sockets[name].send_multipart(frames, flags=self.zmq.NOBLOCK)
                self.sent += 1
            except self.zmq.Again:
                pass

    def close(self) -> None:
        self.ctx.destroy(linger=0)


def measure(*, seconds: float, workers: int, fault_every: float, calibration: bool,
            seed: int) -> dict[str, Any]:
    """Run the pipeline for ``seconds`` with random faults and fuzz; return the findings."""
    import h5py

    from qplane.config import load_config
    from qplane.pipeline.launcher import Launcher

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="qplane-bench-resilience-") as folder:
        config = load_config(_config(folder, workers=workers, calibration=calibration))
        out = os.path.join(folder, "resilience.h5")
        launcher = Launcher(config, out_path=out, duration=None)
        faults: list[dict[str, Any]] = []
        fuzzer = None
        try:
            launcher.start()
            for _ in range(3000):  # until QEC runs (bounded)
                launcher._poll_monitor(100)
                if launcher.supervise(time.time()) is not None:
                    raise RuntimeError("the run ended before QEC started")
                if launcher.last_stats.get("blocks_applied", 0) >= 10:
                    break
            fuzzer = _Fuzzer(launcher.endpoints, launcher.run_id, seed)
            t_end = time.time() + seconds
            next_fault = time.time() + rng.expovariate(1.0 / fault_every)
            ended = None
            while time.time() < t_end and ended is None:
                launcher._poll_monitor(50)
                now = time.time()
                ended = launcher.supervise(now)
                fuzzer.send_some()
                if now >= next_fault:
                    next_fault = now + rng.expovariate(1.0 / fault_every)
                    faults.append(_inject(launcher, rng, now))
            end_state = ended[0] if ended else None
            if ended is None:
                launcher.interrupt()
                end_state, reason = launcher.watch()
            else:
                reason = ended[1]
            launcher.shutdown(end_state, reason)
        finally:
            if fuzzer is not None:
                fuzzer.close()
            launcher.close()
        _detections(faults, launcher.detections)
        with h5py.File(out, "r") as f:
            events = [(e["kind"].decode() if isinstance(e["kind"], bytes) else e["kind"],
                       json.loads(e["details"] or "{}"), float(e["time"])) for e in f["events"][:]]
            rows = int(f["qec/blocks"].shape[0])
            unapplied = int((f["qec/blocks"]["applied"][:] == 0).sum())
            end_attr = f.attrs["end_state"]
        stopped = next((d for k, d, _ in events if k == "acquisition_stopped"), {})
        closed = next((d for k, d, _ in events if k == "recorder_closed"), {})
        lost_at_server = [(d.get("worker"), t) for k, d, t in events if k == "worker_lost"]
        for fault in faults:  # the server's own detection of a lost decoder
            later = [t for w, t in lost_at_server if w == fault["source"] and t >= fault["time"]]
            fault["server_detection_s"] = (min(later) - fault["time"]) if later else None
        latencies = [f["detection_s"] for f in faults if f.get("detection_s") is not None]
        return {
            "seconds": seconds, "workers": workers, "calibration": calibration, "seed": seed,
            "end_state": end_state, "file_end_state": str(end_attr),
            "blocks_acquired": stopped.get("blocks_acquired"),
            "blocks_applied": stopped.get("blocks_applied"),
            "blocks_lost": stopped.get("blocks_lost"),
            "file_blocks": rows, "file_unapplied": unapplied,
            "restarts": dict(launcher.restarts), "restarts_total": sum(launcher.restarts.values()),
            "faults": faults, "faults_total": len(faults),
            "detection_s_max": max(latencies) if latencies else None,
            "detection_s_median": sorted(latencies)[len(latencies) // 2] if latencies else None,
            "fuzz_messages": fuzzer.sent if fuzzer else 0,
            "rejections_server": stopped.get("rejected"),
            "rejections_recorder": closed.get("rejected"),
            "refusals_recorded": sum(1 for k, _, _ in events if k in ("refused_record",
                                                                     "rejected_record")),
        }


def _inject(launcher: Any, rng: random.Random, now: float) -> dict[str, Any]:
    """kill -9 or SIGSTOP one running worker or the recorder, chosen at random."""
    candidates = [c for c in launcher.children if c.role in ("decoder", "calibration", "recorder")
                  and c.proc.poll() is None and not c.hung]
    if not candidates:
        return {"time": now, "action": "none", "process": "", "source": ""}
    child = rng.choice(candidates)
    action = rng.choice(["kill -9", "SIGSTOP"])
    os.kill(child.proc.pid, signal.SIGKILL if action == "kill -9" else signal.SIGSTOP)
    return {"time": now, "action": action, "process": child.name, "source": child.source,
            "pid": child.proc.pid}


def _detections(faults: list[dict[str, Any]], detections: list[dict[str, Any]]) -> None:
    """Each fault's detection latency: injection -> the launcher finding that process."""
    for fault in faults:
        found = [d["time"] for d in detections
                 if d["source"] == fault["source"] and d["time"] >= fault["time"]]
        fault["detection_s"] = (min(found) - fault["time"]) if found else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the faulty run")
    parser.add_argument("--workers", type=int, default=3, help="decoding workers")
    parser.add_argument("--fault-every", type=float, default=6.0,
                        help="mean seconds between injected faults")
    parser.add_argument("--calibration", action="store_true",
                        help="run a calibration worker too (and inject faults into it)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the faults and the fuzz")
    parser.add_argument("--no-curve-cost", dest="curve_cost", action="store_false",
                        help="skip the CURVE-vs-plain tcp throughput measurement")
    parser.add_argument("--curve-repeats", type=int, default=3,
                        help="repeats of each CURVE / plain throughput run (medians)")
    parser.add_argument("--out", default=os.path.join("runs", "bench", "resilience.json"),
                        help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the faulty run and write the results file."""
    r = measure(seconds=args.seconds, workers=args.workers, fault_every=args.fault_every,
                calibration=args.calibration, seed=args.seed)
    print(f"blocks acquired {r['blocks_acquired']} applied {r['blocks_applied']} lost "
          f"{r['blocks_lost']}; faults {r['faults_total']}, restarts {r['restarts_total']}, "
          f"detection median {r['detection_s_median']} s max {r['detection_s_max']} s; "
          f"fuzz {r['fuzz_messages']} messages, rejected: server {r['rejections_server']}, "
          f"recorder {r['rejections_recorder']}", flush=True)
    report = {"benchmark": "resilience", "targets": {"blocks_lost": 0, "detection_s": 2.0},
              "results": r, "curve_cost": None}
    if args.curve_cost:  # the throughput cost of CURVE against plain tcp, in the same run
        from qplane.bench.curve_cost import measure_curve_cost
        report["curve_cost"] = measure_curve_cost(repeats=args.curve_repeats)
    write_results(args.out, report)
    print(f"wrote {args.out}")
    return 0 if r["blocks_lost"] == 0 else 1
