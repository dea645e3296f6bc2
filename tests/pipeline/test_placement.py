"""CPU placement (``qplane.placement``): validated in the config, resolved against the CPUs the
run may use before any process starts, recorded in the run file, and applied by each process."""

from __future__ import annotations

import os
import pathlib

import h5py
import pytest

from qplane.config import PlacementSettings, load_config
from qplane.errors import ConfigError
from qplane.pipeline.launcher import run_pipeline
from qplane.pipeline.placement import (available_cpus, decoders_share_cpu, describe, pin,
                                      resolve)
from tests.pipeline.conftest import write_config


CONFIG = pathlib.Path(__file__).parents[2] / "config"


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


@pytest.mark.parametrize("shots, detectors, shared", [
    (1, 336, True), (64, 24, True), (85, 24, True), (86, 24, False), (17, 120, True),
    (18, 120, False), (6, 336, True), (16, 336, False), (64, 120, False), (1024, 24, False),
])
def test_auto_shares_with_several_workers_while_a_block_is_cheap_to_match(shots, detectors,
                                                                          shared):
    # a matching decoder's work per block is its detector-shots (at most 2048 shared)
    placement = resolve(settings(), {0, 1}, shots_per_block=shots, workers=2,
                        detectors=detectors)
    assert placement == (LATENCY_ON_0 if shared else {})
    # one worker: the block's size alone decides, as before
    assert resolve(settings(), {0, 1}, shots_per_block=shots, workers=1,
                   detectors=detectors) == (LATENCY_ON_0 if shots < 256 else {})


def test_the_detectors_auto_decides_on_come_from_the_decoder_and_the_qpu(tmp_path,
                                                                         monkeypatch):
    from qplane.pipeline.placement import matching_detectors

    cfg = load_config(CONFIG / "sim_d3.yaml")
    assert matching_detectors(cfg) == (3**2 - 1) * 3 == 24   # stim's rotated memory, d = r = 3
    assert matching_detectors(load_config(CONFIG / "sim_d5.yaml")) == 120   # correlated matching
    assert matching_detectors(load_config(CONFIG / "sim_d3_neural.yaml")) is None
    # a replay of a recording that is not there yet: unknown (the QPU reports the file)
    monkeypatch.chdir(tmp_path)
    assert matching_detectors(load_config(CONFIG / "replay.yaml")) is None


def test_a_replay_of_stim_samples_reports_its_circuits_detectors(tmp_path):
    import stim

    from qplane.pipeline.placement import matching_detectors

    circuit = stim.Circuit.generated("surface_code:rotated_memory_z", distance=5, rounds=2,
                                     after_clifford_depolarization=0.001)
    (tmp_path / "c.stim").write_text(str(circuit))
    text = open(CONFIG / "replay.yaml").read().replace(
        "source: runs/recorded.h5", f"source: {tmp_path / 'shots.b8'}").replace(
        "format: runfile", "format: b8").replace(
        "# circuit: samples.stim", f"circuit: {tmp_path / 'c.stim'}")
    (tmp_path / "replay.yaml").write_text(text)
    assert matching_detectors(load_config(tmp_path / "replay.yaml")) == circuit.num_detectors


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
    with pytest.raises(ConfigError, match=r"'qplane\.placement\.cpus\.decoder': CPU \[9\]"):
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
