"""neural-soft's gate (fractions, thresholds), temperature scaling, the d = 7 config and rows."""

import numpy as np
import pytest

from qplane.codes import memory_circuit
from qplane.decoder.site_priors import fit_temperature, site_bce
from qplane.errors import DecoderError

pytest.importorskip("tesseract_decoder")


@pytest.fixture(scope="module")
def d3():
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.006)
    return circuit, circuit.detector_error_model(decompose_errors=True)


def _compiled(dem, gate_fraction):
    from qplane.decoder.neural_soft import NeuralSoftDecoder

    return NeuralSoftDecoder(model="d3", device="cpu", gate_fraction=gate_fraction,
                             beam="short").compile_decoder_for_dem(dem=dem)


def test_gate_fractions_order_the_gated_shots(d3):
    from qplane.decoder.neural_soft import GATE_SEED, GATE_SHOTS, uncertainty

    circuit, dem = d3
    events = circuit.compile_detector_sampler(seed=21).sample(300)
    gates = {}
    for f in (0.0, 0.05, 0.2, 1.0):
        compiled = _compiled(dem, f)
        logits = compiled.neural.site_logits(events)
        gates[f], _ = compiled.gate(events, logits)
        if 0 < f < 1:  # the threshold gates about f of the decoder's own DEM-sampled shots
            calib = dem.compile_sampler(seed=GATE_SEED).sample(GATE_SHOTS)[0]
            share = np.mean(uncertainty(compiled.neural.site_logits(calib))
                            >= compiled.gate_threshold)
            assert abs(share - f) < 0.01
    assert compiled.gate_threshold == -np.inf and gates[1.0].all()
    assert _compiled(dem, 0.0).gate_threshold == np.inf
    # more fraction, never fewer shots: each gate holds the one below it
    for lo, hi in ((0.0, 0.05), (0.05, 0.2), (0.2, 1.0)):
        assert np.all(gates[hi] | ~gates[lo])
    assert gates[0.0].sum() < gates[0.2].sum() < len(events)


def test_temperature_scaling_recovers_a_known_temperature_and_lowers_the_loss():
    rng = np.random.default_rng(1)
    z = rng.normal(-3.0, 3.0, size=(3000, 10))
    y = (rng.random(z.shape) < 1 / (1 + np.exp(-(z / 3.0 + 0.5)))).astype(np.uint8)
    t, b = fit_temperature(z, y)
    assert 2.6 < t < 3.4 and 0.3 < b < 0.7
    assert site_bce(z / t + b, y) < site_bce(z, y)
    # non-finite logits are tolerated, empty or mismatched inputs are errors
    z[0, 0] = np.nan
    assert np.isfinite(fit_temperature(z, y)[0])
    with pytest.raises(DecoderError, match="one non-empty shape"):
        fit_temperature(z, y[:, :3])
    with pytest.raises(DecoderError, match="one non-empty shape"):
        fit_temperature(np.zeros((0, 4)), np.zeros((0, 4)))


def test_the_d7_config_runs_neural_soft_on_the_shipped_d7_model():
    from pathlib import Path

    from qplane.config import load_config
    from qplane.decoder.model_file import file_sha256, resolve_model_path

    cfg = load_config(Path(__file__).parents[2] / "config" / "sim_d7_neural_soft.yaml")
    decoder = cfg.qplane.decoding.decoder
    options = decoder.options.kwargs()
    assert decoder.type == "neural-soft" and options["model"] == "d7"
    assert options["sha256"] == file_sha256(resolve_model_path("d7"))
    assert 0 <= options["gate_fraction"] <= 0.05  # Tesseract sees only a few % of the shots
    assert cfg.station["instruments"]["qpu"]["init"]["distance"] == 7


def test_the_bench_has_the_d7_neural_soft_target():
    from qplane.bench.decoder import SOFT_DISTANCES, evaluate_targets

    assert 7 in SOFT_DISTANCES
    comparison = {"distance": 7, "p": 0.003, "a": "neural-soft", "b": "pymatching-correlated",
                  "errors_a": 50, "errors_b": 80, "only_a_wrong": 5, "only_b_wrong": 35,
                  "mcnemar_p": 1e-6, "ler_ratio_b_over_a": 1.6}
    targets = {t["target"]: t["met"] for t in evaluate_targets([comparison], [])}
    assert targets["neural-soft (network + Tesseract) >= 1.15x better than correlated "
                   "PyMatching, significant, d=7 p=0.003"] is True
    assert targets["neural-soft never significantly worse than correlated PyMatching, "
                   "d=7 p=0.003"] is True


def _run_study_script(name, tmp_path, **options):
    """Load ``scripts/NAME.py`` (its folder on the path, for the scripts' own imports) and run
    it on 300 d = 3, p = 0.006 Z-basis validation shots; returns the module and its npz."""
    import argparse
    import importlib.util
    import sys
    from pathlib import Path

    import torch

    folder = Path(__file__).parents[2] / "scripts"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        study = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(study)
    finally:
        sys.path.remove(str(folder))
    out = tmp_path / "s.npz"
    threads = torch.get_num_threads()
    try:
        study.run(argparse.Namespace(distance=3, p=0.006, basis="Z", split="validation",
                                     shots=300, out=str(out), **options))
    finally:
        torch.set_num_threads(threads)
    return study, np.load(out)

def test_the_gate_study_replicates_the_decoder_shot_for_shot(tmp_path):
    """scripts/neural_soft_study.py's network gate is exactly neural-soft's (same threshold rule,
    same Tesseract), so its ablation numbers are the decoder's."""
    from qplane.decoder.neural_soft import NeuralSoftDecoder

    study, z = _run_study_script("neural_soft_study", tmp_path, model="d3", beam="short",
                                 max_fraction=0.05)
    masks = study.gate_masks(z)
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.006)
    dem = circuit.detector_error_model(decompose_errors=True)
    events, obs = circuit.compile_detector_sampler(
        seed=study.seed_for("validation", 3, 0.006, "Z")).sample(300, separate_observables=True)
    for f in (0.0, 0.05):
        compiled = NeuralSoftDecoder(model="d3", device="cpu", gate_fraction=f,
                                     beam="short").compile_decoder_for_dem(dem=dem)
        predictions, gated = compiled.decode_events(events)
        gate = masks[f"network (disagree + uncertainty) f={f:g}"]
        assert np.array_equal(gate, gated)
        fail = np.where(gate, z["tess_fail"], z["cpm_fail"])
        assert np.array_equal(fail, (predictions[:, 0] & 1).astype(bool) != obs[:, 0])
    assert np.all(z["decoded"] | ~masks["both f=0.05"])  # every gate lies inside the union


def test_the_gate_score_study_replicates_the_shipped_gate(tmp_path):
    """scripts/neural_soft_scores.py's "shipped" gate is neural-soft's, shot for shot."""
    from qplane.decoder.neural_soft import NeuralSoftDecoder

    study, z = _run_study_script("neural_soft_scores", tmp_path, model="d3",
                                 fast_model="d3-fast", max_fraction=0.005, scores=None)
    masks = study.gate_masks(z)
    circuit = memory_circuit(distance=3, rounds=3, basis="Z", p=0.006)
    dem = circuit.detector_error_model(decompose_errors=True)
    events = circuit.compile_detector_sampler(
        seed=study.seed_for("validation", 3, 0.006, "Z")).sample(300)
    compiled = NeuralSoftDecoder(model="d3", device="cpu", gate_fraction=0.005,
                                 beam="short").compile_decoder_for_dem(dem=dem)
    _, gated = compiled.decode_events(events)
    assert np.array_equal(masks["shipped: disagree + uncertainty f=0.005"], gated)
    assert np.all(z["decoded"] | ~gated)
    assert np.all((z["wrong"] >= 0) & (z["wrong"] <= 1))
