"""Simulated-lab benchmark: device-model QPU blocks vs stim's uniform circuit, and rebuild time.

Same as ``qplane bench sim`` (see :mod:`qplane.sim_instruments.bench`); writes
``bench/results/sim.json``. Run it from the repository root.
"""

import argparse
import sys

from qplane.sim_instruments.bench import __doc__ as DOC, add_arguments, run_benchmark

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=DOC,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    sys.exit(run_benchmark(parser.parse_args()))
