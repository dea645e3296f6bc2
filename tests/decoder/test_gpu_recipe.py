"""The GPU training recipe (scripts/gpu_train.py) at toy size on the CPU."""

import json
import runpy
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_train.py"


@pytest.mark.slow
def test_the_gpu_recipe_trains_verifies_and_exports_into_its_folder(tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    out = tmp_path / "toy"
    assert main(["--out", str(out), "--toy"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verify_passed"] and summary["config"]["spec"] == "cnn-tiny"
    for name in ("train.yaml", "model.safetensors", "model.onnx", "verify.json", "latency.json"):
        assert (out / name).is_file(), name
    verify = json.loads((out / "verify.json").read_text())
    assert verify["sha256"] == summary["sha256"] and verify["claims"]
    assert json.loads((out / "latency.json").read_text())["d3/fp32"]["us_per_shot"] > 0
