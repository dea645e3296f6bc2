"""``qplane calibration analyse FILE`` on CSV, NPZ and HDF5 data."""

import json

import numpy as np
import pytest

from qplane.cli import main


def _rabi_data():
    rng = np.random.default_rng(0)
    a = np.linspace(0, 900, 46)   # mV
    theta = 0.2 + (np.pi - 0.2) * a / 350
    p = 0.04 + 0.45 * (1 - np.exp(-a / 2000) * np.cos(theta))
    return a, p + rng.normal(0, 0.01, len(a))


def test_csv_with_units_in_the_header(tmp_path, capsys):
    a, p = _rabi_data()
    path = tmp_path / "rabi.csv"
    path.write_text("# kind: rabi\nsweep [mV],signal\n"
                    + "".join(f"{x},{y}\n" for x, y in zip(a, p)))
    assert main(["calibration", "analyse", str(path), "--no-second-opinion"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rabi: success") and "pi_amplitude" in out and "mV" in out
    assert "residuals" in out and "uncertainty" in out


def test_npz_iq_json(tmp_path, capsys):
    a, p = _rabi_data()
    z = 0.2 + 0.5j + (1 - 2j) * p * 1e-3
    path = tmp_path / "rabi.npz"
    np.savez(path, sweep=a, i=z.real, q=z.imag, kind="rabi", units="mV")
    assert main(["calibration", "analyse", str(path), "--json", "--no-second-opinion"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["signal_type"] == "iq" and d["outcome"] == "success"
    assert abs(d["values"]["pi_amplitude"]["value"] - 0.35) < 0.01


def test_hdf5_group_with_attributes(tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    t = np.linspace(0, 20, 81)   # µs
    y = 0.5 + 0.45 * np.exp(-t / 15) * np.cos(2 * np.pi * 0.5 * t)
    y = np.random.default_rng(1).binomial(300, y) / 300
    path = tmp_path / "ramsey.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("q3")
        g["sweep"], g["signal"] = t, y
        g.attrs.update({"kind": "ramsey", "units": "us", "shots": 300, "detuning": 0.5e6})
    assert main(["calibration", "analyse", str(path), "--group", "q3", "--json",
                 "--no-second-opinion"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["outcome"] == "success", d["reason"]
    assert abs(d["values"]["frequency_offset"]["value"]) < 3 * d["values"][
        "frequency_offset"]["error"] + 1


def test_missing_kind_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("sweep,signal\n0,1\n1,0.5\n2,0.2\n")
    assert main(["calibration", "analyse", str(path), "--no-second-opinion"]) == 2
    assert "--kind" in capsys.readouterr().err
