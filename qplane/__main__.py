"""``python -m qplane ...``: the same command line as ``qplane ...``."""

import sys

from qplane.cli import main

sys.exit(main())
