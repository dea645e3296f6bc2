"""The closed-loop comparison behind ``qplane bench closed_loop``: one drifting device, four ways.

The same simulated lab (same seed, so the same fabrication, drift and TLS jumps at the same
simulated times) runs a distance-5 memory experiment in windows of ``window`` simulated seconds,
each window one block of QEC shots decoded by PyMatching with the nominal noise model, and
between windows whatever calibration the mode does:

``perfect``   every window starts from a perfect calibration of the current truth, at no device
              cost (the reference the target is stated against);
``none``      no calibration after the start;
``fixed``     every ``period`` seconds a full calibration (spectroscopy, Rabi, Ramsey, readout)
              of every qubit, as a fixed schedule does;
``qplane``    the calibration worker: the Optimus graph with validity timeouts and cheap
              checks, plus checks triggered by the syndromes of each block.

Calibration experiments take device time on the simulated clock; the next window starts at its
scheduled time or when the calibration is done, whichever is later. Reported per mode: the
time-averaged logical error rate (failures over shots), the worst window, and the device time
spent calibrating.

>>> r = run_mode("none", hours=0.02, window=30.0, shots=256, seed=1, distance=3)
... # doctest: +ELLIPSIS
Connected to: ...
>>> r["mode"], r["windows"]
('none', 2)
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from qplane.calibration.backend import StationBackend
from qplane.calibration.graph import CalibrationGraph
from qplane.calibration.run import run_node
from qplane.calibration.syndrome import Regions, SyndromeMonitor
from qplane.calibration.updates import SettingsLedger
from qplane.calibration.worker import CalibrationWorker

MODES = ("perfect", "none", "fixed", "qplane")
FIXED_NODES = ("spectroscopy", "rabi", "ramsey", "readout")
#: Validity timeouts (simulated s) of the qplane mode's graph.
QPLANE_TIMEOUTS = {"spectroscopy": 6 * 3600.0, "rabi": 3 * 3600.0, "ramsey": 3600.0,
                   "t1": 6 * 3600.0, "echo": 6 * 3600.0, "readout": 3 * 3600.0}


#: The largest change one update may make, per control (``max_step`` in the lab's
#: ``qplane.controls`` section).
MAX_STEPS = {"drive_frequency": 1.0e6, "pi_amplitude": 0.05, "readout_angle": 3.141592653589793,
             "readout_threshold": 1.0}


#: Drift scenarios: DeviceProfile overrides. ``default`` is the simulated lab's typical
#: transmon; ``harsh`` drifts three times faster in frequency and amplitude and catches TLS
#: defects five times as often, with twice as large frequency jumps.
SCENARIOS: dict[str, dict[str, float]] = {
    "default": {"drift_step": 5.0},
    "harsh": {"drift_step": 5.0, "frequency_diffusion": 60e3, "amplitude_diffusion": 0.03,
              "tls_rate": 1.0, "tls_shift_std": 200e3},
}


def open_lab(seed: int, distance: int = 5, profile: dict[str, float] | None = None) -> Any:
    from qplane.drivers import open_station
    from qplane.sim_instruments import sim_lab_config

    config = sim_lab_config(distance=distance, seed=seed, drift=True, clock_speedup=0.0,
                            physical_error_rate=0.004, shots_per_block=1024,
                            profile=dict(profile or SCENARIOS["default"]))
    # The one limits layer is the controls section: the bench's calibration steps at most this.
    for control, step in MAX_STEPS.items():
        config["qplane"]["controls"][control]["max_step"] = step
    return open_station(config, simulate=True)


def _decoder(qpu: Any) -> Any:
    import pymatching

    dem = qpu.decoding_circuit().detector_error_model(decompose_errors=True)
    return pymatching.Matching.from_detector_error_model(dem)


def run_mode(mode: str, *, hours: float = 4.0, window: float = 60.0, shots: int = 4096,
             seed: int = 20261126, period: float = 1800.0, distance: int = 5,
             second_opinion: bool = True, scenario: str = "default",
             log: Any = None) -> dict[str, Any]:
    """Run one mode; returns its time series and summary.

    ``second_opinion``: the qplane mode consults the shipped learned classifier (an update
    then needs both the gate and the classifier).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    t_wall = time.time()
    lab = open_lab(seed, distance, SCENARIOS[scenario])
    try:
        qpu = lab.station.components["qpu"]
        qpu.shots_per_block(shots)
        backend = StationBackend.from_lab(lab)
        ledger = SettingsLedger(backend, clock=backend.now)  # bounded by the lab's controls
        qubits = qpu.qubits()
        matcher = _decoder(qpu)
        opinion = None
        if mode == "qplane" and second_opinion:
            from qplane.calibration.classifier import LearnedSecondOpinion

            opinion = LearnedSecondOpinion.load()
        graph = CalibrationGraph.default(backend, ledger, second_opinion=opinion)
        for name, t in QPLANE_TIMEOUTS.items():
            graph._nodes[name] = graph._nodes[name].__class__(
                graph.node(name), graph.dependencies(name), t)
        worker = None
        if mode == "qplane":
            monitor = SyndromeMonitor(Regions.from_circuit(qpu.circuit(), qpu.layout),
                                      window=shots, baseline_shots=2 * shots)
            worker = CalibrationWorker(graph, qubits, monitor=monitor, triage_nodes=("ramsey",))
            worker.start()
        for q in qubits:
            graph.mark_calibrated(q, at=0.0)
        n_windows = int(round(hours * 3600 / window))
        series = []
        next_fixed = period
        for k in range(n_windows):
            t_start = k * window
            now = qpu.clock.now()
            if now < t_start:
                qpu.advance_clock(t_start - now)
            if mode == "perfect":
                qpu.calibrate_perfectly()
            block = qpu.acquire_block()
            dets = np.unpackbits(block.detection_events, axis=1,
                                 bitorder="little")[:, :block.num_detectors]
            pred = matcher.decode_batch(dets)
            res = qpu.apply_correction(block.index, np.packbits(pred.astype(np.uint8), axis=1,
                                                                bitorder="little"))
            cal_before = backend.experiment_time
            if mode == "fixed" and qpu.clock.now() >= next_fixed:
                next_fixed += period
                for q in qubits:
                    for name in FIXED_NODES:
                        run_node(graph.node(name), q, backend, ledger, mode="calibrate")
            elif worker is not None:
                worker.report(block.detection_events)
                # Work until the next window is due: triggered triage first, then maintenance
                # of every qubit once (mostly state checks that cost no device time).
                deadline = (k + 1) * window
                worker.step()
                for _ in range(len(qubits)):
                    if qpu.clock.now() >= deadline or worker.pending:
                        break
                    worker.step()
                while worker.pending and qpu.clock.now() < deadline:
                    worker.step()
            detect_rate = float(dets.mean())
            series.append({"t": t_start, "ler": res.failures / res.shots, "failures": res.failures,
                           "shots": res.shots, "detection_rate": detect_rate,
                           "calibration_s": backend.experiment_time - cal_before,
                           "tls_active": int(np.sum(qpu.truth().tls_active))})
            if log and k % 20 == 0:
                log(f"{mode} window {k}/{n_windows}: LER {res.failures / res.shots:.4f} "
                    f"detections {detect_rate:.4f} calib {backend.experiment_time:.0f} s")
        failures = sum(s["failures"] for s in series)
        total = sum(s["shots"] for s in series)
        lers = [s["ler"] for s in series]
        return {
            "mode": mode, "windows": len(series), "shots": total, "failures": failures,
            "ler": failures / total, "worst_window_ler": max(lers),
            "calibration_device_s": backend.experiment_time,
            "simulated_s": qpu.clock.now(),
            "calibration_fraction": backend.experiment_time / max(qpu.clock.now(), 1e-9),
            "updates": len(ledger.history),
            "flagged": sum(r.flagged for r in graph.runs),
            "node_runs": len(graph.runs),
            "worker": dict(worker.stats) if worker is not None else {},
            "wall_s": round(time.time() - t_wall, 1),
            "series": series,
        }
    finally:
        lab.close()


def summarize(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Ratios and the issue's targets from the per-mode results."""
    perfect = results["perfect"]["ler"]
    out: dict[str, Any] = {m: {"ler": r["ler"], "ler_vs_perfect": r["ler"] / perfect,
                              "worst_window_ler": r["worst_window_ler"],
                              "calibration_device_s": r["calibration_device_s"],
                              "calibration_fraction": r["calibration_fraction"],
                              "updates": r["updates"]}
                           for m, r in results.items()}
    if "qplane" in results and "fixed" in results:
        q, f = results["qplane"], results["fixed"]
        out["targets"] = {
            "qplane_within_1.5x_of_perfect": q["ler"] <= 1.5 * perfect,
            "qplane_less_device_time_than_fixed":
                q["calibration_device_s"] < f["calibration_device_s"],
        }
    return out
