"""The query functions' statements: every ``sql/*.sql`` file of this package, parsed by
:mod:`rawdb.statements` once into an immutable registry."""

from __future__ import annotations

from pathlib import Path

from rawdb.statements import Registry, Statement, load_folder, load_package, parse

__all__ = ["Registry", "Statement", "load", "parse"]


def load(folder: Path | None = None) -> Registry:
    """Every statement of every ``*.sql`` file in the package's ``sql/`` folder (or ``folder``)."""
    return load_package("rawdb.queries") if folder is None else load_folder(folder)
