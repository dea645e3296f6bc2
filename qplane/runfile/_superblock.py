"""Recognising a damaged HDF5 file before HDF5 reads it.

HDF5 opening a truncated file in SWMR mode can retry its metadata reads for minutes, so
:func:`check_file` reads the superblock itself: the signature, its version, and the end-of-file
address the writer stamped, against the file's size. A file shorter than that is truncated
(or still being extended by its writer: the check is retried a few times, briefly, before it
says so).

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "x.h5")
>>> _ = open(path, "wb").write(b"not hdf5")
>>> check_file(path)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
qplane.errors.RunFileError: cannot open .../x.h5 as HDF5: it has no HDF5 signature; is it a qplane run file?
"""

from __future__ import annotations

import os
import time

from qplane.errors import RunFileError

SIGNATURE = b"\x89HDF\r\n\x1a\n"

#: Where a superblock may start: 0, then 512, 1024, 2048 ... (after a user block).
_OFFSETS = (0, 512, 1024, 2048, 4096, 8192, 16384)


def _stored_eof(head: bytes, at: int) -> int | None:
    """The end-of-file address in the superblock at ``at`` (None where it cannot be read)."""
    version = head[at + 8] if len(head) > at + 8 else None
    if version in (0, 1):
        if len(head) < at + 14:
            return None
        size = head[at + 13]
        start = at + (24 if version == 0 else 28) + 2 * size
    elif version in (2, 3):
        if len(head) < at + 10:
            return None
        size = head[at + 9]
        start = at + 12 + 2 * size
    else:
        return None
    if size not in (2, 4, 8) or len(head) < start + size:
        return None
    base_start = start - 2 * size if version in (2, 3) else at + (24 if version == 0 else 28)
    base = int.from_bytes(head[base_start:base_start + size], "little")
    return base + int.from_bytes(head[start:start + size], "little")


def check_file(path: str, *, retries: int = 5, wait: float = 0.1) -> None:
    """Raise :class:`RunFileError` if ``path`` is not HDF5 or is shorter than its superblock says.

    A file still being extended gets ``retries`` more looks, ``wait`` seconds apart.
    """
    for attempt in range(retries + 1):
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                head = f.read(_OFFSETS[-1] + 64)
        except OSError as e:
            raise RunFileError(f"cannot read {path}: {e}") from e
        at = next((o for o in _OFFSETS if head[o:o + 8] == SIGNATURE), None)
        if at is None:
            raise RunFileError(f"cannot open {path} as HDF5: it has no HDF5 signature; is it a "
                               "qplane run file?")
        eof = _stored_eof(head, at)
        if eof is None:
            raise RunFileError(f"{path}: its HDF5 superblock is damaged (version "
                               f"{head[at + 8] if len(head) > at + 8 else '?'} unreadable); the "
                               "file cannot be read")
        if size >= eof:
            return
        if attempt < retries:
            time.sleep(wait)
    raise RunFileError(f"{path} is truncated: {size} bytes of the {eof} its HDF5 superblock "
                       "records (a copy cut short, or a full disk); restore it from a complete "
                       "copy")
