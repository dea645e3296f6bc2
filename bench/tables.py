"""Rebuild the README's benchmark tables from bench/results/*.json.

Each table sits in README.md between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``;
this script replaces what is between the markers with a table rendered from
``bench/results/NAME.json``. A results file that is missing leaves its table as it is.

    python bench/tables.py
"""

from __future__ import annotations

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(os.path.dirname(HERE), "README.md")


def _pipeline(data: dict) -> str:
    t = data["targets"]
    lines = [
        f"Closed loop (3 processes over ipc://, {data['seconds_per_case']:g} s per case, "
        f"{data['machine']['cpus']} CPUs) vs PyMatching decoding the same recorded blocks directly in "
        f"one process. Targets: ratio ≥ {t['throughput_ratio_at_1024']} at block 1024; p99 < "
        f"{t['latency_p99_ms_at_block_1']} ms at block 1.",
        "",
        "| d | block | in flight | pipeline shots/s | direct shots/s | ratio | latency p50 (ms) | latency p99 (ms) | identical predictions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["results"]:
        lines.append(
            f"| {r['distance']} | {r['block_size']} | {r['max_in_flight']} | {r['pipeline_shots_per_s']:,.0f} | "
            f"{r['direct_shots_per_s']:,.0f} | {r['throughput_ratio']:.2f} | {r['latency_p50_ms']:.2f} | "
            f"{r['latency_p99_ms']:.2f} | {'yes' if r['predictions_identical'] else 'NO'} |"
        )
    return "\n".join(lines)


RENDERERS = {"pipeline": _pipeline}


def render(readme: str, results_dir: str = os.path.join(HERE, "results")) -> str:
    """README text with every table whose results file exists re-rendered."""
    for name, renderer in RENDERERS.items():
        path = os.path.join(results_dir, f"{name}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            table = renderer(json.load(f))
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(<!-- /bench:{name} -->)", re.S)
        readme = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), readme)
    return readme


def main() -> int:
    with open(README) as f:
        text = f.read()
    new = render(text)
    with open(README, "w") as f:
        f.write(new)
    print("README tables " + ("updated" if new != text else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
