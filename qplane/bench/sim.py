"""``qplane bench sim``: syndrome-block generation of the device-model QPU against stim's uniform circuit.

For d = 3, 5, 7 (rounds = d), in one run:

* per-qubit noise: ``SimulatedQPU.acquire_block()`` of a device-model QPU on the simulated
  electronics (settings read from the instruments, truth, the per-qubit circuit, sampling;
  applying the corrections is left out of the timing, as the baseline has none);
* baseline: stim sampling the uniform-noise circuit of the same size (``memory_circuit``) with
  the strength ``p_eq`` that puts the same total error probability into the circuit, so both
  sample the same density of errors;

and a uniform-noise ``SimulatedQPU`` (the same block machinery, stim's uniform circuit at
``p_eq``), so the cost of the per-qubit noise is also seen apart from the block bookkeeping;
timed interleaved (per-qubit, uniform, per-qubit, ...) and summarised by the median of the
repeats; the ratio is the median over windows of per-qubit time / uniform time in adjacent
windows (target < 1.5). Then the time to rebuild
the circuit after a setting changes (recompute the per-qubit noise, render, compile the
sampler; target < 50 ms at d = 5), and, separately, the time of the set itself (a VISA write
through pyvisa-sim). Writes ``runs/bench/sim.json`` (``--update-results``: the committed
``bench/results/sim.json``).

Then, per block size (1, 64, 1024), ``acquire_block()`` against stim sampling the very circuit
the QPU runs (``acquisition_vs_stim``; target <= 1.5x at each).

About a minute; ``qplane bench sim --quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time
from typing import TYPE_CHECKING

from qplane.bench._results import write_results
from qplane.progress import track

if TYPE_CHECKING:
    import stim

SHOTS_PER_BLOCK = 1024


def total_error_probability(circuit: stim.Circuit) -> tuple[float, int]:
    """Sum of the noise channels' probabilities and the number of channel applications."""
    total, count = 0.0, 0
    for inst in circuit.flattened():
        if inst.name in ("X_ERROR", "Z_ERROR", "DEPOLARIZE1", "DEPOLARIZE2", "PAULI_CHANNEL_1"):
            n = len(inst.targets_copy()) // (2 if inst.name == "DEPOLARIZE2" else 1)
            total += sum(inst.gate_args_copy()) * n
            count += n
    return total, count


def time_call(fn, repeats: int) -> float:
    """Seconds per call of ``fn``, timed over ``repeats`` calls."""
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def bench_distance(d: int, rounds_of_timing: int, blocks: int, window_s: float) -> dict:
    """Time the device-model QPU against the uniform baselines at distance ``d``."""
    import numpy as np

    from qplane.codes import memory_circuit
    from qplane.drivers import open_station
    from qplane.sim_instruments import SimulatedQPU, sim_lab_config

    with contextlib.redirect_stdout(io.StringIO()):
        lab = open_station(sim_lab_config(distance=d, rounds=d, seed=1, drift=False,
                                          shots_per_block=SHOTS_PER_BLOCK), simulate=False)
    try:
        qpu = lab.station.components["qpu"]
        per_qubit = qpu.circuit()
        total, count = total_error_probability(per_qubit)
        p_eq = total / count
        uniform = memory_circuit(distance=d, rounds=d, basis="Z", p=p_eq)
        sampler = uniform.compile_detector_sampler(seed=1)
        uniform_qpu = SimulatedQPU(f"bench_uniform_qpu_d{d}", distance=d, rounds=d, basis="Z",
                                   physical_error_rate=p_eq, shots_per_block=SHOTS_PER_BLOCK,
                                   seed=1, noise_model="uniform")

        zeros = np.zeros((SHOTS_PER_BLOCK, 1), np.uint8)
        acquired: list[int] = []

        def device_block():
            acquired.append(qpu.acquire_block().index)

        def uniform_block():
            sampler.sample(SHOTS_PER_BLOCK, separate_observables=True, bit_packed=True)

        uniform_acquired: list[int] = []

        def uniform_qpu_block():
            uniform_acquired.append(uniform_qpu.acquire_block().index)

        device_block(), uniform_block(), uniform_qpu_block()  # warm up (compiles samplers)
        per_qubit_sampler = qpu._sampler  # the QPU's compiled sampler of its per-qubit circuit

        def per_qubit_sampling_only():
            per_qubit_sampler.sample(SHOTS_PER_BLOCK, separate_observables=True, bit_packed=True)

        # Windows of ~window_s each, interleaved, so load changes hit both sides alike.
        blocks = max(blocks, int(window_s / max(time_call(uniform_block, 5), 1e-6)))
        t_dev, t_uni, t_smp, t_uq = [], [], [], []
        for _ in range(rounds_of_timing):
            t_dev.append(time_call(device_block, blocks))
            t_uni.append(time_call(uniform_block, blocks))
            t_smp.append(time_call(per_qubit_sampling_only, blocks))
            t_uq.append(time_call(uniform_qpu_block, blocks))
            while acquired:  # correct the blocks outside the timing (the QPU bounds pending)
                qpu.apply_correction(acquired.pop(), zeros)
            while uniform_acquired:
                uniform_qpu.apply_correction(uniform_acquired.pop(), zeros)
        uniform_qpu.close()
        dev, uni = statistics.median(t_dev), statistics.median(t_uni)
        smp = statistics.median(t_smp)
        # Ratios window by window (adjacent in time, so under the same machine load).
        ratio = statistics.median(a / b for a, b in zip(t_dev, t_uni))
        ratio_smp = statistics.median(a / b for a, b in zip(t_smp, t_uni))
        ratio_qpu = statistics.median(a / b for a, b in zip(t_dev, t_uq))

        # Rebuild after a setting change: alternate q0's pi amplitude between two values.
        good = lab.controls.get("pi_amplitude", "q0")
        rebuild, set_time = [], []
        for k in range(20):
            t0 = time.perf_counter()
            lab.controls.set("pi_amplitude", "q0", good * (1.02 if k % 2 == 0 else 1.0))
            t1 = time.perf_counter()
            circuit = qpu.circuit()
            circuit.compile_detector_sampler(seed=k)
            t2 = time.perf_counter()
            set_time.append(t1 - t0)
            rebuild.append(t2 - t1)
        return {
            "distance": d, "rounds": d, "shots_per_block": SHOTS_PER_BLOCK,
            "num_qubits": len(qpu.qubits()), "num_detectors": per_qubit.num_detectors,
            "p_eq": p_eq,
            "per_qubit_block_seconds": dev, "uniform_block_seconds": uni,
            "per_qubit_shots_per_second": SHOTS_PER_BLOCK / dev,
            "uniform_shots_per_second": SHOTS_PER_BLOCK / uni,
            "per_qubit_rounds_per_second": SHOTS_PER_BLOCK * d / dev,
            "uniform_rounds_per_second": SHOTS_PER_BLOCK * d / uni,
            "ratio_per_qubit_over_uniform": ratio,
            "per_qubit_sampling_only_block_seconds": smp,
            "ratio_sampling_only": ratio_smp,
            "uniform_qpu_shots_per_second": SHOTS_PER_BLOCK / statistics.median(t_uq),
            "ratio_per_qubit_qpu_over_uniform_qpu": ratio_qpu,
            "qpu_overhead_ms_per_block": 1e3 * (dev - smp),
            "timing_windows": rounds_of_timing, "blocks_per_window": blocks,
            "rebuild_ms_median": 1e3 * statistics.median(rebuild),
            "rebuild_ms_max": 1e3 * max(rebuild),
            "set_ms_median": 1e3 * statistics.median(set_time),
        }
    finally:
        lab.close()


BLOCK_SIZES = (1, 64, 1024)


def bench_block_sizes(d: int, rounds_of_timing: int, window_s: float) -> list[dict]:
    """The device-model QPU's ``acquire_block`` against stim sampling the very circuit it runs
    (its own per-qubit circuit, compiled once), per block size; target <= 1.5x at each."""
    import numpy as np

    from qplane.drivers import open_station
    from qplane.sim_instruments import sim_lab_config

    with contextlib.redirect_stdout(io.StringIO()):
        lab = open_station(sim_lab_config(distance=d, rounds=d, seed=1, drift=False,
                                          shots_per_block=1), simulate=False)
    rows = []
    try:
        qpu = lab.station.components["qpu"]
        sampler = qpu.circuit().compile_detector_sampler(seed=2)
        for shots in BLOCK_SIZES:
            qpu.shots_per_block(shots)
            zeros = np.zeros((shots, 1), np.uint8)
            pending: list[int] = []

            def acquire():
                pending.append(qpu.acquire_block().index)

            def stim_only(n=shots):
                sampler.sample(n, separate_observables=True, bit_packed=True)

            acquire(), stim_only()
            n = max(3, int(window_s / max(time_call(stim_only, 5), 1e-7)))
            t_qpu, t_stim = [], []
            for _ in range(rounds_of_timing):
                t_qpu.append(time_call(acquire, n))
                t_stim.append(time_call(stim_only, n))
                while pending:
                    qpu.apply_correction(pending.pop(), zeros)
            rows.append({"distance": d, "block_size": shots,
                         "qpu_us_per_block": 1e6 * statistics.median(t_qpu),
                         "stim_us_per_block": 1e6 * statistics.median(t_stim),
                         "ratio": statistics.median(a / b for a, b in zip(t_qpu, t_stim))})
    finally:
        lab.close()
    return rows


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``ap``."""
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke run)")
    ap.add_argument("--out", default=os.path.join("runs", "bench", "sim.json"), help="results JSON")


def main(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed ``args``; print the table and write the JSON."""
    import stim

    timing_rounds, blocks, window = (3, 3, 0.02) if args.quick else (11, 5, 0.15)
    rows = [bench_distance(d, timing_rounds, blocks, window)
            for d in track((3, 5, 7), "sim distances", label=lambda d: f"d={d}")]
    print(f"{'d':>2} {'qubits':>6} {'QPU shots/s':>12} {'QPU rounds/s':>13} {'uniform shots/s':>16} "
          f"{'ratio':>6} {'vs uniform QPU':>14} {'sampling-only':>13} {'rebuild ms':>10} "
          f"{'set ms':>7}")
    for r in rows:
        print(f"{r['distance']:>2} {r['num_qubits']:>6} {r['per_qubit_shots_per_second']:>12,.0f} "
              f"{r['per_qubit_rounds_per_second']:>13,.0f} {r['uniform_shots_per_second']:>16,.0f} "
              f"{r['ratio_per_qubit_over_uniform']:>6.2f} "
              f"{r['ratio_per_qubit_qpu_over_uniform_qpu']:>14.2f} {r['ratio_sampling_only']:>13.2f} "
              f"{r['rebuild_ms_median']:>10.1f} {r['set_ms_median']:>7.2f}")
    sizes = [r for d in track((3, 5, 7), "acquisition vs stim", label=lambda d: f"d={d}")
             for r in bench_block_sizes(d, timing_rounds, window)]
    print(f"{'d':>2} {'block':>5} {'QPU us/block':>12} {'stim us/block':>13} {'ratio':>6}")
    for r in sizes:
        print(f"{r['distance']:>2} {r['block_size']:>5} {r['qpu_us_per_block']:>12.1f} "
              f"{r['stim_us_per_block']:>13.1f} {r['ratio']:>6.2f}")
    d5 = next(r for r in rows if r["distance"] == 5)
    result = {
        "benchmark": "sim",
        "targets": {"ratio_per_qubit_over_uniform_max": 1.5, "rebuild_ms_at_d5_max": 50.0,
                    "acquisition_over_stim_same_circuit_max": 1.5},
        "met": {"ratio": all(r["ratio_per_qubit_over_uniform"] < 1.5 for r in rows),
                "ratio_sampling_only": all(r["ratio_sampling_only"] < 1.5 for r in rows),
                "ratio_vs_uniform_qpu": all(r["ratio_per_qubit_qpu_over_uniform_qpu"] < 1.5
                                            for r in rows),
                "rebuild_d5": d5["rebuild_ms_median"] < 50.0,
                "acquisition_vs_stim": all(r["ratio"] <= 1.5 for r in sizes)},
        "rows": rows,
        "acquisition_vs_stim": sizes,
        "machine": {"cpu_count": os.cpu_count(), "stim": stim.__version__},  # + machine_info()
        "quick": args.quick,
    }
    write_results(args.out, result)
    print(f"wrote {args.out}")
    return 0
