"""The syndrome volume: a rotated-surface-code DEM's detectors on a (channels, t, row, col) grid.

Stim's rotated-surface-code circuits put each stabilizer at even coordinates ``(x, y)`` in
``[0, 2d]`` and each detector at ``(x, y, t)``; the volume has one slot per ``(t, y/2, x/2)``,
shape ``(rounds + 1, d + 1, d + 1)``. Everything is read from the detector error model itself:
the grid from ``dem.get_detector_coordinates()``, which stabilizers carry the memory basis (the
ones with detectors at ``t = 0``), and where the logical observable runs (the detectors of
mechanisms that flip it).

Input channels (:data:`INPUT_CHANNELS`): detection events, a mask of memory-basis stabilizers, a
mask of the other stabilizers (both per slot, so boundaries in space and time are visible), and
the observable's support.

>>> from qplane.codes import memory_circuit
>>> dem = memory_circuit(distance=3, rounds=2, basis="Z", p=0.001).detector_error_model(
...     decompose_errors=True)
>>> g = SyndromeGeometry.from_dem(dem)
>>> g.shape, g.distance, g.rounds, g.orientation
((3, 4, 4), 3, 2, 'stim-rotated/basis-boundary-lr')
"""

from __future__ import annotations

import dataclasses

import numpy as np
import stim

from qplane.errors import ModelMismatchError

#: Code family every model and geometry here describes.
CODE_FAMILY = "rotated-surface-code"

#: Names of the network's input channels, in order.
INPUT_CHANNELS = ("events", "basis_stabilizer", "other_stabilizer", "observable_support")


@dataclasses.dataclass(frozen=True, eq=False)
class SyndromeGeometry:
    """Where each detector of one DEM sits in the syndrome volume.

    Attributes:
        distance: code distance, inferred from the coordinates.
        rounds: stabilizer rounds (the volume has ``rounds + 1`` time slices).
        shape: ``(t, rows, cols)`` of the volume.
        slot_of_detector: ``int64 (num_detectors,)``, flat slot index of each detector.
        detector_at_slot: ``int64 (t * rows * cols,)``, detector at each slot, ``-1`` where none.
        static_channels: ``float32 (3, t, rows, cols)``, the mask channels of the input.
        orientation: the orientation convention: which edges carry the memory-basis boundary
            stabilizers (``lr``: x = 0 and x = 2d; ``tb``: y = 0 and y = 2d).
    """

    distance: int
    rounds: int
    shape: tuple[int, int, int]
    slot_of_detector: np.ndarray
    detector_at_slot: np.ndarray
    static_channels: np.ndarray
    orientation: str

    @property
    def num_detectors(self) -> int:
        return len(self.slot_of_detector)

    @property
    def num_slots(self) -> int:
        return int(np.prod(self.shape))

    @classmethod
    def from_dem(cls, dem: stim.DetectorErrorModel) -> "SyndromeGeometry":
        """Read the geometry from ``dem``'s detector coordinates.

        Raises:
            ModelMismatchError: the DEM is not a stim rotated-surface-code memory experiment
                (the message names what does not fit: coordinates, grid, stabilizer count).
        """
        n = dem.num_detectors
        if n == 0:
            raise ModelMismatchError(f"code family: the DEM has no detectors; need a {CODE_FAMILY}")
        coords = dem.get_detector_coordinates()
        xyz = np.zeros((n, 3), dtype=np.float64)
        for i in range(n):
            c = coords.get(i, [])
            if len(c) != 3:
                raise ModelMismatchError(
                    f"code family: detector D{i} has coordinates {list(c)}; a {CODE_FAMILY} memory "
                    "circuit gives every detector (x, y, t)")
            xyz[i] = c
        if not np.all(xyz == np.round(xyz)) or np.any(xyz < 0):
            raise ModelMismatchError(
                f"code family: detector coordinates must be non-negative integers for a {CODE_FAMILY}")
        xyz = xyz.astype(np.int64)
        x, y, t = xyz[:, 0], xyz[:, 1], xyz[:, 2]
        if np.any(x % 2) or np.any(y % 2):
            raise ModelMismatchError(
                f"code family: stabilizer coordinates must be even for stim's {CODE_FAMILY} layout")
        distance = int(max(x.max(), y.max()) // 2)
        positions = {(int(a), int(b)) for a, b in zip(x, y)}
        full = distance * distance - 1
        rounds = int(t.max())
        # With one round, only memory-basis stabilizers carry detectors.
        if distance < 3 or len(positions) != (full if rounds > 1 else full // 2):
            raise ModelMismatchError(
                f"code family: found {len(positions)} stabilizer positions on a {distance + 1}x"
                f"{distance + 1} grid; a distance-{distance} {CODE_FAMILY} has {full}")
        shape = (rounds + 1, distance + 1, distance + 1)
        rows, cols = y // 2, x // 2
        slot = (t * shape[1] + rows) * shape[2] + cols
        if len(np.unique(slot)) != n:
            raise ModelMismatchError("code family: two detectors share one (x, y, t) slot")
        detector_at_slot = np.full(int(np.prod(shape)), -1, dtype=np.int64)
        detector_at_slot[slot] = np.arange(n)

        basis_pos = {(int(a), int(b)) for a, b, tt in zip(x, y, t) if tt == 0}
        if len(basis_pos) != (distance * distance - 1) // 2:
            raise ModelMismatchError(
                f"code family: {len(basis_pos)} detectors at t = 0; a {CODE_FAMILY} memory "
                f"experiment has {(distance * distance - 1) // 2} (one per memory-basis stabilizer)")
        edge = 2 * distance
        lr = any(a in (0, edge) for a, _ in basis_pos)
        tb = any(b in (0, edge) for _, b in basis_pos)
        if lr == tb:
            raise ModelMismatchError(
                "orientation: memory-basis boundary stabilizers must lie on one pair of opposite edges")
        orientation = "stim-rotated/basis-boundary-" + ("lr" if lr else "tb")

        static = np.zeros((3,) + shape, dtype=np.float32)
        is_basis = np.array([(int(a), int(b)) in basis_pos for a, b in zip(x, y)])
        static[0].reshape(-1)[slot[is_basis]] = 1.0
        static[1].reshape(-1)[slot[~is_basis]] = 1.0
        support = np.zeros(shape[1:], dtype=np.float32)
        for dets, obs in _mechanisms(dem):
            if obs and dets:
                support[rows[dets], cols[dets]] = 1.0
        static[2] = support[None, :, :] * (static[0] + static[1])
        return cls(distance=distance, rounds=rounds, shape=shape, slot_of_detector=slot,
                   detector_at_slot=detector_at_slot, static_channels=static,
                   orientation=orientation)

    def volume(self, events: np.ndarray) -> np.ndarray:
        """The network input for detection events.

        Args:
            events: ``bool`` or ``uint8`` array ``(shots, num_detectors)``, unpacked.

        Returns:
            ``float32 (shots, len(INPUT_CHANNELS), t, rows, cols)``.
        """
        shots = events.shape[0]
        out = np.zeros((shots, len(INPUT_CHANNELS), self.num_slots), dtype=np.float32)
        out[:, 0, self.slot_of_detector] = events
        out[:, 1:, :] = self.static_channels.reshape(3, -1)[None]
        return out.reshape((shots, len(INPUT_CHANNELS)) + self.shape)


def _mechanisms(dem: stim.DetectorErrorModel):
    """Yield ``(detectors, observable_mask)`` of each error mechanism, in sampler order.

    Decomposed components (``^``) are combined: a mechanism's detectors are the symmetric
    difference of its components', as the sampler fires them.
    """
    for inst in dem.flattened():
        if inst.type != "error":
            continue
        dets: set[int] = set()
        obs = 0
        for target in inst.targets_copy():
            if target.is_relative_detector_id():
                dets ^= {target.val}
            elif target.is_logical_observable_id():
                obs ^= 1 << target.val
        yield sorted(dets), obs
