"""The simulated QPU that also logs its true noise (``qplane bench drift_loop``'s oracle).

Kept apart from :mod:`qplane.bench.drift_loop` so that building the CLI's parser imports no
simulator (the pipeline imports this class by its dotted name).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from qplane.sim_instruments.qpu import SimulatedQPU


class TruthLoggingQPU(SimulatedQPU):
    """The simulated QPU, also logging its true noise at every circuit rebuild (bench only).

    Args:
        truth_log: JSON-lines file; each line ``{"block_index", "errors": {field: values}}``
            names the first block sampled from a rebuilt circuit and its per-qubit errors
            (:class:`qplane.sim_instruments.noise.QubitErrors`).
    """

    def __init__(self, name: str, *, truth_log: str = "", **kwargs: Any):
        super().__init__(name, **kwargs)
        self._truth_log = truth_log
        self._logged: Any = None

    def acquire_block(self):
        block = super().acquire_block()
        if self._truth_log and self._errors is not None and self._errors is not self._logged:
            self._logged = self._errors
            errors = {k: np.asarray(v).tolist() for k, v in vars(self._errors).items()}
            with open(self._truth_log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"block_index": int(block.index), "errors": errors}) + "\n")
        return block
