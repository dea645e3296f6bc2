"""Opening a run file: :func:`open_run` and the :class:`Run` it returns.

Opening reads only the root attributes, so a multi-GB file opens at once; every table and
every shot dataset is read when asked for, and only the part asked for. The file is opened
read-only in SWMR mode, so a run that is still being written can be followed (each accessor
sees what the writer has flushed so far), and a file whose writer was killed opens too: the
reader keeps the blocks whose shots all made it to disk and says what was lost
(:meth:`Run.integrity`).

:class:`Run` is the file access and metadata (here), composed with its views by concern: the
QEC blocks and shots (:mod:`qplane.runfile._qec`), the tables (:mod:`qplane.runfile._tables`)
and integrity and summary (:mod:`qplane.runfile.integrity`).

>>> import tempfile, os
>>> from qplane.analysis import write_synthetic_run
>>> path = write_synthetic_run(os.path.join(tempfile.mkdtemp(), "r.h5"), blocks=3,
...                            shots_per_block=64, calibration_every=0)
>>> with open_run(path) as run:
...     print(run.end_state, len(run.blocks), run.num_shots)
...     print(run.shots(blocks=slice(0, 1)).detection_events.shape)
completed 3 192
(64, 24)
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import h5py
import yaml

from qplane.errors import RunFileError
from qplane.runfile._qec import QecViews
from qplane.runfile._noise import NoiseViews
from qplane.runfile._superblock import check_file
from qplane.runfile._tables import TableViews
from qplane.runfile._values import parse_json, text
from qplane.runfile.converters import Converter, converter_for
from qplane.runfile.integrity import IntegrityViews


def open_run(path: str | os.PathLike) -> "Run":
    """Open the run file at ``path`` for reading (also while it is being written).

    Raises:
        RunFileError: the file is missing, not HDF5, not a qplane run file, or of a schema
            version this qplane cannot read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RunFileError(f"no run file at {path}")
    check_file(path)  # a truncated file would make HDF5's SWMR open retry for minutes
    file = None
    errors = []
    # SWMR read without taking the file lock: a reader must never stop the writer (which
    # reopens the file read-write to stamp how the run ended); a lock it left when killed must
    # not stop the reader. Then a plain read, for a file not made for SWMR.
    for kwargs in ({"swmr": True, "libver": "latest", "locking": False}, {"locking": False}):
        try:
            file = h5py.File(path, "r", **kwargs)
            break
        except (OSError, RuntimeError, ValueError) as e:
            errors.append(str(e))
    if file is None:
        raise RunFileError(f"cannot open {path} as HDF5: {errors[-1]}")
    try:
        converter = converter_for(file.attrs)
        run = Run(file, converter)
        for name in file.attrs:  # every root attribute read once: damage shows here, not later
            run._raw_attr(name)
    except RunFileError as e:
        file.close()
        raise RunFileError(f"{path}: {e}") from None
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        file.close()
        raise RunFileError(f"{path} is damaged: HDF5 cannot read its metadata ({type(e).__name__}: "
                           f"{e}); restore it from a complete copy") from None
    return run


class Run(QecViews, TableViews, NoiseViews, IntegrityViews):
    """A run file opened for reading. Use :func:`open_run`; close it (or use ``with``).

    Metadata (``run_id``, ``config``, ``station_snapshot``, ``versions``, ``model_cards``...)
    comes from the root attributes. Tables are returned as pandas DataFrames (:attr:`events`,
    :attr:`calibration`, :attr:`parameters`, :attr:`simulation_truth`, :attr:`streams`,
    :attr:`circuits`), the learned noise models (:attr:`noise_models`), per-block QEC data as an xarray Dataset (:attr:`qec`), shot-level data on
    demand (:meth:`shots`), what is missing by :meth:`integrity`.
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
        return text(self._raw_attr(name, default))

    @property
    def schema_version(self) -> int:
        return self._converter.version

    @property
    def schema_minor(self) -> int:
        """The minor version (fields added within the major version; 0 before there was one)."""
        return int(self._raw_attr("schema_minor", 0))

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
        return parse_json(self._raw_attr("station_snapshot"))

    @cached_property
    def versions(self) -> dict[str, str]:
        """Package name -> version, as installed for the run."""
        return parse_json(self._raw_attr("versions"))

    @cached_property
    def key_fingerprints(self) -> dict[str, str]:
        """Role -> fingerprint of its CURVE public key, for a run with keys (never a key);
        empty without keys, and in files from before schema 3.1."""
        value = parse_json(self._raw_attr("key_fingerprints"))
        return value if isinstance(value, dict) else {}

    @cached_property
    def model_cards(self) -> dict[str, Any]:
        """Model cards of the neural models the run used (``model_cards`` attribute, JSON),
        keyed by model name; empty when the run used none."""
        cards = parse_json(self._raw_attr("model_cards"))
        qec_cards = parse_json(self.qec_attrs.get("model_cards"))
        return {**cards, **qec_cards} if isinstance(cards, dict) else qec_cards

    @cached_property
    def qec_attrs(self) -> dict[str, Any]:
        """Attributes of ``/qec``: num_detectors, num_observables, decoder, distance, ..."""
        if "qec" not in self._file:
            return {}
        return {k: (text(v) if isinstance(v, bytes) else v) for k, v in self._file["qec"].attrs.items()}

    @property
    def decoder(self) -> str:
        """The decoder's name: ``/qec`` attribute ``decoder``, else the config's
        ``qplane.decoding.decoder.type``, else empty."""
        name = text(self.qec_attrs.get("decoder", ""))
        if name:
            return name
        try:
            return str(self.config["qplane"]["decoding"]["decoder"]["type"])
        except (KeyError, TypeError):
            return ""

    @property
    def decoded_on(self) -> str:
        """Which backend and device ran the decoder, as each worker reported when it compiled
        it (e.g. ``"torch on cuda:0"``; ``""`` for files written before it was recorded)."""
        where = []
        for row in self.table("/events"):
            if text(row["kind"]) != "decoder_compiled":
                continue
            details = parse_json(row["details"])
            if details.get("backend"):
                where.append(f"{details['backend']} on {details.get('device', '?')}")
        return ", ".join(dict.fromkeys(where))

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
        return text(ds[()])

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
