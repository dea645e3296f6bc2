import os

import pytest

from qplane.config import load_config, parse_config
from qplane.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = """
instruments:
  qpu:
    type: qplane.sim_instruments.qpu.SimulatedQPU
    init: {distance: 3, rounds: 2}
qplane:
  qpu: qpu
  acquisition: {shots_per_block: 64, max_in_flight: 4}
  decoding: {workers: 2, decoder: {type: pymatching-correlated}, shadow_fraction: 0.1}
  endpoints: {syndromes: "tcp://127.0.0.1:0"}
"""


@pytest.mark.parametrize("name", ["sim_d3.yaml", "sim_d5.yaml"])
def test_shipped_configs_load(name):
    cfg = load_config(os.path.join(REPO, "config", name))
    assert cfg.name == name[:-5]
    assert cfg.qplane.qpu in cfg.station["instruments"]


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(os.path.join(REPO, "config"))
                                         if n.endswith(".yaml")))
def test_every_shipped_config_loads_and_its_decoder_builds(name):
    """A stale model pin (a retrained model file) or a bad option fails here, not in the lab."""
    from qplane.decoder.registry import make_decoder

    cfg = load_config(os.path.join(REPO, "config", name))
    decoder = cfg.qplane.decoding.decoder
    make_decoder(decoder.type, **decoder.options)


def test_valid_config_is_typed():
    cfg = parse_config(GOOD, "good.yaml")
    assert cfg.qplane.acquisition.shots_per_block == 64
    assert cfg.qplane.acquisition.correction_timeout == 10.0  # default
    assert cfg.qplane.decoding.workers == 2
    assert cfg.qplane.decoding.decoder.type == "pymatching-correlated"
    assert cfg.qplane.endpoints.syndromes == "tcp://127.0.0.1:0"
    assert cfg.qplane.endpoints.records == "auto"
    assert cfg.station["instruments"]["qpu"]["init"] == {"distance": 3, "rounds": 2}


def mutate(old, new):
    text = GOOD.replace(old, new)
    assert text != GOOD, f"{old!r} not in GOOD"
    return text


@pytest.mark.parametrize("text, message", [
    (mutate("max_in_flight: 4", "max_in_flite: 4"),
     r"bad.yaml: 'qplane.acquisition.max_in_flite': unknown key; allowed keys: correction_timeout, max_blocks, max_in_flight, shots_per_block"),
    (mutate("shots_per_block: 64", "shots_per_block: lots"),
     r"bad.yaml: 'qplane.acquisition.shots_per_block': must be an integer, got 'lots'"),
    (mutate("shots_per_block: 64", "shots_per_block: true"),
     r"'qplane.acquisition.shots_per_block': must be an integer, got True"),
    (mutate("shots_per_block: 64", "shots_per_block: 0"),
     r"'qplane.acquisition.shots_per_block': must be >= 1, got 0"),
    (mutate("shadow_fraction: 0.1", "shadow_fraction: 1.5"),
     r"'qplane.decoding.shadow_fraction': must be <= 1.0, got 1.5"),
    (mutate("  qpu: qpu\n", "  qpu: qbit\n"),
     r"'qplane.qpu': names no instrument of the station; instruments: qpu"),
    (mutate("  qpu: qpu\n", ""),
     r"'qplane.qpu': required key is missing"),
    (mutate("type: pymatching-correlated", "type: magic"),
     r"'qplane.decoding.decoder.type': unknown decoder; known decoders: .*pymatching"),
    (mutate('"tcp://127.0.0.1:0"', '"http://x"'),
     r"'qplane.endpoints.syndromes': must be 'auto', 'ipc://PATH' or 'tcp://HOST:PORT'"),
    (mutate("qplane.sim_instruments.qpu.SimulatedQPU", "qplane.sim_instruments.qpu.NoSuchQPU"),
     r"'instruments.qpu.type': instrument type 'qplane.sim_instruments.qpu.NoSuchQPU' cannot be imported"),
    (mutate("init: {distance: 3, rounds: 2}", "init: {distance: 3}\n    inti: {}"),
     r"'instruments.qpu': not a valid QCoDeS station entry: Additional properties are not allowed \('inti'"),
    (mutate("qplane:\n", "qplan:\n"), r"bad.yaml: 'qplan': unknown top-level key; allowed keys: instruments, qplane"),
    ("instruments: [\n", r"bad.yaml: not valid YAML"),
    ("- a\n- b\n", r"bad.yaml: must be a YAML mapping"),
    (mutate("decoding: {workers: 2,", "decoding: {workers: [2],"), r"'qplane.decoding.workers': must be an integer, got \[2\]"),
])
def test_each_mistake_has_its_own_message(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "bad.yaml")


def test_missing_file_names_it(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: cannot read config file: No such file"):
        load_config(tmp_path / "nope.yaml")


def test_controls_section_is_validated_with_file_and_key():
    text = GOOD.replace("  qpu: qpu\n", "  qpu: qpu\n  controls: {qubits: 2, pi_amplitud: {path: x}}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: 'qplane.controls.pi_amplitud': unknown key"):
        parse_config(text, "bad.yaml")
