"""The application's own SQL functions, collations and extensions, on every connection rawdb opens.

Migration sets written for an application often call its SQL functions (``normalize``, a base64
helper, ``unhex`` before SQLite 3.41) or need an extension (an FTS5 tokenizer). SQLite keeps
those per connection, so rawdb calls one hook the application names on each connection it
opens: the pool's writer and readers, the migrator's, every command's, and the scratch
databases in which it builds the schema a migration set should give (``baseline``, adoption,
``migrate convert``'s trial run, the query advisor's copy).

The hook is ``Settings.sql_setup``: a function taking a :class:`sqlite3.Connection`, given in
code or as ``"package.module:function"`` (``RAWDB_SQL_SETUP`` in the environment, for the
commands). It registers with ``create_function``, ``create_collation`` or, where this Python's
sqlite3 allows it, ``enable_load_extension`` and ``load_extension``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from rawdb.errors import ConfigError

SqlSetup = Callable[[Any], None]
"""Registers the application's functions, collations and extensions on one connection (the
driver's: a :class:`sqlite3.Connection` on SQLite)."""

VARIABLE = "RAWDB_SQL_SETUP"
SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_MISSING = re.compile(
    r"no such (function|collation sequence|module|tokenizer)|unknown function", re.IGNORECASE
)


def check_spec(text: str) -> str:
    """A ``module:function`` name as the setting wants it (imported only when first used)."""
    if not SPEC.match(text):
        raise ValueError(f"{text!r} is not a function's import name; write package.module:function")
    return text


@lru_cache(maxsize=16)
def _imported(spec: str) -> SqlSetup:
    module_name, _, attribute = spec.partition(":")
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:  # an application's module may fail in any way on import
        raise ConfigError(
            f"{VARIABLE}={spec}: module {module_name!r} could not be imported "
            f"({type(exc).__name__}: {exc}); check the name and that the application's "
            "package is installed in this environment"
        ) from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"{VARIABLE}={spec}: {module_name} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"{VARIABLE}={spec}: {attribute!r} is not a function")
    return target  # callable; that it takes one connection is the setting's contract


def resolve(setup: str | SqlSetup | None) -> SqlSetup | None:
    """The hook a setting names (imported once), or None when there is none."""
    if setup is None or callable(setup):
        return setup
    return _imported(check_spec(setup))


def apply(conn: Any, setup: str | SqlSetup | None) -> None:
    """Call the application's hook on ``conn``; its failure is a ConfigError naming it."""
    hook = resolve(setup)
    if hook is None:
        return
    try:
        hook(conn)
    except Exception as exc:  # the application's code: whatever it raises is reported as its
        name = setup if isinstance(setup, str) else getattr(hook, "__qualname__", repr(hook))
        raise ConfigError(
            f"the SQL setup {name} failed on a new connection ({type(exc).__name__}: {exc}); "
            "nothing was written"
        ) from exc


def missing_hint(exc: BaseException) -> str:
    """Advice for SQLite's "no such function/collation/module": how to provide it."""
    if not _MISSING.search(str(exc)):
        return ""
    return (
        f"; the application provides it: name a function registering it on each connection in "
        f"{VARIABLE} (package.module:function) or Settings(sql_setup=...), see docs/migrations.md"
    )
