"""Opening a run file: :func:`open_run` and the :class:`Run` it returns.

Opening reads only the root attributes, so a multi-GB file opens at once; every table and
every shot dataset is read when asked for, and only the part asked for. The file is opened
read-only in SWMR mode, so a run that is still being written can be followed (each accessor
sees what the writer has flushed so far), and a file whose writer was killed opens too: the
reader keeps the blocks whose shots all made it to disk and says what was lost
(:meth:`Run.integrity`).

>>> import tempfile, os
>>> from qplane.analysis.synthetic import write_synthetic_run
>>> path = write_synthetic_run(os.path.join(tempfile.mkdtemp(), "r.h5"), blocks=3,
...                            shots_per_block=64, calibration_every=0)
>>> with open_run(path) as run:
...     print(run.end_state, len(run.blocks), run.num_shots)
...     print(run.shots(blocks=slice(0, 1)).detection_events.shape)
completed 3 192
(64, 24)
"""

from __future__ import annotations

import dataclasses
import json
import os
from functools import cached_property
from typing import Any

import h5py
import numpy as np
import pandas as pd
import xarray as xr
import yaml

from qplane.analysis.versions import Converter, converter_for
from qplane.runfile.schema import TABLES
from qplane.errors import RunFileError


def open_run(path: str | os.PathLike) -> "Run":
    """Open the run file at ``path`` for reading (also while it is being written).

    Raises:
        RunFileError: the file is missing, not HDF5, not a qplane run file, or of a schema
            version this qplane cannot read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RunFileError(f"no run file at {path}")
    file = None
    errors = []
    # SWMR read without taking the file lock: a reader must never stop the writer (which
    # reopens the file read-write to stamp how the run ended); a lock it left when killed must
    # not stop the reader. Then a plain read, for a file not made for SWMR.
    for kwargs in ({"swmr": True, "libver": "latest", "locking": False}, {"locking": False}):
        try:
            file = h5py.File(path, "r", **kwargs)
            break
        except OSError as e:
            errors.append(str(e))
    if file is None:
        raise RunFileError(f"cannot open {path} as HDF5: {errors[-1]}")
    try:
        converter = converter_for(file.attrs)
    except RunFileError as e:
        file.close()
        raise RunFileError(f"{path}: {e}") from None
    return Run(file, converter)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _json(value: Any) -> Any:
    text = _text(value)
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"unparsed": text}


def _times(seconds: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(seconds, dtype="f8"), unit="s", utc=True)


@dataclasses.dataclass(frozen=True)
class Integrity:
    """What a run file holds and what is missing or inconsistent.

    Attributes:
        finished: the writer recorded an end state (completed, interrupted or failed).
        end_state: the root ``end_state`` attribute (``/status`` while running).
        block_rows: rows in ``/qec/blocks``.
        complete_blocks: leading blocks whose shots are all in every shot dataset.
        unapplied_blocks: of those, blocks acquired whose correction was never applied.
        shot_rows: rows in each shot dataset.
        shots_in_blocks: shots covered by the complete blocks.
        orphan_shots: shot rows beyond the last complete block (written, never indexed).
        seq_gaps: ``(after_seq, missing_count)`` for each jump in the block sequence numbers.
        duplicate_seqs: sequence numbers recorded more than once.
        error_events: events of level ``error``.
    """

    finished: bool
    end_state: str
    block_rows: int
    complete_blocks: int
    unapplied_blocks: int
    shot_rows: dict[str, int]
    shots_in_blocks: int
    orphan_shots: int
    seq_gaps: tuple[tuple[int, int], ...]
    duplicate_seqs: tuple[int, ...]
    error_events: int

    @property
    def problems(self) -> list[str]:
        """Human-readable list of everything that is not as a cleanly finished run leaves it."""
        out = []
        if not self.finished:
            out.append("no end recorded: the run is still being written, or its writer was killed")
        if self.complete_blocks < self.block_rows:
            out.append(f"{self.block_rows - self.complete_blocks} block row(s) point past the "
                       "shots on disk (torn write); they are ignored")
        if self.unapplied_blocks:
            out.append(f"{self.unapplied_blocks} block(s) acquired but never corrected "
                       "(left out of the logical error rate)")
        if len(set(self.shot_rows.values())) > 1:
            out.append(f"shot datasets differ in length: {self.shot_rows}")
        if self.orphan_shots:
            out.append(f"{self.orphan_shots} shot row(s) written after the last complete block")
        for after, missing in self.seq_gaps:
            out.append(f"sequence gap: {missing} record(s) missing after seq {after}")
        if self.duplicate_seqs:
            out.append(f"duplicate sequence numbers: {list(self.duplicate_seqs)[:10]}")
        if self.error_events:
            out.append(f"{self.error_events} error event(s)")
        return out


class Run:
    """A run file opened for reading. Use :func:`open_run`; close it (or use ``with``).

    Metadata (``run_id``, ``config``, ``station_snapshot``, ``versions``, ``model_cards``...)
    comes from the root attributes. Tables are returned as pandas DataFrames, per-block QEC
    data as an xarray Dataset (:attr:`qec`), shot-level data on demand (:meth:`shots`).
    Everything is read fresh on each access, so a live run shows its latest flushed state.
    """

    def __init__(self, file: h5py.File, converter: Converter):
        self._file = file
        self._converter = converter
        self._attrs: dict[str, Any] = {}  # root attributes, read when first asked for
        # One handle per dataset: refreshing two handles of one dataset in SWMR-read mode
        # corrupts HDF5's chunk cache ("can't insert duplicate key" on the next read).
        self._handles: dict[str, h5py.Dataset] = {}
        # A file whose end is stamped in its attributes is never written again: no refreshes.
        self._live = bool(file.swmr_mode) and self._attr("end_state", "running") == "running"

    def _dataset(self, path: str) -> h5py.Dataset | None:
        """The dataset at ``path`` (``None`` if absent), refreshed to the writer's last flush."""
        ds = self._handles.get(path)
        if ds is None:
            try:
                ds = self._handles[path] = self._file[path]
            except KeyError:
                return None
        if self._live:
            ds.refresh()
        return ds

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file. Idempotent."""
        if self._file.id.valid:
            self._file.close()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Run {self.run_id!r} {self.path} schema v{self.schema_version} {self.state}>"

    @property
    def file(self) -> h5py.File:
        """The underlying read-only h5py file (for raw access)."""
        return self._file

    @property
    def path(self) -> str:
        return self._file.filename

    # -- metadata ---------------------------------------------------------------------------

    def _raw_attr(self, name: str, default: Any = "") -> Any:
        if name not in self._attrs:
            attrs = self._file.attrs
            self._attrs[name] = attrs[name] if name in attrs else default
        return self._attrs[name]

    def _attr(self, name: str, default: str = "") -> str:
        return _text(self._raw_attr(name, default))

    @property
    def schema_version(self) -> int:
        return self._converter.version

    @property
    def run_id(self) -> str:
        return self._attr("run_id")

    @property
    def created(self) -> str:
        return self._attr("created")

    @property
    def qplane_version(self) -> str:
        return self._attr("qplane_version")

    @property
    def config_text(self) -> str:
        """The run's configuration exactly as it was given (YAML text)."""
        return self._attr("config")

    @cached_property
    def config(self) -> dict[str, Any]:
        """The run's configuration, parsed (an empty dict if it was empty)."""
        try:
            parsed = yaml.safe_load(self.config_text)
        except yaml.YAMLError as e:
            raise RunFileError(f"{self.path}: the stored config is not valid YAML: {e}") from e
        return parsed if isinstance(parsed, dict) else {}

    @property
    def config_path(self) -> str:
        return self._attr("config_path")

    @cached_property
    def station_snapshot(self) -> dict[str, Any]:
        """The QCoDeS station snapshot taken when the run started."""
        return _json(self._raw_attr("station_snapshot"))

    @cached_property
    def versions(self) -> dict[str, str]:
        """Package name -> version, as installed for the run."""
        return _json(self._raw_attr("versions"))

    @cached_property
    def model_cards(self) -> dict[str, Any]:
        """Model cards of the neural models the run used (``model_cards`` attribute, JSON),
        keyed by model name; empty when the run used none."""
        cards = _json(self._raw_attr("model_cards"))
        qec_cards = _json(self.qec_attrs.get("model_cards"))
        return {**cards, **qec_cards} if isinstance(cards, dict) else qec_cards

    @cached_property
    def qec_attrs(self) -> dict[str, Any]:
        """Attributes of ``/qec``: num_detectors, num_observables, decoder, distance, ..."""
        if "qec" not in self._file:
            return {}
        return {k: (_text(v) if isinstance(v, bytes) else v) for k, v in self._file["qec"].attrs.items()}

    @property
    def decoder(self) -> str:
        """The decoder's name: ``/qec`` attribute ``decoder``, else the config's
        ``qplane.decoding.decoder.type``, else empty."""
        name = _text(self.qec_attrs.get("decoder", ""))
        if name:
            return name
        try:
            return str(self.config["qplane"]["decoding"]["decoder"]["type"])
        except (KeyError, TypeError):
            return ""

    @property
    def num_detectors(self) -> int:
        return int(self.qec_attrs.get("num_detectors", 0))

    @property
    def num_observables(self) -> int:
        return int(self.qec_attrs.get("num_observables", 0))

    @property
    def status(self) -> str:
        """``/status`` as the writer last flushed it: ``running`` or how the run ended."""
        ds = self._dataset("/status")
        if ds is None:
            return self._attr("end_state", "unknown")
        return _text(ds[()])

    @property
    def end_state(self) -> str:
        """How the run ended (``completed``, ``interrupted``, ``failed``) or ``running``."""
        state = self._attr("end_state", "running")
        return state if state != "running" else self.status

    @property
    def end_reason(self) -> str:
        return self._attr("end_reason")

    @property
    def ended(self) -> str:
        return self._attr("ended")

    @property
    def finished(self) -> bool:
        return self.end_state not in ("running", "unknown", "")

    @property
    def state(self) -> str:
        """``end_state``, or ``unfinished`` when no end was recorded."""
        return self.end_state if self.finished else "unfinished"

    # -- tables ------------------------------------------------------------------------------

    def table(self, name: str) -> np.ndarray:
        """Raw rows of table ``name`` (see :data:`qplane.runfile.schema.TABLES`), current row type."""
        return self._converter.read_table(self._dataset, name)

    def _shot_dataset(self, name: str) -> h5py.Dataset | None:
        path = self._converter.shot_paths.get(name)
        return None if path is None else self._dataset(path)

    def _shot_rows(self) -> dict[str, int]:
        rows = {}
        for name in self._converter.shot_paths:
            ds = self._shot_dataset(name)
            if ds is not None:
                rows[name.rsplit("/", 1)[-1]] = ds.shape[0]
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
        ``latency_s`` (acquired -> correction applied) and ``decode_to_apply_s``; ``applied``
        is a bool (False: acquired, correction never applied; its other fields mean nothing).
        """
        rows, _ = self._complete_block_rows()
        df = pd.DataFrame({name: rows[name] for name in rows.dtype.names})
        df["circuit_id"] = [_text(v) for v in rows["circuit_id"]]
        df["worker"] = [_text(v) for v in rows["worker"]]
        df.insert(0, "time", _times(rows["t_acquired"]))
        # -1: a layout from before the flag existed, which only wrote corrected blocks.
        applied = rows["applied"] != 0
        df["applied"] = applied
        df["latency_s"] = np.where(applied, rows["t_applied"] - rows["t_acquired"], np.nan)
        df["decode_to_apply_s"] = np.where(applied, rows["t_applied"] - rows["t_decoded"], np.nan)
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

    @property
    def events(self) -> pd.DataFrame:
        """The ``/events`` table: time, level, source, kind, message, details (dict)."""
        rows = self.table("/events")
        return pd.DataFrame({
            "time": _times(rows["time"]),
            "t": rows["time"],
            "level": [_text(v) for v in rows["level"]],
            "source": [_text(v) for v in rows["source"]],
            "kind": [_text(v) for v in rows["kind"]],
            "message": [_text(v) for v in rows["message"]],
            "details": [_json(v) for v in rows["details"]],
        })

    @property
    def calibration(self) -> pd.DataFrame:
        """One row per calibration-node run: time, node, qubit, outcome, reason, experiment,
        sweep, signal (arrays), fit and verdict (dicts). The stored figures are not read
        here (they can be large): :meth:`calibration_figure` fetches one by row."""
        fields = [f for f in TABLES["/calibration/runs"].names if f != "figure_png"]
        rows = self._converter.read_fields(self._dataset, "/calibration/runs", fields)
        return pd.DataFrame({
            "time": _times(rows["time"]),
            "t": rows["time"],
            "node": [_text(v) for v in rows["node"]],
            "qubit": [_text(v) for v in rows["qubit"]],
            "outcome": [_text(v) for v in rows["outcome"]],
            "reason": [_text(v) for v in rows["reason"]],
            "experiment": [_json(v) for v in rows["experiment"]],
            "sweep": [np.asarray(v, dtype="f8") for v in rows["sweep"]],
            "signal": [np.asarray(v, dtype="f8") for v in rows["signal"]],
            "fit": [_json(v) for v in rows["fit"]],
            "verdict": [_json(v) for v in rows["verdict"]],
        })

    def calibration_figure(self, row: int) -> bytes:
        """The PNG stored with calibration-node run ``row`` (a row of :attr:`calibration`);
        empty bytes when it has none."""
        ds = self._dataset("/calibration/runs")
        if ds is None or "figure_png" not in (ds.dtype.names or ()) or not 0 <= row < ds.shape[0]:
            return b""
        return bytes(np.asarray(ds.fields(["figure_png"])[row]["figure_png"], dtype=np.uint8))

    @property
    def parameters(self) -> pd.DataFrame:
        """Every parameter change: time, parameter, old, new, source, details (dict)."""
        rows = self.table("/parameters/history")
        return pd.DataFrame({
            "time": _times(rows["time"]),
            "t": rows["time"],
            "parameter": [_text(v) for v in rows["parameter"]],
            "old": rows["old"],
            "new": rows["new"],
            "source": [_text(v) for v in rows["source"]],
            "details": [_json(v) for v in rows["details"]],
        })

    @property
    def simulation_truth(self) -> pd.DataFrame:
        """A simulated device's true ideal settings over time (``/simulation/truth``; empty for
        hardware and for files written before the table): time, t, device_time, setting, value."""
        rows = self.table("/simulation/truth")
        return pd.DataFrame({
            "time": _times(rows["time"]),
            "t": rows["time"],
            "device_time": rows["device_time"],
            "setting": [_text(v) for v in rows["setting"]],
            "value": rows["value"],
        })

    @property
    def circuits(self) -> pd.DataFrame:
        """Each decoding circuit the run used: circuit_id, time, num_detectors, num_observables,
        stim_circuit (text)."""
        rows = self.table("/qec/circuits")
        return pd.DataFrame({
            "circuit_id": [_text(v) for v in rows["circuit_id"]],
            "time": _times(rows["time"]),
            "num_detectors": rows["num_detectors"],
            "num_observables": rows["num_observables"],
            "stim_circuit": [_text(v) for v in rows["stim_circuit"]],
        })

    def circuit(self, circuit_id: str | None = None):
        """The stim circuit stored under ``circuit_id`` (default: the last one recorded)."""
        import stim

        circuits = self.circuits
        if circuits.empty:
            raise RunFileError(f"{self.path}: no circuits recorded in /qec/circuits")
        if circuit_id is None:
            text = circuits["stim_circuit"].iloc[-1]
        else:
            match = circuits[circuits["circuit_id"] == circuit_id]
            if match.empty:
                raise RunFileError(f"{self.path}: no circuit {circuit_id!r}; "
                                   f"recorded: {list(circuits['circuit_id'])}")
            text = match["stim_circuit"].iloc[-1]
        return stim.Circuit(text)

    def detector_coordinates(self, circuit_id: str | None = None) -> pd.DataFrame:
        """Detector index -> (x, y, t) from the stored circuit; NaN where a detector has none."""
        coords = self.circuit(circuit_id).get_detector_coordinates()
        out = np.full((self.num_detectors, 3), np.nan)
        for det, c in coords.items():
            if det < len(out):
                out[det, :min(3, len(c))] = c[:3]
        return pd.DataFrame(out, columns=["x", "y", "t"], index=pd.Index(range(len(out)), name="detector"))

    # -- shot-level data ---------------------------------------------------------------------

    def read_shots(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Raw bit-packed rows ``[start, stop)`` of a shot dataset (``detection_events``,
        ``predictions``, ``corrections`` or ``truth``); no unpacking, no copy beyond the read."""
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
        widths = {"detection_events": self.num_detectors, "predictions": self.num_observables,
                  "corrections": self.num_observables, "truth": self.num_observables}
        dims = {"detection_events": "detector", "predictions": "observable",
                "corrections": "observable", "truth": "observable"}
        data_vars = {}
        for name, width in widths.items():
            packed = self.read_shots(name, start, stop)
            if unpack:
                data_vars[name] = (("shot", dims[name]),
                                   np.unpackbits(packed, axis=1, count=width, bitorder="little").astype(bool))
            else:
                data_vars[name] = (("shot", f"{dims[name]}_byte"), packed)
        coords = {"shot": rows, "block": ("shot", block_of),
                  "time": ("shot", pd.to_datetime(time_of, unit="s").to_numpy())}
        if unpack:
            try:
                places = self.detector_coordinates()
                coords.update({axis: ("detector", places[axis].to_numpy()) for axis in "xyt"})
            except RunFileError:
                pass  # no circuit recorded: detectors without coordinates
        return xr.Dataset(data_vars, coords=coords, attrs={"run_id": self.run_id})

    # -- integrity ---------------------------------------------------------------------------

    def integrity(self) -> Integrity:
        """What the file holds, and every inconsistency a killed writer or a gap left behind."""
        complete, total = self._complete_block_rows()
        shot_rows = self._shot_rows()
        shots_in_blocks = int(complete["shots"].sum()) if len(complete) else 0
        end = int(complete["shot_start"][-1] + complete["shots"][-1]) if len(complete) else 0
        seqs = np.sort(complete["seq"])
        steps = np.diff(seqs)
        gaps = tuple((int(seqs[i]), int(steps[i] - 1)) for i in np.flatnonzero(steps > 1))
        dups = tuple(int(s) for s in np.unique(seqs[1:][steps == 0]))
        levels = self.table("/events")["level"]
        return Integrity(
            finished=self.finished,
            end_state=self.end_state,
            block_rows=total,
            complete_blocks=len(complete),
            unapplied_blocks=int(np.count_nonzero(complete["applied"] == 0)),
            shot_rows=shot_rows,
            shots_in_blocks=shots_in_blocks,
            orphan_shots=max(0, self.num_shots - end),
            seq_gaps=gaps,
            duplicate_seqs=dups,
            error_events=int(np.count_nonzero(levels == b"error")),
        )

    def summary(self) -> dict[str, Any]:
        """The run in a few numbers (for the report header and ``print``)."""
        blocks = self.blocks
        integ = self.integrity()
        first = float(blocks["t_acquired"].min()) if len(blocks) else float("nan")
        last = float(np.nanmax(blocks["t_applied"].where(blocks["applied"]))) if blocks["applied"].any() else first
        return {
            "run_id": self.run_id,
            "path": self.path,
            "state": self.state,
            "end_reason": self.end_reason,
            "created": self.created,
            "ended": self.ended,
            "schema_version": self.schema_version,
            "qplane_version": self.qplane_version,
            "config_path": self.config_path,
            "decoder": self.decoder,
            "distance": self.qec_attrs.get("distance", ""),
            "rounds": self.qec_attrs.get("rounds", ""),
            "basis": _text(self.qec_attrs.get("basis", "")),
            "num_detectors": self.num_detectors,
            "blocks": integ.complete_blocks,
            "shots": integ.shots_in_blocks,
            "duration_s": (last - first) if len(blocks) else 0.0,
            "simulated": self.simulated,
            "calibration_runs": int(len(self.table("/calibration/runs"))),
            "parameter_changes": int(len(self.table("/parameters/history"))),
            "events": int(len(self.table("/events"))),
            "problems": integ.problems,
        }
