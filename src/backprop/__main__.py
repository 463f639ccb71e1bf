"""``python -m backprop``: the command-line interface."""

import sys

from backprop.cli import main

sys.exit(main())
