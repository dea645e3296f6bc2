"""``qplane.simulation``: per-instrument pyvisa-sim twins for ``--simulate``.

``qplane check CONFIG --simulate`` opens every VISA instrument on its pyvisa-sim twin
(:data:`qplane.drivers.station.SIM_TWINS` knows the shipped drivers' twins). An instrument
whose driver has no known twin, or one that needs another, gets an entry here::

    qplane:
      simulation:
        my_source: {pyvisa_sim_file: "mypackage.sims:Source.yaml", address: "GPIB::7::INSTR"}

>>> SimulationOverride.model_validate({"pyvisa_sim_file": "a:b.yaml", "address": "GPIB::1::INSTR"}).address
'GPIB::1::INSTR'
"""

from __future__ import annotations

from pydantic import Field

from qplane.config._base import Section


class SimulationOverride(Section):
    """The pyvisa-sim twin one instrument opens on with ``--simulate``."""

    pyvisa_sim_file: str = Field(description="the twin's pyvisa-sim YAML, as 'package.module:"
                                             "file.yaml' or a path")
    address: str = Field(description="the twin's VISA resource for this instrument")
