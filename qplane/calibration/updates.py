"""Bounded, atomic, recorded and revertible setting updates: the settings ledger.

Every change a calibration node makes goes through one :class:`SettingsLedger`, which sits
where the write happens (in the pipeline, inside the instrument server; in process, wrapping
the backend directly). One update is one call with a mapping of settings, applied all or nothing:

1. the old value of each setting is read once;
2. every limit is checked before anything is written, by the one limits layer: the target's
   own (a station backend's :class:`~qplane.drivers.ControlMap`, i.e. the config's
   ``qplane.controls`` section) or, for a target without a station, a table of
   :class:`~qplane.drivers.ControlLimits` given to the ledger (never both);
3. each setting is written and read back; if a write or read-back fails part-way, the settings
   already written are restored and the update is refused;
4. only a committed update is recorded: one :class:`SettingChange` per setting, all sharing the
   update's id (``run_uid``), handed to ``on_change`` (the ``/parameters/history`` row). A
   refused update writes nothing, is counted in :attr:`SettingsLedger.refused` and handed to
   ``on_refused`` (an event), and raises :class:`~qplane.errors.LimitError` to the caller.

:meth:`SettingsLedger.revert` restores, per qubit and per node, the exact values the most recent
update of that node replaced, and records that as changes too. Settings are named
``"<qubit>.<control>"``, for example ``"q3.drive_frequency"``.

>>> target = DictTarget({"q0.pi_amplitude": 0.40})
>>> ledger = SettingsLedger(target, {"pi_amplitude": ControlLimits(0.0, 1.0, max_step=0.05)})
>>> ledger.apply("q0", {"pi_amplitude": 0.42}, node="rabi", fit={"chi2_red": 1.0})[0].old
0.4
>>> ledger.apply("q0", {"pi_amplitude": 0.9}, node="rabi")
Traceback (most recent call last):
    ...
qplane.errors.LimitError: q0.pi_amplitude: step 0.42 -> 0.9 exceeds max_step 0.05, the maximum step per update; nothing sent
>>> ledger.refused
1
>>> _ = ledger.revert(qubit="q0", node="rabi")
>>> target.read_setting("q0.pi_amplitude")
0.4
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time as _time
import uuid
from typing import Any, Callable, Iterable, Mapping, Protocol

from qplane.drivers import ControlLimits, check_limits
from qplane.errors import ConfigError, LimitError, QplaneError

__all__ = ["ControlLimits", "DictTarget", "Ledger", "SettingChange", "SettingsLedger",
           "SettingsTarget", "check_limits", "last_run"]


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclasses.dataclass(frozen=True)
class SettingChange:
    """One recorded change of one setting.

    Attributes:
        uid: unique id of this change.
        time: when it was written (simulated or UNIX seconds, as the ledger's clock says).
        setting: ``"<qubit>.<control>"``.
        qubit, control: the two halves of ``setting``.
        old, new: the value before and after (``new`` as read back from the device).
        node: the calibration node that made it (``"revert"`` for reverts, ``""`` if none).
        run_uid: the id of the update it belongs to (every setting of one atomic update
            shares it; reverts go by it). Stored as the ``update`` field of a history row.
        fit: the fit result (JSON-ready dict) that justified the change.
        reverts: the update id this change undoes, or ``""`` (``revert_of`` in a row).
        details: anything else about the update (``requested_by``, ``reason``, ...).
    """

    uid: str
    time: float
    setting: str
    qubit: str
    control: str
    old: float
    new: float
    node: str
    run_uid: str
    fit: dict[str, Any] = dataclasses.field(default_factory=dict)
    reverts: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def update(self) -> str:
        """The id of the atomic update this change belongs to (= ``run_uid``)."""
        return self.run_uid

    def record_meta(self) -> dict[str, Any]:
        """The fields of a ``parameter_change`` record: parameter, old, new, node, update and
        details (a mapping: uid, fit, revert_of, and the update's other details)."""
        details = {**self.details, "uid": self.uid, "fit": self.fit}
        if self.reverts:
            details["revert_of"] = self.reverts
        return {"parameter": self.setting, "old": self.old, "new": self.new, "node": self.node,
                "update": self.run_uid, "details": details}

    def history_row(self, *, source: str | None = None) -> dict[str, Any]:
        """Fields for a ``/parameters/history`` row: :meth:`record_meta` with ``details`` as
        JSON, the time and ``source`` (the process that wrote it; default: the node)."""
        from qplane.records import ParameterChange

        return ParameterChange(**self.record_meta()).row(
            time=self.time, source=self.node if source is None else source)

    @classmethod
    def from_history_row(cls, row: Any) -> "SettingChange":
        """Rebuild a change from a ``/parameters/history`` row (a numpy record or dict).

        Reads rows of every shape qplane wrote: with ``node`` and ``update`` fields, or (older
        files) with the node and update id (``run_uid``) inside the details, or only a source.
        """
        names = row.dtype.names if hasattr(row, "dtype") else tuple(row)
        details = json.loads(_text(row["details"]) or "{}")
        setting = _text(row["parameter"])
        qubit, _, control = setting.partition(".")
        node = _text(row["node"]) if "node" in names else ""
        update = _text(row["update"]) if "update" in names else ""
        fit = details.pop("fit", {})
        reverts = details.pop("revert_of", "") or details.pop("reverts", "")
        uid = details.pop("uid", "")
        node = node or details.pop("node", "") or _text(row["source"])
        update = update or details.pop("run_uid", "") or details.pop("update", "")
        for k in ("node", "run_uid", "update", "qubit", "control", "reverts"):
            details.pop(k, None)
        return cls(uid=uid, time=float(row["time"]), setting=setting, qubit=qubit,
                   control=control, old=float(row["old"]), new=float(row["new"]), node=node,
                   run_uid=update, fit=fit, reverts=reverts, details=details)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (what the instrument server returns for a write)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SettingChange":
        """The inverse of :meth:`to_dict`."""
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


class SettingsTarget(Protocol):
    """Where settings live: the device's logical controls (through the mapping layer).

    A target with a limits layer of its own (a station backend, whose control map holds the
    config's ``qplane.controls`` limits) also has ``check_write(setting, old, new, *, step)``,
    which raises :class:`~qplane.errors.LimitError` to refuse and returns the write to make.
    """

    def read_setting(self, setting: str) -> float:
        """The current value of ``setting`` ("<qubit>.<control>")."""

    def write_setting(self, setting: str, value: float,
                      details: dict[str, Any] | None = None) -> None:
        """Write ``setting``; raise :class:`~qplane.errors.LimitError` to refuse it."""


class Ledger(Protocol):
    """What calibration needs of a settings ledger: a :class:`SettingsLedger` in process, or
    the worker's proxy to the instrument server's ledger (``qplane.pipeline.calibration_link``)."""

    def apply(self, qubit: str, values: dict[str, float], *, node: str,
              fit: dict[str, Any] | None = None,
              details: dict[str, Any] | None = None) -> list[SettingChange]:
        """One atomic update of ``qubit``'s controls; raise LimitError if refused."""

    def revert(self, *, qubit: str, node: str) -> list[SettingChange]:
        """Undo the last unreverted update of ``node`` on ``qubit``."""

    def last_run(self, *, qubit: str, node: str) -> list[SettingChange]:
        """The changes of that update."""

    def changed_since(self, qubit: str, time: float) -> bool:
        """Whether a setting of ``qubit`` changed at or after ``time`` (the ledger's clock)."""


class DictTarget:
    """A :class:`SettingsTarget` over a plain dict (tests, offline reverts)."""

    def __init__(self, values: dict[str, float] | None = None):
        self.values: dict[str, float] = dict(values or {})

    def read_setting(self, setting: str) -> float:
        try:
            return self.values[setting]
        except KeyError:
            raise QplaneError(f"no setting {setting!r}; known: {sorted(self.values)}") from None

    def write_setting(self, setting: str, value: float,
                      details: dict[str, Any] | None = None) -> None:
        self.values[setting] = float(value)


class SettingsLedger:
    """Applies bounded, atomic updates to a :class:`SettingsTarget` and keeps their history.

    Args:
        target: where settings are read and written.
        limits: control name (``"pi_amplitude"``) -> its :class:`ControlLimits`, for a target
            without a limits layer of its own; controls without an entry are bounded only by
            the target. Refused (:class:`~qplane.errors.ConfigError`) for a target that has
            one (``check_write``): its limits are the only ones.
        clock: the time stamp of each update (default: UNIX time); pass a simulated clock's
            ``now`` to stamp changes in simulated time.
        on_change: called with each :class:`SettingChange` of a committed update.
        on_refused: called as ``on_refused(update=, node=, settings=, details=, error=)``
            for each refused update (nothing written).
    """

    def __init__(self, target: SettingsTarget, limits: Mapping[str, ControlLimits] | None = None,
                 *, clock: Callable[[], float] = _time.time,
                 on_change: Callable[[SettingChange], None] | None = None,
                 on_refused: Callable[..., None] | None = None):
        self._check_write = getattr(target, "check_write", None)
        if self._check_write is not None and limits:
            raise ConfigError(
                f"{type(target).__name__} checks its own limits (the station's qplane.controls "
                "section); give the ledger no limits of its own, set them in qplane.controls")
        self.target = target
        self.limits = dict(limits or {})
        self._clock = clock
        self._on_change = on_change
        self._on_refused = on_refused
        self._history: list[SettingChange] = []
        self.refused = 0

    @property
    def history(self) -> tuple[SettingChange, ...]:
        """Every committed change so far, oldest first (reverts included)."""
        return tuple(self._history)

    def check(self, qubit: str, control: str, new: float) -> None:
        """Raise :class:`LimitError` if setting ``control`` of ``qubit`` to ``new`` is refused."""
        setting = f"{qubit}.{control}"
        self._prepare(setting, float(self.target.read_setting(setting)), new, step=True)

    def _prepare(self, setting: str, old: float, new: float, *, step: bool,
                 details: dict[str, Any] | None = None) -> Callable[[], None]:
        """Check ``old -> new`` against the one limits layer; return the write to make.

        ``details`` (node, update id, fit) go to a plain target's ``write_setting``.
        """
        if self._check_write is not None:
            return self._check_write(setting, old, new, step=step)
        control = setting.partition(".")[2]
        check_limits(setting, new, self.limits.get(control), old=old if step else None)
        return functools.partial(self.target.write_setting, setting, float(new),
                                 details=details)

    def apply(self, qubit: str, values: dict[str, float], *, node: str,
              fit: dict[str, Any] | None = None,
              details: dict[str, Any] | None = None) -> list[SettingChange]:
        """Write ``values`` (control -> new value) for ``qubit`` as one atomic update.

        Returns:
            The recorded changes, one per control.

        Raises:
            LimitError: a value is refused (nothing was written).
        """
        return self.update({f"{qubit}.{c}": v for c, v in values.items()}, node=node,
                           fit=fit, details=details)

    def update(self, settings: Mapping[str, float], *, node: str = "",
               fit: dict[str, Any] | None = None, details: dict[str, Any] | None = None,
               reverts: str = "", step: bool = True) -> list[SettingChange]:
        """Write ``settings`` (``"<qubit>.<control>"`` -> value) all or nothing (see module).

        ``step=False`` skips the maximum step (a revert returns to values the device ran with).

        Raises:
            LimitError: a value is refused, or a write failed part-way and was rolled back;
                nothing was written.
        """
        update = uuid.uuid4().hex
        wanted = {str(s): float(v) for s, v in settings.items()}
        details = dict(details or {})
        try:
            olds = {s: float(self.target.read_setting(s)) for s in wanted}
            told = {"node": node, "run_uid": update, "fit": dict(fit or {}), **details}
            writes = {s: self._prepare(s, olds[s], v, step=step, details=told)
                      for s, v in wanted.items()}
        except (QplaneError, KeyError, TypeError, ValueError) as e:
            self._refuse(update, node, wanted, details, e)
            raise
        written: list[str] = []
        news: dict[str, float] = {}
        try:
            for s, write in writes.items():
                write()
                written.append(s)
                news[s] = float(self.target.read_setting(s))  # read back
        except Exception as e:
            self._roll_back(olds, written, update)
            self._refuse(update, node, wanted, details, e)
            if isinstance(e, QplaneError):
                raise
            raise LimitError(f"update {update[:8]} of {sorted(wanted)} failed part-way "
                             f"({type(e).__name__}: {e}); rolled back, nothing written") from e
        t = float(self._clock())
        changes = []
        for s in wanted:
            qubit, _, control = s.partition(".")
            changes.append(SettingChange(
                uid=uuid.uuid4().hex, time=t, setting=s, qubit=qubit, control=control,
                old=olds[s], new=news[s], node=node, run_uid=update, fit=dict(fit or {}),
                reverts=reverts, details=dict(details)))
        self._history.extend(changes)
        if self._on_change is not None:
            for c in changes:
                self._on_change(c)
        return changes

    def _roll_back(self, olds: Mapping[str, float], written: list[str], update: str) -> None:
        errors = []
        for s in reversed(written):
            try:
                self.target.write_setting(s, olds[s], details={"rollback": update})
            except Exception as e:  # noqa: BLE001 - every setting gets its try
                errors.append(f"{s}: {type(e).__name__}: {e}")
        if errors:
            raise LimitError(f"update {update[:8]} failed part-way and could not be rolled back "
                             f"fully: {'; '.join(errors)}; check these settings by hand")

    def _refuse(self, update: str, node: str, settings: dict[str, float],
                details: dict[str, Any], error: Exception) -> None:
        self.refused += 1
        if self._on_refused is not None:
            self._on_refused(update=update, node=node, settings=settings, details=details,
                             error=error)

    def last_run(self, *, qubit: str, node: str) -> list[SettingChange]:
        """The changes of the most recent, not yet reverted update of ``node`` on ``qubit``."""
        return last_run(self._history, qubit=qubit, node=node)

    def changed_since(self, qubit: str, time: float) -> bool:
        """Whether a setting of ``qubit`` changed at or after ``time`` (the ledger's clock)."""
        return any(c.qubit == qubit and c.time >= time for c in self._history)

    def revert(self, *, qubit: str, node: str,
               details: dict[str, Any] | None = None) -> list[SettingChange]:
        """Restore the exact values the most recent update of ``node`` on ``qubit`` replaced.

        Limits are checked (a revert never leaves the configured range) but not the maximum
        step: going back to a value the device already ran with is always allowed.

        Raises:
            QplaneError: if that node has made no (unreverted) change on that qubit.
        """
        run = self.last_run(qubit=qubit, node=node)
        if not run:
            raise QplaneError(f"no change by node {node!r} on qubit {qubit!r} to revert")
        return self.update({c.setting: c.old for c in run}, node="revert", details=details,
                           reverts=run[0].run_uid, step=False)


def last_run(history: Iterable[SettingChange], *, qubit: str, node: str) -> list[SettingChange]:
    """The changes of the most recent unreverted update of ``node`` on ``qubit`` in ``history``."""
    history = list(history)
    reverted = {c.reverts for c in history if c.reverts}
    for change in reversed(history):
        if change.node == node and change.qubit == qubit and change.run_uid not in reverted:
            return [c for c in history if c.run_uid == change.run_uid]
    return []
