"""Calibration backends: what :func:`~qplane.calibration.run.run_node` talks to.

:class:`StationBackend` is the in-process backend over a device that runs experiments
(``run_experiment(request)``, e.g. :class:`~qplane.sim_instruments.qpu.SimulatedQPU`) and the
station's :class:`~qplane.drivers.ControlMap` (every write goes through its limits and the
instruments' validators). The instrument server exposes the same four calls over the wire.
The control map is the backend's one limits layer: :meth:`StationBackend.check_write` is what a
:class:`~qplane.calibration.updates.SettingsLedger` over this backend checks every update with.

>>> from qplane.drivers import open_station
>>> from qplane.sim_instruments import sim_lab_config
>>> lab = open_station(sim_lab_config(distance=3, drift=False), simulate=True)  # doctest: +ELLIPSIS
Connected to: ...
>>> backend = StationBackend.from_lab(lab)
>>> round(backend.read_setting("q0.pi_amplitude"), 3) == round(float(backend.device.truth().pi_amplitude[0]), 3)
True
>>> lab.close()
"""

from __future__ import annotations

import time
from typing import Any, Callable

from qplane.device import ExperimentData, ExperimentRequest
from qplane.errors import ConfigError


def split_setting(setting: str) -> tuple[str, str]:
    """``"q3.drive_frequency"`` → ``("q3", "drive_frequency")``.

    >>> split_setting("q3.drive_frequency")
    ('q3', 'drive_frequency')
    """
    qubit, sep, control = setting.partition(".")
    if not sep or not qubit or not control:
        raise ConfigError(f"a setting is '<qubit>.<control>', got {setting!r}")
    return qubit, control


class StationBackend:
    """A :class:`~qplane.calibration.run.CalibrationBackend` over a device and a control map.

    Args:
        device: has ``run_experiment(request)``; its ``clock.now()`` (if any) is the time base.
        controls: a :class:`~qplane.drivers.ControlMap` (``get(control, qubit)``,
            ``set(control, qubit, value)``).
    """

    def __init__(self, device: Any, controls: Any):
        self.device = device
        self.controls = controls
        self.experiment_time = 0.0

    @classmethod
    def from_lab(cls, lab: Any) -> "StationBackend":
        """From an opened :class:`~qplane.drivers.LabStation` whose QPU is named ``qpu``."""
        return cls(lab.station.components["qpu"], lab.controls)

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData:
        data = self.device.run_experiment(request)
        self.experiment_time += float(data.duration)
        return data

    def read_setting(self, setting: str) -> float:
        qubit, control = split_setting(setting)
        return float(self.controls.get(control, qubit))

    def write_setting(self, setting: str, value: float,
                      details: dict[str, Any] | None = None) -> None:
        qubit, control = split_setting(setting)
        self.controls.set(control, qubit, float(value))

    def check_write(self, setting: str, old: float, new: float, *,
                    step: bool = True) -> Callable[[], None]:
        """Check ``old -> new`` against the control map's limits (``qplane.controls``: range,
        ``max_step`` unless ``step=False``, the instrument's validators); return the write.

        Raises:
            LimitError: naming the parameter, the value and the limit; nothing is written.
        """
        qubit, control = split_setting(setting)
        param, raw = self.controls.check(control, qubit, float(new), step=step, old=old)
        return lambda: param.set(raw)

    def now(self) -> float:
        clock = getattr(self.device, "clock", None)
        return float(clock.now()) if clock is not None else time.time()
