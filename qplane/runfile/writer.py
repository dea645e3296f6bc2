"""Writing run files (layout in :mod:`qplane.runfile.schema`).

:class:`RunFileWriter` creates every dataset up front, then switches the file to SWMR mode so
readers can follow the run live. On :meth:`RunFileWriter.close` it records how the run ended
in ``/status`` and, after leaving SWMR mode, in the root attributes.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "run.h5")
>>> w = RunFileWriter.create(path, run_id="r1", config_text="qplane: {}", config_path="c.yaml",
...                          station_snapshot={}, num_detectors=24, num_observables=1)
>>> w.append_event(level="info", source="doctest", kind="note", message="hello")
>>> w.close("completed", "doctest finished")
>>> import h5py
>>> with h5py.File(path, "r") as f:
...     print(f.attrs["end_state"], f["events"].shape)
completed (1,)
"""

from __future__ import annotations

import json
import os
import time
import zlib
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import h5py
import numpy as np

from qplane import __version__
from qplane.errors import RunFileError
from qplane.runfile.schema import (
    APPLIED_SHOT_DATASETS,
    BLOCK_DTYPE,
    END_STATES,
    SCHEMA,
    SCHEMA_MINOR,
    SCHEMA_VERSION,
    SHOT_DATASETS,
    TABLES,
)

#: Packages whose versions every run file records.
RECORDED_PACKAGES = ("qplane", "numpy", "stim", "pymatching", "qcodes", "pyzmq", "h5py", "torch")

_SHOT_CHUNK_ROWS = 4096
_TABLE_CHUNK_ROWS = 256

#: The recorder's checkpoints: two fixed-size root attributes written in turn after a flush, so a
#: torn write of one leaves the other (see :meth:`RunFileWriter.checkpoint`).
CHECKPOINT_ATTRS = ("recorder_checkpoint_0", "recorder_checkpoint_1")
CHECKPOINT_BYTES = 32_768


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run depends on ("missing" where absent)."""
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


class RunFileWriter:
    """Appends a run's records to its HDF5 file; the only writer of that file."""

    def __init__(self, file: h5py.File):
        self._file = file
        self.last_rows = np.zeros(0, dtype=BLOCK_DTYPE)  # /qec/blocks rows of the last append_blocks
        self._closed = False
        self.checkpoints = 0
        # name -> dataset, for the appends; every dataset with rows, for the checkpoints (the
        # file's datasets are all made by create(), so one walk of the file finds them)
        self._datasets: dict[str, h5py.Dataset] = {}
        self._sized: list[tuple[str, h5py.Dataset]] | None = None

    @classmethod
    def create(cls, path: str | os.PathLike, *, run_id: str, config_text: str, config_path: str,
               station_snapshot: dict[str, Any], num_detectors: int, num_observables: int,
               qec_attrs: dict[str, Any] | None = None,
               key_fingerprints: dict[str, str] | None = None,
               compression: str | None = "lzf") -> "RunFileWriter":
        """Create a new run file at ``path`` (its folder is created; an existing file is refused).

        ``key_fingerprints`` (role -> fingerprint of its public key, never a key) become the
        root attribute ``key_fingerprints`` (JSON; ``{}`` for a run without keys).
        ``compression`` is the per-shot datasets' HDF5 filter (``"lzf"``; ``None`` or
        ``"none"``: uncompressed); readers need not know which.
        """
        path = os.fspath(path)
        if os.path.exists(path):
            raise RunFileError(f"run file {path} already exists; choose another --out or remove it")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        try:
            f = h5py.File(path, "w-", libver="latest")
        except OSError as e:
            raise RunFileError(f"cannot create run file {path}: {e}") from e
        f.attrs["schema"] = SCHEMA
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["schema_minor"] = SCHEMA_MINOR
        f.attrs["run_id"] = run_id
        f.attrs["created"] = datetime.now(timezone.utc).isoformat()
        f.attrs["qplane_version"] = __version__
        f.attrs["versions"] = json.dumps(package_versions())
        f.attrs["config"] = config_text
        f.attrs["config_path"] = config_path
        f.attrs["station_snapshot"] = json.dumps(station_snapshot, default=str)
        f.attrs["end_state"] = "running"
        f.attrs["end_reason"] = ""
        f.attrs["ended"] = ""
        f.attrs["key_fingerprints"] = json.dumps(dict(sorted((key_fingerprints or {}).items())))
        for name in CHECKPOINT_ATTRS:
            f.attrs.create(name, np.zeros(CHECKPOINT_BYTES, dtype=np.uint8))
        status = f.create_dataset("status", shape=(), dtype=h5py.string_dtype())
        status[()] = "running"
        qec = f.create_group("qec")
        qec.attrs["num_detectors"] = num_detectors
        qec.attrs["num_observables"] = num_observables
        qec.attrs["model_cards"] = "{}"
        for key, value in (qec_attrs or {}).items():
            qec.attrs[key] = value
        widths = {"detectors": (num_detectors + 7) // 8, "observables": (num_observables + 7) // 8}
        for name, width_of in SHOT_DATASETS.items():
            width = widths[width_of]
            f.create_dataset(
                name, shape=(0, width), maxshape=(None, width), dtype=np.uint8,
                chunks=(_SHOT_CHUNK_ROWS, max(width, 1)),
                compression=None if compression in (None, "none") else compression,
            )
        for name, dtype in TABLES.items():
            f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype,
                             chunks=(_TABLE_CHUNK_ROWS,))
        f.swmr_mode = True
        return cls(f)

    @classmethod
    def reopen(cls, path: str | os.PathLike) -> tuple["RunFileWriter", dict[str, Any]]:
        """Reopen the file of a recorder that was killed, to go on appending from its last
        checkpoint (:meth:`checkpoint`).

        The superblock's write flags are cleared (as ``h5clear -s`` does); every dataset is cut
        back to its size at the checkpoint (what was written after it is received again from
        its senders, who keep what was not acknowledged); and the bytes a killed writer left in
        the chunks beyond those sizes are zeroed, so no stale reference into the global heap
        remains for the next append to trip over (HDF5 frees the variable-length data a row
        held when the row is written again). The rows kept are read once to check them.

        Returns:
            The writer, and the state the recorder stored with the checkpoint.

        Raises:
            RunFileError: the file is missing, ended, has no checkpoint, or is damaged within
                what its checkpoint says it holds.
        """
        from qplane.runfile._reopen import clear_write_flags, latest_checkpoint, repair_to

        path = os.fspath(path)
        if not os.path.exists(path):
            raise RunFileError(f"cannot reopen run file {path}: it does not exist")
        clear_write_flags(path)
        try:
            f = h5py.File(path, "r+", libver="latest")
        except OSError as e:
            raise RunFileError(f"cannot reopen run file {path}: {e}") from e
        try:
            if f.attrs.get("end_state") not in ("running", b"running"):
                raise RunFileError(f"run file {path} has ended ({f.attrs.get('end_state')}); only "
                                   "a running run's file is reopened")
            doc = latest_checkpoint([f.attrs[n] for n in CHECKPOINT_ATTRS if n in f.attrs])
            if doc is None:
                raise RunFileError(f"run file {path} has no recorder checkpoint; it cannot be "
                                   "taken up again")
            repair_to(f, doc["sizes"])
        except BaseException:
            f.close()
            raise
        f.swmr_mode = True
        writer = cls(f)
        writer.checkpoints = int(doc["n"])
        return writer, doc["state"]

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Flush, then record that the file is complete as it is now (every dataset's size) with
        the recorder's ``state`` (JSON), and flush that too.

        A recorder killed later is taken up from here (:meth:`reopen`): nothing written after
        it counts. The two checkpoint attributes are written in turn, each with a CRC, so a
        write torn by a kill leaves the one before.
        """
        self._file.flush()
        if self._sized is None:
            found: list[tuple[str, h5py.Dataset]] = []
            self._file.visititems(lambda name, obj: found.append((name, obj))
                                  if isinstance(obj, h5py.Dataset) and obj.shape else None)
            self._sized = found
        sizes = {name: ds.shape[0] for name, ds in self._sized}
        self.checkpoints += 1
        text = json.dumps({"n": self.checkpoints, "sizes": sizes, "state": state},
                          separators=(",", ":")).encode()
        payload = b"%08x" % zlib.crc32(text) + text
        if len(payload) > CHECKPOINT_BYTES:
            raise RunFileError(f"the recorder's checkpoint needs {len(payload)} bytes, more than "
                               f"the {CHECKPOINT_BYTES} its attribute holds")
        cell = np.zeros(CHECKPOINT_BYTES, dtype=np.uint8)
        cell[:len(payload)] = np.frombuffer(payload, dtype=np.uint8)
        self._file.attrs.modify(CHECKPOINT_ATTRS[self.checkpoints % 2], cell)
        self._file.flush()

    def rows(self, name: str) -> np.ndarray:
        """Every row of table ``name`` (a key of ``TABLES``) written so far."""
        return self._file[name][:]

    @property
    def path(self) -> str:
        return self._file.filename

    @property
    def num_shots(self) -> int:
        return self._file["qec/detection_events"].shape[0]

    def _dataset(self, name: str) -> h5py.Dataset:
        ds = self._datasets.get(name)
        if ds is None:
            ds = self._datasets[name] = self._file[name]
        return ds

    def _append_rows(self, name: str, rows: np.ndarray) -> int:
        ds = self._dataset(name)
        start = ds.shape[0]
        ds.resize((start + len(rows),) + ds.shape[1:])
        ds[start:] = rows
        return start

    def append_table(self, name: str, **fields: Any) -> None:
        """Append one row to the table ``name`` (a key of ``TABLES``); missing fields are zero/empty."""
        dtype = TABLES[name]
        unknown = set(fields) - set(dtype.names)
        if unknown:
            raise RunFileError(f"table {name} has no fields {sorted(unknown)}; it has {dtype.names}")
        row = np.zeros(1, dtype=dtype)
        for field in dtype.names:
            vlen = h5py.check_vlen_dtype(dtype[field])
            value = fields.get(field)
            if vlen is not None and vlen not in (str, bytes):
                # a variable-length array field: one object holding the whole array (given bare,
                # or already wrapped in a one-element object array)
                if isinstance(value, np.ndarray) and value.dtype == object and value.shape == (1,):
                    value = value[0]
                cell = np.empty(1, dtype=object)
                cell[0] = np.asarray(value if value is not None else [], dtype=vlen)
                row[field] = cell
            elif field in fields:
                if vlen is str and isinstance(value, str) and "\x00" in value:
                    # HDF5 strings end at a NUL: a forged name carrying one (the recorder writes
                    # what it rejects) is kept, the NUL spelled out, instead of failing the row
                    value = value.replace("\x00", "\\x00")
                row[field] = value
            elif vlen is not None:
                row[field] = ""
        self._append_rows(name, row)

    def append_acquired_block(self, *, detection_events: np.ndarray, **block_fields: Any) -> int:
        """Append a just-acquired block: its detection events and its ``/qec/blocks`` row.

        The block's prediction and truth rows are written as zeros and its row has
        ``applied=0`` until :meth:`complete_block` fills them. Returns the block's row index.
        """
        row = np.zeros(1, dtype=BLOCK_DTYPE)
        for field, value in block_fields.items():
            row[field] = value
        row["failures"] = -1
        return self.append_blocks([detection_events], row)[0]

    def append_blocks(self, detection_events: list[np.ndarray], rows: np.ndarray,
                      **shot_arrays: list[np.ndarray | None]) -> list[int]:
        """Append several blocks in one write per dataset (the recorder's batched path).

        Args:
            detection_events: each block's bit-packed detection events.
            rows: ``BLOCK_DTYPE`` rows, one per block; ``shot_start`` and ``shots`` are set here.
                A block with ``applied=0`` gets zero rows in the other shot datasets, to be
                filled by :meth:`complete_block`.
            **shot_arrays: per shot dataset of :data:`~qplane.runfile.schema.APPLIED_SHOT_DATASETS`
                (``predictions``, the decoder's output and so the correction applied; ``truth``,
                simulation only), one array or None per block (not yet applied, or absent).

        Returns:
            The blocks' row indices in ``/qec/blocks``.
        """
        unknown = set(shot_arrays) - set(APPLIED_SHOT_DATASETS)
        if unknown:
            raise RunFileError(f"no per-shot datasets {sorted(unknown)}; the run file has "
                               f"{list(APPLIED_SHOT_DATASETS)}")
        if not detection_events:
            return []
        counts = [len(d) for d in detection_events]
        shots = np.array(counts, dtype=np.int64)
        shot_start = self._append_rows("qec/detection_events", np.concatenate(detection_events))
        for name in APPLIED_SHOT_DATASETS:
            self._append_rows("qec/" + name, _shot_rows(
                name, counts, shot_arrays.get(name), self._dataset("qec/" + name).shape[1]))
        rows = rows.copy()
        rows["shots"] = shots
        rows["shot_start"] = shot_start + np.concatenate([[0], np.cumsum(shots)[:-1]])
        first = self._append_rows("qec/blocks", rows)
        self.last_rows = rows  # as written (a caller completing one later need not read it)
        return list(range(first, first + len(rows)))

    def complete_block(self, row: int, *, written: np.void | None = None,
                       **arrays_and_fields: Any) -> None:
        """Fill in the correction of the block at ``row`` (from :meth:`append_acquired_block`).

        Keywords naming a per-shot dataset (``predictions``, ``truth``; None: absent) fill its
        rows; the others are ``/qec/blocks`` fields. ``written`` is the row as the caller wrote
        it (:meth:`append_blocks` sets its ``shot_start`` and ``shots``), so it is not read back.
        """
        blocks = self._file["qec/blocks"]
        record = blocks[row] if written is None else written.copy()
        start, shots = int(record["shot_start"]), int(record["shots"])
        block_fields = {k: v for k, v in arrays_and_fields.items() if k not in APPLIED_SHOT_DATASETS}
        for name in APPLIED_SHOT_DATASETS:
            array = arrays_and_fields.get(name)
            if array is None:
                continue
            if len(array) != shots:
                raise RunFileError(f"block row {row} has {shots} shots but {len(array)} {name}")
            self._file["qec/" + name][start:start + shots] = array
        unknown = set(block_fields) - set(blocks.dtype.names)
        if unknown:
            raise RunFileError(f"/qec/blocks has no fields {sorted(unknown)}")
        for field, value in block_fields.items():
            record[field] = value
        record["applied"] = 1
        blocks[row] = record

    def complete_blocks(self, items: list[tuple[int, np.void, dict[str, np.ndarray | None],
                                                dict[str, Any]]]) -> None:
        """:meth:`complete_block` for several blocks at once: ``(row, written, arrays,
        fields)`` each (``written`` the row as appended, ``arrays`` per shot dataset, None:
        absent, ``fields`` of ``/qec/blocks``). Consecutive rows are filled with one write per
        dataset (a compressed chunk is rewritten once, not once per block).
        """
        items = sorted(items, key=lambda item: item[0])
        blocks = self._dataset("qec/blocks")
        i = 0
        while i < len(items):
            j = i + 1
            while (j < len(items) and items[j][0] == items[j - 1][0] + 1
                   and items[j][2].keys() == items[i][2].keys()
                   and items[j][3].keys() == items[i][3].keys()):
                j += 1
            run = items[i:j]
            records = np.array([written for _, written, _, _ in run], dtype=blocks.dtype)
            starts, shots = records["shot_start"], records["shots"]
            if len(run) == 1 or not (starts[1:] == starts[:-1] + shots[:-1]).all():
                for row, written, arrays, fields in run:
                    self.complete_block(row, written=written, **arrays, **fields)
                i = j
                continue
            start, stop = int(starts[0]), int(starts[-1] + shots[-1])
            for name in APPLIED_SHOT_DATASETS:
                parts = [arrays.get(name) for _, _, arrays, _ in run]
                if all(p is None for p in parts):
                    continue
                for part, n in zip(parts, shots):
                    if part is None or len(part) != n:
                        raise RunFileError(f"a block of {n} shots has "
                                           f"{'no' if part is None else len(part)} {name}")
                self._dataset("qec/" + name)[start:stop] = np.concatenate(parts)
            for field in run[0][3]:
                records[field] = [fields[field] for _, _, _, fields in run]
            records["applied"] = 1
            blocks[run[0][0]:run[-1][0] + 1] = records
            i = j

    def append_circuit(self, *, circuit_id: str, num_detectors: int, num_observables: int,
                       stim_circuit: str) -> None:
        """Append a decoding circuit to ``/qec/circuits`` (once per id)."""
        existing = self._file["qec/circuits"]["circuit_id"] if self._file["qec/circuits"].shape[0] else []
        if circuit_id.encode() in set(existing):
            return
        self.append_table("/qec/circuits", circuit_id=circuit_id.encode(), time=time.time(),
                          num_detectors=num_detectors, num_observables=num_observables,
                          stim_circuit=stim_circuit)

    def append_event(self, *, level: str, source: str, kind: str, message: str,
                     details: dict[str, Any] | None = None, time_: float | None = None) -> None:
        """Append one row to ``/events``."""
        self.append_table(
            "/events", time=time.time() if time_ is None else time_, level=level.encode(),
            source=source, kind=kind, message=message, details=json.dumps(details or {}),
        )

    def append_truth(self, *, setting: str, value: float, device_time: float,
                     time_: float | None = None) -> None:
        """Append a simulated device's true ideal ``value`` of ``setting`` to ``/simulation/truth``
        (``device_time``: the device's own clock). Never written for real hardware."""
        self.append_table("/simulation/truth", time=time.time() if time_ is None else time_,
                          device_time=device_time, setting=setting, value=value)

    def append_stream(self, *, source: str, kind: str, sent: int, recorded: int,
                      first_seq: int = -1, last_seq: int = -1, time_: float | None = None) -> None:
        """Append one row to ``/streams``: what the sender of stream (``source``, ``kind``) says
        it sent (``sent``, from its end-of-stream record; -1 if it sent none) and how many of its
        records were ``recorded``, with the first and last sequence numbers seen."""
        self.append_table("/streams", source=source, kind=kind, sent=sent, recorded=recorded,
                          first_seq=first_seq, last_seq=last_seq,
                          time=time.time() if time_ is None else time_)

    def add_model_card(self, decoder: str, card: dict[str, Any], *, sha256: str = "") -> None:
        """Record a trained model's card (and file hash) in ``/qec`` attribute ``model_cards``."""
        qec = self._file["qec"]
        cards = json.loads(qec.attrs.get("model_cards", "{}"))
        cards[decoder] = dict(card, sha256=sha256) if sha256 else dict(card)
        qec.attrs["model_cards"] = json.dumps(cards)

    def flush(self) -> None:
        """Make everything appended so far visible to SWMR readers."""
        self._file.flush()

    def close(self, end_state: str, reason: str) -> None:
        """Record how the run ended (``/status`` and the root attributes), then close. Idempotent.

        The file stays in SWMR mode to the end (the ending attributes exist from the start and
        are rewritten in place), so readers holding it open are never locked out or broken by
        a re-open.
        """
        if self._closed:
            return
        if end_state not in END_STATES[1:]:
            raise RunFileError(f"end state must be one of {END_STATES[1:]}, got {end_state!r}")
        self._file["status"][()] = end_state
        self._file.attrs["end_state"] = end_state
        self._file.attrs["end_reason"] = reason
        self._file.attrs["ended"] = datetime.now(timezone.utc).isoformat()
        self._file.flush()
        self._file.close()
        self._closed = True


def _shot_rows(name: str, counts: list[int], arrays: list[np.ndarray | None] | None,
               width: int) -> np.ndarray:
    """The rows of per-shot dataset ``name`` for blocks of ``counts`` shots: each block's array,
    or zeros for a block without one (None: not yet applied), in one concatenation (no
    Python loop of slice assignments per block).

    >>> _shot_rows("truth", [2, 1], [np.ones((2, 1), np.uint8), None], 1).ravel().tolist()
    [1, 1, 0]
    >>> _shot_rows("truth", [2], [np.ones((3, 1), np.uint8)], 1)
    Traceback (most recent call last):
    qplane.errors.RunFileError: block has 2 shots of detection events but 3 truth
    """
    if not arrays or all(a is None for a in arrays):
        return np.zeros((sum(counts), width), dtype=np.uint8)
    parts = []
    for n, array in zip(counts, arrays):
        if array is None:
            parts.append(np.zeros((n, width), dtype=np.uint8))
        elif len(array) != n:
            raise RunFileError(f"block has {n} shots of detection events but {len(array)} {name}")
        else:
            parts.append(array)
    try:
        rows = np.concatenate(parts)
    except ValueError as e:
        raise RunFileError(f"blocks' {name} arrays do not fit {width} bytes per shot: {e}") from e
    if rows.shape[1:] != (width,):
        raise RunFileError(f"blocks' {name} arrays have shape {rows.shape}, {width} bytes per "
                           "shot needed")
    return rows.astype(np.uint8, copy=False)
