"""The lean reference pipeline ``qplane bench pipeline`` compares qplane with.

The least a closed loop can do, written for the comparison and nothing else: blocks (sampled
by stim as they are needed, or pre-sampled and replayed) -> PUSH -> PyMatching worker
process(es) -> PUSH back -> applied in order (scored against the truth) -> HDF5 record of the
detection events and predictions (appended in batches). No validation, no records, no
supervision: the floor qplane's overheads are measured against. It imports nothing of qplane.

    python -m qplane.bench._lean_pipeline worker ENDPOINT_IN ENDPOINT_OUT CIRCUIT_FILE
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time

import numpy as np

_HEADER = struct.Struct("<qq")  # block seq, shots
_DONE = -1  # seq of the last message: the worker answers with its CPU seconds and stops


def worker(endpoint_in: str, endpoint_out: str, circuit_file: str) -> None:
    """Decode blocks with PyMatching until the end message; report CPU time then."""
    import pymatching
    import stim
    import zmq

    dem = stim.Circuit.from_file(circuit_file).detector_error_model(decompose_errors=True)
    matching = pymatching.Matching.from_detector_error_model(dem)
    ctx = zmq.Context()
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    pull.connect(endpoint_in)
    push.connect(endpoint_out)
    push.send_multipart([_HEADER.pack(-2, 0), b""])  # ready
    cpu0 = time.process_time()
    width = None
    while True:
        header, payload = pull.recv_multipart(copy=False)
        seq, shots = _HEADER.unpack(header.bytes)
        if seq == _DONE:
            push.send_multipart([_HEADER.pack(_DONE, 0), struct.pack("<d", time.process_time() - cpu0)])
            break
        if width is None:
            width = len(payload.buffer) // shots
        dets = np.frombuffer(payload.buffer, dtype=np.uint8).reshape(shots, width)
        preds = matching.decode_batch(dets, bit_packed_shots=True, bit_packed_predictions=True)
        push.send_multipart([header.bytes, preds])
    pull.close(linger=0)
    push.close(linger=1000)
    ctx.term()


class _Source:
    """Blocks of ``shots``: sampled now (``sim``) or sliced from pre-sampled arrays (``replay``)."""

    def __init__(self, circuit, shots: int, *, replay: tuple[np.ndarray, np.ndarray] | None,
                 seed: int = 1):
        self.shots = shots
        self.sampler = circuit.compile_detector_sampler(seed=seed)
        self.replay = replay
        self.cursor = 0

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        if self.replay is None:
            return self.sampler.sample(self.shots, separate_observables=True, bit_packed=True)
        dets, obs = self.replay
        if self.cursor + self.shots > len(dets):
            self.cursor = 0
        s = self.cursor
        self.cursor += self.shots
        return dets[s:s + self.shots], obs[s:s + self.shots]


def run(circuit, *, shots: int, seconds: float, out_path: str, workers: int = 1,
        in_flight: int = 8, replay: tuple[np.ndarray, np.ndarray] | None = None,
        folder: str) -> dict:
    """Run the loop for ``seconds``; return its counts, per-block times and CPU times."""
    import h5py
    import zmq

    circuit_file = os.path.join(folder, "lean.stim")
    circuit.to_file(circuit_file)
    ends = [f"ipc://{folder}/lean-in", f"ipc://{folder}/lean-out"]
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.bind(ends[0])
    pull.bind(ends[1])
    procs = [subprocess.Popen([sys.executable, "-m", "qplane.bench._lean_pipeline", "worker",
                               *ends, circuit_file]) for _ in range(workers)]
    for _ in procs:
        pull.recv_multipart()  # each worker is ready
    source = _Source(circuit, shots, replay=replay)
    f = h5py.File(out_path, "w")
    det_w, obs_w = (circuit.num_detectors + 7) // 8, (circuit.num_observables + 7) // 8
    d_ds = f.create_dataset("detection_events", (0, det_w), np.uint8, maxshape=(None, det_w),
                            chunks=(max(shots, 1024), det_w))
    p_ds = f.create_dataset("predictions", (0, obs_w), np.uint8, maxshape=(None, obs_w),
                            chunks=(max(shots, 1024), obs_w))
    pending: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}  # seq -> (t, dets, truth)
    done: dict[int, np.ndarray] = {}
    batch_d, batch_p, acquired, applied = [], [], [], []
    next_seq = next_apply = failures = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    t_end = t0 + seconds

    def write() -> None:
        n = sum(len(b) for b in batch_d)
        for ds, parts in ((d_ds, batch_d), (p_ds, batch_p)):
            ds.resize(ds.shape[0] + n, axis=0)
            ds[-n:] = np.concatenate(parts)
            parts.clear()

    while True:
        acquiring = time.perf_counter() < t_end
        if not acquiring and not pending:
            break
        if acquiring and len(pending) < in_flight:
            dets, truth = source.next()
            pending[next_seq] = (time.perf_counter(), dets, truth)
            push.send_multipart([_HEADER.pack(next_seq, len(dets)), dets], copy=False)
            next_seq += 1
            if not pull.poll(0):
                continue
        header, payload = pull.recv_multipart()
        seq, n = _HEADER.unpack(header)
        done[seq] = np.frombuffer(payload, np.uint8).reshape(n, obs_w)
        while next_apply in done:  # apply in order
            preds = done.pop(next_apply)
            t_acq, dets, truth = pending.pop(next_apply)
            failures += int(np.count_nonzero(np.any(preds != truth, axis=1)))
            acquired.append(t_acq)
            applied.append(time.perf_counter())
            batch_d.append(dets)
            batch_p.append(preds)
            next_apply += 1
            if len(batch_d) >= 64:
                write()
    span = time.perf_counter() - t0
    if batch_d:
        write()
    f.close()
    for _ in procs:
        push.send_multipart([_HEADER.pack(_DONE, 0), b""])
    worker_cpu = []
    for _ in procs:
        _, payload = pull.recv_multipart()
        worker_cpu.append(struct.unpack("<d", payload)[0])
    for p in procs:
        p.wait(10)
    main_cpu = time.process_time() - cpu0
    push.close(linger=0)
    pull.close(linger=0)
    ctx.term()
    return {"blocks": next_apply, "shots": next_apply * shots, "seconds": span,
            "failures": failures, "t_acquired": np.asarray(acquired),
            "t_applied": np.asarray(applied),
            "cpu_seconds": {"main": main_cpu, **{f"worker-{i}": c
                                                 for i, c in enumerate(worker_cpu)}}}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        worker(*sys.argv[2:])
    else:
        sys.exit("usage: python -m qplane.bench._lean_pipeline worker IN OUT CIRCUIT_FILE")
