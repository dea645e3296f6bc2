"""The README's calibration table: the blind generation first, and results without it still render."""

import copy
import json
import pathlib

from qplane.bench.tables import _calibration

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _results() -> dict:
    data = json.loads((ROOT / "bench" / "results" / "calibration.json").read_text())
    for n in (8, 9, 10, 11, 12, 13, 14, 15):   # each test adds the generations it is about
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


def test_the_ninth_generation_comes_first_and_the_eighth_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen9"]["per_family"] = {"rabi/shot_projection_iq": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen9.py`" in text and "`domain_gen8.py`" in text
    blind = text.index("Ninth generation, blind until measured")
    eighth = text.index("Eighth generation (looked at in session 9; blind numbers: "
                        "`bench/results/calibration_gen8_blind.json`)")
    assert blind < eighth < text.index("Seventh generation (looked at in session 7")
    assert "Eighth generation, blind until measured" not in text
    assert "| rabi/shot_projection_iq |" in text[blind:eighth]


def test_the_tenth_generation_comes_first_and_the_ninth_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9, 10):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen10"]["per_family"] = {"drag/shuffled_repeats": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen10.py`" in text and "`domain_gen9.py`" in text
    blind = text.index("Tenth generation, blind until measured")
    ninth = text.index("Ninth generation (looked at in session 10; blind numbers: "
                       "`bench/results/calibration_gen9_blind.json`)")
    assert blind < ninth < text.index("Eighth generation (looked at in session 9")
    assert "Ninth generation, blind until measured" not in text
    assert "| drag/shuffled_repeats |" in text[blind:ninth]


def test_the_eleventh_generation_comes_first_and_the_tenth_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9, 10, 11):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen11"]["per_family"] = {"echo/shot_clipped_rail": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen11.py`" in text and "`domain_gen10.py`" in text
    blind = text.index("Eleventh generation, blind until measured")
    tenth = text.index("Tenth generation (looked at in session 12; blind numbers: "
                       "`bench/results/calibration_gen10_blind.json`)")
    assert blind < tenth < text.index("Ninth generation (looked at in session 10")
    assert "Tenth generation, blind until measured" not in text
    assert "| echo/shot_clipped_rail |" in text[blind:tenth]


def test_the_twelfth_generation_comes_first_and_the_eleventh_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9, 10, 11, 12):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen12"]["per_family"] = {"t1/heralded_postselected": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen12.py`" in text and "`domain_gen11.py`" in text
    blind = text.index("Twelfth generation, blind until measured")
    eleventh = text.index("Eleventh generation (looked at in session 13; blind numbers: "
                          "`bench/results/calibration_gen11_blind.json`)")
    assert blind < eleventh < text.index("Tenth generation (looked at in session 12")
    assert "Eleventh generation, blind until measured" not in text
    assert "| t1/heralded_postselected |" in text[blind:eleventh]


def test_the_thirteenth_generation_comes_first_and_the_twelfth_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9, 10, 11, 12, 13):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen13"]["per_family"] = {"cz/square_root_grid": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen13.py`" in text and "`domain_gen12.py`" in text
    blind = text.index("Thirteenth generation, blind until measured")
    twelfth = text.index("Twelfth generation (looked at in session 13; blind numbers: "
                         "`bench/results/calibration_gen12_blind.json`)")
    assert blind < twelfth < text.index("Eleventh generation (looked at in session 13")
    assert "Twelfth generation, blind until measured" not in text
    assert "| cz/square_root_grid |" in text[blind:twelfth]


def test_the_fourteenth_generation_comes_first_and_the_thirteenth_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9, 10, 11, 12, 13, 14):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen14"]["per_family"] = {"echo/phase_cycled_difference": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen14.py`" in text and "`domain_gen13.py`" in text
    blind = text.index("Fourteenth generation, blind until measured")
    thirteenth = text.index("Thirteenth generation (looked at in session 15; blind numbers: "
                            "`bench/results/calibration_gen13_blind.json`)")
    assert blind < thirteenth < text.index("Twelfth generation (looked at in session 13")
    assert "Thirteenth generation, blind until measured" not in text
    assert "| echo/phase_cycled_difference |" in text[blind:thirteenth]


def test_the_fifteenth_generation_comes_first_and_the_fourteenth_is_a_development_set():
    data = _results()
    for n in (6, 7, 8, 9, 10, 11, 12, 13, 14, 15):
        data[f"families_gen{n}"] = copy.deepcopy(data["families_gen5"])
    data["families_gen15"]["per_family"] = {"echo/xy4_ns_grid": next(
        iter(data["families_gen5"]["per_family"].values()))}
    text = _calibration(data)
    assert "`domain_gen15.py`" in text and "`domain_gen14.py`" in text
    blind = text.index("Fifteenth generation, blind until measured")
    fourteenth = text.index("Fourteenth generation (looked at in session 15; blind numbers: "
                            "`bench/results/calibration_gen14_blind.json`)")
    assert blind < fourteenth < text.index("Thirteenth generation (looked at in session 15")
    assert "Fourteenth generation, blind until measured" not in text
    assert "| echo/xy4_ns_grid |" in text[blind:fourteenth]
