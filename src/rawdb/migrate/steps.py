"""Running one migration file: its transaction, foreign-key handling and bookkeeping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from rawdb import backend, sql_setup
from rawdb.backend import DriverError, SyncConnection
from rawdb.backend.sqlite import driver
from rawdb.errors import InternalError, MigrationFailed, RawdbError
from rawdb.migrate import history
from rawdb.migrate.files import Migration, SqlFile
from rawdb.migrate.fk_actions import rows_changed_by_drop
from rawdb.migrate.splitter import Statement, check_allowed, dropped_table, split
from rawdb.migrate.sql import SQL


@dataclass(frozen=True)
class Step:
    """One file to run in one direction, and the backup taken before the run."""

    migration: Migration
    sql_file: SqlFile
    action: history.Action
    backup: Path | None
    depends_on: dict[str, int] = field(default_factory=dict)
    """Recorded with an applied version: the other sets' versions it stands on."""

    @property
    def backup_text(self) -> str | None:
        return str(self.backup) if self.backup else None


def run_step(conn: SyncConnection, step: Step) -> bool:
    """Run the file and its version row atomically; False when another migrator did it first."""
    options = step.sql_file.options
    statements = split(step.sql_file.text, step.sql_file.path)
    check_allowed(statements, step.sql_file.path, in_transaction=not options.no_transaction)
    if options.foreign_keys_off:
        # Outside the transaction: inside one, SQLite ignores this pragma.
        _set_foreign_keys(conn, on=False)
    try:
        if options.no_transaction:
            return _run_outside_transaction(conn, step, statements)
        return _run_in_transaction(conn, step, statements)
    finally:
        if options.foreign_keys_off:
            _set_foreign_keys(conn, on=True)


def _done_already(conn: SyncConnection, step: Step) -> bool:
    """Whether another migrator did this step while this one waited for the lock."""
    applied_now = step.migration.version in history.applied(conn, step.migration.set_name)
    return applied_now == (step.action == "apply")


def _run_in_transaction(conn: SyncConnection, step: Step, statements: list[Statement]) -> bool:
    started = time.perf_counter()
    with backend.current().transaction(conn, f"{step.action} {step.migration.name}"):
        history.ensure(conn)
        if _done_already(conn, step):
            return False
        before = _schema_rows(conn)
        with _watching_writes(conn) as written:
            _execute_all(conn, statements, step)
        _verify(conn, step, _touched(conn, written, before))
        _record(conn, step, started)
    return True


def _run_outside_transaction(conn: SyncConnection, step: Step, statements: list[Statement]) -> bool:
    # The migrator lock keeps other rawdb migrators out for the whole run; these reads are
    # for a migrator that does not take it (an older rawdb), so it never records a version
    # twice (the statements themselves cannot be kept from running twice by such a one).
    if _done_already(conn, step):
        return False
    started = time.perf_counter()
    before = _schema_rows(conn)
    with _watching_writes(conn) as written:
        _execute_all(conn, statements, step)
    with backend.current().transaction(
        conn, f"{step.action} {step.migration.name}: recording its version"
    ):
        history.ensure(conn)
        if _done_already(conn, step):
            return False
        _verify(conn, step, _touched(conn, written, before))
        _record(conn, step, started)
    return True


def record_failure(conn: SyncConnection, step: Step, exc: BaseException) -> None:
    """Append the failure to the history in a transaction of its own (best effort)."""
    try:
        with backend.current().transaction(conn, f"recording the failure of {step.migration.name}"):
            history.ensure(conn)
            history.record_event(
                conn,
                set_name=step.migration.set_name,
                version=step.migration.version,
                name=step.migration.name,
                action="fail",
                checksum=step.sql_file.checksum,
                backup=step.backup_text,
                error=str(exc),
            )
    except RawdbError:  # e.g. the disk that failed the migration is still full
        pass


def _record(conn: SyncConnection, step: Step, started: float) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    migration = step.migration
    if step.action == "apply":
        history.record_applied(
            conn,
            set_name=migration.set_name,
            version=migration.version,
            name=migration.name,
            checksum=migration.up.checksum,
            duration_ms=elapsed,
            depends_on=step.depends_on,
            rollback_checksum=migration.down.checksum if migration.down else None,
        )
    else:
        history.remove_applied(conn, migration.version, migration.set_name)
    history.record_event(
        conn,
        set_name=migration.set_name,
        version=migration.version,
        name=migration.name,
        action=step.action,
        checksum=step.sql_file.checksum,
        duration_ms=elapsed,
        backup=step.backup_text,
    )


def _execute_all(conn: SyncConnection, statements: list[Statement], step: Step) -> None:
    for stmt in statements:
        dropped = dropped_table(stmt.sql)
        if dropped is not None:
            _refuse_cascading_drop(conn, dropped, stmt, step)
        try:
            conn.execute(stmt.sql).fetchall()
        except DriverError as exc:
            first = stmt.sql.split("\n", 1)[0][:100]
            raise MigrationFailed(
                f"{step.sql_file.path}:{stmt.line}: {exc} (in '{first}')"
                f"{sql_setup.missing_hint(exc)}. "
                f"{step.migration.name} ({step.action}) was rolled back whole; migrations done "
                "before it stay done. Fix the file and run the command again.",
                path=str(step.sql_file.path),
                line=stmt.line,
                version=step.migration.version,
            ) from exc


def _refuse_cascading_drop(conn: SyncConnection, table: str, stmt: Statement, step: Step) -> None:
    """A DROP TABLE that would delete or change other tables' rows through their foreign
    keys' actions is refused (the migration rolls back whole): nobody asked for that."""
    hits = rows_changed_by_drop(conn, table)
    if not hits:
        return
    raise MigrationFailed(
        f"{step.sql_file.path}:{stmt.line}: DROP TABLE {table} with foreign keys on: "
        f"{'; '.join(h.describe() for h in hits)}. {step.migration.name} ({step.action}) was "
        "rolled back whole; nothing was changed. A table rebuild (new table, copy, drop, "
        "rename) must run with foreign keys off: add '-- rawdb: foreign_keys=off' to the "
        "file's header (the migrator then checks every foreign key before commit). To delete "
        "those rows on purpose, DELETE them before the DROP",
        path=str(step.sql_file.path),
        line=stmt.line,
        version=step.migration.version,
    )


def _set_foreign_keys(conn: SyncConnection, *, on: bool) -> None:
    conn.execute(SQL["foreign_keys_on" if on else "foreign_keys_off"].sql)
    got = conn.execute(SQL["foreign_keys_enabled"].sql).fetchone()[0]
    if bool(got) != on:
        raise InternalError(
            f"foreign keys did not switch {'on' if on else 'off'} (PRAGMA foreign_keys)"
        )


# --- the checks before commit ----------------------------------------------------------------
#
# quick_check and foreign_key_check run on the tables the migration wrote (and, for foreign
# keys, the tables referencing them), plus sqlite_schema, not on the whole file. They run with
# the write lock held, so writers wait. On a 267 MB database with 1M ticks the whole-file checks
# take 0.62 s and 0.18 s, growing with the file; the scoped ones cost what the touched tables
# cost (0.49 s + 0.18 s for the tick table, ~0 for small ones). Nothing else can change other
# tables: ATTACH and writable_schema are refused when the file is checked.

# Authorizer actions that write a table, and which argument names it.
_WRITES_ARG1 = {driver.SQLITE_INSERT, driver.SQLITE_UPDATE, driver.SQLITE_DELETE}
_WRITES_ARG1 |= {driver.SQLITE_CREATE_TABLE, driver.SQLITE_DROP_TABLE}
_WRITES_ARG2 = {driver.SQLITE_CREATE_INDEX, driver.SQLITE_DROP_INDEX}
_WRITES_ARG2 |= {driver.SQLITE_CREATE_TRIGGER, driver.SQLITE_DROP_TRIGGER}
_SHOWN = 5  # rows of a failed check quoted in the error


@dataclass(frozen=True)
class Touched:
    """The ordinary tables of the main schema a migration wrote, and those referencing them."""

    written: list[str]
    referencing: list[str]


@contextmanager
def _watching_writes(conn: SyncConnection) -> Iterator[set[str]]:
    """Collect (lower-cased) the main-schema tables the statements write, triggers included.

    SQLite asks the authorizer while it prepares each statement, trigger bodies and foreign-key
    actions included, so the set is complete without parsing SQL; it costs nothing per row.
    """
    written: set[str] = set()

    def note(
        action: int, arg1: str | None, arg2: str | None, db: str | None, _src: str | None
    ) -> int:
        if action == driver.SQLITE_ALTER_TABLE:
            db, name = arg1, arg2
        else:
            name = arg1 if action in _WRITES_ARG1 else arg2 if action in _WRITES_ARG2 else None
        if name is not None and db == "main":
            written.add(name.lower())
        return driver.SQLITE_OK

    conn.set_authorizer(note)
    try:
        yield written
    finally:
        conn.set_authorizer(None)


def _schema_rows(conn: SyncConnection) -> set[tuple[str, str, str, str | None]]:
    rows = conn.execute(SQL["schema_rows"].sql).fetchall()
    return {(r[0], r[1], r[2], r[3]) for r in rows}


def _touched(
    conn: SyncConnection,
    written: set[str],
    before: set[tuple[str, str, str, str | None]],
) -> Touched:
    """The tables to check. The schema's difference adds what the authorizer names only by
    its old name (ALTER TABLE … RENAME) and children whose REFERENCES a rename rewrote."""
    changed = {row[2].lower() for row in before ^ _schema_rows(conn)}
    names = written | changed
    tables = {
        name.lower(): name
        for name, sql in conn.execute(SQL["table_definitions"].sql)
        # SQLite's own tables (sqlite_schema is checked anyway); virtual tables have no b-tree.
        if not name.lower().startswith("sqlite_")
        and not (sql or "").lower().startswith("create virtual")
    }
    edges = conn.execute(SQL["foreign_key_edges"].sql).fetchall()
    children = {child.lower() for child, parent in edges if parent.lower() in names}
    return Touched(
        written=sorted(tables[n] for n in names if n in tables),
        referencing=sorted(tables[n] for n in names | children if n in tables),
    )


def _verify(conn: SyncConnection, step: Step, touched: Touched) -> None:
    """quick_check and foreign_key_check before the version row; MigrationFailed on a finding."""
    # A migration may have set this; quick_check skips CHECK constraints while it is on.
    conn.execute(SQL["check_constraints_on"].sql)
    try:
        damage = _quick_check(conn, touched.written)
        tables = None if step.sql_file.options.foreign_keys_off else touched.referencing
        count, orphans = _foreign_key_check(conn, tables)
    except DriverError as exc:
        _fail(step, f"the checks could not run ({exc})")
    if damage:
        _fail(step, f"quick_check found {len(damage)} problems ({'; '.join(damage[:_SHOWN])})")
    if count:
        _fail(step, f"foreign key check failed ({count} violations: {', '.join(orphans)})")


def _quick_check(conn: SyncConnection, tables: list[str]) -> list[str]:
    found: list[str] = []
    for name in ["sqlite_schema", *tables]:
        rows = conn.execute(SQL["quick_check_table"].sql, (name,)).fetchall()
        found += [str(r[0]) for r in rows if r[0] != "ok"]
    return found


def _foreign_key_check(conn: SyncConnection, tables: list[str] | None) -> tuple[int, list[str]]:
    """The number of violations and the first few; every table when ``tables`` is None.

    Under '-- rawdb: foreign_keys=off' nothing was enforced while the file ran, so every table
    is checked, as before.
    """
    checks: list[tuple[str, tuple[str, ...]]] = (
        [(SQL["foreign_key_check_all"].sql, ())]
        if tables is None
        else [(SQL["foreign_key_check_table"].sql, (name,)) for name in tables]
    )
    count, shown = 0, list[str]()
    for sql, params in checks:
        for table, rowid, parent, _fk in conn.execute(sql, params):
            count += 1
            if len(shown) < _SHOWN:
                shown.append(f"{table} rowid {rowid} -> missing {parent} row")
    return count, shown


def _fail(step: Step, finding: str) -> NoReturn:
    path, name = step.sql_file.path, step.migration.name
    if step.sql_file.options.no_transaction:
        backup = f"the backup {step.backup}" if step.backup else "a backup"
        message = (
            f"{path}: {finding} after its statements ran. {name} ({step.action}) is marked "
            "'-- rawdb: transaction=off', so its statements ran outside a transaction and stay "
            "in the database; its version was not recorded. Repair the data by hand (or "
            f"restore {backup}), then run the command again."
        )
    else:
        message = (
            f"{path}: {finding} before commit. {name} ({step.action}) was rolled back whole: "
            "nothing of it was changed, and migrations done before it stay done. Fix the file "
            "and run the command again."
        )
    raise MigrationFailed(message, path=str(path), line=0, version=step.migration.version)
