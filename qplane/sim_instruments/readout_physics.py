"""The simulated readout chain: the resonator, the readout tone, and assignment errors.

The optional readout controls (:data:`~qplane.device.controls.OPTIONAL_CONTROLS`: tone
frequency ``f``, amplitude ``A``, duration ``t``) act on the readout through the dispersive
resonator. With the qubit in ``|s⟩`` the resonator's transmission is a notch at ``f_s``
(``f_0 = f_r``, ``f_1 = f_r − 2χ``): ``S_s(f) = 1 − d (κ/2) / (κ/2 + i (f − f_s))``. The IQ
blobs of the two states separate by

    ``|c1 − c0| = readout_separation · (A / A_nom) · sqrt(t / t_nom) · g(f)``,

``g(f) = |S_0(f) − S_1(f)| / max_f |S_0 − S_1|`` (largest at ``f_r − χ`` for ``κ > 2χ``),
``A_nom`` the profile's ``readout_amplitude_nominal``, ``t_nom`` its ``readout_duration``; the
blob width stays ``readout_sigma``. A strong tone drives measurement-induced transitions with
probability ``p_t = rate · (A / A_crit)⁴`` (either state), and ``|1⟩`` decays during the
readout with ``p_d = 1 − e^(−t/(2 T1))``. So the assignment fidelity peaks in all three
controls (:func:`ideal_readout` finds the peak); with the controls unbound the readout is the
profile's nominal one (:func:`qplane.sim_instruments.noise.readout_errors`).

>>> from qplane.sim_instruments.device import DeviceModel, DeviceProfile
>>> truth, p = DeviceModel(2, seed=3, drift=False).truth_at(0.0), DeviceProfile()
>>> f, a, t = ideal_readout(truth, p)
>>> bool(np.allclose(f, truth.resonator_frequency - truth.dispersive_shift))
True
>>> bool(np.all(best_fidelity(truth, p, f, a, t) > best_fidelity(truth, p, f, a / 2, t)))
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qplane.sim_instruments.device import DeviceProfile, TruthState

_erfc = np.vectorize(math.erfc, otypes=[float])


def response(f: np.ndarray | float, f_s: np.ndarray | float, kappa: np.ndarray | float,
             depth: float) -> np.ndarray:
    """The notch transmission ``S(f)`` of a resonator at ``f_s`` (complex)."""
    h = np.asarray(kappa) / 2
    return 1.0 - depth * h / (h + 1j * (np.asarray(f) - f_s))


def state_contrast(truth: TruthState, profile: DeviceProfile, f: np.ndarray | float
                   ) -> np.ndarray:
    """``g(f)``: the two states' response difference at ``f``, 1 at its best frequency."""
    fr, chi, kappa = truth.resonator_frequency, truth.dispersive_shift, truth.resonator_linewidth
    d = profile.resonator_depth
    diff = np.abs(response(f, fr, kappa, d) - response(f, fr - 2 * chi, kappa, d))
    best = np.abs(response(fr - chi, fr, kappa, d) - response(fr - chi, fr - 2 * chi, kappa, d))
    return diff / best


def separation(truth: TruthState, profile: DeviceProfile, f: Any, amplitude: Any,
               duration: Any) -> np.ndarray:
    """``|c1 − c0|`` for the tone ``(f, A, t)`` (arrays broadcast against the qubits)."""
    scale = (np.asarray(amplitude) / profile.readout_amplitude_nominal
             * np.sqrt(np.maximum(np.asarray(duration), 0.0) / profile.readout_duration))
    return profile.readout_separation * scale * state_contrast(truth, profile, f)


def transition_probability(profile: DeviceProfile, amplitude: Any) -> np.ndarray:
    """Measurement-induced transitions: ``rate · (A/A_crit)⁴``, at most 1/2."""
    a = np.asarray(amplitude) / profile.readout_critical_amplitude
    return np.minimum(profile.readout_transition_rate * a**4, 0.5)


def _xor(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return p + q - 2 * p * q


def assignment_errors(truth: TruthState, profile: DeviceProfile, angle: Any, threshold: Any,
                      f: Any, amplitude: Any, duration: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(e01, e10)`` of the discriminator ``(angle, threshold)`` for the tone ``(f, A, t)``.

    The blobs sit at ``mid ± |c1 − c0|/2`` along the truth's IQ axis (``mid`` their midpoint).
    """
    sep = separation(truth, profile, f, amplitude, duration)
    axis = (truth.iq1 - truth.iq0) / np.abs(truth.iq1 - truth.iq0)
    mid = 0.5 * (truth.iq0 + truth.iq1)
    rot = np.exp(-1j * np.asarray(angle))
    m0 = np.real((mid - 0.5 * sep * axis) * rot)
    m1 = np.real((mid + 0.5 * sep * axis) * rot)
    s = truth.iq_sigma * math.sqrt(2.0)
    e01 = 0.5 * _erfc((threshold - m0) / s)
    e10_noise = 0.5 * _erfc((m1 - threshold) / s)
    p_decay = 1.0 - np.exp(-np.asarray(duration) / (2.0 * truth.t1))
    e10 = p_decay * (1.0 - e01) + (1.0 - p_decay) * e10_noise
    p_t = transition_probability(profile, amplitude)
    return _xor(e01, p_t), _xor(e10, p_t)


def best_fidelity(truth: TruthState, profile: DeviceProfile, f: Any, amplitude: Any,
                  duration: Any) -> np.ndarray:
    """The assignment fidelity ``1 − (e01 + e10)/2`` with the best (midpoint) threshold."""
    sep = separation(truth, profile, f, amplitude, duration)
    e = 0.5 * _erfc(sep / (2.0 * truth.iq_sigma * math.sqrt(2.0)))
    p_decay = 1.0 - np.exp(-np.asarray(duration) / (2.0 * truth.t1))
    p_t = transition_probability(profile, amplitude)
    e01 = _xor(e, p_t)
    e10 = _xor(p_decay * (1 - e) + (1 - p_decay) * e, p_t)
    return 1.0 - 0.5 * (e01 + e10)


def ideal_readout(truth: TruthState, profile: DeviceProfile
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tone ``(f, A, t)`` per qubit that maximises the assignment fidelity.

    ``f = f_r − χ`` (where ``g`` peaks); ``A`` and ``t`` by a grid search refined twice.
    """
    from scipy.special import erfc

    f = truth.resonator_frequency - truth.dispersive_shift
    n = len(f)
    lo_a, hi_a = 0.01, 1.0
    lo_t, hi_t = 50e-9, 10e-6
    a_best = np.full(n, 0.1)
    t_best = np.full(n, profile.readout_duration)
    sigma = truth.iq_sigma[:, None, None] * math.sqrt(2.0)
    t1 = truth.t1[:, None, None]
    for _ in range(3):
        a = np.geomspace(lo_a, hi_a, 48)[None, :, None]
        t = np.geomspace(lo_t, hi_t, 48)[None, None, :]
        sep = (profile.readout_separation * a / profile.readout_amplitude_nominal
               * np.sqrt(t / profile.readout_duration))
        e = 0.5 * erfc(sep / (2.0 * sigma))
        p_d = 1.0 - np.exp(-t / (2.0 * t1))
        p_t = np.minimum(profile.readout_transition_rate
                         * (a / profile.readout_critical_amplitude) ** 4, 0.5)
        err = _xor(e, p_t) + _xor(p_d * (1 - e) + (1 - p_d) * e, p_t)
        k = np.argmin(err.reshape(n, -1), axis=1)
        ia, it = np.unravel_index(k, err.shape[1:])
        a_best, t_best = a[0, ia, 0], t[0, 0, it]
        ra, rt = (hi_a / lo_a) ** (2 / 47), (hi_t / lo_t) ** (2 / 47)
        lo_a, hi_a = float(np.min(a_best / ra)), float(np.max(a_best * ra))
        lo_t, hi_t = float(np.min(t_best / rt)), float(np.max(t_best * rt))
    return f, np.asarray(a_best, float), np.asarray(t_best, float)
