import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def qplane(*args):
    return subprocess.run([sys.executable, "-m", "qplane.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120)


def test_check_opens_the_sim_config():
    out = qplane("check", "config/sim_d3.yaml")
    assert out.returncode == 0, out.stderr
    assert "configuration valid" in out.stdout
    assert "QPU qpu: distance 3, rounds 3, basis Z, 24 detectors, 1024 shots per block" in out.stdout
    assert "placement (auto): " in out.stdout   # what the launcher would pin, on this machine


def test_check_refuses_a_placement_this_machine_cannot_give(tmp_path):
    bad = tmp_path / "placed.yaml"
    text = open(os.path.join(REPO, "config", "sim_d3.yaml")).read()
    bad.write_text(text + "  placement: {cpus: {recorder: [4095]}}\n")
    out = qplane("check", str(bad))
    assert out.returncode == 2
    assert "configuration valid" not in out.stdout
    assert (f"{bad}: 'qplane.placement.cpus.recorder': CPU [4095] is not one this run may use"
            in out.stderr) or "cannot pin processes" in out.stderr


def test_check_lab_template_against_simulated_twins():
    out = qplane("check", "config/lab_template.yaml", "--simulate")
    assert out.returncode == 0, out.stderr
    assert "station opened on simulated twins" in out.stdout
    assert "controls bound: drive_frequency" in out.stdout


def test_check_lab_template_without_hardware_names_the_instrument():
    out = qplane("check", "config/lab_template.yaml")
    assert out.returncode == 2
    assert "config/lab_template.yaml: 'instruments.drive_lo': could not open instrument" in out.stderr


def test_check_reports_a_config_mistake(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("instruments: {}\nqplane: {qpu: qpu}\n")
    out = qplane("check", str(bad))
    assert out.returncode == 2
    assert f"{bad}: 'qplane.qpu': names no instrument of the station" in out.stderr


def test_run_help_explains_every_option():
    out = qplane("run", "--help")
    assert out.returncode == 0
    for option in ("--duration", "--max-blocks", "--out", "--quiet", "Ctrl-C"):
        assert option in out.stdout


def test_check_prints_every_error_and_never_configuration_valid(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("instruments:\n  qpu: {type: qplane.sim_instruments.qpu.SimulatedQPU}\n"
                   "qplane:\n  qpu: qpu\n  acquisition: {shots_per_block: 0, max_in_flite: 2}\n")
    out = qplane("check", str(bad))
    assert out.returncode == 2
    assert "configuration valid" not in out.stdout + out.stderr
    assert out.stderr.splitlines() == [
        f"qplane check: error: {bad}: 'qplane.acquisition.shots_per_block': must be >= 1, got 0",
        f"qplane check: error: {bad}: 'qplane.acquisition.max_in_flite': unknown key; allowed "
        "keys: correction_timeout, max_blocks, max_in_flight, shots_per_block",
    ]


def test_check_reports_a_missing_model_file_without_a_traceback(tmp_path):
    bad = tmp_path / "neural.yaml"
    text = open(os.path.join(REPO, "config", "sim_d3_neural.yaml")).read()
    bad.write_text(text.replace("model: d3 ", f"model: {tmp_path / 'gone.safetensors'} "))
    out = qplane("check", str(bad))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "configuration valid" not in out.stdout
    assert f"{bad}: 'qplane.decoding.decoder.options.model': model " in out.stderr


def test_check_prints_configuration_valid_first_when_all_is_well():
    out = qplane("check", "config/sim_d3_neural.yaml")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "config/sim_d3_neural.yaml: configuration valid"
    assert out.stderr == ""
