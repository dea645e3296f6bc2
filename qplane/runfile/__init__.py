"""The HDF5 run file: its schema, writer, reader and the converters that read every version.

* :mod:`~qplane.runfile.schema` — the layout (:data:`SCHEMA_VERSION`, row types, tables);
* :mod:`~qplane.runfile.writer` — :class:`RunFileWriter`, the only writer of a run file (the
  recorder's), and :func:`package_versions`;
* :mod:`~qplane.runfile.reader` — :func:`open_run` -> :class:`Run`: reading any schema version,
  also while it is written;
* :mod:`~qplane.runfile.integrity` — :class:`Integrity`: what a file holds and what is missing;
* :mod:`~qplane.runfile.converters` — :func:`converter_for`: the :class:`Converter` that maps a
  version onto the current API;
* ``_qec``, ``_tables``, ``_noise``, ``_values`` (private) — the reader's QEC views, table views,
  learned noise models and cell
  values.

The reader (which needs pandas and xarray) is imported when first asked for, so a process that
only writes run files does not pay for it.

>>> from qplane.runfile import SCHEMA_VERSION, open_run
>>> SCHEMA_VERSION, callable(open_run)
(3, True)
"""

from typing import Any

from qplane.runfile.converters import CONVERTERS, Converter, converter_for
from qplane.runfile.schema import (
    APPLIED_SHOT_DATASETS,
    BLOCK_DTYPE,
    CALIBRATION_DTYPE,
    CIRCUIT_DTYPE,
    END_STATES,
    EVENT_DTYPE,
    PARAMETER_DTYPE,
    SCHEMA,
    SCHEMA_VERSION,
    SHOT_DATASETS,
    STREAM_DTYPE,
    TABLES,
    TRUTH_DTYPE,
)
from qplane.runfile._reopen import end_killed_file
from qplane.runfile.writer import RunFileWriter, package_versions

_READER = {"open_run": "qplane.runfile.reader", "Run": "qplane.runfile.reader",
           "Integrity": "qplane.runfile.integrity"}

__all__ = [
    "BLOCK_DTYPE",
    "CALIBRATION_DTYPE",
    "CIRCUIT_DTYPE",
    "CONVERTERS",
    "Converter",
    "END_STATES",
    "EVENT_DTYPE",
    "Integrity",
    "PARAMETER_DTYPE",
    "Run",
    "RunFileWriter",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SHOT_DATASETS", "APPLIED_SHOT_DATASETS",
    "STREAM_DTYPE",
    "TABLES",
    "TRUTH_DTYPE",
    "converter_for",
    "end_killed_file",
    "open_run",
    "package_versions",
]


def __getattr__(name: str) -> Any:
    if name in _READER:
        import importlib

        return getattr(importlib.import_module(_READER[name]), name)
    raise AttributeError(f"module 'qplane.runfile' has no attribute {name!r}")
