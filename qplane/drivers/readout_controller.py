"""QCoDeS driver for qplane's readout controller, a multi-channel single-shot discriminator.

Each channel also plays its qubit's readout tone (``frequency``, ``amplitude``) and sets the
integration window (``integration_time``, the readout duration).

Each channel integrates one qubit's readout signal into an IQ point and turns it into a bit:
the point is rotated by ``-rotation`` and compared with ``threshold`` (bit 1 above it). The
controller also holds the logical Pauli-frame bit (``logical_frame``), which it XORs into the
logical readout: applying a decoder's correction is setting that bit. SCPI commands embed the
channel number (``SENS<n>:ROT``, ``SENS<n>:THR``, ``SENS<n>:INT``). Simulated twin:
``qplane.drivers.sims:QplaneReadoutController.yaml``.

>>> ro = QplaneReadoutController("readout_doctest", "GPIB::2::INSTR", num_channels=2,
...     pyvisa_sim_file="qplane.drivers.sims:QplaneReadoutController.yaml")  # doctest: +ELLIPSIS
Connected to: qplane ...
>>> ro.ch2.threshold(0.125)
>>> ro.ch2.threshold()
0.125
>>> ro.close()
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from qcodes import validators as vals
from qcodes.instrument import InstrumentChannel, VisaInstrument, VisaInstrumentKWArgs

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from qcodes.parameters import Parameter

#: Channels the hardware offers (the simulated twin answers for channels 1..128).
MAX_CHANNELS = 128
#: Rotation range, rad (the twin rounds to 4 decimals, so a hair beyond ±π).
ROTATION_RANGE = (-math.pi, math.pi)
#: Threshold range of the integrated signal, V.
THRESHOLD_RANGE = (-2.0, 2.0)
#: Integration time range, s.
INTEGRATION_RANGE = (16e-9, 10e-6)
#: Readout-tone frequency range, Hz.
FREQUENCY_RANGE = (2e9, 12e9)
#: Readout-tone amplitude range, V.
AMPLITUDE_RANGE = (0.0, 1.0)


class ReadoutChannel(InstrumentChannel):
    """One readout channel: IQ rotation, threshold, integration time, the tone."""

    def __init__(self, parent: QplaneReadoutController, name: str, channel: int) -> None:
        super().__init__(parent, name)
        self.channel = channel
        self.rotation: Parameter = self.add_parameter(
            "rotation", label=f"Channel {channel} IQ rotation", unit="rad",
            get_cmd=f"SENS{channel}:ROT?", set_cmd=f"SENS{channel}:ROT {{:.9f}}",
            get_parser=float, vals=vals.Numbers(*ROTATION_RANGE),
        )
        """Angle the integrated IQ point is rotated back by before thresholding."""
        self.threshold: Parameter = self.add_parameter(
            "threshold", label=f"Channel {channel} threshold", unit="V",
            get_cmd=f"SENS{channel}:THR?", set_cmd=f"SENS{channel}:THR {{:.9f}}",
            get_parser=float, vals=vals.Numbers(*THRESHOLD_RANGE),
        )
        """Threshold on the rotated I quadrature; above it the shot reads 1."""
        self.integration_time: Parameter = self.add_parameter(
            "integration_time", label=f"Channel {channel} integration time", unit="s",
            get_cmd=f"SENS{channel}:INT?", set_cmd=f"SENS{channel}:INT {{:.6e}}",
            get_parser=float, vals=vals.Numbers(*INTEGRATION_RANGE),
        )
        """Length of the integration window (the readout duration)."""
        self.frequency: Parameter = self.add_parameter(
            "frequency", label=f"Channel {channel} readout frequency", unit="Hz",
            get_cmd=f"SENS{channel}:FREQ?", set_cmd=f"SENS{channel}:FREQ {{:.3f}}",
            get_parser=float, vals=vals.Numbers(*FREQUENCY_RANGE),
        )
        """Frequency of the readout tone."""
        self.amplitude: Parameter = self.add_parameter(
            "amplitude", label=f"Channel {channel} readout amplitude", unit="V",
            get_cmd=f"SENS{channel}:AMPL?", set_cmd=f"SENS{channel}:AMPL {{:.9f}}",
            get_parser=float, vals=vals.Numbers(*AMPLITUDE_RANGE),
        )
        """Amplitude of the readout tone."""


class QplaneReadoutController(VisaInstrument):
    """A multi-channel readout discriminator with a logical Pauli-frame bit.

    Args:
        name: instrument name.
        address: VISA resource.
        num_channels: how many channels (``ch1`` ... ``ch<num_channels>``) to expose.
        **kwargs: forwarded to :class:`~qcodes.instrument.VisaInstrument`.
    """

    default_terminator = "\n"

    def __init__(self, name: str, address: str, *, num_channels: int = MAX_CHANNELS,
                 **kwargs: Unpack[VisaInstrumentKWArgs]) -> None:
        if not 1 <= num_channels <= MAX_CHANNELS:
            raise ValueError(f"num_channels must be in [1, {MAX_CHANNELS}], got {num_channels}")
        super().__init__(name, address, **kwargs)
        self.logical_frame: Parameter = self.add_parameter(
            "logical_frame", label="Logical Pauli frame", get_cmd="FRAM?", set_cmd="FRAM {}",
            get_parser=int, vals=vals.Ints(0, 1),
        )
        """Bit XORed into the logical readout (the applied frame correction)."""
        for channel in range(1, num_channels + 1):
            self.add_submodule(f"ch{channel}", ReadoutChannel(self, f"ch{channel}", channel))
        self.connect_message()
