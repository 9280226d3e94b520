"""``python -m rawdb.partitions``."""

import sys

from rawdb.partitions.cli import main

sys.exit(main())
