"""Ready-made simulated labs: the config of a station with a device-model QPU on sim drivers.

:func:`sim_lab_config` returns the same dict a ``config/sim_*.yaml`` file holds: an
``instruments:`` section (an SGS100A as the drive LO and qplane's drive and readout controllers,
each already pointed at its pyvisa-sim twin, plus the
:class:`~qplane.sim_instruments.qpu.SimulatedQPU`) and a ``qplane.controls`` section binding the
logical controls. Open it with :func:`qplane.drivers.open_station`.

>>> cfg = sim_lab_config(distance=3)
>>> cfg["qplane"]["controls"]["qubits"], cfg["instruments"]["qpu"]["init"]["noise_model"]
(17, 'device')
"""

from __future__ import annotations

from typing import Any

from qplane.codes import patch_layout

#: Drive LO frequency of the simulated lab: the middle of the qubit band.
LO_FREQUENCY = 5.0e9


def sim_lab_config(*, distance: int = 3, rounds: int | None = None, basis: str = "Z",
                   seed: int = 0, physical_error_rate: float = 0.003, shots_per_block: int = 1024,
                   clock_speedup: float = 0.0, drift: bool = True,
                   profile: dict[str, Any] | None = None,
                   optional_controls: bool = False) -> dict[str, Any]:
    """The config dict of a simulated lab around a distance-``distance`` patch.

    ``optional_controls`` also binds the readout tone, DRAG and CZ flux controls
    (:data:`~qplane.device.controls.OPTIONAL_CONTROLS`), which the nodes
    ``resonator_spectroscopy``, ``readout_frequency`` / ``_amplitude`` / ``_duration``,
    ``drag`` and ``cz`` calibrate; unbound, the device plays them ideally.
    """
    n = len(patch_layout(distance=distance, basis=basis).names)
    init: dict[str, Any] = {
        "distance": distance, "rounds": rounds if rounds is not None else distance,
        "basis": basis, "physical_error_rate": physical_error_rate,
        "shots_per_block": shots_per_block, "seed": seed, "noise_model": "device",
        "clock_speedup": clock_speedup, "drift": drift,
    }
    if profile:
        init["profile"] = dict(profile)
    return {
        "instruments": {
            "drive_lo": {
                "type": "qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A",
                "address": "GPIB::1::INSTR",
                "init": {"pyvisa_sim_file": "qcodes.instrument.sims:RSSGS100A.yaml"},
                "parameters": {"frequency": {"initial_value": LO_FREQUENCY},
                               "power": {"initial_value": 10.0}},
            },
            "drive": {
                "type": "qplane.drivers.QplaneDriveController",
                "address": "GPIB::1::INSTR",
                "init": {"num_channels": n,
                         "pyvisa_sim_file": "qplane.drivers.sims:QplaneDriveController.yaml"},
            },
            "readout": {
                "type": "qplane.drivers.QplaneReadoutController",
                "address": "GPIB::2::INSTR",
                "init": {"num_channels": n,
                         "pyvisa_sim_file": "qplane.drivers.sims:QplaneReadoutController.yaml"},
            },
            "qpu": {"type": "qplane.sim_instruments.qpu.SimulatedQPU", "init": init},
        },
        "qplane": {
            "qpu": "qpu",
            "controls": {
                "qubits": n,
                "drive_frequency": {"lo": "drive_lo.frequency",
                                    "if": "drive.ch{channel}.if_frequency",
                                    "limits": [4.5e9, 5.5e9]},
                "pi_amplitude": {"path": "drive.ch{channel}.amplitude", "limits": [0.0, 0.8]},
                "readout_angle": {"path": "readout.ch{channel}.rotation",
                                  "limits": [-3.1416, 3.1416]},
                "readout_threshold": {"path": "readout.ch{channel}.threshold",
                                      "limits": [-2.0, 2.0]},
                "frame_correction": {"path": "readout.logical_frame"},
                **(OPTIONAL_BINDINGS if optional_controls else {}),
            },
        },
    }


#: The optional controls' bindings in the simulated lab (limits as wide as the electronics').
OPTIONAL_BINDINGS: dict[str, Any] = {
    "readout_frequency": {"path": "readout.ch{channel}.frequency", "limits": [6.0e9, 8.0e9]},
    "readout_amplitude": {"path": "readout.ch{channel}.amplitude", "limits": [0.0, 0.5]},
    "readout_duration": {"path": "readout.ch{channel}.integration_time",
                         "limits": [1.0e-7, 4.0e-6]},
    "drag_beta": {"path": "drive.ch{channel}.drag", "limits": [-2.0, 2.0]},
    "cz_amplitude": {"path": "drive.ch{channel}.flux_amplitude", "limits": [0.0, 0.6]},
}
