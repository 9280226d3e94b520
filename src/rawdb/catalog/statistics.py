"""What SQLite's planner statistics are read and written with, shared by the partition
maintenance (a sampled ANALYZE of the tables still filling) and the monitor's schema copy."""

from __future__ import annotations

STAT1_EXISTS_SQL = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'"
STAT1_SQL = "SELECT tbl, idx, stat FROM sqlite_stat1"
ANALYSIS_LIMIT = 1000
"""Rows per index a sampled ANALYZE reads (``PRAGMA analysis_limit``): fast, close enough."""
