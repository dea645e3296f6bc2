"""The lab's calibration state across runs: each setting's current value with its provenance.

A state file is JSON (``qplane-calibration-state``, version 1)::

    {"format": "qplane-calibration-state", "version": 1, "updated": 1764597600.0,
     "settings": {"q0.drive_frequency": {
         "value": 5.0012e9, "run_id": "r1", "node": "ramsey", "update": "ab12…",
         "time": 1764597600.0, "valid_until": 1764598200.0, "fit": {...},
         "previous": [{...the entry it replaced...}]}}}

``value`` is the setting's calibrated value, ``run_id`` the run that wrote it, ``node`` and
``update`` the node and the atomic update (``/parameters/history`` ``update``), ``fit`` the
fit that justified it (its values and uncertainties), ``valid_until`` when the node's validity
timeout expires (``time`` + timeout; ``null`` when unknown). ``previous`` keeps the entries it
replaced, newest last, so a run's changes can be reverted across runs. The file is written
atomically (a temporary file, then a rename).

:func:`update_from_run` folds a run file's real changes into a state; :func:`diff` compares two
states; :func:`revert_run` undoes everything one run wrote.

A run starts from a state (``qplane.calibration.state`` in the config): :func:`apply_state`
writes its values to the station's controls (each checked against the one limits layer, its
range and the instruments' validators; not ``max_step``, since the device ran with these values
before; a value a limit refuses is skipped and reported, the station keeps its own); an entry
past its ``valid_until`` is *expired*: by default still applied (it is the lab's best
knowledge) but not trusted — :func:`mark_validity` leaves its node unverified so the graph
checks it first — or, with ``expired: skip``, not applied at all. A valid entry's node is
verified until its ``valid_until``, so a run does not re-check what the last one just
calibrated. At the end the run's real changes are folded back in (:func:`update_from_run`).

>>> s = CalibrationState()
>>> s.record("q0.drive_frequency", 5.0e9, run_id="r1", node="ramsey", time=10.0, timeout=600)
>>> s.record("q0.drive_frequency", 5.1e9, run_id="r2", node="ramsey", time=20.0)
>>> s.value("q0.drive_frequency"), s.settings["q0.drive_frequency"]["valid_until"]
(5100000000.0, None)
>>> revert_run(s, "r2"), s.value("q0.drive_frequency")
(['q0.drive_frequency'], 5000000000.0)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from typing import Any, Iterable, Mapping

from qplane.errors import QplaneError

FORMAT = "qplane-calibration-state"
VERSION = 1


@dataclasses.dataclass
class CalibrationState:
    """Setting -> its current entry (see the module docstring for the fields)."""

    settings: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    updated: float | None = None

    def value(self, setting: str) -> float:
        """The current value of ``setting``.

        Raises:
            QplaneError: the state has no such setting.
        """
        try:
            return float(self.settings[setting]["value"])
        except KeyError:
            raise QplaneError(f"the calibration state has no setting {setting!r}; it has "
                              f"{len(self.settings)} (`qplane calibration state FILE` lists "
                              "them)") from None

    def values(self) -> dict[str, float]:
        """Every setting's current value (what a run starts from)."""
        return {k: float(v["value"]) for k, v in self.settings.items()}

    def record(self, setting: str, value: float, *, run_id: str, node: str = "",
               update: str = "", time: float | None = None, timeout: float | None = None,
               fit: Mapping[str, Any] | None = None) -> None:
        """Make ``value`` the setting's current value, keeping the entry it replaces."""
        old = self.settings.get(setting)
        previous = list(old.get("previous", [])) if old else []
        if old:
            previous.append({k: v for k, v in old.items() if k != "previous"})
        valid = None if time is None or timeout is None else float(time) + float(timeout)
        self.settings[setting] = {"value": float(value), "run_id": run_id, "node": node,
                                  "update": update, "time": time, "valid_until": valid,
                                  "fit": dict(fit or {}), "previous": previous}
        if time is not None:
            self.updated = max(self.updated or -math.inf, float(time))

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "updated": self.updated,
                "settings": self.settings}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CalibrationState":
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise QplaneError(f"not a calibration state file (format {data.get('format')!r}, "
                              f"version {data.get('version')!r}; expected {FORMAT!r} version "
                              f"{VERSION}); write one with `qplane calibration state FILE "
                              "--from-run RUN.h5`")
        return cls(settings={k: dict(v) for k, v in data.get("settings", {}).items()},
                   updated=data.get("updated"))


def load_state(path: str | os.PathLike) -> CalibrationState:
    """Read a state file; a missing file is an empty state (a lab's first run).

    Raises:
        QplaneError: the file is not a calibration state (or not JSON).
    """
    if not os.path.exists(path):
        return CalibrationState()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise QplaneError(f"cannot read calibration state {os.fspath(path)!r}: {e}") from e
    return CalibrationState.from_dict(data)


def save_state(state: CalibrationState, path: str | os.PathLike) -> str:
    """Write ``state`` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".state-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state.to_dict(), f, indent=1, sort_keys=True, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def update_from_run(state: CalibrationState, runfile: str, *,
                    timeouts: Mapping[str, float] | None = None) -> list[str]:
    """Fold the real setting changes of ``runfile`` into ``state``, oldest first.

    ``timeouts`` (node -> validity timeout, s) sets each entry's ``valid_until``. Returns the
    settings changed.
    """
    from qplane.calibration.history import read_history
    from qplane.runfile import open_run

    with open_run(runfile) as run:
        run_id = str(run.run_id)
    changed = []
    for c in read_history(runfile):
        timeout = (timeouts or {}).get(c.node)
        state.record(c.setting, c.new, run_id=run_id, node=c.node, update=c.run_uid,
                     time=c.time, timeout=timeout, fit=_small_fit(c.fit))
        changed.append(c.setting)
    return list(dict.fromkeys(changed))


def _small_fit(fit: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("params", "errors", "values", "chi2_reduced", "model", "from_check")
    return {k: fit[k] for k in keep if k in fit}


def diff(a: CalibrationState, b: CalibrationState) -> list[tuple[str, float | None, float | None]]:
    """``(setting, value in a, value in b)`` for every setting whose value differs.

    >>> a, b = CalibrationState(), CalibrationState()
    >>> a.record("q0.pi_amplitude", 0.3, run_id="r1")
    >>> b.record("q0.pi_amplitude", 0.31, run_id="r2")
    >>> b.record("q1.pi_amplitude", 0.4, run_id="r2")
    >>> diff(a, b)
    [('q0.pi_amplitude', 0.3, 0.31), ('q1.pi_amplitude', None, 0.4)]
    """
    va, vb = a.values(), b.values()
    return [(k, va.get(k), vb.get(k)) for k in sorted(set(va) | set(vb))
            if va.get(k) != vb.get(k)]


def revert_run(state: CalibrationState, run_id: str) -> list[str]:
    """Undo every current entry that run ``run_id`` wrote: each gets back what it replaced.

    A setting the run wrote first (nothing before it) is removed. Returns the settings reverted.

    Raises:
        QplaneError: no current entry was written by ``run_id``.
    """
    reverted = []
    for setting, entry in list(state.settings.items()):
        if entry.get("run_id") != run_id:
            continue
        previous = list(entry.get("previous", []))
        # Drop this run's own earlier entries too: the run is undone as a whole.
        while previous and previous[-1].get("run_id") == run_id:
            previous.pop()
        if previous:
            restored = dict(previous.pop())
            restored["previous"] = previous
            state.settings[setting] = restored
        else:
            del state.settings[setting]
        reverted.append(setting)
    if not reverted:
        runs = sorted({e.get("run_id", "") for e in state.settings.values()})
        raise QplaneError(f"no current setting was written by run {run_id!r}; the state's "
                          f"values come from runs {runs}")
    return reverted


#: What a run does with an expired entry: ``check`` (apply it, check its node first) or ``skip``
#: (keep the station's own value).
EXPIRED_POLICIES = ("check", "skip")


@dataclasses.dataclass
class StateStart:
    """What :func:`apply_state` did: settings applied, expired, refused by a limit, unknown."""

    applied: dict[str, float] = dataclasses.field(default_factory=dict)
    expired: list[str] = dataclasses.field(default_factory=list)
    refused: dict[str, str] = dataclasses.field(default_factory=dict)
    unknown: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        """One line for people.

        >>> StateStart({"q0.pi_amplitude": 0.3}, ["q0.pi_amplitude"]).summary()
        '1 setting applied from the calibration state (1 expired: checked first)'
        """
        n = len(self.applied)
        text = f"{n} setting{'s' if n != 1 else ''} applied from the calibration state"
        notes = []
        if self.expired:
            applied_expired = sum(1 for k in self.expired if k in self.applied)
            notes.append(f"{len(self.expired)} expired: " + (
                "checked first" if applied_expired else "skipped"))
        if self.refused:
            notes.append(f"{len(self.refused)} refused by limits: "
                         + "; ".join(f"{k}: {v}" for k, v in sorted(self.refused.items())[:3]))
        if self.unknown:
            notes.append(f"{len(self.unknown)} not on this station")
        return text + (f" ({', '.join(notes)})" if notes else "")


def is_expired(entry: Mapping[str, Any], now: float) -> bool:
    """Whether a state entry is past its ``valid_until`` (an entry without one never expires:
    its validity is unknown, and :func:`mark_validity` does not trust it either).

    >>> is_expired({"valid_until": 10.0}, 11.0), is_expired({"valid_until": None}, 11.0)
    (True, False)
    """
    until = entry.get("valid_until")
    return until is not None and float(until) <= now


def apply_state(state: CalibrationState, controls: Any, qubits: Iterable[str], *, now: float,
                expired: str = "check") -> StateStart:
    """Write the state's values for ``qubits`` through ``controls`` (a station's control map).

    Each value is checked against the control map's limits and validators (not its maximum
    step) and set on its own: one a limit refuses is left out (``refused``, with the reason)
    and the others are still applied. Settings of qubits not in ``qubits`` or of controls the
    map does not bind are ``unknown``.

    Args:
        now: the time validity is judged at (UNIX seconds, as the state's times).
        expired: ``"check"`` applies expired entries (their nodes are checked first),
            ``"skip"`` leaves them out.

    Raises:
        ConfigError: ``expired`` is not one of :data:`EXPIRED_POLICIES`.
    """
    from qplane.calibration.backend import split_setting
    from qplane.errors import ConfigError, LimitError

    if expired not in EXPIRED_POLICIES:
        raise ConfigError(f"must be one of {', '.join(EXPIRED_POLICIES)}, got {expired!r}",
                          key="qplane.calibration.state_expired")
    names = set(qubits)
    out = StateStart()
    for setting, entry in sorted(state.settings.items()):
        try:
            qubit, control = split_setting(setting)
        except ConfigError:
            out.unknown.append(setting)
            continue
        if qubit not in names:
            out.unknown.append(setting)
            continue
        if is_expired(entry, now):
            out.expired.append(setting)
            if expired == "skip":
                continue
        try:
            param, raw = controls.check(control, qubit, float(entry["value"]), step=False)
        except LimitError as e:
            out.refused[setting] = str(e)
            continue
        except (ConfigError, KeyError) as e:   # the map does not bind this control
            del e
            out.unknown.append(setting)
            continue
        param.set(raw)
        out.applied[setting] = float(entry["value"])
    return out


def mark_validity(graph: Any, state: CalibrationState, qubits: Iterable[str], *, now: float,
                  read_setting: Any) -> dict[tuple[str, str], str]:
    """Give each node of ``graph`` the validity the state's entries carry.

    The state speaks for a node on a qubit when one of the node's settings (its ``controls``)
    was last written by that node. Such a node is *verified* when every one of its settings
    has an entry that is not expired, has a ``valid_until``, and is what the device holds now
    (``read_setting("<qubit>.<control>")``: the value was applied); it then stays valid until
    the earliest of those ``valid_until``. Otherwise it is *unverified*: the graph checks it
    first. Nodes the state does not speak for keep their verification, but a verification the
    graph was given at the start (``mark_calibrated``) no longer counts as a recalibration
    after the state's entries (it would make every node that depends on it look stale).

    Args:
        graph: a :class:`~qplane.calibration.graph.CalibrationGraph`.
        now: the state's clock now (UNIX seconds); the graph's clock is ``graph.backend.now()``.

    Returns:
        ``(node, qubit) -> "valid" | "check"`` for the nodes the state spoke for.
    """
    device_now = graph.backend.now()
    marks: dict[tuple[str, str], str] = {}
    for q in qubits:
        for name in graph.nodes:
            controls = tuple(getattr(graph.node(name), "controls", ()))
            entries = [state.settings.get(f"{q}.{c}") for c in controls]
            st = graph.state(name, q)
            if not any(e is not None and e.get("node") == name for e in entries):
                st.calibrated_at = min(st.calibrated_at, -math.inf)
                continue
            ok = all(e is not None and e.get("valid_until") is not None
                     and not is_expired(e, now)
                     and _same(read_setting(f"{q}.{c}"), e["value"])
                     for c, e in zip(controls, entries))
            if ok:
                remaining = min(float(e["valid_until"]) for e in entries) - now
                st.calibrated_at = st.verified_at = \
                    device_now + remaining - graph.timeout(name, q)
                st.failed = False
                marks[(name, q)] = "valid"
            else:
                st.calibrated_at, st.verified_at = -math.inf, -math.inf
                marks[(name, q)] = "check"
    return marks


def _same(a: float, b: float) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
