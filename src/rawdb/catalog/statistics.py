"""What SQLite's planner statistics are read and written with, shared by the partition
maintenance (a sampled ANALYZE of the tables still filling) and the monitor's schema copy."""

from __future__ import annotations

from rawdb.catalog.sql import SQL

STAT1_EXISTS_SQL = SQL["stat1_exists"].sql
STAT1_SQL = SQL["stat1_rows"].sql
ANALYSIS_LIMIT = 1000
"""Rows per index a sampled ANALYZE reads (``PRAGMA analysis_limit``): fast, close enough."""
