"""rawdb: a raw-SQL data layer on SQLite for a trading application."""

from rawdb.config import Settings
from rawdb.errors import (
    DatabaseRefused,
    ForeignKeyViolation,
    InvalidInput,
    MigrationError,
    RawdbError,
    UsageError,
)

__all__ = [
    "DatabaseRefused",
    "ForeignKeyViolation",
    "InvalidInput",
    "MigrationError",
    "RawdbError",
    "Settings",
    "UsageError",
]
