"""Calibration nodes: one per experiment, each a Parameters type plus plain acquire/fit/update.

====================  ===================  ========================================  ============
node                  experiment           fit → results                             updates
====================  ===================  ========================================  ============
``spectroscopy``      qubit spectroscopy   Lorentzian → qubit frequency, linewidth    drive_frequency
``rabi``              Rabi amplitude       sin² in amplitude → π amplitude            pi_amplitude
``ramsey``            Ramsey (detuned)     damped cosine → fine frequency, T2*        drive_frequency
``t1``                T1                   exponential → T1                           (none)
``echo``              Hahn echo            exponential → T2                           (none)
``readout``           readout IQ shots     blob separation → angle, threshold, F      readout_angle,
                                                                                      readout_threshold
====================  ===================  ========================================  ============

The QEC lab's further nodes (readout resonator, frequency, amplitude, duration, DRAG, randomized
benchmarking, the CZ gate) are in :mod:`~qplane.calibration.nodes_qec`, and in
:data:`NODE_TYPES` too.

A node is stateless: :meth:`Node.request` builds the experiment from the qubit's current settings
(a full sweep, or a cheap check of a few points), :meth:`Node.analyse` fits the returned data and
runs the quality gate (:mod:`qplane.calibration.gates`), :meth:`Node.compare` says whether the
current settings are in spec given a good analysis, and :meth:`Node.proposal` gives the new
setting values a full calibration writes (through :class:`~qplane.calibration.updates.SettingsLedger`,
by :func:`qplane.calibration.run.run_node`).

Requests and data are those of the device contract,
:class:`~qplane.device.ExperimentRequest` and
:class:`~qplane.device.ExperimentData` (whose docstring gives the functional
forms fitted here).

>>> node = RabiNode()
>>> req = node.request("q0", {"q0.pi_amplitude": 0.4}, check=False)
>>> req.kind.value, len(req.sweep), round(float(max(req.sweep)), 3)
('rabi_amplitude', 41, 0.88)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Mapping

import numpy as np

from qplane.calibration.fits import FitResult, ReadoutFit, fit_readout
from qplane.calibration.gates import GateResult, Outcome
from qplane.calibration.units import format_value
from qplane.device import SWEEP_LIMITS, ExperimentKind, ExperimentRequest


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What a node made of one data set: the fit, the gate's verdict and derived values."""

    fit: FitResult | ReadoutFit
    gate: GateResult
    values: dict[str, float]
    resolution: float = math.nan
    #: the full :class:`~qplane.calibration.analysis.AnalysisResult` (sweep nodes), or None
    result: Any = None


@dataclasses.dataclass(frozen=True)
class SweepParameters:
    """A node's Parameters: the sweep of a full calibration and of a cheap check.

    ``start``/``stop`` are relative to the node's anchor (see each node); ``points``/``shots``
    make the full sweep, ``check_points``/``check_shots`` the cheap data check, whose span is
    ``check_span`` times the full one.
    """

    start: float
    stop: float
    points: int
    shots: int
    check_points: int
    check_shots: int
    check_span: float = 1.0

    def sweep(self, anchor: float, *, check: bool, scale: str = "offset") -> np.ndarray:
        n = self.check_points if check else self.points
        f = self.check_span if check else 1.0
        if scale == "offset":
            return anchor + f * np.linspace(self.start, self.stop, n)
        return anchor * f * np.linspace(self.start, self.stop, n)

    def adjusted(self, check: str) -> "SweepParameters":
        """The parameters a retry uses after the gate's ``check`` failed (a suboptimal sweep).

        ``range``: twice the span; ``sampling``: twice the points; ``noise``: four times the
        shots. Anything else: unchanged.
        """
        if check == "range":
            return dataclasses.replace(self, start=2 * self.start, stop=2 * self.stop,
                                       points=2 * self.points)
        if check == "sampling":
            return dataclasses.replace(self, points=2 * self.points)
        if check == "noise":
            return dataclasses.replace(self, shots=4 * self.shots)
        return self


class Node:
    """Base of the calibration nodes; subclasses set the class attributes and methods.

    Attributes:
        name: the node's name (unique in a graph).
        experiment: the experiment kind it requests.
        unit: the unit of its sweep.
        controls: the settings a full calibration writes.
    """

    name: ClassVar[str] = ""
    experiment: ClassVar[str] = ""
    unit: ClassVar[str] = ""
    controls: ClassVar[tuple[str, ...]] = ()
    default_parameters: ClassVar[SweepParameters]
    #: whether the learned second opinion (trained on the six nodes' sweeps) is asked
    second_opinion: ClassVar[bool] = True

    def __init__(self, parameters: SweepParameters | None = None, **spec: float):
        self.parameters = parameters or self.default_parameters
        self.spec = {**self.default_spec(), **spec}

    def default_spec(self) -> dict[str, float]:
        """Tolerances and device specs of this node (overridable by keyword)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # --- acquire ------------------------------------------------------------------------------
    def anchor(self, qubit: str, settings: Mapping[str, float]) -> float:
        return 0.0

    def request(self, qubit: str, settings: Mapping[str, float], *, check: bool,
                parameters: SweepParameters | None = None) -> ExperimentRequest:
        """The experiment for ``qubit`` given its current ``settings`` ("<qubit>.<control>")."""
        p = parameters or self.parameters
        kind = ExperimentKind(self.experiment)
        sweep = self.make_sweep(p, self.anchor(qubit, settings), check=check)
        if kind is ExperimentKind.READOUT_IQ:
            sweep = None
        else:
            sweep = np.clip(sweep, *SWEEP_LIMITS[kind])
        return ExperimentRequest(kind, qubit, sweep, shots=p.check_shots if check else p.shots,
                                 **self.experiment_settings())

    def make_sweep(self, p: SweepParameters, anchor: float, *, check: bool) -> np.ndarray:
        return p.sweep(anchor, check=check)

    def experiment_settings(self) -> dict[str, float]:
        return {}

    # --- fit ----------------------------------------------------------------------------------
    def analyse(self, data: Any) -> Analysis:
        """Fit ``data`` and run the quality gate."""
        raise NotImplementedError

    # --- update -------------------------------------------------------------------------------
    def compare(self, qubit: str, analysis: Analysis,
                settings: Mapping[str, float]) -> tuple[bool, str]:
        """Whether the current settings are in spec given a passed analysis, and why."""
        return True, "nothing to compare"

    def device_spec(self, analysis: Analysis) -> tuple[bool, str]:
        """Whether the measured device is within its specs (T1 long enough, ...)."""
        return True, ""

    def proposal(self, qubit: str, analysis: Analysis,
                 settings: Mapping[str, float]) -> dict[str, float]:
        """Control -> new value that a full calibration writes."""
        return {}

    def check_suffices(self, analysis: Analysis) -> bool:
        """Whether a passed check's own result is precise enough to calibrate from.

        When it is, the graph writes the proposal from the check's data instead of running the
        full sweep again (no new experiment). Default: never.
        """
        return False


def analyse_data(node: "Node", data: Any, **settings: Any) -> Analysis:
    """Analyse a node's :class:`~qplane.device.ExperimentData` with
    :func:`qplane.calibration.analyse` (population signal, binomial shot noise plus a technical
    floor from the data); the node's values are those of ``node.values_of``."""
    from qplane.calibration.analysis import analyse

    result = analyse(node.name, data.sweep, data.signal, signal_type="population",
                     shots=data.shots, units=data.sweep_unit, second_opinion=False, **settings)
    values = {name: result.values[source].value for name, source in node.value_names.items()}
    return Analysis(result.fit, result.gate, values, result.resolution, result)


def _step(x: np.ndarray) -> float:
    return float((x.max() - x.min()) / max(len(x) - 1, 1))


class SpectroscopyNode(Node):
    """Qubit spectroscopy → drive frequency. Sweep: offsets (Hz) from the drive frequency."""

    name = "spectroscopy"
    experiment = "qubit_spectroscopy"
    unit = "Hz"
    controls = ("drive_frequency",)
    default_parameters = SweepParameters(-2e6, 2e6, 81, 200, 21, 200, check_span=0.25)

    def default_spec(self) -> dict[str, float]:
        return {"tolerance": 100e3, "max_relative_error": 0.05}

    def anchor(self, qubit: str, settings: Mapping[str, float]) -> float:
        return settings[f"{qubit}.drive_frequency"]

    value_names = {"frequency": "frequency", "linewidth": "linewidth"}

    def analyse(self, data: Any) -> Analysis:
        return analyse_data(self, data, max_relative_error=self.spec["max_relative_error"])

    def compare(self, qubit, analysis, settings):
        off = analysis.values["frequency"] - settings[f"{qubit}.drive_frequency"]
        ok = abs(off) <= self.spec["tolerance"]
        return ok, f"drive is {off / 1e6:+.3f} MHz from the qubit (tolerance " \
                   f"{self.spec['tolerance'] / 1e6:g} MHz)"

    def proposal(self, qubit, analysis, settings):
        return {"drive_frequency": analysis.values["frequency"]}


class RabiNode(Node):
    """Rabi amplitude → π amplitude. Sweep: multiples of the current π amplitude."""

    name = "rabi"
    experiment = "rabi_amplitude"
    unit = "V"
    controls = ("pi_amplitude",)
    default_parameters = SweepParameters(0.0, 2.2, 41, 200, 13, 200)

    def default_spec(self) -> dict[str, float]:
        return {"relative_tolerance": 0.02, "max_relative_error": 0.01}

    def anchor(self, qubit, settings):
        return settings[f"{qubit}.pi_amplitude"]

    def make_sweep(self, p, anchor, *, check):
        return p.sweep(anchor, check=check, scale="multiple")

    value_names = {"pi_amplitude": "pi_amplitude", "contrast": "contrast"}

    def analyse(self, data):
        # the π amplitude the sweep was built from: a fit far from it whose alias is near it
        # is refused as aliased (aliasing.NotAliased)
        expected = data.settings.get("pi_amplitude")
        return analyse_data(self, data, max_relative_error=self.spec["max_relative_error"],
                            expected_pi_amplitude=None if expected is None else float(expected))

    def compare(self, qubit, analysis, settings):
        cur = settings[f"{qubit}.pi_amplitude"]
        rel = analysis.values["pi_amplitude"] / cur - 1
        return abs(rel) <= self.spec["relative_tolerance"], \
            f"π amplitude is {rel:+.2%} from the setting (tolerance " \
            f"{self.spec['relative_tolerance']:.1%})"

    def proposal(self, qubit, analysis, settings):
        return {"pi_amplitude": analysis.values["pi_amplitude"]}


class RamseyNode(Node):
    """Ramsey with an artificial detuning → fine drive frequency and T2*. Sweep: delays (s).

    The fringe frequency is ``detuning + (f_qubit - f_drive)``, so the qubit sits at
    ``f_drive + fringe - detuning``; only fringes within ``[detuning/2, 3·detuning/2]`` are
    trusted (beyond, the offset's sign is ambiguous and the gate reports bad data).
    """

    name = "ramsey"
    experiment = "ramsey"
    unit = "s"
    controls = ("drive_frequency",)
    default_parameters = SweepParameters(0.0, 20e-6, 81, 200, 41, 150, check_span=0.5)

    def default_spec(self) -> dict[str, float]:
        return {"detuning": 1.0e6, "tolerance": 5e3, "max_relative_error": 0.0015}

    def experiment_settings(self):
        return {"artificial_detuning": self.spec["detuning"]}

    value_names = {"frequency_offset": "frequency_offset", "t2_star": "t2_star"}

    def analyse(self, data):
        # the uncertainty is judged relative to the detuning: a fraction of the tolerance
        det = self.spec["detuning"]
        return analyse_data(self, data, detuning=det, scale=abs(det),
                            max_relative_error=self.spec["max_relative_error"])

    def compare(self, qubit, analysis, settings):
        off = analysis.values["frequency_offset"]
        return abs(off) <= self.spec["tolerance"], \
            f"qubit is {off / 1e3:+.1f} kHz from the drive (tolerance " \
            f"{self.spec['tolerance'] / 1e3:g} kHz)"

    def proposal(self, qubit, analysis, settings):
        return {"drive_frequency": settings[f"{qubit}.drive_frequency"]
                + analysis.values["frequency_offset"]}

    def check_suffices(self, analysis):
        # The check's fringe frequency is known to a third of the tolerance or better (or the
        # fraction ``from_check`` given in the spec).
        return analysis.gate.passed and \
            analysis.fit.errors["frequency"] <= self.spec["tolerance"] * self.spec.get(
                "from_check", 1 / 3)


class _DecayNode(Node):
    unit = "s"
    key = "tau"
    value_name = ""

    def default_spec(self):
        return {"minimum": 10e-6, "max_relative_error": 0.2}

    @property
    def value_names(self) -> dict[str, str]:
        return {self.value_name: self.value_name}

    def analyse(self, data):
        return analyse_data(self, data, max_relative_error=self.spec["max_relative_error"])

    def device_spec(self, analysis):
        v = analysis.values[self.value_name]
        ok = v >= self.spec["minimum"]
        return ok, (f"{self.value_name} = {format_value(v, 's')} (spec ≥ "
                    f"{format_value(self.spec['minimum'], 's')})")

    def compare(self, qubit, analysis, settings):
        return self.device_spec(analysis)


class T1Node(_DecayNode):
    """T1 from the decay of |1⟩. Sweep: delays (s). Updates no setting; checks the spec."""

    name = "t1"
    experiment = "t1"
    value_name = "t1"
    default_parameters = SweepParameters(0.0, 300e-6, 31, 200, 16, 200)


class EchoNode(_DecayNode):
    """T2 from a Hahn echo. Sweep: total delays (s). Updates no setting; checks the spec."""

    name = "echo"
    experiment = "hahn_echo"
    value_name = "t2_echo"
    default_parameters = SweepParameters(0.0, 400e-6, 31, 300, 16, 300)


class ReadoutNode(Node):
    """Readout IQ single shots of |0⟩ and |1⟩ → discrimination angle, threshold, fidelity."""

    name = "readout"
    experiment = "readout_iq"
    unit = ""
    controls = ("readout_angle", "readout_threshold")
    default_parameters = SweepParameters(0.0, 0.0, 0, 2000, 0, 500)

    def default_spec(self):
        return {"min_fidelity": 0.9, "fidelity_tolerance": 0.01, "min_snr": 1.5,
                "max_fidelity_error": 0.02, "max_blob_excess": 1.25}

    def make_sweep(self, p, anchor, *, check):
        return np.zeros(0)

    def analyse(self, data):
        try:
            fit = fit_readout(data.iq0, data.iq1)
        except ValueError as e:
            empty = ReadoutFit(math.nan, math.nan, math.nan, math.inf, 0.0, 0j, 0j, math.nan)
            return Analysis(empty, GateResult(Outcome.FIT_FAILED, str(e), "converged"), {})
        values = {"angle": fit.angle, "threshold": fit.threshold, "fidelity": fit.fidelity}
        if not (math.isfinite(fit.angle) and math.isfinite(fit.threshold)):
            gate = GateResult(Outcome.FIT_FAILED, "non-finite blob centres", "converged")
        elif fit.separation_snr < self.spec["min_snr"]:
            gate = GateResult(Outcome.BAD_DATA,
                              f"no signal: |0⟩ and |1⟩ blobs {fit.separation_snr:.2f} widths "
                              f"apart (< {self.spec['min_snr']:g})", "signal")
        elif fit.fidelity_error > self.spec["max_fidelity_error"]:
            gate = GateResult(Outcome.BAD_DATA,
                              f"too noisy: fidelity uncertainty {fit.fidelity_error:.3f}; "
                              "take more shots", "noise")
        elif _blob_excess(data, fit) > self.spec["max_blob_excess"]:
            gate = GateResult(Outcome.BAD_DATA,
                              f"residuals: the |1⟩ blob is {_blob_excess(data, fit):.2f}× wider "
                              "along the readout axis than across it (leakage or a third state)",
                              "residuals")
        else:
            gate = GateResult(Outcome.SUCCESS,
                              f"fidelity {fit.fidelity:.4f} ± {fit.fidelity_error:.4f}, "
                              f"SNR {fit.separation_snr:.1f}", "passed")
        return Analysis(fit, gate, values, fit.separation_snr)

    def compare(self, qubit, analysis, settings):
        fit = analysis.fit
        angle = settings[f"{qubit}.readout_angle"]
        thr = settings[f"{qubit}.readout_threshold"]
        current = _assignment_fidelity(fit, angle, thr)
        loss = _assignment_fidelity(fit, fit.angle, fit.threshold) - current
        return loss <= self.spec["fidelity_tolerance"], \
            f"current angle/threshold give fidelity {current:.4f}, optimum {fit.fidelity:.4f}"

    def device_spec(self, analysis):
        f = analysis.values["fidelity"]
        return f >= self.spec["min_fidelity"], \
            f"assignment fidelity {f:.4f} (spec ≥ {self.spec['min_fidelity']:g})"

    def proposal(self, qubit, analysis, settings):
        return {"readout_angle": analysis.values["angle"],
                "readout_threshold": analysis.values["threshold"]}


def _blob_excess(data: Any, fit: ReadoutFit) -> float:
    """Spread along the axis of the |1⟩ shots beyond the threshold over their spread across it.

    A Gaussian blob cut at the threshold is narrower along the axis than across (ratio < 1);
    a third blob beyond |1⟩ (leakage, a shifted resonator) makes it wider.
    """
    rot = np.exp(-1j * fit.angle)
    z = np.asarray(data.iq1) * rot
    beyond = z[z.real > fit.threshold]
    if len(beyond) < 100:
        return 0.0
    across = float(np.std(z.imag))
    return float(np.std(beyond.real) / across) if across > 0 else math.inf


def _assignment_fidelity(fit: ReadoutFit, angle: float, threshold: float) -> float:
    """Gaussian-blob estimate of the fidelity that ``angle``/``threshold`` give on this readout."""
    from scipy.stats import norm

    rot = np.exp(-1j * angle)
    m0, m1 = (fit.center0 * rot).real, (fit.center1 * rot).real
    s = fit.sigma if fit.sigma > 0 else 1e-12
    p10 = norm.sf((threshold - m0) / s)
    p01 = norm.cdf((threshold - m1) / s)
    return float(1 - (p10 + p01) / 2)


#: Node name -> class, for configs: the six above and the QEC lab's further nodes
#: (:mod:`~qplane.calibration.nodes_qec`: resonator, readout tone, DRAG, RB, CZ).
NODE_TYPES: dict[str, type[Node]] = {
    cls.name: cls for cls in (SpectroscopyNode, RabiNode, RamseyNode, T1Node, EchoNode,
                              ReadoutNode)
}
from qplane.calibration.nodes_qec import QEC_NODE_TYPES  # noqa: E402  (they subclass Node)

NODE_TYPES.update(QEC_NODE_TYPES)
