"""``train-decoder`` with ``noise: {recorded: [RUN.h5]}``: fine-tuning on recorded, labelled
shots through the observable-level loss (the predicted sites' observable parity)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qplane.analysis.synthetic import write_synthetic_run
from qplane.decoder.model_file import load_model
from qplane.decoder.recorded import RecordedShots, observable_flip_probability
from qplane.decoder.training import TrainConfig, train
from qplane.errors import ConfigError


def test_the_flip_probability_is_the_parity_of_independent_sites():
    rng = np.random.default_rng(1)
    z = torch.from_numpy(rng.normal(-2, 1.5, size=(4, 6)))
    mask = torch.tensor([True, False, True, True, False, True])
    p = torch.sigmoid(z[:, mask]).numpy()
    want = (1 - np.prod(1 - 2 * p, axis=1)) / 2
    np.testing.assert_allclose(observable_flip_probability(z, mask).numpy(), want, rtol=1e-6)


def _config(tmp_path, runs, **overrides):
    data = dict(name="tiny-recorded", distance=3, rounds=3, bases=["Z"],
                noise={"recorded": runs, "p": 0.003}, spec="cnn-tiny", steps=40,
                batch_size=32, lr=0.01, seed=2, workers=0, validation_shots=200,
                recorded_validation=1000, checkpoint_dir=str(tmp_path / "ck"),
                checkpoint_every=20, output=str(tmp_path / "tiny.safetensors"), device="cpu")
    data.update(overrides)
    return TrainConfig.from_dict(data)


@pytest.mark.slow
def test_training_on_a_recorded_run_lowers_its_held_out_observable_loss(tmp_path):
    run = write_synthetic_run(tmp_path / "lab.h5", blocks=16, shots_per_block=256, p=0.006,
                              calibration_every=100, seed=5)
    shots = RecordedShots.load([run], num_detectors=24)
    assert len(shots.flips) == 16 * 256 and shots.flips.any()
    config = _config(tmp_path, [str(run)])
    assert config.recorded == (str(run),) and config.learned_dem  # the DEM learned from it
    train(config, device=torch.device("cpu"))
    _, card, _ = load_model(config.output)
    rec = card.training["recorded"]
    assert rec["held_out_loss_after"] < rec["held_out_loss_before"]
    assert rec["runs"] == list(shots.runs) and sum(rec["shots_per_run"]) == 16 * 256
    assert rec["held_out_shots"] == 1000 and rec["train_shots"] == 16 * 256 - 1000
    assert card.noise["learned"]["runs"] == list(shots.runs)
    assert card.noise["learned"]["recorded"] is True


def test_recorded_runs_must_exist_and_match_the_experiment(tmp_path):
    with pytest.raises(ConfigError, match="recorded"):
        _config(tmp_path, ["missing.h5"])
    run = write_synthetic_run(tmp_path / "d5.h5", distance=5, blocks=2, shots_per_block=64,
                              calibration_every=100)
    with pytest.raises(ConfigError, match="detectors"):
        RecordedShots.load([run], num_detectors=24)
