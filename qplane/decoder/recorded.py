"""Training on a lab's own recorded, labelled memory-experiment shots: an observable-level loss.

A pre-decoder is trained on *sites* (which local error classes fired), labels only a simulator
knows. A recorded memory experiment knows less, but something exact: each shot's detection
events and its true observable flip (``/qec/truth`` of a run file). The loss here ties the two.

**The surrogate.** The network gives each site ``s`` a logit ``z_s``; read as independent
probabilities ``p_s = σ(z_s)``, the probability that the sites predicted to fire flip the
observable an odd number of times is the parity of independent bits,

    P(flip) = (1 − Π_{s flips the observable} (1 − 2 p_s)) / 2,   1 − 2σ(z) = −tanh(z / 2),

computed in log space (the sum of ``log|tanh(z_s / 2)|`` and the parity of the signs). The
loss is the binary cross-entropy of ``P(flip)`` against the recorded flip. It is differentiable
end to end, and a perfect site predictor minimises it (the fired sites' observable parity *is*
the flip), so it agrees with the site loss; on its own it constrains only the observable
direction, so training mixes it with the site loss on shots of the noise learned from the same
runs (``noise: {recorded: [...]}`` in :mod:`qplane.decoder.training`: every step one simulated
batch, site loss, and one recorded batch, this loss times ``recorded_weight``).

:class:`RecordedShots` reads the applied blocks' shots of one or more run files (their
detection events and truth), checks they are of the experiment trained on, and keeps the run
ids and shot counts the model card records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from qplane.errors import ConfigError

_EPS = 1e-7


def observable_flip_probability(site_logits: torch.Tensor,
                                flips_observable: torch.Tensor) -> torch.Tensor:
    """``P(odd number of observable-flipping sites fired)`` per shot.

    Args:
        site_logits: ``(shots, sites)`` logits.
        flips_observable: ``(sites,)`` bool, the sites whose class flips the observable.

    >>> z = torch.tensor([[-20.0, 20.0, -20.0], [20.0, 20.0, -20.0]])
    >>> observable_flip_probability(z, torch.tensor([True, True, False])).round(decimals=3)
    tensor([1., 0.])
    """
    z = site_logits[:, flips_observable]
    t = torch.tanh(z / 2)
    log_abs = torch.log(t.abs().clamp_min(_EPS)).sum(dim=1)
    negative = (z > 0).sum(dim=1) % 2  # -tanh(z/2) < 0 where z > 0
    sign = 1.0 - 2.0 * negative.to(z.dtype)
    m = sign * torch.exp(log_abs)
    return ((1.0 - m) / 2).clamp(_EPS, 1 - _EPS)


def observable_loss(logits: torch.Tensor, site_index: torch.Tensor,
                    flips_observable: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the sites' implied observable flip against the recorded one.

    Args:
        logits: the network's output ``(shots, classes, t, rows, cols)``.
        site_index: flat index of each site (:attr:`SiteMap.site_index`).
        flips_observable: ``(sites,)`` bool.
        flips: ``(shots,)`` float, the recorded observable flips (0/1).
    """
    flat = logits.reshape(logits.shape[0], -1)[:, site_index]
    return F.binary_cross_entropy(observable_flip_probability(flat, flips_observable), flips)


@dataclasses.dataclass(frozen=True)
class RecordedShots:
    """The corrected shots of recorded runs: detection events and true observable flips.

    Attributes:
        events: ``(shots, num_detectors)`` bool.
        flips: ``(shots,)`` bool, observable 0's true flip.
        runs: the run ids.
        shots_per_run: shots read from each run.
        paths: the files.
    """

    events: np.ndarray
    flips: np.ndarray
    runs: tuple[str, ...]
    shots_per_run: tuple[int, ...]
    paths: tuple[str, ...]

    @classmethod
    def load(cls, paths: Sequence[str], *, num_detectors: int,
             max_shots: int | None = None) -> "RecordedShots":
        """Read the corrected blocks of each run file (truth required)."""
        from qplane.runfile import open_run

        events, flips, runs, counts = [], [], [], []
        for path in paths:
            try:
                run = open_run(path)
            except Exception as e:  # noqa: BLE001 - say which file and why
                raise ConfigError(f"cannot open recorded run {path}: {e}",
                                  key="noise.recorded") from e
            with run:
                if not run.simulated:
                    raise ConfigError(f"{path} has no truth (observable flips) for its shots; "
                                      "training from recorded shots needs a memory experiment "
                                      "with its truth recorded", key="noise.recorded")
                if run.num_detectors != num_detectors:
                    raise ConfigError(f"{path} has {run.num_detectors} detectors, the training "
                                      f"experiment {num_detectors}; record the same distance, "
                                      "rounds and basis", key="noise.recorded")
                table = run.blocks
                table = table[table["applied"]]
                got = 0
                for start, n in zip(table["shot_start"], table["shots"]):
                    if max_shots is not None and got >= max_shots:
                        break
                    d = run.read_shots("detection_events", int(start), int(start + n))
                    o = run.read_shots("truth", int(start), int(start + n))
                    events.append(np.unpackbits(d, axis=1, count=num_detectors,
                                                bitorder="little").astype(bool))
                    flips.append((o[:, 0] & 1).astype(bool))
                    got += int(n)
                runs.append(run.run_id)
                counts.append(got)
        if not events:
            raise ConfigError("the recorded runs hold no corrected shots", key="noise.recorded")
        return cls(events=np.concatenate(events), flips=np.concatenate(flips), runs=tuple(runs),
                   shots_per_run=tuple(counts), paths=tuple(str(p) for p in paths))

    def split(self, validation: int) -> tuple["RecordedShots", "RecordedShots"]:
        """The last ``validation`` shots apart (held out), the rest for training."""
        k = max(0, len(self.flips) - int(validation))
        part = lambda sl: dataclasses.replace(self, events=self.events[sl], flips=self.flips[sl])  # noqa: E731
        return part(slice(0, k)), part(slice(k, None))

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """A random batch ``(events, flips as float32)``."""
        i = rng.integers(0, len(self.flips), size=size)
        return self.events[i], self.flips[i].astype(np.float32)


class RecordedTraining:
    """The recorded shots of a training run, their batches and the held-out loss.

    ``summary`` goes into the model card's ``training["recorded"]``: the run ids, the shots
    read from each, the held-out shots and the observable loss on them before and after.
    """

    def __init__(self, shots: RecordedShots, held: RecordedShots, source, device, *,
                 batch_size: int, seed: int, weight: float):
        self.shots, self.held, self.source, self.device = shots, held, source, device
        self.batch_size = batch_size
        self.rng = np.random.default_rng([seed, 77])
        self.site_index = torch.as_tensor(source.sites.site_index, device=device)
        self.mask = torch.as_tensor((source.sites.site_observables & np.uint64(1)) != 0,
                                    device=device)
        self.summary: dict = {"runs": list(shots.runs), "shots_per_run": list(shots.shots_per_run),
                              "train_shots": int(len(shots.flips)),
                              "held_out_shots": int(len(held.flips)), "weight": weight,
                              "loss": "observable parity of the predicted sites (BCE)"}

    @classmethod
    def build(cls, config, source, device, net: torch.nn.Module) -> "RecordedTraining":
        """Load ``config.recorded`` for ``source``'s experiment; measure the loss before."""
        shots = RecordedShots.load(config.recorded, num_detectors=source.geometry.num_detectors)
        held_n = min(int(config.recorded_validation), len(shots.flips) // 4)
        train, held = shots.split(held_n)
        out = cls(train, held, source, device, batch_size=config.batch_size, seed=config.seed,
                  weight=config.recorded_weight)
        out.summary["held_out_loss_before"] = out.held_out(net)
        return out

    def _x(self, events: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(self.source.geometry.volume(events)).to(self.device)
        return x.to(memory_format=torch.channels_last_3d)

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        """The observable-level loss of one random recorded batch."""
        events, flips = self.shots.batch(self.rng, self.batch_size)
        return observable_loss(model(self._x(events)), self.site_index, self.mask,
                               torch.from_numpy(flips).to(self.device))

    def held_out(self, net: torch.nn.Module, chunk: int = 512) -> float:
        """The mean observable-level loss on the held-out recorded shots."""
        if not len(self.held.flips):
            return float("nan")
        total = 0.0
        with torch.no_grad():
            for i in range(0, len(self.held.flips), chunk):
                ev = self.held.events[i:i + chunk]
                fl = torch.from_numpy(self.held.flips[i:i + chunk].astype(np.float32))
                loss = observable_loss(net(self._x(ev)), self.site_index, self.mask,
                                       fl.to(self.device))
                total += float(loss) * len(ev)
        return total / len(self.held.flips)
