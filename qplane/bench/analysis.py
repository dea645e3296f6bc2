"""``qplane bench analysis``: opening a big run file and computing the logical error rate per window.

A run file of 10 million shots at d = 5 (synthetic: stim shots, PyMatching predictions, written
through RunFileWriter in 1024-shot blocks) is written to ``--path`` (default in /tmp), then
timed:

- open: ``open_run(path)`` (target: under 1 s), beside ``h5py.File(path)``;
- the logical error rate per time window (100 windows), from the per-block failure counts
  (``source="blocks"``) and recounted shot by shot from corrections vs truth
  (``source="shots"``), each beside the baseline: opening the file with plain h5py and reading
  the same raw datasets (the block columns; plus /qec/predictions, the corrections applied, and /qec/truth) into memory.
  Target: within 2x of the baseline.

Each measurement is the median of ``--repeats`` runs, ours and the baseline alternating, with
the file in the page cache (it was just written). The file is deleted at the end unless --keep.

    qplane bench analysis                                    # writes runs/bench/analysis.json
    qplane bench analysis --shots 100000 --out /tmp/a.json   # a quick run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time

from qplane.bench._results import write_results
from qplane.progress import track

BLOCK_FIELDS = ["t_acquired", "shot_start", "shots", "failures", "applied"]


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _open_ours(path):
    from qplane.analysis import open_run

    run = open_run(path)
    run.close()


def _open_h5py(path):
    import h5py

    with h5py.File(path, "r", swmr=True, libver="latest", locking=False) as f:
        f.attrs["schema_version"]


def _ler_ours(path, source):
    from qplane.analysis import logical_error_rate, open_run

    with open_run(path) as run:
        return logical_error_rate(run, windows=100, source=source)


def _baseline_blocks(path):
    import h5py

    with h5py.File(path, "r", swmr=True, libver="latest", locking=False) as f:
        return f["qec/blocks"].fields(BLOCK_FIELDS)[:]


def _baseline_shots(path):
    import h5py

    with h5py.File(path, "r", swmr=True, libver="latest", locking=False) as f:
        blocks = f["qec/blocks"].fields(BLOCK_FIELDS)[:]
        return blocks, f["qec/predictions"][:], f["qec/truth"][:]


def _median_pair(ours, baseline, repeats):
    a, b = [], []
    for _ in range(repeats):
        a.append(_timed(ours)[0])
        b.append(_timed(baseline)[0])
    return statistics.median(a), statistics.median(b), a, b


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--shots", type=int, default=10_000_000,
                        help="shots in the synthetic run file (default: 10000000)")
    parser.add_argument("--distance", type=int, default=5, help="code distance (default: 5)")
    parser.add_argument("--path", default="/tmp/qplane_bench_analysis.h5",
                        help="the run file (written first unless it exists)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement (median; default: 5)")
    parser.add_argument("--keep", action="store_true", help="keep the run file")
    parser.add_argument("--out", default=os.path.join("runs", "bench", "analysis.json"),
                        help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``; print and write the results."""
    import h5py
    import numpy as np

    from qplane.analysis import open_run
    from qplane.analysis.synthetic import write_synthetic_run

    shots_per_block = 1024
    blocks = math.ceil(args.shots / shots_per_block)
    generated_s = None
    if not os.path.exists(args.path):
        print(f"writing {blocks * shots_per_block:,} shots at d={args.distance} to {args.path} ...",
              flush=True)
        generated_s, _ = _timed(lambda: write_synthetic_run(
            args.path, distance=args.distance, p=0.002, blocks=blocks,
            shots_per_block=shots_per_block, correlated=False, shadow_fraction=0.02,
            calibration_every=500, flush_every=256, seconds_per_block=0.01, seed=5))
        print(f"  written in {generated_s:.1f} s", flush=True)
    size = os.path.getsize(args.path)
    with open_run(args.path) as run:
        num_shots, num_blocks, nd = run.num_shots, len(run.block_columns("shots")["shots"]), run.num_detectors

    results: dict[str, object] = {}
    load_before = os.getloadavg()
    # Warm-up (imports, page cache) once each, not timed.
    _ler_ours(args.path, "blocks")
    _baseline_shots(args.path)

    o, b, oo, bb = _median_pair(lambda: _open_ours(args.path), lambda: _open_h5py(args.path),
                                args.repeats)
    results["open"] = {"ours_s": o, "h5py_open_s": b, "target_s": 1.0, "meets_target": o < 1.0,
                       "ours_all_s": oo, "h5py_all_s": bb}
    for source, baseline in track((("blocks", _baseline_blocks), ("shots", _baseline_shots)),
                                  "LER per window", label=lambda item: item[0]):
        o, b, oo, bb = _median_pair(lambda: _ler_ours(args.path, source),
                                    lambda: baseline(args.path), args.repeats)
        results[f"ler_windows_from_{source}"] = {
            "ours_s": o, "baseline_h5py_read_s": b, "ratio": o / b, "target_ratio": 2.0,
            "meets_target": o / b <= 2.0, "ours_all_s": oo, "baseline_all_s": bb,
        }
    # Consistency: both sources give the same table.
    a = _ler_ours(args.path, "blocks")
    c = _ler_ours(args.path, "shots")
    results["sources_agree"] = bool(np.array_equal(a["k"].to_numpy(), c["k"].to_numpy()))
    det_s, det = _timed(lambda: _det_all(args.path))
    results["detection_statistics_all_shots_s"] = det_s

    report = {
        "benchmark": "analysis",
        "file": {"shots": num_shots, "blocks": num_blocks, "distance": args.distance,
                 "num_detectors": nd, "bytes": size, "generated_s": generated_s},
        "machine": {"load_average_before": load_before,  # + machine_info()
                    "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version},
        "page_cache": "warm (the file was just written / read once before timing)",
        "repeats": args.repeats,
        "results": results,
    }
    write_results(args.out, report)
    print(json.dumps(report, indent=2))
    if not args.keep:
        os.remove(args.path)
    return 0


def _det_all(path):
    from qplane.analysis import detection_statistics, open_run

    with open_run(path) as run:
        return detection_statistics(run, max_shots=None)
