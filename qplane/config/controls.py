"""``qplane.controls``: qplane's logical controls bound to station parameter paths, with limits.

The section's meaning is documented with the code that binds it
(:mod:`qplane.drivers.controls`); this module is its shape. A path is
``instrument[.submodule].parameter``; ``{channel}`` (the qubit's 1-based position) and
``{qubit}`` (its name) are the only placeholders, required in a per-qubit control's path and
forbidden in a device-wide one's.

>>> c = ControlsSettings.model_validate({"qubits": 2, "pi_amplitude": {
...     "path": "drive.ch{channel}.amplitude", "limits": [0.0, 0.8]}})
>>> c.qubit_names(), c.bound()
(('q0', 'q1'), ('pi_amplitude',))
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Optional, Union

from pydantic import BeforeValidator, Field, create_model

from qplane.config._base import Section
from qplane.device import ALL_CONTROLS, CONTROL_DOCS, DRIVE_FREQUENCY, GLOBAL_CONTROLS

_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_{][A-Za-z0-9_{}]*)+$")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _path_check(*, per_qubit: bool, required: bool) -> Any:
    def check(path: Any) -> Any:
        if not isinstance(path, str) or not _PATH_RE.match(path):
            raise ValueError(f"must be a parameter path 'instrument[.submodule].parameter', got "
                             f"{path!r}")
        has = "{channel}" in path or "{qubit}" in path
        stray = re.sub(r"\{(channel|qubit)\}", "", path)
        if "{" in stray or "}" in stray:
            raise ValueError(f"only {{channel}} and {{qubit}} may be substituted, got {path!r}")
        if not per_qubit and has:
            raise ValueError(f"a device-wide control takes no {{channel}}/{{qubit}}, got {path!r}")
        if required and not has:
            raise ValueError(f"a per-qubit control needs {{channel}} or {{qubit}} in its path, "
                             f"got {path!r}")
        return path
    return BeforeValidator(check)


def _limits(lim: Any) -> Any:
    if (not isinstance(lim, (list, tuple)) or len(lim) != 2
            or not all(_is_number(v) for v in lim) or not lim[0] < lim[1]):
        hint = ""
        if isinstance(lim, (list, tuple)) and any(isinstance(v, str) for v in lim):
            hint = " (numbers: YAML reads 4.6e9 as text, write 4.6e+9)"
        raise ValueError(f"must be [low, high] with low < high, got {lim!r}{hint}")
    return list(lim)


def _max_step(step: Any) -> Any:
    if not _is_number(step) or not step > 0:
        raise ValueError(f"must be a positive number, got {step!r}")
    return step


def _qubits(q: Any) -> Any:
    if isinstance(q, int) and not isinstance(q, bool) and q >= 1:
        return q
    if (isinstance(q, list) and q and all(isinstance(n, str) and n for n in q)
            and len(set(q)) == len(q)):
        return q
    raise ValueError(f"must be a qubit count >= 1 or a list of distinct names, got {q!r}")


PerQubitPath = Annotated[str, _path_check(per_qubit=True, required=True)]
SharedOrPerQubitPath = Annotated[str, _path_check(per_qubit=True, required=False)]
DeviceWidePath = Annotated[str, _path_check(per_qubit=False, required=False)]
Limits = Annotated[list[float], BeforeValidator(_limits)]
MaxStep = Annotated[float, BeforeValidator(_max_step)]

_LIMITS_DOC = "qplane's limits [low, high] of the control's value (optional)"
_STEP_DOC = "the largest change one set may make (optional)"


class _Limited(Section):
    limits: Optional[Limits] = Field(None, description=_LIMITS_DOC)
    max_step: Optional[MaxStep] = Field(None, description=_STEP_DOC)

    def paths(self) -> dict[str, str]:
        """Path key -> parameter path template, as in the file."""
        raise NotImplementedError


class PerQubitBinding(_Limited):
    """A per-qubit control bound to one parameter path with a placeholder."""

    path: PerQubitPath = Field(description="parameter path with {channel} or {qubit}")

    def paths(self) -> dict[str, str]:
        return {"path": self.path}


class DriveFrequencyBinding(_Limited):
    """The drive frequency: a (shared) LO plus a per-qubit IF; a set changes the IF."""

    lo: SharedOrPerQubitPath = Field(description="the LO's parameter path (one shared LO, or "
                                                 "a template)")
    if_: PerQubitPath = Field(alias="if", description="the per-qubit IF's parameter path")

    def paths(self) -> dict[str, str]:
        return {"lo": self.lo, "if": self.if_}


class DeviceWideBinding(_Limited):
    """A control that is one parameter for the whole device."""

    path: DeviceWidePath = Field(description="parameter path, no placeholder")

    def paths(self) -> dict[str, str]:
        return {"path": self.path}


class _ControlsSection(Section):
    """``qplane.controls``: the qubits and the binding of each logical control."""

    qubits: Annotated[Union[int, list[str]], BeforeValidator(_qubits)] = Field(
        description="a qubit count (names q0..qN-1) or a list of distinct names")

    def qubit_names(self) -> tuple[str, ...]:
        """The qubits' names, in channel order."""
        if isinstance(self.qubits, int):
            return tuple(f"q{i}" for i in range(self.qubits))
        return tuple(self.qubits)

    def bound(self) -> tuple[str, ...]:
        """The logical controls this section binds, in declaration order."""
        return tuple(name for name in type(self).model_fields
                     if name != "qubits" and getattr(self, name) is not None)

    def binding(self, control: str) -> Optional[_Limited]:
        """The binding of ``control`` (``None`` when the section leaves it unbound)."""
        return getattr(self, control)


def _binding_type(control: str) -> type[_Limited]:
    if control == DRIVE_FREQUENCY:
        return DriveFrequencyBinding
    return DeviceWideBinding if control in GLOBAL_CONTROLS else PerQubitBinding


#: The section's model: one optional binding per control of the device vocabulary
#: (:data:`qplane.device.ALL_CONTROLS`), so a new control needs no change here.
ControlsSettings = create_model(
    "ControlsSettings", __base__=_ControlsSection, __module__=__name__,
    __doc__=_ControlsSection.__doc__,
    **{c: (Optional[_binding_type(c)], Field(None, description=CONTROL_DOCS.get(c, c)))
       for c in ALL_CONTROLS},
)
