"""A run file whose writer was killed: clearing the superblock's write flags, ending the file or
taking it up again from the recorder's last checkpoint.

An HDF5 file open for (SWMR) writing carries "open for write" flags in its superblock; a writer
killed with kill -9 never clears them, and HDF5 then refuses to open the file for writing again
("may use <h5clear file> ..."). The file itself is consistent as of the writer's last flush
(that is what SWMR guarantees), so the launcher clears the flags, as ``h5clear -s`` does, and
records how the run ended (:func:`end_killed_file`): plain h5py then opens the file. Only superblock versions 2 and 3 (``libver="latest"``, which
run files use) carry the flags with a checksum; the checksum is HDF5's (Bob Jenkins' lookup3
``hashlittle``).

>>> hashlittle(b"") == 0xdeadbeef
True
>>> hex(hashlittle(b"Four score and seven years ago"))
'0x17770551'
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from typing import Any

from qplane.errors import RunFileError

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MASK = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def hashlittle(data: bytes, initval: int = 0) -> int:
    """lookup3's ``hashlittle`` of ``data`` (HDF5's metadata checksum)."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _MASK
    i = 0
    while length - i > 12:
        a = (a + int.from_bytes(data[i:i + 4], "little")) & _MASK
        b = (b + int.from_bytes(data[i + 4:i + 8], "little")) & _MASK
        c = (c + int.from_bytes(data[i + 8:i + 12], "little")) & _MASK
        a = (a - c) & _MASK; a ^= _rot(c, 4); c = (c + b) & _MASK  # noqa: E702
        b = (b - a) & _MASK; b ^= _rot(a, 6); a = (a + c) & _MASK  # noqa: E702
        c = (c - b) & _MASK; c ^= _rot(b, 8); b = (b + a) & _MASK  # noqa: E702
        a = (a - c) & _MASK; a ^= _rot(c, 16); c = (c + b) & _MASK  # noqa: E702
        b = (b - a) & _MASK; b ^= _rot(a, 19); a = (a + c) & _MASK  # noqa: E702
        c = (c - b) & _MASK; c ^= _rot(b, 4); b = (b + a) & _MASK  # noqa: E702
        i += 12
    rest = data[i:]
    if not rest:
        return c
    tail = rest + b"\0" * (12 - len(rest))
    a = (a + int.from_bytes(tail[0:4], "little")) & _MASK
    b = (b + int.from_bytes(tail[4:8], "little")) & _MASK
    c = (c + int.from_bytes(tail[8:12], "little")) & _MASK
    c ^= b; c = (c - _rot(b, 14)) & _MASK  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & _MASK  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & _MASK  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & _MASK  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & _MASK  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & _MASK  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & _MASK  # noqa: E702
    return c


def clear_write_flags(path: str | os.PathLike) -> bool:
    """Clear the superblock's "open for write" flags of ``path`` (what ``h5clear -s`` does).

    Returns:
        True if flags were set and are now cleared, False if there were none.

    Raises:
        RunFileError: not an HDF5 file with a version 2 or 3 superblock at offset 0.
    """
    with open(path, "r+b") as f:
        head = f.read(64)
        if head[:8] != _SIGNATURE or len(head) < 12:
            raise RunFileError(f"{path} is not an HDF5 file (no signature at its start); "
                               "it cannot be reopened")
        version, size_offsets = head[8], head[9]
        if version not in (2, 3):
            raise RunFileError(f"{path} has a version {version} superblock; only run files "
                               "written with libver='latest' (version 2 or 3) can be reopened")
        if head[11] == 0:
            return False
        end = 12 + 4 * size_offsets
        body = bytearray(head[:end])
        body[11] = 0
        f.seek(11)
        f.write(b"\0")
        f.seek(end)
        f.write(struct.pack("<I", hashlittle(bytes(body))))
    return True


def end_killed_file(path: str | os.PathLike, end_state: str, reason: str) -> bool:
    """Mark the file of a killed writer ended (``end_state``, ``reason``) so any reader opens it.

    Returns:
        True if the file was still marked running and is now ended; False if it was ended
        already or could not be changed (it stays as the writer left it).
    """
    import h5py
    from datetime import datetime, timezone

    try:
        clear_write_flags(path)
        with h5py.File(path, "r+", libver="latest") as f:
            if f.attrs.get("end_state") != "running":
                return False
            f.attrs["end_state"] = end_state
            f.attrs["end_reason"] = reason
            f.attrs["ended"] = datetime.now(timezone.utc).isoformat()
            try:
                f["status"][()] = end_state
            except (OSError, KeyError):  # a damaged heap: the attributes say it
                pass
    except (OSError, RunFileError):
        return False
    return True


def latest_checkpoint(cells: list[Any]) -> dict[str, Any] | None:
    """The newest intact checkpoint among the checkpoint attributes' ``cells`` (None: none).

    A cell holds the CRC-32 of its JSON text (8 hex digits), the text, then zeros.
    """
    best = None
    for cell in cells:
        raw = bytes(cell).rstrip(b"\0")
        if len(raw) < 9:
            continue
        try:
            if int(raw[:8], 16) != zlib.crc32(raw[8:]):
                continue
            doc = json.loads(raw[8:])
        except ValueError:
            continue
        if best is None or doc["n"] > best["n"]:
            best = doc
    return best


def repair_to(file: Any, sizes: dict[str, int]) -> None:
    """Cut every dataset of ``file`` back to its checkpointed size (``sizes``: path -> rows) and
    zero what the killed writer left beyond it in its chunks; then read the rows kept once.

    Uncompressed chunks are zeroed in place by direct chunk writes (no type conversion, so no
    stale global-heap reference is followed); a compressed chunk's stale rows are plain bytes,
    overwritten by the next append.

    Raises:
        RunFileError: a dataset is shorter than its checkpoint, or its kept rows do not read.
    """
    import h5py

    datasets: dict[str, Any] = {}
    file.visititems(lambda name, obj: datasets.__setitem__(name, obj)
                    if isinstance(obj, h5py.Dataset) and obj.shape else None)
    for name, ds in datasets.items():
        size = int(sizes.get(name, 0))
        if ds.shape[0] < size:
            raise RunFileError(f"{file.filename}: {name} has {ds.shape[0]} rows, fewer than the "
                               f"{size} of the recorder's checkpoint; the file is damaged")
        if ds.shape[0] > size:
            ds.resize((size,) + ds.shape[1:])
        if ds.chunks is not None and not ds.compression:
            _zero_beyond(ds, size)
        try:
            if size:
                ds[max(0, size - ds.chunks[0] if ds.chunks else size - 1):size]
        except (OSError, ValueError) as e:
            raise RunFileError(f"{file.filename}: the last rows of {name} before the recorder's "
                               f"checkpoint do not read ({e}); the file is damaged") from e


def _zero_beyond(ds: Any, size: int) -> None:
    """Zero the bytes of ``ds``'s stored chunks that lie at or beyond row ``size``."""
    rows = ds.chunks[0]
    for i in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(i)
        start = info.chunk_offset[0]
        if start + rows <= size:
            continue
        mask, data = ds.id.read_direct_chunk(info.chunk_offset)
        cell = bytearray(data)
        keep = max(0, size - start) * (len(cell) // rows)
        if any(cell[keep:]):
            cell[keep:] = bytes(len(cell) - keep)
            ds.id.write_direct_chunk(info.chunk_offset, bytes(cell), mask)
