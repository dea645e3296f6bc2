"""The README's calibration table: the blind generation first, and results without it still render."""

import copy
import json
import pathlib

import pytest

from qplane.bench.tables import _calibration

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _results() -> dict:
    data = json.loads((ROOT / "bench" / "results" / "calibration.json").read_text())
    for n in (8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18):   # each test adds the generations it is about
        data.pop(f"families_gen{n}", None)
    return data


def test_results_without_a_sixth_generation_render_as_before():
    data = _results()
    data.pop("families_gen6", None)
    text = _calibration(data)
    assert "domain_gen6.py" not in text and "Sixth generation" not in text
    assert "Fifth generation, blind until measured" in text


def test_the_sixth_generation_comes_first_as_the_blind_one():
    data = _results()
    data.pop("families_gen7", None)   # results from before the seventh generation existed
    data["families_gen6"] = copy.deepcopy(data["families_gen5"])
    data["families_gen6"]["per_family"] = {"rabi/symmetric_counts": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen6.py`" in text
    blind = text.index("Sixth generation, blind until measured")
    assert blind < text.index("Fifth generation (looked at before session 6)")
    assert "| rabi/symmetric_counts |" in text[blind:text.index("Fifth generation")]


def test_the_seventh_generation_comes_first_and_the_sixth_is_a_development_set():
    data = _results()
    data["families_gen6"] = copy.deepcopy(data["families_gen5"])
    data["families_gen7"] = copy.deepcopy(data["families_gen5"])
    data["families_gen7"]["per_family"] = {"t1/reference_ratio": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen7.py`" in text and "`domain_gen6.py`" in text
    blind = text.index("Seventh generation (blind until its one measurement")
    assert blind < text.index("Sixth generation (looked at before session 7)")
    assert "Sixth generation, blind until measured" not in text
    assert "| t1/reference_ratio |" in text[blind:text.index("Sixth generation")]


def test_the_eighth_generation_comes_first_as_the_blind_one():
    data = _results()
    data["families_gen6"] = copy.deepcopy(data["families_gen5"])
    data["families_gen7"] = copy.deepcopy(data["families_gen5"])
    data["families_gen8"] = copy.deepcopy(data["families_gen5"])
    data["families_gen8"]["per_family"] = {"drag/if_leakage_iq": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen8.py`" in text and "`domain_gen7.py`" in text
    blind = text.index("Eighth generation, blind until measured")
    seventh = text.index("Seventh generation (looked at in session 7; blind numbers: "
                         "`bench/results/calibration_gen7_blind.json`)")
    assert blind < seventh < text.index("Sixth generation (looked at before session 7)")
    assert "Seventh generation (blind until" not in text
    assert "| drag/if_leakage_iq |" in text[blind:seventh]


@pytest.mark.parametrize("n, blind_label, previous_label, after_previous, family", [
    (9, "Ninth generation, blind until measured",
     "Eighth generation (looked at in session 9; blind numbers: "
     "`bench/results/calibration_gen8_blind.json`)",
     "Seventh generation (looked at in session 7", "rabi/shot_projection_iq"),
    (10, "Tenth generation, blind until measured",
     "Ninth generation (looked at in session 10; blind numbers: "
     "`bench/results/calibration_gen9_blind.json`)",
     "Eighth generation (looked at in session 9", "drag/shuffled_repeats"),
    (11, "Eleventh generation, blind until measured",
     "Tenth generation (looked at in session 12; blind numbers: "
     "`bench/results/calibration_gen10_blind.json`)",
     "Ninth generation (looked at in session 10", "echo/shot_clipped_rail"),
    (12, "Twelfth generation, blind until measured",
     "Eleventh generation (looked at in session 13; blind numbers: "
     "`bench/results/calibration_gen11_blind.json`)",
     "Tenth generation (looked at in session 12", "t1/heralded_postselected"),
    (13, "Thirteenth generation, blind until measured",
     "Twelfth generation (looked at in session 13; blind numbers: "
     "`bench/results/calibration_gen12_blind.json`)",
     "Eleventh generation (looked at in session 13", "cz/square_root_grid"),
    (14, "Fourteenth generation, blind until measured",
     "Thirteenth generation (looked at in session 15; blind numbers: "
     "`bench/results/calibration_gen13_blind.json`)",
     "Twelfth generation (looked at in session 13", "echo/phase_cycled_difference"),
    (15, "Fifteenth generation, blind until measured",
     "Fourteenth generation (looked at in session 15; blind numbers: "
     "`bench/results/calibration_gen14_blind.json`)",
     "Thirteenth generation (looked at in session 15", "echo/xy4_ns_grid"),
    (16, "Sixteenth generation, blind until measured",
     "Fifteenth generation (looked at in session 16; blind numbers: "
     "`bench/results/calibration_gen15_blind.json`)",
     "Fourteenth generation (looked at in session 15", "rabi/unequal_shot_counts"),
    (17, "Seventeenth generation, blind until measured",
     "Sixteenth generation (looked at in session 16; blind numbers: "
     "`bench/results/calibration_gen16_blind.json`)",
     "Fifteenth generation (looked at in session 16", "cz/uint8_exported_population"),
    (18, "Eighteenth generation, blind until measured",
     "Seventeenth generation (looked at in session 16; blind numbers: "
     "`bench/results/calibration_gen17_blind.json`)",
     "Sixteenth generation (looked at in session 16", "cz/readout_offset_linear_drift"),
])
def test_the_newest_generation_comes_first_and_the_one_before_is_a_development_set(
        n, blind_label, previous_label, after_previous, family):
    data = _results()
    for k in range(6, n + 1):
        data[f"families_gen{k}"] = copy.deepcopy(data["families_gen5"])
    data[f"families_gen{n}"]["per_family"] = {family: next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert f"`domain_gen{n}.py`" in text and f"`domain_gen{n - 1}.py`" in text
    blind = text.index(blind_label)
    previous = text.index(previous_label)
    assert blind < previous < text.index(after_previous)
    assert previous_label.split(" (")[0] + ", blind until measured" not in text
    assert f"| {family} |" in text[blind:previous]
