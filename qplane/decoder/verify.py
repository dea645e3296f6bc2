"""Re-check a model card's claims on fresh shots (``qplane decoder verify MODEL``).

A model card records, for every validation task (basis, p), how many validation shots each
mode's rule decoded wrongly and how many uncorrelated and correlated PyMatching did. Those are
the card's *claims*: mode ``uncorrelated`` against uncorrelated PyMatching, ``correlated``
against correlated PyMatching and ``clear`` against uncorrelated PyMatching. Verification
samples fresh shots of the same tasks (seeds from :data:`VERIFY_SEED_BASE`, which training,
validation and the benchmark never use), decodes them with the model and both matchers, and
compares each pair shot for shot with an exact McNemar test.

A claim *fails* when the fresh shots contradict it with significance (McNemar p < ``alpha``):
the model is worse than the baseline where the card says it is better or equal. A claimed
improvement that the fresh shots do not show with significance is *unconfirmed* (a failure with
``strict``). Every comparison carries both error rates with 95 % Wilson intervals.

>>> claim_status(claimed=(90, 100), fresh=(80, 100), only=(5, 25), alpha=0.05)
'confirmed'
>>> claim_status(claimed=(90, 100), fresh=(120, 100), only=(40, 20), alpha=0.05)
'failed'
>>> claim_status(claimed=(90, 100), fresh=(99, 100), only=(20, 21), alpha=0.05)
'unconfirmed'
>>> claim_status(claimed=(100, 100), fresh=(101, 100), only=(3, 2), alpha=0.05)
'confirmed'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from qplane.errors import DecoderError

#: Seeds of verification shots (training < 2^40 <= validation < 2^44 <= benchmark < 2^45).
VERIFY_SEED_BASE = (1 << 45) + (1 << 30)
#: Each mode's rule and the matcher it is claimed against.
CLAIMS = (("uncorrelated", "pymatching"), ("correlated", "pymatching-correlated"),
          ("clear", "pymatching"))


def mcnemar(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    >>> round(mcnemar(10, 30), 4)
    0.0022
    """
    import scipy.stats

    n = only_a + only_b
    return 1.0 if n == 0 else float(scipy.stats.binomtest(only_a, n, 0.5).pvalue)


def claim_status(*, claimed: tuple[int, int], fresh: tuple[int, int], only: tuple[int, int],
                 alpha: float) -> str:
    """``"confirmed"``, ``"unconfirmed"`` or ``"failed"`` for one claim.

    Args:
        claimed: validation errors (model, baseline) from the card.
        fresh: errors (model, baseline) on the fresh shots.
        only: shots only the model / only the baseline got wrong.
        alpha: significance level.
    """
    significant = mcnemar(*only) < alpha
    if only[0] > only[1] and significant:
        return "failed"
    if claimed[0] < claimed[1] and not (only[0] < only[1] and significant):
        return "unconfirmed"
    return "confirmed"


def claimed_errors(card, mode: str, task_index: int, p: float, baseline: str) -> int | None:
    """Validation errors the card records for ``mode``'s rule on one validation task.

    ``None`` when the card's candidates do not list that rule (a card without candidates).
    """
    from qplane.decoder.neural import rule_for_noise

    rule = card.rules.get(mode)
    if not rule:
        return None
    entries = [e for e in rule.get("by_noise") or [] if abs(e["p"] - p) < 1e-12]
    chosen = entries[0] if entries else rule_for_noise(rule, 0.0)
    task = card.validation["tasks"][task_index]
    key = "correlated_errors" if baseline.endswith("correlated") else "uncorrelated_errors"
    if chosen["classes"] == "none":
        return int(task[f"pymatching_{key}"])
    for cand in card.validation.get("candidates", []):
        if cand["classes"] == chosen["classes"] and abs(cand["threshold"] - chosen["threshold"]) < 1e-9:
            if "by_task" in cand:
                return int(cand["by_task"][key][task_index])
            if len(card.validation["tasks"]) == 1:
                return int(cand[key])
    return None


def verify_model(model: str | Path, *, shots: int = 20_000, sha256: str | None = None,
                 seed: int = 0, alpha: float = 0.05, strict: bool = False,
                 backend: str = "torch", precision: str = "fp32", threads: int | None = None,
                 progress: Callable[[int, str], None] | None = None) -> dict[str, Any]:
    """Decode fresh shots of every validation task of ``model``'s card and check its claims.

    Args:
        model: shipped model name or model file path.
        shots: fresh shots per validation task.
        sha256: pin of the model file.
        seed: offset of the shots' seeds (another ``seed`` gives other fresh shots).
        alpha: significance level of the McNemar tests.
        strict: an unconfirmed improvement counts as a failure.
        backend, precision, threads: the network backend to verify with.
        progress: ``progress(n, what)`` after each task (a bar's advance).

    Returns:
        ``{"model", "sha256", "shots", "claims": [...], "passed": bool}``; each claim has the
        task, mode, baseline, claimed and fresh errors, rates with 95 % intervals, the
        discordant counts, the McNemar p-value and its status.

    Raises:
        DecoderError: the card has no validation tasks, or a noise model verify cannot build.
    """
    from qplane.analysis import wilson_interval
    from qplane.codes import memory_circuit
    from qplane.decoder.model_file import read_card, resolve_model_path
    from qplane.decoder.neural import NeuralDecoder

    path = resolve_model_path(str(model))
    card = read_card(path)
    tasks = card.validation.get("tasks") or []
    if not tasks:
        raise DecoderError(f"{path}: the model card records no validation tasks, so it makes "
                           "no claims to verify; train it with qplane train-decoder")
    if card.noise.get("model", "uniform-depolarizing") != "uniform-depolarizing":
        raise DecoderError(f"{path}: noise model {card.noise.get('model')!r}; verify builds "
                           "only uniform-depolarizing circuits")
    distance = int(card.training.get("distance", max(card.distances)))
    rounds = int(card.training.get("rounds", distance))
    claims, digest = [], None
    for index, task in enumerate(tasks):
        circuit = memory_circuit(distance=distance, rounds=rounds, basis=task["basis"],
                                 p=task["p"])
        dem = circuit.detector_error_model(decompose_errors=True)
        task_seed = VERIFY_SEED_BASE + 1_000_000 * seed + 1000 * index
        dets, obs = circuit.compile_detector_sampler(seed=task_seed).sample(
            shots, separate_observables=True, bit_packed=True)
        truth = np.packbits(np.unpackbits(obs, axis=1, bitorder="little",
                                          count=dem.num_observables), axis=1, bitorder="little")
        options = dict(model=str(model), sha256=sha256, device="cpu", backend=backend,
                       precision=precision, threads=threads)
        compiled = {c: NeuralDecoder(correlated=c, **options).compile_decoder_for_dem(dem=dem)
                    for c in (False, True)}
        digest = compiled[False].sha256
        events = np.unpackbits(dets, axis=1, bitorder="little",
                               count=dem.num_detectors).astype(bool)
        logits = compiled[False].site_logits(events)
        fail = {}
        for name, m, kw in (("pymatching", compiled[False].matching, {}),
                            ("pymatching-correlated", compiled[True].matching,
                             {"enable_correlations": True})):
            pred = m.decode_batch(dets, bit_packed_shots=True, bit_packed_predictions=True, **kw)
            fail[name] = np.any(pred != truth, axis=1)
        for mode, baseline in CLAIMS:
            if not card.rules.get(mode):
                continue
            decoder = compiled[baseline.endswith("correlated")]
            pred, _ = decoder.decode_from_logits(events, logits,
                                                 rule=rule_for_task(card, mode, task["p"]))
            mine = np.any(pred != truth, axis=1)
            only = (int((mine & ~fail[baseline]).sum()), int((fail[baseline] & ~mine).sum()))
            fresh = (int(mine.sum()), int(fail[baseline].sum()))
            stated = claimed_errors(card, mode, index, task["p"], baseline)
            base_key = ("pymatching_correlated_errors" if baseline.endswith("correlated")
                        else "pymatching_uncorrelated_errors")
            claimed = (stated, int(task[base_key]))
            claims.append({
                "basis": task["basis"], "p": task["p"], "mode": mode, "baseline": baseline,
                "validation_shots": int(task["shots"]), "claimed_errors": list(claimed),
                "shots": shots, "errors": list(fresh),
                "ler": [e / shots for e in fresh],
                "ci95": [list(wilson_interval(e, shots)) for e in fresh],
                "only_model_wrong": only[0], "only_baseline_wrong": only[1],
                "mcnemar_p": mcnemar(*only),
                "status": claim_status(claimed=(claimed[1] if stated is None else stated,
                                                claimed[1]), fresh=fresh, only=only,
                                       alpha=alpha)})
        if progress is not None:
            progress(1, f"{task['basis']} p={task['p']}")
    claims += _pooled(claims, alpha)
    bad = {"failed", "unconfirmed"} if strict else {"failed"}
    return {"model": str(model), "file": str(path), "sha256": digest, "distance": distance,
            "rounds": rounds, "shots": shots, "seed": seed, "alpha": alpha, "strict": strict,
            "backend": backend, "precision": precision, "claims": claims,
            "passed": not any(c["status"] in bad for c in claims)}


def _pooled(claims: list[dict], alpha: float) -> list[dict]:
    """Each mode's claim over all tasks together (more shots, so more power)."""
    from qplane.analysis import wilson_interval

    pooled = []
    for mode, baseline in CLAIMS:
        rows = [c for c in claims if c["mode"] == mode]
        if len(rows) < 2:
            continue
        stated = [c["claimed_errors"][0] for c in rows]
        claimed = (None if None in stated else sum(stated),
                   sum(c["claimed_errors"][1] for c in rows))
        fresh = (sum(c["errors"][0] for c in rows), sum(c["errors"][1] for c in rows))
        only = (sum(c["only_model_wrong"] for c in rows),
                sum(c["only_baseline_wrong"] for c in rows))
        shots = sum(c["shots"] for c in rows)
        pooled.append({
            "basis": "all", "p": "all", "mode": mode, "baseline": baseline,
            "validation_shots": sum(c["validation_shots"] for c in rows),
            "claimed_errors": list(claimed), "shots": shots, "errors": list(fresh),
            "ler": [e / shots for e in fresh],
            "ci95": [list(wilson_interval(e, shots)) for e in fresh],
            "only_model_wrong": only[0], "only_baseline_wrong": only[1],
            "mcnemar_p": mcnemar(*only),
            "status": claim_status(claimed=(claimed[1] if claimed[0] is None else claimed[0],
                                            claimed[1]), fresh=fresh, only=only, alpha=alpha)})
    return pooled


def rule_for_task(card, mode: str, p: float) -> dict:
    """The rule of ``mode`` the card chose for validation strength ``p`` (its ``by_noise``)."""
    rule = card.rules[mode]
    for entry in rule.get("by_noise") or []:
        if abs(entry["p"] - p) < 1e-12:
            return {"classes": entry["classes"], "threshold": entry["threshold"]}
    return {"classes": rule["classes"], "threshold": rule["threshold"]}


def format_report(result: dict[str, Any]) -> str:
    """The verification as a plain-text table."""
    lines = [f"model {result['file']} (sha256 {result['sha256']}), d={result['distance']} "
             f"rounds={result['rounds']}, {result['shots']} fresh shots per task, "
             f"{result['backend']} {result['precision']}",
             f"{'basis':5} {'p':>6} {'mode':12} {'baseline':22} {'claimed':>11} "
             f"{'fresh':>11} {'LER model (95% CI)':>28} {'McNemar p':>9}  status"]
    for c in result["claims"]:
        (lo, hi) = c["ci95"][0]
        lines.append(
            f"{c['basis']:5} {c['p']!s:>6} {c['mode']:12} {c['baseline']:22} "
            f"{'?' if c['claimed_errors'][0] is None else c['claimed_errors'][0]:>5}"
            f"/{c['claimed_errors'][1]:<5} "
            f"{c['errors'][0]:>5}/{c['errors'][1]:<5} "
            f"{c['ler'][0]:>9.2e} ({lo:.1e}-{hi:.1e}) {c['mcnemar_p']:>9.2g}  {c['status']}")
    lines.append("claimed / fresh: errors of the model / of the baseline ('?': the card does not "
                 "record that rule's errors per task; then the claim is 'no worse')")
    lines.append("PASSED: every claim holds on fresh shots" if result["passed"] else
                 "FAILED: a claim of the card does not hold on fresh shots (see status)")
    return "\n".join(lines)
