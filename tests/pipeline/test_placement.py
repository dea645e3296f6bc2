"""CPU placement (``qplane.placement``): validated in the config, resolved against the CPUs the
run may use before any process starts, recorded in the run file, and applied by each process."""

from __future__ import annotations

import os

import h5py
import pytest

from qplane.config import PlacementSettings, load_config
from qplane.errors import ConfigError
from qplane.pipeline.launcher import run_pipeline
from qplane.pipeline.placement import (available_cpus, decoders_share_cpu, describe, pin,
                                      resolve)
from tests.pipeline.conftest import write_config


def settings(**kw) -> PlacementSettings:
    return PlacementSettings.model_validate(kw)


@pytest.mark.parametrize("cpus, problem", [
    ({"recorder": []}, "at least one CPU"),
    ({"decoder": [-1]}, ">= 0"),
    ({"decoder": [1, 1]}, "named twice"),
    ({"plotter": [0]}, "plotter"),
])
def test_bad_cpu_lists_are_refused_naming_the_role(cpus, problem):
    with pytest.raises(ValueError, match=problem):
        settings(cpus=cpus)


def test_none_places_nothing():
    assert resolve(settings(preset="none"), {0, 1, 2, 3}, shots_per_block=1) == {}
    assert resolve(settings(preset="none"), None) == {}  # fine where pinning is unsupported


LATENCY_ON_0 = {"instrument_server": [0], "decoder": [0], "recorder": [1], "calibration": [1]}


@pytest.mark.parametrize("shots, workers, shared", [
    (1, 1, True), (64, 1, True), (255, 1, True), (256, 1, False), (1024, 1, False),
    (1, 2, True), (16, 2, True), (17, 2, False), (64, 4, False), (1024, 2, False),
])
def test_auto_shares_the_hot_path_cpu_for_small_blocks_only(shots, workers, shared):
    assert settings().preset == "auto"  # the default
    placement = resolve(settings(), {0, 1}, shots_per_block=shots, workers=workers)
    assert placement == (LATENCY_ON_0 if shared else {})
    assert decoders_share_cpu(placement) == shared


def test_auto_pins_nothing_where_it_cannot_and_explicit_cpus_still_apply():
    assert resolve(settings(), {3}, shots_per_block=1) == {}  # one CPU
    assert resolve(settings(), None, shots_per_block=1) == {}  # no sched_setaffinity: no error
    placement = resolve(settings(cpus={"recorder": [1]}), {0, 1}, shots_per_block=1024)
    assert placement == {"recorder": [1]}
    assert not decoders_share_cpu(placement)


def test_latency_preset_keeps_the_hot_path_on_one_cpu_and_the_rest_elsewhere():
    placement = resolve(settings(preset="latency"), {2, 3, 5})
    assert placement == {"instrument_server": [2], "decoder": [2], "recorder": [3, 5],
                         "calibration": [3, 5]}
    assert "recorder on CPU 3,5" in describe(placement)


def test_latency_preset_on_one_cpu_pins_nothing():
    assert resolve(settings(preset="latency"), {7}) == {}


def test_explicit_cpus_override_the_preset_for_their_role_only():
    placement = resolve(settings(preset="latency", cpus={"recorder": [0]}), {0, 1})
    assert placement["recorder"] == [0]
    assert placement["decoder"] == [0] and placement["calibration"] == [1]


def test_a_cpu_the_run_may_not_use_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match=r"placement\.cpus\.decoder: CPU \[9\]"):
        resolve(settings(cpus={"decoder": [0, 9]}), {0, 1})
    with pytest.raises(ConfigError, match="cannot pin"):
        resolve(settings(preset="latency"), None)


@pytest.mark.skipif(available_cpus() is None, reason="no sched_setaffinity here")
def test_pin_sets_the_calling_process_affinity():
    before = os.sched_getaffinity(0)
    cpu = min(before)
    try:
        assert pin({"decoder": [cpu]}, "decoder") == [cpu]
        assert os.sched_getaffinity(0) == {cpu}
        assert pin({"decoder": [cpu]}, "recorder") is None  # not named: left alone
        assert os.sched_getaffinity(0) == {cpu}
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.slow
@pytest.mark.skipif(available_cpus() is None or len(available_cpus()) < 2,
                    reason="the latency preset needs two CPUs")
def test_a_run_with_the_latency_preset_completes_and_records_its_placement(tmp_path):
    path = write_config(tmp_path, shots=1, max_in_flight=1)
    path.write_text(path.read_text() + "  placement: {preset: latency}\n")
    config = load_config(path)
    out = tmp_path / "run.h5"
    outcome = run_pipeline(config, out_path=str(out), duration=None, max_blocks=40)
    assert (outcome.end_state, outcome.exit_code) == ("completed", 0)
    hot = min(available_cpus())
    with h5py.File(out, "r") as f:
        blocks = f["qec/blocks"][:]
        rows = [e for e in f["events"][:] if e["kind"] in (b"placement", "placement")]
    assert len(blocks) == 40 and blocks["applied"].all()
    assert len(rows) == 1
    message = rows[0]["message"]
    message = message.decode() if isinstance(message, bytes) else message
    assert f"instrument_server on CPU {hot}" in message and f"decoder on CPU {hot}" in message
