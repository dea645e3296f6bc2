"""``qplane.security``: keys, limits on what a message may be, and endpoint checks.

The checks that span sections live here too (:func:`endpoint_problems`): a tcp endpoint that
binds every interface (``0.0.0.0``, ``*``, ``[::]``) or a non-loopback address needs the run's
keys (``qplane.security.keys``), and the run's name must stay inside ``output_dir``.

>>> SecuritySettings.model_validate({}).max_message_bytes
67108864
>>> endpoint_host("tcp://[::1]:5555"), endpoint_host("ipc:///tmp/x")
('::1', None)
>>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0"), is_loopback("localhost")
(True, False, True)
"""

from __future__ import annotations

import ipaddress
import math
from typing import Optional

from pydantic import Field

from qplane.config._base import Section

#: Hosts that bind every interface.
BIND_ALL = ("0.0.0.0", "*", "::", "[::]")


class SecuritySettings(Section):
    """``qplane.security``: CURVE keys and the bounds every socket keeps."""

    keys: Optional[str] = Field(
        None, description="folder of the run's CURVE key pairs, one per role (made by `qplane "
                          "keys create DIR`); every tcp endpoint is then CURVE-encrypted and "
                          "admits only these keys; null = no keys (ipc and loopback only)")
    require_keys: bool = Field(
        False, description="CURVE on every endpoint, ipc and loopback tcp too (needs keys)")
    max_message_bytes: int = Field(
        64 * 2**20, ge=1024, description="largest message part a socket accepts "
                                         "(ZMQ_MAXMSGSIZE); a larger one drops the connection")
    queue_limit: int = Field(
        1000, ge=1, le=1_000_000, description="messages a socket queues each way at most "
                                              "(ZMQ_SNDHWM / ZMQ_RCVHWM)")
    max_json_depth: int = Field(
        32, ge=4, le=1000, description="deepest nesting of a record's free-form JSON fields")
    sequence_window: int = Field(
        100_000, ge=1, description="largest forward jump of a stream's sequence number a "
                                   "receiver accepts; a larger one is rejected, not followed")


def endpoint_host(endpoint: str) -> str | None:
    """The host of a ``tcp://HOST:PORT`` endpoint (brackets of IPv6 removed); None otherwise."""
    if not endpoint.startswith("tcp://"):
        return None
    rest = endpoint[len("tcp://"):]
    if ";" in rest:  # tcp://SOURCE;HOST:PORT: the host is the part after ';'
        rest = rest.split(";", 1)[1]
    if rest.startswith("["):
        return rest[1:rest.find("]")] if "]" in rest else rest[1:]
    return rest.rsplit(":", 1)[0]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problems(endpoints: dict[str, str], *, has_keys: bool) -> list[tuple[str, str]]:
    """``(endpoint name, what is wrong)`` for every tcp endpoint that needs keys and has none."""
    out = []
    for name, value in endpoints.items():
        host = endpoint_host(value)
        if host is None or has_keys:
            continue
        if host in BIND_ALL:
            out.append((name, f"{value} binds every network interface, which needs the run's "
                              "keys; set qplane.security.keys (make them with `qplane keys "
                              "create DIR`) or bind 127.0.0.1"))
        elif not is_loopback(host):
            out.append((name, f"{value} is not a loopback address, which needs the run's keys; "
                              "set qplane.security.keys (make them with `qplane keys create "
                              "DIR`) or use 127.0.0.1 / ipc://"))
    return out


def run_name_problem(name: str) -> str | None:
    """What is wrong with a run name (it must be a plain file-name stem), or None.

    >>> run_name_problem("../x"), run_name_problem("ok-1")
    ("must be a plain name, not a path: '../x' escapes output_dir; use letters, digits, '-', '_', '.'", None)
    """
    if "\x00" in name:
        return "must not contain a NUL byte"
    if not name.strip():
        return "must not be empty"
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith(".."):
        return (f"must be a plain name, not a path: {name!r} escapes output_dir; use letters, "
                "digits, '-', '_', '.'")
    if any(ord(c) < 32 for c in name):
        return "must not contain control characters"
    return None


def finite(value: float | None) -> float | None:
    """``value`` if it is None or finite; a ValueError naming NaN/inf otherwise."""
    if value is not None and not math.isfinite(value):
        raise ValueError(f"must be a finite number of seconds, got {value}")
    return value
