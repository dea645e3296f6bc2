#!/usr/bin/env python
"""Train, validate and verify a pre-decoder on a lent accelerator, in one bounded run.

The recipe of docs/decoder.md ("Training on a GPU"). Everything it writes goes to ``--out``:

- ``train.yaml``: the training config (data generated on the machine's cores by
  ``workers`` processes, ``max_minutes`` bounding the training wall clock);
- ``model.safetensors``: the model and its card (rules chosen on validation shots);
- ``verify.json``: ``qplane decoder verify`` of the card's claims on fresh shots;
- ``model.onnx``: the ONNX export (for the ``onnx`` backend);
- ``latency.json``: network time per shot and per round in batch at d = 5..13 on the device;
- ``summary.json``: what ran, how long, sha256, and whether verification passed.

One GPU: ``qplane train-decoder``; several: ``torchrun --nproc_per_node N -m qplane.cli
train-decoder`` (DDP, NCCL). ``--toy`` runs the whole recipe on a CPU in seconds (cnn-tiny,
d = 3, a few steps), which is how it is tested.

Examples::

    python scripts/gpu_train.py --out runs/gpu --minutes 8            # a lent H200, 16 cores
    python scripts/gpu_train.py --out /tmp/toy --toy                  # the CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def training_config(args: argparse.Namespace, out: Path, workers: int) -> dict:
    """The ``qplane train-decoder`` config of this run."""
    if args.toy:
        return {"name": "toy", "distance": 3, "rounds": 3, "bases": ["X", "Z"],
                "noise": {"model": "uniform-depolarizing", "p": [0.003, 0.005]},
                "spec": "cnn-tiny", "steps": 3, "batch_size": 16, "lr": 3e-3, "seed": 7,
                "workers": 1, "validation_shots": 200, "validation_p": [0.005],
                "checkpoint_dir": str(out / "checkpoints"), "checkpoint_every": 100,
                "output": str(out / "model.safetensors"), "device": "cpu"}
    return {"name": f"gpu-d{args.distance}", "distance": args.distance,
            "rounds": args.distance, "bases": ["X", "Z"],
            "noise": {"model": "uniform-depolarizing", "p": [0.002, 0.003, 0.004, 0.005, 0.006]},
            "spec": args.spec, "steps": args.steps, "max_minutes": args.minutes,
            "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "workers": workers, "hard_fraction": args.hard_fraction,
            "validation_shots": args.validation_shots, "validation_p": [0.003, 0.005],
            "checkpoint_dir": str(out / "checkpoints"), "checkpoint_every": 500,
            "output": str(out / "model.safetensors"), "device": "auto"}


def latency(model: Path, *, toy: bool) -> dict:
    """Network time per shot and per round at batch 1024 (d = 5..13; toy: d = 3)."""
    import torch

    from qplane.codes import memory_circuit
    from qplane.decoder.model_file import load_model
    from qplane.decoder.neural import resolve_device
    from qplane.decoder.volume import SyndromeGeometry

    device = resolve_device("cpu" if toy else "auto")
    net, _, _ = load_model(str(model), device=device)
    net = net.eval().to(memory_format=torch.channels_last_3d)
    result = {"device": str(device)}
    batch = 64 if toy else 1024
    for d in ((3,) if toy else (5, 7, 9, 11, 13)):
        circuit = memory_circuit(distance=d, rounds=d, basis="Z", p=0.003)
        geometry = SyndromeGeometry.from_dem(circuit.detector_error_model(decompose_errors=True))
        x = torch.from_numpy(geometry.volume(circuit.compile_detector_sampler(seed=1).sample(batch)))
        x = x.to(device).to(memory_format=torch.channels_last_3d)
        dtypes = {"fp32": torch.float32} if device.type == "cpu" else {"fp32": torch.float32,
                                                                      "bf16": torch.bfloat16}
        for name, dtype in dtypes.items():
            with torch.inference_mode(), torch.autocast(device.type, dtype=dtype,
                                                        enabled=dtype != torch.float32):
                net(x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(3):
                    net(x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                seconds = (time.perf_counter() - start) / 3
            result[f"d{d}/{name}"] = {"us_per_shot": 1e6 * seconds / batch,
                                      "us_per_round": 1e6 * seconds / batch / d}
    return result


def run(command: list[str], log: Path) -> None:
    """Run ``command``, its output appended to ``log`` and echoed; raise on failure."""
    print("+", " ".join(command), flush=True)
    with open(log, "a") as f:
        proc = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"{command[0]} exited with {proc.returncode}; see {log}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--toy", action="store_true", help="tiny CPU run (smoke test)")
    parser.add_argument("--distance", type=int, default=5)
    parser.add_argument("--spec", default="cnn-m", help="model spec (cnn-s, cnn-m, cnn-l)")
    parser.add_argument("--steps", type=int, default=200_000, help="step cap (--minutes bounds)")
    parser.add_argument("--minutes", type=float, default=8.0, help="training wall-clock budget")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=1301)
    parser.add_argument("--hard-fraction", type=float, default=0.25)
    parser.add_argument("--validation-shots", type=int, default=40_000)
    parser.add_argument("--verify-shots", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=None,
                        help="data-generation processes (default: cores minus GPUs)")
    parser.add_argument("--gpus", type=int, default=None, help="default: every visible GPU")
    args = parser.parse_args(argv)
    import yaml

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"
    gpus = args.gpus
    if gpus is None:
        import torch

        gpus = 0 if args.toy else torch.cuda.device_count()
    workers = args.workers or max(1, (os.cpu_count() or 2) - max(gpus, 1))
    config = training_config(args, out, workers)
    (out / "train.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    began = time.time()
    train = ["train-decoder", str(out / "train.yaml"), "--output", config["output"],
             "--no-progress", "--fresh"]
    if gpus > 1:
        run(["torchrun", "--standalone", "--nproc_per_node", str(gpus), "-m", "qplane.cli",
             *train], log)
    else:
        run([sys.executable, "-m", "qplane.cli", *train], log)
    trained = time.time() - began
    verify_shots = 200 if args.toy else args.verify_shots
    verify = subprocess.run([sys.executable, "-m", "qplane.cli", "decoder", "verify",
                             config["output"], "--shots", str(verify_shots), "--json",
                             str(out / "verify.json")], capture_output=True, text=True)
    with open(log, "a") as f:
        f.write(verify.stdout + verify.stderr)
    print(verify.stdout, flush=True)
    from qplane.decoder.model_file import file_sha256
    from qplane.decoder.onnx_export import export_model_file

    export_model_file(config["output"], out / "model.onnx")
    (out / "latency.json").write_text(json.dumps(latency(Path(config["output"]), toy=args.toy),
                                                 indent=1))
    summary = {"config": config, "gpus": gpus, "workers": workers,
               "train_seconds": round(trained, 1), "total_seconds": round(time.time() - began, 1),
               "model": config["output"], "sha256": file_sha256(config["output"]),
               "verify_passed": verify.returncode == 0}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0 if verify.returncode in (0, 1) else verify.returncode


if __name__ == "__main__":
    sys.exit(main())
