"""The QEC part of :class:`~qplane.runfile.reader.Run`: blocks, per-block data and shots.

A mixin: it relies on the reader core for ``_dataset``, ``_converter``, ``path``, ``run_id``,
``qec_attrs``, ``num_detectors``, ``num_observables`` and ``detector_coordinates``.
"""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import xarray as xr

from qplane.errors import RunFileError
from qplane.runfile._values import text, times
from qplane.runfile.schema import SHOT_DATASETS

#: Shot dataset -> (width attribute of the run, dimension name) as :meth:`QecViews.shots` returns it.
_WIDTHS = {"detectors": ("num_detectors", "detector"), "observables": ("num_observables", "observable")}
_SHOT_VIEWS = {name.rsplit("/", 1)[-1]: _WIDTHS[width] for name, width in SHOT_DATASETS.items()}
_SHOT_VIEWS["corrections"] = _WIDTHS["observables"]  # v1 stored them; v2 reads the predictions


class QecViews:
    """Blocks (``/qec/blocks``), per-block QEC data and shot-level data of a run."""

    def _shot_dataset(self, name: str) -> h5py.Dataset | None:
        path = self._converter.shot_paths.get(name)
        return None if path is None else self._dataset(path)

    def _shot_rows(self) -> dict[str, int]:
        """Rows in each shot dataset stored in the file (one entry per stored dataset)."""
        rows = {}
        for path in dict.fromkeys(p for p in self._converter.shot_paths.values() if p):
            ds = self._dataset(path)
            if ds is not None:
                rows[path.rsplit("/", 1)[-1]] = ds.shape[0]
        return rows

    @property
    def num_shots(self) -> int:
        """Shots on disk in every shot dataset (the consistent prefix)."""
        rows = self._shot_rows()
        return min(rows.values()) if rows else 0

    def _complete_block_rows(self) -> tuple[np.ndarray, int]:
        rows = self.table("/qec/blocks")
        limit = self.num_shots
        ends = rows["shot_start"] + rows["shots"]
        complete = int(np.argmax(ends > limit)) if np.any(ends > limit) else len(rows)
        return rows[:complete], len(rows)

    def block_columns(self, *fields: str) -> dict[str, np.ndarray]:
        """Numeric ``/qec/blocks`` columns of the complete blocks, read column by column.

        The fast path for statistics over many blocks: no strings are decoded and no DataFrame
        is built. ``applied`` comes back as bool. Example: ``run.block_columns("shots",
        "failures")``.
        """
        need = list(dict.fromkeys([*fields, "shot_start", "shots"]))
        rows = self._converter.read_fields(self._dataset, "/qec/blocks", need)
        ends = rows["shot_start"] + rows["shots"]
        # Detection events are written with the block row (the other shot datasets are sized
        # with them and filled in place), so they alone decide whether a block is on disk.
        dets = self._shot_dataset("/qec/detection_events")
        over = ends > (dets.shape[0] if dets is not None else 0)
        rows = rows[:int(np.argmax(over))] if np.any(over) else rows
        out = {f: rows[f] for f in fields}
        if "applied" in out:
            out["applied"] = out["applied"] != 0
        return out

    @property
    def blocks(self) -> pd.DataFrame:
        """One row per complete block, indexed by ``block`` (the instrument's block index).

        Columns: the ``/qec/blocks`` fields, plus ``time`` (acquisition, UTC datetime),
        ``latency_s`` (acquired -> correction applied), ``decode_to_apply_s`` and
        ``noise_version`` (the learned noise model that decoded it, 0 = nominal); ``applied``
        is a bool (False: acquired, correction never applied; its other fields mean nothing).
        """
        rows, _ = self._complete_block_rows()
        df = pd.DataFrame({name: rows[name] for name in rows.dtype.names})
        df["circuit_id"] = [text(v) for v in rows["circuit_id"]]
        df["worker"] = [text(v) for v in rows["worker"]]
        df.insert(0, "time", times(rows["t_acquired"]))
        # -1: a layout from before the flag existed, which only wrote corrected blocks.
        applied = rows["applied"] != 0
        df["applied"] = applied
        df["latency_s"] = np.where(applied, rows["t_applied"] - rows["t_acquired"], np.nan)
        df["decode_to_apply_s"] = np.where(applied, rows["t_applied"] - rows["t_decoded"], np.nan)
        # which learned noise model decoded it (0: the nominal model; see runfile/_noise.py)
        df["noise_version"] = self.noise_versions(rows["seq"], df["worker"])
        df.index = pd.Index(rows["block_index"], name="block")
        return df

    @property
    def qec(self) -> xr.Dataset:
        """Per-block QEC data as an xarray Dataset with dimension ``block`` and a ``time`` coordinate."""
        df = self.blocks
        data_vars = {
            name: ("block", df[name].to_numpy())
            for name in ("seq", "applied", "shot_start", "shots", "failures", "t_acquired", "t_decoded",
                         "t_applied", "decode_seconds", "latency_s", "shadow_shots",
                         "shadow_disagreements", "circuit_id", "worker")
        }
        ds = xr.Dataset(
            data_vars,
            coords={"block": df.index.to_numpy(), "time": ("block", df["time"].dt.tz_localize(None).to_numpy())},
            attrs={"run_id": self.run_id, **{k: v for k, v in self.qec_attrs.items()
                                             if isinstance(v, (str, int, float, np.integer, np.floating))}},
        )
        ds["failures"].attrs["description"] = "logical failures after correction (-1: not simulated)"
        ds["latency_s"].attrs["units"] = "s"
        return ds

    @property
    def simulated(self) -> bool:
        """Whether the run has ground truth (its blocks carry failure counts)."""
        cols = self.block_columns("applied", "failures")
        failures = cols["failures"][cols["applied"]]
        return bool(len(failures)) and bool(np.all(failures >= 0))

    # -- shot-level data ---------------------------------------------------------------------

    def read_shots(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Raw bit-packed rows ``[start, stop)`` of a shot dataset (``detection_events``,
        ``predictions``, ``corrections`` or ``truth``); no unpacking, no copy beyond the read.

        ``corrections`` are the frame updates applied, which are the predictions (schema v1
        stored a copy; v2 reads the predictions).
        """
        ds = self._shot_dataset(f"/qec/{name}")
        if ds is None:
            raise RunFileError(f"{self.path}: no shot dataset {name!r} in this run")
        stop = self.num_shots if stop is None else min(stop, self.num_shots)
        try:
            return ds[start:stop]
        except OSError as e:
            raise RunFileError(f"{self.path}: reading /qec/{name} failed ({e}); the writer "
                               "probably closed the file after it was opened: open it again") from e

    def shots(self, *, blocks: slice | None = None, shots: slice | None = None,
              unpack: bool = True) -> xr.Dataset:
        """Shot-level data for a contiguous range, read (and unpacked) only now.

        Args:
            blocks: a slice of block positions (rows of :attr:`blocks`); or
            shots: a slice of shot rows. Neither: every shot (beware of big files).
            unpack: return booleans (shot, detector)/(shot, observable) instead of the packed
                bytes (shot, byte).

        Returns:
            Dataset with ``detection_events``, ``predictions``, ``corrections``, ``truth`` and
            per-shot coordinates ``block`` and ``time`` (acquisition time of the shot's block).
        """
        if blocks is not None and shots is not None:
            raise RunFileError("give blocks= or shots=, not both")
        table = self.blocks
        if blocks is not None:
            chosen = table.iloc[blocks]
            if chosen.empty:
                start = stop = 0
            else:
                start = int(chosen["shot_start"].iloc[0])
                stop = int(chosen["shot_start"].iloc[-1] + chosen["shots"].iloc[-1])
        else:
            start, stop, step = (shots or slice(None)).indices(self.num_shots)
            if step != 1:
                raise RunFileError("shots= must be a contiguous slice (step 1)")
        rows = np.arange(start, max(start, stop))
        block_of = np.full(len(rows), -1, dtype=np.int64)
        time_of = np.full(len(rows), np.nan)
        if len(table):
            starts = table["shot_start"].to_numpy()
            pos = np.clip(np.searchsorted(starts, rows, side="right") - 1, 0, None)
            inside = rows < (starts + table["shots"].to_numpy())[pos]
            block_of = np.where(inside, table.index.to_numpy()[pos], -1)
            time_of = np.where(inside, table["t_acquired"].to_numpy()[pos], np.nan)
        data_vars = {}
        read: dict[str, np.ndarray] = {}
        for name, (width_attr, dim) in _SHOT_VIEWS.items():
            path = self._converter.shot_paths.get(f"/qec/{name}")
            if path not in read:  # v2: corrections and predictions are one dataset, read once
                read[path] = self.read_shots(name, start, stop)
            packed = read[path]
            if unpack:
                bits = np.unpackbits(packed, axis=1, count=getattr(self, width_attr), bitorder="little")
                data_vars[name] = (("shot", dim), bits.astype(bool))
            else:
                data_vars[name] = (("shot", f"{dim}_byte"), packed)
        coords = {"shot": rows, "block": ("shot", block_of),
                  "time": ("shot", pd.to_datetime(time_of, unit="s").to_numpy())}
        if unpack:
            try:
                places = self.detector_coordinates()
                coords.update({axis: ("detector", places[axis].to_numpy()) for axis in "xyt"})
            except RunFileError:
                pass  # no circuit recorded: detectors without coordinates
        return xr.Dataset(data_vars, coords=coords, attrs={"run_id": self.run_id})
