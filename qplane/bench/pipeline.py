"""``qplane bench pipeline``: throughput and latency of the closed loop vs PyMatching in one process.

For each distance (3, 5) and block size (1, 64, 1024 shots) it runs the real pipeline
(instrument server, one decoding worker, recorder: three processes over ipc://) for a fixed
time, then decodes the very blocks the run recorded with PyMatching directly in this process.
Both numbers come from the same run, so their ratio is the pipeline's overhead:

- ``pipeline_shots_per_s``: shots corrected per second, first to last block (warm-up excluded);
- ``direct_shots_per_s``: the same blocks through ``Matching.decode_batch`` back to back;
- ``latency_p50/p99_ms``: acquired -> correction applied on the instrument, per block.

Block size 1 runs twice: with ``max_in_flight`` 8 (throughput) and 1 (latency: one block in the
loop at a time, the figure a real-time feedback loop cares about).

    qplane bench pipeline [--seconds 6] [--update-results]   # runs/bench/pipeline.json
    qplane bench pipeline --wire-only     (only the wire cost per record; nothing written)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import textwrap
import time

from qplane.bench._results import write_results
from qplane.progress import track

WARMUP_BLOCKS = 20


def _config(folder: str, distance: int, shots: int, in_flight: int) -> str:
    path = os.path.join(folder, f"bench_d{distance}_b{shots}_f{in_flight}.yaml")
    with open(path, "w") as f:
        f.write(textwrap.dedent(f"""
            instruments:
              qpu:
                type: qplane.sim_instruments.qpu.SimulatedQPU
                init: {{distance: {distance}, rounds: {distance}, basis: Z, physical_error_rate: 0.003, seed: 1}}
            qplane:
              qpu: qpu
              acquisition: {{shots_per_block: {shots}, max_in_flight: {in_flight}}}
              decoding: {{workers: 1, decoder: {{type: pymatching}}}}
            """))
    return path


def measure(folder: str, distance: int, shots: int, in_flight: int, seconds: float) -> dict:
    """Run the pipeline for ``seconds`` on one case, then decode its blocks directly."""
    import h5py
    import numpy as np
    import pymatching
    import stim

    from qplane.config import load_config
    from qplane.pipeline.launcher import run_pipeline

    config = load_config(_config(folder, distance, shots, in_flight))
    out = os.path.join(folder, f"d{distance}_b{shots}_f{in_flight}.h5")
    outcome = run_pipeline(config, out_path=out, duration=seconds)
    if outcome.end_state != "completed":
        raise RuntimeError(f"benchmark run {out} ended {outcome.end_state}: {outcome.reason}")
    with h5py.File(out, "r") as f:
        blocks = f["qec/blocks"][:]
        dets = f["qec/detection_events"][:]
        circuit = stim.Circuit(f["qec/circuits"][0]["stim_circuit"].decode())
    blocks = np.sort(blocks[blocks["applied"] == 1], order="seq")[WARMUP_BLOCKS:]
    span = blocks["t_applied"][-1] - blocks["t_acquired"][0]
    pipeline_rate = blocks["shots"].sum() / span
    latency = (blocks["t_applied"] - blocks["t_acquired"]) * 1e3

    matching = pymatching.Matching.from_detector_error_model(circuit.detector_error_model(decompose_errors=True))
    slices = [dets[b["shot_start"]: b["shot_start"] + b["shots"]] for b in blocks]
    t0 = time.perf_counter()
    direct = [matching.decode_batch(s, bit_packed_shots=True, bit_packed_predictions=True) for s in slices]
    direct_seconds = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        preds = f["qec/predictions"][:]
    agree = all(np.array_equal(p, preds[b["shot_start"]: b["shot_start"] + b["shots"]])
                for p, b in zip(direct, blocks))
    direct_rate = blocks["shots"].sum() / direct_seconds
    os.remove(out)
    return {
        "distance": distance, "rounds": distance, "block_size": shots, "max_in_flight": in_flight,
        "blocks": int(len(blocks)), "shots": int(blocks["shots"].sum()),
        "pipeline_shots_per_s": float(pipeline_rate), "direct_shots_per_s": float(direct_rate),
        "throughput_ratio": float(pipeline_rate / direct_rate),
        "latency_p50_ms": float(np.percentile(latency, 50)), "latency_p99_ms": float(np.percentile(latency, 99)),
        "direct_ms_per_block": float(direct_seconds / len(blocks) * 1e3),
        "predictions_identical": bool(agree),
    }


def measure_wire(repeats: int = 20_000) -> list[dict]:
    """Cost of one record on the wire: build + validate + encode at the sender, decode +
    validate at the receiver, per record kind of a block's path (µs, best of three)."""
    import numpy as np

    from qplane.records import Applied, Correction, Record, Syndrome, decode, encode

    rng = np.random.default_rng(0)
    cases = []
    for shots in (1, 1024):
        dets = rng.integers(0, 256, (shots, 3), dtype=np.uint8)
        preds = rng.integers(0, 2, (shots, 1), dtype=np.uint8)
        cases += [
            ("syndrome", shots, lambda d=dets: (Syndrome(block_index=1, circuit_id="ab" * 8,
                                                         num_detectors=24, t_acquired=1.0),
                                                {"detection_events": d})),
            ("correction", shots, lambda p=preds: (Correction(syndrome_seq=1, t_decoded=1.0,
                                                              decode_seconds=1e-4), {"predictions": p})),
            ("applied", shots, lambda p=preds: (Applied(syndrome_seq=1, t_decoded=1.0, t_applied=1.1,
                                                        decode_seconds=1e-4, worker="decoder-0",
                                                        failures=0), {"predictions": p, "truth": p})),
        ]
    out = []
    for kind, shots, make in cases:
        best = {"build_encode_us": float("inf"), "decode_us": float("inf")}
        n = repeats if shots == 1 else repeats // 4
        for _ in range(3):
            t0 = time.perf_counter()
            for i in range(n):
                body, arrays = make()
                frames = encode(Record.build(body, run_id="r", source="s", seq=i, arrays=arrays))
            t1 = time.perf_counter()
            frames = [bytes(f) for f in frames]
            for _ in range(n):
                decode(frames)
            t2 = time.perf_counter()
            best["build_encode_us"] = min(best["build_encode_us"], (t1 - t0) / n * 1e6)
            best["decode_us"] = min(best["decode_us"], (t2 - t1) / n * 1e6)
        out.append({"kind": kind, "shots": shots, **best,
                    "total_us": best["build_encode_us"] + best["decode_us"]})
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--seconds", type=float, default=6.0, help="acquisition time per case")
    parser.add_argument("--wire-only", action="store_true",
                        help="only measure the wire cost per record (seconds, no pipeline runs)")
    parser.add_argument("--out", default=os.path.join("runs", "bench", "pipeline.json"),
                        help="results file")


def main(args: argparse.Namespace) -> int:
    """Run every case and write the results file."""
    wire = measure_wire()
    for w in wire:
        print(f"wire {w['kind']:10s} {w['shots']:5d} shots: build+encode {w['build_encode_us']:.1f} us, "
              f"decode {w['decode_us']:.1f} us", flush=True)
    if args.wire_only:
        print("(--wire-only: no pipeline runs, nothing written)")
        return 0
    cases = [(d, b, 8) for d in (3, 5) for b in (1, 64, 1024)] + [(3, 1, 1), (5, 1, 1)]
    results = []
    with tempfile.TemporaryDirectory(prefix="qplane-bench-") as folder:
        for distance, shots, in_flight in track(cases, "pipeline cases",
                                                label=lambda c: f"d={c[0]} block={c[1]} in flight={c[2]}"):
            r = measure(folder, distance, shots, in_flight, args.seconds)
            results.append(r)
            print(f"d={distance} block={shots:5d} in_flight={in_flight}: pipeline {r['pipeline_shots_per_s']:10.0f} shots/s, "
                  f"direct {r['direct_shots_per_s']:10.0f} shots/s, ratio {r['throughput_ratio']:.2f}, "
                  f"latency p50 {r['latency_p50_ms']:.2f} ms p99 {r['latency_p99_ms']:.2f} ms", flush=True)
    report = {
        "benchmark": "pipeline", "seconds_per_case": args.seconds,
        "targets": {"throughput_ratio_at_1024": 0.8, "latency_p99_ms_at_block_1": 2.0},
        "results": results, "wire": wire,
    }
    write_results(args.out, report)
    print(f"wrote {args.out}")
    return 0
