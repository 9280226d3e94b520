"""rawdb: a raw-SQL data layer on SQLite for a trading application.

The root offers what an application needs to open a database, write and read ticks, and tell
errors apart; everything else lives in its module (``rawdb.queries``, ``rawdb.migrate``, ...).
"""

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
from rawdb.version import VERSION

__version__ = VERSION

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
