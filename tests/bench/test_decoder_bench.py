"""``qplane bench decoder`` on a few shots: every row, pair, backend timing and target is there."""

import json

import pytest

from qplane.bench.decoder import BACKENDS, run_benchmark
from qplane.decoder.model_store import file_sha256, shipped_models

# Both tests compile the same networks on the same DEMs: identical ONNX exports and int8
# quantisations are made once (tests/bench/conftest.py).
pytestmark = pytest.mark.usefixtures("onnx_graph_cache")


def test_a_small_decoder_benchmark_writes_every_comparison(tmp_path):
    out = tmp_path / "decoder.json"
    results = run_benchmark(shots=60, distances=(3,), out=str(out),
                            markdown=str(tmp_path / "decoder.md"))
    assert json.loads(out.read_text())["rows"] == results["rows"]
    decoders = {r["decoder"] for r in results["rows"] if r["p"] == 0.005}
    assert {"pymatching-correlated", "neural-correlated", "neural-correlated-int8"} <= decoders
    pairs = {(c["a"], c["b"]) for c in results["comparisons"]}
    # Correlated PyMatching is the baseline of every neural row; int8 is checked against fp32.
    for name in ("neural", "neural-correlated", "neural-clear", "neural-correlated-int8"):
        assert (name, "pymatching-correlated") in pairs
    assert ("neural-correlated-int8", "neural-correlated") in pairs
    timing = results["timing"]["3"]
    for backend, precision in BACKENDS:
        for threads in (1, 2):
            assert timing[f"network {backend} {precision}/batch1024/threads{threads}"][
                "network_us_per_shot"] > 0
    if "d3-fast" in shipped_models():  # the distilled model's rows, where it is shipped
        for backend, precision in BACKENDS:
            row = timing[f"fast network {backend} {precision}/batch1024/threads1"]
            assert row["network_us_per_shot"] > 0 and row["network_cpu_us_per_shot"] > 0
        # the same int8 network as a 3D graph, beside the 2D (planar) one the decoder uses
        assert timing["fast network onnx int8 3d graph/batch1024/threads1"][
            "network_cpu_us_per_shot"] > 0
        # ... and its int8 network decodes every test shot with both matchers beside the fp32
        # network (the LER half of the cost target), pinned by its own sha256
        fast_rows = [r for r in results["rows"] if r["decoder"].startswith("neural-fast")]
        assert {r["decoder"] for r in fast_rows} == {"neural-fast", "neural-fast-correlated"}
        assert all(r["model"] == "d3-fast" and r["shots"] == 120 for r in fast_rows)
        assert {r["model_sha256"] for r in fast_rows} == {file_sha256(shipped_models()["d3-fast"])}
        assert {("neural-fast", "neural"), ("neural-fast-correlated", "neural-correlated"),
                ("neural-fast-correlated", "pymatching-correlated")} <= pairs
    assert any(t["target"].startswith("int8 network") for t in results["targets"])
    assert "neural-correlated-int8" in (tmp_path / "decoder.md").read_text()
    # neural-soft (network + Tesseract) beside Tesseract alone, on the same shots
    if any(r["decoder"] == "tesseract" for r in results["rows"]):
        assert ("neural-soft", "pymatching-correlated") in pairs
        assert ("neural-soft", "tesseract") in pairs
        soft = [r for r in results["rows"] if r["decoder"] == "neural-soft"]
        assert soft and all(0 <= r["gated_fraction"] <= 1 for r in soft)
        assert "residual_us_per_shot" in timing["neural-soft/batch1024"]
        assert timing["tesseract/batch256"]["total_us_per_shot"] > 0
        assert any(t["target"].startswith("neural-soft never") for t in results["targets"])


def test_a_merged_decoder_benchmark_keeps_each_distances_shot_count(tmp_path):
    out = tmp_path / "decoder.json"
    old_row = {"distance": 5, "p": 0.005, "decoder": "pymatching"}
    json.dump({"rows": [old_row], "comparisons": [], "timing": {}, "models": {}, "seconds": 1,
               "shots_per_basis": 20000}, out.open("w"))
    results = run_benchmark(shots=40, distances=(3,), out=str(out), merge=True)
    assert results["shots_per_basis"] == {"3": 40, "5": 20000}
    assert {r["distance"] for r in results["rows"]} == {3, 5}
