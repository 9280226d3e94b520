"""``python -m rawdb.monitor``: ``rawdb monitor`` (see :mod:`rawdb.monitor.cli`)."""

import sys

from rawdb.monitor.cli import main

sys.exit(main())
