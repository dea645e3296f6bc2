"""``python -m qplane`` is the same command line as ``qplane``."""

import subprocess
import sys

import qplane


def test_python_m_qplane_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "qplane", "--version"], capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == f"qplane {qplane.__version__}"
