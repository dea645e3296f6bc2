"""The mapping layer: qplane's logical controls bound to QCoDeS parameters, with limits.

qplane speaks of *logical controls* (a qubit's drive frequency, its π amplitude, its readout
angle and threshold, the logical frame correction); a lab's station has *parameters* on
whatever instruments it owns. The ``controls`` section of the ``qplane:`` part of a config file
binds the first to the second, so a lab swaps instruments by editing the file, not the code::

    qplane:
      controls:
        qubits: 49                        # names q0..q48, or an explicit list of names
        drive_frequency:                  # Hz; a composite: LO + per-qubit IF
          lo: drive_lo.frequency          # one parameter path (shared LO), or a template
          if: drive.ch{channel}.if_frequency
          limits: [4.0e9, 6.0e9]
        pi_amplitude:
          path: drive.ch{channel}.amplitude
          limits: [0.0, 0.8]
          max_step: 0.05                  # optional: largest change one set may make
        readout_angle: {path: readout.ch{channel}.rotation, limits: [-3.1416, 3.1416]}
        readout_threshold: {path: readout.ch{channel}.threshold, limits: [-2.0, 2.0]}
        frame_correction: {path: readout.logical_frame}     # global, no placeholder

A path is ``instrument.submodule....parameter`` in the station; ``{channel}`` is replaced by the
qubit's 1-based position in ``qubits`` and ``{qubit}`` by its name. ``limits`` and ``max_step``
are optional. A set goes through :meth:`ControlMap.set`, which refuses a value outside qplane's
limits, beyond ``max_step``, or rejected by the instrument parameter's own validators, with a
:class:`~qplane.errors.LimitError` naming the parameter, the value and the limit, *before*
anything is sent. :func:`validate_controls` checks the section's shape without a station (for
``qplane check``); the shape itself is :class:`~qplane.config.controls.ControlsSettings`.

This section is qplane's one limits layer: calibration's settings ledger
(:class:`~qplane.calibration.updates.SettingsLedger`) checks every update through
:meth:`ControlMap.check` and has no limits of its own. A control bound without ``max_step`` has
no step limit. :class:`ControlLimits` and :func:`check_limits` are that layer's rule, also used
for a settings target without a station (a test's dict of settings, the synthetic calibration
backend), which then passes its limits as a table of :class:`ControlLimits`.

>>> validate_controls({"qubits": 2, "pi_amplitude": {"path": "drive.ch{channel}.amplitude",
...                    "limits": [0.0, 0.8]}}).qubit_names()
('q0', 'q1')
>>> validate_controls({"qubits": 2, "pi_amplitude": {"path": "drive.ch{channel}.amplitude",
...                    "limits": [1, 0]}})
Traceback (most recent call last):
...
qplane.errors.ConfigError: 'qplane.controls.pi_amplitude.limits': must be [low, high] with low < high, got [1, 0]
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qcodes.parameters import Parameter
from qcodes.station import Station

from qplane.device import ALL_CONTROLS, CONTROLS, DRIVE_FREQUENCY, GLOBAL_CONTROLS
from qplane.config import ControlsSettings, validate_section
from qplane.errors import ConfigError, LimitError

#: Per-qubit logical controls with a single parameter path (the vocabulary is qplane.device's;
#: ``drive_frequency`` is the composite one: ``lo`` + ``if``).
PER_QUBIT_CONTROLS = tuple(c for c in CONTROLS if c != DRIVE_FREQUENCY)
_KEY = "qplane.controls"


@dataclasses.dataclass(frozen=True)
class ControlLimits:
    """The limits of one logical control: its range and the largest step one update may make.

    Attributes:
        low, high: the allowed range, inclusive.
        max_step: the largest change one update may make (absolute, in the control's unit).
        unit: for messages.

    >>> ControlLimits(0.0, 0.8, max_step=0.05).max_step
    0.05
    """

    low: float
    high: float
    max_step: float = math.inf
    unit: str = ""

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise LimitError(f"limits low {self.low} > high {self.high}; swap them")
        if not self.max_step > 0:
            raise LimitError(f"max_step must be positive, got {self.max_step}")


def check_limits(name: str, value: float, limits: ControlLimits | None, *,
                 old: float | None = None) -> None:
    """Raise :class:`LimitError` if ``value`` breaks ``limits`` (the step only when ``old`` is given).

    The one limit rule of qplane: :meth:`ControlMap.check` applies it to every bound control,
    and a settings ledger over a target without a station applies it to its own table.

    >>> check_limits("q0.x", 2.5, ControlLimits(-2, 2))
    Traceback (most recent call last):
        ...
    qplane.errors.LimitError: q0.x: 2.5 is outside qplane's limits [-2, 2]; nothing sent
    >>> check_limits("q0.x", 1.5, ControlLimits(-2, 2, max_step=1.0), old=0.0)
    Traceback (most recent call last):
        ...
    qplane.errors.LimitError: q0.x: step 0 -> 1.5 exceeds max_step 1, the maximum step per update; nothing sent
    """
    if not _is_number(value):
        raise LimitError(f"{name}: {value!r} is not a finite number; nothing sent")
    if limits is None:
        return
    value = float(value)
    if not limits.low <= value <= limits.high:
        raise LimitError(f"{name}: {value:.10g}{limits.unit} is outside qplane's limits "
                         f"[{limits.low:.10g}, {limits.high:.10g}]; nothing sent")
    if old is not None and abs(value - old) > limits.max_step:
        raise LimitError(f"{name}: step {old:.10g} -> {value:.10g} exceeds max_step "
                         f"{limits.max_step:.3g}, the maximum step per update; nothing sent")


def validate_controls(section: Mapping[str, Any] | ControlsSettings) -> ControlsSettings:
    """Check a ``qplane.controls`` section's shape; raise :class:`ConfigError` naming the key.

    The shape is :class:`~qplane.config.controls.ControlsSettings`; every mistake is reported
    (one line each), the first one's key in :attr:`ConfigError.key`.

    Args:
        section: the plain dict read from YAML (or an already validated section).

    Returns:
        The validated section.
    """
    if not isinstance(section, (Mapping, ControlsSettings)):
        raise ConfigError(f"must be a mapping of control name -> binding, got "
                          f"{type(section).__name__}", key=_KEY)
    if isinstance(section, Mapping):
        section = dict(section)
    return validate_section(ControlsSettings, section, key=_KEY)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclasses.dataclass(frozen=True)
class Binding:
    """One logical control of one qubit (or of the device), bound to station parameters."""

    control: str
    qubit: str | None
    parameter: Parameter  # the parameter a set writes (the IF for drive_frequency)
    offset_parameter: Parameter | None  # the LO for drive_frequency, else None
    limits: tuple[float, float] | None
    max_step: float | None

    @property
    def bounds(self) -> ControlLimits | None:
        """The limits as :class:`ControlLimits` (``None`` when neither range nor step is set)."""
        if self.limits is None and self.max_step is None:
            return None
        low, high = self.limits if self.limits is not None else (-math.inf, math.inf)
        return ControlLimits(low, high, self.max_step if self.max_step is not None else math.inf)

    @property
    def name(self) -> str:
        return self.control if self.qubit is None else f"{self.control}[{self.qubit}]"


class ControlMap:
    """qplane's logical controls bound to the parameters of a QCoDeS station.

    Build it with :meth:`from_config`. ``get`` reads the value the instrument was last set to
    (the parameter's cache, filled from the instrument when the map is built); ``set`` checks
    every limit and then sets the instrument.
    """

    def __init__(self, qubits: Sequence[str], bindings: Mapping[tuple[str, str | None], Binding]):
        self.qubits = tuple(qubits)
        self._bindings = dict(bindings)
        self._plans: dict[tuple[Any, ...], Any] = {}  # read plans and read_key caches

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | ControlsSettings,
                    station: Station | Mapping[str, Any],
                    *, read: bool = True) -> ControlMap:
        """Bind a validated ``qplane.controls`` section to a station's parameters.

        Args:
            section: the ``controls`` section, a dict or a validated
                :class:`~qplane.config.controls.ControlsSettings` (checked with
                :func:`validate_controls` first).
            station: a QCoDeS ``Station``, or a mapping from instrument name to instrument.
            read: read every bound parameter once from its instrument (fills the caches).

        Raises:
            ConfigError: a path names no instrument or parameter of the station.
        """
        settings = validate_controls(section)
        qubits = settings.qubit_names()
        components = station.components if isinstance(station, Station) else station
        bindings: dict[tuple[str, str | None], Binding] = {}
        for control in ALL_CONTROLS:
            spec = settings.binding(control)
            if spec is None:
                continue
            limits = tuple(float(v) for v in spec.limits) if spec.limits is not None else None
            max_step = float(spec.max_step) if spec.max_step is not None else None
            paths = spec.paths()
            targets: Sequence[str | None] = (None,) if control in GLOBAL_CONTROLS else qubits
            for channel, qubit in enumerate(targets, start=1):
                def resolve(k: str) -> Parameter:
                    path = paths[k].format(channel=channel, qubit=qubit)
                    return resolve_parameter(components, path, key=f"{_KEY}.{control}.{k}")
                if control == DRIVE_FREQUENCY:
                    param, offset = resolve("if"), resolve("lo")
                else:
                    param, offset = resolve("path"), None
                bindings[(control, qubit)] = Binding(control, qubit, param, offset, limits,
                                                     max_step)
        out = cls(qubits, bindings)
        if read:
            seen: set[int] = set()
            for b in bindings.values():
                for p in (b.parameter, b.offset_parameter):
                    if p is not None and id(p) not in seen:
                        seen.add(id(p))
                        p.get()
        return out

    @property
    def controls(self) -> tuple[str, ...]:
        """The logical controls this map binds."""
        return tuple(dict.fromkeys(c for c, _ in self._bindings))

    def binding(self, control: str, qubit: str | None = None) -> Binding:
        """The :class:`Binding` of ``control`` for ``qubit`` (``None`` for device-wide ones)."""
        try:
            return self._bindings[(control, qubit)]
        except KeyError:
            if control not in self.controls:
                raise ConfigError(f"no control {control!r} is bound; bound: "
                                  f"{list(self.controls)}", key=f"{_KEY}.{control}") from None
            raise ConfigError(f"{control} has no binding for qubit {qubit!r}; qubits: "
                              f"{self.qubits[:4]}...", key=f"{_KEY}.qubits") from None

    def get(self, control: str, qubit: str | None = None) -> float:
        """The value the instrument(s) are set to (cached; no instrument round trip)."""
        b = self.binding(control, qubit)
        value = float(b.parameter.cache.get())
        if b.offset_parameter is not None:
            value += float(b.offset_parameter.cache.get())
        return value

    def limits(self, control: str, qubit: str | None = None) -> tuple[float, float] | None:
        """qplane's configured limits of ``control`` (``None`` when unlimited)."""
        return self.binding(control, qubit).limits

    def check(self, control: str, qubit: str | None, value: float, *,
              step: bool = True, old: float | None = None) -> tuple[Parameter, Any]:
        """Check ``value`` against every limit; return the parameter and the raw value to set.

        ``step=False`` skips ``max_step`` (for values that are not a change of the setting,
        such as the points of a sweep, or a revert to a value the device already ran with).
        ``old`` is the current value when the caller has already read it (the settings
        ledger reads it once); otherwise it is read here when a step limit applies.

        Raises:
            LimitError: naming the parameter, the value and the limit it breaks.
        """
        b = self.binding(control, qubit)
        name = f"{b.name} ({b.parameter.full_name})"
        if not _is_number(value):
            raise LimitError(f"{b.name}: {value!r} is not a finite number")
        value = float(value)
        if b.limits is not None and not b.limits[0] <= value <= b.limits[1]:
            check_limits(name, value, ControlLimits(*b.limits))
        if step and b.max_step is not None:
            check_limits(name, value, ControlLimits(-math.inf, math.inf, b.max_step),
                         old=self.get(control, qubit) if old is None else float(old))
        raw: Any = value
        if b.offset_parameter is not None:
            raw = value - float(b.offset_parameter.cache.get())
        if control in GLOBAL_CONTROLS and float(raw).is_integer():
            raw = int(raw)
        if b.parameter.vals is not None:
            try:
                b.parameter.validate(raw)
            except (ValueError, TypeError) as e:
                raise LimitError(f"{b.name}: {value:g} needs {b.parameter.full_name} = {raw:g}, "
                                 f"which the instrument refuses ({b.parameter.vals}); nothing "
                                 "sent") from e
        return b.parameter, raw

    def set(self, control: str, qubit: str | None, value: float) -> None:
        """Set ``control`` of ``qubit`` to ``value`` after checking every limit.

        For ``drive_frequency`` the IF is set to ``value - LO``; the shared LO is not touched.

        Raises:
            LimitError: the value breaks a limit; nothing was sent to the instrument.
        """
        param, raw = self.check(control, qubit, value)
        param.set(raw)

    def read(self, controls: Sequence[str], qubits: Sequence[str]) -> np.ndarray:
        """The current values of several controls for ``qubits``: ``(len(controls), len(qubits))``.

        Equal to ``get(control, q)`` for each pair; a simulated QPU calls it whenever
        :meth:`read_key` changes, so the parameters are resolved once and their caches read
        directly.
        """
        main, offsets = self._plan(controls, qubits)
        values = (np.array([c._value for c in main], dtype=np.float64)
                  + np.array([c._value for c in offsets], dtype=np.float64))
        return values.reshape(len(controls), len(qubits))

    def read_key(self, controls: Sequence[str], qubits: Sequence[str]) -> tuple[Any, ...]:
        """A cheap fingerprint of what :meth:`read` would return: equal keys, equal values.

        The cached raw values of the parameters behind them, each parameter once (a local
        oscillator shared by every qubit's drive frequency counts once). A simulated QPU
        compares it for every block (a few microseconds) and reads only when it changed.
        """
        key = ("key", tuple(controls), tuple(qubits))
        caches = self._plans.get(key)
        if caches is None:
            main, offsets = self._plan(controls, qubits)
            caches = list({id(c): c for c in main + offsets if c is not _ZERO}.values())
            self._plans[key] = caches
        return tuple(map(_cached_value, caches))

    def _plan(self, controls: Sequence[str], qubits: Sequence[str]) -> tuple[list, list]:
        key = (tuple(controls), tuple(qubits))
        plan = self._plans.get(key)
        if plan is None:
            main, offsets = [], []
            for control in controls:
                for b in (self.binding(control, q) for q in qubits):
                    main.append(_fast_cache(b.parameter))
                    offsets.append(_fast_cache(b.offset_parameter) if b.offset_parameter
                                   else _ZERO)
            plan = (main, offsets)
            self._plans[key] = plan
        return plan

    def values(self, control: str) -> dict[str, float]:
        """Every qubit's current value of a per-qubit control."""
        return {q: self.get(control, q) for q in self.qubits}


class _Constant:
    _value = 0.0


class _CacheGetter:
    """Adapter giving ``_value`` for a cache that does not keep one."""

    def __init__(self, cache: Any):
        self._cache = cache

    @property
    def _value(self) -> Any:
        return self._cache.get(False)


_ZERO = _Constant()
_cached_value = operator.attrgetter("_value")


def _fast_cache(parameter: Parameter) -> Any:
    """An object whose ``_value`` is the parameter's cached value.

    QCoDeS's public ``cache.get`` checks validity on every call (~0.5 us); a QPU reads a few
    hundred values per block, so where the cache keeps its value in ``_value`` (every QCoDeS
    release since the cache was introduced) that is read directly, else ``cache.get``.
    """
    cache = parameter.cache
    return cache if hasattr(cache, "_value") else _CacheGetter(cache)


def resolve_parameter(components: Mapping[str, Any], path: str, *, key: str) -> Parameter:
    """The parameter at ``instrument.submodule....parameter`` among ``components``.

    Raises:
        ConfigError: naming ``key`` and the first part of the path that does not resolve.
    """
    head, *rest = path.split(".")
    if head not in components:
        raise ConfigError(f"{path!r}: the station has no instrument {head!r}; it has "
                          f"{sorted(components)}", key=key)
    node: Any = components[head]
    for i, part in enumerate(rest):
        last = i == len(rest) - 1
        table = getattr(node, "parameters", {}) if last else getattr(node, "submodules", {})
        if part not in table:
            kind = "parameter" if last else "submodule"
            have = sorted(table)[:8]
            raise ConfigError(f"{path!r}: {getattr(node, 'full_name', head)} has no {kind} "
                              f"{part!r} (some it has: {have})", key=key)
        node = table[part]
    if not isinstance(node, Parameter):
        raise ConfigError(f"{path!r} is not a settable parameter", key=key)
    return node
