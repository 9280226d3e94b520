"""Running one migration file: its transaction, foreign-key handling and bookkeeping."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from rawdb.errors import InternalError, MigrationFailed
from rawdb.migrate import history
from rawdb.migrate.files import Migration, SqlFile
from rawdb.migrate.splitter import Statement, check_allowed, split


@dataclass(frozen=True)
class Step:
    """One file to run in one direction, and the backup taken before the run."""

    migration: Migration
    sql_file: SqlFile
    action: history.Action
    backup: Path | None

    @property
    def backup_text(self) -> str | None:
        return str(self.backup) if self.backup else None


def run_step(conn: sqlite3.Connection, step: Step) -> bool:
    """Run the file and its version row atomically; False when another migrator did it first."""
    options = step.sql_file.options
    statements = split(step.sql_file.text, step.sql_file.path)
    check_allowed(statements, step.sql_file.path, in_transaction=not options.no_transaction)
    if options.foreign_keys_off:
        # Outside the transaction: inside one, SQLite ignores this pragma.
        _set_foreign_keys(conn, on=False)
    try:
        started = time.perf_counter()
        if options.no_transaction:
            _execute_all(conn, statements, step)
            conn.execute("BEGIN IMMEDIATE")
            history.ensure(conn)
            _record(conn, step, started)
            conn.execute("COMMIT")
            return True
        conn.execute("BEGIN IMMEDIATE")
        try:
            history.ensure(conn)
            applied_now = step.migration.version in history.applied(conn)
            if applied_now == (step.action == "apply"):
                conn.execute("ROLLBACK")
                return False
            _execute_all(conn, statements, step)
            if options.foreign_keys_off:
                _check_foreign_keys(conn, step)
            _record(conn, step, started)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True
    finally:
        if options.foreign_keys_off:
            _set_foreign_keys(conn, on=True)


def record_failure(conn: sqlite3.Connection, step: Step, exc: BaseException) -> None:
    """Append the failure to the history in a transaction of its own (best effort)."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        history.ensure(conn)
        history.record_event(
            conn,
            version=step.migration.version,
            name=step.migration.name,
            action="fail",
            checksum=step.sql_file.checksum,
            backup=step.backup_text,
            error=str(exc),
        )
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _record(conn: sqlite3.Connection, step: Step, started: float) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    migration = step.migration
    if step.action == "apply":
        history.record_applied(
            conn,
            version=migration.version,
            name=migration.name,
            checksum=migration.up.checksum,
            duration_ms=elapsed,
        )
    else:
        history.remove_applied(conn, migration.version)
    history.record_event(
        conn,
        version=migration.version,
        name=migration.name,
        action=step.action,
        checksum=step.sql_file.checksum,
        duration_ms=elapsed,
        backup=step.backup_text,
    )


def _execute_all(conn: sqlite3.Connection, statements: list[Statement], step: Step) -> None:
    for stmt in statements:
        try:
            conn.execute(stmt.sql).fetchall()
        except sqlite3.Error as exc:
            first = stmt.sql.split("\n", 1)[0][:100]
            raise MigrationFailed(
                f"{step.sql_file.path}:{stmt.line}: {exc} (in '{first}'). "
                f"{step.migration.name} ({step.action}) was rolled back whole; migrations done "
                "before it stay done. Fix the file and run the command again.",
                path=str(step.sql_file.path),
                line=stmt.line,
                version=step.migration.version,
            ) from exc


def _set_foreign_keys(conn: sqlite3.Connection, *, on: bool) -> None:
    conn.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    got = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    if bool(got) != on:
        raise InternalError(f"PRAGMA foreign_keys did not switch {'on' if on else 'off'}")


def _check_foreign_keys(conn: sqlite3.Connection, step: Step) -> None:
    violations = conn.execute("PRAGMA foreign_key_check").fetchall()
    if violations:
        shown = ", ".join(f"{t} rowid {r} -> {p}" for t, r, p, _fk in violations[:5])
        raise MigrationFailed(
            f"{step.sql_file.path}: foreign key check failed before commit ({len(violations)} "
            f"violations: {shown}); {step.migration.name} was rolled back whole",
            path=str(step.sql_file.path),
            line=0,
            version=step.migration.version,
        )
