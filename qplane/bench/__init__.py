"""qplane's benchmarks, every one run by ``qplane bench NAME`` (from any working directory).

Each benchmark is a module here with a docstring that says what it measures (its
``qplane bench NAME --help``), ``add_arguments(parser)`` for its options and ``main(args)``
that runs it and returns an exit code. Results go to ``runs/bench/NAME.json`` under the
working directory unless ``--out`` says otherwise, or to the committed ``bench/results/NAME.json``
with ``--update-results`` (:mod:`qplane.cli.bench` resolves it), written by
:func:`write_results` (the one results writer); ``qplane bench tables`` checks the README's
tables against those files and ``--update-readme`` rebuilds them.

Modules import their heavy dependencies (torch, stim, the simulated lab) inside functions,
so listing them for ``qplane --help`` stays fast. Benchmarks may open the simulated lab.

>>> sorted(BENCHMARKS)
['analysis', 'calibration', 'closed_loop', 'curve_cost', 'decoder', 'device_noise', 'drift_loop', 'pipeline', 'resilience', 'sim', 'startup', 'tables']
"""

from __future__ import annotations

from qplane.bench._results import machine_info, write_results

#: ``qplane bench NAME`` -> its one-line help; the module is ``qplane.bench.NAME``.
BENCHMARKS: dict[str, str] = {
    "pipeline": "closed-loop throughput and latency vs direct PyMatching; wire cost per record",
    "decoder": "neural pre-decoders vs PyMatching on fresh test shots",
    "calibration": "analysis (fit + gate) and second opinion on held-out families",
    "closed_loop": "one drifting device calibrated four ways (perfect, none, fixed, qplane)",
    "sim": "per-qubit-noise QPU blocks vs stim uniform; rebuild time",
    "device_noise": "decoders with nominal, learned and true noise on simulated device noise",
    "drift_loop": "a drifting run in the real pipeline: live-learned weights vs static nominal vs the current-truth oracle",
    "analysis": "opening a big run file and the logical error rate per window vs plain h5py",
    "resilience": "a long run with random kill -9 / SIGSTOP of workers and endpoint fuzz: blocks lost, restarts, detection",
    "curve_cost": "throughput with CURVE encryption vs plain tcp at 64 and 1024 shots (target: cost at most 10 percent)",
    "startup": "start-up time of qplane --help and qplane check CONFIG (target < 1 s)",
    "tables": "check (or rebuild, --update-readme) the README's benchmark tables from bench/results/*.json",
}

__all__ = ["BENCHMARKS", "machine_info", "write_results"]
