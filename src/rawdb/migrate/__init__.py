"""The version-table migrator: numbered SQL files, one transaction each, with rollbacks."""

from rawdb.migrate.files import Migration, MigrationSet, discover, shipped_root
from rawdb.migrate.runner import Migrator, RunResult, Status

__all__ = [
    "Migration",
    "MigrationSet",
    "Migrator",
    "RunResult",
    "Status",
    "discover",
    "shipped_root",
]
