"""Named, analysed sets of labelled sweeps for training and validating the second opinion.

Each set is a generator of labelled data (:data:`SETS`): qplane's own node generator
(``synthetic``), the train families (``train``, ``broad``, ``qec``, ``wide``, ``robust``,
``robust2``, ``robust3``) and the held-out generations 1–9 (``gen1`` … ``gen9``,
development sets since sessions 6–11; the benchmark draws gen7 at seed 789, gen8 at 791 and
gen9 at 793, never use those here). A set is drawn at a size and a seed and every case is analysed once
(the slow part, ~0.2 s of CPU a case); :func:`analysed` keeps the analyses (pickled :class:`AnalysedCase` rows) in a cache
folder, so the features can change without analysing again; the file name carries
:func:`analysis_version`, a hash of the analysis code and the set's generator, so analyses
made by other code are never read.

Generations as training data: the leave-one-generation-out validation of session 6
(``scripts/second_opinion_logo.py``) trains on four generations (fresh seeds,
never the benchmark's) and measures on the held-out one; the blind generation of a session (the
sixth in session 6, the seventh in session 7) is never a set here.

>>> rows = draw("gen5", 1, seed=0)
>>> len(rows), rows[0].generation
(11, 'gen5')
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib
import pickle
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

#: generation -> its families (generations 1-3 are the held-out families of sessions 1, 2, 3;
#: the sixth, blind in session 6, is a development set since session 7; the eighth, blind in
#: session 9, since session 10; the ninth, blind in session 10, since session 11; the
#: thirteenth to fifteenth, blind until sessions 13-15, since session 16)
GENERATIONS = ("gen1", "gen2", "gen3", "gen4", "gen5", "gen6", "gen7", "gen8", "gen9", "gen10",
               "gen11", "gen12", "gen13", "gen14", "gen15")
#: the module that draws each set's cases (its source, and that of every qplane module it
#: imports, is part of the set's cache key); the rest are ``domain``
#: the generations drawn by a module of their own (``qplane.calibration.domain_genN``, whose
#: ``genN_set`` makes the set); generations 1-3 are ``domain``'s held-out families
_GENERATION_MODULES = {g: f"qplane.calibration.domain_{g}" for g in GENERATIONS[3:]}
SET_MODULES = {"synthetic": "qplane.calibration.synthetic", "qec": "qplane.calibration.domain_qec",
               "wide": "qplane.calibration.domain_wide",
               "robust": "qplane.calibration.domain_robust",
               "robust2": "qplane.calibration.domain_robust",
               "robust3": "qplane.calibration.domain_robust3", **_GENERATION_MODULES}
#: the second opinion's own modules: the analyses are cached with ``second_opinion=False``, so
#: they are not part of the analysis (features and training change without re-analysing)
NOT_ANALYSIS = frozenset(f"qplane.calibration.{m}" for m in (
    "classifier", "sweep_features", "training", "training_sets", "training_ensemble"))
_MODULE = re.compile(r"^qplane(\.\w+)+$")


@dataclasses.dataclass
class AnalysedCase:
    """One labelled case with its analysis (``result``) or, for readout IQ, its features."""

    kind: str
    mode: str
    family: str
    generation: str
    result: Any = None
    readout: Any = None


def _generation_of(family: str) -> str:
    from qplane.calibration.domain import HELDOUT

    names = list(HELDOUT)
    i = names.index(family)
    return "gen1" if i < 14 else "gen2" if i < 17 else "gen3"


def _cases(name: str, n: int, seed: int) -> list[tuple[Any, str, str, str, str]]:
    """``(case or data, kind, mode, family, set)`` for set ``name``."""
    from qplane.calibration import domain, domain_qec, domain_wide

    if name == "synthetic":
        from qplane.calibration.training import dataset

        return [(d, d.kind.value, m, f"{d.kind.value}/synthetic", name)
                for d, m in dataset(n, seed=seed)]
    makers: dict[str, Callable[..., list[Any]]] = {
        "train": domain.train_set, "broad": domain.broad_train_set,
        "qec": domain_qec.qec_train_set, "wide": domain_wide.wide_train_set}
    if name in _GENERATION_MODULES:   # genN: domain_genN.genN_set
        makers[name] = getattr(importlib.import_module(_GENERATION_MODULES[name]), f"{name}_set")
    if name in ("robust", "robust2", "robust3"):
        from qplane.calibration.domain_robust import robust2_train_set, robust_train_set
        from qplane.calibration.domain_robust3 import robust3_train_set

        makers.update(robust=robust_train_set, robust2=robust2_train_set,
                      robust3=robust3_train_set)
    if name in ("gen1", "gen2", "gen3"):
        cases = [c for c in domain.heldout_set(n, seed=seed) if _generation_of(c.family) == name]
    else:
        cases = makers[name](n, seed=seed)
    return [(c, c.kind, c.mode, c.family, name) for c in cases]


def _analyse(item: tuple[Any, str, str, str, str]) -> AnalysedCase:
    from qplane.calibration.analysis import analyse
    from qplane.calibration.classifier import _readout_features, analyse_data
    from qplane.device import ExperimentData, ExperimentKind

    c, kind, mode, family, name = item
    row = AnalysedCase(kind, mode, family, name)
    if isinstance(c, ExperimentData):
        if ExperimentKind(c.kind) is ExperimentKind.READOUT_IQ:
            row.readout = _readout_features(c)
        else:
            row.result = analyse_data(c)
    else:
        row.result = analyse(c.kind, second_opinion=False, **c.analyse_args())
    return row


def _imports(module: str) -> set[str]:
    """The qplane modules ``module``'s source imports anywhere (also inside functions, and by
    ``importlib.import_module("...")``)."""
    path = _source_file(module)
    if path is None:
        return set()
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and _MODULE.match(node.value):
            out.add(node.value)
    return {m for m in out if m.split(".")[0] == "qplane" and _source_file(m) is not None}


def _source_file(module: str) -> Path | None:
    """The source file of a qplane module (None for a name that is not one: a function)."""
    root = Path(__file__).resolve().parents[1]
    base = root.joinpath(*module.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def source_closure(roots: tuple[str, ...]) -> list[str]:
    """``roots`` and every qplane module they import, transitively, minus
    :data:`NOT_ANALYSIS` (sorted module names)."""
    seen: set[str] = set()
    todo = [r for r in roots if r not in NOT_ANALYSIS]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += [i for i in _imports(m) if i not in seen and i not in NOT_ANALYSIS]
    return sorted(seen)


@functools.lru_cache(maxsize=None)
def analysis_version(name: str) -> str:
    """A hash of the code that makes set ``name``'s analysed rows: the source of the analysis
    (:func:`~qplane.calibration.analysis.analyse` and every module it imports), of the set's
    generator (:data:`SET_MODULES`) and of the two functions of the second opinion's modules
    that the rows depend on (``classifier.analyse_data``, ``training.dataset``). Any change to
    the fits, the gate or the generator changes it, and so the cache file's name."""
    import inspect

    from qplane.calibration import classifier, training

    h = hashlib.sha256()
    roots = ("qplane.calibration.analysis", SET_MODULES.get(name, "qplane.calibration.domain"))
    for m in source_closure(roots):
        h.update(m.encode() + b"\0" + _source_file(m).read_bytes())   # type: ignore[union-attr]
    for fn in (classifier.analyse_data, training.dataset):
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:12]


def draw(name: str, n: int, *, seed: int) -> list[AnalysedCase]:
    """Set ``name`` at size ``n`` (per cell or per family) and ``seed``, analysed."""
    return [_analyse(item) for item in _cases(name, n, seed)]


def analysed(name: str, n: int, *, seed: int, cache: str | Path | None = None
             ) -> list[AnalysedCase]:
    """:func:`draw`, read from ``cache/{name}_{n}_{seed}_{version}.pkl`` when there (written
    otherwise); ``version`` is :func:`analysis_version`, so a change to the fits, the gate or
    the set's generator never reads analyses made by the old code.
    """
    if cache is None:
        return draw(name, n, seed=seed)
    path = Path(cache) / f"{name}_{n}_{seed}_{analysis_version(name)}.pkl"
    if path.exists():
        with path.open("rb") as f:
            return _Unpickler(f).load()
    rows = draw(name, n, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(rows, f)
    tmp.replace(path)
    return rows


class _Unpickler(pickle.Unpickler):
    """Reads rows pickled by :func:`main` run as ``__main__`` too."""

    def find_class(self, module: str, name: str) -> Any:
        if name == "AnalysedCase":
            return AnalysedCase
        return super().find_class(module, name)


def feature_rows(rows: list[AnalysedCase]) -> list[tuple[tuple[np.ndarray, np.ndarray], str]]:
    """The current features and the mode of each row (what :mod:`training` trains on)."""
    from qplane.calibration.classifier import NUM_SCALARS, analysis_features

    out = []
    for r in rows:
        if r.result is not None:
            out.append((analysis_features(r.result), r.mode))
        else:
            x, s = r.readout
            out.append(((_pad_channels(x), _pad(s, NUM_SCALARS)), r.mode))
    return out


def _pad(s: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    out[:min(len(s), n)] = s[:n]
    return out


def _pad_channels(x: np.ndarray) -> np.ndarray:
    from qplane.calibration.classifier import CHANNELS, LENGTH

    out = np.zeros((CHANNELS, LENGTH), dtype=np.float32)
    out[:len(x)] = x
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m qplane.calibration.training_sets CACHE NAME:N:SEED ...``: fill the cache."""
    import sys
    import time

    from qplane.calibration import training_sets   # rows pickle with the module's name

    args = sys.argv[1:] if argv is None else argv
    cache, specs = args[0], args[1:]
    for spec in specs:
        name, n, seed = spec.split(":")
        t0 = time.process_time()
        rows = training_sets.analysed(name, int(n), seed=int(seed), cache=cache)
        print(f"{spec}: {len(rows)} cases, {time.process_time() - t0:.0f} s CPU", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
