"""Each config section's mistakes: unknown key, wrong type, out of range, bad choice.

Every message names the file and the dotted key and says what is allowed; it never is
pydantic's own text.
"""

from __future__ import annotations

import re

import pytest
import yaml

from qplane.config import parse_config
from tests.config.conftest import broken, errors_of


def q(d):
    return d["qplane"]


def dec(d):
    return d["qplane"]["decoding"]


def neural(**options):
    return lambda d: dec(d).update(decoder={"type": "neural", "options": {"model": "d3", **options}})


def neural_correlated(**options):
    return lambda d: dec(d).update(decoder={"type": "neural-correlated", "options": options})


CASES = [
    # run
    (lambda d: q(d)["run"].update(nme="x"), "qplane.run.nme",
     "unknown key; allowed keys: compression, duration, name, output_dir"),
    (lambda d: q(d)["run"].update(duration="long"), "qplane.run.duration",
     "must be a number, got 'long'"),
    (lambda d: q(d)["run"].update(duration=-1), "qplane.run.duration", r"must be >= 0.0, got -1"),
    (lambda d: q(d)["run"].update(output_dir=3), "qplane.run.output_dir", "must be a string, got 3"),
    # endpoints
    (lambda d: q(d)["endpoints"].update(syndrome="auto"), "qplane.endpoints.syndrome",
     "unknown key; allowed keys: control, corrections, monitor, records, syndromes"),
    (lambda d: q(d)["endpoints"].update(records=5555), "qplane.endpoints.records",
     "must be a string, got 5555"),
    (lambda d: q(d)["endpoints"].update(control="udp://x"), "qplane.endpoints.control",
     "must be 'auto', 'ipc://PATH' or 'tcp://HOST:PORT', got 'udp://x'"),
    # acquisition
    (lambda d: q(d)["acquisition"].update(blocks=3), "qplane.acquisition.blocks", "unknown key"),
    (lambda d: q(d)["acquisition"].update(max_in_flight=2.5), "qplane.acquisition.max_in_flight",
     "must be an integer, got 2.5"),
    (lambda d: q(d)["acquisition"].update(correction_timeout=0), "qplane.acquisition."
     "correction_timeout", "must be >= 0.01, got 0"),
    (lambda d: q(d)["acquisition"].update(max_blocks=0), "qplane.acquisition.max_blocks",
     "must be >= 1, got 0"),
    (lambda d: q(d)["acquisition"].update(shots_per_block=2_000_000),
     "qplane.acquisition.shots_per_block", "must be <= 1000000, got 2000000"),
    # decoding
    (lambda d: dec(d).update(worker=2), "qplane.decoding.worker",
     "unknown key; allowed keys: decoder, noise, shadow_fraction, workers"),
    (lambda d: dec(d).update(workers=65), "qplane.decoding.workers", "must be <= 64, got 65"),
    (lambda d: dec(d).update(shadow_fraction="some"), "qplane.decoding.shadow_fraction",
     "must be a number, got 'some'"),
    (lambda d: dec(d).update(decoder={"type": "pymatchin"}), "qplane.decoding.decoder.type",
     "unknown decoder; known decoders: neural, neural-correlated, neural-soft, pymatching, "
     "pymatching-correlated"),
    (lambda d: dec(d).update(decoder={"type": "pymatching", "option": {}}),
     "qplane.decoding.decoder.option", "unknown key; allowed keys: options, type"),
    # decoder options, per decoder type
    (lambda d: dec(d).update(decoder={"type": "pymatching", "options": {"correlated": True}}),
     "qplane.decoding.decoder.options.correlated", "unknown key; none is allowed here"),
    (lambda d: dec(d).update(decoder={"type": "pymatching-correlated", "options": {"x": 1}}),
     "qplane.decoding.decoder.options.x", "unknown key; none is allowed here"),
    (lambda d: dec(d).update(decoder={"type": "pymatching", "options": []}),
     "qplane.decoding.decoder.options", "must be a mapping, got \\[\\]"),
    (neural(batchsize=64), "qplane.decoding.decoder.options.batchsize",
     "unknown key; allowed keys: backend, batch_size, device, mode, model, precision, sha256, threads, threshold"),
    (neural(correlated=True), "qplane.decoding.decoder.options.correlated", "unknown key"),
    (neural(batch_size="big"), "qplane.decoding.decoder.options.batch_size",
     "must be an integer, got 'big'"),
    (neural(batch_size=0), "qplane.decoding.decoder.options.batch_size", "must be >= 1, got 0"),
    (neural(threshold=1.5), "qplane.decoding.decoder.options.threshold",
     r"must be < 1.0, got 1.5"),
    (neural(mode="fast"), "qplane.decoding.decoder.options.mode",
     "must be one of 'uncorrelated', 'correlated' or 'clear', got 'fast'"),
    (neural(device="gpu"), "qplane.decoding.decoder.options.device",
     "must be 'auto' or a torch device"),
    (neural(model=3), "qplane.decoding.decoder.options.model", "must be a string, got 3"),
    (neural(sha256="abc"), "qplane.decoding.decoder.options.sha256",
     "must be the model file's SHA-256 as 64 hex digits, got 'abc'"),
    (neural_correlated(sha256="0" * 64), "qplane.decoding.decoder.options.sha256",
     "a sha256 pin needs an explicit model, not 'auto'"),
    (neural_correlated(mode=1), "qplane.decoding.decoder.options.mode",
     "must be one of 'uncorrelated', 'correlated' or 'clear', got 1"),
    # controls
    (lambda d: q(d)["controls"].update(qubit=3), "qplane.controls.qubit", "unknown key"),
    (lambda d: q(d)["controls"].update(qubits="many"), "qplane.controls.qubits",
     "must be a qubit count >= 1 or a list of distinct names, got 'many'"),
    (lambda d: q(d)["controls"]["pi_amplitude"].update(limits=[0.8, 0.1]),
     "qplane.controls.pi_amplitude.limits", r"must be \[low, high\] with low < high"),
    (lambda d: q(d)["controls"]["drive_frequency"].update(max_step=0),
     "qplane.controls.drive_frequency.max_step", "must be a positive number, got 0"),
    (lambda d: q(d)["controls"]["readout_angle"].update(path="awg.ch{channel}.rotation"),
     "qplane.controls.readout_angle.path", "the station has no instrument 'awg'"),
    (lambda d: q(d)["controls"].update(frame_correction={"path": "readout.ch{qubit}.frame"}),
     "qplane.controls.frame_correction.path", "a device-wide control takes no"),
    # calibration
    (lambda d: q(d)["calibration"].update(trigger={}), "qplane.calibration.trigger",
     "unknown key; allowed keys: enabled, figures, graph, second_opinion, state, "
     "state_expired, triage_nodes, triggers"),
    (lambda d: q(d)["calibration"].update(enabled="yes"), "qplane.calibration.enabled",
     "must be true/false, got 'yes'"),
    (lambda d: q(d)["calibration"].update(second_opinion=3), "qplane.calibration.second_opinion",
     "must be true/false or a string, got 3"),
    (lambda d: q(d)["calibration"].update(second_opinion="no_such_classifier.json"),
     "qplane.calibration.second_opinion", "no classifier file 'no_such_classifier.json'"),
    (lambda d: q(d)["calibration"].update(triggers={"sigma": 0}),
     "qplane.calibration.triggers.sigma", r"must be > 0.0, got 0"),
    (lambda d: q(d)["calibration"].update(triggers={"window": "8k"}),
     "qplane.calibration.triggers.window", "must be an integer, got '8k'"),
    (lambda d: q(d)["calibration"].update(limits={"pi_amplitude": {"low": 0, "high": 1}}),
     "qplane.calibration.limits", "calibration has no limits of its own; set each control's "
     "limits and max_step in qplane.controls"),
    (lambda d: q(d)["calibration"].update(graph={"rabbi": {}}), "qplane.calibration.graph.rabbi",
     "must be one of 'spectroscopy', 'rabi', "),
    (lambda d: q(d)["calibration"].update(graph={"rabi": {"tolerance": 0.1}}),
     "qplane.calibration.graph.rabi.tolerance",
     "not an option of node 'rabi'; its options: relative_tolerance, max_relative_error"),
    (lambda d: q(d)["calibration"].update(graph={"rabi": {"depends_on": ["spectroscopy"]}}),
     "qplane.calibration.graph.rabi.depends_on", "'spectroscopy' must be a node listed before"),
    (lambda d: q(d)["calibration"].update(graph={"rabi": {"timeout": -1}}),
     "qplane.calibration.graph.rabi.timeout", r"must be > 0.0, got -1"),
    (lambda d: q(d)["calibration"].update(triage_nodes=["t1"], graph={"t1": {}}), None, None),
    (lambda d: q(d)["calibration"].update(triage_nodes=["echo"], graph={"t1": {}}),
     "qplane.calibration.triage_nodes", "triage node 'echo' is not in the graph"),
    # simulation
    (lambda d: q(d)["simulation"]["drive"].update(adress="GPIB::3::INSTR"),
     "qplane.simulation.drive.adress", "unknown key; allowed keys: address, pyvisa_sim_file"),
    (lambda d: q(d)["simulation"]["drive"].pop("address"), "qplane.simulation.drive.address",
     "required key is missing"),
    (lambda d: q(d)["simulation"]["drive"].update(address=3), "qplane.simulation.drive.address",
     "must be a string, got 3"),
    (lambda d: q(d)["simulation"].update(driv=q(d)["simulation"]["drive"]),
     "qplane.simulation.driv", "names no instrument of the station"),
    (lambda d: q(d).update(simulation=["drive"]), "qplane.simulation", "must be a mapping"),
    # station: QCoDeS's shape, importable types, the QPU's geometry
    (lambda d: d["instruments"]["drive"].update(adress="x"), "instruments.drive",
     "not a valid QCoDeS station entry: Additional properties are not allowed"),
    (lambda d: d["instruments"]["drive"].update(type="qplane.drivers.NoSuchDriver"),
     "instruments.drive.type", "cannot be imported"),
    (lambda d: d["instruments"]["qpu"]["init"].update(distance=4), "instruments.qpu.init.distance",
     "must be an odd integer >= 3, got 4"),
    (lambda d: d["instruments"]["qpu"]["init"].update(basis="Y"), "instruments.qpu.init.basis",
     "must be one of 'X' or 'Z', got 'Y'"),
    (lambda d: d["instruments"]["qpu"]["init"].update(start_calibrated="yes"),
     "instruments.qpu.init.start_calibrated", "must be true/false, got 'yes'"),
]


@pytest.mark.parametrize("edit, key, message", CASES)
def test_each_mistake_names_file_key_and_what_is_allowed(document, edit, key, message):
    data = broken(document, edit)
    if key is None:  # a control case: this edit is valid
        parse_config(yaml.safe_dump(data), "good.yaml")
        return
    error = errors_of(data)
    found = {e.key: e.message for e in error.errors}
    assert key in found, f"{key} not among {found}"
    assert re.search(message, found[key]), found[key]
    for line in str(error).splitlines():
        assert line.startswith("bad.yaml: '"), line
        assert "pydantic" not in line and "Input should" not in line, line


def test_the_base_document_is_valid(document):
    parse_config(yaml.safe_dump(document), "good.yaml")


def test_several_mistakes_are_reported_together(document):
    def edit(d):
        d["qplane"]["run"]["duration"] = -1
        d["qplane"]["acquisition"]["shots_per_block"] = 0
        d["qplane"]["decoding"]["workers"] = "two"
    error = errors_of(broken(document, edit))
    assert [e.key for e in error.errors] == ["qplane.run.duration",
                                             "qplane.acquisition.shots_per_block",
                                             "qplane.decoding.workers"]
    assert len(str(error).splitlines()) == 3
    assert error.key == "qplane.run.duration" and error.path == "bad.yaml"


def test_calibration_needs_the_qpu_geometry_from_init_or_the_type(document):
    """A QPU type whose constructor has no geometry defaults must give them in init."""
    def edit(d):
        d["instruments"]["qpu"]["type"] = "qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A"
        d["instruments"]["qpu"]["init"] = {"distance": 5}
    error = errors_of(broken(document, edit))
    keys = {e.key: e.message for e in error.errors}
    assert "instruments.qpu.init.basis" in keys
    assert "give it in init" in keys["instruments.qpu.init.basis"]
    assert "instruments.qpu.init.distance" not in keys
