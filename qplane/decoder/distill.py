"""Distillation: a small, fast network trained on a larger trained network's probabilities.

A training config with ``teacher: MODEL`` (a shipped name or a model file) trains its network
(usually a cheaper spec, e.g. ``cnn-f16``) on the teacher's *soft targets*: for every training
shot, the teacher's probability at every site, mixed with the exact labels::

    loss = w * BCE(student, teacher probability) + (1 - w) * BCE(student, exact label)

with ``w = distill_weight``. The teacher's probabilities carry what it learned about ambiguous
syndromes (how likely each explanation is), which a hard label, one sample of the truth, does
not; so the student gets more signal per shot than it would from labels alone. The shots are
fresh: the student's run seed differs from the teacher's, and training seeds never reach
validation or test seeds (:mod:`qplane.decoder.data`). The student takes the teacher's class
list, so their outputs line up site for site.

>>> import torch
>>> student = torch.tensor([[0.0, 2.0]])
>>> teacher = torch.tensor([[0.5, 0.9]])
>>> labels = torch.tensor([[1.0, 1.0]])
>>> round(float(distillation_loss(student, teacher, labels, weight=1.0)), 4)
0.51
>>> round(float(distillation_loss(student, teacher, labels, weight=0.0)), 4)
0.41
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from qplane.decoder.labels import ClassKey
from qplane.errors import ConfigError


def distillation_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
                      labels: torch.Tensor, *, weight: float) -> torch.Tensor:
    """Site-wise BCE against ``weight`` x teacher probabilities + ``1 - weight`` x labels.

    All three are ``(batch, num_sites)``; the mixture is a valid soft target in ``[0, 1]``, so
    this is one cross-entropy (its minimum is the target's entropy, not zero).
    """
    target = weight * teacher_probs + (1.0 - weight) * labels
    return F.binary_cross_entropy_with_logits(student_logits, target)


class Teacher:
    """A trained model, frozen, giving site probabilities for training volumes.

    Args:
        model: shipped model name or model file.
        device: torch device it runs on (the student's).
    """

    def __init__(self, model: str | Path, *, device: torch.device):
        from qplane.decoder.model_file import load_model

        try:
            self.net, self.card, self.sha256 = load_model(model, device=device)
        except Exception as e:  # which teacher, and why
            raise ConfigError(f"teacher {model!r} cannot be loaded: {e}", key="teacher") from e
        self.model = str(model)
        self.net = self.net.to(memory_format=torch.channels_last_3d).eval()
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)

    @property
    def classes(self) -> list[ClassKey]:
        """The teacher's output classes (the student uses the same, in the same order)."""
        return list(self.card.classes)

    def probabilities(self, x: torch.Tensor, site_index: torch.Tensor) -> torch.Tensor:
        """``(batch, num_sites)`` probabilities for the ``(batch, 4, t, rows, cols)`` volume."""
        with torch.inference_mode():
            logits = self.net(x).reshape(x.shape[0], -1)[:, site_index]
            return torch.sigmoid(logits).clone()

    def loss(self, student_logits: torch.Tensor, x: torch.Tensor, site_index: torch.Tensor,
             labels: torch.Tensor, *, weight: float) -> torch.Tensor:
        """:func:`distillation_loss` of the student's full output on volume ``x``."""
        flat = student_logits.reshape(student_logits.shape[0], -1)[:, site_index]
        return distillation_loss(flat, self.probabilities(x, site_index), labels, weight=weight)

    def summary(self, weight: float) -> dict:
        """What the student's card records about its teacher."""
        return {"model": self.model, "sha256": self.sha256, "spec": self.card.spec,
                "weight": weight, "training_name": self.card.training.get("name"),
                "training_seed": self.card.training.get("seed")}


def agreement(student_logits: np.ndarray, teacher_logits: np.ndarray, *,
              threshold: float = 0.5) -> float:
    """Fraction of sites where student and teacher fall on the same side of ``threshold``.

    >>> agreement(np.array([[-3.0, 2.0]]), np.array([[-1.0, -2.0]]))
    0.5
    """
    cut = float(np.log(threshold / (1 - threshold)))
    return float(np.mean((student_logits > cut) == (teacher_logits > cut)))
