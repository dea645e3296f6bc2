"""``qplane bench sim``: the simulated lab's benchmark (see :mod:`qplane.sim_instruments.bench`)."""

from __future__ import annotations

import argparse
from typing import Any


def register_bench(benches: Any) -> None:
    """Add ``sim`` to ``qplane bench``."""
    from qplane.sim_instruments import bench

    parser = benches.add_parser("sim", help="per-qubit-noise QPU blocks vs stim uniform; rebuild time",
                                description=bench.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(parser)
    parser.set_defaults(func=bench.run_benchmark)
