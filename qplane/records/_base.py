"""The envelope every record shares, and the base class of every record body.

A :class:`Record` is an envelope (run id, source, per-(source, kind) sequence number, uid, time)
around one typed *body* — a frozen :class:`msgspec.Struct` whose class is the record kind
(:class:`Body` subclasses, tagged on ``kind``) — plus named numpy arrays. Each body class says
which arrays it carries (:attr:`Body.ARRAYS`) and checks anything that spans fields and arrays
(:meth:`Body.check`). The same body types are used by the wire (:mod:`qplane.records.wire`) and by
the run-file recorder: a stored kind maps itself to run-file rows in :meth:`Body.rows`, the only
place where that mapping is written.
"""

from __future__ import annotations

import functools
import itertools
import os
import time as _time
import uuid
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar

import msgspec
import numpy as np

from qplane.errors import WireFormatError

#: dtypes allowed on the wire (no object dtypes, nothing that needs pickle).
WIRE_DTYPES = ("uint8", "int8", "int32", "int64", "float32", "float64", "complex128")
DTYPE_BY_NAME = {name: np.dtype(name) for name in WIRE_DTYPES}
NAME_BY_DTYPE = {dtype: name for name, dtype in DTYPE_BY_NAME.items()}

#: Integers in records fit in a signed 64-bit HDF5 column.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
#: A 16-hex-digit circuit fingerprint, or "" where the current circuit is meant.
CircuitId = Annotated[str, msgspec.Meta(max_length=16)]
#: Free-form JSON data (snapshots, fit results, event details): typed as a JSON object.
JsonObject = dict[str, Any]


def enc_hook(obj: Any) -> Any:
    """How values msgspec does not know travel: numpy scalars and arrays as numbers and lists,
    anything else as its text (as ``json.dumps(default=str)`` would)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


_json_encoder = msgspec.json.Encoder(enc_hook=enc_hook)
_check_encoder = msgspec.msgpack.Encoder(enc_hook=enc_hook)


@functools.cache
def _checker(cls: type) -> msgspec.msgpack.Decoder:
    """The typed decoder that checks a body of kind ``cls`` built in Python."""
    return msgspec.msgpack.Decoder(cls)


def json_text(value: Any) -> str:
    """``value`` as compact JSON text, for a run-file text column (``details``, ``fit`` ...).

    >>> json_text({"a": [1, 2.5]})
    '{"a":[1,2.5]}'
    """
    return _json_encoder.encode(value).decode()


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
           tag_field="kind"):
    """Base class of every record body; a subclass with ``tag="name"`` is one record kind.

    Class attributes:
        ARRAYS: array name -> (dtype name, number of dimensions), required.
        OPTIONAL_ARRAYS: the same, for arrays that may be absent.
        PER_SHOT: every array has one row per shot, so they must agree on their length.
    """

    ARRAYS: ClassVar[Mapping[str, tuple[str, int]]] = {}
    OPTIONAL_ARRAYS: ClassVar[Mapping[str, tuple[str, int]]] = {}
    PER_SHOT: ClassVar[bool] = False

    @classmethod
    def kind_name(cls) -> str:
        """The record kind (the msgspec tag), e.g. ``"syndrome"``."""
        return cls.__struct_config__.tag

    def check(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Checks that span fields and arrays (override); raise :class:`WireFormatError`."""

    def rows(self, rec: "Record") -> Iterator[tuple[str, dict[str, Any]]]:
        """The run-file rows this record becomes: ``(table path, fields)`` pairs.

        Kinds that are not stored yield nothing (the default).
        """
        return iter(())


class Record(msgspec.Struct, frozen=True):
    """One validated record: envelope, typed body and arrays.

    Build one with :meth:`Record.build` (validates at the sender); :func:`qplane.records.decode`
    validates at the receiver. (A frozen msgspec struct, not a dataclass: a block's path makes
    several, and a struct is built in a tenth of the time.)
    """

    run_id: str
    source: str
    seq: int
    uid: str
    time: float
    body: Body
    arrays: dict[str, np.ndarray]

    @property
    def kind(self) -> str:
        cls = type(self.body)
        try:
            return _KINDS[cls]
        except KeyError:
            kind = _KINDS[cls] = cls.kind_name()
            return kind

    @property
    def meta(self) -> dict[str, Any]:
        """The body as plain JSON-like data (for display and tests; code reads ``body``)."""
        data = msgspec.to_builtins(self.body, enc_hook=enc_hook)
        data.pop("kind", None)
        return data

    @classmethod
    def build(cls, body: Body, *, run_id: str, source: str, seq: int,
              arrays: Mapping[str, np.ndarray] | None = None) -> "Record":
        """Build and validate a record (a bad one raises :class:`WireFormatError` at the sender).

        >>> from qplane.records import CircuitRequest
        >>> Record.build(CircuitRequest(circuit_id=""), run_id="r", source="w", seq=0).kind
        'circuit_request'
        """
        if not isinstance(body, Body):
            raise WireFormatError(f"a record body must be a qplane.records.Body, got {type(body).__name__}")
        try:  # the fields' types and ranges, exactly as a receiver checks them (a msgpack
            # round trip through the kind's typed decoder: half the cost of to_builtins + convert)
            _checker(type(body)).decode(_check_encoder.encode(body))
        except (msgspec.ValidationError, msgspec.EncodeError, OverflowError, TypeError) as e:
            raise WireFormatError(f"{body.kind_name()} record: {e}") from e
        rec = cls(run_id=run_id, source=source, seq=seq, uid=new_uid(), time=_time.time(),
                  body=body, arrays={k: _contiguous(v) for k, v in (arrays or {}).items()})
        validate(rec)
        return rec


def _contiguous(array: Any) -> np.ndarray:
    """``array`` as a C-contiguous array of at least one dimension (itself if it is one)."""
    if type(array) is np.ndarray and array.ndim and array.flags.c_contiguous:
        return array
    return np.ascontiguousarray(array)


def _reset_uids() -> None:
    global _uid_prefix, _uid_count
    _uid_prefix, _uid_count = uuid.uuid4().hex[:16], itertools.count()


_reset_uids()
os.register_at_fork(after_in_child=_reset_uids)  # a forked child must not repeat the parent's


def new_uid() -> str:
    """A record's unique id: 32 hex digits, a random per-process prefix and a counter (a
    random id per record costs a system call; this costs nothing and is as unique).

    >>> a, b = new_uid(), new_uid()
    >>> len(a), a[:16] == b[:16], a != b
    (32, True, True)
    """
    return f"{_uid_prefix}{next(_uid_count):016x}"


#: Record kind by body class (a record's kind is asked for several times on its way).
_KINDS: dict[type, str] = {}


@functools.cache
def _array_rules(cls: type[Body]) -> dict[str, tuple[np.dtype, int, str, bool]]:
    """Array name -> (dtype, number of dimensions, dtype name, required) a kind allows."""
    rules = {**cls.OPTIONAL_ARRAYS, **cls.ARRAYS}
    return {name: (np.dtype(dtype), ndim, dtype, name in cls.ARRAYS)
            for name, (dtype, ndim) in rules.items()}


def _arrays_error(rec: Record) -> WireFormatError:
    cls = type(rec.body)
    return WireFormatError(
        f"{rec.kind} record: arrays must be {sorted(cls.ARRAYS)}"
        + (f" (optionally {sorted(cls.OPTIONAL_ARRAYS)})" if cls.OPTIONAL_ARRAYS else "")
        + f", got {sorted(rec.arrays)}")


def validate(rec: Record) -> None:
    """Check a record's envelope and arrays against its kind; raise :class:`WireFormatError`.

    The body's fields are typed and checked by msgspec when decoded; a body built in Python
    is re-checked here by a round trip through msgspec's converter.
    """
    seq = rec.seq
    if type(seq) is not int and (isinstance(seq, bool) or not isinstance(seq, int)) or not (
            0 <= seq <= 2**62):
        raise WireFormatError(f"{rec.kind} record: seq must be an integer in [0, 2^62], "
                              f"got {seq!r}")
    cls = type(rec.body)
    rules = _array_rules(cls)
    arrays = rec.arrays
    agree = True
    shots = -1
    required = 0
    for name, array in arrays.items():
        rule = rules.get(name)
        if rule is None:
            raise _arrays_error(rec)
        want, ndim, dtype, needed = rule
        if array.dtype is not want and array.dtype != want:
            raise WireFormatError(f"{rec.kind} record: array '{name}' must be {dtype}, "
                                  f"got {array.dtype}")
        if array.ndim != ndim:
            raise WireFormatError(
                f"{rec.kind} record: array '{name}' must have {ndim} dimensions, got shape "
                f"{array.shape}")
        if shots >= 0 and len(array) != shots:
            agree = False
        shots = len(array)
        required += needed
    if required != len(cls.ARRAYS):
        raise _arrays_error(rec)
    if cls.PER_SHOT and not agree:
        raise WireFormatError(
            f"{rec.kind} record: arrays disagree on the number of shots: "
            f"{ {k: v.shape for k, v in arrays.items()} }")
    rec.body.check(rec.arrays)
