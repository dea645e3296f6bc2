"""The device contract: what a station implements, real or simulated, as small Protocols.

Nothing here simulates anything; :mod:`qplane.sim_instruments` implements this contract, and so
does a station in front of real hardware.

Modules:

* :mod:`~qplane.device.qec` — QEC acquisition and correction: :class:`SyndromeBlock`,
  :class:`CorrectionResult`, the :class:`QECDevice` Protocol, :func:`count_wrong` (a
  correction's failures against the truth), :func:`acquire_blocks` / :func:`apply_corrections`
  (several blocks per device call where the device batches, one by one where not),
  :func:`take_pending` (a batch device's all-or-none check of the blocks it is corrected for);
* :mod:`~qplane.device.experiments` — calibration experiments: :class:`ExperimentKind`,
  :class:`ExperimentRequest`, :class:`ExperimentData`, the :class:`ExperimentRunner` Protocol,
  :data:`SWEEP_LIMITS`, :data:`SWEEP_UNITS`;
* :mod:`~qplane.device.controls` — the control-settings vocabulary: :data:`CONTROLS`,
  :data:`ALL_CONTROLS`, :data:`GLOBAL_CONTROLS`, :data:`CONTROL_UNITS`, and the optional
  capabilities :class:`ControlledDevice` and :class:`SimulatedTruth`.

>>> from qplane.device import ExperimentKind, ExperimentRequest, SWEEP_UNITS
>>> SWEEP_UNITS[ExperimentKind("ramsey")]
's'
"""

from qplane.device.controls import (
    ALL_CONTROLS,
    CONTROL_DOCS,
    CONTROL_UNITS,
    CONTROLS,
    CZ_AMPLITUDE,
    DRAG_BETA,
    DRIVE_FREQUENCY,
    FRAME_CORRECTION,
    GLOBAL_CONTROLS,
    OPTIONAL_CONTROLS,
    PI_AMPLITUDE,
    READOUT_AMPLITUDE,
    READOUT_ANGLE,
    READOUT_DURATION,
    READOUT_FREQUENCY,
    READOUT_THRESHOLD,
    ControlledDevice,
    SimulatedTruth,
)
from qplane.device.experiments import (
    EXPERIMENT_DATA_VERSION,
    SINGLE_QUBIT_KINDS,
    SWEEP_LIMITS,
    SWEEP_UNITS,
    ExperimentData,
    ExperimentKind,
    ExperimentRequest,
    ExperimentRunner,
    validate_sweep,
)
from qplane.device.qec import (
    QEC_METHODS,
    CorrectionResult,
    QECDevice,
    SyndromeBlock,
    acquire_blocks,
    apply_corrections,
    count_wrong,
    take_pending,
)

__all__ = [
    "ALL_CONTROLS",
    "CONTROL_DOCS",
    "CONTROLS",
    "CONTROL_UNITS",
    "CZ_AMPLITUDE",
    "DRAG_BETA",
    "DRIVE_FREQUENCY",
    "EXPERIMENT_DATA_VERSION",
    "FRAME_CORRECTION",
    "GLOBAL_CONTROLS",
    "OPTIONAL_CONTROLS",
    "PI_AMPLITUDE",
    "QEC_METHODS",
    "READOUT_AMPLITUDE",
    "READOUT_ANGLE",
    "READOUT_DURATION",
    "READOUT_FREQUENCY",
    "READOUT_THRESHOLD",
    "SINGLE_QUBIT_KINDS",
    "SWEEP_LIMITS",
    "SWEEP_UNITS",
    "ControlledDevice",
    "CorrectionResult",
    "acquire_blocks",
    "apply_corrections",
    "count_wrong",
    "take_pending",
    "ExperimentData",
    "ExperimentKind",
    "ExperimentRequest",
    "ExperimentRunner",
    "QECDevice",
    "SimulatedTruth",
    "SyndromeBlock",
    "validate_sweep",
]
