"""The simulated gates the optional controls tune: DRAG, benchmarking, and the CZ.

* **DRAG.** A pulse whose DRAG coefficient ``β`` misses the ideal ``β*`` leaves a phase error
  ``θ = k (β − β*)`` per π pulse (``k = drag_phase_per_beta``; half of it per π/2 pulse). The
  ``drag`` experiment plays :data:`DRAG_PAIRS` pairs of opposite π pulses, which accumulate it:
  ``P1 = sin²(N θ)``. In the QEC circuit each π/2 pulse gets ``p_z += sin²(θ/4)``.
* **Randomized benchmarking.** The error per Clifford ``r = 1.875 · (2/3) · e_pulse``, where
  ``e_pulse`` is the total Pauli error of one π/2 pulse in the QEC noise model (amplitude,
  detuning, DRAG, decoherence, the floor) and 1.875 the mean number of pulses per Clifford;
  ``P1(m) = ½ + (½ − p_th)(1 − 2r)^m``.
* **CZ.** Each qubit's flux pulse contributes its share ``δ_q = (π/2)((a_q/a_q*)² − 1)`` to the
  conditional-phase error of every CZ it takes part in (π/2 of the π at its ideal amplitude).
  A CZ between ``c`` and ``t`` with conditional phase ``π + δ`` is, Pauli-twirled, a CZ followed
  by ``Z⊗I``, ``I⊗Z`` and ``Z⊗Z`` each with probability ``sin²(δ/2)/4``: the QEC circuit adds
  ``3/4 sin²((δ_c + δ_t)/2)`` to the pair's two-qubit error (a DEPOLARIZE2 of that strength).
  The ``cz_conditional_phase`` experiment on ``q`` reads ``q``'s share on a partner whose own
  share is refocused: ``P1 = (1 + cos(π/2 (1 + (a/a*)²)))/2``.

>>> import numpy as np
>>> phase_error = cz_phase_error(np.array([0.2, 0.22]), np.array([0.2, 0.2]))
>>> phase_error.round(4).tolist()
[0.0, 0.3299]
>>> round(float(cz_pair_error(phase_error[0], phase_error[1])), 4)   # a 10 % amplitude error
0.0202
"""

from __future__ import annotations

import math

import numpy as np

#: Pairs of opposite π pulses in the ``drag`` experiment.
DRAG_PAIRS = 10
#: Mean number of π/2-pulse equivalents per single-qubit Clifford.
PULSES_PER_CLIFFORD = 1.875


def drag_phase(beta: np.ndarray | float, ideal: np.ndarray | float, k: float) -> np.ndarray:
    """Phase error per π pulse of a pulse with DRAG ``beta`` (ideal ``ideal``)."""
    return k * (np.asarray(beta, float) - ideal)


def drag_population(beta: np.ndarray, ideal: float, k: float,
                    pairs: int = DRAG_PAIRS) -> np.ndarray:
    """``P1`` after ``pairs`` pairs of opposite π pulses, over a sweep of ``beta``."""
    return np.sin(pairs * drag_phase(beta, ideal, k)) ** 2


def rb_population(lengths: np.ndarray, error_per_clifford: float, p_th: float) -> np.ndarray:
    """``P1`` after random Clifford sequences of ``lengths`` that end in ``|1⟩``."""
    p = max(1.0 - 2.0 * error_per_clifford, 0.0)
    return 0.5 + (0.5 - p_th) * p ** np.asarray(lengths, float)


def error_per_clifford(pulse_error: float) -> float:
    """``r`` from one π/2 pulse's total Pauli error (average infidelity ``2/3`` of it)."""
    return PULSES_PER_CLIFFORD * 2.0 / 3.0 * float(pulse_error)


def cz_phase_error(amplitude: np.ndarray | float, ideal: np.ndarray | float) -> np.ndarray:
    """A qubit's share ``δ`` of the conditional-phase error at flux ``amplitude``."""
    return math.pi / 2 * ((np.asarray(amplitude, float) / ideal) ** 2 - 1.0)


def cz_population(amplitude: np.ndarray, ideal: float) -> np.ndarray:
    """``P1`` of the partner in the ``cz_conditional_phase`` experiment."""
    return (1.0 + np.cos(math.pi + cz_phase_error(amplitude, ideal))) / 2.0


def cz_pair_error(delta_c: np.ndarray | float, delta_t: np.ndarray | float) -> np.ndarray:
    """The two-qubit error a CZ's conditional-phase error adds: ``3/4 sin²((δc + δt)/2)``."""
    return 0.75 * np.sin((np.asarray(delta_c) + np.asarray(delta_t)) / 2.0) ** 2
