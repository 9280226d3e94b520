"""The monitor's statements: every ``*.sql`` file of this folder, loaded once, and those of
``postgresql/`` for a pool on that engine."""

from rawdb.statements import Registry, load_package

SQL: Registry = load_package("rawdb.monitor")
BY_DIALECT: dict[str, Registry] = {
    "sqlite": SQL,
    "postgresql": load_package("rawdb.monitor", "postgresql"),
}
"""The monitor's statements by the engine they are written for."""
