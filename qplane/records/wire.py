"""The wire format (version 2): typed records as ZeroMQ messages, packed or multipart.

A record travels as ``[topic, header, *buffers]``, the parts either each in its own frame
(multipart, :func:`encode`) or *packed* into one frame (:func:`pack`): ``topic``, a NUL byte,
the header's length in bytes (4 bytes, unsigned little-endian), the header, then the buffers
back to back (their sizes follow from the header's ``arrays``). Senders pack (ZeroMQ handles,
and CURVE encrypts and authenticates, each frame separately: one frame per record is the
cheapest); :func:`decode` takes either form. The parts are:

- ``topic``: the record kind, ASCII (e.g. ``b"syndrome"``), so a SUB socket can filter on it;
- ``header``: a UTF-8 JSON object, :class:`Header`: ``schema`` (``"qplane.wire"``), ``version``
  (:data:`WIRE_VERSION`), ``run_id``, ``source`` (the sending process), ``seq`` (per source and
  kind, from 0, so a receiver detects gaps and duplicates), ``uid``, ``time`` (UNIX seconds when
  built), ``arrays`` (``[{"name", "dtype", "shape"}]``, one per buffer) and ``body`` — the
  record's typed fields, tagged by ``kind`` (one :class:`~qplane.records.Body` subclass per kind;
  JSON Schema in ``docs/records.schema.json``);
- one raw buffer per array, C-ordered. Detection events and predictions are bit-packed ``uint8``
  in stim's b8 layout.

A message of several frames whose first frame is packed (a NUL ends its topic) is a *bundle*:
several records, one packed frame each, sent together (:func:`unbundle` splits it; each record
is decoded and validated on its own). A sender bundles what it has queued for one receiver, so
that receiver pays one message, not one per record; a multipart record's first frame is its
bare topic, never packed, so the two forms do not mix up.

Encoding and decoding use msgspec; nothing is ever pickled. :func:`decode` rejects every
malformed message with a :class:`~qplane.errors.WireFormatError` that says what is wrong.

>>> import numpy as np
>>> from qplane.records import Syndrome
>>> rec = Record.build(Syndrome(block_index=0, circuit_id="ab" * 8, num_detectors=24,
...                             t_acquired=1.0), run_id="r", source="srv", seq=0,
...                    arrays={"detection_events": np.zeros((4, 3), np.uint8)})
>>> back = decode(encode(rec))
>>> back.kind, back.seq, back.body.block_index, back.arrays["detection_events"].shape
('syndrome', 0, 0, (4, 3))
>>> packed = pack(rec)
>>> packed[:9], decode([packed]).arrays["detection_events"].shape
(b'syndrome\\x00', (4, 3))
"""

from __future__ import annotations

import functools
import math
import struct
from typing import Annotated, Any, Literal, Union

import msgspec
import numpy as np

from qplane.errors import WireFormatError
from qplane.records._base import (
    DTYPE_BY_NAME,
    NAME_BY_DTYPE,
    WIRE_DTYPES,
    Body,
    Record,
    enc_hook,
    validate,
)
# The modules of every record kind: importing them defines the kinds RECORD_KINDS finds.
from qplane.records import calibration as _calibration  # noqa: F401
from qplane.records import noise as _noise  # noqa: F401
from qplane.records import qec as _qec  # noqa: F401
from qplane.records import run as _run  # noqa: F401
from qplane.records import supervision as _supervision  # noqa: F401

WIRE_SCHEMA = "qplane.wire"
WIRE_VERSION = 2

def _kinds(base: type[Body]) -> list[type[Body]]:
    """Every tagged subclass of ``base``, in definition order (a new kind is found by itself)."""
    out = []
    for cls in base.__subclasses__():
        if cls.__struct_config__.tag is not None:
            out.append(cls)
        out.extend(_kinds(cls))
    return out


#: Every record kind, by name: each :class:`~qplane.records.Body` subclass of the modules above.
RECORD_KINDS: dict[str, type[Body]] = {cls.kind_name(): cls for cls in _kinds(Body)}

AnyBody = Union[tuple(RECORD_KINDS.values())]  # noqa: UP007 - a tagged union for msgspec

#: Largest array a record may carry: 2^31 elements (a 2 GiB block is a mistake, not data).
MAX_ELEMENTS = 2**31


class ArraySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One buffer's name, dtype and shape."""

    name: str
    dtype: Literal[WIRE_DTYPES]  # type: ignore[valid-type]
    shape: Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=MAX_ELEMENTS)]],
                     msgspec.Meta(max_length=4)]


class Header(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The JSON header of every message."""

    schema: Literal["qplane.wire"]
    version: Literal[2]
    run_id: str
    source: str
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**62)]
    uid: str
    time: float
    arrays: list[ArraySpec]
    body: AnyBody  # type: ignore[valid-type]


class _VersionProbe(msgspec.Struct):
    schema: Any = None
    version: Any = None


#: Ends the topic of a packed message (a SUB socket still filters on the topic: a prefix).
TOPIC_END = b"\x00"
_HEADER_LENGTH = struct.Struct("<I")
#: Longest topic of a packed message (a record kind's name is far shorter).
MAX_TOPIC = 64

_encoder = msgspec.json.Encoder(enc_hook=enc_hook)
_decoder = msgspec.json.Decoder(Header)
_probe = msgspec.json.Decoder(_VersionProbe)


@functools.cache
def _topic(cls: type[Body]) -> bytes:
    """The topic frame of a record kind (its name, ASCII)."""
    return cls.kind_name().encode("ascii")


@functools.lru_cache(maxsize=4096)
def _spec(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> ArraySpec:
    """The (immutable, shared) spec of one array: a block's arrays repeat their shapes."""
    return ArraySpec(name, NAME_BY_DTYPE.get(dtype) or str(dtype), list(shape))


def _header(rec: Record) -> bytes:
    arrays = [_spec(name, a.dtype, a.shape) for name, a in rec.arrays.items()]
    return _encoder.encode(Header(schema=WIRE_SCHEMA, version=WIRE_VERSION, run_id=rec.run_id,
                                  source=rec.source, seq=rec.seq, uid=rec.uid, time=rec.time,
                                  arrays=arrays, body=rec.body))


def encode(rec: Record) -> list[Any]:
    """The multipart frames of ``rec``: ``[topic, header, *buffers]``."""
    frames: list[Any] = [_topic(type(rec.body)), _header(rec)]
    frames.extend(memoryview(a).cast("B") if a.size else b"" for a in rec.arrays.values())
    return frames


def pack(rec: Record) -> bytes:
    """``rec`` as one frame: topic, NUL, header length (uint32 LE), header, buffers.

    The arrays are copied once, into the frame (a block's bulk is small: kilobytes).
    """
    header = _header(rec)
    return b"".join([_topic(type(rec.body)), TOPIC_END, _HEADER_LENGTH.pack(len(header)), header,
                     *rec.arrays.values()])


def is_packed(frame: Any) -> bool:
    """Whether ``frame`` is a packed record (a NUL ends its topic), not a multipart topic.

    >>> is_packed(b"syndrome\\x00...."), is_packed(b"syndrome")
    (True, False)
    """
    return memoryview(frame).cast("B")[:MAX_TOPIC + 1].tobytes().find(TOPIC_END) >= 0


def unbundle(frames: list[Any]) -> list[list[Any]]:
    """The records of one message, each as the frames :func:`decode` takes: a bundle (several
    packed frames) is one record per frame; anything else is one record.

    >>> [len(r) for r in unbundle([b"a\\x00", b"b\\x00"])]
    [1, 1]
    >>> [len(r) for r in unbundle([b"a", b"{}"])]
    [2]
    """
    if len(frames) > 1 and is_packed(frames[0]):
        return [[f] for f in frames]
    return [frames]


def _unpack(frame: Any) -> tuple[Any, bytes, Any, int]:
    """(topic, header, the frame as a buffer, where its array bytes start) of a packed frame:
    the arrays are read from the frame in place, not copied."""
    if type(frame) is bytes:  # what a plain receive returns: no view needed
        view, end = frame, frame.find(TOPIC_END, 0, MAX_TOPIC + 1)
    else:
        view = memoryview(frame).cast("B")
        end = bytes(view[:MAX_TOPIC + 1]).find(TOPIC_END)
    if end < 0:
        raise WireFormatError(
            "truncated message: 1 frame(s), need at least topic and header (or one packed frame: "
            "topic, NUL, header length, header, buffers)")
    start = end + 1 + _HEADER_LENGTH.size
    if len(view) < start:
        raise WireFormatError(f"truncated packed message: {len(view)} bytes end in its header length")
    (length,) = _HEADER_LENGTH.unpack_from(view, end + 1)
    if len(view) < start + length:
        raise WireFormatError(f"truncated packed message: header of {length} bytes announced, "
                              f"{len(view) - start} bytes follow")
    return view[:end], bytes(view[start:start + length]), view, start + length


def _header_error(raw: bytes, e: Exception) -> WireFormatError:
    """The clearest message for a header msgspec refused (a version mismatch first)."""
    try:
        probe = _probe.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError, TypeError):
        return WireFormatError(f"header is not valid JSON: {e}")
    if probe.schema is not None and probe.schema != WIRE_SCHEMA:
        return WireFormatError(f"header schema is {probe.schema!r}, expected {WIRE_SCHEMA!r}")
    if probe.version is not None and probe.version != WIRE_VERSION:
        return WireFormatError(
            f"wire schema version {probe.version} is not supported (this qplane speaks "
            f"version {WIRE_VERSION}); run the same qplane version on every process")
    return WireFormatError(f"invalid header: {e}")


def _packed_arrays(buffer: Any, at: int, specs: list[ArraySpec]) -> dict[str, np.ndarray]:
    """The arrays of a packed message, read in place from ``buffer`` from byte ``at`` on, by
    the sizes its header's arrays announce."""
    total = len(buffer) - at
    if len(specs) == 1:  # the usual case (a block's one array): no loop
        spec = specs[0]
        dtype = DTYPE_BY_NAME[spec.dtype]
        count = math.prod(spec.shape)
        if count * dtype.itemsize != total:
            raise WireFormatError(f"packed message: {total} bytes of buffers follow its header, "
                                  f"its arrays need {count * dtype.itemsize}")
        # an array over the frame's bytes in place, made in one call (no frombuffer + reshape)
        return {spec.name: np.ndarray(spec.shape, dtype, buffer, at)}
    arrays: dict[str, np.ndarray] = {}
    need = 0
    sizes = []
    for spec in specs:
        dtype = DTYPE_BY_NAME[spec.dtype]
        count = math.prod(spec.shape)
        sizes.append((dtype, count))
        need += count * dtype.itemsize
    if need != total:
        raise WireFormatError(f"packed message: {total} bytes of buffers follow its header, "
                              f"its arrays need {need}")
    for spec, (dtype, count) in zip(specs, sizes):
        if spec.name in arrays:
            raise WireFormatError(f"array '{spec.name}' appears twice")
        arrays[spec.name] = np.frombuffer(buffer, dtype, count, at).reshape(spec.shape)
        at += count * dtype.itemsize
    return arrays


def _multipart_arrays(buffers: list[Any], specs: list[ArraySpec]) -> dict[str, np.ndarray]:
    if len(buffers) != len(specs):
        raise WireFormatError(
            f"truncated message: header announces {len(specs)} array buffer(s), "
            f"got {len(buffers)}")
    arrays: dict[str, np.ndarray] = {}
    for spec, buf in zip(specs, buffers):
        dtype = DTYPE_BY_NAME[spec.dtype]
        expected_bytes = math.prod(spec.shape) * dtype.itemsize
        nbytes = memoryview(buf).nbytes
        if nbytes != expected_bytes:
            raise WireFormatError(
                f"array '{spec.name}' buffer has {nbytes} bytes, "
                f"shape {spec.shape} of {spec.dtype} needs {expected_bytes}")
        if spec.name in arrays:
            raise WireFormatError(f"array '{spec.name}' appears twice")
        arrays[spec.name] = np.frombuffer(buf, dtype=dtype).reshape(spec.shape)
    return arrays


def decode(frames: list[Any]) -> Record:
    """Parse and validate a message (one packed frame, or multipart frames) into a
    :class:`Record`.

    Raises:
        WireFormatError: naming what is wrong (framing, JSON, schema version, a field, an array).
    """
    packed = None
    if len(frames) == 1:
        topic_raw, raw, packed, at = _unpack(frames[0])
    elif len(frames) > 1 and is_packed(frames[0]):
        raise WireFormatError(f"a bundle of {len(frames)} packed records, not one record: split "
                              "it with unbundle() and decode each")
    elif len(frames) < 2:
        raise WireFormatError(
            f"truncated message: {len(frames)} frame(s), need at least topic and header")
    else:
        topic_raw, raw = frames[0], bytes(frames[1])
    try:
        header = _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise _header_error(raw, e) from e
    except (RecursionError, ValueError, TypeError) as e:  # pathological nesting or numbers
        raise WireFormatError(f"header cannot be decoded: {type(e).__name__}: {e}") from e
    if topic_raw != _topic(type(header.body)):  # the usual case: one comparison
        kind = type(header.body).kind_name()
        try:
            topic = bytes(topic_raw).decode("ascii")
        except UnicodeDecodeError as e:
            raise WireFormatError(f"topic is not ASCII: {e}") from e
        if topic != kind:
            raise WireFormatError(f"topic {topic!r} does not match header kind {kind!r}")
    arrays = (_multipart_arrays(frames[2:], header.arrays) if packed is None
              else _packed_arrays(packed, at, header.arrays))
    rec = Record(run_id=header.run_id, source=header.source, seq=header.seq, uid=header.uid,
                 time=header.time, body=header.body, arrays=arrays)
    validate(rec)
    return rec
