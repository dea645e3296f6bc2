"""Bounded updates refuse out-of-limit or too-large steps; revert restores exact values."""

import math

import pytest

from qplane.calibration.nodes import RabiNode, SpectroscopyNode
from qplane.calibration.run import run_node
from qplane.calibration.synthetic import QubitTruth, SyntheticBackend
from qplane.calibration.updates import (
    ControlLimits,
    DictTarget,
    SettingChange,
    SettingsLedger,
)
from qplane.errors import LimitError, QplaneError

LIMITS = {"pi_amplitude": ControlLimits(0.1, 0.8, max_step=0.05),
          "drive_frequency": ControlLimits(4e9, 6e9, max_step=5e6)}


def _ledger(**values):
    target = DictTarget({"q0.pi_amplitude": 0.40, "q0.drive_frequency": 5.0e9,
                         "q1.pi_amplitude": 0.30, **values})
    return target, SettingsLedger(target, LIMITS)


def test_out_of_limit_value_is_refused_and_nothing_written():
    target, ledger = _ledger(**{"q0.pi_amplitude": 0.78})
    with pytest.raises(LimitError, match="outside qplane's limits"):
        ledger.apply("q0", {"pi_amplitude": 0.81}, node="rabi")
    assert target.values["q0.pi_amplitude"] == 0.78
    assert ledger.history == ()


def test_too_large_step_is_refused():
    target, ledger = _ledger()
    with pytest.raises(LimitError, match="maximum step"):
        ledger.apply("q0", {"pi_amplitude": 0.46}, node="rabi")
    assert target.values["q0.pi_amplitude"] == 0.40
    ledger.apply("q0", {"pi_amplitude": 0.44}, node="rabi")
    assert target.values["q0.pi_amplitude"] == 0.44


def test_one_refused_control_writes_none_of_the_update():
    target, ledger = _ledger()
    with pytest.raises(LimitError):
        ledger.apply("q0", {"drive_frequency": 5.001e9, "pi_amplitude": 0.9}, node="x")
    assert target.values == {"q0.pi_amplitude": 0.40, "q0.drive_frequency": 5.0e9,
                             "q1.pi_amplitude": 0.30}


class RefusingTarget(DictTarget):
    """A device whose validators refuse pi_amplitude above 0.42."""

    def write_setting(self, setting, value, details=None):
        if setting.endswith("pi_amplitude") and value > 0.42:
            raise LimitError(f"{setting}: {value} above the instrument's 0.42")
        super().write_setting(setting, value)


def test_instrument_refusal_rolls_back_the_partial_update():
    target = RefusingTarget({"q0.pi_amplitude": 0.40, "q0.drive_frequency": 5.0e9})
    ledger = SettingsLedger(target, LIMITS)
    with pytest.raises(LimitError, match="instrument"):
        ledger.apply("q0", {"drive_frequency": 5.002e9, "pi_amplitude": 0.43}, node="x")
    assert target.values == {"q0.pi_amplitude": 0.40, "q0.drive_frequency": 5.0e9}


def test_changes_are_recorded_with_old_new_node_and_fit():
    _, ledger = _ledger()
    (change,) = ledger.apply("q0", {"pi_amplitude": 0.42}, node="rabi", fit={"chi2_red": 1.1})
    assert (change.old, change.new, change.node, change.qubit) == (0.40, 0.42, "rabi", "q0")
    assert change.fit == {"chi2_red": 1.1}
    back = SettingChange.from_history_row(change.history_row())
    assert back == change


def test_revert_restores_exact_previous_values_per_qubit_and_node():
    target, ledger = _ledger()
    before = dict(target.values)
    ledger.apply("q0", {"pi_amplitude": 0.4123456789}, node="rabi")
    ledger.apply("q0", {"drive_frequency": 5.0031e9}, node="ramsey")
    ledger.apply("q1", {"pi_amplitude": 0.31}, node="rabi")
    ledger.revert(qubit="q0", node="rabi")
    assert target.values["q0.pi_amplitude"] == before["q0.pi_amplitude"]   # exact
    assert target.values["q0.drive_frequency"] == 5.0031e9                 # other node kept
    assert target.values["q1.pi_amplitude"] == 0.31                        # other qubit kept
    reverts = [c for c in ledger.history if c.node == "revert"]
    assert len(reverts) == 1 and reverts[0].old == 0.4123456789 and reverts[0].new == 0.40
    # Nothing left to revert for that node and qubit.
    with pytest.raises(QplaneError, match="no change"):
        ledger.revert(qubit="q0", node="rabi")


def test_revert_walks_back_one_run_at_a_time():
    target, ledger = _ledger()
    ledger.apply("q0", {"pi_amplitude": 0.43}, node="rabi")
    ledger.apply("q0", {"pi_amplitude": 0.46}, node="rabi")
    ledger.revert(qubit="q0", node="rabi")
    assert target.values["q0.pi_amplitude"] == 0.43
    ledger.revert(qubit="q0", node="rabi")
    assert target.values["q0.pi_amplitude"] == 0.40


def test_node_update_goes_through_the_bounds():
    # The qubit moved 1.5 MHz: spectroscopy finds it, but the 1 MHz maximum step refuses it.
    truth = QubitTruth(frequency=5.0e9)
    backend = SyntheticBackend(truth={"q0": truth}, seed=2)
    backend.settings["q0.drive_frequency"] = 5.0e9 - 1.5e6
    ledger = backend.ledger()
    run = run_node(SpectroscopyNode(), "q0", backend, ledger, mode="calibrate")
    assert run.outcome.value == "out_of_spec" and "maximum step" in run.reason
    assert backend.settings["q0.drive_frequency"] == 5.0e9 - 1.5e6
    assert run.changes == ()


def test_node_update_is_recorded_and_revertible():
    backend = SyntheticBackend(seed=4)
    backend.settings["q0.pi_amplitude"] = 0.41
    ledger = backend.ledger()
    run = run_node(RabiNode(), "q0", backend, ledger, mode="calibrate")
    assert run.outcome.value == "success"
    assert math.isclose(backend.settings["q0.pi_amplitude"], 0.4, rel_tol=0.01)
    assert run.changes[0].fit["values"]["pi_amplitude"] == run.changes[0].new
    ledger.revert(qubit="q0", node="rabi")
    assert backend.settings["q0.pi_amplitude"] == 0.41
