"""``qplane calibration analyse FILE``, ``history|figures|revert RUNFILE``, ``state``, ``diff``,
``train-classifier``; and ``qplane calibrate CONFIG``.

Analysing a lab's own data (CSV, NPZ or HDF5; layout in :mod:`qplane.calibration.datafile`)::

    qplane calibration analyse rabi.csv --kind rabi --units mV
    qplane calibration analyse ramsey.npz --kind ramsey --units us --detuning 1e6 --json
    qplane calibration analyse resonator.h5 --kind spectroscopy --signal-type magnitude

Reverting reads a run file's ``/parameters/history`` and restores, for one qubit and one node,
the exact values that node's most recent (unreverted) update replaced::

    qplane calibration history runs/run.h5 --qubit q6
    qplane calibration figures runs/run.h5 --node ramsey                      # PNGs next to it
    qplane calibration revert runs/run.h5 --qubit q6 --node ramsey            # show what it restores
    qplane calibration revert runs/run.h5 --qubit q6 --node ramsey \\
        --apply config/sim_d5_drift.yaml --simulate                           # write it, with limits

With ``--apply`` the config's station is opened and the values are written through its
control map (qplane's limits and the instruments' validators; never the maximum step, since a
revert returns to values the device already ran with), all or nothing: every value is checked
before any is written. ``--out`` writes the revert as JSON.

The lab's calibration state across runs is a JSON file (:mod:`qplane.calibration.state`):
each setting's value with the run, node, update and fit that wrote it and its validity::

    qplane calibration state lab_state.json --from-run runs/run.h5             # fold a run in
    qplane calibration state lab_state.json --revert RUN_ID                   # undo one run
    qplane calibration diff lab_state.json runs/next.h5                       # what differs

``train-classifier`` trains the learned second opinion on simulated sweeps (CPU, a few
minutes; see :mod:`qplane.calibration.training`)::

    qplane calibration train-classifier --out qplane/calibration/models/sweep_classifier_v3.safetensors

Its benchmark is ``qplane bench calibration``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from qplane.cli._help import plain


def register(subparsers: Any) -> None:
    """Add ``calibration`` and its actions to the ``qplane`` command line."""
    once = subparsers.add_parser(
        "calibrate", help="run the calibration graph on its own (no QEC), with a report",
        description="Open CONFIG's station and maintain every node of its calibration graph on "
                    "every qubit (check, calibrate what is out of spec, diagnose bad data); "
                    "write a per-node HTML report and, with --state, fold the changes into the "
                    "lab's calibration state file.")
    once.add_argument("config", metavar="CONFIG", help="config file, e.g. config/sim_d3.yaml")
    once.add_argument("--qubits", help="comma-separated qubits (default: all)")
    once.add_argument("--out", default="runs/calibrate", help="report folder")
    once.add_argument("--state", metavar="STATE.json", help="calibration state file to update")
    once.add_argument("--simulate", action="store_true",
                      help="open the instruments on their pyvisa-sim twins")
    once.set_defaults(func=_calibrate)
    cal = subparsers.add_parser("calibration",
                                help="analyse calibration data; history, state and reverts",
                                description=plain(__doc__),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = cal.add_subparsers(dest="calibration_command", metavar="ACTION", required=True)
    an = sub.add_parser("analyse", help="fit and gate a data file (CSV, NPZ, HDF5)",
                        description="Fit, gate and second-opinion one calibration data set from "
                                    "a file: columns/arrays 'sweep' and 'signal' (or 'i' and "
                                    "'q'), optionally 'sigma'; metadata (kind, units, "
                                    "signal_type, shots, detuning) in the file or on the "
                                    "command line.")
    an.add_argument("file", metavar="FILE", help="data file: .csv, .npz or .h5")
    an.add_argument("--kind", help="spectroscopy, rabi, ramsey, t1, echo (default: the file's)")
    an.add_argument("--units", help="the sweep's unit, any SI prefix: ns, us, MHz, GHz, mV")
    an.add_argument("--signal-type", choices=("population", "magnitude", "phase", "iq"),
                    help="what the signal is (default: the file's, else population)")
    an.add_argument("--shots", type=int, help="shots per point (population signals)")
    an.add_argument("--detuning", type=float,
                    help="Ramsey artificial detuning in Hz (0: none; default: unknown)")
    an.add_argument("--group", help="HDF5: the group holding the data (default: the root)")
    an.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a kind setting or gate threshold, e.g. max_relative_error=0.05 or "
                         "background=fano (repeatable)")
    an.add_argument("--json", action="store_true", help="print the result as JSON")
    an.add_argument("--no-second-opinion", action="store_true",
                    help="skip the learned second opinion (no torch import)")
    an.set_defaults(func=_analyse)
    hist = sub.add_parser("history", help="list the setting changes recorded in a run file")
    hist.add_argument("runfile", metavar="RUN.h5", help="run file to read")
    hist.add_argument("--qubit", help="only this qubit's changes, e.g. q6")
    hist.add_argument("--node", help="only this node's changes, e.g. ramsey")
    hist.add_argument("--truth", action="store_true",
                      help="also list the simulated lab's true ideal settings "
                           "(/simulation/truth), marked 'truth'")
    hist.add_argument("--start", type=int, default=0, metavar="N",
                      help="page: skip the first N changes listed (default 0)")
    hist.add_argument("--limit", type=int, default=None, metavar="N",
                      help="page: list at most N changes, then say where the next page starts")
    hist.set_defaults(func=_history)
    st = sub.add_parser("state", help="the lab's calibration state file: list, update from "
                                      "runs, revert a run",
                        description="List the calibrated values of a state file with their "
                                    "provenance (run, node, update, validity); --from-run folds "
                                    "a run file's changes into it, --revert undoes one run's.")
    st.add_argument("state", metavar="STATE.json", help="state file (created if missing)")
    st.add_argument("--from-run", metavar="RUN.h5", action="append", default=[],
                    help="fold this run file's real setting changes in (repeatable, in order)")
    st.add_argument("--revert", metavar="RUN_ID",
                    help="give every setting this run wrote back the value it replaced")
    st.set_defaults(func=_state)
    dif = sub.add_parser("diff", help="settings that differ between two states or run files")
    dif.add_argument("a", metavar="A", help="state file (.json) or run file (.h5)")
    dif.add_argument("b", metavar="B", help="state file (.json) or run file (.h5)")
    dif.set_defaults(func=_diff)
    fig = sub.add_parser("figures", help="write each node run's figure in a run file as PNG")
    fig.add_argument("runfile", metavar="RUN.h5", help="run file to read")
    fig.add_argument("--out", help="folder (default: <runfile without .h5>_calibration/)")
    fig.add_argument("--qubit", help="only this qubit's node runs")
    fig.add_argument("--node", help="only this node's runs")
    fig.set_defaults(func=_figures)
    rev = sub.add_parser("revert", help="restore the values a node's last update replaced")
    rev.add_argument("runfile", metavar="RUN.h5", help="run file whose history is reverted")
    rev.add_argument("--qubit", required=True, help="qubit whose update is reverted")
    rev.add_argument("--node", required=True, help="node whose most recent update is reverted")
    rev.add_argument("--apply", metavar="CONFIG", help="write the values to this config's station")
    rev.add_argument("--simulate", action="store_true",
                     help="with --apply: open the instruments on their pyvisa-sim twins")
    rev.add_argument("--out", help="write the revert (setting -> value) as JSON here")
    rev.set_defaults(func=_revert)
    train = sub.add_parser("train-classifier",
                           help="train the learned second opinion on simulated sweeps",
                           description="Train the sweep classifier (the learned second opinion) "
                                       "on simulated sweeps of every node type and failure mode "
                                       "and write it as safetensors with its card.")
    train.add_argument("--out", default="runs/calibration/sweep_classifier.safetensors",
                       help="safetensors file to write (default: "
                            "runs/calibration/sweep_classifier.safetensors; the shipped model is "
                            "qplane/calibration/models/sweep_classifier_v3.safetensors)")
    train.add_argument("--per-cell", type=int, default=8,
                       help="qplane-generator cases per (node type, failure mode)")
    train.add_argument("--domain-per-cell", type=int, default=8,
                       help="train-family cases per (kind, failure mode)")
    train.add_argument("--broad-per-cell", type=int, default=20,
                       help="broad train-family cases per (kind, failure mode)")
    train.add_argument("--qec-per-cell", type=int, default=14,
                       help="QEC-kind (DRAG, CZ, readout amplitude / duration) train cases per "
                            "(kind, failure mode)")
    train.add_argument("--wide-per-cell", type=int, default=0,
                       help="wide train-family (session 5, domain_wide.py) cases per (kind, "
                            "failure mode)")
    train.add_argument("--init", default=None,
                       help="a model file to start from (warm start, e.g. the v3 candidate)")
    train.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate")
    train.add_argument("--epochs", type=int, default=60, help="training epochs (default: 60)")
    train.add_argument("--seed", type=int, default=21, help="random seed (default: 21)")
    train.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    train.add_argument("--weight-decay", type=float, default=1e-3, help="AdamW weight decay")
    train.add_argument("--width", type=int, default=24, help="conv channels (default: 24)")
    train.add_argument("--cache", default=None,
                       help="folder to keep the analysed cases in (retraining skips the analysis)")
    train.add_argument("--config", default=None,
                       help="a training config (YAML, e.g. config/calibration/classifier_v5.yaml): "
                            "the session-6 ensemble recipe; the other options are then ignored "
                            "but --out and --threads")
    train.set_defaults(func=_train_classifier)


def _setting(text: str) -> tuple[str, Any]:
    from qplane.errors import AnalysisError

    name, sep, value = text.partition("=")
    if not sep:
        raise AnalysisError(f"--set {text!r}: write NAME=VALUE, e.g. max_relative_error=0.05")
    try:
        return name.strip(), float(value)
    except ValueError:
        return name.strip(), value.strip()


def _analyse(args: argparse.Namespace) -> int:
    from qplane.calibration.analysis import analyse
    from qplane.calibration.datafile import load_data
    from qplane.errors import AnalysisError

    d = load_data(args.file, group=args.group)
    kind = args.kind or d.meta.get("kind")
    if not kind:
        raise AnalysisError(f"{args.file}: which experiment is it? Give --kind (spectroscopy, "
                            "rabi, ramsey, t1, echo) or a 'kind' entry in the file")
    settings = dict(_setting(t) for t in args.set)
    detuning = args.detuning if args.detuning is not None else d.meta.get("detuning")
    if detuning is not None:
        settings["detuning"] = detuning
    result = analyse(kind, d.sweep, d.signal, signal_type=args.signal_type or d.signal_type,
                     sigma=d.sigma, shots=args.shots or d.meta.get("shots"),
                     units=args.units or d.meta.get("units"),
                     signal_units=d.meta.get("signal_units"),
                     second_opinion=not args.no_second_opinion, **settings)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print(result.card())
    return 0


def _figures(args: argparse.Namespace) -> int:
    from qplane.calibration import write_figures

    out = args.out or (args.runfile[:-3] if args.runfile.endswith(".h5") else args.runfile) \
        + "_calibration"
    written = write_figures(args.runfile, out, qubit=args.qubit, node=args.node)
    print(f"wrote {len(written)} figures to {out}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from qplane.calibration import read_history
    from qplane.calibration.history import human_time, read_truth
    from qplane.errors import ConfigError

    changes = [c for c in read_history(args.runfile)
               if not ((args.qubit and c.qubit != args.qubit) or (args.node and c.node != args.node))]
    if args.start < 0 or (args.limit is not None and args.limit < 1):
        raise ConfigError(f"--start must be >= 0 and --limit >= 1 (got --start {args.start}, "
                          f"--limit {args.limit})")
    end = len(changes) if args.limit is None else min(len(changes), args.start + args.limit)
    more = len(changes) - end
    first = changes[0].time if changes else None  # a page's times stay relative to the first
    changes = changes[args.start:end]
    lines = []
    for c in changes:
        extra = f" (reverts {c.reverts[:8]})" if c.reverts else ""
        lines.append((c.time, f"{c.node or '-':<12} {c.setting:<26} {c.old:.10g} -> {c.new:.10g}"
                              f"  update {c.run_uid[:8]}{extra}"))
    if args.truth:
        for t, _device_t, setting, value in read_truth(args.runfile):
            if args.qubit and not setting.startswith(f"{args.qubit}."):
                continue
            lines.append((t, f"{'truth':<12} {setting:<26} {value:.10g}"))
        lines.sort(key=lambda x: x[0])
    start = min([t for t, _ in lines] + ([first] if first is not None else []), default=None)
    try:
        for t, text in lines:
            print(f"{human_time(t, start)}  {text}")
        if not lines:
            print("no setting changes recorded" + (" (for that qubit/node)" if args.qubit or args.node
                                                    else "") + (f" from --start {args.start}"
                                                                if args.start else ""))
        if more > 0:
            print(f"... {more} more change(s): --start {end} for the next page")
        sys.stdout.flush()
    except BrokenPipeError:
        # `qplane calibration history RUN | head`: the reader left; stop quietly (and keep
        # Python's exit-time flush of stdout from raising again).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import yaml

    from qplane.calibration.standalone import calibrate_lab, write_node_report
    from qplane.config import load_config
    from qplane.drivers import open_station

    config = load_config(args.config)
    qubits = [q for q in (args.qubits or "").split(",") if q] or None
    with open_station(yaml.safe_load(config.text), simulate=args.simulate) as lab:
        result = calibrate_lab(lab, config.qplane.calibration, qubits=qubits,
                               state_path=args.state)
    page = write_node_report(result["runs"], args.out,
                             title=f"qplane calibrate {args.config} ({result['run_id']})")
    outcomes: dict[str, int] = {}
    for r in result["runs"]:
        outcomes[r.outcome.value] = outcomes.get(r.outcome.value, 0) + 1
    print(f"{len(result['runs'])} node runs {outcomes}, {len(result['changes'])} setting changes, "
          f"{result['device_time']:.1f} s of device time")
    print(f"report: {page}")
    if args.state:
        print(f"state: {args.state} (run {result['run_id']})")
    return 0


def _state(args: argparse.Namespace) -> int:
    from qplane.calibration.history import human_time
    from qplane.calibration.state import load_state, revert_run, save_state, update_from_run

    state = load_state(args.state)
    changed = [k for run in args.from_run for k in update_from_run(state, run)]
    reverted = revert_run(state, args.revert) if args.revert else []
    if args.from_run or args.revert:
        save_state(state, args.state)
        print(f"{args.state}: {len(set(changed))} settings updated, {len(reverted)} reverted")
    for setting, e in sorted(state.settings.items()):
        when = human_time(e["time"]) if e.get("time") is not None else "-"
        valid = f"valid until {human_time(e['valid_until'])}" if e.get("valid_until") else ""
        print(f"{setting:<26} {e['value']:.10g}  run {e.get('run_id', '')}  "
              f"{e.get('node') or '-'}  {when}  {valid}".rstrip())
    return 0


def _as_state(path: str) -> Any:
    from qplane.calibration.state import CalibrationState, load_state, update_from_run

    if path.endswith((".h5", ".hdf5")):
        state = CalibrationState()
        update_from_run(state, path)
        return state
    return load_state(path)


def _diff(args: argparse.Namespace) -> int:
    from qplane.calibration.state import diff

    rows = diff(_as_state(args.a), _as_state(args.b))
    for setting, a, b in rows:
        fa = "-" if a is None else f"{a:.10g}"
        fb = "-" if b is None else f"{b:.10g}"
        delta = f"  ({b - a:+.4g})" if a is not None and b is not None else ""
        print(f"{setting:<26} {fa} -> {fb}{delta}")
    if not rows:
        print("no setting differs")
    return 0


def _revert(args: argparse.Namespace) -> int:
    from qplane.calibration import apply_revert, read_history, revert_plan

    plan = revert_plan(read_history(args.runfile), qubit=args.qubit, node=args.node)
    for setting, value in plan.items():
        print(f"{setting} <- {value:.12g}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(plan, f, indent=2)
    if args.apply:
        import yaml

        from qplane.config import load_config
        from qplane.drivers import open_station

        config = load_config(args.apply)  # the one config model: every mistake named first
        with open_station(yaml.safe_load(config.text), simulate=args.simulate) as lab:
            written: list[str] = []
            try:
                apply_revert(plan, lab.controls, written)
            finally:
                print(f"wrote {len(written)} of {len(plan)} settings to {args.apply}'s station")
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    import torch

    from qplane.calibration.classifier import save_model
    from qplane.calibration.training import train

    torch.set_num_threads(args.threads)
    if args.config:
        from qplane.calibration.training_ensemble import train_from_config

        model, card = train_from_config(args.config)
        save_model(model, card, args.out)
        print(f"wrote {args.out}: validation class accuracy "
              f"{card['validation']['class_accuracy']:.4f}")
        return 0
    model, card = train(per_cell=args.per_cell, domain_per_cell=args.domain_per_cell,
                        broad_per_cell=args.broad_per_cell, qec_per_cell=args.qec_per_cell,
                        epochs=args.epochs, seed=args.seed, weight_decay=args.weight_decay,
                        width=args.width, cache=args.cache, wide_per_cell=args.wide_per_cell,
                        init=args.init, lr=args.lr)
    save_model(model, card, args.out)
    print(f"wrote {args.out}: validation class accuracy {card['validation']['class_accuracy']:.4f}")
    return 0
