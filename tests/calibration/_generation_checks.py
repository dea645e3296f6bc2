"""Checks every blind generation's cases pass, whatever their families: well formed (labels,
truths, signals, units, settings the kind takes) and analysable (the analysis runs and reports
the value the benchmark compares with the truth). The verdicts are not looked at."""

from __future__ import annotations

import numpy as np

from qplane.calibration.units import to_si
from tests._parallel import fork_map


def generation_of(n: int):
    """Held-out generation ``n``'s families and its set (as the benchmark loads them)."""
    from qplane.bench.calibration import generation

    return generation(n)


def earlier_families(generation: int) -> set:
    """Every family name a generation before ``generation`` or a train set uses: the held-out
    families of generations 1-3, ``GEN4`` ... ``GEN{generation - 1}`` and the train families
    (a new generation must name none of them)."""
    from qplane.calibration.domain import HELDOUT, TRAIN_FAMILIES as TRAIN
    from qplane.calibration.domain_qec import TRAIN_FAMILIES as QEC
    from qplane.calibration.domain_robust import TRAIN_FAMILIES as ROBUST
    from qplane.calibration.domain_robust3 import TRAIN_FAMILIES as ROBUST3
    from qplane.calibration.domain_wide import TRAIN_FAMILIES as WIDE

    out = set(HELDOUT)
    for n in range(4, generation):
        out |= set(generation_of(n)[0])
    return out | {f for t in (TRAIN, WIDE, ROBUST, ROBUST3, QEC) for v in t.values() for f in v}


def earlier_noises(generation: int) -> set:
    """Every noise name the cases of generations 4 ... ``generation - 1`` carry (one case per
    family at seed 2; a new generation's noises must be none of them)."""
    return {c.noise for n in range(4, generation) for c in generation_of(n)[1](1, seed=2)}


def assert_well_formed(cases) -> None:
    """Each case labelled (good exactly when ``ok``, with a finite truth then), its signal
    finite and of its type, its units the kind's, its settings ones the kind takes, and a good
    case's truth inside the sweep (but for the decays and Ramsey, whose value may lie beyond)."""
    from qplane.calibration.kinds import kind_for

    for c in cases:
        assert c.good == (c.mode == "ok") and bool(c.truth) == c.good
        assert all(np.isfinite(v) for v in c.truth.values())
        if c.kind != "drag":   # a DRAG coefficient has either sign
            assert all(v > 0 for v in c.truth.values())
        signal = np.asarray(c.signal)
        assert len(signal) == len(c.sweep) >= 20 and np.all(np.isfinite(c.sweep))
        assert np.all(np.isfinite(signal))
        if c.signal_type == "iq":
            assert np.iscomplexobj(signal) and c.shots is None
        else:
            assert signal.ndim == 1 and not np.iscomplexobj(signal)
        if c.signal_type == "population":
            assert c.shots and np.all((signal >= 0) & (signal <= 1))
        assert to_si(c.units)[0] in ("", kind_for(c.kind).sweep_unit)
        kind_for(c.kind).settings(dict(c.settings))   # settings the kind takes
        if c.good and c.kind not in ("t1", "echo", "ramsey"):   # the truth inside the sweep
            x = c.sweep * to_si(c.units)[1]
            assert x.min() < next(iter(c.truth.values())) < x.max()


def _reports_its_key(c) -> bool:
    from qplane.bench.calibration import _KEY
    from qplane.calibration import analyse
    from qplane.calibration.analysis import AnalysisResult

    r = analyse(c.kind, second_opinion=False, **c.analyse_args())
    return isinstance(r, AnalysisResult) and _KEY[c.kind] in r.values


def assert_every_case_analysable(cases) -> None:
    """Whatever the verdict (not looked at): no case makes ``analyse`` raise, and each reports
    the value the benchmark compares with the truth (in forked workers)."""
    assert fork_map(_reports_its_key, cases) == [True] * len(cases)
