"""The drifting-device comparison of ``qplane bench device_noise --drift-only``: static nominal
weights against weights learned from the previous windows and the current-truth oracle."""

from __future__ import annotations

from typing import Any

from qplane.bench._cases import decode
from qplane.bench._devices import NOMINAL_P


def drifting_run(*, distance: int = 5, basis: str = "Z", windows: int = 12,
                 window_s: float = 900.0, shots: int = 20_000, learn_windows: int = 2,
                 seed: int = 0) -> dict[str, Any]:
    """A drifting device, calibration off: static nominal vs live-learned vs oracle weights.

    Window ``k`` (``window_s`` simulated seconds each, truth at its start) is decoded by
    correlated PyMatching with the nominal DEM, with the DEM learned (pairwise) from the
    previous ``learn_windows`` windows' shots (what the live estimator holds then; window 0
    uses nominal), and with window ``k``'s true DEM (the oracle).
    """
    import numpy as np

    from qplane.codes import memory_circuit
    from qplane.noise import DemStructure, learn_noise, nominal_dem
    from qplane.sim_instruments.device import DeviceModel, DeviceProfile
    from qplane.sim_instruments.noise import NoisyCircuitTemplate, Settings, qubit_error_rates

    tpl = NoisyCircuitTemplate(distance=distance, rounds=distance, basis=basis)
    profile = DeviceProfile()
    model = DeviceModel(len(tpl.layout.names), profile=profile, seed=seed, drift=True)
    settings = Settings.calibrated(model.truth_at(0.0))
    s = DemStructure(nominal_dem(memory_circuit(distance=distance, rounds=distance, basis=basis,
                                                p=NOMINAL_P)))
    nominal = s.to_dem(s.nominal)
    history: list[np.ndarray] = []
    rows, wrong_all = [], {"nominal": [], "learned": [], "oracle": []}
    for k in range(windows):
        truth = model.truth_at(k * window_s)
        circuit = tpl.render(qubit_error_rates(truth, settings, profile,
                                               target_pulses=tpl.target_pulses, data=tpl.data))
        dets, obs = circuit.compile_detector_sampler(seed=30_000 + k).sample(
            shots, separate_observables=True, bit_packed=True)
        recent = history[-learn_windows:]
        learned = (learn_noise(np.concatenate(recent), s, estimator="pairwise").to_dem()
                   if recent else nominal)
        row: dict[str, Any] = {"window": k, "time_s": k * window_s}
        for name, dem in (("nominal", nominal), ("learned", learned),
                          ("oracle", nominal_dem(circuit))):
            wrong = np.any(decode(dem, dets, correlated=True) != obs, axis=1)
            wrong_all[name].append(wrong)
            row[f"ler_{name}"] = float(wrong.mean())
        rows.append(row)
        history.append(dets)
    w = {k: np.concatenate(v) for k, v in wrong_all.items()}
    ler = {k: float(v.mean()) for k, v in w.items()}
    from qplane.bench.decoder import mcnemar

    only_nom = int(np.sum(w["nominal"] & ~w["learned"]))
    only_learned = int(np.sum(w["learned"] & ~w["nominal"]))
    return {"distance": distance, "basis": basis, "windows": windows, "window_s": window_s,
            "shots_per_window": shots, "learn_windows": learn_windows, "matcher":
            "pymatching-correlated", "calibration": "off", "per_window": rows,
            "ler": ler, "learned_over_oracle": ler["learned"] / ler["oracle"],
            "nominal_over_learned": ler["nominal"] / ler["learned"],
            "learned_vs_nominal": {"only_nominal_wrong": only_nom,
                                   "only_learned_wrong": only_learned,
                                   "mcnemar_p": mcnemar(only_nom, only_learned)}}

