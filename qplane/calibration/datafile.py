"""Calibration data files for ``qplane calibration analyse FILE``: CSV, NPZ and HDF5.

One data set per file, with the same names in every format:

=============  ====================================================================
name           what
=============  ====================================================================
``sweep``      the swept values (required)
``signal``     the signal (real; complex for IQ), or instead:
``i``, ``q``   the two quadratures of IQ points (``signal_type`` becomes ``iq``)
``sigma``      per-point one-sigma noise of the signal (optional)
=============  ====================================================================

Metadata (each optional, and each overridden by the command line): ``kind``, ``units`` (of
the sweep), ``signal_type``, ``shots``, ``detuning`` (Hz), ``signal_units``.

- **CSV**: a header row names the columns; a unit may follow a column name in brackets or
  parentheses (``sweep [ns]``, ``sweep (MHz)``); lines ``# key: value`` before the header
  carry metadata. ``population``, ``magnitude`` or ``phase`` may name the signal column (and
  set the signal type).
- **NPZ**: arrays under the names above; metadata as 0-d arrays (``np.savez(f, sweep=...,
  signal=..., kind="rabi", units="mV")``).
- **HDF5**: datasets under the names above at the root (or in ``group``), metadata as
  attributes of that group.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "t1.csv")
>>> _ = open(path, "w").write("# kind: t1\\nsweep [us],population\\n0,0.9\\n10,0.5\\n20,0.3\\n")
>>> d = load_data(path)
>>> d.meta["kind"], d.meta["units"], d.signal_type, d.sweep.tolist()
('t1', 'us', 'population', [0.0, 10.0, 20.0])
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np

from qplane.errors import AnalysisError

META_KEYS = ("kind", "units", "signal_type", "shots", "detuning", "signal_units")
_SIGNAL_NAMES = ("signal", "population", "magnitude", "phase")


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One data set read from a file: arrays, signal type and metadata."""

    sweep: np.ndarray
    signal: np.ndarray
    sigma: np.ndarray | None
    signal_type: str
    meta: dict[str, Any]


def _meta_value(key: str, value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.ndarray):
        value = value.item() if value.ndim == 0 else value
        if isinstance(value, bytes):
            value = value.decode()
    if key == "shots":
        return int(float(value))
    if key == "detuning":
        return float(value)
    return str(value)


def _from_arrays(arrays: dict[str, Any], meta: dict[str, Any], path: str) -> DataFile:
    names = set(arrays)
    if "sweep" not in names:
        raise AnalysisError(f"{path}: no 'sweep' column or array (found: "
                            f"{', '.join(sorted(names)) or 'nothing'}); name the swept values "
                            "'sweep'")
    sweep = np.asarray(arrays["sweep"], dtype=float).ravel()
    signal_type = meta.get("signal_type")
    if "i" in names and "q" in names:
        signal = np.asarray(arrays["i"], dtype=float) + 1j * np.asarray(arrays["q"], dtype=float)
        signal_type = signal_type or "iq"
    else:
        found = [n for n in _SIGNAL_NAMES if n in names]
        if not found:
            raise AnalysisError(f"{path}: no signal: name a column or array 'signal' (or "
                                "'population', 'magnitude', 'phase', or 'i' and 'q' for IQ)")
        signal = np.asarray(arrays[found[0]])
        if np.iscomplexobj(signal):
            signal_type = signal_type or "iq"
        elif found[0] != "signal":
            signal_type = signal_type or found[0]
        signal = signal.ravel()
    sigma = np.asarray(arrays["sigma"], dtype=float).ravel() if "sigma" in names else None
    return DataFile(sweep, signal, sigma, signal_type or "population", meta)


def _load_csv(path: Path) -> DataFile:
    meta: dict[str, Any] = {}
    lines = path.read_text().splitlines()
    body = []
    for line in lines:
        m = re.match(r"\s*#\s*([A-Za-z_]+)\s*[:=]\s*(.*?)\s*$", line)
        if m and not body:
            if m.group(1) in META_KEYS:
                meta[m.group(1)] = _meta_value(m.group(1), m.group(2))
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            body.append(line)
    if len(body) < 2:
        raise AnalysisError(f"{path}: a CSV needs a header row and data rows")
    rows = list(csv.reader(body))
    header = []
    for h in rows[0]:
        m = re.match(r"\s*([^\[(]+?)\s*(?:[\[(]\s*([^\])]*)\s*[\])])?\s*$", h)
        name, unit = (m.group(1).strip().lower(), m.group(2)) if m else (h.strip().lower(), None)
        header.append(name)
        if name == "sweep" and unit and "units" not in meta:
            meta["units"] = unit.strip()
        if name == "phase" and unit and "signal_units" not in meta:
            meta["signal_units"] = unit.strip()
    try:
        data = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=float)
    except ValueError as e:
        raise AnalysisError(f"{path}: a value is not a number ({e}); the CSV must hold numbers "
                            "under one header row") from e
    if data.ndim != 2 or data.shape[1] != len(header):
        raise AnalysisError(f"{path}: every row must have {len(header)} values, as the header")
    return _from_arrays({h: data[:, i] for i, h in enumerate(header)}, meta, str(path))


def _load_npz(path: Path) -> DataFile:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k.lower(): z[k] for k in z.files}
    meta = {k: _meta_value(k, arrays.pop(k)) for k in list(arrays) if k in META_KEYS}
    return _from_arrays(arrays, meta, str(path))


def _load_hdf5(path: Path, group: str | None) -> DataFile:
    import h5py

    with h5py.File(path, "r") as f:
        g = f[group] if group else f
        arrays = {k.lower(): g[k][()] for k in g if isinstance(g[k], h5py.Dataset)}
        meta = {k: _meta_value(k, v) for k, v in g.attrs.items() if k in META_KEYS}
    meta.update({k: _meta_value(k, arrays.pop(k)) for k in list(arrays) if k in META_KEYS})
    return _from_arrays(arrays, meta, str(path))


def load_data(path: str | Path, *, group: str | None = None) -> DataFile:
    """Read one data set from a CSV, NPZ or HDF5 file (see the module for the layout)."""
    path = Path(path)
    if not path.exists():
        raise AnalysisError(f"no data file at {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _load_csv(path)
    if suffix == ".npz":
        return _load_npz(path)
    if suffix in (".h5", ".hdf5", ".hdf"):
        return _load_hdf5(path, group)
    raise AnalysisError(f"{path}: unknown data file type {suffix!r}; use .csv, .npz or .h5")
