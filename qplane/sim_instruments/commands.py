"""``qplane bench sim``: the simulated lab's benchmark (see :mod:`qplane.sim_instruments.bench`)."""

from __future__ import annotations

from typing import Any


def register_bench(benches: Any) -> None:
    """Add ``sim`` to ``qplane bench``."""
    from qplane.cli import add_bench
    from qplane.sim_instruments import bench

    add_bench(benches, "sim", bench, help="per-qubit-noise QPU blocks vs stim uniform; rebuild time",
              run=bench.run_benchmark)
