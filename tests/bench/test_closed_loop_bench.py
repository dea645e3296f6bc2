"""``qplane bench closed_loop``: the fixed period sweep, the targets, the trade-off figure, and
no comparison with results of other code or arguments."""

import argparse
import json

import pytest

from qplane.bench import closed_loop
from qplane.bench._closed_loop import SCENARIOS, summarize
from qplane.errors import QplaneError


def _args(tmp_path, **kw):
    p = argparse.ArgumentParser()
    closed_loop.add_arguments(p)
    a = p.parse_args(["--hours", "0.017", "--shots", "256", "--periods", "30,60",
                      "--out", str(tmp_path / "cl.json")])
    for k, v in kw.items():
        setattr(a, k, v)
    return a


def test_a_tiny_sweep_writes_every_period_the_targets_and_the_figure(tmp_path):
    assert closed_loop.main(_args(tmp_path)) == 0
    data = json.loads((tmp_path / "cl.json").read_text())
    scenario = data["scenarios"]["default"]
    assert list(scenario["modes"]) == ["perfect", "none", "fixed@30", "fixed@60", "qplane"]
    assert set(scenario["summary"]["targets"]) == {"qplane_within_1.15x_of_perfect",
                                                   "no_fixed_period_dominates_qplane"}
    assert scenario["sim_fingerprint"] == closed_loop.sim_fingerprint()
    assert "X-basis" in scenario["device"]
    assert (tmp_path / "cl_default.png").read_bytes()[:4] == b"\x89PNG"
    # Rerunning one mode keeps the others: same arguments, same simulator.
    assert closed_loop.main(_args(tmp_path, modes="none")) == 0
    # Other arguments: the kept results are not comparable, and the bench says so.
    with pytest.raises(QplaneError, match="no comparable earlier result"):
        closed_loop.main(_args(tmp_path, modes="none", shots=512))


def test_a_fixed_period_that_is_better_and_cheaper_is_named():
    base = {"worst_window_ler": 0.03, "calibration_fraction": 0.0, "updates": 0}
    r = {"perfect": dict(base, ler=0.02, calibration_device_s=0.0),
         "fixed@600": dict(base, ler=0.021, calibration_device_s=50.0),
         "qplane": dict(base, ler=0.022, calibration_device_s=100.0)}
    s = summarize(r)
    assert s["targets"]["no_fixed_period_dominates_qplane"] is False
    assert s["dominated_by"] == ["fixed@600"]


def test_every_scenario_names_its_basis_and_profile():
    for scenario in SCENARIOS.values():
        assert scenario["basis"] in ("X", "Z") and "drift_step" in scenario["profile"]
