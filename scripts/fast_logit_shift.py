"""Per-class logit shifts that move a fast model's decisions onto its teacher's.

The decoder applies a site's correction when its logit clears the rule's threshold, so what the
residual matcher sees from a network is one yes / no per site. A distilled student is trained on
the teacher's probabilities (a cross-entropy over every site), not on those decisions; where it
is systematically less (or more) sure than the teacher for a class, it decides differently at
the threshold even where its probabilities are close. A constant added to one class's logits is
a per-class threshold, and it folds into the head's bias (the network's cost does not change).

``fit`` samples calibration shots with seeds in the *training* range (from ``CAL_SEED_BASE``,
below the validation seeds; no training run reaches them: run seeds are < 2^20 and batch seeds
``seed * 2^20 + step``), decodes them with the student as the loop runs it (ONNX int8, one
thread) and with the teacher (fp32), and, for each class, picks the shift (a grid in
``[-SPAN, SPAN]``) that makes the fewest sites fall on a different side of the teacher's
uncorrelated threshold than the teacher's own logit. Half of the shots fit, the other half
report the disagreement before and after (per class kind). A class is shifted only where the
fit half gains at least ``--min-gain`` sites. The shifted model is written with the card's
training record extended (``training.logit_shift``); its rules are chosen again afterwards on the
config's validation shots (``qplane train-decoder CONFIG --choose-rules``).

    python scripts/fast_logit_shift.py --fast d5-fast --teacher d5 --shots 8000 \\
        --out runs/decoder/d5-fast-shift.safetensors
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

#: Calibration seeds: training range (below VALIDATION_SEED_BASE = 2^40), above any run's seeds.
CAL_SEED_BASE = (1 << 39) + (1 << 33)
#: Largest shift tried (logit units) and the grid step.
SPAN, STEP = 2.0, 0.05
#: Histogram of (logit - cut): bins of BIN over [-LIMIT, LIMIT] (values outside are clipped).
BIN, LIMIT = 0.01, 6.0


def disagreements(hist: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """``(classes, len(shifts))`` sites on the other side of the cut than the teacher.

    ``hist``: ``(classes, 2, bins)`` counts of the student's ``logit - cut`` for teacher
    decision 0 / 1. A site fires after shift ``s`` when ``logit - cut + s > 0``.

    >>> h = np.zeros((1, 2, int(2 * LIMIT / BIN)), dtype=np.int64)
    >>> h[0, 1, _bin(np.array([-0.3]))] = 5     # teacher fires, student 0.3 below the cut
    >>> h[0, 0, _bin(np.array([0.1]))] = 1      # teacher does not, student 0.1 above
    >>> d = disagreements(h, np.array([0.0, 0.5]))
    >>> d.tolist()
    [[6, 1]]
    """
    nb = hist.shape[2]
    centres = -LIMIT + BIN * (np.arange(nb) + 0.5)
    out = np.zeros((hist.shape[0], len(shifts)), dtype=np.int64)
    for k, s in enumerate(shifts):
        fires = centres + s > 0
        out[:, k] = hist[:, 0, fires].sum(axis=1) + hist[:, 1, ~fires].sum(axis=1)
    return out


def _bin(values: np.ndarray) -> np.ndarray:
    nb = int(2 * LIMIT / BIN)
    return np.clip(((values + LIMIT) / BIN).astype(np.int64), 0, nb - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", default="d5-fast")
    parser.add_argument("--teacher", default="d5")
    parser.add_argument("--distance", type=int, default=5)
    parser.add_argument("--ps", type=float, nargs="+", default=[0.003, 0.004, 0.005])
    parser.add_argument("--shots", type=int, default=8000, help="per (p, basis)")
    parser.add_argument("--min-gain", type=int, default=3,
                        help="fewest fit-half sites a class's shift must gain to be kept")
    parser.add_argument("--out", required=True, help="the shifted model file")
    parser.add_argument("--report", default=None, help="JSON report (default: OUT + .json)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from qplane.codes import memory_circuit
    from qplane.decoder.model_file import load_model, save_model
    from qplane.decoder.neural import NeuralDecoder

    d = args.distance
    net, card, sha = load_model(args.fast)
    t_net, t_card, t_sha = load_model(args.teacher)
    threshold = float(t_card.rules["uncorrelated"].get("threshold", 0.8))
    cut = float(np.log(threshold / (1 - threshold)))
    num_classes = len(card.classes)
    nb = int(2 * LIMIT / BIN)
    hist = np.zeros((2, num_classes, 2, nb), dtype=np.int64)   # [half, class, teacher, bin]
    start = time.time()
    for p in args.ps:
        for bi, basis in enumerate(("X", "Z")):
            circuit = memory_circuit(distance=d, rounds=d, basis=basis, p=p)
            dem = circuit.detector_error_model(decompose_errors=True)
            seed = CAL_SEED_BASE + 1_000_000 * d + 1000 * round(p * 1e4) + bi
            events = circuit.compile_detector_sampler(seed=seed).sample(args.shots)
            student = NeuralDecoder(model=args.fast, device="cpu", backend="onnx",
                                    precision="int8", threads=1).compile_decoder_for_dem(dem=dem)
            teacher = NeuralDecoder(model=args.teacher, device="cpu",
                                    threads=1).compile_decoder_for_dem(dem=dem)
            s = student.site_logits(events) - cut
            t = teacher.site_logits(events) > cut
            cls = np.broadcast_to(student.sites.site_class, s.shape)
            half = np.broadcast_to((np.arange(len(events)) % 2)[:, None], s.shape)
            flat = ((half * num_classes + cls) * 2 + t) * nb + _bin(s)
            hist += np.bincount(flat.ravel(), minlength=hist.size).reshape(hist.shape)
            print(f"p={p} {basis}: {len(events)} shots, {time.time() - start:.0f} s",
                  file=sys.stderr, flush=True)
    shifts = np.round(np.arange(-SPAN, SPAN + STEP / 2, STEP), 4)
    zero = int(np.argmin(np.abs(shifts)))
    fit, held = disagreements(hist[0], shifts), disagreements(hist[1], shifts)
    best = np.argmin(fit + 1e-6 * np.abs(shifts)[None, :], axis=1)
    gain = fit[:, zero] - fit[np.arange(num_classes), best]
    keep = gain >= args.min_gain
    chosen = np.where(keep, shifts[best], 0.0)
    idx = np.where(keep, best, zero)
    weight = np.array([len(pattern) for pattern, _ in card.classes])
    kinds = {"weight 1": weight == 1, "weight 2": weight == 2, "weight >= 3": weight >= 3}
    report = {"fast": args.fast, "fast_sha256": sha, "teacher": args.teacher,
              "teacher_sha256": t_sha, "threshold": threshold, "ps": args.ps,
              "shots_per_task": args.shots, "seed_base": CAL_SEED_BASE, "min_gain": args.min_gain,
              "classes_shifted": int(keep.sum()),
              "disagreements": {
                  "fit": [int(fit[:, zero].sum()), int(fit[np.arange(num_classes), idx].sum())],
                  "held_out": [int(held[:, zero].sum()),
                               int(held[np.arange(num_classes), idx].sum())],
                  "held_out_by_kind": {k: [int(held[m, zero].sum()),
                                           int(held[np.arange(num_classes), idx][m].sum())]
                                       for k, m in kinds.items()}},
              "teacher_fires_held_out": int(hist[1, :, 1].sum()),
              "shift": [float(v) for v in chosen]}
    with torch.no_grad():
        net.head.bias += torch.tensor(chosen, dtype=net.head.bias.dtype)
    training = dict(card.training, logit_shift={
        k: report[k] for k in ("fast", "fast_sha256", "teacher", "teacher_sha256", "threshold",
                               "ps", "shots_per_task", "seed_base", "min_gain",
                               "classes_shifted", "disagreements")})
    training["logit_shift"]["command"] = "python scripts/fast_logit_shift.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    new = dataclasses.replace(card, training=training)
    report["sha256"] = save_model(args.out, net, new)
    Path(args.report or args.out + ".json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "shift"}, indent=1))
    print("shifts:", {i: v for i, v in enumerate(chosen) if v})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
