"""``python -m qplane.cli`` (as used by ``torchrun -m qplane.cli train-decoder``)."""

import sys

from qplane.cli import main

sys.exit(main())
