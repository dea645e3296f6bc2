"""Training on the lab's noise: ``noise: {model: learned, dem: PATH}`` and ``{run: RUN.h5}``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qplane.codes import memory_circuit
from qplane.decoder.data import ShotSource
from qplane.decoder.model_file import load_model
from qplane.decoder.training import TrainConfig, site_loss, train
from qplane.errors import ConfigError
from qplane.noise import DemStructure, learn_noise


def _learned_dem(tmp_path) -> str:
    """A DEM learned from shots of a device whose noise is the nominal one, unevenly scaled."""
    dem = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01).detector_error_model(
        decompose_errors=True)
    s = DemStructure(dem)
    rng = np.random.default_rng(3)
    true = s.to_dem(s.nominal * rng.uniform(0.5, 1.8, size=s.num_mechanisms))
    dets = true.compile_sampler(seed=4).sample(50_000, bit_packed=True)[0]
    path = tmp_path / "learned.dem"
    path.write_text(str(learn_noise(dets, dem, estimator="pairwise").to_dem()))
    return str(path)


def _config(tmp_path, dem: str, **overrides):
    data = dict(name="tiny-learned", distance=3, rounds=3, bases=["Z"],
                noise={"model": "learned", "dem": dem, "p": 0.01}, spec="cnn-tiny", steps=50,
                batch_size=32, lr=0.01, seed=2, workers=0, validation_shots=200,
                checkpoint_dir=str(tmp_path / "ck"), checkpoint_every=25,
                output=str(tmp_path / "tiny.safetensors"), device="cpu")
    data.update(overrides)
    return TrainConfig.from_dict(data)


def _held_out_loss(net, classes, dem_text):
    source = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.01, classes=classes,
                              dem_text=dem_text)
    events, labels = source.sample(shots=2000, seed=987654321)
    with torch.no_grad():
        x = torch.from_numpy(source.geometry.volume(events))
        return float(site_loss(net(x), torch.as_tensor(source.sites.site_index),
                               torch.from_numpy(labels.astype(np.float32))))


@pytest.mark.slow
def test_a_tiny_run_on_a_learned_dem_lowers_the_loss_and_records_the_dem(tmp_path):
    dem = _learned_dem(tmp_path)
    start = _config(tmp_path / "a", dem, steps=2)
    train(start, device=torch.device("cpu"))
    config = _config(tmp_path, dem)
    train(config, device=torch.device("cpu"))
    net, card, _ = load_model(config.output)
    initial, _, _ = load_model(start.output)
    text = open(dem).read()
    assert _held_out_loss(net, list(card.classes), text) < 0.85 * _held_out_loss(
        initial, list(card.classes), text)
    assert card.noise["model"] == "learned"
    assert card.noise["learned"]["dem_hash"] and card.noise["learned"]["file"] == dem


def test_learned_noise_configs_are_checked(tmp_path):
    dem = _learned_dem(tmp_path)
    with pytest.raises(ConfigError, match="one basis"):
        _config(tmp_path, dem, bases=["X", "Z"])
    with pytest.raises(ConfigError, match="detectors"):
        _config(tmp_path, dem, distance=5, rounds=5)
    with pytest.raises(ConfigError, match="needs dem"):
        _config(tmp_path, dem, noise={"model": "learned"})
    with pytest.raises(ConfigError, match="recorded"):
        _config(tmp_path, dem, noise={"recorded": ["a.h5"]})


def test_noise_from_a_run_file_is_learned_and_named_on_the_card(tmp_path):
    from qplane.analysis import write_synthetic_run

    run = write_synthetic_run(tmp_path / "r.h5", distance=3, p=0.01, blocks=10,
                              shots_per_block=500, calibration_every=0)
    config = _config(tmp_path, "", noise={"run": run}, steps=1)
    assert config.noise_model == "learned" and config.noise_source["shots"] == 5000
    assert config.noise_source["runs"] and config.learned_dem.endswith(".dem")
    assert config.tasks[0].dem().num_detectors == 24
