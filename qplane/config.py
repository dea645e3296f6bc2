"""Loading and validating a qplane config file.

A config file is one YAML document with two sections:

- ``instruments:`` — a QCoDeS station, in QCoDeS's own station format (``type``, ``init``,
  ``parameters`` ...), validated against QCoDeS's station JSON schema;
- ``qplane:`` — the pipeline: which instrument is the QPU, endpoints, acquisition, decoding,
  and the run's output.

:func:`load_config` reads the file once, validates every key and value, and returns a frozen
:class:`Config`; anything wrong raises :class:`~qplane.errors.ConfigError` naming the file,
the key and what is allowed, before any process or instrument starts.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "c.yaml")
>>> _ = open(path, "w").write('''
... instruments:
...   qpu: {type: qplane.sim_instruments.qpu.SimulatedQPU, init: {distance: 3}}
... qplane:
...   qpu: qpu
...   decoding: {workers: 2}
... ''')
>>> cfg = load_config(path)
>>> cfg.qplane.decoding.workers, cfg.qplane.decoding.decoder.type
(2, 'pymatching')
>>> _ = open(path, "w").write("instruments: {}\\nqplane: {qpu: qpu, decoding: {wokers: 2}}\\n")
>>> load_config(path)
Traceback (most recent call last):
...
qplane.errors.ConfigError: ...c.yaml: 'qplane.decoding.wokers': unknown key; allowed keys: decoder, shadow_fraction, workers
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import types
import typing
from typing import Any

import yaml

from qplane.errors import ConfigError

#: Endpoint names of the pipeline; "auto" means an ipc:// endpoint in the run's temp folder.
ENDPOINT_NAMES = ("syndromes", "corrections", "records", "control", "monitor")


def _field(default: Any = dataclasses.MISSING, *, doc: str, minimum: float | None = None,
           maximum: float | None = None, choices: tuple[Any, ...] | None = None,
           default_factory: Any = dataclasses.MISSING) -> Any:
    meta = {"doc": doc, "minimum": minimum, "maximum": maximum, "choices": choices}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class RunSettings:
    name: str | None = _field(None, doc="run name used in the run-file name (default: the config file's stem)")
    output_dir: str = _field("runs", doc="folder for run files, relative to the working directory")
    duration: float | None = _field(None, minimum=0.0, doc="seconds to run; none = until Ctrl-C")


@dataclasses.dataclass(frozen=True)
class EndpointSettings:
    syndromes: str = _field("auto", doc="instrument server PUSH -> decoding workers")
    corrections: str = _field("auto", doc="decoding workers PUSH -> instrument server")
    records: str = _field("auto", doc="every process PUSH -> recorder")
    control: str = _field("auto", doc="ROUTER on the instrument server: circuit requests")
    monitor: str = _field("auto", doc="PUB from every process -> launcher (live statistics)")


@dataclasses.dataclass(frozen=True)
class AcquisitionSettings:
    shots_per_block: int = _field(1024, minimum=1, maximum=1_000_000, doc="shots in one syndrome block")
    max_in_flight: int = _field(8, minimum=1, maximum=10_000, doc="blocks sent but not yet corrected, at most")
    correction_timeout: float = _field(10.0, minimum=0.01, doc="seconds to wait for a block's correction before declaring it lost")
    max_blocks: int | None = _field(None, minimum=1, doc="stop after this many blocks (none = no limit)")


@dataclasses.dataclass(frozen=True)
class DecoderSettings:
    type: str = _field("pymatching", doc="decoder name (see qplane.decoder.DECODER_TYPES)")
    options: dict = _field(default_factory=dict, doc="keyword options of the decoder")


@dataclasses.dataclass(frozen=True)
class DecodingSettings:
    workers: int = _field(1, minimum=1, maximum=64, doc="decoding worker processes")
    decoder: DecoderSettings = _field(default_factory=DecoderSettings, doc="the decoder")
    shadow_fraction: float = _field(0.0, minimum=0.0, maximum=1.0, doc="fraction of shots also decoded by plain PyMatching to check the decoder")


@dataclasses.dataclass(frozen=True)
class QplaneSettings:
    qpu: str = _field(doc="name of the station instrument that runs the QEC experiment")
    run: RunSettings = _field(default_factory=RunSettings, doc="run output")
    endpoints: EndpointSettings = _field(default_factory=EndpointSettings, doc="ZeroMQ endpoints")
    acquisition: AcquisitionSettings = _field(default_factory=AcquisitionSettings, doc="acquisition")
    decoding: DecodingSettings = _field(default_factory=DecodingSettings, doc="decoding")
    controls: dict = _field(default_factory=dict, doc="logical controls -> station parameter paths with limits (qplane.drivers.controls)")
    calibration: dict = _field(default_factory=dict, doc="calibration worker settings (qplane.calibration.config)")
    simulation: dict = _field(default_factory=dict, doc="per-instrument pyvisa-sim twin overrides for --simulate")


@dataclasses.dataclass(frozen=True)
class Config:
    """A loaded, validated config file."""

    path: str
    text: str
    station: dict  # the QCoDeS station section: {"instruments": {...}}
    qplane: QplaneSettings

    @property
    def name(self) -> str:
        return self.qplane.run.name or os.path.splitext(os.path.basename(self.path))[0]

    def station_yaml(self) -> str:
        """The station section as YAML, for ``qcodes.Station.load_config``."""
        return yaml.safe_dump(self.station, sort_keys=False)


def _describe(t: Any) -> str:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(t))
    if t is type(None):
        return "null"
    return {int: "an integer", float: "a number", str: "a string", dict: "a mapping",
            bool: "true/false"}.get(t, getattr(t, "__name__", str(t)))


def _convert(value: Any, t: Any, key: str, path: str) -> Any:
    if typing.get_origin(t) in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(t):
            try:
                return _convert(value, option, key, path)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"must be {_describe(t)}, got {value!r}", path=path, key=key)
    if t is type(None):
        if value is None:
            return None
        raise ConfigError("must be null", path=path, key=key)
    if dataclasses.is_dataclass(t):
        return _build(t, value, key, path)
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and t is not bool or not isinstance(value, t):
        raise ConfigError(f"must be {_describe(t)}, got {value!r}", path=path, key=key)
    return value


def _build(cls: type, data: Any, prefix: str, path: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"must be a mapping, got {data!r}", path=path, key=prefix)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"unknown key; allowed keys: {', '.join(sorted(fields))}",
                              path=path, key=f"{prefix}.{key}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"required key is missing ({f.metadata['doc']})", path=path, key=key)
            continue
        value = _convert(data[name], hints[name], key, path)
        meta = f.metadata
        if meta.get("choices") is not None and value not in meta["choices"]:
            raise ConfigError(f"must be one of {meta['choices']}, got {value!r}", path=path, key=key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if meta.get("minimum") is not None and value < meta["minimum"]:
                raise ConfigError(f"must be >= {meta['minimum']}, got {value!r}", path=path, key=key)
            if meta.get("maximum") is not None and value > meta["maximum"]:
                raise ConfigError(f"must be <= {meta['maximum']}, got {value!r}", path=path, key=key)
        kwargs[name] = value
    return cls(**kwargs)


def _station_schema() -> dict:
    import qcodes.station

    with open(qcodes.station.SCHEMA_TEMPLATE_PATH) as f:
        return json.load(f)


def _validate_station(station: Any, path: str) -> None:
    import jsonschema

    if not isinstance(station, dict) or not isinstance(station.get("instruments"), dict):
        raise ConfigError("must be a mapping of instrument name -> {type, init, parameters}",
                          path=path, key="instruments")
    try:
        jsonschema.validate(station, _station_schema())
    except jsonschema.ValidationError as e:
        key = ".".join(["instruments", *map(str, list(e.absolute_path)[1:])]) if e.absolute_path else "instruments"
        raise ConfigError(f"not a valid QCoDeS station entry: {e.message}", path=path, key=key) from e
    for name, entry in station["instruments"].items():
        type_path = entry["type"]
        module_name, _, class_name = type_path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
            getattr(module, class_name)
        except (ImportError, AttributeError, ValueError) as e:
            raise ConfigError(f"instrument type {type_path!r} cannot be imported: {e}",
                              path=path, key=f"instruments.{name}.type") from e


def _validate_endpoints(endpoints: EndpointSettings, path: str) -> None:
    for name in ENDPOINT_NAMES:
        value = getattr(endpoints, name)
        if value != "auto" and not value.startswith(("ipc://", "tcp://", "inproc://")):
            raise ConfigError(f"must be 'auto', 'ipc://PATH' or 'tcp://HOST:PORT', got {value!r}",
                              path=path, key=f"qplane.endpoints.{name}")


def _validate_sections(settings: QplaneSettings, path: str) -> None:
    """Validate the sections whose schema lives with the code that uses them."""
    if settings.controls:
        from qplane.drivers import validate_controls

        try:
            validate_controls(settings.controls)
        except ConfigError as e:
            raise ConfigError(str(e), path=path) from e
    if settings.calibration:
        from qplane.calibration.config import validate_calibration

        try:
            validate_calibration(settings.calibration)
        except ConfigError as e:
            raise ConfigError(str(e), path=path) from e


def parse_config(text: str, path: str) -> Config:
    """Validate config text (``path`` is used in messages and to name the run)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}", path=path) from e
    if not isinstance(data, dict):
        raise ConfigError("must be a YAML mapping with 'instruments' and 'qplane' sections", path=path)
    unknown = set(data) - {"instruments", "qplane"}
    if unknown:
        raise ConfigError("unknown top-level key; allowed keys: instruments, qplane",
                          path=path, key=sorted(unknown)[0])
    if "qplane" not in data:
        raise ConfigError("required section is missing", path=path, key="qplane")
    settings = _build(QplaneSettings, data["qplane"], "qplane", path)
    station = {"instruments": data.get("instruments")}
    _validate_station(station, path)
    if settings.qpu not in station["instruments"]:
        raise ConfigError(
            f"names no instrument of the station; instruments: {', '.join(station['instruments']) or 'none'}",
            path=path, key="qplane.qpu",
        )
    _validate_endpoints(settings.endpoints, path)
    _validate_sections(settings, path)
    from qplane.decoder.registry import DECODER_TYPES

    if settings.decoding.decoder.type not in DECODER_TYPES:
        raise ConfigError(f"unknown decoder; known decoders: {', '.join(sorted(DECODER_TYPES))}",
                          path=path, key="qplane.decoding.decoder.type")
    return Config(path=path, text=text, station=station, qplane=settings)


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate the config file at ``path``."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read config file: {e.strerror}", path=path) from e
    return parse_config(text, path)
