"""Inputs: stim's sample formats (with a circuit or a DEM file), run files and arrays."""

from __future__ import annotations

import numpy as np
import pytest
import stim

from qplane.codes import memory_circuit
from qplane.errors import QplaneError
from qplane.noise import learn_noise, read_samples, samples_from_arrays

CIRCUIT = memory_circuit(distance=3, rounds=2, basis="Z", p=0.004)
DEM = CIRCUIT.detector_error_model(decompose_errors=True)


@pytest.fixture(scope="module")
def shots():
    dets, obs = CIRCUIT.compile_detector_sampler(seed=4).sample(3008, separate_observables=True)  # 47 x 64 (ptb64)
    return dets, obs


@pytest.mark.parametrize("fmt", ["b8", "01", "ptb64", "r8", "hits"])
@pytest.mark.parametrize("model", ["circuit", "dem"])
def test_stim_formats_read_exactly(tmp_path, shots, fmt, model):
    dets, _ = shots
    path = tmp_path / f"shots.{fmt}"
    stim.write_shot_data_file(data=dets, path=str(path), format=fmt,
                              num_detectors=CIRCUIT.num_detectors)
    (tmp_path / "c.stim").write_text(str(CIRCUIT))
    (tmp_path / "m.dem").write_text(str(DEM))
    kw = {"circuit": tmp_path / "c.stim"} if model == "circuit" else {"dem": tmp_path / "m.dem"}
    s = read_samples(path, **kw)
    assert s.format == fmt and s.shots == len(dets)
    np.testing.assert_array_equal(
        np.unpackbits(s.detection_events, axis=1, bitorder="little",
                      count=CIRCUIT.num_detectors).astype(bool), dets)
    assert s.dem.num_detectors == CIRCUIT.num_detectors


def test_appended_observables_are_split_off(tmp_path, shots):
    dets, obs = shots
    path = tmp_path / "s.b8"
    stim.write_shot_data_file(data=np.concatenate([dets, obs], axis=1), path=str(path),
                              format="b8", num_detectors=CIRCUIT.num_detectors,
                              num_observables=CIRCUIT.num_observables)
    (tmp_path / "c.stim").write_text(str(CIRCUIT))
    s = read_samples(path, circuit=tmp_path / "c.stim", append_observables=True)
    assert np.array_equal(np.unpackbits(s.observables, axis=1, bitorder="little", count=1)
                          .astype(bool), obs)
    np.testing.assert_array_equal(
        s.detection_events, np.packbits(dets, axis=1, bitorder="little"))


def test_bad_inputs_say_how_to_fix(tmp_path):
    (tmp_path / "c.stim").write_text(str(CIRCUIT))
    with pytest.raises(QplaneError, match="circuit .* or the DEM"):
        read_samples(tmp_path / "x.b8")
    with pytest.raises(QplaneError, match="unknown sample format"):
        read_samples(tmp_path / "x.csv", circuit=tmp_path / "c.stim")
    (tmp_path / "bad.01").write_text("0101\n")
    with pytest.raises(QplaneError, match="cannot read"):
        read_samples(tmp_path / "bad.01", circuit=tmp_path / "c.stim")


def test_a_run_file_gives_its_shots_and_circuit(tmp_path):
    from qplane.analysis import write_synthetic_run

    path = write_synthetic_run(tmp_path / "r.h5", blocks=4, shots_per_block=200,
                               calibration_every=0)
    s = read_samples(path, start=100, stop=700)
    assert s.format == "runfile" and s.shots == 600 and s.window == (100, 700)
    assert s.detection_events.shape[1] == (s.dem.num_detectors + 7) // 8
    m = learn_noise(s.detection_events, s.dem, min_shots=100, window=s.window, source=s.source)
    assert m.window == (100, 700) and m.source == s.source


def test_arrays_booleans_and_packed_agree(shots):
    dets, _ = shots
    a = samples_from_arrays(dets, DEM)
    b = samples_from_arrays(np.packbits(dets, axis=1, bitorder="little"), DEM)
    np.testing.assert_array_equal(a.detection_events, b.detection_events)
    ma, mb = (learn_noise(x.detection_events, DEM, min_shots=100) for x in (a, b))
    np.testing.assert_array_equal(ma.probabilities, mb.probabilities)
