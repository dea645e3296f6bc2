"""The ``instruments:`` section: a QCoDeS station, in QCoDeS's own format, and the QPU's geometry.

The section is what ``qcodes.Station.load_config`` reads: instrument name ->
``{type, address, port, init, parameters, add_parameters, enable_forced_reconnect}``.
:class:`InstrumentEntry` is that shape as a model (for the config's JSON Schema and typed
access); :func:`station_schema_errors` also checks the section against QCoDeS's own JSON
schema, whose messages QCoDeS users know, and :func:`import_errors` that each ``type`` can be
imported.

:func:`qpu_geometry` is the one place the QEC experiment's geometry (distance, rounds, basis,
whether the device starts calibrated) is read from a config: the QPU's ``init`` values over
the defaults of the QPU type's own constructor.

>>> from qplane.config.station import InstrumentEntry
>>> entry = InstrumentEntry.model_validate({"type": "qplane.sim_instruments.qpu.SimulatedQPU",
...                                         "init": {"distance": 5}})
>>> qpu_geometry(entry, key="instruments.qpu")
QpuGeometry(distance=5, rounds=3, basis='Z', start_calibrated=True)
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any, Literal, Optional, Union

from pydantic import Field, ValidationError, model_validator

from qplane.config._base import KeyedValueError, Section
from qplane.errors import ConfigError

_LIMITS_DOC = "QCoDeS validator limits [low, high] (or a string QCoDeS parses)"


class _ParameterBase(Section):
    label: Optional[str] = None
    unit: Optional[str] = None
    scale: Optional[float] = None
    post_delay: Optional[float] = None
    inter_delay: Optional[float] = None
    step: Optional[float] = None
    offset: Optional[float] = None
    limits: Optional[Union[list[float], str]] = Field(None, min_length=2, max_length=2,
                                                      description=_LIMITS_DOC)
    initial_value: Any = Field(None, description="value set when the instrument is loaded")
    monitor: Optional[bool] = None


class ParameterOptions(_ParameterBase):
    """``parameters.<path>``: QCoDeS options of an existing parameter."""

    alias: Optional[str] = Field(None, pattern=r"^\w+$", description="also reachable as this "
                                                                      "instrument attribute")


class AddParameterOptions(_ParameterBase):
    """``add_parameters.<name>``: a new parameter that delegates to ``source``."""

    source: Optional[str] = Field(None, description="the parameter it delegates to")


class InstrumentEntry(Section):
    """One instrument of the station (QCoDeS's station format)."""

    type: str = Field(pattern=r"^(\w+)(\.\w+)*$", description="the driver class, as a dotted "
                                                              "import path")
    driver: Optional[str] = Field(None, description="deprecated by QCoDeS: append it to 'type'")
    address: Optional[str] = Field(None, description="VISA resource (or what the driver takes)")
    port: Optional[int] = None
    enable_forced_reconnect: Optional[bool] = None
    init: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the "
                                                                   "driver's constructor")
    parameters: dict[str, ParameterOptions] = Field(default_factory=dict)
    add_parameters: dict[str, AddParameterOptions] = Field(default_factory=dict)


def _qcodes_schema() -> dict:
    import qcodes.station

    with open(qcodes.station.SCHEMA_TEMPLATE_PATH) as f:
        return json.load(f)


def station_schema_errors(instruments: Any) -> list[tuple[str, str]]:
    """``[(dotted key, message)]`` for every way ``instruments`` breaks QCoDeS's schema."""
    import jsonschema

    if not isinstance(instruments, dict):
        return [("instruments", "must be a mapping of instrument name -> {type, init, "
                                "parameters}")]
    validator = jsonschema.Draft7Validator(_qcodes_schema())
    out = []
    for e in sorted(validator.iter_errors({"instruments": instruments}),
                    key=lambda e: [str(p) for p in e.absolute_path]):
        key = ".".join(["instruments", *map(str, list(e.absolute_path)[1:])])
        out.append((key, f"not a valid QCoDeS station entry: {e.message}"))
    return out


def import_errors(types: dict[str, Any]) -> list[tuple[str, str]]:
    """``[(dotted key, message)]`` for each instrument whose ``type`` cannot be imported.

    Args:
        types: instrument name -> its ``type`` (a dotted class path).
    """
    out = []
    for name, type_path in types.items():
        try:
            _import(type_path)
        except (ImportError, AttributeError, ValueError) as e:
            out.append((f"instruments.{name}.type",
                        f"instrument type {type_path!r} cannot be imported: {e}"))
    return out


def _import(type_path: str) -> Any:
    module_name, _, class_name = type_path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


class QpuGeometry(Section):
    """The QEC experiment's geometry: what the calibration worker must know of the QPU."""

    distance: int = Field(ge=3, le=51, description="distance of the rotated surface code (odd)")
    rounds: int = Field(ge=1, le=1000, description="syndrome rounds")
    basis: Literal["X", "Z"] = Field(description="memory basis")
    start_calibrated: bool = Field(description="the device starts calibrated (a simulated QPU)")

    @model_validator(mode="after")
    def _odd(self) -> QpuGeometry:
        if self.distance % 2 == 0:
            raise KeyedValueError("distance", f"must be an odd integer >= 3, got {self.distance}")
        return self


def geometry_defaults(type_path: str) -> dict[str, Any]:
    """The QPU type's constructor defaults for the :class:`QpuGeometry` keys it has."""
    init = getattr(_import(type_path), "__init__", None)
    try:
        params = inspect.signature(init).parameters
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in params.items()
            if k in QpuGeometry.model_fields and p.default is not inspect.Parameter.empty}


def qpu_geometry(entry: InstrumentEntry, *, key: str, path: str | None = None) -> QpuGeometry:
    """The QPU's geometry: its ``init`` values over its type's constructor defaults.

    Args:
        entry: the QPU's station entry.
        key: its dotted key (``instruments.<name>``), for messages.
        path: the config file, for messages.

    Raises:
        ConfigError: a value is of the wrong type or range, or neither ``init`` nor the type's
            constructor gives it; the message names ``<key>.init.<name>``.
    """
    from qplane.config._errors import validation_errors

    try:
        values = {**geometry_defaults(entry.type),
                  **{k: v for k, v in entry.init.items() if k in QpuGeometry.model_fields}}
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError(f"instrument type {entry.type!r} cannot be imported: {e}", path=path,
                          key=f"{key}.type") from e
    try:
        return QpuGeometry.model_validate(values)
    except ValidationError as e:
        issues = validation_errors(e, QpuGeometry, prefix=f"{key}.init")
        issues = [(k, m.replace("required key is missing", "required key is missing: the QPU "
                                "type's constructor has no default; give it in init", 1))
                  for k, m in issues]
        raise ConfigError.combine([ConfigError(m, path=path, key=k) for k, m in issues]) from e
