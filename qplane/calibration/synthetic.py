"""Synthetic calibration data for one qubit, with known truth and injectable failure modes.

This is not the simulated lab (that is :mod:`qplane.sim_instruments`): it is a small, fast
single-qubit generator following the same functional forms (documented in
:mod:`qplane.device.experiments`), used where a test or a training set needs data with a
*known* answer and a *known* failure: the fit-recovery and gate tests, the training and held-out
sets of the learned second opinion, and ``qplane bench calibration``.

Failure modes (:data:`FAILURE_MODES`):

``ok``            the experiment as requested, on a healthy qubit;
``off_range``     the feature lies outside the swept range (a resonance off the sweep, a π
                  amplitude beyond it, a decay much longer than the delays);
``undersampled``  too few points to resolve the feature;
``noisy``         far too few shots per point;
``anomalous``     the physics is not the model: a two-level-system defect splitting the line,
                  a telegraphic jump of T1 or frequency part-way through, beating;
``no_signal``     an apparatus issue: the drive or the readout does nothing.

>>> rng = np.random.default_rng(0)
>>> truth = QubitTruth()
>>> req = ExperimentRequest("t1", "q0", np.linspace(0, 150e-6, 31), shots=400)
>>> data = simulate(req, truth, truth.ideal_settings(), rng)
>>> data.signal.shape, data.kind.value
((31,), 't1')
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
from scipy.stats import norm

from qplane.device import (
    SWEEP_LIMITS,
    SWEEP_UNITS,
    ExperimentData,
    ExperimentKind,
    ExperimentRequest,
)
from qplane.drivers import ControlLimits, check_limits

FAILURE_MODES = ("ok", "off_range", "undersampled", "noisy", "anomalous", "no_signal")

#: Seconds per shot besides the swept delay (reset, pulses, readout).
SHOT_OVERHEAD = 100e-6


#: The limits of :class:`SyntheticBackend`'s controls: what a station's ``qplane.controls``
#: section is for a real one (it has no station, so its ledger is given these).
SYNTHETIC_LIMITS: dict[str, ControlLimits] = {
    "drive_frequency": ControlLimits(1.0e9, 20.0e9, max_step=1.0e6, unit=" Hz"),
    "pi_amplitude": ControlLimits(0.01, 1.0, max_step=0.05, unit=" V"),
    "readout_angle": ControlLimits(-2 * math.pi, 2 * math.pi, max_step=math.pi, unit=" rad"),
    "readout_threshold": ControlLimits(-10.0, 10.0, max_step=1.0, unit=" V"),
}


@dataclasses.dataclass(frozen=True)
class QubitTruth:
    """The true parameters of one simulated qubit (typical transmon values, as in
    :class:`~qplane.sim_instruments.device.DeviceProfile`)."""

    frequency: float = 5.0e9
    pi_amplitude: float = 0.4
    t1: float = 80e-6
    t2_star: float = 60e-6
    t2_echo: float = 105e-6
    center0: complex = 0.0 + 0.0j
    center1: complex = 0.7 + 0.7j
    sigma: float = 0.2
    thermal: float = 0.003
    pulse_duration: float = 25e-9
    spectroscopy_rabi_frequency: float = 100e3

    def ideal_settings(self) -> dict[str, float]:
        """The settings a perfect calibration would choose."""
        angle = float(np.angle(self.center1 - self.center0))
        rot = np.exp(-1j * angle)
        thr = float(((self.center0 + self.center1) * rot).real / 2)
        return {"drive_frequency": self.frequency, "pi_amplitude": self.pi_amplitude,
                "readout_angle": angle, "readout_threshold": thr,
                "pulse_duration": self.pulse_duration}


def _readout_errors(truth: QubitTruth, settings: dict[str, float]) -> tuple[float, float]:
    rot = np.exp(-1j * settings["readout_angle"])
    thr = settings["readout_threshold"]
    e01 = float(norm.sf((thr - (truth.center0 * rot).real) / truth.sigma))
    e10 = float(norm.cdf((thr - (truth.center1 * rot).real) / truth.sigma))
    return e01, min(1.0, e10 + 1e-6 / truth.t1 * 0.5)


def ideal_population(kind: ExperimentKind, x: np.ndarray, truth: QubitTruth,
                     settings: dict[str, float], detuning: float = 0.0) -> np.ndarray:
    """The noiseless excited population ``P1`` of an experiment (the contract's formulas)."""
    fd = settings["drive_frequency"]
    tp = settings.get("pulse_duration", truth.pulse_duration)
    delta = 2 * np.pi * (truth.frequency - fd)
    if kind is ExperimentKind.QUBIT_SPECTROSCOPY:
        om2 = (2 * np.pi * truth.spectroscopy_rabi_frequency) ** 2
        s = om2 * truth.t1 * truth.t2_star
        return 0.5 * s / (1 + (2 * np.pi * (x - truth.frequency)) ** 2 * truth.t2_star**2 + s)
    if kind is ExperimentKind.RABI_AMPLITUDE:
        om = np.pi * x / (truth.pi_amplitude * tp)
        w = np.sqrt(om**2 + delta**2)
        return np.where(w > 0, om**2 / np.maximum(w**2, 1e-30) * np.sin(w * tp / 2) ** 2, 0.0)
    if kind is ExperimentKind.RAMSEY:
        f = truth.frequency - fd + detuning
        return 0.5 + 0.5 * np.exp(-x / truth.t2_star) * np.cos(2 * np.pi * f * x)
    if kind is ExperimentKind.T1:
        amp = settings["pi_amplitude"] / truth.pi_amplitude
        p0 = math.sin(math.pi * amp / 2) ** 2
        return p0 * np.exp(-x / truth.t1)
    if kind is ExperimentKind.HAHN_ECHO:
        return 0.5 - 0.5 * np.exp(-x / truth.t2_echo)
    raise ValueError(f"no population model for {kind.value}")


def simulate(request: ExperimentRequest, truth: QubitTruth, settings: dict[str, float],
             rng: np.random.Generator, *, failure: str = "ok", time: float = 0.0
             ) -> ExperimentData:
    """Run ``request`` on a qubit with ``truth`` under ``settings``; inject ``failure``.

    ``off_range``, ``undersampled`` and ``noisy`` come from the request itself (see
    :func:`failure_request`); here they run as requested. ``anomalous`` and ``no_signal`` change
    the physics or the apparatus.
    """
    if failure not in FAILURE_MODES:
        raise ValueError(f"unknown failure mode {failure!r}; known: {FAILURE_MODES}")
    kind = request.kind
    settings = {**truth.ideal_settings(), **settings}
    x = np.asarray(request.sweep, dtype=float)
    e01, e10 = _readout_errors(truth, settings)
    run_settings = dict(settings)
    duration = float(request.shots * len(x) * SHOT_OVERHEAD)
    if kind is ExperimentKind.READOUT_IQ:
        n = request.shots
        pi_amp = settings["pi_amplitude"] / truth.pi_amplitude
        p1 = math.sin(math.pi * pi_amp / 2) ** 2 * (1 - truth.thermal) + truth.thermal
        c1 = truth.center1
        if failure == "no_signal":
            c1 = truth.center0
        s1 = rng.random(n) < p1
        s0 = rng.random(n) < truth.thermal
        centres0 = np.where(s0, c1, truth.center0)
        centres1 = np.where(s1, c1, truth.center0)
        if failure == "anomalous":   # a third blob: leakage / a TLS-shifted resonator
            third = rng.random(n) < 0.25
            centres1 = np.where(third, c1 + 1.5 * (c1 - truth.center0), centres1)
        iq0 = centres0 + truth.sigma * (rng.normal(size=n) + 1j * rng.normal(size=n))
        iq1 = centres1 + truth.sigma * (rng.normal(size=n) + 1j * rng.normal(size=n))
        rot = np.exp(-1j * settings["readout_angle"])
        thr = settings["readout_threshold"]
        signal = [float(np.mean((iq0 * rot).real > thr)), float(np.mean((iq1 * rot).real > thr))]
        return ExperimentData(kind, request.qubit, np.array([0.0, 1.0]), SWEEP_UNITS[kind],
                              signal, n, run_settings, time, 2 * n * SHOT_OVERHEAD, iq0, iq1)
    detuning = request.artificial_detuning
    if kind is ExperimentKind.RAMSEY:
        run_settings["artificial_detuning"] = detuning
    p1 = ideal_population(kind, x, truth, settings, detuning)
    if failure == "anomalous":
        p1 = _anomaly(kind, x, truth, settings, detuning, p1, rng)
    elif failure == "no_signal":
        p1 = np.zeros_like(x) if rng.random() < 0.5 else np.full_like(x, 0.5)
    p1 = truth.thermal + (1 - 2 * truth.thermal) * p1
    if failure == "no_signal" and rng.random() < 0.3:
        e01, e10 = 0.5, 0.5  # readout chain broken: a coin flip
    p = e01 + (1 - e01 - e10) * np.clip(p1, 0, 1)
    signal = rng.binomial(request.shots, np.clip(p, 0, 1)) / request.shots
    if kind in (ExperimentKind.T1, ExperimentKind.HAHN_ECHO, ExperimentKind.RAMSEY):
        duration += float(request.shots * np.sum(x))
    return ExperimentData(kind, request.qubit, x, SWEEP_UNITS[kind], signal, request.shots,
                          run_settings, time, duration)


def _anomaly(kind: ExperimentKind, x: np.ndarray, truth: QubitTruth, settings: dict[str, float],
             detuning: float, p1: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The population of an anomalous qubit (a TLS or a telegraphic jump mid-sweep)."""
    style = int(rng.integers(2))
    n = len(x)
    cut = int(rng.integers(n // 3, 2 * n // 3))
    if kind is ExperimentKind.QUBIT_SPECTROSCOPY:
        if style == 0:   # a TLS splits the line in two
            split = (x.max() - x.min()) * rng.uniform(0.15, 0.3)
            a = dataclasses.replace(truth, frequency=truth.frequency - split / 2)
            b = dataclasses.replace(truth, frequency=truth.frequency + split / 2)
            return 0.5 * (ideal_population(kind, x, a, settings)
                          + ideal_population(kind, x, b, settings))
        jumped = dataclasses.replace(truth, frequency=truth.frequency
                                     + (x.max() - x.min()) * rng.uniform(0.2, 0.35))
    elif kind is ExperimentKind.RABI_AMPLITUDE:
        jumped = dataclasses.replace(truth, pi_amplitude=truth.pi_amplitude
                                     * rng.uniform(1.5, 2.0))
    elif kind is ExperimentKind.RAMSEY:
        if style == 0:   # beating with a TLS: two frequencies
            f2 = dataclasses.replace(truth, frequency=truth.frequency + rng.uniform(0.3, 0.6)
                                     * abs(detuning or 1e6))
            return 0.5 * (p1 + ideal_population(kind, x, f2, settings, detuning))
        jumped = dataclasses.replace(truth, frequency=truth.frequency
                                     + rng.uniform(0.4, 0.8) * abs(detuning or 1e6))
    else:
        jumped = dataclasses.replace(truth, t1=truth.t1 * rng.uniform(0.1, 0.2),
                                     t2_echo=truth.t2_echo * rng.uniform(0.1, 0.2))
        if style == 0:   # a fluctuator: the decay resumes from a reset population
            out = p1.copy()
            out[cut:] = np.clip(p1[cut:] + rng.uniform(0.25, 0.4) * np.sign(0.5 - p1[cut:]),
                                0, 1)
            return out
    out = p1.copy()
    out[cut:] = ideal_population(kind, x, jumped, settings, detuning)[cut:]
    return out


def random_truth(rng: np.random.Generator, *, spread: float = 1.0) -> QubitTruth:
    """A random healthy transmon; ``spread`` scales the variation (>1 for out-of-training)."""
    log_spread = 0.2 * spread
    t1 = float(80e-6 * math.exp(log_spread * rng.standard_normal()))
    if rng.random() < 0.15 * spread:      # a TLS: short T1
        t1 *= 0.3
    tphi = float(100e-6 * math.exp(log_spread * rng.standard_normal()))
    angle = rng.uniform(-np.pi, np.pi)
    sep = rng.uniform(0.8, 1.2)
    c0 = complex(rng.normal(0, 0.3), rng.normal(0, 0.3))
    return QubitTruth(
        frequency=float(rng.uniform(4.8e9, 5.2e9)),
        pi_amplitude=float(rng.uniform(0.25, 0.45)),
        t1=t1,
        t2_star=1 / (1 / (2 * t1) + 1 / tphi),
        t2_echo=1 / (1 / (2 * t1) + 1 / (3 * tphi)),
        center0=c0, center1=c0 + sep * np.exp(1j * angle),
        sigma=float(sep * rng.uniform(0.15, 0.25) * spread),
        spectroscopy_rabi_frequency=float(rng.uniform(70e3, 150e3)),
    )


def drifted_settings(truth: QubitTruth, rng: np.random.Generator, *,
                     drift: float = 1.0) -> dict[str, float]:
    """Settings near the truth, off by a drift of relative size ``drift``."""
    s = truth.ideal_settings()
    s["drive_frequency"] += float(rng.normal(0, 30e3 * drift))
    s["pi_amplitude"] *= float(1 + rng.normal(0, 0.02 * drift))
    s["readout_angle"] += float(rng.normal(0, 0.05 * drift))
    return s


def failure_request(kind: ExperimentKind, qubit: str, truth: QubitTruth,
                    settings: dict[str, float], failure: str, rng: np.random.Generator
                    ) -> ExperimentRequest:
    """The request a node would make for ``kind``, spoiled as ``failure`` requires.

    The base request is the node's own (:mod:`qplane.calibration.nodes`), a full sweep or a
    cheap check, with its points, shots and Ramsey detuning varied by up to about ±30 %.
    """
    from qplane.calibration.nodes import NODE_TYPES

    node = NODE_TYPES[_NODE_OF_KIND[kind]]()
    p = node.parameters
    check = bool(rng.random() < 0.4)
    p = dataclasses.replace(p, points=max(int(p.points * rng.uniform(0.8, 1.3)), 2),
                            check_points=max(int(p.check_points * rng.uniform(0.8, 1.3)), 2),
                            shots=max(int(p.shots * rng.uniform(0.7, 2.0)), 1),
                            check_shots=max(int(p.check_shots * rng.uniform(0.7, 2.0)), 1))
    if kind is ExperimentKind.READOUT_IQ:
        p = dataclasses.replace(p, shots=int(rng.integers(1000, 3000)),
                                check_shots=int(rng.integers(400, 1000)))
    if kind is ExperimentKind.RAMSEY:   # keep at least ~3 points per fringe
        node.spec["detuning"] *= float(rng.uniform(0.75, 1.1))
        p = dataclasses.replace(p, points=max(p.points, node.parameters.points),
                                check_points=max(p.check_points, node.parameters.check_points))
    full = {f"{qubit}.{k}": v for k, v in settings.items()}
    req = node.request(qubit, full, check=check, parameters=p)
    decay = {ExperimentKind.T1: truth.t1, ExperimentKind.HAHN_ECHO: truth.t2_echo}.get(kind, 0.0)
    return spoil_request(req, failure, frequency=truth.frequency,
                         pi_amplitude=truth.pi_amplitude, decay=decay, rng=rng)


_NODE_OF_KIND = {ExperimentKind.QUBIT_SPECTROSCOPY: "spectroscopy",
                 ExperimentKind.RABI_AMPLITUDE: "rabi", ExperimentKind.RAMSEY: "ramsey",
                 ExperimentKind.T1: "t1", ExperimentKind.HAHN_ECHO: "echo",
                 ExperimentKind.READOUT_IQ: "readout"}


def spoil_request(req: ExperimentRequest, failure: str, *, frequency: float,
                  pi_amplitude: float, decay: float, rng: np.random.Generator
                  ) -> ExperimentRequest:
    """``req`` spoiled as ``failure`` needs, given the true frequency, π amplitude and decay
    time (T1 or T2 echo) of the qubit; ``ok``, ``anomalous`` and ``no_signal`` leave it as is."""
    kind, sweep, shots = req.kind, np.array(req.sweep), req.shots
    det = req.artificial_detuning
    if failure == "noisy":
        shots = int(rng.integers(15, 40)) if kind is ExperimentKind.READOUT_IQ \
            else int(rng.integers(1, 4))
    elif kind is ExperimentKind.READOUT_IQ:
        pass
    elif failure == "undersampled":
        if kind is ExperimentKind.RAMSEY:
            n = int(rng.integers(7, 12))
            sweep = np.linspace(0, n / det * rng.uniform(0.6, 1.2), n)
        elif kind is ExperimentKind.QUBIT_SPECTROSCOPY:
            n = int(rng.integers(7, 12))
            half = (sweep.max() - sweep.min()) / 2 * rng.uniform(1.0, 1.5)
            sweep = sweep.mean() + np.linspace(-half, half, n)
        elif kind is ExperimentKind.RABI_AMPLITUDE:
            sweep = np.linspace(0, 1.0, int(rng.integers(4, 6)))
        else:
            sweep = np.linspace(0, decay * rng.uniform(3.0, 4.5), int(rng.integers(5, 7)))
    elif failure == "off_range":
        n = len(sweep)
        if kind is ExperimentKind.QUBIT_SPECTROSCOPY:
            span = sweep.max() - sweep.min()
            side = rng.choice([-1, 1])
            sweep = sweep - sweep.mean() + frequency + side * span * rng.uniform(0.51, 0.54)
        elif kind is ExperimentKind.RABI_AMPLITUDE:
            sweep = np.linspace(0, pi_amplitude * rng.uniform(0.4, 0.7), n)
        elif kind is ExperimentKind.RAMSEY:
            sweep = np.linspace(0, rng.uniform(0.3, 0.6) / det, n)   # shorter than a fringe
        else:
            sweep = np.linspace(0, decay * rng.uniform(0.1, 0.2), n)
    if kind is ExperimentKind.READOUT_IQ:
        return ExperimentRequest(kind, req.qubit, None, shots=shots)
    return ExperimentRequest(kind, req.qubit, np.clip(sweep, *SWEEP_LIMITS[kind]),
                             shots=max(shots, 1), artificial_detuning=det)


def make_case(kind: ExperimentKind | str, failure: str, rng: np.random.Generator, *,
              spread: float = 1.0, drift: float = 1.0, qubit: str = "q0"
              ) -> tuple[ExperimentData, QubitTruth, dict[str, float]]:
    """One labelled case: data of ``kind`` with ``failure``, and the truth and settings used."""
    kind = ExperimentKind(kind)
    truth = random_truth(rng, spread=spread)
    settings = drifted_settings(truth, rng, drift=drift)
    request = failure_request(kind, qubit, truth, settings, failure, rng)
    return simulate(request, truth, settings, rng, failure=failure), truth, settings


def case_label(failure: str) -> str:
    """The outcome class of a failure mode (what the learned second opinion predicts)."""
    return {"ok": "expected", "off_range": "suboptimal_sweep",
            "undersampled": "suboptimal_sweep", "noisy": "suboptimal_sweep",
            "anomalous": "anomalous", "no_signal": "no_signal"}[failure]


def describe(data: ExperimentData) -> dict[str, Any]:
    """A short summary of a data set (for messages)."""
    return {"kind": data.kind.value, "points": len(data.sweep), "shots": data.shots}


class SyntheticBackend:
    """An in-process :class:`~qplane.calibration.run.CalibrationBackend` over synthetic qubits.

    Each qubit has a :class:`QubitTruth` and settings (initially ideal); experiments run with
    :func:`simulate` and advance a simulated clock by their duration. ``failures`` injects a
    failure mode per (qubit, experiment kind) for tests. ``limits`` (control -> limits,
    default :data:`SYNTHETIC_LIMITS`) bound every update a ledger makes, as a station's
    ``qplane.controls`` section does.

    >>> b = SyntheticBackend(qubits=("q0", "q1"), seed=1)
    >>> b.read_setting("q1.pi_amplitude") == b.truth["q1"].pi_amplitude
    True
    """

    def __init__(self, qubits: tuple[str, ...] = ("q0",), *, seed: int = 0,
                 truth: dict[str, QubitTruth] | None = None,
                 limits: dict[str, ControlLimits] | None = None):
        self.limits = dict(SYNTHETIC_LIMITS if limits is None else limits)
        self.rng = np.random.default_rng(seed)
        self.truth = dict(truth or {q: QubitTruth() for q in qubits})
        self.settings: dict[str, float] = {}
        for q, t in self.truth.items():
            for k, v in t.ideal_settings().items():
                self.settings[f"{q}.{k}"] = v
        self.failures: dict[tuple[str, str], str] = {}
        self.clock = 0.0
        self.experiments: list[ExperimentRequest] = []

    def qubits(self) -> tuple[str, ...]:
        return tuple(self.truth)

    def now(self) -> float:
        return self.clock

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass."""
        self.clock += seconds

    def read_setting(self, setting: str) -> float:
        return self.settings[setting]

    def write_setting(self, setting: str, value: float,
                      details: dict[str, Any] | None = None) -> None:
        if setting not in self.settings:
            raise KeyError(setting)
        self.settings[setting] = float(value)

    def run_experiment(self, request: ExperimentRequest) -> ExperimentData:
        q = request.qubit
        own = {k.split(".", 1)[1]: v for k, v in self.settings.items() if k.startswith(q + ".")}
        failure = self.failures.get((q, request.kind.value), "ok")
        data = simulate(request, self.truth[q], own, self.rng, failure=failure, time=self.clock)
        self.clock += data.duration
        self.experiments.append(request)
        return data

    def check_write(self, setting: str, old: float, new: float, *,
                    step: bool = True) -> Any:
        """Check ``old -> new`` against :attr:`limits` (this backend's one limits layer, as a
        station's control map is for a station backend); return the write to make."""
        check_limits(setting, new, self.limits.get(setting.partition(".")[2]),
                     old=old if step else None)
        return functools.partial(self.write_setting, setting, float(new))

    def ledger(self, **kwargs: Any) -> Any:
        """A :class:`~qplane.calibration.updates.SettingsLedger` on these settings (on this
        backend's clock; bounded by :attr:`limits`)."""
        from qplane.calibration.updates import SettingsLedger

        return SettingsLedger(self, clock=self.now, **kwargs)
