"""``qplane run`` and ``qplane check``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from qplane.config import load_config
from qplane.pipeline.stats import wilson_interval


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run the closed loop (QPU -> decoding -> corrections -> run file) from a config",
        description="Start the instrument server, the decoding worker(s) and the recorder described by "
                    "CONFIG, show live statistics, and write everything to an HDF5 run file. Ctrl-C ends "
                    "the run cleanly (exit code 130); a process that dies ends it with exit code 1.",
    )
    run.add_argument("config", help="config file (QCoDeS station section + qplane section), e.g. config/sim_d3.yaml")
    run.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                     help="seconds to acquire (default: qplane.run.duration of the config; none = until Ctrl-C)")
    run.add_argument("--max-blocks", type=int, default=None, metavar="N",
                     help="stop after N syndrome blocks (default: qplane.acquisition.max_blocks)")
    run.add_argument("--out", default=None, metavar="PATH",
                     help="run file to write (default: <qplane.run.output_dir>/<UTC timestamp>_<config name>.h5)")
    run.add_argument("--quiet", action="store_true", help="print only the final summary")
    run.set_defaults(func=run_command)

    check = subparsers.add_parser(
        "check", help="validate a config and open its station without running",
        description="Validate CONFIG (every key, type and value) and open every instrument of its "
                    "station, then close them again. Exit code 0 if all is well, 2 otherwise.",
    )
    check.add_argument("config", help="config file to check")
    check.add_argument("--simulate", action="store_true",
                       help="open every VISA instrument on its pyvisa-sim twin instead of its address")
    check.set_defaults(func=check_command)


def register_bench(benches: Any) -> None:
    from qplane.pipeline import bench

    parser = benches.add_parser("pipeline", help="closed-loop throughput and latency vs direct PyMatching",
                                description=bench.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(parser)
    parser.set_defaults(func=bench.run_benchmark)


def format_stats(stats: dict[str, Any]) -> str:
    """One line of live statistics.

    >>> format_stats({"elapsed": 2.0, "blocks_applied": 10, "shots": 10240, "failures": 3,
    ...               "latency_p50": 0.0012, "latency_p99": 0.004, "shadow_shots": 0,
    ...               "shadow_disagreements": 0, "blocks_lost": 0, "in_flight": 2})
    't=   2.0s  blocks 10  shots 10240  LER 2.93e-04 [9.97e-05, 8.61e-04]  latency p50 1.20 ms p99 4.00 ms  in flight 2'
    """
    shots, failures = stats.get("shots", 0), stats.get("failures", 0)
    lo, hi = wilson_interval(failures, shots)
    ler = failures / shots if shots else 0.0
    p50, p99 = stats.get("latency_p50"), stats.get("latency_p99")
    latency = (f"latency p50 {p50 * 1e3:.2f} ms p99 {p99 * 1e3:.2f} ms"
               if p50 is not None else "latency -")
    line = (f"t={stats.get('elapsed', 0.0):6.1f}s  blocks {stats.get('blocks_applied', 0)}  shots {shots}  "
            f"LER {ler:.2e} [{lo:.2e}, {hi:.2e}]  {latency}  in flight {stats.get('in_flight', 0)}")
    if stats.get("shadow_shots"):
        line += f"  shadow disagree {stats['shadow_disagreements']}/{stats['shadow_shots']}"
    if stats.get("blocks_lost"):
        line += f"  LOST {stats['blocks_lost']}"
    return line


class _PlainLive:
    """Prints a statistics line at most every ``interval`` seconds."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._next = 0.0

    def __call__(self, stats: dict[str, Any]) -> None:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.interval
            print(format_stats(stats), flush=True)


def run_command(args: argparse.Namespace) -> int:
    from qplane.pipeline.launcher import default_run_path, run_pipeline

    config = load_config(args.config)
    duration = args.duration if args.duration is not None else config.qplane.run.duration
    max_blocks = args.max_blocks if args.max_blocks is not None else config.qplane.acquisition.max_blocks
    out = args.out or default_run_path(config)
    print(f"qplane run {config.name}: decoder {config.qplane.decoding.decoder.type} x"
          f"{config.qplane.decoding.workers}, "
          f"{'until Ctrl-C' if duration is None and max_blocks is None else f'duration {duration} s' if duration is not None else f'{max_blocks} blocks'}"
          f", run file {out}", flush=True)
    outcome = run_pipeline(config, out_path=out, duration=duration, max_blocks=max_blocks,
                           on_stats=None if args.quiet else _PlainLive())
    stats = outcome.stats
    print(f"\nrun {outcome.end_state}: {outcome.reason}")
    if stats:
        print(f"summary: {format_stats(stats)}")
        if stats.get("decode_p50") is not None:
            print(f"decoder time per block: p50 {stats['decode_p50'] * 1e3:.3f} ms, "
                  f"p99 {stats['decode_p99'] * 1e3:.3f} ms")
    print(f"run file: {outcome.path}")
    if outcome.end_state == "failed":
        print(f"qplane run: error: {outcome.reason}", file=sys.stderr)
    return outcome.exit_code


def check_command(args: argparse.Namespace) -> int:
    from qplane.pipeline.station import open_station

    config = load_config(args.config)
    print(f"{config.path}: configuration valid")
    lab, qpu = open_station(config, simulate=args.simulate)
    try:
        names = ", ".join(lab.station.components)
        circuit = qpu.decoding_circuit()
        print(f"station opened{' on simulated twins' if args.simulate else ''}: {names}")
        if lab.controls is not None:
            print(f"controls bound: {', '.join(sorted(config.qplane.controls.keys() - {'qubits'}))}")
        print(f"QPU {config.qplane.qpu}: distance {qpu.distance()}, rounds {qpu.rounds()}, "
              f"basis {qpu.basis()}, {circuit.num_detectors} detectors, "
              f"{qpu.shots_per_block()} shots per block")
    finally:
        lab.close()
    return 0
