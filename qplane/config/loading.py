"""Reading a config file: YAML, the model tree, then the checks that look outside the file.

:func:`parse_config` validates in three steps and reports every mistake it finds, one line
each, as ``FILE: 'dotted.key': what is allowed``:

1. the ``instruments:`` section against QCoDeS's station JSON schema;
2. the whole document against :class:`~qplane.config.model.ConfigDocument` (types, ranges,
   choices, unknown keys, the decoder's options for its type);
3. what the file refers to: each instrument ``type`` can be imported, ``qplane.qpu`` and
   ``qplane.simulation`` name station instruments, control paths start at one, the QPU's
   geometry is valid, a decoder's model file exists and matches its SHA-256 pin, a
   calibration classifier file exists.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from pydantic import ValidationError

from qplane.config._errors import validation_errors
from qplane.config.decoding import check_model_files
from qplane.config.model import Config, ConfigDocument
from qplane.config.station import import_errors, station_schema_errors
from qplane.errors import ConfigError


def parse_config(text: str, path: str) -> Config:
    """Validate config text (``path`` is used in messages and to name the run).

    Raises:
        ConfigError: listing every mistake found (``errors`` holds one error per mistake).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}", path=path) from e
    if not isinstance(data, dict):
        raise ConfigError("must be a YAML mapping with 'instruments' and 'qplane' sections",
                          path=path)
    station_issues = station_schema_errors(data.get("instruments"))
    issues = list(station_issues)
    document = None
    try:
        document = ConfigDocument.model_validate(data)
    except ValidationError as e:
        for key, message in validation_errors(e, ConfigDocument):
            if station_issues and (key == "instruments" or key.startswith("instruments.")):
                continue  # QCoDeS's own message says it already
            issues.append((key, message))
    issues += _reference_issues(data, document, station_ok=not station_issues, path=path)
    if issues:
        raise ConfigError.combine([ConfigError(m, path=path, key=k) for k, m in issues])
    return Config(path=path, text=text, document=document)


def load_config(path: str | os.PathLike) -> Config:
    """Read and validate the config file at ``path``."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read config file: {e.strerror}", path=path) from e
    return parse_config(text, path)


def _reference_issues(data: dict, document: ConfigDocument | None, *, station_ok: bool,
                      path: str) -> list[tuple[str, str]]:
    """Step 3: what the file names must exist (runs as far as the file's shape allows)."""
    issues: list[tuple[str, str]] = []
    instruments: dict[str, Any] = data.get("instruments") if station_ok else {}
    if station_ok:
        issues += import_errors({name: entry["type"] for name, entry in instruments.items()})
    imported = station_ok and not issues
    section = data.get("qplane")
    qpu = section.get("qpu") if isinstance(section, dict) else None
    if station_ok and isinstance(qpu, str) and qpu not in instruments:
        issues.append(("qplane.qpu", "names no instrument of the station; instruments: "
                                     f"{', '.join(instruments) or 'none'}"))
    if document is None:
        return issues
    settings = document.qplane
    names = list(document.instruments)
    for name in settings.simulation:
        if name not in document.instruments:
            issues.append((f"qplane.simulation.{name}", "names no instrument of the station; "
                                                        f"instruments: {', '.join(names)}"))
    if settings.controls is not None:
        for control in settings.controls.bound():
            for k, p in settings.controls.binding(control).paths().items():
                head = p.split(".", 1)[0]
                if head not in document.instruments:
                    issues.append((f"qplane.controls.{control}.{k}",
                                   f"{p!r}: the station has no instrument {head!r}; it has "
                                   f"{sorted(names)}"))
    if settings.qpu in document.instruments:
        issues += _replay_issues(settings, document.instruments[settings.qpu].type)
    if (imported and settings.qpu in document.instruments
            and settings.replay is None):  # a replay's geometry is the recording's
        calibrating = settings.calibration is not None and settings.calibration.enabled
        issues += _geometry_issues(document, settings.qpu, required=calibrating, path=path)
    issues += check_model_files(settings.decoding)
    calibration = settings.calibration
    if (calibration is not None and isinstance(calibration.second_opinion, str)
            and not os.path.isfile(calibration.second_opinion)):
        issues.append(("qplane.calibration.second_opinion",
                       f"no classifier file {calibration.second_opinion!r}; give an existing "
                       "file, true (the shipped classifier) or false"))
    return issues


def _replay_issues(settings: Any, qpu_type: str) -> list[tuple[str, str]]:
    """A replay section goes with a replay QPU, and a replay QPU with its section."""
    from qplane.config.replay import REPLAY_TYPES

    replaying = qpu_type in REPLAY_TYPES
    if settings.replay is not None and not replaying:
        return [("qplane.replay", f"the QPU {settings.qpu!r} is a {qpu_type}; a replay section "
                                  f"needs type {REPLAY_TYPES[0]}")]
    if replaying and settings.replay is None:
        return [("qplane.replay", f"the QPU {settings.qpu!r} is a replay source: give "
                                  "qplane.replay.source (a run file or a stim sample file)")]
    if replaying and settings.calibration is not None and settings.calibration.enabled:
        return [("qplane.calibration", "a replay source runs no experiments; disable "
                                       "calibration (enabled: false) or remove the section")]
    return []


def _geometry_issues(document: ConfigDocument, qpu: str, *, required: bool,
                     path: str) -> list[tuple[str, str]]:
    from qplane.config.station import qpu_geometry

    try:
        qpu_geometry(document.instruments[qpu], key=f"instruments.{qpu}", path=path)
    except ConfigError as e:
        return [(err.key, err.message) for err in e.errors
                if required or not err.message.startswith("required key is missing")]
    return []
