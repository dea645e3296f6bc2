"""Fixtures: simulated labs (device-model QPU + electronics on their pyvisa-sim twins)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from qplane.drivers import LabStation, open_station
from qplane.sim_instruments.lab import sim_lab_config


@contextlib.contextmanager
def opened_lab(**kwargs) -> Iterator[LabStation]:
    lab = open_station(sim_lab_config(**kwargs), simulate=True)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def make_lab():
    """Open a simulated lab with ``sim_lab_config(**kwargs)``; closed after the test."""
    stack = contextlib.ExitStack()
    with stack:
        yield lambda **kwargs: stack.enter_context(opened_lab(**kwargs))


@pytest.fixture(scope="module")
def frozen_lab() -> Iterator[LabStation]:
    """A distance-3 lab whose truth does not drift (for the calibration experiments)."""
    with opened_lab(distance=3, seed=11, drift=False) as lab:
        yield lab
