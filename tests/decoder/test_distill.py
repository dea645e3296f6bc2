"""Distillation and the fast specs: a tiny run learns from a teacher, the layout round-trips
through the model file, and the shipped fast models match their cards."""

import dataclasses
import json

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch

from qplane.decoder.data import VALIDATION_SEED_BASE, ShotSource
from qplane.decoder.distill import Teacher, distillation_loss
from qplane.decoder.model import SPECS, build_model, spec_from_dict
from qplane.decoder.model_file import CARD_KEY, load_model, read_card
from qplane.decoder.model_store import file_sha256, shipped_models
from qplane.decoder.training import TrainConfig, train
from qplane.errors import ConfigError, ModelMismatchError

#: The shipped fast models, their teachers and their pins (docs/decoder.md, config/*.yaml).
FAST_MODELS = {"d3-fast": "d3", "d5-fast": "d5"}


def _config(tmp_path, **overrides):
    data = dict(name="distil", distance=3, rounds=3, bases=["Z"],
                noise={"model": "uniform-depolarizing", "p": [0.005]}, spec="cnn-f16",
                teacher="d3", steps=40, batch_size=64, lr=1e-2, seed=901, workers=0,
                validation_shots=100, checkpoint_dir=str(tmp_path), checkpoint_every=1000,
                output=str(tmp_path / "student.safetensors"), device="cpu")
    data.update(overrides)
    return TrainConfig.from_dict(data)


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("distil")
    config = _config(tmp)
    losses = []
    summary = train(config, resume=False, progress=lambda step, steps, loss: losses.append(loss))
    return config, summary, losses


def _excess_loss(net, teacher, source, events, labels):
    """Distillation loss over its floor (the soft target's own entropy) on fixed shots."""
    x = torch.from_numpy(source.geometry.volume(events))
    index = torch.as_tensor(source.sites.site_index)
    y = torch.from_numpy(labels.astype(np.float32))
    target = teacher.probabilities(x, index)
    with torch.no_grad():
        student = net(x).reshape(len(x), -1)[:, index]
        floor = distillation_loss(torch.logit(0.75 * target + 0.25 * y, eps=1e-6), target, y,
                                  weight=0.75)
        return float(distillation_loss(student, target, y, weight=0.75) - floor)


def test_a_tiny_distillation_run_lowers_the_loss(student):
    config, summary, losses = student
    assert len(losses) == config.steps
    teacher = Teacher("d3", device=torch.device("cpu"))
    source = ShotSource.build(distance=3, rounds=3, basis="Z", p=0.005, classes=teacher.classes)
    events, labels = source.sample(shots=256, seed=VALIDATION_SEED_BASE + 777)
    # Before: a fresh network that knows only the label prior (how training starts).
    fresh = build_model(SPECS["cnn-f16"], num_classes=len(teacher.classes)).eval()
    with torch.no_grad():
        rate = float(labels.mean())
        fresh.head.bias.fill_(float(np.log(rate / (1 - rate))))
    trained, _, _ = load_model(config.output)
    before = _excess_loss(fresh, teacher, source, events, labels)
    after = _excess_loss(trained, teacher, source, events, labels)
    assert after < 0.95 * before  # 40 steps: ~10 % of the way; the real runs go far further
    card = summary["card"]
    teacher = read_card(shipped_models()["d3"])
    # The student takes the teacher's classes, and its card names the teacher by pin.
    assert card.classes == teacher.classes
    assert card.training["teacher"]["sha256"] == file_sha256(shipped_models()["d3"])
    assert card.training["teacher"]["weight"] == 0.75


def test_the_fast_spec_round_trips_through_the_model_file(student, tmp_path):
    config, summary, _ = student
    net, card, _ = load_model(config.output)
    assert card.architecture == SPECS["cnn-f16"].to_dict()
    assert net.spec == SPECS["cnn-f16"] and spec_from_dict(card.architecture) == net.spec
    again = build_model(net.spec, num_classes=len(card.classes))
    again.load_state_dict(safetensors.torch.load_file(config.output))
    x = torch.rand(2, 4, 4, 4, 4)
    with torch.no_grad():
        assert torch.equal(net(x), again.eval()(x))
    # A file whose recorded layout differs from this qplane's spec of that name is refused.
    tampered = dataclasses.replace(card, architecture=dict(card.architecture, channels=8))
    path = tmp_path / "tampered.safetensors"
    safetensors.torch.save_file(safetensors.torch.load_file(config.output), str(path),
                                metadata={CARD_KEY: tampered.to_json()})
    with pytest.raises(ModelMismatchError, match="layout"):
        load_model(path)


def test_distillation_loss_mixes_teacher_and_labels():
    logits = torch.tensor([[0.3, -1.0, 2.0]])
    teacher = torch.tensor([[0.2, 0.1, 0.9]])
    labels = torch.tensor([[0.0, 0.0, 1.0]])
    mixed = distillation_loss(logits, teacher, labels, weight=0.5)
    target = 0.5 * teacher + 0.5 * labels
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    assert torch.allclose(mixed, expected)
    # The soft target's own logits are the loss's minimum.
    best = distillation_loss(torch.logit(target), teacher, labels, weight=0.5)
    assert float(best) < float(mixed)


def test_bad_teacher_and_weight_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="distill_weight"):
        _config(tmp_path, distill_weight=1.5)
    with pytest.raises(ConfigError, match="teacher"):
        Teacher(str(tmp_path / "missing.safetensors"), device=torch.device("cpu"))


@pytest.mark.parametrize("name", sorted(FAST_MODELS))
def test_shipped_fast_models_match_their_cards(name):
    models = shipped_models()
    if name not in models:
        pytest.skip(f"{name} not shipped")
    path = models[name]
    net, card, digest = load_model(name)
    assert digest == file_sha256(path)
    spec = SPECS[card.spec]
    assert spec.block == "factorised" and card.architecture == spec.to_dict()
    assert sum(p.numel() for p in net.parameters()) == spec.num_parameters(
        num_classes=len(card.classes))
    teacher = FAST_MODELS[name]
    assert card.training["teacher"]["sha256"] == file_sha256(models[teacher])
    assert card.classes == read_card(models[teacher]).classes
    assert card.training["seed"] != read_card(models[teacher]).training["seed"]
    assert set(card.rules) == {"uncorrelated", "correlated", "clear"}
    with safetensors.safe_open(str(path), framework="pt") as f:
        assert json.loads(f.metadata()[CARD_KEY])["spec"] == card.spec


def test_auto_never_picks_a_fast_variant():
    from qplane.decoder.neural import NeuralDecoder

    auto = NeuralDecoder(model="auto")
    assert [auto._model_for(d) for d in (3, 5, 7, 9)] == ["d3", "d5", "d7", "d7"]


def test_distill_focus_weighs_the_sites_where_student_and_teacher_decide_differently(tmp_path):
    student = torch.tensor([[0.0, 0.5, 3.0]])   # probabilities 0.5, 0.62, 0.95
    teacher = torch.tensor([[0.1, 0.9, 0.99]])  # at 0.8 only site 2 is decided differently
    labels = torch.zeros(1, 3)
    plain = torch.nn.functional.binary_cross_entropy_with_logits(student, teacher, reduction="none")
    focused = distillation_loss(student, teacher, labels, weight=1.0, focus=4.0, threshold=0.8)
    assert float(focused) == pytest.approx(float((plain * torch.tensor([1.0, 5.0, 1.0])).mean()))
    assert float(distillation_loss(student, teacher, labels, weight=1.0, focus=0.0)) == \
        pytest.approx(float(plain.mean()))
    assert Teacher("d5", device=torch.device("cpu")).threshold == 0.8  # d5's uncorrelated rule
    with pytest.raises(ConfigError, match="distill_focus"):
        _config(tmp_path, distill_focus=-1.0)
    assert _config(tmp_path, distill_focus=2.0).fingerprint() != _config(tmp_path).fingerprint()


@pytest.mark.parametrize("model, config", [("d5-fast", "config/decoder/d5-fast-2.yaml"),
                                           ("d3-fast", "config/decoder/d3-fast-2.yaml")])
def test_configs_without_distill_focus_keep_the_fingerprint_their_cards_recorded(model, config):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    card = read_card(shipped_models()[model])
    assert TrainConfig.from_yaml(root / config).fingerprint() == card.training["config_fingerprint"]
