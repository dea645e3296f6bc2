"""Record kinds of noise learning: a learned noise model a decoding worker swapped to.

A decoding worker that learns the device's noise (``weights: learned``) sends one
:class:`NoiseModel` to the recorder each time it swaps models; it becomes one ``/noise/models``
row. The blocks it decoded with that model are the worker's blocks from ``first_seq`` (the
syndrome record's ``seq``) until its next model, which is how each block's noise-model version
is known (``Run.blocks["noise_version"]``).

Arrays: ``probabilities``, ``lower``, ``upper`` float64 (mechanisms,), on the structure of the
decomposed DEM of the circuit ``circuit_id``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from qplane.errors import WireFormatError
from qplane.records._base import Body, CircuitId, Count, JsonObject, Record, json_text


class NoiseModel(Body, frozen=True, tag="noise_model"):
    """A learned noise model, from the moment a worker decodes with it (worker -> recorder)."""

    worker: str
    version: Count
    first_seq: Count
    circuit_id: CircuitId
    model_hash: str
    estimator: str
    shots: Count
    window_start: Count
    window_stop: Count
    kept_nominal: Count
    learned_at: float
    details: JsonObject = {}

    ARRAYS = {"probabilities": ("float64", 1), "lower": ("float64", 1), "upper": ("float64", 1)}

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        n = {len(a) for a in arrays.values()}
        if len(n) != 1:
            raise WireFormatError("noise_model record: probabilities, lower and upper must have "
                                  "one entry per mechanism each")
        p = arrays["probabilities"]
        if not (np.all(np.isfinite(p)) and np.all(p > 0) and np.all(p < 0.5)):
            raise WireFormatError("noise_model record: every probability must be finite and in "
                                  "(0, 1/2)")

    def rows(self, rec: Record) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/noise/models", {
            "time": rec.time, "learned_at": self.learned_at, "worker": self.worker,
            "version": self.version, "first_seq": self.first_seq,
            "circuit_id": self.circuit_id.encode(), "model_hash": self.model_hash,
            "estimator": self.estimator, "shots": self.shots,
            "window_start": self.window_start, "window_stop": self.window_stop,
            "kept_nominal": self.kept_nominal, "probabilities": rec.arrays["probabilities"],
            "lower": rec.arrays["lower"], "upper": rec.arrays["upper"],
            "details": json_text(self.details)}
