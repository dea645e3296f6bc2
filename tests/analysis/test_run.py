"""open_run: round trip of what the writer wrote, laziness, live (SWMR) and killed writers."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from qplane.analysis import open_run, stats
from qplane.analysis.synthetic import append_row
from qplane.errors import RunFileError
from qplane.runfile import RunFileWriter
from tests.analysis.conftest import stepped_writer


def _write_known(path, rng):
    """A run file with random but known contents; returns what was written."""
    nd, no = 24, 1
    w = RunFileWriter.create(path, run_id="known", config_text="qplane:\n  decoding:\n    decoder:\n"
                             "      type: pymatching\n", config_path="c.yaml",
                             station_snapshot={"instruments": {"qpu": {"x": 1}}},
                             num_detectors=nd, num_observables=no,
                             qec_attrs={"distance": 3, "rounds": 3, "basis": "Z"})
    w.append_circuit(circuit_id="c0", num_detectors=nd, num_observables=no,
                     stim_circuit="M 0\nDETECTOR(1, 2, 0) rec[-1]")
    written = {"dets": [], "preds": [], "truth": [], "blocks": []}
    for k, shots in enumerate((5, 17, 9)):
        dets = rng.integers(0, 256, size=(shots, 3), dtype=np.uint8)
        preds = rng.integers(0, 2, size=(shots, 1), dtype=np.uint8)
        truth = rng.integers(0, 2, size=(shots, 1), dtype=np.uint8)
        row = w.append_acquired_block(detection_events=dets, seq=10 + k, block_index=k,
                                      circuit_id=b"c0", t_acquired=100.0 + k)
        fields = dict(t_decoded=100.25 + k, t_applied=100.5 + k, decode_seconds=0.001 * (k + 1),
                      failures=int(np.count_nonzero(preds != truth)), worker=f"w{k % 2}",
                      shadow_shots=shots // 2, shadow_disagreements=k)
        w.complete_block(row, predictions=preds, truth=truth, **fields)
        written["dets"].append(dets)
        written["preds"].append(preds)
        written["truth"].append(truth)
        written["blocks"].append({"seq": 10 + k, "block_index": k, "shots": shots,
                                  "t_acquired": 100.0 + k, **fields})
    w.append_event(level="warning", source="recorder", kind="gap", message="seq 9 missing",
                   details={"missing_seq": 9}, time_=101.0)
    append_row(w, "/calibration/runs", time=101.5, node="ramsey", qubit="q1", outcome="success",
               reason="", experiment=json.dumps({"kind": "ramsey"}), sweep=np.linspace(0, 1, 5),
               signal=np.arange(5.0), fit=json.dumps({"parameters": {"t2": 3e-5}}),
               verdict=json.dumps({"class": "expected"}),
               figure_png=np.frombuffer(b"\x89PNG", dtype=np.uint8))
    w.append_table("/parameters/history", time=101.6, parameter="q1.frequency", old=5.0e9,
                   new=5.001e9, source="ramsey", details=json.dumps({"true_value": 5.0011e9}))
    w.close("completed", "test finished")
    return written


def test_round_trip_counts_values_and_dtypes(tmp_path):
    path = tmp_path / "known.h5"
    written = _write_known(path, np.random.default_rng(0))
    with open_run(path) as run:
        assert (run.run_id, run.end_state, run.end_reason) == ("known", "completed", "test finished")
        assert run.config["qplane"]["decoding"]["decoder"]["type"] == "pymatching"
        assert run.decoder == "pymatching"
        assert run.station_snapshot == {"instruments": {"qpu": {"x": 1}}}
        assert run.versions["numpy"] == np.__version__
        assert run.num_shots == 31
        blocks = run.blocks
        assert list(blocks.index) == [0, 1, 2]
        for (_, got), want in zip(blocks.iterrows(), written["blocks"]):
            for key, value in want.items():
                assert got[key] == value, key
        assert blocks["applied"].dtype == bool and blocks["failures"].dtype == np.int64
        assert blocks["t_acquired"].dtype == np.float64
        np.testing.assert_allclose(blocks["latency_s"], [0.5, 0.5, 0.5])
        ds = run.shots()
        assert ds.detection_events.dtype == bool and ds.detection_events.shape == (31, 24)
        np.testing.assert_array_equal(
            ds.detection_events.values,
            np.unpackbits(np.concatenate(written["dets"]), axis=1, bitorder="little").astype(bool))
        np.testing.assert_array_equal(ds.predictions.values[:, 0],
                                      np.concatenate(written["preds"])[:, 0].astype(bool))
        np.testing.assert_array_equal(ds.truth.values[:, 0],
                                      np.concatenate(written["truth"])[:, 0].astype(bool))
        assert list(np.unique(ds.block.values)) == [0, 1, 2]
        packed = run.shots(unpack=False)
        assert packed.detection_events.dtype == np.uint8
        np.testing.assert_array_equal(packed.detection_events.values, np.concatenate(written["dets"]))
        events = run.events
        assert list(events["kind"]) == ["gap"] and events["details"][0] == {"missing_seq": 9}
        cal = run.calibration
        assert cal["node"][0] == "ramsey" and cal["fit"][0]["parameters"]["t2"] == 3e-5
        np.testing.assert_array_equal(cal["sweep"][0], np.linspace(0, 1, 5))
        assert "figure_png" not in cal.columns  # figures are read one by one, on demand
        assert run.calibration_figure(0) == b"\x89PNG" and run.calibration_figure(1) == b""
        params = run.parameters
        assert (params["old"][0], params["new"][0], params["source"][0]) == (5.0e9, 5.001e9, "ramsey")
        traces = stats.parameter_traces(run)
        assert sorted(traces["kind"]) == ["setting", "truth"]
        assert run.integrity().problems == []


def test_shots_selects_the_blocks_asked_for(sample_run):
    with open_run(sample_run) as run:
        blocks = run.blocks
        ds = run.shots(blocks=slice(3, 5))
        assert ds.sizes["shot"] == int(blocks["shots"].iloc[3:5].sum())
        assert set(ds.block.values) == set(blocks.index[3:5])
        assert ds.shot.values[0] == blocks["shot_start"].iloc[3]
        assert not np.isnan(ds.x.values).any()  # detector coordinates from the stored circuit
        with pytest.raises(RunFileError):
            run.shots(blocks=slice(0, 1), shots=slice(0, 1))


def test_open_reads_no_shot_data(sample_run, monkeypatch):
    reads = []
    original = h5py.Dataset.__getitem__

    def counting(self, key, **kwargs):
        reads.append(self.name)
        return original(self, key, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    run = open_run(sample_run)
    assert reads == []
    run.summary()  # tables only
    assert not any(name.startswith("/qec/detection") or name in ("/qec/truth", "/qec/predictions")
                   for name in reads)
    run.close()


def test_unapplied_blocks_stay_out_of_rates(sample_run):
    with open_run(sample_run) as run:
        blocks = run.blocks
        assert not blocks["applied"].iloc[-1] and blocks["applied"].iloc[:-1].all()
        overall = stats.overall_logical_error_rate(run)
        assert overall["n"] == int(blocks["shots"].iloc[:-1].sum())
        integ = run.integrity()
        assert integ.unapplied_blocks == 1
        assert integ.seq_gaps == ((4, 1),)
        assert any("never corrected" in p for p in integ.problems)


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(RunFileError, match="no run file"):
        open_run(tmp_path / "nope.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(RunFileError, match="cannot open"):
        open_run(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["schema"] = "something.else"
    with pytest.raises(RunFileError, match="not a qplane run file"):
        open_run(tmp_path / "other.h5")



def test_a_string_with_a_nul_is_recorded_with_the_nul_spelled_out(tmp_path):
    # found by the recorder fuzz test: a forged record whose source holds a NUL failed both
    # its stream row and the event rejecting it (h5py refuses NULs in variable-length strings)
    path = tmp_path / "nul.h5"
    w = RunFileWriter.create(path, run_id="nul", config_text="", config_path="c.yaml",
                             station_snapshot={}, num_detectors=24, num_observables=1,
                             qec_attrs={"distance": 3, "rounds": 3, "basis": "Z"})
    w.append_event(level="warning", source="\x00K", kind="rejected_record", message="a\x00b")
    w.append_stream(source="\x00K", kind="syndrome", sent=1, recorded=0)
    w.close("completed", "test finished")
    with h5py.File(path, "r") as f:
        event = f["/events"][-1]
        assert (event["source"].decode(), event["message"].decode()) == ("\\x00K", "a\\x00b")
        assert f["/streams"][-1]["source"].decode() == "\\x00K"


@pytest.mark.slow  # starts a writer process
def test_reads_a_run_while_it_is_written(tmp_path):
    path = str(tmp_path / "live.h5")
    with stepped_writer(path, blocks=8, pauses=(2, 5)) as proc:
        assert proc.stdout.readline().strip() == "2"
        run = open_run(path)
        assert run.state == "unfinished" and len(run.blocks) == 3
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "5"
        assert len(run.blocks) == 6  # the same open Run sees the new blocks
        assert run.num_shots == 6 * 64
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "closed"
        assert proc.wait(timeout=60) == 0  # the open reader did not stop the writer closing
        assert run.end_state == "completed"  # seen through /status
        assert len(run.blocks) == 8
        run.close()


@pytest.mark.slow  # starts a writer process and kills it
def test_file_of_a_killed_writer_opens_and_says_what_it_holds(killed_run):
    path, last_flushed = killed_run
    with open_run(path) as run:
        assert run.state == "unfinished"
        integ = run.integrity()
        assert not integ.finished
        assert integ.complete_blocks >= last_flushed + 1
        assert integ.shots_in_blocks == integ.complete_blocks * 128
        assert "writer was killed" in integ.problems[0]
        rate = stats.logical_error_rate(run, windows=3)
        assert rate["n"].sum() == int(run.blocks.query("applied")["shots"].sum()) > 0
        assert len(run.calibration) >= 2


@pytest.mark.slow  # a real 3-second qplane run (shared with the report test)
def test_round_trip_of_a_real_pipeline_run(pipeline_run):
    from qplane.decoder.matching import PyMatchingDecoder

    with h5py.File(pipeline_run, "r") as f:
        raw_blocks = f["qec/blocks"][:]
        raw = {name: f[f"qec/{name}"][:] for name in ("detection_events", "predictions", "truth")}
        assert "corrections" not in f["qec"]  # schema v2: the correction applied is the prediction
        end_state = f.attrs["end_state"]
    with open_run(pipeline_run) as run:
        assert run.end_state == end_state == "completed"
        blocks = run.blocks
        assert len(blocks) == len(raw_blocks) > 0
        for field in ("seq", "block_index", "shot_start", "shots", "failures", "shadow_shots",
                      "shadow_disagreements"):
            np.testing.assert_array_equal(blocks[field].to_numpy(), raw_blocks[field])
            assert blocks[field].dtype == np.int64
        for field in ("t_acquired", "t_decoded", "t_applied", "decode_seconds"):
            np.testing.assert_array_equal(blocks[field].to_numpy(), raw_blocks[field])
        assert run.num_shots == len(raw["detection_events"]) == int(raw_blocks["shots"].sum())
        packed = run.shots(unpack=False)
        for name, values in raw.items():
            np.testing.assert_array_equal(packed[name].values, values)
            assert packed[name].dtype == np.uint8
        np.testing.assert_array_equal(packed["corrections"].values, raw["predictions"])
        # The recorded predictions are PyMatching's on the recorded detection events, with the
        # circuit stored in the file; the recorded failures are corrections against truth.
        circuit = run.circuit()
        decoder = PyMatchingDecoder().compile_decoder_for_dem(
            dem=circuit.detector_error_model(decompose_errors=True))
        first = slice(0, int(raw_blocks["shots"][0]))
        np.testing.assert_array_equal(
            decoder.decode_shots_bit_packed(bit_packed_detection_event_data=raw["detection_events"][first]),
            raw["predictions"][first])
        applied = blocks["applied"].to_numpy()
        recount = stats.failures_per_block(run, source="shots").to_numpy()
        np.testing.assert_array_equal(recount, raw_blocks["failures"][applied])
        assert run.integrity().seq_gaps == ()
