"""``qplane run`` and ``qplane check``.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["run", "config/sim_d3.yaml", "--max-blocks", "5"])
>>> args.config, args.max_blocks, args.duration
('config/sim_d3.yaml', 5, None)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``run`` and ``check`` to the ``qplane`` command line."""
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


def run_command(args: argparse.Namespace) -> int:
    from qplane.analysis.live import LiveView, RunMonitor, format_line
    from qplane.config import load_config
    from qplane.pipeline.launcher import (calibration_enabled, default_run_path, new_run_id,
                                          run_pipeline)

    config = load_config(args.config)
    duration = args.duration if args.duration is not None else config.qplane.run.duration
    max_blocks = args.max_blocks if args.max_blocks is not None else config.qplane.acquisition.max_blocks
    out = args.out or default_run_path(config)
    if duration is None and max_blocks is None:
        until = "until Ctrl-C"
    elif duration is not None:
        until = f"duration {duration:g} s"
    else:
        until = f"{max_blocks} blocks"
    print(f"qplane run {config.name}: decoder {config.qplane.decoding.decoder.type} x"
          f"{config.qplane.decoding.workers}, {until}, run file {out}", flush=True)
    run_id = new_run_id()
    print(f"run id {run_id} (remote workers join with: qplane worker decode CONFIG --run-id "
          f"{run_id})", flush=True)
    # The dashboard shows the run file's numbers (what `qplane watch` and the report show).
    monitor = RunMonitor(out, calibration=calibration_enabled(config))
    if args.quiet:
        outcome = run_pipeline(config, out_path=out, duration=duration, max_blocks=max_blocks,
                               run_id=run_id)
    else:
        with LiveView(sys.stdout) as view:
            outcome = run_pipeline(config, out_path=out, duration=duration, max_blocks=max_blocks,
                                   on_stats=lambda stats: view.update(monitor.update(stats)),
                                   run_id=run_id)
    print(f"\nrun {outcome.end_state}: {outcome.reason}")
    final = monitor.final(outcome.processes, outcome.stats)
    if final is not None:
        print(f"summary: {format_line(final)}")
        if final.decode_p50_s is not None:
            print(f"decoder time per block: p50 {final.decode_p50_s * 1e3:.3f} ms, "
                  f"p99 {final.decode_p99_s * 1e3:.3f} ms")
    print(f"run file: {outcome.path}")
    if outcome.end_state == "failed":
        print(f"qplane run: error: {outcome.reason}", file=sys.stderr)
    return outcome.exit_code


def check_command(args: argparse.Namespace) -> int:
    """Validate the config, open its station; print every error, or "configuration valid".

    Errors go to stderr, one line each (``qplane check: error: FILE: 'key': ...``), and then
    nothing else: "configuration valid" is printed only once the file validated and its station
    opened, followed by what was found.
    """
    from qplane.config import load_config
    from qplane.errors import ConfigError

    try:
        config = load_config(args.config)
        found = _open_and_describe(config, simulate=args.simulate)
    except ConfigError as e:
        for error in e.errors:
            print(f"qplane check: error: {error}", file=sys.stderr)
        return 2
    print(f"{config.path}: configuration valid")
    for line in found:
        print(line)
    return 0


def _open_and_describe(config: Any, *, simulate: bool) -> list[str]:
    """Open the config's station, describe it, close it again."""
    from qplane.pipeline.station import open_station

    lab, qpu = open_station(config, simulate=simulate)
    try:
        names = ", ".join(lab.station.components)
        circuit = qpu.decoding_circuit()
        lines = [f"station opened{' on simulated twins' if simulate else ''}: {names}"]
        if lab.controls is not None:
            lines.append(f"controls bound: {', '.join(sorted(config.qplane.controls.bound()))}")
        lines.append(f"QPU {config.qplane.qpu}: distance {qpu.distance()}, rounds {qpu.rounds()}, "
                     f"basis {qpu.basis()}, {circuit.num_detectors} detectors, "
                     f"{qpu.shots_per_block()} shots per block")
    finally:
        lab.close()
    lines.append(_placement_line(config))
    return lines


def _placement_line(config: Any) -> str:
    """Where the run's processes would run on this machine, as the launcher resolves it
    (a CPU the machine does not offer is the launcher's :class:`ConfigError`, raised here)."""
    from qplane.errors import ConfigError
    from qplane.pipeline.placement import describe, placement_for

    try:
        placement = placement_for(config)
    except ConfigError as e:
        raise ConfigError(e.message, path=config.path, key=e.key) from None
    return (f"placement ({config.qplane.placement.preset}): "
            + (describe(placement) if placement else "left to the kernel"))
