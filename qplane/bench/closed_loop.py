"""``qplane bench closed_loop``: closed-loop calibration, one drifting device and seed, four ways.

    qplane bench closed_loop [--hours 6] [--window 60] [--shots 4096] [--period 1800]
    qplane bench closed_loop --hours 0.05 --modes none --out /tmp/cl.json      # a quick run

Modes (see :mod:`qplane.bench._closed_loop`): ``perfect`` (the reference: perfectly
calibrated before every window, free), ``none``, ``fixed`` (full calibration of every qubit every
``--period`` s) and ``qplane`` (the calibration worker: Optimus graph + syndrome-triggered
checks). Reports the time-averaged logical error rate, the worst window and the device time
spent calibrating, and writes runs/bench/closed_loop.json (``--update-results``: the committed
bench/results/closed_loop.json). Targets: qplane within 1.5x of the
perfectly calibrated device's logical error rate, with less calibration device time than fixed.
Results are kept per ``--scenario``; ``--modes`` reruns some modes and keeps the others from
``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from qplane.bench._results import write_results
from qplane.errors import QplaneError
from qplane.progress import track

#: The modes, as :data:`qplane.bench._closed_loop.MODES` (kept here so ``--help`` imports
#: nothing heavy; a test checks they agree).
MODES = ("perfect", "none", "fixed", "qplane")
#: The drift scenarios' names (:data:`qplane.bench._closed_loop.SCENARIOS`).
SCENARIO_NAMES = ("default", "harsh")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``p``."""
    p.add_argument("--hours", type=float, default=6.0, help="simulated hours per mode")
    p.add_argument("--window", type=float, default=60.0, help="simulated s per QEC window")
    p.add_argument("--shots", type=int, default=4096, help="QEC shots per window")
    p.add_argument("--period", type=float, default=1800.0, help="fixed schedule period, s")
    p.add_argument("--seed", type=int, default=20261126, help="random seed of device and sampling")
    p.add_argument("--scenario", default="default", choices=SCENARIO_NAMES,
                   help="drift scenario (DeviceProfile overrides); results are kept per scenario")
    p.add_argument("--modes", default=",".join(MODES),
                   help="comma-separated modes to run; others are kept from --out if there")
    p.add_argument("--out", default="runs/bench/closed_loop.json", help="results file")


def main(args: argparse.Namespace) -> int:
    """Run the chosen modes with parsed ``args``; merge them into ``--out``."""
    from qplane.bench._closed_loop import SCENARIOS, run_mode, summarize

    path = Path(args.out)
    previous = json.loads(path.read_text()) if path.exists() else {}
    kept = previous.get("scenarios", {}).get(args.scenario, {}).get("modes", {})
    t0 = time.time()
    results = {}
    for mode in track(MODES, "closed-loop modes", label=str):
        if mode not in args.modes.split(","):
            if mode not in kept:
                raise QplaneError(f"no earlier result for mode {mode!r} in {args.out}; run it "
                                  "(add it to --modes)")
            results[mode] = kept[mode]
            continue
        results[mode] = run_mode(mode, hours=args.hours, window=args.window, shots=args.shots,
                                 seed=args.seed, period=args.period, scenario=args.scenario,
                                 log=lambda m: print(m, flush=True))
        r = results[mode]
        print(f"{mode:<8} LER {r['ler']:.5f}  worst window {r['worst_window_ler']:.4f}  "
              f"calibration {r['calibration_device_s']:.0f} s "
              f"({100 * r['calibration_fraction']:.1f} % of device time)  "
              f"updates {r['updates']}  [{r['wall_s']} s wall]", flush=True)
    summary = summarize(results)
    print(json.dumps(summary.get("targets", {})))
    own = {k: v for k, v in vars(args).items() if k not in ("func", "command", "bench")}
    scenario = {"args": own, "summary": summary,
                "device": "simulated lab, distance 5, 5 rounds, DeviceProfile overrides "
                          f"{SCENARIOS[args.scenario]}",
                "machine": platform.platform(), "wall_s": round(time.time() - t0, 1),
                "worker": results["qplane"]["worker"],
                "node_runs": results["qplane"]["node_runs"],
                "flagged": results["qplane"]["flagged"],
                "modes": {m: {**{k: v for k, v in r.items() if k != "series"},
                              "series": [{k: s[k] for k in ("t", "ler", "calibration_s",
                                                            "tls_active")}
                                         for s in r["series"]]}
                          for m, r in results.items()}}
    out = json.loads(path.read_text()) if path.exists() else {}   # re-read: others may have run
    if out.get("benchmark") != "closed_loop":
        out = {"benchmark": "closed_loop", "scenarios": {}}
    out["scenarios"][args.scenario] = scenario
    write_results(path, out, indent=1)
    print(f"wrote {args.out}")
    return 0
