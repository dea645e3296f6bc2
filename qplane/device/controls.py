"""The control-settings vocabulary: the logical controls a station exposes, by name.

A *setting* is one logical control of one qubit, named ``"<qubit>.<control>"`` (for example
``"q3.drive_frequency"``); calibration reads and writes settings, and a station maps each
control to its instruments' parameters (``qplane.drivers.ControlMap``, from the config's
``qplane.controls`` section). The names here are the whole vocabulary; units are SI.

>>> CONTROLS
('drive_frequency', 'pi_amplitude', 'readout_angle', 'readout_threshold')
>>> ALL_CONTROLS[-1], CONTROL_UNITS["readout_angle"]
('frame_correction', 'rad')
>>> OPTIONAL_CONTROLS[:2]
('readout_frequency', 'readout_amplitude')

:data:`CONTROLS` are the ones every station binds. :data:`OPTIONAL_CONTROLS` are per-qubit
controls a station *may* bind (readout tone, DRAG, the CZ flux pulse): a device whose station
leaves one unbound plays it at its ideal value (the simulated lab), and the nodes that
calibrate it (``resonator_spectroscopy``, ``readout_*``, ``drag``, ``cz``) need it bound.

Two small Protocols describe optional device capabilities, checked by duck typing:
:class:`ControlledDevice` (the device reads its settings through a bound control map, as the
simulated QPU does) and :class:`SimulatedTruth` (the device knows the ideal value of every
setting; only a simulator can, hardware simply lacks the method).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

#: Drive frequency of a qubit's pulses, Hz (a composite control: local oscillator + IF).
DRIVE_FREQUENCY = "drive_frequency"
#: Amplitude of a qubit's π pulse, V.
PI_AMPLITUDE = "pi_amplitude"
#: Rotation angle of a qubit's readout discriminator, rad.
READOUT_ANGLE = "readout_angle"
#: Threshold of a qubit's readout discriminator (after rotation), V.
READOUT_THRESHOLD = "readout_threshold"
#: Frequency of a qubit's readout tone, Hz.
READOUT_FREQUENCY = "readout_frequency"
#: Amplitude of a qubit's readout tone, V.
READOUT_AMPLITUDE = "readout_amplitude"
#: Length of a qubit's readout (integration window), s.
READOUT_DURATION = "readout_duration"
#: DRAG coefficient of a qubit's pulses (dimensionless: derivative quadrature over the pulse).
DRAG_BETA = "drag_beta"
#: Amplitude of the flux pulse a qubit plays in each of its CZ gates, V.
CZ_AMPLITUDE = "cz_amplitude"
#: The device-wide Pauli-frame correction control.
FRAME_CORRECTION = "frame_correction"

#: The per-qubit logical controls calibration reads and updates.
CONTROLS = (DRIVE_FREQUENCY, PI_AMPLITUDE, READOUT_ANGLE, READOUT_THRESHOLD)
#: Per-qubit controls a station may bind (unbound: the device plays the ideal value).
OPTIONAL_CONTROLS = (READOUT_FREQUENCY, READOUT_AMPLITUDE, READOUT_DURATION, DRAG_BETA,
                     CZ_AMPLITUDE)
#: Controls that are one parameter for the whole device.
GLOBAL_CONTROLS = (FRAME_CORRECTION,)
#: Every logical control a ``qplane.controls`` section may map.
ALL_CONTROLS = (*CONTROLS, *OPTIONAL_CONTROLS, *GLOBAL_CONTROLS)

#: The unit of each per-qubit control's value.
CONTROL_UNITS: Mapping[str, str] = MappingProxyType({
    DRIVE_FREQUENCY: "Hz", PI_AMPLITUDE: "V", READOUT_ANGLE: "rad", READOUT_THRESHOLD: "V",
    READOUT_FREQUENCY: "Hz", READOUT_AMPLITUDE: "V", READOUT_DURATION: "s", DRAG_BETA: "",
    CZ_AMPLITUDE: "V",
})


#: What each control is, in one line (the config schema's description of its binding).
CONTROL_DOCS: Mapping[str, str] = MappingProxyType({
    DRIVE_FREQUENCY: "Hz: LO + IF", PI_AMPLITUDE: "the pi pulse's amplitude",
    READOUT_ANGLE: "rad: IQ-plane rotation", READOUT_THRESHOLD: "the discriminator's threshold",
    READOUT_FREQUENCY: "optional, Hz: the readout tone", READOUT_AMPLITUDE: "optional, V: the "
    "readout tone's amplitude", READOUT_DURATION: "optional, s: the integration window",
    DRAG_BETA: "optional: the pulses' DRAG coefficient", CZ_AMPLITUDE: "optional, V: the "
    "qubit's flux pulse in its CZ gates",
    FRAME_CORRECTION: "the logical Pauli frame (0/1)",
})


@runtime_checkable
class ControlledDevice(Protocol):
    """A device that reads its settings through a bound control map.

    The station binds its ``qplane.drivers.ControlMap`` to every such instrument once the
    instruments are open (``qplane.drivers.bind_controls``).
    """

    def bind_controls(self, controls: Any) -> None: ...


@runtime_checkable
class SimulatedTruth(Protocol):
    """A device that knows each setting's ideal value (a simulator; hardware lacks it).

    ``true_settings()`` returns ``{"<qubit>.<control>": ideal value}`` for every qubit and every
    control of :data:`CONTROLS`, computed from the device's hidden truth now. Reports draw the
    calibrated settings against these values.
    """

    def true_settings(self) -> dict[str, float]: ...
