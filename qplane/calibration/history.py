"""A run file's calibration record read back: the setting-change history, reverts, figures.

``qplane calibration history|revert|figures RUNFILE`` is built on these. Reverting restores, for
one qubit and one node, the exact values that node's most recent (unreverted) update replaced:
:func:`revert_plan` finds them in the history, :func:`apply_revert` writes them through a
station's control map (its limits and the instruments' validators, never the maximum step: a
revert returns to values the device already ran with).

>>> from qplane.calibration.updates import SettingChange
>>> change = SettingChange(uid="c1", time=1.0, setting="q0.drive_frequency", qubit="q0",
...                        control="drive_frequency", old=5.0e9, new=5.001e9, node="ramsey",
...                        run_uid="u1")
>>> revert_plan([change], qubit="q0", node="ramsey")
{'q0.drive_frequency': 5000000000.0}
"""

from __future__ import annotations

import os
from typing import Any

from qplane.calibration.backend import split_setting
from qplane.calibration.updates import SettingChange, last_run
from qplane.errors import QplaneError, RunFileError

#: The ``source`` of the simulated truth rows that files written before ``/simulation/truth``
#: kept in ``/parameters/history``; they are not changes and are skipped.
TRUTH_SOURCE = "truth"


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def read_history(path: str) -> list[SettingChange]:
    """Every real setting change recorded in a run file, oldest first.

    Only change rows: simulated truth is in ``/simulation/truth`` (older files kept it in the
    history with source ``truth``; those rows are skipped).

    Raises:
        RunFileError: the file or its ``/parameters/history`` cannot be read.
    """
    rows = _table(path, "/parameters/history")
    return [SettingChange.from_history_row(r) for r in rows
            if _text(r["source"]) != TRUTH_SOURCE]


def read_truth(path: str) -> list[tuple[float, float, str, float]]:
    """A simulated lab's true ideal settings over time: ``(time, device_time, setting, value)``.

    From ``/simulation/truth`` (empty for a real device's run file).

    Raises:
        RunFileError: the file cannot be read.
    """
    try:
        rows = _table(path, "/simulation/truth")
    except RunFileError:
        return []
    return [(float(r["time"]), float(r["device_time"]), _text(r["setting"]), float(r["value"]))
            for r in rows]


def human_time(t: float, start: float | None = None) -> str:
    """A time for people: UTC date and time for UNIX times, plus the offset from ``start``.

    >>> human_time(1764597600.0, 1764597000.0)
    '2025-12-01 14:00:00 UTC  +10:00.0'
    >>> human_time(75.5)
    '+01:15.5'
    """
    import datetime

    if t < 1e8:  # a device clock (simulated seconds), not a UNIX time
        return _offset(t)
    stamp = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    text = stamp.strftime("%Y-%m-%d %H:%M:%S UTC")
    return text if start is None else f"{text}  +{_offset(t - start)[1:]}"


def _offset(seconds: float) -> str:
    seconds = max(float(seconds), 0.0)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"+{int(h)}:{int(m):02d}:{s:04.1f}" if h else f"+{int(m):02d}:{s:04.1f}"


def revert_plan(history: list[SettingChange], *, qubit: str, node: str) -> dict[str, float]:
    """Setting -> the value to restore, for the last unreverted run of ``node`` on ``qubit``.

    Raises:
        QplaneError: ``history`` has no unreverted change by ``node`` on ``qubit``.
    """
    run = last_run(history, qubit=qubit, node=node)
    if not run:
        raise QplaneError(f"no unreverted change by node {node!r} on qubit {qubit!r} in the "
                          "run file; `qplane calibration history` lists what there is")
    return {c.setting: c.old for c in run}


def apply_revert(plan: dict[str, float], controls: Any,
                 written: list[str] | None = None) -> list[str]:
    """Write a :func:`revert_plan` through ``controls`` (a station's control map): all or nothing.

    Every value is checked against the control map's limits (not the maximum step: a revert
    goes back, however far) before any is set; if a set still fails, the settings already
    written get their old values back. ``written`` (a list, if given) holds the settings that
    stay written.

    Returns:
        The settings written (``written`` itself when given).

    Raises:
        LimitError: a value breaks a limit of the control map; nothing was written.
    """
    written = [] if written is None else written
    checked = []
    for setting, value in plan.items():
        qubit, control = split_setting(setting)
        param, raw = controls.check(control, qubit, value, step=False)
        checked.append((setting, qubit, control, param, raw))
    done: list[tuple[str, Any, Any]] = []
    try:
        for setting, qubit, control, param, raw in checked:
            old = param.cache.get()
            param.set(raw)
            done.append((setting, param, old))
    except Exception:
        for _setting, param, old in reversed(done):
            param.set(old)
        raise
    written.extend(setting for setting, _, _ in done)
    return written


def write_figures(path: str, out: str, *, qubit: str | None = None,
                  node: str | None = None) -> list[str]:
    """Write the figure of every ``/calibration/runs`` row of a run file as a PNG in ``out``.

    Rows without a figure are skipped; ``qubit`` and ``node`` select rows. Returns the files
    written, named ``<row>_<node>_<qubit>_<outcome>.png``.

    Raises:
        RunFileError: the file or its ``/calibration/runs`` cannot be read.
    """
    rows = _table(path, "/calibration/runs")
    os.makedirs(out, exist_ok=True)
    written = []
    for i, r in enumerate(rows):
        if (qubit and _text(r["qubit"]) != qubit) or (node and _text(r["node"]) != node):
            continue
        png = bytes(r["figure_png"])
        if not png:
            continue
        name = os.path.join(out, f"{i:05d}_{_text(r['node'])}_{_text(r['qubit'])}_"
                                 f"{_text(r['outcome'])}.png")
        with open(name, "wb") as fh:
            fh.write(png)
        written.append(name)
    return written


def _table(path: str, name: str) -> Any:
    """Every row of table ``name`` of a run file of any schema version (through its converter)."""
    from qplane.runfile import open_run

    try:
        with open_run(path) as run:
            return run.table(name)
    except (OSError, KeyError) as e:
        raise RunFileError(f"cannot read {name} from {path}: {e}") from e
