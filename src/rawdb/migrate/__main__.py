"""Entry point for ``python -m rawdb.migrate``."""

import sys

from rawdb.migrate.cli import main

sys.exit(main())
