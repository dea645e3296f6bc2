"""Fixtures: qplane's drivers and the R&S SGS100A on their pyvisa-sim twins."""

from __future__ import annotations

import pytest
from qcodes.instrument_drivers.rohde_schwarz import RohdeSchwarzSGS100A

from qplane.drivers import QplaneDriveController, QplaneReadoutController


@pytest.fixture
def sgs():
    inst = RohdeSchwarzSGS100A("sgs_test", address="GPIB::1::INSTR",
                               pyvisa_sim_file="qcodes.instrument.sims:RSSGS100A.yaml")
    yield inst
    inst.close()


@pytest.fixture
def drive():
    inst = QplaneDriveController("drive_test", "GPIB::1::INSTR", num_channels=4,
                                 pyvisa_sim_file="qplane.drivers.sims:QplaneDriveController.yaml")
    yield inst
    inst.close()


@pytest.fixture
def readout():
    inst = QplaneReadoutController(
        "readout_test", "GPIB::2::INSTR", num_channels=4,
        pyvisa_sim_file="qplane.drivers.sims:QplaneReadoutController.yaml")
    yield inst
    inst.close()


class WriteSpy:
    """Counts what reaches an instrument's VISA session."""

    def __init__(self, monkeypatch, instrument):
        self.writes: list[str] = []
        original = instrument.write_raw

        def spy(cmd: str) -> None:
            self.writes.append(cmd)
            original(cmd)
        monkeypatch.setattr(instrument, "write_raw", spy)


@pytest.fixture
def write_spy(monkeypatch):
    return lambda instrument: WriteSpy(monkeypatch, instrument)
