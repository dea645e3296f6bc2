"""The README's benchmark tables are the ones ``qplane bench tables`` renders from the committed
``bench/results/*.json`` (so the numbers on the front door are the measured ones)."""

import pathlib

from qplane.bench.tables import render

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_tables_match_the_committed_results():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- bench:pipeline -->" in readme
    assert render(readme, str(ROOT / "bench" / "results")) == readme, (
        "README.md's benchmark tables differ from bench/results/*.json; run `qplane bench tables --update-readme`")
