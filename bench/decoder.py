"""Benchmark: the shipped neural pre-decoders vs PyMatching on fresh test shots.

Same as ``qplane bench decoder``; writes ``bench/results/decoder.json`` and the table in
``docs/decoder.md``. ``python bench/decoder.py --quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import sys

from qplane.decoder.bench import run_benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shot counts (smoke run)")
    parser.add_argument("--shots", type=int, default=None, help="test shots per (d, p, basis)")
    parser.add_argument("--distances", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--out", default="bench/results/decoder.json")
    parser.add_argument("--markdown", default="docs/decoder.md")
    parser.add_argument("--merge", action="store_true",
                        help="keep other distances' results from an existing --out")
    args = parser.parse_args(argv)
    run_benchmark(quick=args.quick, shots=args.shots, out=args.out, markdown=args.markdown,
                  distances=tuple(args.distances), merge=args.merge)
    return 0


if __name__ == "__main__":
    sys.exit(main())
