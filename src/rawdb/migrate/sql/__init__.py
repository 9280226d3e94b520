"""The migrator's own statements: its bookkeeping, catalogue reads and checks."""

from rawdb.statements import Registry, load_package

SQL: Registry = load_package("rawdb.migrate")
