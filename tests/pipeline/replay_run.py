"""Test support: a d = 3 replay run of 1-shot blocks through the real processes, and its check."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pymatching
import stim
import yaml

from qplane.codes import memory_circuit
from qplane.config import load_config
from qplane.pipeline.launcher import run_pipeline


@dataclasses.dataclass
class ReplayRun:
    """What :func:`replay_one_shot_blocks` ran: the outcome, the run file and the replayed shots."""

    outcome: object
    out: str
    circuit: stim.Circuit
    detections: np.ndarray

    def check_every_block_once_in_order(self, run) -> None:
        """Every block applied once, in order, with PyMatching's predictions on the recorded
        shots, which are the replayed ones; the file's integrity clean."""
        assert self.outcome.end_state == "completed", self.outcome.reason
        matching = pymatching.Matching.from_detector_error_model(
            self.circuit.detector_error_model(decompose_errors=True))
        blocks = run.blocks
        assert list(blocks["seq"]) == list(range(len(self.detections))) and blocks["applied"].all()
        assert (np.diff(blocks["t_applied"].to_numpy()) >= 0).all()  # applied in order
        recorded = run.read_shots("detection_events")
        want = matching.decode_batch(recorded, bit_packed_shots=True, bit_packed_predictions=True)
        assert np.array_equal(run.read_shots("predictions"), want)
        assert np.array_equal(recorded, np.packbits(self.detections, axis=1, bitorder="little"))
        assert run.integrity().problems == []


def replay_one_shot_blocks(tmp_path: pathlib.Path, *, shots: int, in_flight: int,
                           run: dict | None = None, **launch) -> ReplayRun:
    """Replay ``shots`` sampled d = 3 shots (seed 5) as 1-shot blocks, ``in_flight`` at a time,
    to one PyMatching worker; ``run`` is the config's ``qplane.run`` section, ``launch`` goes
    to :func:`run_pipeline`."""
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.01)
    circuit.to_file(str(tmp_path / "c.stim"))
    dets, obs = circuit.compile_detector_sampler(seed=5).sample(shots, separate_observables=True)
    stim.write_shot_data_file(data=np.hstack([dets, obs]), path=str(tmp_path / "s.b8"),
                              format="b8", num_detectors=circuit.num_detectors,
                              num_observables=circuit.num_observables)
    qplane = {"qpu": "qpu",
              "replay": {"source": str(tmp_path / "s.b8"), "format": "b8",
                         "circuit": str(tmp_path / "c.stim"), "observables": "appended"},
              "acquisition": {"shots_per_block": 1, "max_in_flight": in_flight},
              "decoding": {"workers": 1, "decoder": {"type": "pymatching"}}}
    if run is not None:
        qplane["run"] = run
    config = {"instruments": {"qpu": {"type": "qplane.drivers.ReplayQPU",
                                      "init": {"distance": 3, "rounds": 3, "basis": "Z"}}},
              "qplane": qplane}
    (tmp_path / "replay.yaml").write_text(yaml.safe_dump(config))
    out = str(tmp_path / "out.h5")
    outcome = run_pipeline(load_config(str(tmp_path / "replay.yaml")), out_path=out,
                           duration=None, **launch)
    return ReplayRun(outcome=outcome, out=out, circuit=circuit, detections=dets)
