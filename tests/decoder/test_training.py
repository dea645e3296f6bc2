import dataclasses

import numpy as np
import pytest
import torch
import yaml

from qplane.cli import main
from qplane.decoder.data import BatchStream, ShotSource, Task, union_classes
from qplane.decoder.model_file import file_sha256, load_model, read_card
from qplane.decoder.training import TrainConfig, site_loss, train
from qplane.errors import ConfigError


def _config(tmp_path, **overrides):
    data = dict(name="tiny", distance=3, rounds=3, bases=["Z"], noise={"p": [0.01]}, spec="cnn-tiny",
                steps=60, batch_size=32, lr=0.01, seed=2, workers=0, validation_shots=300,
                checkpoint_dir=str(tmp_path / "ck"), checkpoint_every=20,
                output=str(tmp_path / "tiny.safetensors"), device="cpu")
    data.update(overrides)
    return TrainConfig.from_dict(data)


def _held_out_loss(net, classes):
    source = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.01, classes=classes)
    events, labels = source.sample(shots=2000, seed=123456789)
    with torch.no_grad():
        x = torch.from_numpy(source.geometry.volume(events))
        return float(site_loss(net(x), torch.as_tensor(source.sites.site_index),
                               torch.from_numpy(labels.astype(np.float32))))


@pytest.mark.slow
def test_a_tiny_training_run_lowers_the_loss_and_writes_a_model(tmp_path):
    start = _config(tmp_path / "a", steps=2, validation_shots=100)
    train(start, device=torch.device("cpu"))
    config = _config(tmp_path, steps=50)
    summary = train(config, device=torch.device("cpu"))
    net, card, digest = load_model(config.output)
    initial, _, _ = load_model(start.output)
    assert _held_out_loss(net, list(card.classes)) < 0.85 * _held_out_loss(initial, list(card.classes))
    assert digest == summary["sha256"] == file_sha256(config.output)
    assert card.training["steps"] == 50 and card.training["seed"] == 2
    assert card.distances == (3,) and card.bases == ("Z",)
    assert card.orientations == ("stim-rotated/basis-boundary-lr",)
    assert set(card.rules) == {"uncorrelated", "correlated", "clear"}
    assert card.validation["shots"] == 300
    # The rules were chosen on validation shots and every candidate is recorded.
    assert len(card.validation["candidates"]) == 12
    assert card.noise["p"] == [0.01] and card.noise["fingerprint"]


@pytest.mark.slow
def test_training_resumes_from_its_checkpoint(tmp_path, capsys):
    train(_config(tmp_path, steps=20, validation_shots=100), device=torch.device("cpu"))
    summary = train(_config(tmp_path, steps=30, validation_shots=100), device=torch.device("cpu"))
    assert "resuming tiny at step 20" in capsys.readouterr().err
    assert summary["steps"] == 30
    assert read_card(tmp_path / "tiny.safetensors").training["steps"] == 30
    # Another config (different seed) does not pick up the checkpoint.
    train(_config(tmp_path, steps=5, seed=3, validation_shots=100), device=torch.device("cpu"))
    assert "another config" in capsys.readouterr().err


@pytest.mark.slow
def test_worker_processes_give_the_same_batches_as_in_process():
    tasks = [Task(3, 3, "Z", 0.01), Task(3, 3, "X", 0.01)]
    classes = union_classes(tasks)
    local = list(BatchStream(tasks=tasks, classes=classes, batch_size=32, seed=4, workers=0).iterate(3, 7))
    remote = list(BatchStream(tasks=tasks, classes=classes, batch_size=32, seed=4, workers=1).iterate(3, 7))
    assert [s for s, *_ in local] == [s for s, *_ in remote] == [3, 4, 5, 6]
    for (_, src_a, ev_a, lab_a), (_, src_b, ev_b, lab_b) in zip(local, remote):
        assert src_a.task == src_b.task
        assert np.array_equal(ev_a, ev_b) and np.array_equal(lab_a, lab_b)


@pytest.mark.slow
def test_the_train_decoder_command(tmp_path, capsys):
    path = tmp_path / "cfg.yaml"
    data = dataclasses.asdict(_config(tmp_path, steps=4, validation_shots=100))
    data["bases"], data["p"], data["validation_p"] = list(data["bases"]), list(data["p"]), []
    path.write_text(yaml.safe_dump(data))
    assert main(["train-decoder", str(path), "--no-progress", "--steps", "6"]) == 0
    out = capsys.readouterr().out
    assert "sha256 " + file_sha256(tmp_path / "tiny.safetensors") in out
    assert read_card(tmp_path / "tiny.safetensors").training["steps"] == 6


def test_bad_training_configs_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown keys"):
        _config(tmp_path, colour="blue")
    with pytest.raises(ConfigError, match="distance"):
        _config(tmp_path, distance=4)
    with pytest.raises(ConfigError, match="noise model"):
        _config(tmp_path, noise={"model": "leakage", "p": [0.01]})
    with pytest.raises(Exception, match="unknown model spec"):
        _config(tmp_path, spec="cnn-huge")
    with pytest.raises(ConfigError, match="hard_fraction"):
        _config(tmp_path, hard_fraction=1.5)


def test_hard_shots_are_ones_pymatching_gets_wrong_and_keep_exact_labels():
    source = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.01)
    events, labels = source.sample(shots=40, seed=77, hard_fraction=0.5)
    assert events.shape == (40, source.geometry.num_detectors)
    # Rebuild the observable from the exact labels: applying them clears every event.
    residual, flips = source.sites.apply(events, labels)
    assert not residual.any()
    wrong = source.matching.decode_batch(events)[:, 0] != (flips & 1).astype(bool)
    assert wrong[:20].all()
    # The rest are plain shots: PyMatching gets most of them right at this noise.
    assert wrong[20:].mean() < 0.5
    # Deterministic per seed, and plain sampling is unchanged by the option's existence.
    again, _ = source.sample(shots=40, seed=77, hard_fraction=0.5)
    assert np.array_equal(events, again)
    plain, _ = source.sample(shots=40, seed=77)
    assert np.array_equal(plain, source.sample(shots=40, seed=77, hard_fraction=0.0)[0])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::qplane.decoder.neural.NoiseMismatchWarning")
def test_rules_are_chosen_again_per_noise_strength_and_used_by_nearest_noise(tmp_path):
    from qplane.decoder.neural import NeuralDecoder
    from qplane.decoder.training import rechoose_rules
    from qplane.codes import memory_circuit

    config = _config(tmp_path, steps=5, validation_shots=100)
    train(config, device=torch.device("cpu"))
    before = file_sha256(config.output)
    config = dataclasses.replace(config, validation_p=(0.004, 0.01), validation_shots=200)
    rechoose_rules(config, device=torch.device("cpu"), command="test")
    _, card, digest = load_model(config.output)
    assert digest != before  # same weights, new card: a new file to pin
    assert card.training["rules_rechosen"]["validation_p"] == [0.004, 0.01]
    assert card.validation["shots"] == 400
    for mode in ("uncorrelated", "correlated", "clear"):
        entries = card.rules[mode]["by_noise"]
        assert [e["p"] for e in entries] == [0.004, 0.01]
        assert entries[0]["dem_median_probability"] < entries[1]["dem_median_probability"]
    for p in (0.004, 0.01):
        dem = memory_circuit(distance=3, rounds=3, basis="Z", p=p).detector_error_model(
            decompose_errors=True)
        compiled = NeuralDecoder(model=config.output, device="cpu").compile_decoder_for_dem(dem=dem)
        expected = next(e for e in card.rules["uncorrelated"]["by_noise"] if e["p"] == p)
        assert compiled.rule == {"classes": expected["classes"], "threshold": expected["threshold"],
                                 "validated_p": p}
        clear = next(e for e in card.rules["clear"]["by_noise"] if e["p"] == p)
        assert compiled.card_rule("clear") == {"classes": clear["classes"],
                                               "threshold": clear["threshold"], "validated_p": p}
