"""rawdb: a raw-SQL data layer on SQLite for a trading application.

The root offers what an application needs to open a database, write and read ticks, and tell
errors apart; everything else lives in its module (``rawdb.queries``, ``rawdb.migrate``, ...).
"""

from importlib.metadata import PackageNotFoundError, version

from rawdb.config import MigrationSource, Settings
from rawdb.errors import (
    DatabaseRefused,
    ForeignKeyViolation,
    InvalidInput,
    MigrationError,
    RawdbError,
    SchemaOutOfDate,
    UniqueViolation,
    UsageError,
)
from rawdb.ingest.stream import StreamConfig, TickStream
from rawdb.migrate import Migrator
from rawdb.pool import Pool, PoolConfig
from rawdb.queries.rows import TickRow

try:
    __version__ = version("rawdb")
except PackageNotFoundError:  # a source tree on sys.path without an install
    __version__ = "0+unknown"

__all__ = [
    "DatabaseRefused",
    "ForeignKeyViolation",
    "InvalidInput",
    "MigrationError",
    "MigrationSource",
    "Migrator",
    "Pool",
    "PoolConfig",
    "RawdbError",
    "SchemaOutOfDate",
    "Settings",
    "StreamConfig",
    "TickRow",
    "TickStream",
    "UniqueViolation",
    "UsageError",
    "__version__",
]
