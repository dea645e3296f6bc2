"""``qplane train-decoder CONFIG`` and ``qplane decoder verify MODEL`` (the decoder's benchmark
is ``qplane bench decoder``).

``train-decoder`` is an entry point, so it (and only it) reads the launcher's environment: under
``torchrun`` (``WORLD_SIZE`` > 1) it initialises ``torch.distributed`` (NCCL on CUDA, else gloo)
and trains data-parallel.

A config whose ``output`` lies inside the installed package (a shipped model) trains into
``runs/decoder/`` instead, unless ``--ship`` says to write the package's model; ``--output``
names another file. An existing shipped model is never replaced without ``--ship``.

Examples::

    qplane train-decoder config/decoder/d5.yaml            # -> runs/decoder/d5.safetensors
    qplane train-decoder config/decoder/d5.yaml --ship     # replaces the shipped model
    torchrun --nproc_per_node 4 -m qplane.cli train-decoder config/decoder/d5.yaml
    qplane decoder verify d5 --shots 20000   # re-check the card's claims on fresh shots
    qplane bench decoder --quick
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-decoder`` to the ``qplane`` command line."""
    train = subparsers.add_parser(
        "train-decoder", help="train a neural pre-decoder from a YAML config",
        description="Train a neural pre-decoder described by CONFIG. A model the config would "
                    "write into the qplane package (a shipped model) goes to runs/decoder/ "
                    "instead unless --ship is given; --output names another file.")
    train.add_argument("config", help="training config (see config/decoder/)")
    train.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    train.add_argument("--steps", type=int, help="override the config's step budget")
    train.add_argument("--max-minutes", type=float, help="override the wall-clock budget")
    train.add_argument("--workers", type=int, help="override data-generation worker processes")
    train.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    train.add_argument("--no-progress", action="store_true", help="log lines instead of a bar")
    train.add_argument("--output", metavar="PATH", default=None,
                       help="model file to write (default: the config's output, or "
                            "runs/decoder/<name> when that is a shipped model)")
    train.add_argument("--ship", action="store_true",
                       help="allow writing (and replacing) a model inside the qplane package")
    train.add_argument("--choose-rules", action="store_true",
                       help="only choose the decision rules of the config's output model again, "
                            "on its validation shots (the weights are kept)")
    train.set_defaults(func=run_train)

    group = subparsers.add_parser("decoder", help="check trained decoder models",
                                  description="Commands about trained decoder models.")
    commands = group.add_subparsers(dest="decoder_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify", help="re-check a model card's claims on fresh shots",
        description="Decode fresh shots of every validation task of MODEL's card with the "
                    "model and with (correlated) PyMatching, and compare them shot for shot "
                    "(McNemar). Exits 1 when a claim fails: the model is significantly worse "
                    "than the baseline where its card says better or equal (--strict: also "
                    "when a claimed improvement is not significant).")
    verify.add_argument("model", help="shipped model name (d3, d5, d7) or model file path")
    verify.add_argument("--shots", type=int, default=20_000, help="fresh shots per task")
    verify.add_argument("--seed", type=int, default=0, help="offset of the shots' seeds")
    verify.add_argument("--sha256", default=None, help="pin of the model file")
    verify.add_argument("--alpha", type=float, default=0.05, help="significance level")
    verify.add_argument("--strict", action="store_true",
                        help="an improvement the fresh shots do not confirm also fails")
    verify.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                        help="what runs the network (default: torch)")
    verify.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                        help="network precision; int8 needs --backend onnx")
    verify.add_argument("--threads", type=int, default=None, help="network threads")
    verify.add_argument("--json", metavar="PATH", default=None, help="also write the result")
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    import json

    from qplane.decoder.model_file import read_card, resolve_model_path
    from qplane.decoder.verify import format_report, verify_model
    from qplane.progress import steps

    if args.shots < 1:
        from qplane.errors import QplaneError

        raise QplaneError(f"--shots must be at least 1, got {args.shots}")
    tasks = read_card(resolve_model_path(args.model)).validation.get("tasks") or []
    with steps(f"verify {args.model}", total=len(tasks)) as advance:
        result = verify_model(args.model, shots=args.shots, sha256=args.sha256, seed=args.seed,
                              alpha=args.alpha, strict=args.strict, backend=args.backend,
                              precision=args.precision, threads=args.threads,
                              progress=lambda n, what: advance(n, what))
    print(format_report(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if result["passed"] else 1


#: Where a model the config would ship goes without ``--ship``.
SAFE_DIR = "runs/decoder"


def _in_package(path: str) -> bool:
    """Whether ``path`` lies in the imported qplane package or in any qplane source tree."""
    import qplane

    resolved = Path(path).resolve()
    if resolved.is_relative_to(Path(qplane.__file__).resolve().parent):
        return True
    return any(p.name == "qplane" and (p / "__init__.py").is_file() for p in resolved.parents)


def resolve_output(config_output: str, output: str | None, ship: bool) -> str:
    """Where ``train-decoder`` writes its model.

    ``output`` (``--output``) wins over the config's; a path inside the qplane package is used
    only with ``ship`` (else the model goes to ``runs/decoder/`` under its own name, when the
    config chose it, or it is an error, when ``--output`` named it and a model is there).

    >>> resolve_output("qplane/decoder/models/d3.safetensors", None, ship=False)
    'runs/decoder/d3.safetensors'
    >>> resolve_output("elsewhere/d3.safetensors", None, ship=False)
    'elsewhere/d3.safetensors'
    """
    from qplane.errors import QplaneError

    target = output or config_output
    if ship or not _in_package(target):
        return target
    if output is None:
        return f"{SAFE_DIR}/{Path(target).name}"
    if Path(target).exists():
        raise QplaneError(f"--output {target} is a shipped model inside the qplane package; "
                          "pass --ship to replace it, or name a file outside the package")
    return target


def run_train(args: argparse.Namespace) -> int:
    import torch

    from qplane.decoder.neural import resolve_device
    from qplane.decoder.training import TrainConfig, rechoose_rules, train
    from qplane.errors import QplaneError

    # A terminated run exits through Python, so the data workers are shut down with it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    config = TrainConfig.from_yaml(args.config)
    overrides = {k: v for k, v in (("steps", args.steps), ("max_minutes", args.max_minutes),
                                   ("workers", args.workers)) if v is not None}
    if args.choose_rules and _in_package(args.output or config.output) and not args.ship:
        raise QplaneError(f"--choose-rules rewrites {args.output or config.output}, a shipped "
                          "model inside the qplane package; pass --ship to rewrite it, or "
                          "--output a copy outside the package")
    overrides["output"] = (args.output or config.output) if args.choose_rules else \
        resolve_output(config.output, args.output, args.ship)
    config = dataclasses.replace(config, **overrides)
    if args.threads:
        torch.set_num_threads(args.threads)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = resolve_device(config.device)
    if world_size > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local_rank)
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    command = "qplane train-decoder " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["train-decoder"]
                                                  else [args.config])
    if args.choose_rules:
        summary = rechoose_rules(config, device=device, command=command)
        print(f"model {summary['output']}\nsha256 {summary['sha256']}\nrules {summary['card'].rules}")
        return 0
    try:
        if args.no_progress or rank != 0 or not sys.stderr.isatty():
            last = [0]

            def progress(step: int, steps: int, loss: float) -> None:
                if step - last[0] >= 50 or step == steps:
                    last[0] = step
                    print(f"[{config.name}] step {step}/{steps} loss {loss:.5f}",
                          file=sys.stderr, flush=True)

            summary = train(config, device=device, rank=rank, world_size=world_size,
                            resume=not args.fresh, command=command, progress=progress)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          TextColumn("{task.completed}/{task.total} loss {task.fields[loss]:.5f}"),
                          TimeRemainingColumn()) as bar:
                task = bar.add_task(config.name, total=config.steps, loss=float("nan"))

                def progress(step: int, steps: int, loss: float) -> None:
                    bar.update(task, completed=step, loss=loss)

                summary = train(config, device=device, rank=rank, world_size=world_size,
                                resume=not args.fresh, command=command, progress=progress)
    finally:
        if world_size > 1:
            torch.distributed.destroy_process_group()
    if rank == 0:
        card = summary["card"]
        print(f"model {summary['output']}\nsha256 {summary['sha256']}\nrules {card.rules}")
    return 0
