"""Parity moments of detection events, counted on bit-packed data.

Every estimator in :mod:`qplane.noise` works from *parity moments*: for a set ``S`` of
detectors, how many shots have an odd number of detection events in ``S``. Under independent
error mechanisms, ``E[(-1)^(Σ_{i∈S} x_i)] = Π_{m : |D_m ∩ S| odd} (1 − 2 p_m)``, which makes
the logarithms of the moments linear in the mechanisms' ``−log(1 − 2 p_m)``.

The counting never unpacks the shots into one byte per bit. The shot-major rows of stim's b8
layout are turned into detector-major bit rows (one bit per shot, 64 shots per word) by a byte
shuffle and an 8×8 bit-matrix transpose done in place on ``uint64`` words; a moment is then an
XOR of a few rows and a popcount.

The counts are kept per *group* of shots (contiguous, about equal), so estimators get
delete-one-group jackknife replicates for their confidence intervals by subtraction.

>>> import numpy as np
>>> bits = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=np.uint8)
>>> rows = detector_rows(np.packbits(bits, axis=1, bitorder="little"), num_detectors=3)
>>> rows.shape, int(np.bitwise_count(rows[0]).sum())
((3, 1), 3)
>>> odd_counts(rows, [(0,), (0, 1), (0, 1, 2)], groups=1)[:, 0].tolist()
[3, 1, 1]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from qplane.errors import QplaneError

_M1 = np.uint64(0x00AA00AA00AA00AA)
_M2 = np.uint64(0x0000CCCC0000CCCC)
_M3 = np.uint64(0x00000000F0F0F0F0)


def _transpose8x8(x: np.ndarray) -> np.ndarray:
    """Transpose, in every word, the 8×8 bit matrix whose byte ``r`` bit ``c`` is entry (r, c)."""
    t = (x ^ (x >> np.uint64(7))) & _M1
    x = x ^ t ^ (t << np.uint64(7))
    t = (x ^ (x >> np.uint64(14))) & _M2
    x = x ^ t ^ (t << np.uint64(14))
    t = (x ^ (x >> np.uint64(28))) & _M3
    return x ^ t ^ (t << np.uint64(28))


def detector_rows(packed: np.ndarray, *, num_detectors: int) -> np.ndarray:
    """Detector-major bit rows of shot-major bit-packed detection events.

    Args:
        packed: ``(shots, ceil(num_detectors / 8))`` ``uint8``, stim's b8 layout (detector
            ``k`` is bit ``k % 8``, little-endian, of byte ``k // 8``).
        num_detectors: how many detectors a shot has.

    Returns:
        ``(num_detectors, ceil(shots / 64))`` ``uint64``: bit ``s`` of row ``k`` is whether
        shot ``s`` had a detection event at detector ``k``; padding shots are zero.
    """
    packed = np.asarray(packed)
    width = (num_detectors + 7) // 8
    if packed.ndim != 2 or packed.dtype != np.uint8 or packed.shape[1] != width:
        raise QplaneError(f"detection events must be a (shots, {width}) uint8 array (b8 layout "
                          f"of {num_detectors} detectors), got {packed.dtype} {packed.shape}")
    shots = packed.shape[0]
    padded = -(-max(shots, 1) // 64) * 64
    if padded != shots:
        packed = np.concatenate([packed, np.zeros((padded - shots, width), np.uint8)])
    # (shots/8, 8 shots, bytes) -> (bytes, shots/8, 8 shots): a word holds 8 shots x 8 detectors
    words = np.ascontiguousarray(packed.reshape(padded // 8, 8, width).transpose(2, 0, 1))
    words = _transpose8x8(words.view(np.uint64).reshape(width, padded // 8))
    # now byte c of a word is detector c of the byte, its bit r shot r of the 8-shot group
    rows = np.ascontiguousarray(words.view(np.uint8).reshape(width, padded // 8, 8).transpose(0, 2, 1))
    return rows.reshape(width * 8, padded // 8).view(np.uint64)[:num_detectors]


def group_bounds(words: int, groups: int) -> np.ndarray:
    """Start word of each of ``groups`` contiguous, about equal groups of ``words`` words."""
    groups = max(1, min(groups, words))
    return (np.arange(groups) * words) // groups


def odd_counts(rows: np.ndarray, sets: Sequence[Sequence[int]], *, groups: int = 10,
               chunk: int = 2048) -> np.ndarray:
    """How many shots have an odd number of detection events in each set, per group of shots.

    Args:
        rows: detector rows from :func:`detector_rows`.
        sets: detector index sets (each non-empty).
        groups: contiguous shot groups to count separately (for jackknife intervals).
        chunk: words per pass (bounds the temporaries).

    Returns:
        ``(len(sets), groups)`` ``int64`` counts (fewer groups when there are fewer words).
    """
    words = rows.shape[1]
    bounds = group_bounds(words, groups)
    out = np.zeros((len(sets), len(bounds)), np.int64)
    by_size: dict[int, list[int]] = {}
    for k, s in enumerate(sets):
        if len(s) == 0:
            raise QplaneError("a parity moment needs at least one detector")
        by_size.setdefault(len(s), []).append(k)
    for size, which in by_size.items():
        index = np.array([sets[k] for k in which], dtype=np.intp).reshape(len(which), size)
        which_a = np.array(which)
        for g, start in enumerate(bounds):
            stop = bounds[g + 1] if g + 1 < len(bounds) else words
            for lo in range(start, stop, chunk):
                hi = min(stop, lo + chunk)
                block = rows[:, lo:hi]
                acc = block[index[:, 0]]
                for j in range(1, size):
                    acc ^= block[index[:, j]]
                out[which_a, g] += np.bitwise_count(acc).sum(axis=1, dtype=np.int64)
    return out


def shots_per_group(shots: int, words: int, groups: int) -> np.ndarray:
    """Real (unpadded) shots in each group of :func:`group_bounds`."""
    bounds = group_bounds(words, groups)
    starts = bounds * 64
    stops = np.append(bounds[1:], words) * 64
    return np.clip(np.minimum(stops, shots) - starts, 0, None).astype(np.int64)
