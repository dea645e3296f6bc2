"""Synthetic run files: real stim shots and real PyMatching decoding, written without the pipeline.

For tests, examples, benchmarks and the stored sample files: :func:`write_synthetic_run` writes
a run file through :class:`~qplane.runfile.RunFileWriter` exactly as the recorder does, with

- detection events sampled by stim from a rotated-surface-code memory circuit whose noise
  follows a drifting calibration (the simulated pi-amplitude error raises ``p``),
- predictions from PyMatching (correlated matching on the nominal circuit's DEM), applied
  unchanged as corrections, scored against stim's true observable flips,
- a shadow decoder (plain PyMatching) on a fraction of the shots, counting disagreements,
- a ``rabi_amplitude`` calibration node every few blocks (sweep, fit, outcome) whose update
  goes into the parameter history with the old value, and the simulated true value recorded
  alongside in ``/simulation/truth``.

What is synthetic: the clock (block ``k`` is acquired at ``t0 + k * seconds_per_block``, decode
time is the measured PyMatching time, transport a fixed 0.5 ms) and the calibration physics.

>>> import tempfile, os, h5py
>>> path = write_synthetic_run(os.path.join(tempfile.mkdtemp(), "r.h5"), blocks=2,
...                            shots_per_block=32, calibration_every=1)
>>> with h5py.File(path) as f:
...     print(f["qec/detection_events"].shape, len(f["calibration/runs"]), f.attrs["end_state"])
(64, 3) 1 completed
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
import stim

from qplane.codes import circuit_fingerprint, memory_circuit
from qplane.decoder import PyMatchingDecoder
from qplane.runfile import RunFileWriter

#: Relative noise increase per unit squared pi-amplitude error (the toy calibration coupling).
_MISCALIBRATION_GAIN = 400.0
_TRANSPORT_S = 0.0005
_APPLY_S = 0.0003


def append_row(writer: RunFileWriter, table: str, **fields) -> None:
    """``writer.append_table(table, **fields)`` with array fields (``sweep``, ``signal``,
    ``figure_png``) given as plain 1-D arrays.

    Writers that assign fields into a one-row array need each array wrapped in a one-element
    object array instead; this tries the plain form first (nothing is written when a row
    cannot be built) and falls back to the wrapped one.
    """
    try:
        writer.append_table(table, **fields)
    except ValueError:
        wrapped = {}
        for key, value in fields.items():
            if isinstance(value, np.ndarray) and value.dtype != object:
                cell = np.empty(1, dtype=object)
                cell[0] = value
                value = cell
            wrapped[key] = value
        writer.append_table(table, **wrapped)


def _rabi_fit(amplitudes: np.ndarray, signal: np.ndarray) -> tuple[float, float, float]:
    """Fit P(1) = A sin^2(pi a / (2 a_pi)) + B; returns (a_pi, its uncertainty, reduced chi2)."""
    from scipy.optimize import curve_fit

    def model(a, a_pi, amp, offset):
        return amp * np.sin(np.pi * a / (2 * a_pi)) ** 2 + offset

    guess = (float(amplitudes[np.argmax(signal)]), 1.0, 0.0)
    popt, pcov = curve_fit(model, amplitudes, signal, p0=guess, maxfev=5000)
    resid = signal - model(amplitudes, *popt)
    chi2 = float(np.sum(resid**2) / max(1, len(signal) - 3) / 0.02**2)
    return float(popt[0]), float(math.sqrt(max(pcov[0, 0], 0.0))), chi2


def write_synthetic_run(
    path: str | os.PathLike,
    *,
    distance: int = 3,
    rounds: int | None = None,
    basis: str = "Z",
    p: float = 0.003,
    blocks: int = 20,
    shots_per_block: int = 256,
    seed: int = 0,
    drift: float = 0.04,
    seconds_per_block: float = 1.0,
    t0: float = 1.7e9,
    calibration_every: int = 5,
    shadow_fraction: float = 0.25,
    workers: Sequence[str] = ("decoder-0", "decoder-1"),
    skip_seqs: Sequence[int] = (),
    unapplied_tail: int = 0,
    correlated: bool = True,
    flush_every: int = 1,
    end_state: str | None = "completed",
    on_block: Callable[[int], None] | None = None,
) -> str:
    """Write a run file of ``blocks`` blocks and return its path.

    Args:
        path: where to create it (must not exist).
        distance, rounds, basis, p: the surface-code memory experiment (``rounds`` defaults to
            ``distance``); ``p`` is the noise of the perfectly calibrated device.
        blocks, shots_per_block: how much to sample.
        seed: seeds stim and the calibration noise; the same seed writes the same data.
        drift: how far the true pi amplitude drifts over the run (relative).
        seconds_per_block: spacing of the synthetic clock.
        t0: acquisition time of block 0 (UNIX seconds).
        calibration_every: run the calibration node every this many blocks (0: never).
        shadow_fraction: fraction of each block's shots also decoded by the shadow decoder.
        workers: names of the decoding workers, assigned round-robin.
        skip_seqs: sequence numbers to leave out (with a ``gap`` event), to make gaps.
        unapplied_tail: leave the last this many blocks acquired but never corrected.
        correlated: primary decoder is correlated PyMatching (else plain PyMatching).
        flush_every: flush (make visible to SWMR readers) every this many blocks.
        end_state: how to close the file; ``None`` leaves it open and unfinished (the caller
            is expected to kill the process: this is how a crashed writer is made).
        on_block: called with the block number after each flush.
    """
    rounds = distance if rounds is None else rounds
    rng = np.random.default_rng(seed)
    nominal = memory_circuit(distance=distance, rounds=rounds, basis=basis, p=p)
    dem = nominal.detector_error_model(decompose_errors=True)
    primary = PyMatchingDecoder(correlated=correlated).compile_decoder_for_dem(dem=dem)
    primary_name = "pymatching-correlated" if correlated else "pymatching"
    shadow = PyMatchingDecoder().compile_decoder_for_dem(dem=dem)
    circuit_id = circuit_fingerprint(nominal)
    config = {  # the shape of config/sim_d3.yaml
        "instruments": {"qpu": {"type": "qplane.sim_instruments.qpu.SimulatedQPU",
                                "init": {"distance": distance, "rounds": rounds, "basis": basis,
                                         "physical_error_rate": p, "seed": seed}}},
        "qplane": {"qpu": "qpu", "acquisition": {"shots_per_block": shots_per_block},
                   "decoding": {"workers": len(workers),
                                "decoder": {"type": primary_name},
                                "shadow_fraction": shadow_fraction}},
        "synthetic": {"drift": drift, "seconds_per_block": seconds_per_block},
    }
    import yaml

    writer = RunFileWriter.create(
        path, run_id=f"synthetic-d{distance}-s{seed}", config_text=yaml.safe_dump(config),
        config_path="<synthetic>", station_snapshot={"instruments": {"qpu": {"parameters": {
            "distance": {"value": distance}, "physical_error_rate": {"value": p}}}}},
        num_detectors=nominal.num_detectors, num_observables=nominal.num_observables,
        qec_attrs={"decoder": primary_name, "basis": basis, "distance": distance,
                   "rounds": rounds, "shadow_decoder": "pymatching"},
    )
    writer.append_table("/qec/circuits", circuit_id=circuit_id.encode(), time=t0,
                        num_detectors=nominal.num_detectors,
                        num_observables=nominal.num_observables, stim_circuit=str(nominal))
    writer.append_event(level="info", source="launcher", kind="run_start",
                        message="synthetic run started", time_=t0)
    for name in workers:
        writer.append_event(level="info", source=name, kind="worker_start",
                            message=f"{name} started", time_=t0)
    setting, truth = 1.0, 1.0
    writer.append_truth(setting="q0.pi_amplitude", value=truth, device_time=t0, time_=t0)
    sampler_cache: dict[float, stim.CompiledDetectorSampler] = {}
    seq = 0
    for k in range(blocks):
        t_acq = t0 + k * seconds_per_block
        truth = 1.0 + drift * k / max(1, blocks - 1)
        if calibration_every and k % calibration_every == 0 and k > 0:
            writer.append_truth(setting="q0.pi_amplitude", value=truth, device_time=t_acq,
                                time_=t_acq)
            amps = np.linspace(0.0, 2.0, 41)
            signal = np.sin(np.pi * amps / (2 * truth)) ** 2 + rng.normal(0, 0.02, len(amps))
            a_pi, err, chi2 = _rabi_fit(amps, signal)
            ok = err < 0.02 and 0.0 < a_pi < 2.0
            outcome = "success" if ok else "fit_failed"
            append_row(
                writer, "/calibration/runs", time=t_acq, node="rabi_amplitude", qubit="q0",
                outcome=outcome, reason="" if ok else f"uncertainty {err:.3g} too large",
                experiment=json.dumps({"kind": "rabi", "shots": 200, "units": "V"}),
                sweep=amps, signal=signal,
                fit=json.dumps({"parameters": {"pi_amplitude": a_pi},
                                "uncertainties": {"pi_amplitude": err}, "reduced_chi2": chi2}),
                verdict=json.dumps({"class": "expected"}),
                figure_png=np.zeros(0, dtype=np.uint8),
            )
            if ok:
                writer.append_table("/parameters/history", time=t_acq + 0.2,
                                    parameter="q0.pi_amplitude", old=setting, new=a_pi,
                                    source="rabi_amplitude",
                                    details=json.dumps({"fit_uncertainty": err,
                                                        "true_value": truth}))
                setting = a_pi
        p_now = round(p * (1 + _MISCALIBRATION_GAIN * (setting - truth) ** 2), 6)
        if p_now not in sampler_cache:
            actual = memory_circuit(distance=distance, rounds=rounds, basis=basis, p=p_now)
            sampler_cache[p_now] = actual.compile_detector_sampler(seed=seed + len(sampler_cache))
        dets, obs = sampler_cache[p_now].sample(shots_per_block, separate_observables=True,
                                                bit_packed=True)
        t_start = time.perf_counter()
        preds = primary.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        decode_s = time.perf_counter() - t_start
        n_shadow = int(round(shadow_fraction * shots_per_block))
        shadow_preds = shadow.decode_shots_bit_packed(bit_packed_detection_event_data=dets[:n_shadow])
        disagree = int(np.count_nonzero(np.any(shadow_preds != preds[:n_shadow], axis=1)))
        failures = int(np.count_nonzero(np.any(preds != obs, axis=1)))
        while seq in skip_seqs:
            writer.append_event(level="warning", source="recorder", kind="gap",
                                message=f"syndrome record seq {seq} never arrived",
                                details={"missing_seq": seq}, time_=t_acq)
            seq += 1
        t_dec = t_acq + _TRANSPORT_S + decode_s
        row = writer.append_acquired_block(
            detection_events=dets, seq=seq, block_index=k, circuit_id=circuit_id.encode(),
            t_acquired=t_acq,
        )
        if k < blocks - unapplied_tail:
            writer.complete_block(
                row, predictions=preds, truth=obs, t_decoded=t_dec,
                t_applied=t_dec + _APPLY_S, decode_seconds=decode_s, failures=failures,
                worker=workers[k % len(workers)], shadow_shots=n_shadow,
                shadow_disagreements=disagree,
            )
        seq += 1
        if (k + 1) % flush_every == 0 or k == blocks - 1:
            writer.flush()
            if on_block is not None:
                on_block(k)
    if end_state is None:
        return writer.path
    t_end = t0 + blocks * seconds_per_block
    writer.append_event(level="info", source="launcher", kind="run_end",
                        message=f"synthetic run {end_state}", time_=t_end)
    out = writer.path
    writer.close(end_state, f"synthetic run of {blocks} blocks")
    return out
