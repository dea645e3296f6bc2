"""Write tests/data/run_v3.h5: a tiny run of schema v3 written with the RunFileWriter directly.

Run once when schema v2 was introduced; the file is committed and must never be regenerated with
a newer writer (it stands for what the v2 writer produced)::

    python tests/data/make_v3.py tests/data/run_v3.h5

Contents: what run_v2.h5 holds, plus what is new in v3: one ``/noise/models`` row (a model
learned by decoder-0 from 2,000 shots, decoding the blocks from seq 2 on). The v2 contents: a d=3 memory circuit, four
blocks of 32 shots decoded by PyMatching (predictions = the corrections applied, no
``/qec/corrections``), run start/end events, one calibration-node run, one two-setting update
whose rows share an ``update`` id, simulated truth in ``/simulation/truth`` and one
``/streams`` row per record stream, every count matching.
"""
import json
import sys

import numpy as np

from qplane.decoder.matching import PyMatchingDecoder
from qplane.runfile import SCHEMA_VERSION, RunFileWriter, writer
from qplane.codes import circuit_fingerprint, memory_circuit

T0 = 1.7e9


def main(out: str) -> None:
    if SCHEMA_VERSION != 3:
        raise SystemExit(f"this script writes schema v3; the writer is at v{SCHEMA_VERSION}")
    # Small table chunks keep the sample tiny (the writer's 256-row chunks take ~20 kB per
    # table even when nearly empty); chunking is storage, not layout: readers never see it.
    writer._TABLE_CHUNK_ROWS = 8
    c = memory_circuit(distance=3, rounds=3, basis="Z", p=0.005)
    dec = PyMatchingDecoder().compile_decoder_for_dem(dem=c.detector_error_model(decompose_errors=True))
    sampler = c.compile_detector_sampler(seed=21)
    w = RunFileWriter.create(
        out, run_id="sample-v3", config_text="qplane:\n  decoding:\n    decoder:\n      type: pymatching\n",
        config_path="config/sim_d3.yaml", station_snapshot={"instruments": {}},
        num_detectors=c.num_detectors, num_observables=c.num_observables,
        qec_attrs={"decoder": "pymatching", "distance": 3, "rounds": 3, "basis": "Z"})
    cid = circuit_fingerprint(c)
    w.append_circuit(circuit_id=cid, num_detectors=c.num_detectors,
                     num_observables=c.num_observables, stim_circuit=str(c))
    w.append_event(level="info", source="launcher", kind="run_start", message="started", time_=T0)
    w.append_truth(setting="q0.pi_amplitude", value=1.0, device_time=0.0, time_=T0)
    w.append_truth(setting="q0.drive_frequency", value=5.0e9, device_time=0.0, time_=T0)
    for k in range(4):
        dets, obs = sampler.sample(32, separate_observables=True, bit_packed=True)
        preds = dec.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        t = T0 + k * 0.5
        row = w.append_acquired_block(detection_events=dets, seq=k, block_index=k,
                                      circuit_id=cid.encode(), t_acquired=t)
        w.complete_block(row, predictions=preds, truth=obs, t_decoded=t + 0.002, t_applied=t + 0.003,
                         decode_seconds=0.0004, failures=int(np.any(preds != obs, axis=1).sum()),
                         worker="decoder-0", shadow_shots=4, shadow_disagreements=0)
    from qplane.noise import learn_noise

    dem = c.detector_error_model(decompose_errors=True)
    learned = learn_noise(dem.compile_sampler(seed=5).sample(2000, bit_packed=True)[0], dem,
                          estimator="full", min_shots=1000, groups=4, version=1)
    w.append_table("/noise/models", time=T0 + 0.9, learned_at=T0 + 0.8, worker="decoder-0",
                   version=1, first_seq=2, circuit_id=cid.encode(),
                   model_hash=learned.hash.encode(), estimator=learned.estimator,
                   shots=learned.shots, window_start=0, window_stop=learned.shots,
                   kept_nominal=learned.kept_nominal, probabilities=learned.probabilities,
                   lower=learned.lower, upper=learned.upper,
                   details=json.dumps({"reasons": learned.reasons}))
    w.append_table("/calibration/runs", time=T0 + 1, node="rabi_amplitude", qubit="q0",
                   outcome="success", reason="", experiment=json.dumps({"kind": "rabi", "shots": 200}),
                   sweep=np.linspace(0.0, 2.0, 5), signal=np.array([0.0, 0.5, 1.0, 0.5, 0.0]),
                   fit=json.dumps({"parameters": {"pi_amplitude": 1.02}}),
                   verdict=json.dumps({"class": "expected"}), figure_png=np.zeros(0, np.uint8))
    for parameter, old, new in (("q0.pi_amplitude", 1.0, 1.02), ("q0.drive_frequency", 5.0e9, 5.0001e9)):
        w.append_table("/parameters/history", time=T0 + 1.1, parameter=parameter, old=old, new=new,
                       source="instrument_server", node="rabi_amplitude", update="u-0001",
                       details=json.dumps({"fit_uncertainty": 0.01}))
    w.append_truth(setting="q0.pi_amplitude", value=1.03, device_time=60.0, time_=T0 + 1.5)
    for source, kind, n in (("instrument_server", "syndrome", 4), ("instrument_server", "applied", 4),
                            ("decoder-0", "correction", 4)):
        w.append_stream(source=source, kind=kind, sent=n, recorded=n, first_seq=0, last_seq=n - 1,
                        time_=T0 + 2.5)
    w.append_event(level="info", source="launcher", kind="run_end", message="completed", time_=T0 + 3)
    w.close("completed", "sample")


if __name__ == "__main__":
    main(sys.argv[1])
