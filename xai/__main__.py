"""``python -m xai``: the command line (see :mod:`xai.cli`)."""

import sys

from xai.cli import main

sys.exit(main())
