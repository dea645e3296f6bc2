"""qplane: an open, hardware-neutral control plane for quantum processors.

The package is organised by role:

- ``qplane.device``: the device contract a station implements (QEC blocks and corrections,
  experiment requests and data, the control-settings vocabulary), as Protocols.
- ``qplane.codes``: the code definition (surface-code memory circuits, layout, fingerprints).
- ``qplane.sim_instruments``: simulated QPU and control electronics (QCoDeS instruments),
  implementing ``qplane.device``.
- ``qplane.drivers``: QCoDeS drivers qplane adds, and the logical-control mapping layer.
- ``qplane.pipeline``: wire format, transport, instrument server, workers, launcher.
- ``qplane.decoder``: the decoder protocol, PyMatching, the neural pre-decoder.
- ``qplane.calibration``: calibration experiments, fits, the calibration graph.
- ``qplane.runfile``: the HDF5 run file: schema, writer, reader (``open_run``), converters.
- ``qplane.analysis``: statistics, reports and live views of run files.
"""

__version__ = "0.1.0"

from qplane.errors import QplaneError

__all__ = ["QplaneError", "__version__"]
