"""Archival of old periods into archive files, restore, retention and purge (see ``archiver``)."""

from rawdb.archive.archiver import Outcome, archive_period, restore_period
from rawdb.archive.retention import apply_retention, expired, purge_deleted

__all__ = [
    "Outcome",
    "apply_retention",
    "archive_period",
    "expired",
    "purge_deleted",
    "restore_period",
]
