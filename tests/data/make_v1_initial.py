"""Write tests/data/run_v1_initial.h5 with the writer of commit 9175650 (schema v1 before `applied`).

Not run by the tests (the sample is committed and must never be regenerated with a newer writer).
It was made with that commit's schema and writer extracted beside this script::

    git show 9175650:qplane/runfile/schema.py > /tmp/oldq/old_schema.py
    git show 9175650:qplane/runfile/writer.py \
        | sed 's/from qplane.runfile.schema import/from old_schema import/' > /tmp/oldq/old_writer.py
    python tests/data/make_v1_initial.py tests/data/run_v1_initial.h5
"""
import json
import sys

import numpy as np

from qplane.codes import circuit_fingerprint, memory_circuit
from qplane.decoder.matching import PyMatchingDecoder


def main() -> None:
    sys.path.insert(0, "/tmp/oldq")
    from old_writer import RunFileWriter

    out = sys.argv[1]
    c = memory_circuit(distance=3, rounds=3, basis="Z", p=0.005)
    dec = PyMatchingDecoder().compile_decoder_for_dem(dem=c.detector_error_model(decompose_errors=True))
    sampler = c.compile_detector_sampler(seed=11)
    w = RunFileWriter.create(out, run_id="sample-v1-initial", config_text="qplane:\n  decoding:\n    decoder:\n      type: pymatching\n",
                             config_path="config/sim_d3.yaml", station_snapshot={"instruments": {}},
                             num_detectors=c.num_detectors, num_observables=c.num_observables,
                             qec_attrs={"distance": 3, "rounds": 3, "basis": "Z"})
    cid = circuit_fingerprint(c)
    w.append_table("/qec/circuits", circuit_id=cid.encode(), time=1.7e9, num_detectors=c.num_detectors,
                   num_observables=c.num_observables, stim_circuit=str(c))
    w.append_event(level="info", source="launcher", kind="run_start", message="started", time_=1.7e9)
    for k in range(6):
        dets, obs = sampler.sample(64, separate_observables=True, bit_packed=True)
        preds = dec.decode_shots_bit_packed(bit_packed_detection_event_data=dets)
        t = 1.7e9 + k * 0.5
        w.append_block(detection_events=dets, predictions=preds, corrections=preds, truth=obs, seq=k,
                       block_index=k, circuit_id=cid.encode(), t_acquired=t, t_decoded=t + 0.002,
                       t_applied=t + 0.003, decode_seconds=0.0004,
                       failures=int(np.any(preds != obs, axis=1).sum()), worker="decoder-0",
                       shadow_shots=8, shadow_disagreements=0)
    w.append_table("/parameters/history", time=1.7e9 + 1, parameter="qpu.physical_error_rate", old=0.004,
                   new=0.005, source="operator", details=json.dumps({}))
    w.append_event(level="info", source="launcher", kind="run_end", message="completed", time_=1.7e9 + 3)
    w.close("completed", "sample")


if __name__ == "__main__":
    main()
