"""Bounded, recorded and revertible setting updates.

Every change a calibration node makes goes through :class:`SettingsLedger`:

- it is *bounded*: refused (:class:`~qplane.errors.LimitError`, nothing written) when the new
  value lies outside the configured limits of that control, when it moves further than the
  control's maximum step from the current value, or when the device (its instrument validators,
  through :meth:`SettingsTarget.write_setting`) refuses it;
- it is *recorded*: a :class:`SettingChange` with old and new value, the node, the qubit, the
  fit that justified it and a uid;
- it is *revertible*: :meth:`SettingsLedger.revert` restores, per qubit and per node, the
  exact values the most recent run of that node replaced, and records that as changes too.

Settings are named ``"<qubit>.<control>"``, for example ``"q3.drive_frequency"``.

>>> target = DictTarget({"q0.pi_amplitude": 0.40})
>>> ledger = SettingsLedger(target, {"pi_amplitude": ControlLimits(0.0, 1.0, max_step=0.05)})
>>> ledger.apply("q0", {"pi_amplitude": 0.42}, node="rabi", fit={"chi2_red": 1.0})[0].old
0.4
>>> ledger.apply("q0", {"pi_amplitude": 0.9}, node="rabi")
Traceback (most recent call last):
    ...
qplane.errors.LimitError: q0.pi_amplitude: step 0.48 from 0.42 to 0.9 exceeds the maximum step 0.05 per update; nothing was written
>>> _ = ledger.revert(qubit="q0", node="rabi")
>>> target.read_setting("q0.pi_amplitude")
0.4
"""

from __future__ import annotations

import dataclasses
import json
import math
import time as _time
import uuid
from typing import Any, Callable, Iterable, Protocol

from qplane.errors import LimitError, QplaneError


@dataclasses.dataclass(frozen=True)
class ControlLimits:
    """qplane's configured limits for one logical control (applied to every qubit).

    Attributes:
        low, high: the allowed range, inclusive.
        max_step: the largest change one update may make (absolute, in the control's unit).
        unit: for messages.
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


@dataclasses.dataclass(frozen=True)
class SettingChange:
    """One recorded change of one setting.

    Attributes:
        uid: unique id of this change.
        time: when it was written (simulated or UNIX seconds, as the ledger's clock says).
        setting: ``"<qubit>.<control>"``.
        qubit, control: the two halves of ``setting``.
        old, new: the value before and after.
        node: the calibration node that made it (``"revert"`` for reverts).
        run_uid: id of the node run (all changes of one run share it; reverts go by it).
        fit: the fit result (JSON-ready dict) that justified the change.
        reverts: the ``run_uid`` this change undoes, or ``""``.
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

    def history_row(self) -> dict[str, Any]:
        """Fields for a ``/parameters/history`` row of the run file."""
        return {"time": self.time, "parameter": self.setting, "old": self.old, "new": self.new,
                "source": self.node,
                "details": json.dumps({"uid": self.uid, "node": self.node,
                                       "run_uid": self.run_uid, "qubit": self.qubit,
                                       "control": self.control, "fit": self.fit,
                                       "reverts": self.reverts}, default=str)}

    @classmethod
    def from_history_row(cls, row: Any) -> "SettingChange":
        """Rebuild a change from a ``/parameters/history`` row (a numpy record or dict).

        The node comes from the details when present: in the pipeline the row's ``source`` is
        the instrument server, which wrote the setting on the calibration worker's request.
        """
        def text(v: Any) -> str:
            return v.decode() if isinstance(v, bytes) else str(v)
        details = json.loads(text(row["details"]) or "{}")
        setting = text(row["parameter"])
        qubit, _, control = setting.partition(".")
        return cls(uid=details.get("uid", ""), time=float(row["time"]), setting=setting,
                   qubit=details.get("qubit", qubit), control=details.get("control", control),
                   old=float(row["old"]), new=float(row["new"]),
                   node=details.get("node", text(row["source"])),
                   run_uid=details.get("run_uid", ""), fit=details.get("fit", {}),
                   reverts=details.get("reverts", ""))


class SettingsTarget(Protocol):
    """Where settings live: the device's logical controls (through the mapping layer)."""

    def read_setting(self, setting: str) -> float:
        """The current value of ``setting`` ("<qubit>.<control>")."""

    def write_setting(self, setting: str, value: float,
                      details: dict[str, Any] | None = None) -> None:
        """Write ``setting``; raise :class:`~qplane.errors.LimitError` to refuse it.

        ``details`` (node, run uid, fit, the change's uid) is for a target that records the
        change itself, as the instrument server does.
        """


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


def check_limits(setting: str, old: float, new: float, limits: ControlLimits | None, *,
                 check_step: bool = True) -> None:
    """Raise :class:`LimitError` if ``old -> new`` breaks ``limits``.

    >>> check_limits("q0.x", 1.0, 2.5, ControlLimits(0, 2))
    Traceback (most recent call last):
        ...
    qplane.errors.LimitError: q0.x: 2.5 is outside the configured limits [0, 2]; nothing was written
    """
    if not math.isfinite(new):
        raise LimitError(f"{setting}: refusing non-finite value {new}; nothing was written")
    if limits is None:
        return
    if not limits.low <= new <= limits.high:
        raise LimitError(f"{setting}: {new:.10g}{limits.unit} is outside the configured limits "
                         f"[{limits.low:.10g}, {limits.high:.10g}]; nothing was written")
    if check_step and abs(new - old) > limits.max_step:
        raise LimitError(f"{setting}: step {abs(new - old):.3g} from {old:.10g} to {new:.10g} "
                         f"exceeds the maximum step {limits.max_step:.3g} per update; "
                         "nothing was written")


class SettingsLedger:
    """Applies bounded updates to a :class:`SettingsTarget` and keeps their history.

    Args:
        target: where settings are read and written.
        limits: control name (``"pi_amplitude"``) -> its limits; controls without an entry are
            bounded only by the target's own validators.
        clock: the time stamp of each change (default: UNIX time); pass a simulated clock's
            ``now`` to stamp changes in simulated time.
        on_change: called with each :class:`SettingChange` after it is written (for the run file).
    """

    def __init__(self, target: SettingsTarget, limits: dict[str, ControlLimits] | None = None, *,
                 clock: Callable[[], float] = _time.time,
                 on_change: Callable[[SettingChange], None] | None = None):
        self.target = target
        self.limits = dict(limits or {})
        self._clock = clock
        self._on_change = on_change
        self._history: list[SettingChange] = []

    @property
    def history(self) -> tuple[SettingChange, ...]:
        """Every change so far, oldest first (reverts included)."""
        return tuple(self._history)

    def check(self, qubit: str, control: str, new: float) -> None:
        """Raise :class:`LimitError` if setting ``control`` of ``qubit`` to ``new`` is refused."""
        setting = f"{qubit}.{control}"
        check_limits(setting, self.target.read_setting(setting), new, self.limits.get(control))

    def apply(self, qubit: str, values: dict[str, float], *, node: str,
              fit: dict[str, Any] | None = None) -> list[SettingChange]:
        """Write ``values`` (control -> new value) for ``qubit``, all or nothing.

        Every value is checked against the limits first; if any is refused nothing is written.
        If the target refuses one part-way, those already written are restored.

        Returns:
            The recorded changes, one per control.
        """
        olds = {c: self.target.read_setting(f"{qubit}.{c}") for c in values}
        for control, new in values.items():
            check_limits(f"{qubit}.{control}", olds[control], float(new), self.limits.get(control))
        return self._write(qubit, {c: (olds[c], float(v)) for c, v in values.items()},
                           node=node, fit=fit or {}, reverts="")

    def _write(self, qubit: str, changes: dict[str, tuple[float, float]], *, node: str,
               fit: dict[str, Any], reverts: str) -> list[SettingChange]:
        run_uid = uuid.uuid4().hex
        written: list[tuple[str, float]] = []
        records = []
        try:
            for control, (old, new) in changes.items():
                setting = f"{qubit}.{control}"
                change = SettingChange(
                    uid=uuid.uuid4().hex, time=float(self._clock()), setting=setting,
                    qubit=qubit, control=control, old=old, new=new, node=node, run_uid=run_uid,
                    fit=fit, reverts=reverts)
                self.target.write_setting(setting, new,
                                          details=json.loads(change.history_row()["details"]))
                written.append((setting, old))
                records.append(change)
        except LimitError:
            for setting, old in reversed(written):
                self.target.write_setting(setting, old, details={"node": node,
                                                                 "rollback": run_uid})
            raise
        self._history.extend(records)
        if self._on_change is not None:
            for r in records:
                self._on_change(r)
        return records

    def last_run(self, *, qubit: str, node: str) -> list[SettingChange]:
        """The changes of the most recent, not yet reverted run of ``node`` on ``qubit``."""
        return last_run(self._history, qubit=qubit, node=node)

    def revert(self, *, qubit: str, node: str) -> list[SettingChange]:
        """Restore the exact values the most recent run of ``node`` on ``qubit`` replaced.

        Limits are checked (a revert never leaves the configured range) but not the maximum
        step: going back to a value the device already ran with is always allowed.

        Raises:
            QplaneError: if that node has made no (unreverted) change on that qubit.
        """
        run = self.last_run(qubit=qubit, node=node)
        if not run:
            raise QplaneError(f"no change by node {node!r} on qubit {qubit!r} to revert")
        changes = {}
        for c in run:
            current = self.target.read_setting(c.setting)
            check_limits(c.setting, current, c.old, self.limits.get(c.control), check_step=False)
            changes[c.control] = (current, c.old)
        return self._write(qubit, changes, node="revert", fit={}, reverts=run[0].run_uid)


def last_run(history: Iterable[SettingChange], *, qubit: str, node: str) -> list[SettingChange]:
    """The changes of the most recent unreverted run of ``node`` on ``qubit`` in ``history``."""
    history = list(history)
    reverted = {c.reverts for c in history if c.reverts}
    for change in reversed(history):
        if change.node == node and change.qubit == qubit and change.run_uid not in reverted:
            return [c for c in history if c.run_uid == change.run_uid]
    return []


#: qplane's default limits of the logical controls (a config can replace them).
DEFAULT_LIMITS: dict[str, ControlLimits] = {
    "drive_frequency": ControlLimits(1.0e9, 20.0e9, max_step=1.0e6, unit=" Hz"),
    "pi_amplitude": ControlLimits(0.01, 1.0, max_step=0.05, unit=" V"),
    "readout_angle": ControlLimits(-2 * math.pi, 2 * math.pi, max_step=math.pi, unit=" rad"),
    "readout_threshold": ControlLimits(-10.0, 10.0, max_step=1.0, unit=" V"),
}
