"""Comparing two runs' logical error rates: the ratio, its interval and a significance test.

:func:`compare_runs` takes two open runs (:func:`qplane.runfile.open_run`) and returns a
:class:`Comparison` of run B against run A: ``ratio = LER(B) / LER(A)`` with its confidence
interval and the p-value of the test that the two rates are equal. Only runs with ground truth
(simulated) have a logical error rate; for any other run the comparison says so
(``method == "unavailable"``) and carries no numbers.

Which test, and why:

* **paired** — the two runs decoded *the same shots*. They are recognised by their data, not
  their names: both runs have the same detector and observable counts, and over the shot rows
  that both runs corrected (matched by row position in the file: shot ``i`` of A against shot
  ``i`` of B, over the shorter run's length) every row's detection events *and* true
  observable flips are byte-for-byte identical. That is what a replay of recorded shots, or
  the same shots decoded two ways, gives; independently sampled runs differ in their first few
  shots (the check stops at the first difference). The test is McNemar's exact test: under
  equal rates the shots where exactly one run failed split 50/50, so the p-value is
  ``scipy.stats.binomtest(c, b + c, 0.5)`` (``b``: A failed and B did not, ``c``: the other
  way). The ratio is of the two marginal rates on the shared shots, ``(a + c) / (a + b)``
  (``a``: both failed), with the delta-method log interval for paired proportions,
  ``exp(ln r ± z sqrt((b + c) / ((a + b)(a + c))))``. Only the shared shots count: a tail one
  run has and the other does not is left out (``shared_shots`` says how many were used).
* **independent** — anything else. The rates are ``k / n`` over every corrected shot of each
  run (the numbers the report's summary shows); the test is Fisher's exact test on the 2x2
  table ``[[k_A, n_A - k_A], [k_B, n_B - k_B]]`` (``scipy.stats.fisher_exact``, two-sided),
  and the interval is Katz's log interval for a ratio of two independent proportions,
  ``exp(ln r ± z sqrt(1/k_B - 1/n_B + 1/k_A - 1/n_A))``.

Where a failure count is zero the log interval is undefined; it is then computed with 0.5
added to each count (Haldane-Anscombe), and the ratio itself stays the plain one (0 or inf,
NaN when both rates are 0).

>>> lo, r, hi = katz_interval(30, 10_000, 60, 10_000)
>>> r, round(lo, 3), round(hi, 3)
(2.0, 1.291, 3.097)
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from qplane.analysis.stats import CHUNK_SHOTS, _z, overall_logical_error_rate
from qplane.errors import QplaneError

#: Rows checked first when deciding whether two runs share shots (independent runs differ here).
_FIRST_CHECK_ROWS = 1024


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Run B's logical error rate against run A's.

    Attributes:
        label_a, label_b: the runs' names (file stems unless given).
        method: ``"paired"`` (shared shots, exact McNemar), ``"independent"`` (Fisher's exact
            test on two proportions) or ``"unavailable"`` (a run has no ground truth).
        test: the test's name, as shown.
        failures_a, shots_a, failures_b, shots_b: the counts the rates are computed from
            (on the shared shots when paired).
        ratio: ``rate_b / rate_a``; ``lower``, ``upper``: its interval at ``confidence``.
        p_value: two-sided p-value of "the rates are equal".
        shared_shots: shots both runs decoded (paired), else 0.
        discordant: ``(b, c)`` when paired — shots only A failed, shots only B failed.
        note: why there are no numbers, or what was left out; ``""`` when nothing to say.
    """

    label_a: str
    label_b: str
    method: str
    test: str
    failures_a: int = 0
    shots_a: int = 0
    failures_b: int = 0
    shots_b: int = 0
    ratio: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    p_value: float = math.nan
    confidence: float = 0.95
    shared_shots: int = 0
    discordant: tuple[int, int] | None = None
    note: str = ""

    @property
    def rate_a(self) -> float:
        return self.failures_a / self.shots_a if self.shots_a else math.nan

    @property
    def rate_b(self) -> float:
        return self.failures_b / self.shots_b if self.shots_b else math.nan

    def as_dict(self) -> dict[str, Any]:
        """The fields and both rates, for tables and JSON."""
        out = dataclasses.asdict(self)
        out["rate_a"], out["rate_b"] = self.rate_a, self.rate_b
        return out

    def describe(self) -> str:
        """One line: ``B / A = r [lo, hi] (95% CI), p = ..., test``, or why not.

        >>> Comparison("a", "b", "unavailable", "none", note="a has no ground truth").describe()
        'b / a: no comparison: a has no ground truth'
        """
        head = f"{self.label_b} / {self.label_a}"
        if self.method == "unavailable":
            return f"{head}: no comparison: {self.note}"
        pct = f"{self.confidence * 100:g}%"
        text = (f"{head} = {format_ratio(self.ratio)} [{format_ratio(self.lower)}, "
                f"{format_ratio(self.upper)}] ({pct} CI), p = {format_p(self.p_value)}, "
                f"{self.test}")
        return text + (f"; {self.note}" if self.note else "")


def format_ratio(x: float) -> str:
    """A ratio for display: 4 significant digits, ``inf`` and ``n/a`` spelled out.

    >>> format_ratio(2.0), format_ratio(math.inf), format_ratio(math.nan)
    ('2', 'inf', 'n/a')
    """
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf"
    return f"{x:.4g}"


def format_p(p: float) -> str:
    """A p-value for display (``< 1e-300`` below what a float holds).

    >>> format_p(0.0123456), format_p(0.0)
    ('0.01235', '< 1e-300')
    """
    if math.isnan(p):
        return "n/a"
    return "< 1e-300" if p <= 0 else f"{p:.4g}"


def _log_interval(ratio_counts: tuple[float, float], variance: float,
                  confidence: float) -> tuple[float, float]:
    num, den = ratio_counts
    z = _z(confidence)
    centre = math.log(num / den)
    half = z * math.sqrt(max(variance, 0.0))
    return math.exp(centre - half), math.exp(centre + half)


def _plain_ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return math.nan if num == 0 else math.inf


def katz_interval(k_a: int, n_a: int, k_b: int, n_b: int,
                  confidence: float = 0.95) -> tuple[float, float, float]:
    """``(lower, ratio, upper)`` of ``(k_b / n_b) / (k_a / n_a)``, Katz's log interval.

    With a zero count, 0.5 is added to each count for the interval (the ratio stays plain).

    >>> [round(x, 4) for x in katz_interval(10, 1000, 10, 1000)]
    [0.4181, 1.0, 2.392]
    """
    if min(n_a, n_b) <= 0:
        raise QplaneError("both runs need at least one scored shot to compare their rates")
    ratio = _plain_ratio(k_b / n_b, k_a / n_a)
    if k_a == 0 or k_b == 0:
        k_a, k_b, n_a, n_b = k_a + 0.5, k_b + 0.5, n_a + 0.5, n_b + 0.5
    variance = 1 / k_b - 1 / n_b + 1 / k_a - 1 / n_a
    lower, upper = _log_interval((k_b / n_b, k_a / n_a), variance, confidence)
    return lower, ratio, upper


def paired_interval(both: int, only_a: int, only_b: int,
                    confidence: float = 0.95) -> tuple[float, float, float]:
    """``(lower, ratio, upper)`` of the ratio of paired rates ``(both + only_b) / (both + only_a)``.

    The delta-method log interval, variance ``(only_a + only_b) / ((both + only_a)(both +
    only_b))``; with a zero marginal count, 0.5 is added to each cell for the interval.

    >>> [round(x, 4) for x in paired_interval(20, 10, 40)]
    [1.4427, 2.0, 2.7727]
    """
    ratio = _plain_ratio(both + only_b, both + only_a)
    if both + only_a == 0 or both + only_b == 0:
        both, only_a, only_b = both + 0.5, only_a + 0.5, only_b + 0.5
    variance = (only_a + only_b) / ((both + only_a) * (both + only_b))
    lower, upper = _log_interval((both + only_b, both + only_a), variance, confidence)
    return lower, ratio, upper


def _corrected_rows(run, limit: int) -> np.ndarray:
    """Boolean mask over shot rows ``[0, limit)``: the rows of corrected blocks."""
    cols = run.block_columns("applied", "shot_start", "shots")
    mask = np.zeros(limit, dtype=bool)
    for start, size in zip(cols["shot_start"][cols["applied"]], cols["shots"][cols["applied"]]):
        mask[int(start):min(int(start) + int(size), limit)] = True
    return mask


def shared_shot_failures(run_a, run_b) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-shot failures ``(A wrong, B wrong)`` over the shots both runs decoded, or ``None``
    when the runs do not share shots (see the module docstring for the rule)."""
    if (run_a.num_detectors, run_a.num_observables) != (run_b.num_detectors, run_b.num_observables):
        return None
    limit = min(run_a.num_shots, run_b.num_shots)
    if limit == 0:
        return None
    shared = _corrected_rows(run_a, limit) & _corrected_rows(run_b, limit)
    if not shared.any():
        return None
    wrong_a, wrong_b = [], []
    # a short first chunk, so that runs which do not share shots are told apart at once
    bounds = [0, *range(min(limit, _FIRST_CHECK_ROWS), limit, CHUNK_SHOTS), limit]
    for start, stop in zip(bounds[:-1], bounds[1:]):
        keep = shared[start:stop]
        if not keep.any():
            continue
        truth = {}
        for run in (run_a, run_b):
            truth[id(run)] = run.read_shots("truth", start, stop)[keep]
        if not np.array_equal(truth[id(run_a)], truth[id(run_b)]) or not np.array_equal(
                run_a.read_shots("detection_events", start, stop)[keep],
                run_b.read_shots("detection_events", start, stop)[keep]):
            return None
        for run, out in ((run_a, wrong_a), (run_b, wrong_b)):
            corrections = run.read_shots("corrections", start, stop)[keep]
            out.append(np.any(corrections != truth[id(run)], axis=1))
    return np.concatenate(wrong_a), np.concatenate(wrong_b)


def _label(run) -> str:
    return os.path.splitext(os.path.basename(run.path))[0]


def compare_runs(run_a, run_b, *, label_a: str | None = None, label_b: str | None = None,
                 confidence: float = 0.95, paired: bool | None = None) -> Comparison:
    """Compare run B's logical error rate with run A's (``ratio = LER(B) / LER(A)``).

    Args:
        run_a, run_b: open runs (:func:`qplane.runfile.open_run`).
        label_a, label_b: names to show (default: the file stems).
        confidence: of the ratio's interval.
        paired: ``None`` (default) detects shared shots from the data; ``False`` forces the
            independent comparison; ``True`` requires shared shots (an error if there are none).

    Returns:
        The :class:`Comparison`; ``method == "unavailable"`` when a run has no ground truth.
    """
    from scipy import stats as sps

    label_a = label_a or _label(run_a)
    label_b = label_b or _label(run_b)
    missing = [label for label, run in ((label_a, run_a), (label_b, run_b)) if not run.simulated]
    if missing:
        return Comparison(label_a, label_b, "unavailable", "none", confidence=confidence, note=(
            " and ".join(missing) + (" has" if len(missing) == 1 else " have")
            + " no ground truth (not simulated), so no logical error rate"))
    pairs = None if paired is False else shared_shot_failures(run_a, run_b)
    if paired and pairs is None:
        raise QplaneError(f"{label_a} and {label_b} do not share shots (their detection events "
                          "differ); compare them as independent runs (paired=False)")
    if pairs is not None:
        wrong_a, wrong_b = pairs
        both = int(np.count_nonzero(wrong_a & wrong_b))
        only_a = int(np.count_nonzero(wrong_a & ~wrong_b))
        only_b = int(np.count_nonzero(~wrong_a & wrong_b))
        n = int(len(wrong_a))
        lower, ratio, upper = paired_interval(both, only_a, only_b, confidence)
        p = 1.0 if only_a + only_b == 0 else float(
            sps.binomtest(only_b, only_a + only_b, 0.5).pvalue)
        note = ""
        if n < max(run_a.num_shots, run_b.num_shots):
            note = f"paired over the {n:,} shots both runs decoded"
        return Comparison(label_a, label_b, "paired", "exact McNemar (shared shots)",
                          both + only_a, n, both + only_b, n, ratio, lower, upper, p,
                          confidence, n, (only_a, only_b), note)
    ler_a, ler_b = overall_logical_error_rate(run_a), overall_logical_error_rate(run_b)
    k_a, n_a, k_b, n_b = ler_a["k"], ler_a["n"], ler_b["k"], ler_b["n"]
    lower, ratio, upper = katz_interval(k_a, n_a, k_b, n_b, confidence)
    p = float(sps.fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
    return Comparison(label_a, label_b, "independent", "Fisher exact (independent shots)",
                      k_a, n_a, k_b, n_b, ratio, lower, upper, p, confidence)


def compare_files(paths, *, labels=None, confidence: float = 0.95) -> list[Comparison]:
    """Every pair of the run files at ``paths`` (each later one against each earlier one).

    Args:
        paths: two or more run files.
        labels: names to show, one per file (default: the file stems).
        confidence: of the ratios' intervals.
    """
    from qplane.runfile import open_run

    paths = [os.fspath(p) for p in paths]
    if len(paths) < 2:
        raise QplaneError("give at least two run files to compare")
    labels = list(labels) if labels is not None else [
        os.path.splitext(os.path.basename(p))[0] for p in paths]
    out = []
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            with open_run(paths[i]) as a, open_run(paths[j]) as b:
                out.append(compare_runs(a, b, label_a=labels[i], label_b=labels[j],
                                        confidence=confidence))
    return out
