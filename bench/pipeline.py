"""Pipeline benchmark: the closed loop vs PyMatching in one process (see qplane.pipeline.bench).

Same as ``qplane bench pipeline``; writes ``bench/results/pipeline.json``. Run it from the
repository root.
"""

import argparse
import sys

from qplane.pipeline.bench import __doc__ as DOC, add_arguments, run_benchmark

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    sys.exit(run_benchmark(parser.parse_args()))
