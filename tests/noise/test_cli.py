"""``qplane noise learn`` and ``qplane noise compare`` on a stim sample file and a run file."""

from __future__ import annotations

import json

import stim

from qplane.cli import main
from qplane.codes import memory_circuit
from qplane.noise import LearnedNoise


def test_learn_from_stim_samples_writes_a_dem_and_compare_reads_it(tmp_path, capsys):
    c = memory_circuit(distance=3, rounds=2, basis="Z", p=0.004)
    (tmp_path / "c.stim").write_text(str(c))
    dets = c.compile_detector_sampler(seed=2).sample(5000)
    stim.write_shot_data_file(data=dets, path=str(tmp_path / "s.01"), format="01",
                              num_detectors=c.num_detectors)
    out = tmp_path / "learned.dem"
    assert main(["noise", "learn", str(tmp_path / "s.01"), "--circuit", str(tmp_path / "c.stim"),
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "shots 5,000" in text and "vs nominal" in text
    learned = stim.DetectorErrorModel(out.read_text())
    model = LearnedNoise.from_dict(json.loads((tmp_path / "learned.dem.json").read_text()))
    assert model.to_dem() == learned and model.shots == 5000
    assert main(["noise", "compare", str(tmp_path / "c.stim"), str(out), "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert c["only_a"] == c["only_b"] == 0 and c["common"] > 0


def test_learn_from_a_run_file_prints_its_card(tmp_path, capsys):
    from qplane.analysis import write_synthetic_run

    path = write_synthetic_run(tmp_path / "r.h5", blocks=4, shots_per_block=500,
                               calibration_every=0)
    assert main(["noise", "learn", path, "--estimator", "pairwise", "--min-shots", "500",
                 "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["shots"] == 2000 and card["estimator"] == "pairwise" and card["format"] == "runfile"


def test_learn_no_shrink_gives_the_plain_fit(tmp_path, capsys):
    c = memory_circuit(distance=3, rounds=2, basis="Z", p=0.004)
    (tmp_path / "c.stim").write_text(str(c))
    dets = c.compile_detector_sampler(seed=3).sample(5000)
    stim.write_shot_data_file(data=dets, path=str(tmp_path / "s.01"), format="01",
                              num_detectors=c.num_detectors)
    cards = []
    for extra in ([], ["--no-shrink"]):
        assert main(["noise", "learn", str(tmp_path / "s.01"), "--circuit",
                     str(tmp_path / "c.stim"), "--json", *extra]) == 0
        cards.append(json.loads(capsys.readouterr().out))
    assert "shrunk_to_pairwise" in cards[0]["reasons"]
    assert "shrunk_to_pairwise" not in cards[1]["reasons"]


def test_learn_prior_chooses_the_shrinkage_prior(tmp_path, capsys):
    c = memory_circuit(distance=3, rounds=2, basis="Z", p=0.004)
    (tmp_path / "c.stim").write_text(str(c))
    dets = c.compile_detector_sampler(seed=3).sample(5000)
    stim.write_shot_data_file(data=dets, path=str(tmp_path / "s.01"), format="01",
                              num_detectors=c.num_detectors)
    out = {}
    for prior in ("mixture", "normal"):
        assert main(["noise", "learn", str(tmp_path / "s.01"), "--circuit",
                     str(tmp_path / "c.stim"), "--prior", prior,
                     "--out", str(tmp_path / f"{prior}.dem")]) == 0
        capsys.readouterr()
        out[prior] = (tmp_path / f"{prior}.dem").read_text()
    assert out["mixture"] != out["normal"]
