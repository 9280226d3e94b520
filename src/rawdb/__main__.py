"""``python -m rawdb``: the ``rawdb`` command (see :mod:`rawdb.cli`)."""

import sys

from rawdb.cli import main

sys.exit(main())
