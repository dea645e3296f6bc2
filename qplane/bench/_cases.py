"""One case of ``qplane bench device_noise``: every decoder on one device, distance and basis.

Training shots and fresh test shots from separate seeds (training 20,000 + seed, test
10,000 + seed); PyMatching and correlated PyMatching with the nominal DEM, with DEMs learned
from the training shots, with ``true-on-nominal`` and the true DEM; the shipped neural models
(nominal DEM) on the first ``neural_shots`` test shots; ``neural-soft`` with the learned DEMs on
the first ``soft_shots`` (:mod:`qplane.bench._soft_rows`). Every decoder is compared with
nominal PyMatching on the same shots (:func:`compare`).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from qplane.bench._devices import NOMINAL_P, device_circuit, true_on_nominal
from qplane.bench._estimators import estimator_options
from qplane.bench._soft_rows import SOFT_DEVICES, soft_rows

if TYPE_CHECKING:
    import numpy as np


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of ``k`` successes in ``n``.

    >>> [round(x, 4) for x in wilson(10, 1000)]
    [0.0054, 0.0183]
    """
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    c = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    d = 1 + z * z / n
    return (max(0.0, (p + z * z / (2 * n) - c) / d), min(1.0, (p + z * z / (2 * n) + c) / d))



def decode(dem, dets: np.ndarray, *, correlated: bool) -> np.ndarray:
    """(Correlated) PyMatching's bit-packed predictions for bit-packed ``dets``."""
    import pymatching

    kw = {"enable_correlations": True} if correlated else {}
    m = pymatching.Matching.from_detector_error_model(dem, **kw)
    return m.decode_batch(dets, bit_packed_shots=True, bit_packed_predictions=True, **kw)


def compare(name: str, wrong: np.ndarray, ref: np.ndarray, **extra: Any) -> dict[str, Any]:
    """A decoder's row: its wrong shots against nominal PyMatching's (``ref``) on the same
    shots (LER, Wilson interval, paired counts, McNemar p, gain), with ``extra`` fields."""
    import numpy as np
    from qplane.bench.decoder import mcnemar

    n, k = len(wrong), int(wrong.sum())
    only_ref, only_this = int(np.sum(ref & ~wrong)), int(np.sum(wrong & ~ref))
    lo, hi = wilson(k, n)
    k_ref = int(ref.sum())
    return {"decoder": name, "shots": n, "errors": k, "ler": k / n, "ler_lo": lo, "ler_hi": hi,
            "only_nominal_wrong": only_ref, "only_this_wrong": only_this,
            "mcnemar_p": mcnemar(only_ref, only_this),
            "gain_over_nominal_pm": (k_ref / k) if k else None, **extra}


def bench_case(device: str, distance: int, basis: str, *, shots: int, train: tuple[int, ...],
               estimators: tuple[str, ...], neural_shots: int, structures: dict,
               soft_shots: int = 0, seed: int = 0) -> dict[str, Any]:
    """Every decoder on one device, distance and basis (``neural-soft`` with the learned DEMs
    on the first ``soft_shots`` test shots, on :data:`~qplane.bench._soft_rows.SOFT_DEVICES`)."""
    import numpy as np
    from qplane.noise import DemStructure, learn_noise, nominal_dem
    from qplane.codes import memory_circuit

    true_circuit = device_circuit(device, distance, basis, seed=seed)
    nominal = memory_circuit(distance=distance, rounds=distance, basis=basis, p=NOMINAL_P)
    key = (distance, basis)
    if key not in structures:
        structures[key] = DemStructure(nominal_dem(nominal))
    s = structures[key]
    nom_dem = s.to_dem(s.nominal)
    true_dem = nominal_dem(true_circuit)
    test = true_circuit.compile_detector_sampler(seed=10_000 + seed)
    dets, obs = test.sample(shots, separate_observables=True, bit_packed=True)
    train_dets = true_circuit.compile_detector_sampler(seed=20_000 + seed).sample(
        max(train), bit_packed=True) if train else None
    rows: list[dict[str, Any]] = []
    wrong_of: dict[str, np.ndarray] = {}
    learned = [("nominal", nom_dem, {})]
    for est in estimators:      # learned once, decoded by both matchers
        for n in train:
            t0 = time.perf_counter()
            m = learn_noise(train_dets[:n], s, **estimator_options(est))
            learned.append((f"learned-{est}-{n // 1000}k", m.to_dem(),
                            {"estimator": est, "train_shots": n,
                             "estimator_s": time.perf_counter() - t0,
                             "kept_nominal": m.kept_nominal}))
    learned.append(("true-on-nominal", true_on_nominal(true_dem, s), {}))
    learned.append(("true", true_dem, {}))
    for correlated in (False, True):
        matcher = "pymatching-correlated" if correlated else "pymatching"
        for label, dem, extra in learned:
            wrong = np.any(decode(dem, dets, correlated=correlated) != obs, axis=1)
            wrong_of[f"{matcher}/{label}"] = wrong
            rows.append({"matcher": matcher, "weights": label, **extra,
                         "wrong": wrong})
    ref = wrong_of["pymatching/nominal"]
    out = []
    for r in rows:
        wrong = r.pop("wrong")
        true_wrong = wrong_of[f"{r['matcher']}/true"]
        c = compare(f"{r['matcher']}/{r['weights']}", wrong, ref, **r)
        c["ler_over_true"] = (c["errors"] / max(int(true_wrong.sum()), 1))
        out.append(c)
    if neural_shots:
        out += neural_rows(distance, nom_dem, dets[:neural_shots], obs[:neural_shots],
                           ref[:neural_shots])
    if soft_shots and device in SOFT_DEVICES:
        out += soft_rows(distance, [(label, dem) for label, dem, _ in learned],
                         dets[:soft_shots], obs[:soft_shots], ref=ref[:soft_shots],
                         wrong_of=wrong_of, num_detectors=s.num_detectors)
    detection_fraction = float(np.unpackbits(dets[:20_000], axis=1, count=s.num_detectors,
                                             bitorder="little").mean())
    return {"device": device, "distance": distance, "basis": basis, "test_shots": shots,
            "detection_fraction": detection_fraction, "nominal_p": NOMINAL_P, "rows": out}


def neural_rows(distance: int, dem, dets: np.ndarray, obs: np.ndarray,
                ref: np.ndarray) -> list[dict[str, Any]]:
    """The shipped network (nominal DEM), with uncorrelated and correlated residual matching."""
    import numpy as np
    from qplane.bench.decoder import model_for
    from qplane.decoder.neural import NeuralDecoder

    out = []
    for name, correlated in (("neural", False), ("neural-correlated", True)):
        compiled = NeuralDecoder(model=model_for(distance), device="cpu",
                                 correlated=correlated).compile_decoder_for_dem(dem=dem)
        pred = compiled.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        wrong = np.any(pred != obs, axis=1)
        out.append(compare(f"{name}/shipped", wrong, ref, matcher=name, weights="nominal",
                            model=model_for(distance)))
    return out

