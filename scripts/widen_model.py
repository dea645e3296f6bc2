"""Widen or deepen a trained factorised pre-decoder to a bigger spec, keeping its function.

Net2Wider for ReLU networks: every new hidden channel copies an existing one (its incoming
weights and bias), and the outgoing weights of a copied channel are split among its copies, so
the wider network computes the same logits (up to the small noise added to break the copies'
symmetry). The result starts a training run (`init:` in the config) that has the old
network's accuracy and the new one's capacity.

    python scripts/widen_model.py d5-fast cnn-f24 runs/decoder/d5-fast24-init.safetensors

A spec with the same channels and more layers (``cnn-f16x5``) is grown by identity blocks
instead (:func:`qplane.decoder.grow.deepen`: exactly the same logits; ``--at`` says where):

    python scripts/widen_model.py d5-fast cnn-f16x5 runs/decoder/d5-fastx5-init.safetensors

A spec whose first convolution spans rounds (``cnn-f16t``) gets the old kernel as its middle
time slice (:func:`qplane.decoder.grow.full_first`: exactly the same logits):

    python scripts/widen_model.py d5-fast cnn-f16t runs/decoder/d5-fastt-init.safetensors
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch


def widen(net, spec, *, seed: int = 7, noise: float = 1e-3):
    """A ``spec`` network (same block layout, more channels) computing ``net``'s function."""
    from qplane.decoder.model import build_model

    wide = build_model(spec, num_classes=net.num_classes)
    old_c, new_c = net.spec.channels, spec.channels
    if new_c < old_c or net.spec.kernels() != spec.kernels() or net.spec.layers != spec.layers:
        raise SystemExit(f"{spec.name} is not a wider {net.spec.name}")
    rng = np.random.default_rng(seed)
    source = np.concatenate([np.arange(old_c), rng.choice(old_c, new_c - old_c, replace=new_c - old_c > old_c)])
    copies = np.bincount(source, minlength=old_c)
    old = [m for m in net.body if isinstance(m, torch.nn.Conv3d)] + [net.head]
    new = [m for m in wide.body if isinstance(m, torch.nn.Conv3d)] + [wide.head]
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for i, (a, b) in enumerate(zip(old, new)):
            first, last = i == 0, i == len(old) - 1
            rows = np.arange(a.out_channels) if last else source
            cols = np.arange(a.in_channels) if first else source
            weight = a.weight[rows][:, cols].clone()
            if not first:
                weight /= torch.as_tensor(copies[cols], dtype=weight.dtype).view(1, -1, 1, 1, 1)
            jitter = noise * weight.abs().mean() * torch.randn(weight.shape, generator=gen)
            b.weight.copy_(weight + jitter)
            b.bias.copy_(a.bias[rows])
    return wide


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped model name or model file")
    parser.add_argument("spec", help="the wider spec, e.g. cnn-f24")
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--at", type=int, default=None,
                        help="deepening: the block the new blocks go before (default: the head)")
    args = parser.parse_args(argv)
    from qplane.decoder.model import SPECS
    from qplane.decoder.model_file import load_model, save_model

    net, card, digest = load_model(args.model)
    spec = SPECS[args.spec]
    deeper = spec.layers > net.spec.layers
    if getattr(spec, "full_first", False) and not getattr(net.spec, "full_first", False):
        from qplane.decoder.grow import full_first

        wide = full_first(net.eval(), spec)
        grown = {"grown_from": {"model": args.model, "sha256": digest, "spec": net.spec.name,
                                "how": "full first convolution"}}
    elif deeper:
        from qplane.decoder.grow import deepen

        wide = deepen(net.eval(), spec, at=args.at)
        grown = {"deepened_from": {"model": args.model, "sha256": digest, "spec": net.spec.name,
                                   "at": args.at if args.at is not None else net.spec.layers}}
    else:
        wide = widen(net.eval(), spec, seed=args.seed)
        grown = {"widened_from": {"model": args.model, "sha256": digest, "spec": net.spec.name,
                                  "seed": args.seed}}
    x = torch.rand(4, 4, 6, 6, 6)
    with torch.no_grad():
        gap = float((net(x) - wide(x)).abs().max())
    card = dataclasses.replace(
        card, spec=spec.name, spec_version=spec.version, architecture=spec.to_dict(),
        training={**card.training, **grown})
    print(f"{args.output}: {save_model(args.output, wide, card)} (max logit change {gap:.3g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
