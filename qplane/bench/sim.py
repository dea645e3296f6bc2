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
timed (thread CPU time) interleaved (per-qubit, uniform, per-qubit, ...) and summarised by the median of the
repeats; the ratio is the median over windows of per-qubit time / uniform time in adjacent
windows (target < 1.5). Then the time to rebuild
the circuit after a setting changes (recompute the per-qubit noise, render, compile the
sampler; target < 50 ms at d = 5), and, separately, the time of the set itself (a VISA write
through pyvisa-sim). Writes ``runs/bench/sim.json`` (``--update-results``: the committed
``bench/results/sim.json``).

Then, per block size (``--blocks``, default 1, 64, 1024) and noise model (the device-model QPU
of a simulated lab, and a uniform-noise QPU), ``acquire_block()`` (the call the instrument
server makes per block) against stim sampling the very circuit the QPU runs, observables
included (``acquisition_vs_stim``; target <= 1.5x at every block size): thread CPU time per
block in interleaved windows whose order alternates, medians, the ratio window pair by window
pair; wall-clock ratios beside them, and the load from other processes meanwhile
(``acquisition_load``).

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

from qplane.bench._proc import CpuWatch
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
    """Thread CPU seconds per call of ``fn``, timed over ``repeats`` calls (CPU time, so that
    other processes on a shared machine do not count; everything timed here runs in this
    thread)."""
    t = time.thread_time()
    for _ in range(repeats):
        fn()
    return (time.thread_time() - t) / repeats


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
#: The noise models whose ``acquire_block`` is measured per block size.
NOISE_MODELS = ("device", "uniform")


def _time_pair(fn, repeats: int) -> tuple[float, float]:
    """(thread CPU seconds, wall seconds) per call of ``fn``, over ``repeats`` calls."""
    c, w = time.thread_time(), time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.thread_time() - c) / repeats, (time.perf_counter() - w) / repeats


def _calls_per_window(stim_seconds: float, shots: int, window_s: float) -> int:
    """Calls per timing window: about ``window_s`` of stim sampling, and for blocks the QPU
    serves from a batch (:data:`~qplane.sim_instruments.qpu.SAMPLE_BATCH`) whole batches
    only, so that every window pays its share of the batch's sampling."""
    from qplane.sim_instruments.qpu import SAMPLE_BATCH

    n = max(3, int(window_s / max(stim_seconds, 1e-7)))
    if shots < SAMPLE_BATCH:
        cycle = SAMPLE_BATCH // shots
        n = cycle * max(2, -(-n // cycle))
    return n


def _acquisition_row(qpu, d: int, model: str, shots: int, windows: int,
                     window_s: float) -> dict:
    """``qpu.acquire_block()`` against stim sampling the circuit it runs, at ``shots``."""
    import numpy as np

    qpu.shots_per_block(shots)
    # stim's own sampler of the very circuit the QPU runs (compiled once, outside the timing);
    # observables too, as the QPU must keep the truth.
    sampler = qpu.circuit().compile_detector_sampler(seed=2)
    zeros = np.zeros((shots, 1), np.uint8)
    pending: list[int] = []

    def acquire():
        pending.append(qpu.acquire_block().index)

    def stim_only():
        sampler.sample(shots, separate_observables=True, bit_packed=True)

    acquire(), stim_only()  # warm up (the QPU compiles its sampler)
    n = _calls_per_window(_time_pair(stim_only, 5)[0], shots, window_s)
    q_cpu, q_wall, s_cpu, s_wall = [], [], [], []
    for k in range(windows):  # interleaved, the order alternating window by window
        for side in ((acquire, stim_only) if k % 2 == 0 else (stim_only, acquire)):
            cpu, wall = _time_pair(side, n)
            (q_cpu if side is acquire else s_cpu).append(cpu)
            (q_wall if side is acquire else s_wall).append(wall)
        while pending:  # corrected outside the timing (the QPU bounds what is pending)
            qpu.apply_correction(pending.pop(), zeros)
    return {"distance": d, "noise_model": model, "block_size": shots,
            "qpu_us_per_block": 1e6 * statistics.median(q_cpu),
            "stim_us_per_block": 1e6 * statistics.median(s_cpu),
            "ratio": statistics.median(a / b for a, b in zip(q_cpu, s_cpu)),
            "qpu_wall_us_per_block": 1e6 * statistics.median(q_wall),
            "stim_wall_us_per_block": 1e6 * statistics.median(s_wall),
            "ratio_wall": statistics.median(a / b for a, b in zip(q_wall, s_wall)),
            "timing_windows": windows, "blocks_per_window": n}


def bench_block_sizes(d: int, rounds_of_timing: int, window_s: float,
                      block_sizes: tuple[int, ...] = BLOCK_SIZES,
                      noise_models: tuple[str, ...] = NOISE_MODELS) -> list[dict]:
    """The simulated QPU's ``acquire_block()`` (the call the instrument server makes) against
    stim sampling the very circuit it runs, per block size and noise model; target <= 1.5x.

    ``device``: the device-model QPU of a simulated lab (per-qubit circuit, settings read from
    the electronics); ``uniform``: a uniform-noise QPU at the nominal strength. Thread CPU
    time (the machine may be shared), in interleaved windows; the ratio is the median over
    windows of QPU / stim in the same window pair.
    """
    from qplane.drivers import open_station
    from qplane.sim_instruments import SimulatedQPU, sim_lab_config

    rows = []
    for model in noise_models:
        if model == "device":
            with contextlib.redirect_stdout(io.StringIO()):
                lab = open_station(sim_lab_config(distance=d, rounds=d, seed=1, drift=False,
                                                  shots_per_block=1), simulate=False)
            qpu, close = lab.station.components["qpu"], lab.close
        else:
            nominal = sim_lab_config(distance=d)["instruments"]["qpu"]["init"]
            qpu = SimulatedQPU(f"bench_acq_uniform_d{d}", distance=d, rounds=d, basis="Z",
                               physical_error_rate=nominal["physical_error_rate"],
                               shots_per_block=1, seed=1)
            close = qpu.close
        try:
            rows += [_acquisition_row(qpu, d, model, shots, rounds_of_timing, window_s)
                     for shots in block_sizes]
        finally:
            close()
    return rows


def _block_sizes(text: str) -> tuple[int, ...]:
    """``--blocks``: comma-separated block sizes (shots per block), each 1 ... 1,000,000."""
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--blocks takes comma-separated integers, got {text!r}") from None
    bad = [v for v in sizes if not 1 <= v <= 1_000_000]
    if not sizes or bad:
        raise argparse.ArgumentTypeError(
            f"--blocks: block sizes must be 1 ... 1,000,000 shots, got {bad or text!r}")
    return sizes


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``ap``."""
    ap.add_argument("--quick", action="store_true", help="few repeats (smoke run)")
    ap.add_argument("--blocks", type=_block_sizes, default=BLOCK_SIZES, metavar="N,N,...",
                    help="block sizes of the acquisition-vs-stim comparison "
                         f"(default {','.join(map(str, BLOCK_SIZES))})")
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
    with CpuWatch(interval=1.0) as watch:
        load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        sizes = [r for d in track((3, 5, 7), "acquisition vs stim", label=lambda d: f"d={d}")
                 for r in bench_block_sizes(d, timing_rounds, window, tuple(args.blocks))]
    load = {"other_load_cores": watch.other_load, "loadavg_start": load_start,
            "loadavg_end": watch.loadavg}
    print(f"{'d':>2} {'model':>7} {'block':>5} {'QPU CPU us/block':>16} "
          f"{'stim CPU us/block':>17} {'ratio':>6} {'wall ratio':>10}")
    for r in sizes:
        print(f"{r['distance']:>2} {r['noise_model']:>7} {r['block_size']:>5} "
              f"{r['qpu_us_per_block']:>16.1f} {r['stim_us_per_block']:>17.1f} "
              f"{r['ratio']:>6.2f} {r['ratio_wall']:>10.2f}")
    other = "?" if watch.other_load is None else f"{watch.other_load:.1f}"
    print(f"load: other processes kept {other} of {os.cpu_count()} cores busy; "
          f"1-min load average {load_start} -> {watch.loadavg}")
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
                "acquisition_vs_stim": all(r["ratio"] <= 1.5 for r in sizes),
                **{f"acquisition_vs_stim_block_{n}": all(
                    r["ratio"] <= 1.5 for r in sizes if r["block_size"] == n)
                   for n in args.blocks}},
        "rows": rows,
        "rows_timing": "thread CPU time, interleaved windows, medians",
        "acquisition_vs_stim": sizes,
        "acquisition_timing": "thread CPU time, interleaved windows, medians",
        "acquisition_load": load,
        "machine": {"cpu_count": os.cpu_count(), "stim": stim.__version__},  # + machine_info()
        "quick": args.quick,
    }
    write_results(args.out, result)
    print(f"wrote {args.out}")
    return 0
