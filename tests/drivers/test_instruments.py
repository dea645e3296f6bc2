"""Every driver round-trips its settings through its pyvisa-sim twin and refuses bad values."""

from __future__ import annotations

import pytest


def reread(parameter):
    """Read from the instrument, not the cache."""
    return parameter.get()


def test_sgs100a_round_trips_frequency_and_power(sgs):
    sgs.frequency(5.125e9)
    sgs.power(-12.5)
    sgs.frequency.cache.invalidate()
    assert reread(sgs.frequency) == 5.125e9
    assert reread(sgs.power) == -12.5
    assert sgs.get_idn()["model"] == "SGS100A_simulated"


def test_sgs100a_validator_refuses_before_sending(sgs, write_spy):
    spy = write_spy(sgs)
    with pytest.raises(ValueError):
        sgs.frequency(25e9)
    assert spy.writes == []
    sgs.frequency(6e9)
    assert spy.writes == ["SOUR:FREQ 6000000000.00"]  # the spy does see what is sent


def test_drive_controller_round_trips_each_channel(drive):
    drive.ch1.if_frequency(-123.456789e6)
    drive.ch4.amplitude(0.3141)
    drive.ch2.output(True)
    for p in (drive.ch1.if_frequency, drive.ch4.amplitude, drive.ch2.output):
        p.cache.invalidate()
    assert reread(drive.ch1.if_frequency) == pytest.approx(-123.456789e6, abs=1e-6)
    assert reread(drive.ch4.amplitude) == pytest.approx(0.3141)
    assert reread(drive.ch2.output) is True
    assert reread(drive.ch3.amplitude) == 0.0  # channels are independent
    assert drive.get_idn()["vendor"] == "qplane"


@pytest.mark.parametrize("param, value", [("if_frequency", 600e6), ("amplitude", 1.2),
                                          ("amplitude", -0.1)])
def test_drive_controller_refuses_out_of_range(drive, write_spy, param, value):
    spy = write_spy(drive)
    with pytest.raises(ValueError):
        drive.ch1.parameters[param](value)
    assert spy.writes == []


def test_readout_controller_round_trips(readout):
    readout.ch3.rotation(-1.25)
    readout.ch3.threshold(0.042)
    readout.ch1.integration_time(1.2e-6)
    readout.logical_frame(1)
    for p in (readout.ch3.rotation, readout.ch3.threshold, readout.ch1.integration_time,
              readout.logical_frame):
        p.cache.invalidate()
    assert reread(readout.ch3.rotation) == pytest.approx(-1.25)
    assert reread(readout.ch3.threshold) == pytest.approx(0.042)
    assert reread(readout.ch1.integration_time) == pytest.approx(1.2e-6)
    assert reread(readout.logical_frame) == 1


@pytest.mark.parametrize("param, value", [("rotation", 4.0), ("threshold", -3.0),
                                          ("integration_time", 1e-9)])
def test_readout_controller_refuses_out_of_range(readout, write_spy, param, value):
    spy = write_spy(readout)
    with pytest.raises(ValueError):
        readout.ch2.parameters[param](value)
    assert spy.writes == []


def test_channel_count_is_validated():
    from qplane.drivers import QplaneDriveController
    with pytest.raises(ValueError, match="num_channels"):
        QplaneDriveController("drive_bad", "GPIB::1::INSTR", num_channels=0,
                              pyvisa_sim_file="qplane.drivers.sims:QplaneDriveController.yaml")
