"""The physical qubits of a rotated-surface-code patch: names, coordinates, roles.

>>> lay = patch_layout(distance=3)
>>> len(lay.names), lay.roles.count("data")
(17, 9)
"""

from __future__ import annotations

import dataclasses

import stim

from qplane.codes.memory import check_code_parameters
from qplane.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class PatchLayout:
    """The physical qubits of a rotated-surface-code patch, in the order qplane names them.

    Qubit ``q<i>`` is the ``i``-th qubit of stim's generated circuit in increasing stim index.

    Attributes:
        names: ``("q0", "q1", ...)``.
        stim_indices: each qubit's index in the stim circuit.
        coords: each qubit's ``(x, y)`` from the circuit's ``QUBIT_COORDS``.
        roles: ``"data"``, ``"x_ancilla"`` or ``"z_ancilla"`` per qubit.
    """

    names: tuple[str, ...]
    stim_indices: tuple[int, ...]
    coords: tuple[tuple[float, float], ...]
    roles: tuple[str, ...]

    def index(self, name: str) -> int:
        """Position of qubit ``name``; raises :class:`ConfigError` for an unknown one."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ConfigError(f"no qubit {name!r}; this patch has q0..q{len(self.names) - 1}",
                              key="qubit") from None


def patch_layout(*, distance: int, basis: str = "Z") -> PatchLayout:
    """The qubits of a distance-``distance`` patch, with their coordinates and roles.

    >>> lay = patch_layout(distance=3)
    >>> lay.names[:3], lay.roles.count("x_ancilla"), lay.roles.count("z_ancilla")
    (('q0', 'q1', 'q2'), 4, 4)
    """
    check_code_parameters(distance=distance, rounds=1, basis=basis, p=0.0)
    circuit = stim.Circuit.generated(f"surface_code:rotated_memory_{basis.lower()}",
                                     distance=distance, rounds=1)
    coords = circuit.get_final_qubit_coordinates()
    indices = tuple(sorted(coords))
    data: set[int] = set()
    hadamard: set[int] = set()
    for inst in circuit.flattened():
        if inst.name in ("M", "MX"):
            data.update(t.value for t in inst.targets_copy())
        elif inst.name == "H":
            hadamard.update(t.value for t in inst.targets_copy())
    roles = tuple("data" if q in data else "x_ancilla" if q in hadamard else "z_ancilla"
                  for q in indices)
    return PatchLayout(
        names=tuple(f"q{i}" for i in range(len(indices))),
        stim_indices=indices,
        coords=tuple((float(coords[q][0]), float(coords[q][1])) for q in indices),
        roles=roles,
    )
