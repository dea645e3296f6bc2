"""The nodes a QEC lab needs next: the readout tone, DRAG, benchmarking and the CZ gate.

==========================  ===============================  ===========================  ===================
node                        experiment                       fit → result                 writes
==========================  ===============================  ===========================  ===================
``resonator_spectroscopy``  resonator transmission, ±4 MHz   Lorentzian dip → f_r          ``readout_frequency``
``readout_frequency``       assignment fidelity vs f, ±1.2   flat-topped peak → best f     ``readout_frequency``
                            MHz
``readout_amplitude``       fidelity vs A, ×e^(±0.7)         erfc + A⁴ model → best A      ``readout_amplitude``
``readout_duration``        fidelity vs t, ×e^(±1)           erfc(√t) + t model → best t   ``readout_duration``
``drag``                    10 pairs of ±π pulses vs β,      sin² minimum → β*             ``drag_beta``
                            ±0.6
``randomized_benchmarking`` Clifford sequences, 0 … 1500     exponential → error per       — (a data check:
                                                             Clifford                      spec ≤ 2·10⁻³)
``cz``                      conditional phase vs flux        cos(π/2 (1 + (a/a*)²)) → a*   ``cz_amplitude``
                            amplitude, ×(0.8 … 1.2)
==========================  ===============================  ===========================  ===================

Each is built as the nodes of :mod:`~qplane.calibration.nodes` are (Parameters, ``request``,
``analyse`` through :func:`qplane.calibration.analyse` and the kind's gate, ``compare``,
``proposal``) and writes only through the settings ledger, bounded by the controls' limits in
``qplane.controls``. They need the optional controls bound
(:data:`~qplane.device.controls.OPTIONAL_CONTROLS`; in the simulated lab
``sim_lab_config(optional_controls=True)``). The learned second opinion was trained on the
single-qubit sweeps only; the nodes whose data have the shape of one of them ask it, judged as
that kind (:data:`~qplane.calibration.classifier.KIND_ANALOGUES`, on the node's own analysis):
``resonator_spectroscopy`` and ``readout_frequency`` (a line on a background: spectroscopy),
``randomized_benchmarking`` (an exponential with an offset: T1). ``drag``, ``cz``,
``readout_amplitude`` and ``readout_duration`` do not (``second_opinion = False``): their
curves (a sin² minimum, a chirped cosine, erfc-shaped fidelity) are no trained shape, and on
the simulated lab the model called most of their off-range sweeps "expected"
(``qplane bench calibration``, ``qec_nodes``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qplane.calibration.nodes import Analysis, Node, SweepParameters
from qplane.calibration.units import format_value

#: Validity timeouts (simulated seconds) of these nodes.
QEC_TIMEOUTS = {"resonator_spectroscopy": 24 * 3600.0, "readout_frequency": 4 * 3600.0,
                "readout_amplitude": 4 * 3600.0, "readout_duration": 4 * 3600.0,
                "drag": 4 * 3600.0, "randomized_benchmarking": 3600.0, "cz": 3600.0}
#: Their dependencies in a graph with the standard nodes.
QEC_DEPENDENCIES = {"resonator_spectroscopy": (), "readout_frequency": ("resonator_spectroscopy",),
                    "readout_amplitude": ("readout_frequency",),
                    "readout_duration": ("readout_amplitude",),
                    "drag": ("rabi",), "randomized_benchmarking": ("ramsey", "drag"),
                    "cz": ("ramsey",)}


def analyse_signal(node: Node, data: Any, sweep: Any = None, *, signal_type: str = "population",
                   shots: int | None = None, units: str | None = None,
                   **settings: Any) -> Analysis:
    """Analyse ``data`` with :func:`qplane.calibration.analyse` as kind ``node.name``."""
    from qplane.calibration.analysis import analyse

    result = analyse(node.name, data.sweep if sweep is None else sweep, data.signal,
                     signal_type=signal_type, shots=shots, units=units, second_opinion=False,
                     **settings)
    values = {name: result.values[source].value for name, source in node.value_names.items()}
    return Analysis(result.fit, result.gate, values, result.resolution, result)


class _QecNode(Node):
    second_opinion = False
    #: the second opinion judges the node's own analysis (:func:`~qplane.calibration.run.run_node`)
    opinion_on_analysis = True
    value_names: dict[str, str] = {}

    @property
    def control(self) -> str:
        """The one control the node sets (its ``controls``)."""
        return self.controls[0]

    def anchor(self, qubit, settings):
        """The sweep's anchor: the control's current value (a node without one: the base's)."""
        if not self.controls:
            return super().anchor(qubit, settings)
        return settings[f"{qubit}.{self.control}"]


class ResonatorSpectroscopyNode(_QecNode):
    """The readout resonator's dip (qubit in |0⟩) → the readout frequency. Sweep: offsets (Hz).

    A coarse node: it finds the resonator (tolerance 1 MHz) and writes its frequency plus
    ``offset``; ``readout_frequency`` then finds the best point near it.
    """

    name = "resonator_spectroscopy"
    second_opinion = True   # judged as spectroscopy (classifier.KIND_ANALOGUES)
    experiment = "resonator_spectroscopy"
    unit = "Hz"
    controls = ("readout_frequency",)
    default_parameters = SweepParameters(-4e6, 4e6, 81, 200, 41, 200, check_span=0.75)
    value_names = {"frequency": "frequency", "linewidth": "linewidth"}

    def default_spec(self):
        return {"tolerance": 1.0e6, "offset": 0.0, "max_relative_error": 0.05}

    def analyse(self, data):
        return analyse_signal(self, data, signal_type="magnitude",
                              max_relative_error=self.spec["max_relative_error"])

    def compare(self, qubit, analysis, settings):
        off = analysis.values["frequency"] + self.spec["offset"] \
            - settings[f"{qubit}.readout_frequency"]
        return abs(off) <= self.spec["tolerance"], \
            f"readout tone is {-off / 1e6:+.3f} MHz from the resonator (tolerance " \
            f"{self.spec['tolerance'] / 1e6:g} MHz)"

    def proposal(self, qubit, analysis, settings):
        return {"readout_frequency": analysis.values["frequency"] + self.spec["offset"]}


class ReadoutFrequencyNode(_QecNode):
    """Assignment fidelity vs the readout frequency → its best value. Sweep: offsets (Hz)."""

    name = "readout_frequency"
    second_opinion = True   # judged as spectroscopy (classifier.KIND_ANALOGUES)
    experiment = "readout_fidelity_frequency"
    unit = "Hz"
    controls = ("readout_frequency",)
    default_parameters = SweepParameters(-1.2e6, 1.2e6, 41, 1000, 25, 1000)
    value_names = {"readout_frequency": "center", "fidelity": "fidelity"}

    def default_spec(self):
        return {"tolerance": 100e3, "max_relative_error": 0.05}

    def analyse(self, data):
        return analyse_signal(self, data, shots=2 * data.shots,
                              max_relative_error=self.spec["max_relative_error"],
                              scale=self.spec["tolerance"] / self.spec["max_relative_error"] / 3)

    def compare(self, qubit, analysis, settings):
        off = analysis.values["readout_frequency"] - settings[f"{qubit}.readout_frequency"]
        return abs(off) <= self.spec["tolerance"], \
            f"readout tone is {off / 1e3:+.0f} kHz from the best (tolerance " \
            f"{self.spec['tolerance'] / 1e3:g} kHz)"

    def proposal(self, qubit, analysis, settings):
        return {"readout_frequency": analysis.values["readout_frequency"]}


class _ReadoutToneNode(_QecNode):
    """Assignment fidelity vs a readout-tone control swept in ratios ``e^(start … stop)`` of its
    setting → the best value. In spec when the fitted fidelity at the setting is within
    ``fidelity_tolerance`` of the fitted best (the peak is flat: position matters less than
    fidelity)."""

    def default_spec(self):
        return {"fidelity_tolerance": 5e-4, "max_relative_error": 0.1}

    def make_sweep(self, p, anchor, *, check):
        n = p.check_points if check else p.points
        f = p.check_span if check else 1.0
        return anchor * np.exp(f * np.linspace(p.start, p.stop, n))

    def analyse(self, data):
        return analyse_signal(self, data, shots=2 * data.shots,
                              max_relative_error=self.spec["max_relative_error"])

    def _loss(self, analysis: Analysis, current: float) -> float:
        fit = analysis.fit
        return float(fit.evaluate(np.array([analysis.values[self.control]]))[0]
                     - fit.evaluate(np.array([current]))[0])

    def compare(self, qubit, analysis, settings):
        cur = settings[f"{qubit}.{self.control}"]
        loss = self._loss(analysis, cur)
        best = analysis.values[self.control]
        return loss <= self.spec["fidelity_tolerance"], \
            f"{self.control} {format_value(cur, self.unit)} reads {loss:.2e} below the best " \
            f"fidelity, at {format_value(best, self.unit)} (tolerance " \
            f"{self.spec['fidelity_tolerance']:.1e})"

    def proposal(self, qubit, analysis, settings):
        return {self.control: analysis.values[self.control]}


class ReadoutAmplitudeNode(_ReadoutToneNode):
    """Assignment fidelity vs the readout amplitude → its best value (V)."""

    name = "readout_amplitude"
    experiment = "readout_fidelity_amplitude"
    unit = "V"
    controls = ("readout_amplitude",)
    default_parameters = SweepParameters(-0.7, 0.7, 31, 2000, 21, 2000)
    value_names = {"readout_amplitude": "best"}


class ReadoutDurationNode(_ReadoutToneNode):
    """Assignment fidelity vs the readout duration → its best value (s).

    The peak is broad (from 1.6× the optimum the fidelity lost is ~10⁻³), so the sweep is wide
    (×e^(±1)) and takes 8,000 shots per state and point (~40 s of device time); the in-spec test
    is the fidelity lost, and the position is trusted to 30 %.
    """

    name = "readout_duration"
    experiment = "readout_fidelity_duration"
    unit = "s"
    controls = ("readout_duration",)
    default_parameters = SweepParameters(-1.0, 1.0, 25, 8000, 21, 8000)
    value_names = {"readout_duration": "best"}

    def default_spec(self):
        return {"fidelity_tolerance": 5e-4, "max_relative_error": 0.3}


class DragNode(_QecNode):
    """Pairs of opposite π pulses vs the DRAG coefficient → its ideal value. Sweep: β."""

    name = "drag"
    experiment = "drag"
    unit = ""
    controls = ("drag_beta",)
    default_parameters = SweepParameters(-0.6, 0.6, 41, 300, 21, 300)
    value_names = {"drag_beta": "drag_beta", "contrast": "contrast"}

    def default_spec(self):
        return {"tolerance": 0.03, "max_relative_error": 0.01}

    def analyse(self, data):
        return analyse_signal(self, data, shots=data.shots,
                              max_relative_error=self.spec["max_relative_error"], scale=1.0)

    def compare(self, qubit, analysis, settings):
        off = analysis.values["drag_beta"] - settings[f"{qubit}.drag_beta"]
        return abs(off) <= self.spec["tolerance"], \
            f"DRAG coefficient is {-off:+.3f} from the ideal (tolerance " \
            f"{self.spec['tolerance']:g})"

    def proposal(self, qubit, analysis, settings):
        return {"drag_beta": analysis.values["drag_beta"]}


class RandomizedBenchmarkingNode(_QecNode):
    """Single-qubit randomized benchmarking → error per Clifford: a data check, no writes."""

    name = "randomized_benchmarking"
    second_opinion = True   # judged as t1 (classifier.KIND_ANALOGUES)
    experiment = "randomized_benchmarking"
    unit = ""
    controls = ()
    default_parameters = SweepParameters(0.0, 1500.0, 31, 400, 21, 600)
    value_names = {"error_per_clifford": "error_per_clifford"}

    def default_spec(self):
        return {"max_error": 2e-3, "max_relative_error": 0.25}

    def make_sweep(self, p, anchor, *, check):
        return np.round(p.sweep(0.0, check=check))

    def analyse(self, data):
        return analyse_signal(self, data, shots=data.shots,
                              max_relative_error=self.spec["max_relative_error"])

    def device_spec(self, analysis):
        r = analysis.values["error_per_clifford"]
        return r <= self.spec["max_error"], \
            f"error per Clifford {r:.2e} (spec ≤ {self.spec['max_error']:.1e})"

    def compare(self, qubit, analysis, settings):
        return self.device_spec(analysis)


class CzNode(_QecNode):
    """The qubit's share of a CZ's conditional phase vs its flux amplitude → the amplitude of
    conditional phase π. Sweep: multiples of the current amplitude (V)."""

    name = "cz"
    experiment = "cz_conditional_phase"
    unit = "V"
    controls = ("cz_amplitude",)
    default_parameters = SweepParameters(0.8, 1.2, 41, 1000, 21, 2000)
    value_names = {"cz_amplitude": "cz_amplitude", "contrast": "contrast"}

    def default_spec(self):
        return {"relative_tolerance": 0.01, "max_relative_error": 0.006}

    def make_sweep(self, p, anchor, *, check):
        return p.sweep(anchor, check=check, scale="multiple")

    def analyse(self, data):
        return analyse_signal(self, data, shots=data.shots,
                              max_relative_error=self.spec["max_relative_error"])

    def compare(self, qubit, analysis, settings):
        cur = settings[f"{qubit}.cz_amplitude"]
        rel = analysis.values["cz_amplitude"] / cur - 1
        return abs(rel) <= self.spec["relative_tolerance"], \
            f"CZ flux amplitude {format_value(cur, 'V')} is {-rel:+.2%} from conditional " \
            f"phase π (tolerance {self.spec['relative_tolerance']:.1%})"

    def proposal(self, qubit, analysis, settings):
        return {"cz_amplitude": analysis.values["cz_amplitude"]}


#: These nodes by name.
QEC_NODE_TYPES: dict[str, type[Node]] = {
    cls.name: cls for cls in (ResonatorSpectroscopyNode, ReadoutFrequencyNode,
                              ReadoutAmplitudeNode, ReadoutDurationNode, DragNode,
                              RandomizedBenchmarkingNode, CzNode)
}
