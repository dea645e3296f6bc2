"""Write the stored sample run file of the CURRENT schema version: tests/data/run_v<N>.h5.

Run once when a schema version is introduced, then commit the file and never regenerate it:
the sample stands for what that version's writer produced.

    python tests/data/make_sample.py
"""

import os

from qplane.analysis.synthetic import write_synthetic_run
from qplane.runfile.schema import SCHEMA_VERSION

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"run_v{SCHEMA_VERSION}.h5")
    write_synthetic_run(out, distance=3, blocks=6, shots_per_block=64, calibration_every=2,
                        skip_seqs=(3,), seed=7)
    print(out)
