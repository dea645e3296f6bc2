"""``qplane report``, ``qplane compare`` and ``qplane watch``: the analysis subcommands.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["report", "a.h5", "b.h5", "--out", "reports"])
>>> args.runs, args.out
(['a.h5', 'b.h5'], 'reports')
>>> parser.parse_args(["compare", "a.h5", "b.h5"]).runs
['a.h5', 'b.h5']
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``report``, ``compare`` and ``watch`` to the ``qplane`` command line."""
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

    compare = subparsers.add_parser(
        "compare", help="compare the logical error rates of two or more runs",
        description="For every pair of run files, print run B's logical error rate against run "
                    "A's: the ratio B / A with its confidence interval and the p-value of the "
                    "test that the two rates are equal. Runs that decoded the same shots "
                    "(identical detection events and truth, e.g. recorded shots decoded two "
                    "ways) are compared shot by shot with McNemar's exact test; other runs as "
                    "independent samples with Fisher's exact test. Only simulated runs (with "
                    "ground truth) have a logical error rate. The same table is in the "
                    "'Comparison' section of 'qplane report A.h5 B.h5'.",
    )
    compare.add_argument("runs", nargs="+", metavar="RUN.h5",
                         help="two or more run files; each later one is compared with each "
                              "earlier one")
    compare.add_argument("--confidence", type=float, default=0.95,
                         help="coverage of the ratio's interval (default: 0.95)")
    compare.add_argument("--json", action="store_true",
                         help="print the comparisons as JSON instead of text (NaN and "
                              "infinity as null)")
    compare.set_defaults(func=compare_command)

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


def compare_command(args: argparse.Namespace) -> int:
    import json
    import math

    from qplane.analysis.compare import compare_files, format_p, format_ratio
    from qplane.errors import QplaneError

    if len(args.runs) < 2:
        raise QplaneError("qplane compare needs at least two run files, e.g. "
                          "'qplane compare a.h5 b.h5'")
    comparisons = compare_files(args.runs, confidence=args.confidence)
    if args.json:
        def finite(value):  # strict JSON: NaN and infinity as null
            return None if isinstance(value, float) and not math.isfinite(value) else value

        print(json.dumps([{k: finite(v) for k, v in c.as_dict().items()} for c in comparisons],
                         indent=2))
        return 0
    pct = f"{args.confidence * 100:g}%"
    for c in comparisons:
        print(f"{c.label_b} / {c.label_a}")
        if c.method == "unavailable":
            print(f"  no comparison: {c.note}")
            continue
        for label, k, n in ((c.label_a, c.failures_a, c.shots_a),
                            (c.label_b, c.failures_b, c.shots_b)):
            rate = k / n if n else float("nan")
            print(f"  LER {label}: {rate:.4e} ({k:,} failures in {n:,} shots)")
        print(f"  ratio {c.label_b} / {c.label_a}: {format_ratio(c.ratio)}  "
              f"[{format_ratio(c.lower)}, {format_ratio(c.upper)}] ({pct} CI)")
        extra = ""
        if c.discordant:
            extra = (f"; discordant shots: {c.discordant[0]:,} failed only in {c.label_a}, "
                     f"{c.discordant[1]:,} only in {c.label_b}")
        print(f"  p-value: {format_p(c.p_value)}  ({c.test}{extra})")
        if c.note:
            print(f"  note: {c.note}")
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
