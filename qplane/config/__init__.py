"""Loading and validating a qplane config file: one model tree, validated once.

A config file is one YAML document with two sections:

- ``instruments:`` — a QCoDeS station, in QCoDeS's own station format (``type``, ``init``,
  ``parameters`` ...), validated against QCoDeS's station JSON schema;
- ``qplane:`` — the pipeline: which instrument is the QPU, endpoints, acquisition, decoding
  (the decoder's options typed per decoder), controls, calibration, simulation, the run's
  output.

Both are one pydantic model tree (:class:`ConfigDocument`). Modules:

* :mod:`~qplane.config.loading` — :func:`load_config` / :func:`parse_config`: YAML, the model
  tree, then the checks that look outside the file;
* :mod:`~qplane.config.model` — the whole file (:class:`ConfigDocument`, :class:`Config`);
* :mod:`~qplane.config.pipeline` — ``qplane.run``, ``qplane.endpoints``, ``qplane.acquisition``;
* :mod:`~qplane.config.decoding` — ``qplane.decoding``, options typed per decoder;
* :mod:`~qplane.config.controls` — ``qplane.controls``, logical controls bound to parameters;
* :mod:`~qplane.config.calibration` — ``qplane.calibration``, the calibration worker's section;
* :mod:`~qplane.config.simulation` — ``qplane.simulation``, pyvisa-sim twins for ``--simulate``;
* :mod:`~qplane.config.station` — ``instruments:``, the QCoDeS station and the QPU's geometry;
* :mod:`~qplane.config.schema` — the config's JSON Schema, for editors;
* ``_base``, ``_errors`` (private) — the section base class, and pydantic's errors in qplane's
  words.

:func:`load_config` reads the file once, validates every key and value and what the file
refers to (instrument types, model files and their pins), and returns a frozen :class:`Config`;
anything wrong raises :class:`~qplane.errors.ConfigError` naming the file, the key and what is
allowed, one line per mistake, before any process or instrument starts. The launcher hands each process the
validated config (:meth:`Config.handoff`); no process reads the file again.
``docs/config.schema.json`` is the model's JSON Schema, for editors
(:mod:`qplane.config.schema` regenerates it).

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
>>> cfg.qpu_geometry().start_calibrated
True
>>> _ = open(path, "w").write("instruments: {}\\nqplane: {qpu: qpu, decoding: {wokers: 2}}\\n")
>>> load_config(path)
Traceback (most recent call last):
...
qplane.errors.ConfigError: ...c.yaml: 'qplane.decoding.wokers': unknown key; allowed keys: decoder, noise, shadow_fraction, workers
...c.yaml: 'qplane.qpu': names no instrument of the station; instruments: none
"""

from __future__ import annotations

from qplane.config._errors import validate_section
from qplane.config.calibration import CalibrationSettings
from qplane.config.controls import ControlsSettings
from qplane.config.decoding import (DECODER_NAMES, DecodingSettings, NeuralOptions, NeuralSoftOptions,
                                    PyMatchingOptions)
from qplane.config.loading import load_config, parse_config
from qplane.config.model import Config, ConfigDocument, QplaneSettings
from qplane.config.pipeline import (
    ENDPOINT_NAMES,
    AcquisitionSettings,
    EndpointSettings,
    RunSettings,
)
from qplane.config.placement import PLACEMENT_ROLES, PlacementSettings
from qplane.config.schema import config_json_schema, write_schema
from qplane.config.replay import REPLAY_TYPES, ReplaySettings
from qplane.config.security import SecuritySettings, endpoint_host, is_loopback
from qplane.config.simulation import SimulationOverride
from qplane.config.station import InstrumentEntry, QpuGeometry
from qplane.config.supervision import RestartSettings, SupervisionSettings
from qplane.errors import ConfigError


__all__ = [
    "AcquisitionSettings",
    "CalibrationSettings",
    "Config",
    "ConfigDocument",
    "ConfigError",
    "ControlsSettings",
    "DECODER_NAMES",
    "DecodingSettings",
    "ENDPOINT_NAMES",
    "EndpointSettings",
    "InstrumentEntry",
    "NeuralOptions",
    "NeuralSoftOptions",
    "PLACEMENT_ROLES",
    "PlacementSettings",
    "PyMatchingOptions",
    "QpuGeometry",
    "QplaneSettings",
    "REPLAY_TYPES",
    "ReplaySettings",
    "RestartSettings",
    "RunSettings",
    "SecuritySettings",
    "SimulationOverride",
    "SupervisionSettings",
    "config_json_schema",
    "endpoint_host",
    "is_loopback",
    "load_config",
    "parse_config",
    "validate_section",
    "write_schema",
]
