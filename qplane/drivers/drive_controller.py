"""QCoDeS driver for qplane's qubit-drive controller, a multi-channel IF/amplitude source.

Each channel drives one qubit: it synthesises the qubit's pulses at an intermediate frequency
(IF) that an external microwave source (the LO, for example a Rohde & Schwarz SGS100A) mixes up,
so the drive frequency is ``LO + IF``; its ``amplitude`` is the π-pulse amplitude, ``drag`` the pulses' DRAG coefficient and
``flux_amplitude`` the qubit's flux pulse in its CZ gates. The SCPI
commands embed the channel number (``SOUR<n>:FREQ:IF``, ``SOUR<n>:AMPL``, ``OUTP<n>``). Its
simulated twin is ``qplane.drivers.sims:QplaneDriveController.yaml``:

>>> drive = QplaneDriveController("drive_doctest", "GPIB::1::INSTR", num_channels=2,
...     pyvisa_sim_file="qplane.drivers.sims:QplaneDriveController.yaml")  # doctest: +ELLIPSIS
Connected to: qplane ...
>>> drive.ch1.if_frequency(-120.5e6)
>>> drive.ch1.if_frequency()
-120500000.0
>>> drive.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qcodes import validators as vals
from qcodes.instrument import InstrumentChannel, VisaInstrument, VisaInstrumentKWArgs

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from qcodes.parameters import Parameter

#: Channels the hardware offers (the simulated twin answers for channels 1..128).
MAX_CHANNELS = 128
#: IF range of the controller's DACs, Hz.
IF_RANGE = (-500e6, 500e6)
#: Pulse amplitude range at the output, V.
AMPLITUDE_RANGE = (0.0, 1.0)
#: DRAG coefficient range.
DRAG_RANGE = (-5.0, 5.0)


class DriveChannel(InstrumentChannel):
    """One drive channel: IF frequency, pulse amplitude, DRAG, CZ flux, output switch."""

    def __init__(self, parent: QplaneDriveController, name: str, channel: int) -> None:
        super().__init__(parent, name)
        self.channel = channel
        self.if_frequency: Parameter = self.add_parameter(
            "if_frequency", label=f"Channel {channel} IF frequency", unit="Hz",
            get_cmd=f"SOUR{channel}:FREQ:IF?", set_cmd=f"SOUR{channel}:FREQ:IF {{:.6f}}",
            get_parser=float, vals=vals.Numbers(*IF_RANGE),
        )
        """Intermediate frequency mixed with the LO; drive frequency = LO + IF."""
        self.amplitude: Parameter = self.add_parameter(
            "amplitude", label=f"Channel {channel} pulse amplitude", unit="V",
            get_cmd=f"SOUR{channel}:AMPL?", set_cmd=f"SOUR{channel}:AMPL {{:.9f}}",
            get_parser=float, vals=vals.Numbers(*AMPLITUDE_RANGE),
        )
        """Peak amplitude of the π pulse."""
        self.drag: Parameter = self.add_parameter(
            "drag", label=f"Channel {channel} DRAG coefficient",
            get_cmd=f"SOUR{channel}:DRAG?", set_cmd=f"SOUR{channel}:DRAG {{:.9f}}",
            get_parser=float, vals=vals.Numbers(*DRAG_RANGE),
        )
        """DRAG coefficient: the derivative quadrature's weight."""
        self.flux_amplitude: Parameter = self.add_parameter(
            "flux_amplitude", label=f"Channel {channel} CZ flux amplitude", unit="V",
            get_cmd=f"SOUR{channel}:FLUX:AMPL?", set_cmd=f"SOUR{channel}:FLUX:AMPL {{:.9f}}",
            get_parser=float, vals=vals.Numbers(*AMPLITUDE_RANGE),
        )
        """Amplitude of the qubit's flux pulse in its CZ gates."""
        self.output: Parameter = self.add_parameter(
            "output", label=f"Channel {channel} output", get_cmd=f"OUTP{channel}?",
            set_cmd=f"OUTP{channel} {{}}", val_mapping={False: 0, True: 1},
        )
        """Output switch."""


class QplaneDriveController(VisaInstrument):
    """A multi-channel qubit-drive controller (IF + amplitude per qubit).

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
        for channel in range(1, num_channels + 1):
            self.add_submodule(f"ch{channel}", DriveChannel(self, f"ch{channel}", channel))
        self.connect_message()
