"""``qplane serve [RUNFILES | DIR]``: the read-only live view of run files in a browser.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="qplane")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["serve", "runs", "--port", "8050"])
>>> args.sources, args.host, args.port, args.allow_remote
(['runs'], '127.0.0.1', 8050, False)
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``qplane`` command line."""
    serve = subparsers.add_parser(
        "serve", help="a read-only web page following running and finished runs",
        description="Serve a read-only web page that follows run files as they are written: "
                    "logical error rate over time with its interval, the detection-event heat "
                    "map, latency, shadow-decoder disagreement, calibration changes and process "
                    "health. Folders are searched for *.h5 files on every refresh, so runs "
                    "started later appear. The page listens on loopback only unless "
                    "--allow-remote is given; it has no write actions. Stop it with Ctrl-C.",
    )
    serve.add_argument("sources", nargs="*", metavar="RUNFILE|DIR",
                       help="run files, or folders holding them (default: runs/ if it exists, "
                            "else the current folder)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=0,
                       help="port to listen on (default: 0, any free port; the URL is printed)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host other than loopback (anyone who can reach it can "
                            "read the runs; there is no authentication)")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from qplane.analysis.web import check_host, serve

    check_host(args.host, allow_remote=args.allow_remote)  # refuse before importing the server
    sources = args.sources or (["runs"] if os.path.isdir("runs") else ["."])
    try:
        serve(sources, host=args.host, port=args.port, allow_remote=args.allow_remote,
              on_ready=lambda url: print(f"serving {', '.join(sources)} at {url}  (Ctrl-C to stop)",
                                         flush=True))
    except KeyboardInterrupt:
        return 130
    return 0
