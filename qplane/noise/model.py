"""A learned noise model: per-mechanism probabilities and intervals on a nominal structure.

:class:`LearnedNoise` is what every estimator returns and what the decoders, the run file and
the command line exchange: the nominal detector error model it was learned against, one
probability and one 95 % interval per mechanism, the window of shots it was learned from, and
the guards' account (how many mechanisms kept their nominal value, and why). Its
:meth:`~LearnedNoise.to_dem` is a ``stim.DetectorErrorModel`` a matcher can take as it is: every
probability in it is finite and strictly between 0 and 1/2.

>>> import stim
>>> nominal = stim.DetectorErrorModel("error(0.1) D0 D1\\nerror(0.05) D1")
>>> m = LearnedNoise.nominal_model(nominal)
>>> m.estimator, m.kept_nominal, m.probabilities.tolist()
('nominal', 2, [0.1, 0.05])
>>> LearnedNoise.from_dict(m.to_dict()).hash == m.hash
True
"""

from __future__ import annotations

import dataclasses
import json
import time as _time
from functools import cached_property
from typing import Any

import numpy as np
import stim

from qplane.errors import QplaneError
from qplane.noise.structure import DemStructure, dem_hash

#: Probabilities a matcher may be given: finite, in [P_MIN, P_MAX].
P_MIN, P_MAX = 1e-12, 0.49


_STRUCTURES: dict[str, DemStructure] = {}


def structure_of(nominal: str, known: DemStructure | None = None) -> DemStructure:
    """The structure of a nominal model's text, parsed once: the estimators hand in the
    structure they learned on (``known``), so a new model does not parse its nominal again (a
    tenth of a second at d = 5). The newest few are kept."""
    s = _STRUCTURES.get(nominal)
    if s is None:
        s = known if known is not None else DemStructure(stim.DetectorErrorModel(nominal))
        if len(_STRUCTURES) >= 8:
            _STRUCTURES.pop(next(iter(_STRUCTURES)))
        _STRUCTURES[nominal] = s
    return s


@dataclasses.dataclass(frozen=True, eq=False)
class LearnedNoise:
    """Per-mechanism probabilities learned on the structure of a nominal model.

    Attributes:
        nominal: the nominal (flattened) detector error model, as text.
        probabilities: ``(mechanisms,)`` learned probabilities (guarded: nominal where the
            estimate was unusable).
        lower, upper: the 95 % interval of each probability (nominal ones: the nominal value).
        estimator: ``"pairwise"``, ``"full"`` or ``"nominal"``.
        shots: detection-event shots it was learned from.
        window: ``(first, stop)`` of the shots used (shot indices of the source), or ``(0, 0)``.
        kept_nominal: mechanisms that kept their nominal value (guards and unobservables).
        reasons: the guards' counts by reason (and ``shrunk_to_pairwise``: learned mechanisms
            the full estimator's shrinkage took back to the pairwise value).
        time: UNIX time it was learned.
        version: a counter the live estimator increments (0 offline).
        source: where the shots came from (a run id, a file name), free text.
    """

    nominal: str
    probabilities: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    estimator: str
    shots: int
    window: tuple[int, int] = (0, 0)
    kept_nominal: int = 0
    reasons: dict[str, int] = dataclasses.field(default_factory=dict)
    time: float = 0.0
    version: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        n = self.structure.num_mechanisms
        for name in ("probabilities", "lower", "upper"):
            v = np.asarray(getattr(self, name), dtype=np.float64)
            if v.shape != (n,):
                raise QplaneError(f"LearnedNoise.{name} must have one entry per mechanism "
                                  f"({n}), got shape {v.shape}")
            object.__setattr__(self, name, v)
        p = self.probabilities
        if not (np.all(np.isfinite(p)) and np.all(p >= P_MIN) and np.all(p <= P_MAX)):
            raise QplaneError(f"a learned probability outside [{P_MIN}, {P_MAX}] or not finite "
                              "would give a matcher a bad weight; guard the estimate first")

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def nominal_model(cls, dem: stim.DetectorErrorModel, *, shots: int = 0,
                      reason: str = "nominal", **kw: Any) -> LearnedNoise:
        """The nominal model itself, as a :class:`LearnedNoise` (every mechanism kept)."""
        s = DemStructure(dem)
        p = guard_nominal(s.nominal)
        return cls(nominal=str(dem.flattened()), probabilities=p, lower=p.copy(), upper=p.copy(),
                   estimator="nominal", shots=shots, kept_nominal=s.num_mechanisms,
                   reasons={reason: s.num_mechanisms}, time=kw.pop("time", _time.time()), **kw)

    @classmethod
    def from_dem(cls, learned: stim.DetectorErrorModel,
                 nominal: stim.DetectorErrorModel | None = None, **kw: Any) -> LearnedNoise:
        """A model read back from a learned DEM file (intervals unknown: the point value).

        Args:
            learned: the learned model (e.g. ``qplane noise learn --out``).
            nominal: the model it was learned against (default: ``learned`` itself).
        """
        nominal_dem = (nominal if nominal is not None else learned).flattened()
        s = DemStructure(nominal_dem)
        p = s.probabilities_of(learned)
        return cls(nominal=str(nominal_dem), probabilities=p, lower=p.copy(), upper=p.copy(),
                   estimator=kw.pop("estimator", "file"), shots=kw.pop("shots", 0), **kw)

    # -- views -----------------------------------------------------------------------------

    @cached_property
    def structure(self) -> DemStructure:
        """The nominal model's structure (parsed once per nominal text, see
        :func:`structure_of`)."""
        return structure_of(self.nominal)

    @cached_property
    def dem(self) -> stim.DetectorErrorModel:
        """The learned detector error model (the nominal one with learned probabilities)."""
        return self.structure.to_dem(self.probabilities)

    def to_dem(self) -> stim.DetectorErrorModel:
        """The learned detector error model, ready for a matcher."""
        return self.dem.copy()

    @cached_property
    def hash(self) -> str:
        """A short SHA-256 of the learned model's text (names the model a block was decoded
        with)."""
        return dem_hash(self.dem)

    @property
    def nominal_hash(self) -> str:
        return self.structure.hash

    def ratio_to_nominal(self) -> np.ndarray:
        """Each mechanism's learned probability over its nominal one."""
        return self.probabilities / guard_nominal(self.structure.nominal)

    def card(self) -> dict[str, Any]:
        """A summary: shots, window, estimator, guards, how far from nominal, interval widths."""
        r = self.ratio_to_nominal()
        nom = self.structure.nominal
        width = (self.upper - self.lower) / np.maximum(self.probabilities, P_MIN)
        learned = self.reasons.get("kept", self.structure.num_mechanisms - self.kept_nominal)
        return {
            "estimator": self.estimator, "hash": self.hash, "nominal_hash": self.nominal_hash,
            "shots": int(self.shots), "window": list(self.window), "version": self.version,
            "source": self.source, "mechanisms": self.structure.num_mechanisms,
            "learned": int(learned), "kept_nominal": int(self.kept_nominal),
            "reasons": dict(self.reasons),
            "total_probability": {"nominal": float(nom.sum()),
                                  "learned": float(self.probabilities.sum())},
            "ratio_to_nominal": {q: float(np.quantile(r, v)) for q, v in
                                 (("p05", 0.05), ("median", 0.5), ("p95", 0.95))},
            "relative_interval_width_median": float(np.median(width)),
        }

    # -- storage ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping (arrays as lists) that :meth:`from_dict` reads back exactly."""
        return {"nominal": self.nominal, "probabilities": self.probabilities.tolist(),
                "lower": self.lower.tolist(), "upper": self.upper.tolist(),
                "estimator": self.estimator, "shots": int(self.shots),
                "window": [int(w) for w in self.window], "kept_nominal": int(self.kept_nominal),
                "reasons": {k: int(v) for k, v in self.reasons.items()}, "time": self.time,
                "version": int(self.version), "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LearnedNoise:
        try:
            return cls(nominal=d["nominal"], probabilities=np.asarray(d["probabilities"]),
                       lower=np.asarray(d["lower"]), upper=np.asarray(d["upper"]),
                       estimator=d["estimator"], shots=int(d["shots"]),
                       window=tuple(d.get("window", (0, 0))),
                       kept_nominal=int(d.get("kept_nominal", 0)),
                       reasons=dict(d.get("reasons", {})), time=float(d.get("time", 0.0)),
                       version=int(d.get("version", 0)), source=str(d.get("source", "")))
        except KeyError as e:
            raise QplaneError(f"a stored learned noise model lacks {e}; it was not written by "
                              "LearnedNoise.to_dict") from e

    def meta_json(self) -> str:
        """Everything but the arrays and the nominal text, as JSON (for the run file's rows)."""
        d = self.to_dict()
        for k in ("nominal", "probabilities", "lower", "upper"):
            d.pop(k)
        d["hash"], d["nominal_hash"] = self.hash, self.nominal_hash
        return json.dumps(d, sort_keys=True)


def guard_nominal(p: np.ndarray) -> np.ndarray:
    """Nominal probabilities clipped into the range a matcher takes."""
    return np.clip(np.nan_to_num(np.asarray(p, np.float64), nan=P_MIN), P_MIN, P_MAX)
