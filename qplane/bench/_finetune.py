"""The neural fine-tuning study of ``qplane bench device_noise --finetune-only``: the shipped
model fine-tuned on the DEM learned from the device against the shipped model."""

from __future__ import annotations

import time
from typing import Any

from qplane.bench._cases import decode
from qplane.bench._devices import NOMINAL_P, device_circuit


def neural_finetune(*, distance: int = 3, basis: str = "Z", device: str = "miscalibrated",
                    learn_shots: int = 100_000, steps: int = 3000, max_minutes: float = 6.0,
                    test_shots: int = 100_000, folder: str = "runs/bench/finetune",
                    hard_fraction: float = 0.0, lr: float = 0.0005,
                    seed: int = 0) -> dict[str, Any]:
    """The shipped model fine-tuned on the DEM learned from the device vs the shipped model.

    Learns the device's DEM (pairwise) from ``learn_shots`` shots, fine-tunes the shipped
    model on it (``train-decoder`` with ``noise: {model: learned, dem: ...}``, ``init`` the
    shipped file), and decodes fresh device shots with both (nominal DEM for the shipped one's
    residual matcher, learned for the fine-tuned), correlated and not, and the shipped model
    with the learned residual weights (``shipped-learned``: what the fine-tuning itself gains);
    McNemar against the shipped model and correlated PyMatching with learned weights. ``hard_fraction``: the
    share of each batch mined from shots PyMatching gets wrong (the shipped d5 and d7 were
    trained with 0.5). The test shots come from another seed than the learning shots.
    """
    import os as _os

    import numpy as np
    import torch

    from qplane.bench.decoder import mcnemar, model_for
    from qplane.codes import memory_circuit
    from qplane.decoder.model_file import shipped_models
    from qplane.decoder.neural import NeuralDecoder
    from qplane.decoder.training import TrainConfig, train
    from qplane.noise import learn_noise, nominal_dem

    true_circuit = device_circuit(device, distance, basis, seed=seed)
    nominal = nominal_dem(memory_circuit(distance=distance, rounds=distance, basis=basis,
                                         p=NOMINAL_P))
    learn = true_circuit.compile_detector_sampler(seed=40_000 + seed).sample(
        learn_shots, bit_packed=True)
    learned = learn_noise(learn, nominal, estimator="pairwise")
    _os.makedirs(folder, exist_ok=True)
    dem_path = _os.path.join(folder, f"learned-d{distance}-{device}.dem")
    with open(dem_path, "w", encoding="utf-8") as f:
        f.write(str(learned.to_dem()))
    shipped = str(shipped_models()[model_for(distance)])
    out = _os.path.join(folder, f"finetuned-d{distance}-{device}.safetensors")
    config = TrainConfig.from_dict(dict(
        name=f"finetune-d{distance}-{device}", distance=distance, rounds=distance, bases=[basis],
        noise={"model": "learned", "dem": dem_path, "p": NOMINAL_P}, spec="cnn-s", steps=steps,
        max_minutes=max_minutes, batch_size=64, lr=lr, seed=seed + 5, workers=0,
        hard_fraction=hard_fraction,
        init=shipped, validation_shots=5000, checkpoint_dir=_os.path.join(folder, "ck"),
        checkpoint_every=100, output=out, device="cpu"))
    t0 = time.perf_counter()
    summary = train(config, device=torch.device("cpu"))
    seconds = time.perf_counter() - t0
    dets, obs = true_circuit.compile_detector_sampler(seed=50_000 + seed).sample(
        test_shots, separate_observables=True, bit_packed=True)
    wrong = {}
    # shipped-learned: the shipped network with the learned residual weights, so that the
    # network's fine-tuning is told apart from the residual matcher's learned weights
    for label, model, dem, modes in (("shipped", shipped, nominal, (False, True)),
                                     ("shipped-learned", shipped, learned.to_dem(), (False,)),
                                     ("finetuned", out, learned.to_dem(), (False, True))):
        for correlated in modes:
            compiled = NeuralDecoder(model=model, device="cpu", correlated=correlated
                                     ).compile_decoder_for_dem(dem=dem)
            pred = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
            wrong[f"{label}{'-correlated' if correlated else ''}"] = np.any(pred != obs, axis=1)
    wrong["pymatching-correlated-learned"] = np.any(
        decode(learned.to_dem(), dets, correlated=True) != obs, axis=1)
    rows = {k: {"errors": int(v.sum()), "ler": float(v.mean())} for k, v in wrong.items()}
    pairs = {}
    for a, b in (("shipped", "finetuned"), ("shipped-learned", "finetuned"),
                 ("shipped-correlated", "finetuned-correlated"),
                 ("pymatching-correlated-learned", "finetuned-correlated")):
        only_a, only_b = int(np.sum(wrong[a] & ~wrong[b])), int(np.sum(wrong[b] & ~wrong[a]))
        pairs[f"{b}_vs_{a}"] = {"only_a_wrong": only_a, "only_b_wrong": only_b,
                                "mcnemar_p": mcnemar(only_a, only_b),
                                "ratio": float(wrong[a].mean() / max(wrong[b].mean(), 1e-12))}
    return {"distance": distance, "basis": basis, "device": device, "learn_shots": learn_shots,
            "steps": int(summary.get("steps", steps)), "train_seconds": seconds,
            "max_minutes": max_minutes, "hard_fraction": hard_fraction, "lr": lr,
            "model": out, "shipped": model_for(distance),
            "test_shots": test_shots, "dem_hash": learned.hash, "rows": rows, "pairs": pairs}


def finetune_key(distance: int) -> str:
    """The results key of the fine-tuning comparison at ``distance``.

    >>> finetune_key(3), finetune_key(5)
    ('finetune', 'finetune_d5')
    """
    return "finetune" if distance == 3 else f"finetune_d{distance}"

