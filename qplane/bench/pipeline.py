"""``qplane bench pipeline``: qplane's closed loop beside PyMatching alone and a lean reference.

Each case runs, back to back on the same machine, with the same circuit (uniform noise
p = 0.003, rounds = d) and the same blocks:

- **qplane**: the real pipeline (instrument server, decoding worker(s), recorder, over ipc://),
  its QPU either the simulated one (``sim``: stim sampling every block) or the replay source
  (``replay``: :class:`qplane.drivers.ReplayQPU` serving pre-sampled shots from a b8 file);
- **PyMatching alone**: the blocks qplane recorded, decoded back to back in this process
  (``Matching.decode_batch``); the predictions must be identical to qplane's;
- **lean**: the reference loop of :mod:`qplane.bench._lean_pipeline` (PUSH -> PyMatching worker
  process(es) -> PUSH back -> apply in order -> HDF5), sampling as it goes (``sim``) or slicing
  the same pre-sampled shots (``replay``).

Cases: d = 3, 5, 7; blocks of 1, 64, 1024 shots; 1 and 2 decoding workers; 8 blocks in flight
(qplane with its default placement, ``auto``: the hot path on one CPU for small blocks);
plus block 1 with 1 in flight (the latency a feedback loop sees) at d = 3, 5, once with the kernel
placing qplane's processes and once with ``qplane.placement.preset: latency`` (instrument
server and decoder on one CPU, recorder on the other; the latency target is judged on these;
the lean reference is not pinned). Per case:
shots/s (first to last block after a warm-up), latency acquired -> applied p50 / p99 / p99.9
and, for qplane, per stage (acquired -> sent -> received -> decoded -> applied),
each process's CPU time per block, and the load the rest of the machine put on it meanwhile
(``other_load``: cores busy with other processes, from /proc). Ratios compare runs taken
minutes apart at most, under the load reported beside them.

For blocks of 1024 shots, the **core limit** is the most shots/s the machine's cores could
carry for the same work, each busy all the time on nothing but it (:func:`core_limit`):
acquiring a shot (``sim``: stim sampling the circuit, the floor of any simulated acquisition;
``replay``: copying it out of the pre-sampled shots), decoding it (PyMatching alone, as
measured in the case), recording its detection events and prediction (an HDF5 append of the
blocks, batched as the recorder writes them) and its records on the wire (the syndrome encoded once and
decoded by the worker and the recorder, the correction and the applied record each encoded and
decoded once: :func:`measure_wire`), the cores' time summed and shared by all of them.

    qplane bench pipeline [--seconds 6] [--update-results]   # runs/bench/pipeline.json
    qplane bench pipeline --quick                            # smoke: d = 3, a few cases
    qplane bench pipeline --wire-only     (only the wire cost per record; nothing written)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

from qplane.bench._proc import CpuWatch
from qplane.bench._results import write_results
from qplane.progress import track

WARMUP_BLOCKS = 20
#: Circuit-level noise of every case's circuit.
P = 0.003
#: A block's path stage by stage: (name, from field, to field) of ``/qec/blocks``.
STAGES = (("acquired_to_sent", "t_acquired", "t_sent"), ("sent_to_received", "t_sent", "t_received"),
          ("received_to_decoded", "t_received", "t_decoded"),
          ("decoded_to_applied", "t_decoded", "t_applied"))
#: The block size the core limit is measured at (:func:`core_limit`).
LIMIT_BLOCK = 1024
#: Blocks the core limit's HDF5 append writes at once (the recorder batches its appends).
RECORD_BATCH = 16
#: Shots pre-sampled for the replay source (served in a loop).
REPLAY_SHOTS = 1 << 17


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case."""

    source: str  # "sim" | "replay"
    distance: int
    block_size: int
    workers: int
    in_flight: int
    placement: str = "auto"  # qplane.placement.preset of qplane's run (auto: the default)

    @property
    def label(self) -> str:
        return (f"{self.source} d={self.distance} block={self.block_size} "
                f"workers={self.workers} in flight={self.in_flight}"
                + ("" if self.placement == "auto" else f" placement={self.placement}"))


#: qplane's placements measured at block 1, 1 in flight: the kernel's, and the ``latency``
#: preset a feedback loop runs with (the other cases use the default, ``auto``, which is
#: ``latency`` for small blocks: ``qplane.pipeline.placement.auto_shares_cpu``)
PLACEMENTS = ("none", "latency")


def cases(quick: bool) -> list[Case]:
    """The cases of a full run, or of ``--quick``."""
    if quick:
        grid = [(s, 3, b, 1, 8) for s in ("replay", "sim") for b in (1, 1024)]
        grid += [(s, 3, 1, 1, 1, p) for s in ("replay", "sim") for p in PLACEMENTS]
        grid += [("replay", 3, 1024, 2, 8)]
    else:
        grid = [(s, d, b, w, 8) for s in ("replay", "sim") for d in (3, 5, 7)
                for b in (1, 64, 1024) for w in (1, 2)]
        grid += [(s, d, 1, 1, 1, p) for s in ("replay", "sim") for d in (3, 5)
                 for p in PLACEMENTS]
    return [Case(*g) for g in grid]


def _replay_files(folder: str, distance: int):
    """The circuit file and a b8 file of pre-sampled shots (observables appended)."""
    import numpy as np
    import stim

    from qplane.codes import memory_circuit

    circuit = memory_circuit(distance=distance, rounds=distance, basis="Z", p=P)
    circuit_path = os.path.join(folder, f"replay_d{distance}.stim")
    data_path = os.path.join(folder, f"replay_d{distance}.b8")
    dets, obs = circuit.compile_detector_sampler(seed=7).sample(
        REPLAY_SHOTS, separate_observables=True)
    stim.write_shot_data_file(data=np.hstack([dets, obs]), path=data_path, format="b8",
                              num_detectors=circuit.num_detectors,
                              num_observables=circuit.num_observables)
    circuit.to_file(circuit_path)
    packed = (np.packbits(dets, axis=1, bitorder="little"),
              np.packbits(obs, axis=1, bitorder="little"))
    return circuit, circuit_path, data_path, packed


#: The run file's per-shot datasets as the lean reference writes them: uncompressed
#: (``qplane.run.compression``; ``--compression lzf`` measures qplane's default instead).
COMPRESSION = "none"


def _config(folder: str, case: Case, replay: tuple[str, str] | None,
            compression: str = COMPRESSION) -> str:
    import yaml

    d = case.distance
    path = os.path.join(folder, f"bench_{case.source}_d{d}_b{case.block_size}_"
                                f"w{case.workers}_f{case.in_flight}_{case.placement}.yaml")
    geometry = {"distance": d, "rounds": d, "basis": "Z"}
    qplane = {"qpu": "qpu", "run": {"compression": compression},
              "acquisition": {"shots_per_block": case.block_size, "max_in_flight": case.in_flight},
              "decoding": {"workers": case.workers, "decoder": {"type": "pymatching"}},
              "placement": {"preset": case.placement}}
    if replay is None:
        qpu = {"type": "qplane.sim_instruments.qpu.SimulatedQPU",
               "init": {**geometry, "physical_error_rate": P, "seed": 1}}
    else:
        qpu = {"type": "qplane.drivers.ReplayQPU", "init": geometry}
        qplane["replay"] = {"source": replay[1], "format": "b8", "circuit": replay[0],
                            "observables": "appended", "loop": True}
    with open(path, "w") as f:
        yaml.safe_dump({"instruments": {"qpu": qpu}, "qplane": qplane}, f, sort_keys=False)
    return path


def _percentiles(latency_s) -> dict:
    import numpy as np

    ms = np.asarray(latency_s) * 1e3
    if not len(ms):
        return {"p50_ms": None, "p99_ms": None, "p999_ms": None}
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "p999_ms": float(np.percentile(ms, 99.9))}


def _per_block_us(watch: CpuWatch, since: float, blocks: int, own: str) -> dict:
    """Each process's CPU µs per block from ``since`` (the first block: start-up left out)."""
    cpu = watch.cpu_since(since)
    cpu[own] = cpu.pop("own")
    return {name: 1e6 * seconds / max(blocks, 1) for name, seconds in sorted(cpu.items())}


def measure_qplane(folder: str, case: Case, seconds: float,
                   replay: tuple[str, str] | None, compression: str = COMPRESSION,
                   profile_dir: str | None = None) -> tuple[dict, tuple]:
    """Run qplane's pipeline on ``case``; then PyMatching alone on the blocks it recorded.
    Returns the case's numbers and its last block (circuit, detection events, predictions:
    what :func:`core_limit` measures its components on)."""
    import h5py
    import numpy as np
    import pymatching
    import stim

    from qplane.config import load_config
    from qplane.pipeline.launcher import run_pipeline

    config = load_config(_config(folder, case, replay, compression))
    out = os.path.join(folder, "qplane.h5")
    with CpuWatch() as watch:
        outcome = run_pipeline(config, out_path=out, duration=seconds, profile_dir=profile_dir)
    if outcome.end_state != "completed":
        raise RuntimeError(f"benchmark run {out} ended {outcome.end_state}: {outcome.reason}")
    with h5py.File(out, "r") as f:
        all_blocks = f["qec/blocks"][:]
        dets = f["qec/detection_events"][:]
        preds = f["qec/predictions"][:]
        circuit = stim.Circuit(f["qec/circuits"][0]["stim_circuit"].decode())
    os.remove(out)
    applied = np.sort(all_blocks[all_blocks["applied"] == 1], order="seq")
    blocks = applied[WARMUP_BLOCKS:]
    span = blocks["t_applied"][-1] - blocks["t_acquired"][0]
    matching = pymatching.Matching.from_detector_error_model(
        circuit.detector_error_model(decompose_errors=True))
    slices = [dets[b["shot_start"]: b["shot_start"] + b["shots"]] for b in blocks]
    t0 = time.perf_counter()
    direct = [matching.decode_batch(s, bit_packed_shots=True, bit_packed_predictions=True)
              for s in slices]
    direct_seconds = time.perf_counter() - t0
    agree = all(np.array_equal(p, preds[b["shot_start"]: b["shot_start"] + b["shots"]])
                for p, b in zip(direct, blocks))
    shots = int(blocks["shots"].sum())
    numbers = {
        "blocks": int(len(blocks)), "shots": shots,
        "shots_per_s": float(shots / span), "direct_shots_per_s": float(shots / direct_seconds),
        "latency": _percentiles(blocks["t_applied"] - blocks["t_acquired"]),
        "stages": {stage: _percentiles(blocks[end] - blocks[start])
                   for stage, start, end in STAGES},
        "cpu_us_per_block": _per_block_us(watch, float(applied["t_acquired"][0]),
                                          len(applied), "launcher"),
        "other_load": watch.other_load, "loadavg": watch.loadavg,
        "predictions_identical": bool(agree),
    }
    return numbers, (circuit, slices[-1], direct[-1])


def core_limit(circuit, dets, preds, *, source: str, decode_us_per_shot: float,
               wire: list[dict], cores: int, compression: str = COMPRESSION,
               repeats: int = 30) -> dict:
    """The most shots/s ``cores`` cores could carry for a block's work (``dets``, ``preds``:
    one block's bit-packed detection events and predictions), each component's CPU µs per shot
    measured here (best of ``repeats``) but decoding (``decode_us_per_shot``, measured on the
    case's own blocks) and the wire (``wire``: :func:`measure_wire`'s records at the block's
    shots)."""
    import h5py
    import numpy as np

    shots = len(dets)
    sampler = circuit.compile_detector_sampler(seed=1)
    pool = np.tile(dets, (3, 1))  # a copy out of recorded shots, not of one hot block

    def best(work, per: int = shots) -> float:
        times = []
        for i in range(repeats):
            t0 = time.thread_time()
            work(i)
            times.append(time.thread_time() - t0)
        return 1e6 * min(times) / per

    if source == "sim":
        acquire = best(lambda i: sampler.sample(shots, bit_packed=True, separate_observables=True))
    else:
        acquire = best(lambda i: np.array(pool[(i % 3) * shots:(i % 3 + 1) * shots]))
    with tempfile.TemporaryDirectory(prefix="qplane-limit-") as folder:
        with h5py.File(os.path.join(folder, "limit.h5"), "w") as f:
            opts = {} if compression == "none" else {"compression": compression}
            sets = [f.create_dataset(name, (0, a.shape[1]), np.uint8, maxshape=(None, a.shape[1]),
                                     chunks=(shots, a.shape[1]), **opts)
                    for name, a in (("dets", dets), ("preds", preds))]

            batch = [np.tile(a, (RECORD_BATCH, 1)) for a in (dets, preds)]

            def append(i):  # a batch of blocks at once, as the recorder appends them
                for ds, a in zip(sets, batch):
                    ds.resize(ds.shape[0] + len(a), axis=0)
                    ds[-len(a):] = a
            record = best(append, per=shots * RECORD_BATCH)
    per = {w["kind"]: w for w in wire if w["shots"] == shots}
    wire_us = (per["syndrome"]["build_encode_us"] + 2 * per["syndrome"]["decode_us"]
               + per["correction"]["total_us"] + per["applied"]["total_us"]) / shots
    parts = {"acquire": acquire, "decode": decode_us_per_shot, "record": record, "wire": wire_us}
    return {"cores": cores, "us_per_shot": parts,
            "shots_per_s": float(cores * 1e6 / sum(parts.values()))}


def measure_lean(folder: str, case: Case, seconds: float, circuit, replay_arrays) -> dict:
    """Run the lean reference on ``case``."""
    from qplane.bench import _lean_pipeline as lean_pipeline

    out = os.path.join(folder, "lean.h5")
    with CpuWatch() as watch:
        r = lean_pipeline.run(circuit, shots=case.block_size, seconds=seconds, out_path=out,
                              workers=case.workers, in_flight=case.in_flight,
                              replay=replay_arrays if case.source == "replay" else None,
                              folder=folder)
    os.remove(out)
    acq, app = r["t_acquired"][WARMUP_BLOCKS:], r["t_applied"][WARMUP_BLOCKS:]
    shots = len(acq) * case.block_size
    cpu = {"main": r["cpu_seconds"]["main"],
           **{k: v for k, v in r["cpu_seconds"].items() if k != "main"}}
    return {
        "blocks": int(len(acq)), "shots": shots,
        "shots_per_s": float(shots / (app[-1] - acq[0])),
        "latency": _percentiles(app - acq),
        "cpu_us_per_block": {k: 1e6 * v / max(r["blocks"], 1) for k, v in cpu.items()},
        "other_load": watch.other_load, "loadavg": watch.loadavg,
    }


def measure_wire(repeats: int = 20_000) -> list[dict]:
    """Cost of one record on the wire: build + validate + encode at the sender, decode +
    validate at the receiver, per record kind of a block's path (µs, best of three)."""
    import numpy as np

    from qplane.records import Applied, Correction, Record, Syndrome, decode, encode

    rng = np.random.default_rng(0)
    cases = []
    for shots in (1, 1024):
        dets = rng.integers(0, 256, (shots, 3), dtype=np.uint8)
        preds = rng.integers(0, 2, (shots, 1), dtype=np.uint8)
        cases += [
            ("syndrome", shots, lambda d=dets: (Syndrome(block_index=1, circuit_id="ab" * 8,
                                                         num_detectors=24, t_acquired=1.0),
                                                {"detection_events": d})),
            ("correction", shots, lambda p=preds: (Correction(syndrome_seq=1, t_decoded=1.0,
                                                              decode_seconds=1e-4), {"predictions": p})),
            ("applied", shots, lambda p=preds: (Applied(syndrome_seq=1, t_decoded=1.0, t_applied=1.1,
                                                        decode_seconds=1e-4, worker="decoder-0",
                                                        failures=0), {"predictions": p, "truth": p})),
        ]
    out = []
    for kind, shots, make in cases:
        best = {"build_encode_us": float("inf"), "decode_us": float("inf")}
        n = repeats if shots == 1 else repeats // 4
        for _ in range(3):
            t0 = time.perf_counter()
            for i in range(n):
                body, arrays = make()
                frames = encode(Record.build(body, run_id="r", source="s", seq=i, arrays=arrays))
            t1 = time.perf_counter()
            frames = [bytes(f) for f in frames]
            for _ in range(n):
                decode(frames)
            t2 = time.perf_counter()
            best["build_encode_us"] = min(best["build_encode_us"], (t1 - t0) / n * 1e6)
            best["decode_us"] = min(best["decode_us"], (t2 - t1) / n * 1e6)
        out.append({"kind": kind, "shots": shots, **best,
                    "total_us": best["build_encode_us"] + best["decode_us"]})
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to ``parser``."""
    parser.add_argument("--seconds", type=float, default=6.0, help="acquisition time per case")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: d = 3, a few cases, 1.5 s each")
    parser.add_argument("--only", default="", metavar="FILTER",
                        help="run only the cases matching every KEY=V1/V2 of a comma list, e.g. "
                             "'source=replay,distance=5,block_size=1024' (keys: source, distance, "
                             "block_size, workers, in_flight)")
    parser.add_argument("--wire-only", action="store_true",
                        help="only measure the wire cost per record (seconds, no pipeline runs)")
    parser.add_argument("--out", default=os.path.join("runs", "bench", "pipeline.json"),
                        help="results file")
    parser.add_argument("--compression", choices=("none", "lzf"), default=COMPRESSION,
                        help="qplane's run-file compression (qplane.run.compression); the lean "
                             "reference writes uncompressed")
    parser.add_argument("--profile", default="", metavar="DIR",
                        help="profile each qplane process's main thread (cProfile): "
                             "DIR/CASE/SOURCE.prof, for `python -m pstats`")


def _line(case: Case, r: dict) -> str:
    q, lean, lat = r["qplane"], r["lean"], r["qplane"]["latency"]
    return (f"{case.label}: qplane {q['shots_per_s']:10.0f} shots/s, lean {lean['shots_per_s']:10.0f}"
            f" ({r['ratio_to_lean']:.2f}), PyMatching alone {q['direct_shots_per_s']:10.0f}; "
            f"latency p50 {lat['p50_ms']:.3f} p99 {lat['p99_ms']:.3f} ms (lean "
            f"{lean['latency']['p50_ms']:.3f} / {lean['latency']['p99_ms']:.3f}); other load "
            f"{q['other_load'] if q['other_load'] is None else round(q['other_load'], 2)} cores")


def main(args: argparse.Namespace) -> int:
    """Run every case and write the results file."""
    wire = measure_wire(2_000 if args.quick else 20_000)
    for w in wire:
        print(f"wire {w['kind']:10s} {w['shots']:5d} shots: build+encode {w['build_encode_us']:.1f} us, "
              f"decode {w['decode_us']:.1f} us", flush=True)
    if args.wire_only:
        print("(--wire-only: no pipeline runs, nothing written)")
        return 0
    seconds = 1.5 if args.quick else args.seconds
    from qplane.pipeline.placement import available_cpus

    cpus = available_cpus()
    cores = len(cpus) if cpus is not None else os.cpu_count()
    results = []
    with tempfile.TemporaryDirectory(prefix="qplane-bench-") as folder:
        replays = {}
        for case in track(_only(cases(args.quick), args.only), "pipeline cases",
                          label=lambda c: c.label):
            if case.distance not in replays:
                replays[case.distance] = _replay_files(folder, case.distance)
            circuit, circuit_path, data_path, arrays = replays[case.distance]
            replay = (circuit_path, data_path) if case.source == "replay" else None
            profile = (os.path.join(os.path.abspath(args.profile), case.label.replace(" ", "_"))
                       if args.profile else None)  # each process writes its profile there
            q, (block_circuit, dets, preds) = measure_qplane(folder, case, seconds, replay,
                                                             args.compression, profile)
            lean = measure_lean(folder, case, seconds, circuit, arrays)
            r = {**dataclasses.asdict(case), "rounds": case.distance, "qplane": q, "lean": lean,
                 "ratio_to_lean": q["shots_per_s"] / lean["shots_per_s"],
                 "ratio_to_direct": q["shots_per_s"] / q["direct_shots_per_s"]}
            if case.block_size == LIMIT_BLOCK:
                limit = core_limit(block_circuit, dets, preds, source=case.source,
                                   decode_us_per_shot=1e6 / q["direct_shots_per_s"], wire=wire,
                                   cores=cores, compression=args.compression)
                r["core_limit"] = limit
                r["ratio_to_core_limit"] = q["shots_per_s"] / limit["shots_per_s"]
            results.append(r)
            print(_line(case, r), flush=True)
            if "core_limit" in r:
                parts = r["core_limit"]["us_per_shot"]
                print(f"    core limit ({cores} cores) {r['core_limit']['shots_per_s']:10.0f} shots/s "
                      f"({r['ratio_to_core_limit']:.2f}); us per shot: "
                      + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()), flush=True)
            if case.block_size == 1:
                print("    stages p50 / p99 / p99.9 ms: " + "; ".join(
                    f"{k} {v['p50_ms']:.3f} / {v['p99_ms']:.3f} / {v['p999_ms']:.3f}"
                    for k, v in q["stages"].items()), flush=True)
    report = {
        "benchmark": "pipeline", "format": 2, "seconds_per_case": seconds, "quick": args.quick,
        "run_file_compression": args.compression,
        "targets": {"ratio_to_lean_min": 0.8, "latency_block1_in_flight1_replay_p50_ms": 0.35,
                    "latency_block1_in_flight1_replay_p99_ms": 1.0,
                    "replay_two_workers_speedup_d5_1024_min": 1.4,
                    "ratio_to_core_limit_block1024_min": 0.8},
        "met": _met(results), "cases": results, "wire": wire,
    }
    write_results(args.out, report)
    print(f"wrote {args.out}")
    return 0


def _only(all_cases: list[Case], spec: str) -> list[Case]:
    """The cases matching ``spec`` (``key=a/b,key=c``); all for an empty spec.

    >>> [c.block_size for c in _only(cases(True), "source=replay,block_size=1024")]
    [1024, 1024]
    """
    keep = all_cases
    for part in filter(None, spec.split(",")):
        key, _, values = part.partition("=")
        if key not in Case.__dataclass_fields__:
            raise SystemExit(f"qplane bench pipeline: --only: no case key {key!r}; use one of "
                             f"{', '.join(Case.__dataclass_fields__)}")
        keep = [c for c in keep if str(getattr(c, key)) in values.split("/")]
    return keep


def _met(results: list[dict]) -> dict:
    """Each target: True / False, or None where the run had no case for it."""
    def find(**k):
        return [r for r in results if all(r[a] == v for a, v in k.items())]

    # judged with the placement a feedback loop runs with, where the run measured it
    lat = find(source="replay", block_size=1, in_flight=1, workers=1)
    lat = [r for r in lat if r.get("placement") == "latency"] or lat
    lat = [r for r in lat if r["distance"] in (3, 5)]
    one = find(source="replay", distance=5, block_size=1024, workers=1, in_flight=8)
    two = find(source="replay", distance=5, block_size=1024, workers=2, in_flight=8)
    big = [r for r in results if "ratio_to_core_limit" in r]
    return {
        "ratio_to_lean": all(r["ratio_to_lean"] >= 0.8 for r in results) if results else None,
        "latency_replay_block1": (all(r["qplane"]["latency"]["p50_ms"] <= 0.35
                                      and r["qplane"]["latency"]["p99_ms"] <= 1.0 for r in lat)
                                  if lat else None),
        "replay_two_workers_speedup": (two[0]["qplane"]["shots_per_s"]
                                       / one[0]["qplane"]["shots_per_s"] >= 1.4
                                       if one and two else None),
        "ratio_to_core_limit_block1024": (all(r["ratio_to_core_limit"] >= 0.8 for r in big)
                                          if big else None),
        "predictions_identical": all(r["qplane"]["predictions_identical"] for r in results),
    }
