"""The replay source: a recorded run served again reproduces its predictions bit for bit."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import stim
import yaml

from qplane.codes import memory_circuit
from qplane.drivers import replay as replay_module
from qplane.config import load_config, parse_config
from qplane.device import QECDevice
from qplane.drivers import ReplayQPU
from qplane.errors import ConfigError, SourceExhausted
from qplane.pipeline.launcher import run_pipeline
from qplane.runfile import open_run

REPO = pathlib.Path(__file__).resolve().parents[2]


def _sim_config(tmp_path, shots: int) -> str:
    text = (REPO / "config" / "sim_d3.yaml").read_text()
    data = yaml.safe_load(text)
    data["qplane"]["acquisition"]["shots_per_block"] = shots
    data["qplane"]["run"]["output_dir"] = str(tmp_path)
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _replay_config(tmp_path, source: str, shots: int) -> str:
    data = yaml.safe_load((REPO / "config" / "replay.yaml").read_text())
    data["qplane"]["replay"]["source"] = source
    data["qplane"]["acquisition"]["shots_per_block"] = shots
    data["qplane"]["run"]["output_dir"] = str(tmp_path)
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _applied_shots(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detection events, predictions and truth of the applied shots, in acquisition order."""
    with open_run(path) as run:
        cols = run.block_columns("shot_start", "shots", "applied")
        rows = [np.arange(s, s + n) for s, n, a in zip(cols["shot_start"], cols["shots"],
                                                       cols["applied"]) if a]
        take = np.concatenate(rows)
        return tuple(run.read_shots(name)[take] for name in
                     ("detection_events", "predictions", "truth"))


def test_replaying_a_recorded_run_reproduces_its_predictions(tmp_path):
    recorded = str(tmp_path / "recorded.h5")
    outcome = run_pipeline(load_config(_sim_config(tmp_path, 16)), out_path=recorded,
                           duration=None, max_blocks=40)
    assert outcome.end_state == "completed", outcome.reason
    # Other block sizes than recorded: predictions are per shot, so they must still agree.
    replayed = str(tmp_path / "replayed.h5")
    outcome = run_pipeline(load_config(_replay_config(tmp_path, recorded, 7)), out_path=replayed,
                           duration=None, max_blocks=None)
    assert outcome.end_state == "completed", outcome.reason
    assert "source ended" in outcome.reason
    dets_a, preds_a, truth_a = _applied_shots(recorded)
    dets_b, preds_b, truth_b = _applied_shots(replayed)
    with open_run(replayed) as run:
        assert "source_exhausted" in set(run.events["kind"])
        # Each block's path, stage by stage (schema 2.1), in order on the one clock.
        blocks = run.blocks[run.blocks["applied"]]
        stages = ["t_acquired", "t_sent", "t_received", "t_decoded", "t_applied"]
        times = blocks[stages].to_numpy()
        assert np.isfinite(times).all() and (np.diff(times, axis=1) >= 0).all()
        from qplane.analysis import stats
        lat = stats.latency(run)
        assert lat["sent_to_received"]["count"] == len(blocks)
        assert lat["sent_to_received"]["p999"] >= lat["sent_to_received"]["p50"]
        from qplane.analysis import snapshot_from_run
        worker = snapshot_from_run(run).workers[0]  # the dashboard: each worker's share, queue
        assert worker.share == 1.0 and worker.queue_s is not None and worker.queue_s >= 0
        assert run.integrity().problems == []
        assert run.end_state == "completed"
    assert len(dets_b) >= len(dets_a) == 40 * 16
    # The replay serves every recorded block; compare the shots the recorded run applied.
    n = len(dets_a)
    assert np.array_equal(dets_a, dets_b[:n])
    assert np.array_equal(preds_a, preds_b[:n])
    assert np.array_equal(truth_a, truth_b[:n])


def _stim_files(tmp_path, shots: int = 50):
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    circuit_path = tmp_path / "c.stim"
    circuit.to_file(str(circuit_path))
    dets, obs = circuit.compile_detector_sampler(seed=3).sample(shots, separate_observables=True)
    return circuit, str(circuit_path), dets, obs


@pytest.mark.parametrize("fmt", ["b8", "01", "ptb64"])
def test_stim_sample_files_are_served_with_their_truth(tmp_path, fmt):
    circuit, circuit_path, dets, obs = _stim_files(tmp_path, 64)
    n_det = circuit.num_detectors
    stim.write_shot_data_file(data=dets, path=str(tmp_path / f"d.{fmt}"), format=fmt,
                              num_detectors=n_det)
    stim.write_shot_data_file(data=obs, path=str(tmp_path / f"o.{fmt}"), format=fmt,
                              num_observables=1)
    qpu = ReplayQPU(f"replay_{fmt}", source=str(tmp_path / f"d.{fmt}"), format=fmt,
                    circuit=circuit_path, observables=str(tmp_path / f"o.{fmt}"),
                    shots_per_block=30, distance=3, rounds=3, basis="Z")
    try:
        assert isinstance(qpu, QECDevice)
        got, sizes = [], []
        with pytest.raises(SourceExhausted):
            for _ in range(10):
                block = qpu.acquire_block()
                sizes.append(len(block.detection_events))
                got.append(block)
        assert sizes == [30, 30, 4]
        packed = np.packbits(dets, axis=1, bitorder="little")
        assert np.array_equal(np.concatenate([b.detection_events for b in got]), packed)
        truth = np.packbits(obs, axis=1, bitorder="little")
        result = qpu.apply_correction(got[0].index, truth[:30])
        assert result.failures == 0 and np.array_equal(result.truth, truth[:30])
        assert qpu.circuit_id() == got[0].circuit_id
        assert qpu.decoding_circuit() == circuit
    finally:
        qpu.close()


def _looping_b8_source(tmp_path, name, shots):
    """A looping replay of ``shots`` b8 shots without truth, 8 shots a block."""
    circuit, circuit_path, dets, _ = _stim_files(tmp_path, shots)
    stim.write_shot_data_file(data=dets, path=str(tmp_path / "d.b8"), format="b8",
                              num_detectors=circuit.num_detectors)
    return ReplayQPU(name, source=str(tmp_path / "d.b8"), format="b8", circuit=circuit_path,
                     loop=True, shots_per_block=8, distance=3, rounds=3, basis="Z")


def test_without_truth_blocks_are_not_scored_and_loop_wraps(tmp_path):
    qpu = _looping_b8_source(tmp_path, "replay_loop", 10)
    try:
        sizes = [len(qpu.acquire_block().detection_events) for _ in range(4)]
        assert sizes == [8, 2, 8, 2]
        result = qpu.apply_correction(0, np.zeros((8, 1), dtype=np.uint8))
        assert result.failures == -1 and result.truth is None
        with pytest.raises(Exception, match="shape"):
            qpu.apply_correction(1, np.zeros((8, 1), dtype=np.uint8))
    finally:
        qpu.close()


def test_block_size_and_cycle_time_set_through_their_parameters_take_effect(tmp_path, monkeypatch):
    """Both are read for every block from plain attributes; setting the parameters (validated)
    is what changes them."""
    qpu = _looping_b8_source(tmp_path, "replay_params", 40)
    try:
        assert len(qpu.acquire_block().detection_events) == 8
        qpu.shots_per_block(3)
        assert qpu.shots_per_block() == 3
        assert len(qpu.acquire_block().detection_events) == 3
        with pytest.raises(ValueError):
            qpu.shots_per_block(0)
        with pytest.raises(ValueError):
            qpu.cycle_time(-1.0)
        assert qpu.shots_per_block() == 3 and qpu.cycle_time() == 0.0
        slept = []
        monkeypatch.setattr(replay_module.time, "sleep", slept.append)
        qpu.acquire_block()
        assert slept == []  # full speed: no pacing
        qpu.cycle_time(10.0)  # 10 s a shot: the next block waits for the previous one's 30 s
        qpu.acquire_block()
        qpu.acquire_block()
        assert len(slept) == 1 and slept[0] > 20.0
    finally:
        qpu.close()


def test_the_shipped_replay_config_validates_and_names_a_missing_source(tmp_path):
    config = load_config(REPO / "config" / "replay.yaml")
    assert config.qplane.replay.format == "runfile"
    from qplane.pipeline.station import open_station

    missing = load_config(_replay_config(tmp_path, str(tmp_path / "none.h5"), 4))
    with pytest.raises(ConfigError, match="no replay source file"):
        open_station(missing)


def test_a_replay_section_needs_a_replay_qpu():
    text = (REPO / "config" / "sim_d3.yaml").read_text() + \
        "\n  replay:\n    source: runs/recorded.h5\n"
    with pytest.raises(ConfigError, match="replay section needs type"):
        parse_config(text, "bad.yaml")
    data = yaml.safe_load((REPO / "config" / "replay.yaml").read_text())
    del data["qplane"]["replay"]
    with pytest.raises(ConfigError, match="replay source"):
        parse_config(yaml.safe_dump(data), "bad2.yaml")
    data["qplane"]["replay"] = {"source": "x.b8", "format": "b8"}
    with pytest.raises(ConfigError, match="circuit"):
        parse_config(yaml.safe_dump(data), "bad3.yaml")
