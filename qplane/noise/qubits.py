"""Which detectors each physical qubit's noise reaches: what a change to that qubit touches.

A calibration update changes the device for the qubits it sets; the live estimator
(:class:`~qplane.noise.LiveNoiseLearner`) then restarts its window only for the mechanisms
those qubits' noise can cause. :func:`qubit_detectors` reads it off the nominal circuit: stim
explains every error mechanism of the circuit's detector error model by the circuit's noise
locations, and a qubit *reaches* every detector of every mechanism one of its noise locations
causes (a two-qubit gate's noise counts for both qubits, so a miscalibrated coupler partner is
covered). Qubits are named as :class:`qplane.codes.PatchLayout` names them: ``q<i>`` is the
``i``-th qubit of the circuit in increasing stim index.

>>> from qplane.codes import memory_circuit
>>> reach = qubit_detectors(memory_circuit(distance=3, rounds=3, basis="Z", p=0.004))
>>> len(reach), all(len(d) > 0 for d in reach.values())
(17, True)
>>> sorted(detectors_touched(reach, ["q0"])) == sorted(reach["q0"])
True
>>> detectors_touched(reach, ["nonsense"]) is None   # an unknown qubit: all of them
True
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import stim


def qubit_detectors(circuit: stim.Circuit) -> dict[str, np.ndarray]:
    """``{"q<i>": sorted detector indices}`` that the noise of each qubit can flip."""
    coords = circuit.get_final_qubit_coordinates()
    qubits = sorted(coords) if coords else list(range(circuit.num_qubits))
    name_of = {q: f"q{i}" for i, q in enumerate(qubits)}
    reach: dict[str, set[int]] = {name: set() for name in name_of.values()}
    for error in circuit.explain_detector_error_model_errors():
        dets = [t.dem_target.val for t in error.dem_error_terms
                if t.dem_target.is_relative_detector_id()]
        if not dets:
            continue
        for loc in error.circuit_error_locations:
            touched = {t.gate_target.value for t in loc.instruction_targets.targets_in_range
                       if t.gate_target.is_qubit_target}
            touched |= {t.gate_target.value for t in loc.flipped_pauli_product}
            if loc.flipped_measurement is not None:
                touched |= {t.gate_target.value for t in loc.flipped_measurement.observable}
            for q in touched:
                if q in name_of:
                    reach[name_of[q]].update(dets)
    return {name: np.array(sorted(d), dtype=np.int64) for name, d in reach.items()}


def detectors_touched(reach: dict[str, np.ndarray], qubits: Iterable[str]) -> np.ndarray | None:
    """The detectors a change of ``qubits`` touches; ``None`` (every detector) when one of
    them is not a qubit of the patch (a shared setting, a name the circuit does not know)."""
    out: list[np.ndarray] = []
    for q in qubits:
        if q not in reach:
            return None
        out.append(reach[q])
    return np.unique(np.concatenate(out)) if out else np.zeros(0, np.int64)
