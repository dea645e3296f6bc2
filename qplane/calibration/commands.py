"""``qplane calibration history|revert RUNFILE`` and ``qplane bench calibration``.

Reverting reads a run file's ``/parameters/history`` and restores, for one qubit and one node,
the exact values that node's most recent (unreverted) update replaced::

    qplane calibration history runs/run.h5 --qubit q6
    qplane calibration revert runs/run.h5 --qubit q6 --node ramsey            # show what it restores
    qplane calibration revert runs/run.h5 --qubit q6 --node ramsey \\
        --apply config/sim_d5_drift.yaml --simulate                           # write it, with limits

With ``--apply`` the config's station is opened and the values are written through its
control map (qplane's limits and the instruments' validators; never the maximum step, since a
revert returns to values the device already ran with). ``--out`` writes the revert as JSON.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from qplane.calibration.updates import SettingChange, last_run
from qplane.errors import QplaneError, RunFileError


def register(subparsers: Any) -> None:
    cal = subparsers.add_parser("calibration", help="calibration history and reverts",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = cal.add_subparsers(dest="calibration_command", metavar="ACTION", required=True)
    hist = sub.add_parser("history", help="list the setting changes recorded in a run file")
    hist.add_argument("runfile")
    hist.add_argument("--qubit")
    hist.add_argument("--node")
    hist.set_defaults(func=_history)
    rev = sub.add_parser("revert", help="restore the values a node's last update replaced")
    rev.add_argument("runfile")
    rev.add_argument("--qubit", required=True)
    rev.add_argument("--node", required=True)
    rev.add_argument("--apply", metavar="CONFIG", help="write the values to this config's station")
    rev.add_argument("--simulate", action="store_true",
                     help="with --apply: open the instruments on their pyvisa-sim twins")
    rev.add_argument("--out", help="write the revert (setting -> value) as JSON here")
    rev.set_defaults(func=_revert)


def register_bench(benches: Any) -> None:
    from qplane.calibration import bench

    p = benches.add_parser("calibration", help="learned second opinion vs the fit gate alone",
                           description=bench.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(p)
    p.set_defaults(func=bench.main)


def read_history(path: str) -> list[SettingChange]:
    """Every setting change recorded in a run file, oldest first."""
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            rows = f["parameters/history"][()]
    except (OSError, KeyError) as e:
        raise RunFileError(f"cannot read /parameters/history from {path}: {e}") from e
    return [SettingChange.from_history_row(r) for r in rows]


def revert_plan(history: list[SettingChange], *, qubit: str, node: str) -> dict[str, float]:
    """Setting -> the value to restore, for the last unreverted run of ``node`` on ``qubit``."""
    run = last_run(history, qubit=qubit, node=node)
    if not run:
        raise QplaneError(f"no unreverted change by node {node!r} on qubit {qubit!r} in the "
                          "run file; `qplane calibration history` lists what there is")
    return {c.setting: c.old for c in run}


def _history(args: argparse.Namespace) -> int:
    for c in read_history(args.runfile):
        if (args.qubit and c.qubit != args.qubit) or (args.node and c.node != args.node):
            continue
        extra = f" (reverts {c.reverts[:8]})" if c.reverts else ""
        print(f"{c.time:12.3f}  {c.node:<12} {c.setting:<24} {c.old:.10g} -> {c.new:.10g}"
              f"  run {c.run_uid[:8]}{extra}")
    return 0


def _revert(args: argparse.Namespace) -> int:
    plan = revert_plan(read_history(args.runfile), qubit=args.qubit, node=args.node)
    for setting, value in plan.items():
        print(f"{setting} <- {value:.12g}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(plan, f, indent=2)
    if args.apply:
        import yaml

        from qplane.calibration.backend import split_setting
        from qplane.drivers import open_station

        with open(args.apply) as f:
            config = yaml.safe_load(f)
        with open_station(config, simulate=args.simulate) as lab:
            written = []
            try:
                for setting, value in plan.items():
                    qubit, control = split_setting(setting)
                    param, raw = lab.controls.check(control, qubit, value, step=False)
                    param.set(raw)
                    written.append(setting)
            finally:
                print(f"wrote {len(written)} of {len(plan)} settings to {args.apply}'s station")
    return 0
