"""The code definition: rotated-surface-code memory circuits, the patch layout, fingerprints.

Neutral of any device: the simulator runs these circuits, a decoder builds its model from them,
and a real station names its qubits by :func:`patch_layout`.

Modules:

* :mod:`~qplane.codes.memory` — :func:`memory_circuit`, :func:`check_code_parameters`,
  :data:`BASES`: the memory experiment a device runs;
* :mod:`~qplane.codes.layout` — :class:`PatchLayout`, :func:`patch_layout`: the patch's qubits,
  coordinates and roles;
* :mod:`~qplane.codes.fingerprint` — :func:`circuit_fingerprint`: the short id of a circuit.

>>> from qplane.codes import circuit_fingerprint, memory_circuit
>>> len(circuit_fingerprint(memory_circuit(distance=3, rounds=1, basis="Z", p=0.0)))
16
"""

from qplane.codes.fingerprint import circuit_fingerprint
from qplane.codes.layout import PatchLayout, patch_layout
from qplane.codes.memory import BASES, check_code_parameters, memory_circuit

__all__ = [
    "BASES",
    "PatchLayout",
    "check_code_parameters",
    "circuit_fingerprint",
    "memory_circuit",
    "patch_layout",
]
