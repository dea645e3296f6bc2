"""Fixtures for the decoder tests: small model files built in seconds (never a full training)."""

from __future__ import annotations

import pytest
import torch

from qplane.decoder.data import Task, union_classes
from qplane.decoder.model import SPECS, build_model
from qplane.decoder.model_file import ModelCard, save_model
from qplane.decoder.neural import dem_median_probability
from qplane.decoder.volume import SyndromeGeometry

RULES = {
    "uncorrelated": {"classes": "hyperedge", "threshold": 0.9},
    "correlated": {"classes": "hyperedge", "threshold": 0.9},
    "clear": {"classes": "all", "threshold": 0.9},
}


def write_model(path, *, bases=("X", "Z"), distance=3, spec="cnn-tiny", seed=0, **card_overrides):
    """An untrained model file with a complete card; returns its path."""
    tasks = [Task(distance, distance, b, 0.003) for b in bases]
    classes = union_classes(tasks)
    torch.manual_seed(seed)
    net = build_model(SPECS[spec], num_classes=len(classes))
    fields = dict(
        spec=spec, spec_version=SPECS[spec].version, classes=tuple(classes),
        orientations=tuple(sorted({SyndromeGeometry.from_dem(t.dem()).orientation for t in tasks})),
        distances=(distance,), rounds=(distance,), bases=tuple(bases),
        noise={"model": "uniform-depolarizing", "p": [0.003], "fingerprint": "test",
               "dem_median_probability": [dem_median_probability(t.dem()) for t in tasks]},
        rules=RULES, training={"seed": seed, "steps": 0}, validation={}, package_version="test")
    fields.update(card_overrides)
    save_model(path, net, ModelCard(**fields))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Path of an untrained cnn-tiny model for d=3, both bases."""
    return write_model(tmp_path_factory.mktemp("models") / "tiny.safetensors")


@pytest.fixture(scope="session")
def z_only_model(tmp_path_factory):
    """Path of an untrained cnn-tiny model that has only seen Z-basis memory."""
    return write_model(tmp_path_factory.mktemp("models") / "z_only.safetensors", bases=("Z",))


@pytest.fixture(scope="session")
def model_writer():
    """The :func:`write_model` helper, for tests that need a model with a particular card."""
    return write_model
