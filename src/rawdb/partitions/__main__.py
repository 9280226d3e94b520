"""``python -m rawdb.partitions``: ``rawdb partitions`` (see :mod:`rawdb.partitions.cli`)."""

import sys

from rawdb.partitions.cli import main

sys.exit(main())
