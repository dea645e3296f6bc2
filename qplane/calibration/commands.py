"""``qplane calibration history|figures|revert RUNFILE`` and ``qplane bench calibration``.

Reverting reads a run file's ``/parameters/history`` and restores, for one qubit and one node,
the exact values that node's most recent (unreverted) update replaced::

    qplane calibration history runs/run.h5 --qubit q6
    qplane calibration figures runs/run.h5 --node ramsey                      # PNGs next to it
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
    fig = sub.add_parser("figures", help="write each node run's figure in a run file as PNG")
    fig.add_argument("runfile")
    fig.add_argument("--out", help="folder (default: <runfile without .h5>_calibration/)")
    fig.add_argument("--qubit")
    fig.add_argument("--node")
    fig.set_defaults(func=_figures)
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
    from qplane.cli import add_bench

    add_bench(benches, "calibration", bench, help="learned second opinion vs the fit gate alone",
              run=bench.main)


#: The ``source`` of the simulated truth rows that files written before ``/simulation/truth``
#: kept in ``/parameters/history``; they are not changes and are skipped.
TRUTH_SOURCE = "truth"


def read_history(path: str) -> list[SettingChange]:
    """Every real setting change recorded in a run file, oldest first.

    Only change rows: simulated truth is in ``/simulation/truth`` (older files kept it in the
    history with source ``truth``; those rows are skipped).
    """
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            rows = f["parameters/history"][()]
    except (OSError, KeyError) as e:
        raise RunFileError(f"cannot read /parameters/history from {path}: {e}") from e
    return [SettingChange.from_history_row(r) for r in rows
            if _text(r["source"]) != TRUTH_SOURCE]


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def revert_plan(history: list[SettingChange], *, qubit: str, node: str) -> dict[str, float]:
    """Setting -> the value to restore, for the last unreverted run of ``node`` on ``qubit``."""
    run = last_run(history, qubit=qubit, node=node)
    if not run:
        raise QplaneError(f"no unreverted change by node {node!r} on qubit {qubit!r} in the "
                          "run file; `qplane calibration history` lists what there is")
    return {c.setting: c.old for c in run}


def write_figures(path: str, out: str, *, qubit: str | None = None,
                  node: str | None = None) -> list[str]:
    """Write the figure of every ``/calibration/runs`` row of a run file as a PNG in ``out``."""
    import os

    import h5py

    def text(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    try:
        with h5py.File(path, "r", locking=False) as f:
            rows = f["calibration/runs"][()]
    except (OSError, KeyError) as e:
        raise RunFileError(f"cannot read /calibration/runs from {path}: {e}") from e
    os.makedirs(out, exist_ok=True)
    written = []
    for i, r in enumerate(rows):
        if (qubit and text(r["qubit"]) != qubit) or (node and text(r["node"]) != node):
            continue
        png = bytes(r["figure_png"])
        if not png:
            continue
        name = os.path.join(out, f"{i:05d}_{text(r['node'])}_{text(r['qubit'])}_"
                                 f"{text(r['outcome'])}.png")
        with open(name, "wb") as fh:
            fh.write(png)
        written.append(name)
    return written


def _figures(args: argparse.Namespace) -> int:
    out = args.out or (args.runfile[:-3] if args.runfile.endswith(".h5") else args.runfile) \
        + "_calibration"
    written = write_figures(args.runfile, out, qubit=args.qubit, node=args.node)
    print(f"wrote {len(written)} figures to {out}")
    return 0


def _history(args: argparse.Namespace) -> int:
    for c in read_history(args.runfile):
        if (args.qubit and c.qubit != args.qubit) or (args.node and c.node != args.node):
            continue
        extra = f" (reverts {c.reverts[:8]})" if c.reverts else ""
        print(f"{c.time:12.3f}  {c.node or '-':<12} {c.setting:<24} {c.old:.10g} -> {c.new:.10g}"
              f"  update {c.run_uid[:8]}{extra}")
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
