"""The simulated devices of ``qplane bench device_noise``: their true memory circuits, and the
truth's probabilities on the nominal structure (``true_on_nominal``).

``calibrated`` (perfect settings), ``drifted`` (settings calibrated, the truth 1 h later),
``miscalibrated`` (calibrated but for four qubits: one detuned 80 kHz, one π amplitude +10 %, one
readout angle off 0.8 rad, one with T1 × 0.25), and the ``uniform`` control (the nominal
circuit's own noise at :data:`NOMINAL_P`).
"""

from __future__ import annotations

import dataclasses

DEVICES = ("calibrated", "drifted", "miscalibrated", "uniform")
NOMINAL_P = 0.004


def device_circuit(device: str, distance: int, basis: str, *, seed: int = 0):
    """The true memory circuit of a simulated device (rounds = distance)."""
    import numpy as np
    from qplane.codes import memory_circuit
    from qplane.sim_instruments.device import DeviceModel, DeviceProfile
    from qplane.sim_instruments.noise import NoisyCircuitTemplate, Settings, qubit_error_rates

    if device == "uniform":
        return memory_circuit(distance=distance, rounds=distance, basis=basis, p=NOMINAL_P)
    tpl = NoisyCircuitTemplate(distance=distance, rounds=distance, basis=basis)
    profile = DeviceProfile()
    model = DeviceModel(len(tpl.layout.names), profile=profile, seed=seed, drift=True)
    truth0 = model.truth_at(0.0)
    settings = Settings.calibrated(truth0)
    truth = truth0
    if device == "drifted":
        truth = model.truth_at(3600.0)
    elif device == "miscalibrated":
        rng = np.random.default_rng(seed + 1000)
        a, b, c, d = rng.choice(len(tpl.layout.names), size=4, replace=False)
        f, amp, ang = (settings.drive_frequency.copy(), settings.pi_amplitude.copy(),
                       settings.readout_angle.copy())
        f[a] += 80e3
        amp[b] *= 1.10
        ang[c] += 0.8
        settings = dataclasses.replace(settings, drive_frequency=f, pi_amplitude=amp,
                                       readout_angle=ang)
        t1 = truth.t1.copy()
        t1[d] *= 0.25
        truth = dataclasses.replace(truth, t1=t1, t2_star=np.minimum(truth.t2_star, 2 * t1),
                                    t2_echo=np.minimum(truth.t2_echo, 2 * t1))
    elif device != "calibrated":
        raise ValueError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    errors = qubit_error_rates(truth, settings, profile, target_pulses=tpl.target_pulses,
                               data=tpl.data)
    return tpl.render(errors)


def true_on_nominal(true_dem, s):
    """The true DEM's probabilities put on the nominal structure: each (detectors, observables)
    symptom's true probability, shared among the nominal mechanisms with that symptom in their
    nominal proportions. The best any estimator on the nominal structure can do; what separates
    it from ``true`` is the true DEM's own decomposition of its hyperedges."""
    import numpy as np
    from qplane.noise import P_MAX, P_MIN, p_of_q, q_of_p, symptom_probabilities

    truth = symptom_probabilities(true_dem)
    keys = []
    for parts in s.components:
        dets: set[int] = set()
        obs: set[int] = set()
        for d, o in parts:
            dets ^= set(d)
            obs ^= set(o)
        keys.append((tuple(sorted(dets)), tuple(sorted(obs))))
    q_nom = q_of_p(np.clip(s.nominal, P_MIN, P_MAX))
    total: dict[tuple, float] = {}
    for k, q in zip(keys, q_nom):
        total[k] = total.get(k, 0.0) + q
    q = np.array([q_of_p(truth[k]) * qn / total[k] if k in truth and total[k] > 0 else qn
                  for k, qn in zip(keys, q_nom)])
    return s.to_dem(np.clip(p_of_q(q), P_MIN, P_MAX))

