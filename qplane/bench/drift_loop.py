"""Live noise learning on a drifting run, as a real pipeline run: learned vs nominal vs oracle.

Each mode is an actual ``qplane run`` (launcher, instrument server, decoding worker, recorder,
and with calibration on the calibration worker) of a drifting distance-5 device (like
``config/sim_d5_drift.yaml``: 60x simulated clock, correlated matching with
``weights: learned``). Afterwards, every corrected block recorded in the run file is decoded
again by two references and compared with the decisions the pipeline applied, on the same shots
(:func:`qplane.analysis.gain.reference_decodings`, McNemar's exact test):

* ``nominal`` — static nominal weights: correlated PyMatching with the nominal model;
* ``oracle`` — correlated PyMatching with the device's *current* true noise at that block: the
  detector error model of the circuit the simulated QPU sampled the block from.

The oracle's truth comes from the QPU itself: the bench runs :class:`~qplane.bench._truth_qpu.TruthLoggingQPU`, the
simulated QPU that also appends, each time it rebuilds its circuit (drift step or setting
change), the block index and its per-qubit error rates to a JSON-lines file beside the run file.
Target (issue 12): time-averaged LER within 1.05x of the oracle, and better than nominal with
significance. Timing is not measured (load-distorted); LER is not.

    qplane bench drift_loop --seconds 90          # calibration off and on
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qplane.bench._results import write_results

if TYPE_CHECKING:
    import numpy as np

NOMINAL_P = 0.004
SEED = 20261126


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``p``."""
    p.add_argument("--seconds", type=float, default=90.0, help="wall seconds per run (60x clock)")
    p.add_argument("--calibration", default="off,on", help="modes: off, on or off,on")
    p.add_argument("--windows", type=int, default=12, help="time windows of the per-window LER")
    p.add_argument("--window-shots", type=int, default=100_000, help="live estimator window")
    p.add_argument("--refresh-shots", type=int, default=50_000, help="live estimator refresh")
    p.add_argument("--min-shots", type=int, default=30_000, help="live estimator minimum")
    p.add_argument("--folder", default="runs/bench/drift_loop", help="run files and truth logs")
    p.add_argument("--seed", type=int, default=SEED, help="device and sampling seed")
    p.add_argument("--out", default="runs/bench/drift_loop.json", help="results file")


def lab_config(*, calibration: bool, truth_log: str, output_dir: str, seconds: float,
               seed: int = SEED, window_shots: int = 100_000, refresh_shots: int = 50_000,
               min_shots: int = 30_000, distance: int = 5) -> dict[str, Any]:
    """The config of one run: ``sim_d5_drift.yaml``'s lab and decoder, the truth-logging QPU."""
    from qplane.sim_instruments.lab import sim_lab_config

    cfg = sim_lab_config(distance=distance, seed=seed, physical_error_rate=NOMINAL_P,
                         shots_per_block=1024, clock_speedup=60.0, drift=True,
                         profile={"drift_step": 20.0})
    qpu = cfg["instruments"]["qpu"]
    qpu["type"] = "qplane.bench._truth_qpu.TruthLoggingQPU"
    qpu["init"].update(truth_log=truth_log, start_calibrated=True)
    cfg["qplane"].update({
        "calibration": {"enabled": calibration, "triage_nodes": ["ramsey"],
                        "second_opinion": False, "figures": False},
        "run": {"output_dir": output_dir, "duration": seconds},
        "acquisition": {"shots_per_block": 1024, "max_in_flight": 8, "correction_timeout": 30.0},
        "decoding": {"workers": 1, "shadow_fraction": 0.05,
                     "decoder": {"type": "pymatching-correlated", "weights": "learned"},
                     "noise": {"window_shots": window_shots, "refresh_shots": refresh_shots,
                               "min_shots": min_shots}},
    })
    return cfg


def read_truth_log(path: str | Path) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The first block index of each logged circuit, and its errors."""
    import numpy as np

    starts, errors = [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            starts.append(int(row["block_index"]))
            errors.append(row["errors"])
    return np.array(starts, dtype=np.int64), errors


def oracle_reference(truth_log: str | Path, *, distance: int, rounds: int, basis: str):
    """A ``compiled_for(block)`` decoding each block with the true DEM it was sampled from."""
    import numpy as np

    from qplane.decoder import make_decoder
    from qplane.sim_instruments.noise import NoisyCircuitTemplate, QubitErrors

    starts, errors = read_truth_log(truth_log)
    template = NoisyCircuitTemplate(distance=distance, rounds=rounds, basis=basis)
    decoder = make_decoder("pymatching-correlated")
    cache: dict[int, Any] = {}

    def compiled_for(block: dict[str, Any]) -> Any:
        k = int(np.searchsorted(starts, int(block["block_index"]), side="right") - 1)
        if k < 0:
            raise ValueError(f"block {block['block_index']} precedes the truth log")
        if k not in cache:
            e = {f: (np.asarray(v) if isinstance(v, list) else v) for f, v in errors[k].items()}
            circuit = template.render(QubitErrors(**e))
            cache.clear()  # blocks come in order: one truth state at a time
            cache[k] = decoder.compile_decoder_for_dem(
                dem=circuit.detector_error_model(decompose_errors=True))
        return cache[k]

    return compiled_for, len(starts)


def analyse(run_path: str | Path, truth_log: str | Path, *, windows: int = 12) -> dict[str, Any]:
    """The applied decisions of a recorded run against static nominal and the oracle."""
    from qplane.analysis.gain import reference_decodings
    from qplane.decoder import make_decoder
    from qplane.runfile import open_run

    with open_run(run_path) as run:
        circuit = run.circuit()
        nominal = make_decoder("pymatching-correlated").compile_decoder_for_dem(
            dem=circuit.detector_error_model(decompose_errors=True))
        qpu = run.config["instruments"]["qpu"]["init"]
        oracle, states = oracle_reference(truth_log, distance=int(qpu["distance"]),
                                          rounds=int(qpu.get("rounds", qpu["distance"])),
                                          basis=str(qpu.get("basis", "Z")))
        out = reference_decodings(run, {"nominal": lambda _b: nominal, "oracle": oracle},
                                  windows=windows)
        blocks = run.blocks
        applied = blocks[blocks["applied"]]
        learned = int((applied["noise_version"] > 0).sum()) if "noise_version" in applied else 0
        models = len(run.noise_models)
        changes = len(run.parameters)
        run_id, end_state = run.run_id, getattr(run, "end_state", "")
    nom, ora = out["overall"]["nominal"], out["overall"]["oracle"]
    return {
        "run_file": str(run_path), "run_id": run_id, "end_state": end_state,
        "blocks": out["blocks"], "shots": out["shots"], "learned_blocks": learned,
        "noise_models": models, "setting_changes": changes, "truth_states": states,
        "ler": {"learned_live": nom["ler_applied"], "nominal": nom["ler_nominal"],
                "oracle": ora["ler_oracle"]},
        "learned_over_oracle": ora["applied_over_reference"],
        "nominal_over_learned": nom["reference_over_applied"],
        "learned_vs_nominal": {"only_learned_wrong": nom["only_a"],
                               "only_nominal_wrong": nom["only_b"],
                               "mcnemar_p": nom["mcnemar_p"]},
        "learned_vs_oracle": {"only_learned_wrong": ora["only_a"],
                              "only_oracle_wrong": ora["only_b"], "mcnemar_p": ora["mcnemar_p"]},
        "per_window": out["per_window"],
    }


def run_mode(*, calibration: bool, seconds: float, folder: str | Path, seed: int = SEED,
             windows: int = 12, **noise: int) -> dict[str, Any]:
    """One ``qplane run`` of the drifting lab, then :func:`analyse` of its file."""
    import yaml

    from qplane.config import load_config
    from qplane.pipeline.launcher import run_pipeline

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"cal-{'on' if calibration else 'off'}-{time.strftime('%Y%m%dT%H%M%S')}"
    truth_log = folder / f"{tag}.truth.jsonl"
    run_path = folder / f"{tag}.h5"
    cfg = lab_config(calibration=calibration, truth_log=str(truth_log.resolve()),
                     output_dir=str(folder), seconds=seconds, seed=seed, **noise)
    cfg_path = folder / f"{tag}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    t0 = time.perf_counter()
    outcome = run_pipeline(load_config(cfg_path), out_path=str(run_path), duration=seconds)
    wall = time.perf_counter() - t0
    result = analyse(run_path, truth_log, windows=windows)
    result.update(calibration="on" if calibration else "off", seconds=seconds,
                  wall_s=round(wall, 1), exit_code=outcome.exit_code,
                  end_state=outcome.end_state, noise=noise)
    return result


def main(args: argparse.Namespace) -> int:
    """Run the chosen modes and write the results."""
    modes = [m.strip() for m in args.calibration.split(",") if m.strip()]
    noise = dict(window_shots=args.window_shots, refresh_shots=args.refresh_shots,
                 min_shots=args.min_shots)
    results: dict[str, Any] = {"benchmark": "drift_loop", "distance": 5, "basis": "Z",
                               "decoder": "pymatching-correlated", "weights": "learned",
                               "nominal_p": NOMINAL_P, "clock_speedup": 60, "modes": {},
                               "note": "bench timing is load-distorted; the LER comparison is not"}
    for mode in modes:
        if mode not in ("on", "off"):
            print(f"unknown calibration mode {mode!r}; use off, on or off,on")
            return 2
        r = run_mode(calibration=mode == "on", seconds=args.seconds, folder=args.folder,
                     seed=args.seed, windows=args.windows, **noise)
        results["modes"][f"calibration_{mode}"] = r
        print(json.dumps({k: v for k, v in r.items() if k != "per_window"}, default=float))
    print(f"wrote {write_results(args.out, results, default=float)}")
    return 0
