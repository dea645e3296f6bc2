import textwrap

import pytest

from qplane.config import load_config


def write_config(folder, *, workers=1, shots=256, max_in_flight=4, shadow=0.0, decoder="pymatching",
                 duration="null", correction_timeout=10.0, p=0.004, distance=3, supervision=None,
                 security=None):
    path = folder / "test_loop.yaml"
    path.write_text(textwrap.dedent(f"""
        instruments:
          qpu:
            type: qplane.sim_instruments.qpu.SimulatedQPU
            init: {{distance: {distance}, rounds: 3, basis: Z, physical_error_rate: {p}, seed: 11}}
        qplane:
          qpu: qpu
          run: {{output_dir: {folder / 'runs'}, duration: {duration}}}
          acquisition: {{shots_per_block: {shots}, max_in_flight: {max_in_flight}, correction_timeout: {correction_timeout}}}
          decoding:
            workers: {workers}
            decoder: {{type: {decoder}}}
            shadow_fraction: {shadow}
        """) + (f"  supervision: {supervision}\n" if supervision else "")
                    + (f"  security: {security}\n" if security else ""))
    return path


@pytest.fixture
def loop_config(tmp_path):
    """A factory: loop_config(**options) -> validated Config in tmp_path."""
    return lambda **kw: load_config(write_config(tmp_path, **kw))
