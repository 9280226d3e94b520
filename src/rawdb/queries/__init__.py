"""The application's queries: named statements and the typed async functions over them."""

from rawdb.queries.registry import Registry, Statement, load

STATEMENTS: Registry = load()
"""Every named statement rawdb runs, loaded once at import."""

__all__ = ["STATEMENTS", "Registry", "Statement", "load"]
