"""Cell values of a run file as Python values: text, JSON and UNIX times (reader helpers)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd


def text(value: Any) -> str:
    """A stored string (bytes or str) as str; ``None`` as ``""``.

    >>> text(b"q0"), text(None), text("x")
    ('q0', '', 'x')
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def parse_json(value: Any) -> Any:
    """A stored JSON field parsed; ``{}`` when empty, ``{"unparsed": text}`` when not JSON.

    >>> parse_json('{"a": 1}'), parse_json(""), parse_json("oops")
    ({'a': 1}, {}, {'unparsed': 'oops'})
    """
    raw = text(value)
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return {"unparsed": raw}


def times(seconds: np.ndarray) -> pd.DatetimeIndex:
    """UNIX seconds as UTC datetimes."""
    return pd.to_datetime(np.asarray(seconds, dtype="f8"), unit="s", utc=True)
