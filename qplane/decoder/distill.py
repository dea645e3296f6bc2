"""Distillation: a small, fast network trained on a larger trained network's probabilities.

A training config with ``teacher: MODEL`` (a shipped name or a model file) trains its network
(usually a cheaper spec, e.g. ``cnn-f16``) on the teacher's *soft targets*: for every training
shot, the teacher's probability at every site, mixed with the exact labels::

    loss = w * BCE(student, teacher probability) + (1 - w) * BCE(student, exact label)

with ``w = distill_weight``. With ``distill_focus = f > 0`` each site's term is weighted
``1 + f`` where student and teacher fall on different sides of the teacher's uncorrelated rule
threshold (the decision the residual matcher sees), and 1 elsewhere: the few sites where the
student would apply a different correction than the teacher carry the gradient. The
teacher's probabilities carry what it learned about ambiguous syndromes (how likely each
explanation is), which a hard label, one sample of the truth, does not; so the student gets
more signal per shot than it would from labels alone. The shots are
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
>>> unsure = torch.tensor([[0.0, 0.5]])   # site 2: student 0.62, teacher 0.9 (threshold 0.8)
>>> round(float(distillation_loss(unsure, teacher, labels, weight=1.0)), 4)
0.6086
>>> round(float(distillation_loss(unsure, teacher, labels, weight=1.0, focus=3.0)), 4)
1.3947
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from qplane.decoder.labels import ClassKey
from qplane.errors import ConfigError


def distillation_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
                      labels: torch.Tensor, *, weight: float, focus: float = 0.0,
                      threshold: float = 0.8) -> torch.Tensor:
    """Site-wise BCE against ``weight`` x teacher probabilities + ``1 - weight`` x labels.

    All three are ``(batch, num_sites)``; the mixture is a valid soft target in ``[0, 1]``, so
    this is one cross-entropy (its minimum is the target's entropy, not zero). With ``focus``
    > 0, sites where the student's probability and the teacher's fall on different sides of
    ``threshold`` weigh ``1 + focus`` (the mean is still over every site).
    """
    target = weight * teacher_probs + (1.0 - weight) * labels
    if not focus:
        return F.binary_cross_entropy_with_logits(student_logits, target)
    cut = float(np.log(threshold / (1.0 - threshold)))
    disagree = (student_logits.detach() > cut) != (teacher_probs > threshold)
    return F.binary_cross_entropy_with_logits(student_logits, target,
                                              weight=1.0 + focus * disagree.float())


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
        #: The decision threshold ``focus`` weighs disagreements at: the teacher's uncorrelated
        #: rule (0.8 for d5).
        self.threshold = float(self.card.rules.get("uncorrelated", {}).get("threshold", 0.5))
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
             labels: torch.Tensor, *, weight: float, focus: float = 0.0) -> torch.Tensor:
        """:func:`distillation_loss` of the student's full output on volume ``x`` (``focus``
        at :attr:`threshold`)."""
        flat = student_logits.reshape(student_logits.shape[0], -1)[:, site_index]
        return distillation_loss(flat, self.probabilities(x, site_index), labels, weight=weight,
                                 focus=focus, threshold=self.threshold)

    def summary(self, weight: float, focus: float = 0.0) -> dict:
        """What the student's card records about its teacher."""
        return {"model": self.model, "sha256": self.sha256, "spec": self.card.spec,
                "weight": weight, "training_name": self.card.training.get("name"),
                "training_seed": self.card.training.get("seed"),
                **({"focus": focus, "focus_threshold": self.threshold} if focus else {})}


def agreement(student_logits: np.ndarray, teacher_logits: np.ndarray, *,
              threshold: float = 0.5) -> float:
    """Fraction of sites where student and teacher fall on the same side of ``threshold``.

    >>> agreement(np.array([[-3.0, 2.0]]), np.array([[-1.0, -2.0]]))
    0.5
    """
    cut = float(np.log(threshold / (1 - threshold)))
    return float(np.mean((student_logits > cut) == (teacher_logits > cut)))
