"""Reading every run-file schema version: one converter per version.

A run file written by any qplane carries ``schema`` and ``schema_version`` in its root
attributes (:mod:`qplane.runfile.schema`). The reader never changes a file; instead each
version has a :class:`Converter` that says where that version keeps each table and how its
rows map onto the current row types. :func:`converter_for` picks it, and refuses a file that is
not a qplane run file or that is newer than this qplane knows, with a message that says what to do.

Version 3 is the current layout; version 2 lacks ``/noise/models`` (reads as empty). Version 1
differs from 2 in three ways, all handled here:

* it stored ``/qec/corrections``, a byte copy of ``/qec/predictions`` (version 2 reads a request
  for ``corrections`` from ``predictions``);
* it kept a simulated device's truth in ``/parameters/history`` as rows of source ``truth``
  (old = new = the true value): they read as ``/simulation/truth`` rows and are left out of the
  history;
* its ``/parameters/history`` rows have no ``node`` or ``update`` (they read as ``""``) and it
  has no ``/streams`` (reads as empty).

When the layout changes again, the writer's :data:`~qplane.runfile.schema.SCHEMA_VERSION` goes
up, the old layout gets a converter here, and a small sample file of the old version goes into
``tests/data/`` (``tests/analysis/test_versions.py`` fails until both exist).

>>> converter_for({"schema": "qplane.runfile", "schema_version": 1}).version
1
>>> converter_for({"schema": "qplane.runfile", "schema_version": 2}).shot_paths["/qec/corrections"]
'/qec/predictions'
>>> converter_for({"schema": "qplane.runfile", "schema_version": 99})
Traceback (most recent call last):
...
qplane.errors.RunFileError: run file has schema version 99, but this qplane (0.1.0) reads versions 1 to 3; upgrade qplane to read it
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

import h5py
import numpy as np

from qplane import __version__
from qplane.errors import RunFileError
from qplane.runfile.schema import SCHEMA, SCHEMA_VERSION, SHOT_DATASETS, TABLES, TRUTH_DTYPE

#: Shot datasets a reader may ask for: the stored ones and ``corrections`` (in version 2 the
#: predictions, which are the correction applied).
SHOT_NAMES = (*SHOT_DATASETS, "/qec/corrections")

_HISTORY, _TRUTH, _NOISE = "/parameters/history", "/simulation/truth", "/noise/models"


@dataclasses.dataclass(frozen=True)
class Converter:
    """How to read one schema version through the current API.

    Attributes:
        version: the schema version this converter reads.
        table_paths: current table name -> where this version keeps it (``None``: it has none;
            the table then reads as empty).
        shot_paths: shot-dataset name (:data:`SHOT_NAMES`) -> where this version keeps it
            (``None``: absent). Two names may share one path.

    Simulated truth kept as ``/parameters/history`` rows of source ``truth`` (version 1, and a
    version-2 file from a writer that still sends truth as parameter changes) reads as
    ``/simulation/truth`` rows and never as history.
    """

    version: int
    table_paths: Mapping[str, str | None]
    shot_paths: Mapping[str, str | None]

    def _stored(self, dataset: Callable[[str], h5py.Dataset | None], name: str,
                selection: slice = slice(None)) -> np.ndarray:
        path = self.table_paths.get(name)
        ds = None if path is None else dataset(path)
        if ds is None:
            return np.zeros(0, dtype=TABLES[name])
        return conform_rows(_read(ds, selection), TABLES[name])

    def read_table(self, dataset: Callable[[str], h5py.Dataset | None], name: str,
                   selection: slice = slice(None)) -> np.ndarray:
        """Rows ``selection`` of table ``name`` as an array of the current row type.

        ``dataset(path)`` returns the (refreshed) dataset at ``path``, or ``None`` if absent.
        """
        if name == _HISTORY:
            rows = self._stored(dataset, name)
            return rows[~_is_truth(rows)][selection]
        if name == _TRUTH:
            stored = self._stored(dataset, name)
            history = self._stored(dataset, _HISTORY)
            legacy = truth_from_history(history[_is_truth(history)])
            if not len(legacy):
                return stored[selection]
            both = np.concatenate([stored, legacy])
            return both[np.argsort(both["time"], kind="stable")][selection]
        return self._stored(dataset, name, selection)

    def read_fields(self, dataset: Callable[[str], h5py.Dataset | None], name: str,
                    fields: list[str]) -> np.ndarray:
        """Only ``fields`` of table ``name`` (a compound array with those fields, current types).

        Reads just those columns from disk, so no variable-length strings are decoded.
        """
        target = np.dtype([(f, TABLES[name][f]) for f in fields])
        if name in (_HISTORY, _TRUTH):  # views that mix rows: read whole (low-rate tables)
            rows = self.read_table(dataset, name)
            return conform_rows(rows[fields] if len(fields) else rows, target)
        path = self.table_paths.get(name)
        ds = None if path is None else dataset(path)
        if ds is None:
            return np.zeros(0, dtype=target)
        have = [f for f in fields if f in (ds.dtype.names or ())]
        if not have:
            return conform_rows(np.zeros(ds.shape[0], dtype=[]), target)
        raw = _read(ds.fields(have), slice(None))
        if raw.dtype.names is None:  # a single field comes back as a plain array
            raw = np.rec.fromarrays([raw], names=have)
        return conform_rows(np.asarray(raw), target)


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _is_truth(history: np.ndarray) -> np.ndarray:
    """Which ``/parameters/history`` rows are simulated truth (source ``truth``, the v1 way)."""
    return np.array([_text(s) == "truth" for s in history["source"]], dtype=bool)


def truth_from_history(rows: np.ndarray) -> np.ndarray:
    """``/simulation/truth`` rows from v1-style truth rows of ``/parameters/history``.

    The true value is the row's ``new``; the device clock is ``details["simulated_time"]``
    where the writer recorded it, else the row's time (the synthetic runs' one clock).

    >>> from qplane.runfile.schema import PARAMETER_DTYPE
    >>> h = np.zeros(1, dtype=PARAMETER_DTYPE)
    >>> h[0] = (10.0, "q0.pi_amplitude", 0.5, 0.5, "truth", "", "", '{"simulated_time": 3.0}')
    >>> t = truth_from_history(h)
    >>> str(t["setting"][0]), float(t["value"][0]), float(t["device_time"][0])
    ('q0.pi_amplitude', 0.5, 3.0)
    """
    out = np.zeros(len(rows), dtype=TRUTH_DTYPE)
    out["time"] = rows["time"]
    out["setting"] = [_text(p) for p in rows["parameter"]]
    out["value"] = rows["new"]
    clock = []
    for row in rows:
        try:
            details = json.loads(_text(row["details"]) or "{}")
            clock.append(float(details.get("simulated_time", row["time"])))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            clock.append(float(row["time"]))
    out["device_time"] = clock
    return out


def _read(ds: Any, selection: Any) -> np.ndarray:
    try:
        return ds[selection]
    except OSError as e:
        raise RunFileError(
            f"reading {getattr(ds, 'name', 'a dataset')} failed ({e}); the writer probably closed "
            "the file after this reader opened it: open it again with open_run"
        ) from e


def conform_rows(rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Copy ``rows`` into the row type ``dtype``, filling fields the rows lack with defaults.

    Missing floats read as NaN, integers as -1, strings as empty; fields ``rows`` has that
    ``dtype`` lacks are dropped. Rows that already have ``dtype`` are returned as they are.

    >>> old = np.array([(1.5, 2)], dtype=[("time", "f8"), ("n", "i8")])
    >>> new = conform_rows(old, np.dtype([("time", "f8"), ("m", "f8"), ("k", "i8")]))
    >>> new["time"][0], bool(np.isnan(new["m"][0])), int(new["k"][0])
    (np.float64(1.5), True, -1)
    """
    if rows.dtype == dtype:
        return rows
    out = np.zeros(len(rows), dtype=dtype)
    have = set(rows.dtype.names or ())
    for field in dtype.names:
        kind = dtype[field]
        if field in have:
            out[field] = rows[field]
        elif kind.kind == "f":
            out[field] = np.nan
        elif kind.kind in "iu":
            out[field] = -1
        elif kind.kind == "O":
            out[field] = ""
    return out


def _v1() -> Converter:
    return Converter(
        version=1,
        table_paths={name: (None if name in ("/simulation/truth", "/streams", _NOISE) else name)
                     for name in TABLES},
        shot_paths={name: name for name in SHOT_NAMES},
    )


def _v2() -> Converter:
    shots = {name: name for name in SHOT_DATASETS}
    return Converter(
        version=2,
        table_paths={name: (None if name == _NOISE else name) for name in TABLES},
        shot_paths={**shots, "/qec/corrections": "/qec/predictions"},
    )


def _v3() -> Converter:
    shots = {name: name for name in SHOT_DATASETS}
    return Converter(
        version=3,
        table_paths={name: name for name in TABLES},
        shot_paths={**shots, "/qec/corrections": "/qec/predictions"},
    )


#: Schema version -> the converter that reads it. Every version up to ``SCHEMA_VERSION``.
CONVERTERS: dict[int, Converter] = {1: _v1(), 2: _v2(), 3: _v3()}


def converter_for(attrs: Mapping[str, Any]) -> Converter:
    """The converter for a file with root attributes ``attrs``; refuses what it cannot read.

    Raises:
        RunFileError: the file is not a qplane run file, or its schema version is unknown
            (newer than this qplane, or not a positive integer).
    """
    schema = attrs.get("schema")
    if isinstance(schema, bytes):
        schema = schema.decode()
    if schema != SCHEMA:
        raise RunFileError(
            f"not a qplane run file: its root attribute 'schema' is {schema!r}, expected {SCHEMA!r}"
        )
    try:
        version = int(attrs.get("schema_version"))
    except (TypeError, ValueError):
        raise RunFileError(
            f"run file has no valid schema_version attribute ({attrs.get('schema_version')!r})"
        ) from None
    newest = max(CONVERTERS)
    if version > newest:
        raise RunFileError(
            f"run file has schema version {version}, but this qplane ({__version__}) reads "
            f"versions {min(CONVERTERS)} to {newest}; upgrade qplane to read it"
        )
    if version not in CONVERTERS:
        raise RunFileError(
            f"run file has schema version {version}, which no qplane ever wrote "
            f"(known: {sorted(CONVERTERS)}); the file is corrupt or was not written by qplane"
        )
    return CONVERTERS[version]


def missing_converters() -> list[int]:
    """Schema versions the writer can produce that have no converter here (should be none).

    >>> missing_converters()
    []
    """
    return [v for v in range(1, SCHEMA_VERSION + 1) if v not in CONVERTERS]
