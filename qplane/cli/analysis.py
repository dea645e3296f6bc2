"""``qplane report`` and ``qplane watch``: the analysis subcommands.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["report", "a.h5", "b.h5", "--out", "reports"])
>>> args.runs, args.out
(['a.h5', 'b.h5'], 'reports')
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``report`` and ``watch`` to the ``qplane`` command line."""
    report = subparsers.add_parser(
        "report", help="write an HTML report (with PNG figures) of one run, or compare several",
        description="Write a self-contained HTML report of RUN.h5 (run summary, logical error rate "
                    "over time, detection-event heat map and time series, latency histogram with "
                    "p50/p99, shadow-decoder disagreement, calibration timeline, events, gaps and "
                    "errors) and its figures as PNG files. With several run files, they are "
                    "compared side by side. The report opens offline in any browser.",
    )
    report.add_argument("runs", nargs="+", metavar="RUN.h5", help="run file(s) to report on")
    report.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the report and figures (default: beside the first run file)")
    report.add_argument("--windows", type=int, default=30,
                        help="time windows for the rates over time (default: 30)")
    report.add_argument("--max-shots", type=int, default=2_000_000,
                        help="at most about this many shots are read for the detection-event "
                             "statistics (evenly spaced blocks; default: 2000000; 0: all)")
    report.set_defaults(func=report_command)

    watch = subparsers.add_parser(
        "watch", help="follow a run file live (a run started elsewhere)",
        description="Show the live dashboard of a run that another process is writing, read from "
                    "its run file (SWMR), until the run ends or Ctrl-C. On a terminal it is a "
                    "dashboard; otherwise (pipes, CI, logs) one plain line per interval.",
    )
    watch.add_argument("run", metavar="RUN.h5", help="run file to follow")
    watch.add_argument("--interval", type=float, default=1.0,
                       help="seconds between reads (default: 1)")
    watch.add_argument("--once", action="store_true", help="show one snapshot and exit")
    watch.add_argument("--plain", action="store_true",
                       help="plain lines even on a terminal")
    watch.add_argument("--stale-after", type=float, default=10.0, metavar="SECONDS",
                       help="flag a live run whose newest block is older than this (default: 10)")
    watch.set_defaults(func=watch_command)


def report_command(args: argparse.Namespace) -> int:
    from qplane.analysis.report import write_report

    path = write_report(args.runs, out_dir=args.out, windows=args.windows,
                        max_shots=args.max_shots or None)
    print(f"report: {path}")
    return 0


def watch_command(args: argparse.Namespace) -> int:
    from qplane.analysis.live import LiveView, watch

    view = LiveView(sys.stdout, plain=True if args.plain else None, interval=0)
    try:
        with view:
            last = watch(args.run, view=view, interval=args.interval, once=args.once,
                         stale_after_s=args.stale_after)
    except KeyboardInterrupt:
        return 130
    return 1 if last.state == "failed" else 0
