"""``qplane bench tables``: check or rebuild the README's benchmark tables from bench/results/*.json.

Each table sits in README.md between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``;
this replaces what is between the markers with a table rendered from
``bench/results/NAME.json``. A results file that is missing leaves its table as it is. Run it
from the repository root (or name the files with ``--readme`` and ``--results``)::

    qplane bench tables                   # check: exit 1 if the tables are stale
    qplane bench tables --update-readme   # rewrite them in README.md

>>> text = "<!-- bench:sim -->\\nold\\n<!-- /bench:sim -->\\n"
>>> render(text, results_dir="/nonexistent") == text
True
"""

from __future__ import annotations

import argparse
import json
import os
import re

from qplane.bench.calibration import GENERATION_SEED_OFFSET, generation_name


def _placement(row: dict) -> str:
    """A pipeline row's qplane placement preset, where it is not the default (``auto``)."""
    preset = row.get("placement", "none")
    return "" if preset == "auto" else f" (placement {preset})"


def _hit(faults: list[dict]) -> list[str]:
    """The processes a resilience run's faults hit, with how often (``recorder x2``)."""
    hits: dict[str, int] = {}
    for f in faults:
        if f.get("process"):
            name = f["process"].split(".")[0]  # a restarted decoder-0.r1 is decoder-0
            hits[name] = hits.get(name, 0) + 1
    return [f"{name} x{n}" for name, n in sorted(hits.items())]


def _compression_note(compression: str | None) -> str:
    """How qplane's run file was compressed in a pipeline results file, said in the table."""
    if compression is None:
        return "qplane's run file: its default compression (lzf); the lean reference's: none."
    if compression == "none":
        return ("Both write their run file uncompressed (qplane's own default is lzf: "
                "`--compression lzf` measures that).")
    return f"qplane's run file compressed with {compression}; the lean reference's: none."


def _pipeline_v2(data: dict) -> list[str]:
    """The table of a format-2 results file: qplane beside the lean reference and PyMatching."""
    loads = [r["qplane"]["other_load"] for r in data["cases"] if r["qplane"]["other_load"] is not None]
    load = (f"other processes kept {min(loads):.1f}–{max(loads):.1f} of the "
            f"{data['machine']['cpus']} cores busy during the runs" if loads else "load unknown")
    lines = [
        f"qplane's closed loop vs the lean reference (`qplane.bench._lean_pipeline`) and PyMatching "
        f"alone on the same blocks, {data['seconds_per_case']:g} s per case, "
        f"{data['machine']['cpus']} CPUs; {load}. Source `sim`: the simulated QPU; `replay`: the "
        "replay source. Latency acquired → applied (ms); CPU µs per block of qplane's decoder(s) "
        "and of the lean worker(s). Targets: qplane ≥ 0.8 of lean; replay block 1, 1 in flight: "
        "p50 ≤ 0.35 ms, p99 ≤ 1 ms; replay 2 workers ≥ 1.4× one at d = 5 block 1024. "
        + _compression_note(data.get("run_file_compression")),
        "",
        "| source | d | block | workers | in flight | qplane shots/s | lean shots/s | ratio | "
        "PyMatching alone | qplane p50 / p99 / p99.9 | lean p50 / p99 | qplane decoder µs/block "
        "| other load (cores) | identical |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["cases"]:
        q, lean = r["qplane"], r["lean"]
        ql, ll = q["latency"], lean["latency"]
        dec = sum(v for k, v in q["cpu_us_per_block"].items() if k.startswith("decoder"))
        load = "" if q["other_load"] is None else f"{q['other_load']:.2f}"
        lines.append(
            f"| {r['source']} | {r['distance']} | {r['block_size']} | {r['workers']} | "
            f"{r['in_flight']}{_placement(r)} | {q['shots_per_s']:,.0f} | {lean['shots_per_s']:,.0f} | "
            f"{r['ratio_to_lean']:.2f} | {q['direct_shots_per_s']:,.0f} | {ql['p50_ms']:.2f} / "
            f"{ql['p99_ms']:.2f} / {ql['p999_ms']:.2f} | {ll['p50_ms']:.2f} / {ll['p99_ms']:.2f} | "
            f"{dec:.0f} | {load} | {'yes' if q['predictions_identical'] else 'NO'} |")
    limits = [r for r in data["cases"] if "core_limit" in r]
    if limits:
        lines += ["", "Core limit at block 1024 (the most shots/s the cores could carry for the "
                  "same work, `qplane.bench.pipeline.core_limit`; target: qplane ≥ 0.8 of it):", "",
                  "| source | d | workers | core limit shots/s | qplane / limit | µs per shot: "
                  "acquire / decode / record / wire |", "|---|---|---|---|---|---|"]
        for r in limits:
            parts = r["core_limit"]["us_per_shot"]
            lines.append(f"| {r['source']} | {r['distance']} | {r['workers']}{_placement(r)} | "
                         f"{r['core_limit']['shots_per_s']:,.0f} | {r['ratio_to_core_limit']:.2f} | "
                         + " / ".join(f"{parts[k]:.3f}" for k in ("acquire", "decode", "record",
                                                                   "wire")) + " |")
    return lines


def _pipeline(data: dict) -> str:
    t = data["targets"]
    if data.get("format") == 2:
        return "\n".join(_pipeline_v2(data) + _wire(data))
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
    return "\n".join(lines + _wire(data))


def _wire(data: dict) -> list[str]:
    lines: list[str] = []
    if data.get("wire"):
        lines += [
            "",
            "Wire cost per record (`qplane.records`, msgspec), best of three, µs:",
            "",
            "| record | shots | build + validate + encode | decode + validate | total |",
            "|---|---|---|---|---|",
        ]
        for w in data["wire"]:
            lines.append(f"| {w['kind']} | {w['shots']} | {w['build_encode_us']:.1f} | "
                         f"{w['decode_us']:.1f} | {w['total_us']:.1f} |")
    return lines


def _sim(data: dict) -> str:
    t = data["targets"]
    cpu = ", thread CPU time" if data.get("rows_timing", "").startswith("thread CPU") else ""
    lines = [
        f"Simulated QPU with per-qubit noise vs stim sampling the uniform-noise circuit of the same size "
        f"(1024-shot blocks, rounds = d{cpu}). Targets: ratio < {t['ratio_per_qubit_over_uniform_max']}; "
        f"rebuild < {t['rebuild_ms_at_d5_max']:g} ms at d = 5.",
        "",
        "| d | per-qubit QPU shots/s | rounds/s | stim uniform shots/s | ratio | sampling-only ratio | rebuild after a setting change (median ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        lines.append(
            f"| {r['distance']} | {r['per_qubit_shots_per_second']:,.0f} | {r['per_qubit_rounds_per_second']:,.0f} | "
            f"{r['uniform_shots_per_second']:,.0f} | {r['ratio_per_qubit_over_uniform']:.2f} | "
            f"{r['ratio_sampling_only']:.2f} | {r['rebuild_ms_median']:.1f} |")
    if data.get("acquisition_vs_stim"):
        lines += ["", *_sim_acquisition(data)]
    return "\n".join(lines)


def _sim_acquisition(data: dict) -> list[str]:
    """The sim table's second part: ``acquire_block()`` against stim sampling the same circuit
    per block size (results without ``noise_model`` or wall-clock columns: the device model,
    timing as written then)."""
    rows = data["acquisition_vs_stim"]
    target = data["targets"].get("acquisition_over_stim_same_circuit_max", 1.5)
    timing = data.get("acquisition_timing", "wall-clock time")
    load = data.get("acquisition_load") or {}
    other = load.get("other_load_cores")
    said = (f"; other processes kept {other:.1f} of {data['machine'].get('cpus', '?')} cores "
            f"busy meanwhile" if other is not None else "")
    lines = [
        f"The simulated QPU's `acquire_block()` (what the instrument server calls per block) vs "
        f"stim sampling the very circuit the QPU runs "
        f"(`sample(block, separate_observables=True, bit_packed=True)`), per block size "
        f"({timing}{said}). "
        f"Target: ratio ≤ {target:g} at every block size.",
        "",
        "| d | noise model | block | QPU µs/block | stim µs/block | ratio | wall-clock ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        wall = f"{r['ratio_wall']:.2f}" if "ratio_wall" in r else "–"
        lines.append(f"| {r['distance']} | {r.get('noise_model', 'device')} | {r['block_size']} | "
                     f"{r['qpu_us_per_block']:.1f} | {r['stim_us_per_block']:.1f} | "
                     f"{r['ratio']:.2f} | {wall} |")
    return lines


def _family_lines(f: dict, label: str, compared: str = "the compared model") -> list[str]:
    lines = [
        f"{label} ({f['cases']} cases): gate accepts {f['gate_accepts_good']:.3f} of good data, "
        f"rejects {f['gate_rejects_bad']:.3f} of bad; within 2σ {f['within_2sigma']:.3f}; Rabi "
        f"|bias| mean {f['rabi_bias_abs_mean']:.4f}, max {f['rabi_bias_abs_max']:.4f}; second "
        f"opinion {f['model_class_accuracy']:.3f}"
        + (f" ({compared}: {f['compare_model_class_accuracy']:.3f})"
           if "compare_model_class_accuracy" in f else "") + ".",
    ]
    o = f.get("first_families")
    if o:
        lines += ["", f"The first session's {o['cases']} cases alone (the later families added "
                  f"since): gate accepts {o['gate_accepts_good']:.3f} of good data, rejects "
                  f"{o['gate_rejects_bad']:.3f} of bad; within 2σ {o['within_2sigma']:.3f}; "
                  f"Rabi |bias| max {o['rabi_bias_abs_max']:.4f}; second opinion "
                  f"{o['model_class_accuracy']:.3f}."]
    lines += [
        "",
        "| held-out family | data | cases | gate accepts | within 2σ | second opinion |"
        + (" compared model |" if "compare_model_class_accuracy" in f else ""),
        "|---|---|---|---|---|---|" + ("---|" if "compare_model_class_accuracy" in f else ""),
    ]
    for name, r in f["per_family"].items():
        w = r["within_2sigma"]
        c = r.get("compare_model_class_accuracy")
        lines.append(f"| {name} | {'good' if r['mode'] == 'ok' else 'bad: ' + r['mode']} | "
                     f"{r['cases']} | {r['gate_accepts']:.2f} | "
                     f"{'–' if w != w else f'{w:.2f}'} | {r['model_class_accuracy']:.2f} |"
                     + (f" {c:.2f} |" if c is not None else ""))
    return lines


#: the generations from the eighth on, each blind until the next one was written, by name
_GENERATION_NAMES = {n: generation_name(n).capitalize()
                     for n in range(8, max(GENERATION_SEED_OFFSET) + 1)}
#: generation -> the session that first tuned on it after its one blind measurement
_LOOKED_AT = {8: 9, 9: 10, 10: 12, 11: 13, 12: 13, 13: 15, 14: 15, 15: 16, 16: 16, 17: 16}


def _calibration(data: dict) -> str:
    f, t = data["families"], data["targets"]
    # the compared model by its file name (results before session 10 did not record it)
    compared = (f"the compared model `{data['compare_model']}`" if "compare_model" in data
                else "the compared model")
    gens = {n: data.get(f"families_gen{n}") for n in range(6, max(_GENERATION_NAMES) + 1)}
    g6, g7 = gens[6], gens[7]
    files = "`domain_gen4.py`, `domain_gen5.py`" + "".join(
        f", `domain_gen{i}.py`" for i, g in gens.items() if g)
    lines = [
        "Analysis (fit + gate) and the learned second opinion on held-out families of sweeps never "
        f"used for tuning or training (`qplane/calibration/domain.py`, {files}). Targets: "
        f"gate accepts ≥ {t['gate_accepts_good']:.0%} of good data and rejects "
        f"{t['gate_rejects_bad']:.0%} of bad; fitted value within 2σ of truth on ≥ "
        f"{t['within_2sigma']:.0%}; Rabi bias < {t['rabi_bias_abs_max']:.0%}; second opinion ≥ "
        f"{t['model_class_accuracy']:.0%}.",
        "",
    ]
    # the newest first: blind until the next one exists, a development set after
    for n in sorted(_GENERATION_NAMES, reverse=True):
        if gens[n]:
            name = _GENERATION_NAMES[n]
            label = (f"{name} generation (looked at in session {_LOOKED_AT[n]}; blind numbers: "
                     f"`bench/results/calibration_gen{n}_blind.json`)" if gens.get(n + 1)
                     else f"{name} generation, blind until measured")
            lines += _family_lines(gens[n], label, compared) + [""]
    if g7:
        lines += _family_lines(g7, (
            "Seventh generation (looked at in session 7; blind numbers: "
            "`bench/results/calibration_gen7_blind.json`)") if gens[8] else (
            "Seventh generation (blind until its one measurement in session 7, "
            "`bench/results/calibration_gen7_blind.json`; two fixes found on it since: a Rabi "
            "read as the ground population, fit errors of a signal in tiny units)"),
            compared) + [""]
    if g6:
        lines += _family_lines(g6, "Sixth generation (looked at before session 7)" if g7
                               else "Sixth generation, blind until measured", compared) + [""]
    g5 = data.get("families_gen5")
    if g5:
        lines += _family_lines(g5, "Fifth generation (looked at before session 6)" if g6
                               else "Fifth generation, blind until measured", compared) + [""]
    g4 = data.get("families_gen4")
    if g4:
        lines += _family_lines(g4, "Fourth generation (looked at before session 5)" if g5
                               else "Fourth generation, blind until measured", compared) + [""]
    lines += _family_lines(f, "Earlier generations (looked at before session 4)", compared)
    lines += ["", "| node set | cases | model class accuracy | gate alone | bad data accepted "
              "(gate / model / both) |", "|---|---|---|---|---|"]
    for name, r in data["sets"].items():
        b = r["bad_accepted"]
        lines.append(
            f"| {name} | {r['cases']} | {r['model_class_accuracy']:.3f} | "
            f"{r['gate_class_accuracy']:.3f} | {b['gate_alone']} / {b['model_alone']} / "
            f"{b['gate_and_model']} of {r['bad_data_cases']} |")
    qec = data.get("qec_nodes")
    if qec:
        lines += ["", "QEC-lab nodes on the simulated lab (each sweep spoiled: too few points, "
                  "shots or sweep moved off the feature; model judging each as the trained kind "
                  "of its shape, `classifier.KIND_ANALOGUES`):", "",
                  "| node | asks the second opinion | cases | model class accuracy | model "
                  "accepts what it should | gate accepts what it should |", "|---|---|---|---|---|---|"]
        cmp = any("compare_model_class_accuracy" in r for r in qec.values())
        if cmp:
            lines[-2] += " compared model: class / accepts what it should |"
            lines[-1] += "---|"
        for name, r in qec.items():
            lines.append(f"| {name} | {'yes' if r['asks_second_opinion'] else 'no'} | "
                         f"{r['cases']} | {r['model_class_accuracy']:.2f} | "
                         f"{r['model_accept_accuracy']:.2f} | {r['gate_accept_accuracy']:.2f} |"
                         + (f" {r['compare_model_class_accuracy']:.2f} / "
                            f"{r['compare_model_accept_accuracy']:.2f} |" if cmp else ""))
    return "\n".join(lines)


def _closed_loop(data: dict) -> str:
    lines = [
        "One drifting distance-5 device and seed (X-basis memory), the fixed schedule swept over its period. "
        "Targets: qplane's loop within 1.15× of the perfectly calibrated LER, and no fixed period with both "
        "a lower LER and less device time.",
        "",
        "| scenario | mode | LER | vs perfect | worst window | calibration device time (s) | updates |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, scenario in data["scenarios"].items():
        for mode, r in scenario["summary"].items():
            if mode in ("targets", "dominated_by"):
                continue
            label = f"fixed every {float(mode[6:]) / 60:g} min" if mode.startswith("fixed@") else mode
            lines.append(
                f"| {name} | {label} | {r['ler']:.4f} | {r['ler_vs_perfect']:.2f}× | {r['worst_window_ler']:.4f} | "
                f"{r['calibration_device_s']:.0f} | {r['updates']} |")
        targets = scenario["summary"].get("targets", {})
        if targets:
            lines.append(f"| {name} | targets | " + ", ".join(
                f"{k.replace('_', ' ')}: {'met' if v else 'NOT met'}" for k, v in targets.items())
                + " | | | | |")
    return "\n".join(lines)


def _analysis(data: dict) -> str:
    f, r = data["file"], data["results"]
    return "\n".join([
        f"A run file of {f['shots']:,} shots at d = {f['distance']} ({f['bytes'] / 1e6:.0f} MB), "
        "`qplane.analysis` beside plain h5py reading the same raw datasets (medians).",
        "",
        "| measurement | qplane | plain h5py | ratio | target |",
        "|---|---|---|---|---|",
        f"| open | {r['open']['ours_s'] * 1e3:.2f} ms | {r['open']['h5py_open_s'] * 1e3:.2f} ms | | < 1 s |",
        f"| LER per window (block counts) | {r['ler_windows_from_blocks']['ours_s'] * 1e3:.1f} ms | "
        f"{r['ler_windows_from_blocks']['baseline_h5py_read_s'] * 1e3:.1f} ms | "
        f"{r['ler_windows_from_blocks']['ratio']:.2f}× | ≤ 2× |",
        f"| LER per window (recounted per shot) | {r['ler_windows_from_shots']['ours_s']:.2f} s | "
        f"{r['ler_windows_from_shots']['baseline_h5py_read_s']:.2f} s | "
        f"{r['ler_windows_from_shots']['ratio']:.2f}× | ≤ 2× |",
    ])


def _decoder(data: dict) -> str:
    lines = [
        "Fresh test shots (never training or validation shots), circuit-level depolarizing noise, both "
        "bases pooled, rounds = d. Errors of the two decoders on the same shots, the shots only one of "
        "them gets wrong, and McNemar's exact p.",
        "",
        "| d | p | shots | A | B | errors A / B | only A wrong / only B wrong | McNemar p | LER ratio B/A |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in data["comparisons"]:
        ratio = "–" if c["ler_ratio_b_over_a"] is None else f"{c['ler_ratio_b_over_a']:.3f}"  # 0 errors
        lines.append(
            f"| {c['distance']} | {c['p']} | {c['shots']:,} | {c['a']} | {c['b']} | {c['errors_a']} / {c['errors_b']} | "
            f"{c['only_a_wrong']} / {c['only_b_wrong']} | {c['mcnemar_p']:.2g} | {ratio} |")
    lines += ["", "| target | errors (ours / baseline) | ratio | met |", "|---|---|---|---|"]
    for t in data["targets"]:
        errors = "/".join(str(e) for e in t.get("errors", [])) or t.get("detail", "")
        extra = f", residual −{t['residual_reduction']:.0%}" if "residual_reduction" in t else ""
        ratio = f"{t['ratio']:.3f}" if "ratio" in t else ""
        lines.append(f"| {t['target']} | {errors}{extra} | {ratio} | {'yes' if t['met'] else '**no**'} |")
    lines += ["", "CPU time per shot (one thread, batch 1024):", "",
              "| d | decoder | network µs/shot | matching µs/shot | total µs/round |", "|---|---|---|---|---|"]
    for d, entries in data["timing"].items():
        for name, t in entries.items():
            if name.endswith("/batch1024"):
                lines.append(f"| {d} | {name.split('/')[0]} | {t.get('network_us_per_shot', 0):.1f} | "
                             f"{t.get('matching_us_per_shot', t.get('total_us_per_shot', 0)):.2f} | {t['total_us_per_round']:.2f} |")
    return "\n".join(lines)


def _startup(data: dict) -> str:
    lines = [
        f"Start-up of a fresh `python -m qplane.cli` process (median and best of "
        f"{data['results']['help']['repeats']}). Target: < {data['target_s']:g} s each.",
        "",
        "| command | median (s) | best (s) | slowest top-level imports (ms) | met |",
        "|---|---|---|---|---|",
    ]
    for r in data["results"].values():
        imports = ", ".join(f"{i['module']} {i['cumulative_ms']:.0f}" for i in r["slowest_imports"][:3])
        lines.append(f"| `{r['command']}` | {r['median_s']:.2f} | {r['best_s']:.2f} | {imports} | "
                     f"{'yes' if r['met'] else '**no**'} |")
    return "\n".join(lines)


def _resilience(data: dict) -> str:
    r = data["results"]
    med = r["detection_s_median"]
    mx = r["detection_s_max"]
    lines = [
        f"One {r['seconds']:g} s run, {r['workers']} decoding workers"
        f"{' and a calibration worker' if r['calibration'] else ''}: {r['faults_total']} random "
        f"kill -9 / SIGSTOP ({', '.join(_hit(r['faults']))}) and {r['fuzz_messages']:,} fuzz "
        "messages to every endpoint. "
        f"Target: lost {data['targets']['blocks_lost']}, detection < {data['targets']['detection_s']:g} s.",
        "",
        "| blocks acquired | applied | lost | restarts | detection median / max (s) | "
        "server re-dispatch after (s, max) | rejections (server / recorder) |",
        "|---|---|---|---|---|---|---|",
    ]
    server = [f["server_detection_s"] for f in r["faults"] if f.get("server_detection_s") is not None]
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines.append(
        f"| {r['blocks_acquired']:,} | {r['blocks_applied']:,} | {r['blocks_lost']} | "
        f"{r['restarts_total']} | {seconds(med)} / {seconds(mx)} | "
        f"{seconds(max(server) if server else None)} | "
        f"{r['rejections_server']:,} / {r['rejections_recorder']:,} |")
    curve = data.get("curve_cost")
    if curve:
        pipe = curve["pipeline"]
        lines += ["", f"CURVE encryption against plain tcp, same run (target: at most "
                      f"{curve['target_percent']:g} % at 1024 shots):", "",
                  "| shots per block | plain blocks/s | CURVE blocks/s | cost |", "|---|---|---|---|"]
        for shots, row in sorted(pipe.items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {int(shots):,} | {row['plain_blocks_per_s']:,.0f} | "
                         f"{row['curve_blocks_per_s']:,.0f} | {row['cost_percent']:.1f} % |")
    return "\n".join(lines)


def _device_noise_targets(data: dict) -> list[str]:
    """The issue's two estimator targets, per shot count (results of 2026-12 onwards)."""
    m = data.get("measured", {})
    worst = m.get("learned_30k_over_true_worst")
    if not worst:
        return []
    lines = ["", "Learned from 30k shots, worst LER over the true DEM's with the same matcher "
             f"(every device, distance and basis; target at most "
             f"{1 + data['targets']['learned_30k_within_of_true']:.2f}): "
             + ", ".join(f"{k} {v:.3f}" for k, v in sorted(worst.items())) + "."]
    for d in data["distances"]:
        gains = [(k[len(f"miscalibrated_d{d}_correlated_"):-len("_gain")], v)
                 for k, v in m.items() if k.startswith(f"miscalibrated_d{d}_correlated_")]
        if gains:
            lines.append("")
            lines.append(f"Miscalibrated d = {d}, correlated PyMatching over nominal uncorrelated "
                         "PyMatching, by the weights' source: "
                         + ", ".join(f"{k.replace('_', ' ')} {v:.3f}×" for k, v in gains) + ".")
    return lines


def _device_noise_soft(data: dict) -> list[str]:
    """neural-soft with the learned DEM against correlated PyMatching with the same DEM, and the
    issue's target (better, significantly, on the miscalibrated device)."""
    soft = data.get("measured", {}).get("neural_soft_vs_correlated_learned")
    if not soft:
        return []
    lines = ["", "neural-soft (the shipped network gating shots to Tesseract, correlated "
             "matching on the rest; every part on the LEARNED DEM) against correlated PyMatching "
             "with the same learned DEM, on the same shots (both bases pooled; errors, only "
             "correlated wrong / only neural-soft wrong, McNemar p, LER ratio):", "",
             "| device | d | weights | shots | corr learned | neural-soft | discordant | "
             "McNemar p | ratio |", "|---|---|---|---|---|---|---|---|---|"]
    target: dict[int, list[str]] = {}
    def order(key: str) -> tuple:
        dev, d, label = key.split("_", 2)
        shots = label.rpartition("-")[2]
        return (dev != "miscalibrated", dev, int(d[1:]), label.rpartition("-")[0],
                int(shots[:-1]) if shots[:-1].isdigit() else 0)

    for key, s in sorted(soft.items(), key=lambda kv: order(kv[0])):
        dev, d, label = key.split("_", 2)
        weights = label.replace("learned-", "").replace("-1000k", " 1M").replace("-", " ")
        lines.append(f"| {dev} | {d[1:]} | {weights} | {s['shots']:,} | "
                     f"{s['correlated_errors']} | {s['errors']} | {s['only_correlated_wrong']} / "
                     f"{s['only_this_wrong']} | {s['mcnemar_p']:.1e} | {s['ratio']:.2f}× |")
        if dev == "miscalibrated":
            met = s["ratio"] > 1 and s["mcnemar_p"] < 0.05
            target.setdefault(int(d[1:]), []).append(
                f"{weights} {s['ratio']:.2f}× (p = {s['mcnemar_p']:.1e}, "
                f"{'yes' if met else 'no'})")
    lines += ["", "Target (issue 13): neural better than correlated PyMatching with learned "
              "weights on the miscalibrated device, significantly (McNemar p < 0.05): "
              + "; ".join(f"d = {d}: " + ", ".join(v) for d, v in sorted(target.items())) + "."]
    return lines


def _device_noise(data: dict) -> str:
    cols = [("pymatching/true", "PM true"), ("pymatching/learned-pairwise-30k", "PM learned 30k"),
            ("pymatching-correlated/nominal", "corr nominal"),
            ("pymatching-correlated/true", "corr true"),
            ("pymatching-correlated/learned-pairwise-30k", "corr learned 30k"),
            ("pymatching-correlated/learned-pairwise-1000k", "corr learned 1M"),
            ("pymatching-correlated/learned-full-30k", "corr full 30k"),
            ("pymatching-correlated/learned-full-1000k", "corr full 1M"),
            ("pymatching-correlated/learned-hybrid-30k", "corr hybrid 30k"),
            ("pymatching-correlated/learned-hybrid-1000k", "corr hybrid 1M"),
            ("neural/shipped", "neural"), ("neural-correlated/shipped", "neural-corr"),
            ("neural-soft/learned-pairwise-30k", "neural-soft learned 30k"),
            ("neural-soft/learned-pairwise-1000k", "neural-soft learned 1M")]
    names = {r["decoder"] for c in data["cases"] for r in c["rows"]}
    cols = [(k, n) for k, n in cols if not k.startswith("neural-soft/") or k in names]
    # an estimator rerun with a new default may lack the larger shot counts: show its earlier
    # rows (relabelled ``EST-normal`` by ``--relabel``) under a name that says so
    def normal(key: str) -> str:
        head, _, shots = key.rpartition("-")
        return f"{head}-normal-{shots}"

    cols = [(normal(k), f"{n} (normal prior)")
            if "/learned-" in k and k not in names and normal(k) in names else (k, n)
            for k, n in cols]
    agg: dict = {}
    for c in data["cases"]:
        for r in c["rows"]:
            k = agg.setdefault((c["device"], c["distance"], r["decoder"]), [0, 0])
            k[0] += r["errors"]
            k[1] += r["shots"]
    t = data["estimator_timing"]
    lines = [
        f"LER of nominal PyMatching and each decoder's gain over it (LER ratio, both bases "
        f"pooled; {data['test_shots']:,} fresh test shots per case"
        + "".join(f", {v:,} at d = {k}" for k, v in data.get("test_shots_at", {}).items())
        + f"; neural on the first {data['neural_shots']:,}"
        + (f", neural-soft on the first {data['soft_shots']:,} of the miscalibrated and drifted "
           "devices" if data.get("soft_shots") else "")
        + "). Learned = pairwise estimator from "
        "the training shots named, fitted onto the decomposed DEM; full = the full-mechanism "
        "estimator (every symptom class, hyperedges included"
        + ((", shrunk towards the pairwise solution by empirical Bayes: a two-scale mixture "
            "prior, or one normal scale where named normal)"
            if "full-normal" in data.get("estimators", [])
            else ", shrunk towards the pairwise solution by its interval)") if "estimators" in data
           else ", the plain least-squares fit)")
        + ("; hybrid = the pairwise edge totals, split among their mechanisms by the full "
           "estimate (– where not run). " if "hybrid" in data.get("estimators", []) else ". ")
        + (f"Estimator per 1M shots at d = 5: pairwise {t['pairwise']['s_per_1m']:.2f} s, full "
           f"{t['full']['s_per_1m']:.2f} s (one core, load average "
           f"{data['machine'].get('load_average', [0])[0]:.1f}"
           + ("; the timing is distorted by that load, the LERs are not)."
              if data["machine"].get("load_average", [0])[0] > 1.5 else ").")
           if "pairwise" in t and "full" in t else "Estimator timing not run."),
        "",
        "| device | d | nominal PM LER | " + " | ".join(name for _, name in cols) + " |",
        "|---|---|---|" + "---|" * len(cols),
    ]
    for dev in ("miscalibrated", "drifted", "calibrated", "uniform"):
        for d in data["distances"]:
            nom = agg.get((dev, d, "pymatching/nominal"))
            if not nom:
                continue
            base = nom[0] / nom[1]
            cells = []
            for key, _ in cols:
                e, n = agg.get((dev, d, key), (0, 0))
                cells.append(f"{base / (e / n):.2f}×" if n and e else "–")
            lines.append(f"| {dev} | {d} | {base:.4f} | " + " | ".join(cells) + " |")
    lines += _device_noise_targets(data)
    lines += _device_noise_soft(data)
    drift = data.get("drift")
    if drift:
        ler, vs = drift["ler"], drift["learned_vs_nominal"]
        lines += ["", f"Drifting device, calibration off (d = {drift['distance']}, "
                  f"{drift['basis']} basis, {drift['windows']} windows of "
                  f"{drift['window_s'] / 60:g} min, {drift['shots_per_window']:,} shots each, "
                  f"correlated PyMatching): time-averaged LER static nominal {ler['nominal']:.5f}, "
                  f"live-learned (from the previous {drift['learn_windows']} windows) "
                  f"{ler['learned']:.5f}, current-truth oracle {ler['oracle']:.5f}: learned / "
                  f"oracle {drift['learned_over_oracle']:.3f}, nominal / learned "
                  f"{drift['nominal_over_learned']:.3f} (McNemar p = {vs['mcnemar_p']:.1e})."]
    for key in sorted(k for k in data if k.startswith("finetune") and data[k]):
        lines += _finetune_line(data[key])
    return "\n".join(lines)


def _finetune_line(ft: dict) -> list[str]:
    """The neural fine-tuning comparison of one distance, as a paragraph."""
    rows, pairs = ft["rows"], ft["pairs"]
    a = pairs["finetuned_vs_shipped"]
    b = pairs["finetuned-correlated_vs_pymatching-correlated-learned"]
    c = pairs.get("finetuned-correlated_vs_shipped-correlated")
    budget = (f", {ft['max_minutes']:g}-minute budget" if ft.get("max_minutes") else "")
    return ["", f"Neural fine-tuned on the learned DEM (d = {ft['distance']}, {ft['device']}, "
            f"{ft['basis']} basis; DEM learned from {ft['learn_shots']:,} shots; "
            f"{ft['steps']} steps from the shipped model{budget}; {ft['test_shots']:,} fresh "
            f"shots): neural {rows['shipped']['ler']:.5f} shipped vs "
            f"{rows['finetuned']['ler']:.5f} fine-tuned ({a['ratio']:.3f}×, McNemar p = "
            f"{a['mcnemar_p']:.1e}); neural-correlated {rows['shipped-correlated']['ler']:.5f} vs "
            f"{rows['finetuned-correlated']['ler']:.5f}"
            + (f" ({c['ratio']:.3f}×, p = {c['mcnemar_p']:.1e})" if c else "")
            + (f"; the shipped network with the learned residual weights "
               f"{rows['shipped-learned']['ler']:.5f}, fine-tuned vs it "
               f"{pairs['finetuned_vs_shipped-learned']['ratio']:.3f}× (p = "
               f"{pairs['finetuned_vs_shipped-learned']['mcnemar_p']:.1e})"
               if "shipped-learned" in rows else "")
            + "; fine-tuned neural-correlated vs correlated PyMatching with learned weights "
            f"({rows['pymatching-correlated-learned']['ler']:.5f}): {b['ratio']:.3f}× "
            f"(p = {b['mcnemar_p']:.1e})."]


RENDERERS = {"resilience": _resilience, "pipeline": _pipeline, "decoder": _decoder, "sim": _sim,
             "calibration": _calibration, "closed_loop": _closed_loop, "analysis": _analysis,
             "startup": _startup, "device_noise": _device_noise}


def render(readme: str, results_dir: str = os.path.join("bench", "results")) -> str:
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's options to ``parser``."""
    parser.add_argument("--readme", default="README.md", help="file with the tables (default: README.md)")
    parser.add_argument("--results", default=os.path.join("bench", "results"),
                        help="folder of the results files (default: bench/results)")
    parser.add_argument("--update-readme", action="store_true",
                        help="rewrite the tables in the file (default: only check that they are "
                             "current, exit 1 if not)")


def main(args: argparse.Namespace) -> int:
    """Check (or, with ``--update-readme``, re-render) every table of ``args.readme``."""
    from qplane.errors import QplaneError

    try:
        with open(args.readme, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise QplaneError(f"cannot read {args.readme}: {e}; run from the repository root or "
                          "name the file with --readme") from e
    new = render(text, args.results)
    if new == text:
        print(f"{args.readme} tables are current")
        return 0
    if not args.update_readme:
        print(f"{args.readme} tables are stale; rewrite them with: qplane bench tables "
              "--update-readme")
        return 1
    with open(args.readme, "w", encoding="utf-8") as f:
        f.write(new)
    print(f"{args.readme} tables updated")
    return 0
