"""The catalogue's statements: every ``*.sql`` file of this folder, loaded once."""

from rawdb.statements import Registry, load_package

SQL: Registry = load_package("rawdb.catalog")
