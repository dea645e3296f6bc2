"""Learned second opinion vs the fit's quality gate alone (same as `qplane bench calibration`).

    python bench/calibration.py [--per-cell 60] [--sim-per-cell 6]

Writes bench/results/calibration.json; see :mod:`qplane.calibration.bench`.
"""

from __future__ import annotations

import argparse

from qplane.calibration.bench import add_arguments, main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
