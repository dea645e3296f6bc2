"""Write a synthetic sample run file of the CURRENT schema version: tests/data/run_v<N>.h5.

This is how ``run_v1.h5`` was made (with the v1 writer). It refuses to overwrite a stored
sample: a sample stands for what its version's writer produced and is never regenerated.

    python tests/data/make_sample.py
"""

import os

from qplane.analysis.synthetic import write_synthetic_run
from qplane.runfile.schema import SCHEMA_VERSION

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"run_v{SCHEMA_VERSION}.h5")
    if os.path.exists(out):
        raise SystemExit(f"{out} exists; a stored sample is never regenerated")
    write_synthetic_run(out, distance=3, blocks=6, shots_per_block=64, calibration_every=2,
                        skip_seqs=(3,), seed=7)
    print(out)
