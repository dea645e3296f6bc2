"""Training the pre-decoder: config, loop, checkpoints and resume, rule selection, model file.

:func:`train` runs a :class:`TrainConfig`: it streams labelled batches (:mod:`qplane.decoder.data`)
through the network with a masked binary cross-entropy over the sites of each batch's DEM,
checkpoints (safetensors: weights, optimizer moments, step) every ``checkpoint_every`` steps and at
the end, resumes from the checkpoint when one for the same config exists, and finally chooses the
decision rules on fresh validation shots and writes the model file with its card.

It runs on CPU or GPU, and data-parallel on several processes (``torchrun``): the caller
initialises ``torch.distributed`` and passes ``rank`` / ``world_size``; every rank sees its own
shots, gradients are averaged by DDP, and rank 0 alone writes checkpoints and the model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import safetensors
import safetensors.torch
import torch
import torch.nn.functional as F
import yaml

import qplane
from qplane.codes import check_code_parameters
from qplane.decoder.data import VALIDATION_SEED_BASE, BatchStream, ShotSource, Task, union_classes
from qplane.decoder.model import build_model, get_spec
from qplane.decoder.model_file import ModelCard, load_model, save_model
from qplane.decoder.neural import CompiledNeuralDecoder, dem_median_probability
from qplane.errors import ConfigError

#: Noise models the trainer knows (see :func:`qplane.codes.memory_circuit`).
NOISE_MODELS = ("uniform-depolarizing", "learned")

#: Thresholds tried for each rule on validation shots.
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A training run, as read from YAML (see ``config/decoder/*.yaml``).

    Attributes:
        name: run name (goes into the card).
        distance, rounds, bases: the experiments trained on.
        noise_model, p: noise model and strength(s); batches cycle over bases x p. With
            ``noise: {model: learned, dem: PATH}`` the shots come from that learned device DEM
            (exact labels through stim's DEM sampler; one basis, ``p`` the nominal strength it
            was learned against), and ``noise: {run: RUN.h5}`` learns it first from the run
            file's detection events (pairwise estimator; written into ``checkpoint_dir``).
        learned_dem: the learned DEM file (``noise.dem``), ``None`` for uniform noise.
        noise_source: what the learned DEM came from (DEM hash, run ids, shots), for the card.
        recorded: with ``noise: {recorded: [RUN.h5, ...]}``, the run files whose recorded,
            labelled shots are trained on too (:mod:`qplane.decoder.recorded`: every step a
            recorded batch's observable-level loss times ``recorded_weight`` is added to the
            site loss on shots of the DEM learned from the same runs; the last
            ``recorded_validation`` recorded shots are held out to measure it).
        spec: model spec name.
        steps: optimizer steps (the budget), ``batch_size`` shots each.
        max_minutes: optional wall-clock budget; training stops early (checkpointed) at it.
        lr: peak learning rate (AdamW, linear warm-up then cosine decay to 10%).
        seed: run seed (data and initialisation).
        workers: data-generation worker processes (0: in the training process).
        hard_fraction: fraction of each batch mined from shots uncorrelated PyMatching decodes
            wrongly (0: plain shots only); see :mod:`qplane.decoder.data`.
        init: model file to start from (fine-tuning), or ``None``.
        teacher: model (shipped name or file) whose probabilities the network is trained on
            (distillation, :mod:`qplane.decoder.distill`), or ``None``; the network then takes
            the teacher's classes.
        distill_weight: weight of the teacher's probabilities in the soft target (the rest is
            the exact labels); ``distill_focus``: extra weight of sites where student and
            teacher disagree at the teacher's uncorrelated threshold (0: none).
        validation_shots, validation_p: shots per (basis, p) used to choose the rules.
        checkpoint_dir, checkpoint_every, output: where state and the model go.
        device: ``"auto"`` or a torch device.
    """

    name: str
    distance: int
    rounds: int
    bases: tuple[str, ...]
    p: tuple[float, ...]
    output: str
    spec: str = "cnn-s"
    noise_model: str = "uniform-depolarizing"
    steps: int = 1000
    max_minutes: float | None = None
    batch_size: int = 256
    lr: float = 2e-3
    seed: int = 1
    workers: int = 1
    hard_fraction: float = 0.0
    init: str | None = None
    teacher: str | None = None
    distill_weight: float = 0.75
    distill_focus: float = 0.0
    validation_shots: int = 10000
    validation_p: tuple[float, ...] = ()
    checkpoint_dir: str = "runs/decoder"
    checkpoint_every: int = 200
    device: str = "auto"
    learned_dem: str | None = None
    noise_source: dict[str, Any] | None = None
    recorded: tuple[str, ...] = ()
    recorded_weight: float = 1.0
    recorded_validation: int = 2000

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        """Read and validate a YAML training config."""
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read training config: {e}", path=str(path)) from e
        if not isinstance(data, dict):
            raise ConfigError("training config must be a mapping", path=str(path))
        return cls.from_dict(data, path=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, path: str | None = None) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        data = dict(data)
        noise = data.pop("noise", None)
        if isinstance(noise, dict):
            learned = noise.get("model") == "learned" or "run" in noise or "recorded" in noise
            data.setdefault("noise_model", "learned" if learned else
                            noise.get("model", "uniform-depolarizing"))
            data.setdefault("p", noise.get("p", 0.003 if learned else None))
            if learned:
                data.update(_learned_noise(noise, data, path=path))
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown keys {unknown}; known: {sorted(known | {'noise'})}", path=path)
        if isinstance(data.get("recorded"), (list, tuple)):
            data["recorded"] = tuple(str(x) for x in data["recorded"])
        for key in ("bases", "p", "validation_p"):
            if key in data and not isinstance(data[key], (list, tuple)):
                data[key] = [data[key]]
            if key in data:
                data[key] = tuple(float(v) if key != "bases" else str(v) for v in data[key])
        try:
            config = cls(**data)
        except TypeError as e:
            raise ConfigError(str(e), path=path) from e
        for basis in config.bases:
            for p in config.p + config.validation_p:
                check_code_parameters(distance=config.distance, rounds=config.rounds, basis=basis, p=p)
        if config.noise_model not in NOISE_MODELS:
            raise ConfigError(f"unknown noise model {config.noise_model!r}; known: {NOISE_MODELS}",
                              path=path, key="noise.model")
        if config.learned_dem:
            _check_learned(config, path=path)
        get_spec(config.spec)
        if config.steps < 1 or config.batch_size < 1:
            raise ConfigError("steps and batch_size must be positive", path=path)
        if not 0.0 <= config.distill_weight <= 1.0:
            raise ConfigError(f"distill_weight must be in [0, 1], got {config.distill_weight}",
                              path=path, key="distill_weight")
        if config.distill_focus < 0:
            raise ConfigError(f"distill_focus must be >= 0, got {config.distill_focus}",
                              path=path, key="distill_focus")
        if not 0.0 <= config.hard_fraction <= 1.0:
            raise ConfigError(f"hard_fraction must be in [0, 1], got {config.hard_fraction}",
                              path=path, key="hard_fraction")
        return config

    @property
    def dem_text(self) -> str:
        """The learned DEM's text ("" for uniform noise)."""
        return Path(self.learned_dem).read_text() if self.learned_dem else ""

    @property
    def tasks(self) -> list[Task]:
        text = self.dem_text
        return [Task(self.distance, self.rounds, b, p, text) for b in self.bases for p in self.p]

    def fingerprint(self) -> str:
        """Hash of everything that changes the optimisation (not the budget or workers)."""
        data = dataclasses.asdict(self)
        for key in ("steps", "max_minutes", "workers", "checkpoint_every", "device", "output",
                    "checkpoint_dir", "validation_shots", "validation_p"):
            data.pop(key)
        if not data["distill_focus"]:  # unset: the same fingerprints as before it existed
            data.pop("distill_focus")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _check_learned(config: "TrainConfig", *, path: str | None) -> None:
    """A learned DEM fits the experiment: one basis, the nominal circuit's detectors."""
    import stim

    from qplane.codes import memory_circuit

    if len(config.bases) != 1:
        raise ConfigError(f"a learned DEM is of one basis; give bases: [one of {config.bases}]",
                          path=path, key="bases")
    want = memory_circuit(distance=config.distance, rounds=config.rounds, basis=config.bases[0],
                          p=0.001).num_detectors
    have = stim.DetectorErrorModel(config.dem_text).num_detectors
    if have != want:
        raise ConfigError(f"the learned DEM has {have} detectors, but d = {config.distance}, "
                          f"rounds = {config.rounds} has {want}; learn it on that experiment",
                          path=path, key="noise.dem")


def _learned_noise(noise: dict[str, Any], data: dict[str, Any], *,
                   path: str | None) -> dict[str, Any]:
    """``learned_dem`` and ``noise_source`` of a ``noise: {model: learned, dem: PATH}`` or
    ``noise: {run: RUN.h5}`` section (the run's noise is learned now, into checkpoint_dir)."""
    import stim

    from qplane.noise import learn_noise, read_run_samples

    recorded = noise.get("recorded")
    if recorded is not None:
        recorded = [recorded] if isinstance(recorded, str) else list(recorded)
        if not recorded:
            raise ConfigError("noise.recorded needs at least one run file", path=path,
                              key="noise.recorded")
    if "run" in noise or recorded:
        runs = recorded or (noise["run"] if isinstance(noise["run"], list) else [noise["run"]])
        if len(runs) != 1 and not recorded:
            raise ConfigError("noise.run takes one run file", path=path, key="noise.run")
        try:
            parts = [read_run_samples(r) for r in runs]
        except Exception as e:  # noqa: BLE001 - which file, and why
            raise ConfigError(f"noise.recorded/run: cannot read the run file(s) {runs}: {e}", path=path,
                              key="noise.recorded" if recorded else "noise.run") from e
        samples = parts[0]
        model = learn_noise(np.concatenate([x.detection_events for x in parts]), samples.dem,
                            estimator="pairwise", source=",".join(x.source for x in parts))
        folder = Path(data.get("checkpoint_dir", "runs/decoder"))
        folder.mkdir(parents=True, exist_ok=True)
        dem_path = folder / f"learned-{model.hash}.dem"
        dem_path.write_text(str(model.to_dem()))
        out = {"learned_dem": str(dem_path),
               "noise_source": {"dem_hash": model.hash, "runs": [x.source for x in parts],
                                "shots": model.shots, "estimator": model.estimator,
                                "kept_nominal": model.kept_nominal}}
        if recorded:
            out.update(recorded=tuple(str(r) for r in runs))
            out["noise_source"]["recorded"] = True
        return out
    if not noise.get("dem"):
        raise ConfigError("noise.model: learned needs dem: PATH (a learned .dem file) or "
                          "run: RUN.h5", path=path, key="noise.dem")
    try:
        text = Path(noise["dem"]).read_text()
        stim.DetectorErrorModel(text)
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read the learned DEM {noise['dem']}: {e}", path=path,
                          key="noise.dem") from e
    from qplane.noise import dem_hash

    return {"learned_dem": str(noise["dem"]),
            "noise_source": {"dem_hash": dem_hash(stim.DetectorErrorModel(text)),
                             "runs": [], "shots": None, "file": str(noise["dem"])}}


def _recorded_setup(config: TrainConfig, source: ShotSource, device: torch.device,
                    net: torch.nn.Module):
    """The recorded shots of ``config.recorded`` and their observable-level loss."""
    from qplane.decoder.recorded import RecordedTraining

    return RecordedTraining.build(config, source, device, net)


def noise_fingerprint(model: str, ps: tuple[float, ...]) -> str:
    """Hash naming the noise model and strengths trained on."""
    text = json.dumps({"model": model, "p": sorted(ps), "circuits": "stim rotated_memory"})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def learning_rate(config: TrainConfig, step: int) -> float:
    warmup = max(1, min(100, config.steps // 10))
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _checkpoint_path(config: TrainConfig) -> Path:
    return Path(config.checkpoint_dir) / f"{config.name}.checkpoint.safetensors"


def save_checkpoint(path: Path, net: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict[str, Any]) -> None:
    """Weights, optimizer moments and ``meta`` (JSON) in one safetensors file (no pickle)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    state = optimizer.state_dict()
    for index, slot in state["state"].items():
        for key, value in slot.items():
            tensors[f"opt.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    meta = dict(meta, param_groups=state["param_groups"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    safetensors.torch.save_file(tensors, str(tmp), metadata={"qplane.checkpoint": json.dumps(meta)})
    tmp.replace(path)


def load_checkpoint(path: Path, net: torch.nn.Module,
                    optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    with safetensors.safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["qplane.checkpoint"])
    tensors = safetensors.torch.load_file(str(path))
    net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta


def site_loss(logits: torch.Tensor, site_index: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over the DEM's sites only (every other output is masked out)."""
    flat = logits.reshape(logits.shape[0], -1)[:, site_index]
    return F.binary_cross_entropy_with_logits(flat, labels)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train(config: TrainConfig, *, device: torch.device | None = None, rank: int = 0,
          world_size: int = 1, resume: bool = True, command: str = "",
          progress: Callable[[int, int, float], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a training run and write the model file.

    Args:
        config: the run.
        device: torch device (default: ``config.device`` resolved).
        rank, world_size: data-parallel position; ``torch.distributed`` must be initialised
            by the caller when ``world_size > 1``.
        resume: continue from the run's checkpoint when it matches this config.
        command: the command line, recorded in the card.
        progress: called as ``progress(step, steps, loss)`` after every step.

    Returns:
        Summary: ``{"steps", "final_loss", "output", "sha256", "card"}`` (rank 0), else steps only.
    """
    from qplane.decoder.neural import resolve_device

    device = device or resolve_device(config.device)
    torch.manual_seed(config.seed)
    spec = get_spec(config.spec)
    init_card = None
    from qplane.decoder.distill import Teacher

    teacher = Teacher(config.teacher, device=device) if config.teacher else None
    if config.init:
        net, init_card, _ = load_model(config.init, device=device)
        if init_card.spec != spec.name:
            raise ConfigError(f"init model has spec {init_card.spec!r}, config says {spec.name!r}",
                              key="spec")
        classes = list(init_card.classes)
        net.train()
    else:
        classes = teacher.classes if teacher is not None else union_classes(config.tasks)
        net = build_model(spec, num_classes=len(classes)).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    start_step, elapsed, losses = 0, 0.0, []
    ckpt = _checkpoint_path(config)
    if resume and ckpt.exists():
        with safetensors.safe_open(str(ckpt), framework="pt") as f:
            meta = json.loads(f.metadata()["qplane.checkpoint"])
        if meta["fingerprint"] == config.fingerprint():
            meta = load_checkpoint(ckpt, net, optimizer)
            start_step, elapsed, losses = meta["step"], meta["elapsed"], meta.get("losses", [])
            if rank == 0:
                _log(f"resuming {config.name} at step {start_step} from {ckpt}")
        elif rank == 0:
            _log(f"checkpoint {ckpt} is for another config; starting afresh")
    net = net.to(memory_format=torch.channels_last_3d)  # ~1.7x faster 3D convolutions on CPU
    model = net
    if world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None)
    stream = BatchStream(tasks=config.tasks, classes=classes, batch_size=config.batch_size,
                         seed=config.seed, workers=config.workers, rank=rank,
                         hard_fraction=config.hard_fraction)
    site_index = [torch.as_tensor(s.sites.site_index, device=device) for s in stream.sources]
    if start_step == 0 and init_card is None:
        # Start the head at the label prior: without it, small batches spend their first
        # hundreds of steps only learning that errors are rare.
        rate = np.mean([s.sample(shots=512, seed=stream.batch_seed(config.steps + i))[1].mean()
                        for i, s in enumerate(stream.sources)])
        with torch.no_grad():
            net.head.bias.fill_(float(np.log(max(rate, 1e-5) / (1 - max(rate, 1e-5)))))
    recorded = (_recorded_setup(config, stream.sources[0], device, net) if config.recorded
                else None)
    began = time.monotonic() - elapsed
    step = start_step
    recent: list[float] = []

    def checkpoint() -> None:
        if rank == 0:
            save_checkpoint(ckpt, net, optimizer, {
                "fingerprint": config.fingerprint(), "step": step, "losses": losses,
                "elapsed": time.monotonic() - began, "config": dataclasses.asdict(config)})

    for step_i, source, events, labels in stream.iterate(start_step, config.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step_i)
        x = torch.from_numpy(source.geometry.volume(events)).to(device)
        x = x.to(memory_format=torch.channels_last_3d)
        y = torch.from_numpy(labels.astype(np.float32)).to(device)
        index = site_index[stream.sources.index(source)]
        loss = (site_loss(model(x), index, y) if teacher is None
                else teacher.loss(model(x), x, index, y, weight=config.distill_weight,
                                  focus=config.distill_focus))
        if recorded is not None:
            loss = loss + config.recorded_weight * recorded.loss(model, step_i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step = step_i + 1
        recent.append(float(loss.detach()))
        if progress is not None and rank == 0:
            progress(step, config.steps, recent[-1])
        if step % 50 == 0 or step == config.steps:
            losses.append([step, float(np.mean(recent))])
            recent = []
        if step % config.checkpoint_every == 0:
            checkpoint()
        if config.max_minutes is not None and time.monotonic() - began > 60 * config.max_minutes:
            if rank == 0:
                _log(f"time budget of {config.max_minutes} min reached at step {step}")
            break
    if recent:
        losses.append([step, float(np.mean(recent))])
    checkpoint()
    if rank != 0:
        return {"steps": step}
    net.eval()
    if recorded is not None:
        recorded.summary["held_out_loss_after"] = recorded.held_out(net)
        _log(f"recorded shots: held-out observable loss {recorded.summary['held_out_loss_before']:.4f}"
             f" -> {recorded.summary['held_out_loss_after']:.4f}")
    rules, validation = choose_rules(net, classes, config, device=device)
    card = ModelCard(
        spec=spec.name, spec_version=spec.version, classes=tuple(classes),
        orientations=tuple(sorted({s.geometry.orientation for s in stream.sources}
                                  | set(init_card.orientations if init_card else ()))),
        distances=tuple(sorted({config.distance} | set(init_card.distances if init_card else ()))),
        rounds=tuple(sorted({config.rounds} | set(init_card.rounds if init_card else ()))),
        bases=tuple(sorted(set(config.bases))),
        noise={"model": config.noise_model, "p": list(config.p),
               "fingerprint": noise_fingerprint(config.noise_model, config.p),
               **({"learned": config.noise_source} if config.learned_dem else {}),
               "dem_median_probability": [dem_median_probability(t.dem()) for t in config.tasks]},
        rules=rules,
        training={"name": config.name, "distance": config.distance, "rounds": config.rounds,
                  "seed": config.seed, "steps": step,
                  "planned_steps": config.steps, "batch_size": config.batch_size,
                  "shots": step * config.batch_size * world_size, "lr": config.lr,
                  "hard_fraction": config.hard_fraction,
                  "teacher": (teacher.summary(config.distill_weight, config.distill_focus)
                              if teacher else None),
                  "world_size": world_size, "init": config.init,
                  "init_training": init_card.training if init_card else None,
                  "command": command, "config_fingerprint": config.fingerprint(),
                  "recorded": recorded.summary if recorded is not None else None,
                  "seconds": round(time.monotonic() - began, 1), "loss_curve": losses[-20:]},
        validation=validation, package_version=qplane.__version__,
        architecture=spec.to_dict())
    digest = save_model(config.output, net, card)
    _log(f"wrote {config.output} sha256 {digest}")
    return {"steps": step, "final_loss": losses[-1][1] if losses else None,
            "output": config.output, "sha256": digest, "card": card}


def _rule_candidates() -> list[dict[str, Any]]:
    return [{"classes": c, "threshold": t} for c in ("hyperedge", "all") for t in THRESHOLDS]


def choose_rules(net: torch.nn.Module, classes: list, config: TrainConfig, *,
                 device: torch.device) -> tuple[dict[str, dict], dict[str, Any]]:
    """Pick each mode's rule on fresh validation shots (seeds from VALIDATION_SEED_BASE).

    ``uncorrelated`` / ``correlated``: fewest logical errors with that matcher (ties: higher
    threshold). If no rule does at least as well as the matcher alone, the mode's rule is
    ``{"classes": "none"}``: the network is not used for it. ``clear``: among rules with no
    more uncorrelated errors than PyMatching, the one leaving the fewest detection events.

    Each mode's rule is chosen on all validation shots together, and again for each validation
    noise strength (both bases pooled): those go into the rule's ``by_noise`` list with the
    DEM's median mechanism probability, and a decoder compiled for a DEM uses the entry nearest
    its own noise (:func:`qplane.decoder.neural.rule_for_noise`). The best threshold depends
    on the noise: denser syndromes need more confidence before a correction is applied.
    """
    import pymatching

    ps = config.validation_p or config.p
    candidates = _rule_candidates()
    num_tasks = len(config.bases) * len(ps)
    errors = {m: np.zeros((num_tasks, len(candidates)), dtype=np.int64)
              for m in ("uncorrelated", "correlated")}
    baseline = {m: np.zeros(num_tasks, dtype=np.int64) for m in ("uncorrelated", "correlated")}
    residual_events = np.zeros((num_tasks, len(candidates)), dtype=np.int64)
    task_p, task_signature = [], []
    events_in, shots_total, per_task = 0, 0, []
    for i, basis in enumerate(config.bases):
        for j, p in enumerate(ps):
            t = len(per_task)
            source = ShotSource.build(distance=config.distance, rounds=config.rounds, basis=basis,
                                      p=p, classes=classes, dem_text=config.dem_text)
            task_p.append(p)
            task_signature.append(dem_median_probability(source.dem))
            events, obs = source.task.sample_with_observables(
                config.validation_shots, VALIDATION_SEED_BASE + 1000 * i + j)
            truth = np.packbits(obs, axis=1, bitorder="little")
            packed = np.packbits(events, axis=1, bitorder="little")
            entry = {"basis": basis, "p": p, "shots": len(events)}
            compiled = {}
            for mode, corr in (("uncorrelated", False), ("correlated", True)):
                kw = {"enable_correlations": True} if corr else {}
                matching = pymatching.Matching.from_detector_error_model(source.dem, **kw)
                base = int(np.any(matching.decode_batch(packed, bit_packed_shots=True,
                                                        bit_packed_predictions=True, **kw) != truth,
                                  axis=1).sum())
                baseline[mode][t] = base
                entry[f"pymatching_{mode}_errors"] = base
                compiled[mode] = CompiledNeuralDecoder(
                    net=net, card=None, sha256="", geometry=source.geometry, sites=source.sites,
                    matching=matching, num_observables=1, correlated=corr,
                    rule=candidates[0], device=device, batch_size=1024, notes=[],
                    noise_mismatch=False)
            logits = compiled["uncorrelated"].site_logits(events)
            for k, rule in enumerate(candidates):
                for mode in ("uncorrelated", "correlated"):
                    pred, residual = compiled[mode].decode_from_logits(events, logits, rule=rule)
                    errors[mode][t, k] = int(np.any(pred != truth, axis=1).sum())
                    if mode == "uncorrelated":
                        residual_events[t, k] = int(residual.sum())
            events_in += int(events.sum())
            shots_total += len(events)
            per_task.append(entry)

    def pick(tasks: list[int]) -> dict[str, dict]:
        chosen: dict[str, dict] = {}
        for mode in ("uncorrelated", "correlated"):
            totals = errors[mode][tasks].sum(axis=0)
            best = min(range(len(candidates)), key=lambda k: (totals[k], -candidates[k]["threshold"]))
            chosen[mode] = (dict(candidates[best]) if totals[best] <= baseline[mode][tasks].sum()
                            else {"classes": "none", "threshold": 0.5})
        totals = errors["uncorrelated"][tasks].sum(axis=0)
        residual = residual_events[tasks].sum(axis=0)
        ok = [k for k in range(len(candidates))
              if totals[k] <= baseline["uncorrelated"][tasks].sum()]
        chosen["clear"] = (dict(candidates[min(ok, key=lambda k: residual[k])]) if ok
                           else dict(chosen["uncorrelated"]))
        return chosen

    rules = pick(list(range(num_tasks)))
    if len(ps) > 1:
        for mode in rules:
            rules[mode]["by_noise"] = []
        for p in ps:
            tasks = [t for t in range(num_tasks) if task_p[t] == p]
            signature = float(np.mean([task_signature[t] for t in tasks]))
            for mode, rule in pick(tasks).items():
                rules[mode]["by_noise"].append({"p": p, "dem_median_probability": signature, **rule})
    validation = {
        "shots": shots_total, "p": list(ps), "bases": list(config.bases),
        "detection_events": events_in,
        "pymatching_uncorrelated_errors": int(baseline["uncorrelated"].sum()),
        "pymatching_correlated_errors": int(baseline["correlated"].sum()),
        "candidates": [dict(c, uncorrelated_errors=int(errors["uncorrelated"][:, k].sum()),
                            correlated_errors=int(errors["correlated"][:, k].sum()),
                            residual_events=int(residual_events[:, k].sum()),
                            by_task={"uncorrelated_errors": errors["uncorrelated"][:, k].tolist(),
                                     "correlated_errors": errors["correlated"][:, k].tolist(),
                                     "residual_events": residual_events[:, k].tolist()})
                       for k, c in enumerate(candidates)],
        "tasks": per_task,
    }
    return rules, validation


def rechoose_rules(config: TrainConfig, *, device: torch.device | None = None,
                   command: str = "") -> dict[str, Any]:
    """Choose the rules of ``config.output`` again on the config's validation shots.

    The weights are kept; the card's rules and validation are replaced and the re-choice is
    recorded in ``training["rules_rechosen"]``. The file (and so its SHA-256) changes.
    """
    from qplane.decoder.neural import resolve_device

    device = device or resolve_device(config.device)
    net, card, _ = load_model(config.output, device=device)
    net.eval()
    rules, validation = choose_rules(net, list(card.classes), config, device=device)
    training = dict(card.training,
                    rules_rechosen={"command": command,
                                    "validation_shots": config.validation_shots,
                                    "validation_p": list(config.validation_p or config.p)})
    card = dataclasses.replace(card, rules=rules, validation=validation, training=training)
    digest = save_model(config.output, net, card)
    _log(f"wrote {config.output} sha256 {digest}")
    return {"steps": card.training.get("steps"), "output": config.output, "sha256": digest,
            "card": card}
