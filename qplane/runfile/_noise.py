"""The noise part of :class:`~qplane.runfile.reader.Run`: the learned noise models of a run.

``/noise/models`` holds each model a decoding worker swapped to; :attr:`NoiseViews.noise_models`
reads them back as :class:`qplane.noise.LearnedNoise` (on the decomposed DEM of the circuit the
row names), and :meth:`NoiseViews.noise_versions` says which model decoded each block: a
worker's blocks from the model's ``first_seq`` until its next model (version 0: the nominal
model, before any swap).

A mixin: it relies on the reader core for ``table`` and ``circuit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from qplane.runfile._values import parse_json, text, times


class NoiseViews:
    """The learned noise models of a run file."""

    @property
    def noise_table(self) -> pd.DataFrame:
        """One row per learned model: time, worker, version, first_seq, circuit_id, model_hash,
        estimator, shots, window_start, window_stop, kept_nominal, details (dict)."""
        rows = self.table("/noise/models")
        return pd.DataFrame({
            "time": times(rows["time"]), "t": rows["time"], "learned_at": rows["learned_at"],
            "worker": [text(v) for v in rows["worker"]], "version": rows["version"],
            "first_seq": rows["first_seq"],
            "circuit_id": [text(v) for v in rows["circuit_id"]],
            "model_hash": [text(v) for v in rows["model_hash"]],
            "estimator": [text(v) for v in rows["estimator"]], "shots": rows["shots"],
            "window_start": rows["window_start"], "window_stop": rows["window_stop"],
            "kept_nominal": rows["kept_nominal"],
            "details": [parse_json(v) for v in rows["details"]],
        })

    @property
    def noise_models(self) -> list[Any]:
        """Every learned model of the run, in the order recorded, as ``LearnedNoise``."""
        from qplane.noise import LearnedNoise, nominal_dem

        rows = self.table("/noise/models")
        out, nominal = [], {}
        for r in rows:
            cid = text(r["circuit_id"])
            if cid not in nominal:
                nominal[cid] = str(nominal_dem(self.circuit(cid)).flattened())
            details = parse_json(r["details"]) or {}
            out.append(LearnedNoise(
                nominal=nominal[cid], probabilities=np.asarray(r["probabilities"]),
                lower=np.asarray(r["lower"]), upper=np.asarray(r["upper"]),
                estimator=text(r["estimator"]), shots=int(r["shots"]),
                window=(int(r["window_start"]), int(r["window_stop"])),
                kept_nominal=int(r["kept_nominal"]), reasons=dict(details.get("reasons", {})),
                time=float(r["learned_at"]), version=int(r["version"]),
                source=f"{self.run_id}/{text(r['worker'])}"))
        return out

    def noise_versions(self, seq: np.ndarray, worker: Any) -> np.ndarray:
        """The noise-model version that decoded each block (``seq``, ``worker`` per block)."""
        rows = self.table("/noise/models")
        seq = np.asarray(seq)
        out = np.zeros(len(seq), dtype=np.int64)
        if not len(rows):
            return out
        workers = np.array([text(v) for v in rows["worker"]])
        worker = np.asarray([text(w) for w in worker])
        for w in np.unique(workers):
            mine = workers == w
            order = np.argsort(rows["first_seq"][mine], kind="stable")
            first = rows["first_seq"][mine][order]
            version = rows["version"][mine][order]
            sel = worker == w
            pos = np.searchsorted(first, seq[sel], side="right") - 1
            out[sel] = np.where(pos >= 0, version[np.maximum(pos, 0)], 0)
        return out
