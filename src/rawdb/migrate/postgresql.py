"""The migrator on PostgreSQL: the same numbered files, per-dialect folders, the same answers.

A set's PostgreSQL files sit in its ``postgresql/`` folder (``sql/postgresql/migrations`` and
``rollback`` for rawdb's own), with the numbers and slugs of the SQLite set. Every migration
runs in one transaction (PostgreSQL's DDL is transactional: a failed file leaves nothing),
under a session advisory lock, so concurrent migrators on any machine apply each version
once. The version table records each file's checksum; an applied file that changed on disk
stops ``up``, as on SQLite. There is no file copy to back up: before changing anything the
migrator says which ``pg_dump`` command makes one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rawdb import log
from rawdb.backend.postgresql import connection, errors, migrator_lock
from rawdb.backend.postgresql.driver import Error, SyncConnection
from rawdb.config import SHIPPED_SET, MigrationSource, Settings
from rawdb.errors import MigrationFailed, MigrationStateError, UsageError
from rawdb.migrate import checks, history
from rawdb.migrate.files import Migration, MigrationSet, SqlFile, shipped_root
from rawdb.migrate.pg_splitter import statements_of
from rawdb.migrate.runner import (
    DEFAULT_WAIT_SECONDS,
    Report,
    RunResult,
    Status,
    check_wait,
    set_statuses,
    stack_of,
)
from rawdb.migrate.sets import BySet, Stack
from rawdb.migrate.splitter import Statement
from rawdb.statements import Registry, load_package

DIALECT = "postgresql"
SQL: Registry = load_package("rawdb.migrate", DIALECT)


def dialect_folder(root: Path) -> Path:
    """A set's PostgreSQL folder: ``root/postgresql`` when it has one, else ``root`` (a set
    written for PostgreSQL only)."""
    own = root / DIALECT
    return own if (own / "migrations").is_dir() else root


def pg_dump_advice(url: str) -> str:
    """The command that backs the database up before a change (a file copy is not one)."""
    return f"pg_dump --format=custom --file=rawdb-backup.dump '{connection.redact(url)}'"


class PostgresMigrator:
    """Applies and rolls back the PostgreSQL files of each migration set to one database:
    rawdb's own set first, then the application's sets in their order (as
    :class:`~rawdb.migrate.runner.Migrator` does on SQLite, with the same results)."""

    def __init__(
        self,
        url: str,
        migrations_dir: Path | str | None = None,
        *,
        sets: Sequence[MigrationSource] | None = None,
        settings: Settings | None = None,
        wait_seconds: float | None = None,
        report: Report | None = None,
    ) -> None:
        check_wait(wait_seconds)
        self.url = connection.check_url(url)
        root = Path(migrations_dir) if migrations_dir is not None else shipped_root()
        self.root = dialect_folder(root)
        base = settings or Settings.from_env()
        self.sources = tuple(base.migrations if sets is None else sets)
        self.wait_seconds = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
        self.report: Report = report or (lambda _line: None)
        self.database = connection.redact(url)
        """What messages call the database (the URL without its password)."""
        self._log = log.get_logger("migrate")
        self._stack: Stack | None = None

    # --- reading ----------------------------------------------------------------------------

    @property
    def stack(self) -> Stack:
        """Every configured set, discovered once, in the order they apply."""
        if self._stack is None:
            self._stack = stack_of(self.root, self.sources, dialect_folder)
        return self._stack

    @property
    def migrations(self) -> MigrationSet:
        """The shipped set (rawdb's own)."""
        return self.stack.sets[0]

    @contextmanager
    def _connected(self) -> Iterator[SyncConnection]:
        conn = connection.connect(self.url, "migrator")
        try:
            yield conn
        finally:
            conn.close()

    def check_exists(self) -> None:
        """Refuse a database that cannot be reached (it is named, without its password)."""
        with self._connected():
            pass

    def _applied_in(self, conn: SyncConnection) -> BySet:
        if not conn.execute(SQL["versions_table_exists"].sql).fetchone()[0]:  # type: ignore[index]
            return {}
        by_set: BySet = {}
        for row in conn.execute(SQL["applied_versions"].sql):
            name, version = str(row[0]), int(row[1])
            by_set.setdefault(name, {})[version] = history.Applied(
                version=version,
                name=str(row[2]),
                checksum=str(row[3]),
                applied_at=str(row[4]),
                duration_ms=float(row[5]),
                baselined=bool(row[6]),
                set_name=name,
                depends_on=json.loads(row[7]),
                rollback_checksum=row[8],
            )
        return by_set

    def applied_by_set(self) -> BySet:
        with self._connected() as conn:
            return self._applied_in(conn)

    def applied(self, set_name: str = SHIPPED_SET) -> dict[int, history.Applied]:
        return self.applied_by_set().get(set_name, {})

    def current(self, set_name: str = SHIPPED_SET) -> int:
        return max(self.applied(set_name), default=0)

    def _pending(self, by_set: BySet, only: str | None = None) -> list[Migration]:
        return [
            m
            for found in self.stack.sets
            if only is None or found.name == only
            for m in found.migrations
            if m.version not in by_set.get(found.name, {})
        ]

    def _findings(self, by_set: BySet) -> list[checks.Finding]:
        found: list[checks.Finding] = []
        for migration_set in self.stack.sets:
            rows = by_set.get(migration_set.name, {})
            found += checks.set_findings(self.stack, migration_set, rows, file_checks=False)
        return found

    def problems(self, by_set: BySet | None = None) -> list[str]:
        """Naming, missing rollbacks, and drift: an applied file changed or gone."""
        return [f.text for f in self._findings(self.applied_by_set() if by_set is None else by_set)]

    def status(self) -> Status:
        done = self.applied_by_set()
        return Status(
            sets=set_statuses(self.stack, done), problems=self.problems(done), backup=None
        )

    # --- changing ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self, what: str) -> Iterator[SyncConnection]:
        with (
            self._connected() as conn,
            migrator_lock.held(conn, self.wait_seconds, what, self.report),
        ):
            yield conn

    def up(
        self, to: int | None = None, *, set_name: str | None = None, dry_run: bool = False
    ) -> RunResult:
        """Apply pending migrations of every set in order (or of ``set_name`` only), up to
        ``to`` of that set, each in its own transaction, holding the migrator lock."""
        if set_name is not None:
            self.stack.get(set_name)
        if to is not None and set_name is None and len(self.stack.sets) > 1:
            raise UsageError("--to needs --set when more than one migration set is configured")
        result = RunResult()
        with self._locked("rawdb migrate up") as conn:
            by_set = self._applied_in(conn)
            self._refuse_blocking(by_set)
            plan = [
                m
                for m in self._pending(by_set, set_name)
                if to is None or m.set_name != (set_name or SHIPPED_SET) or m.version <= to
            ]
            if to is not None and to > self.stack.get(set_name or SHIPPED_SET).newest:
                raise UsageError(
                    f"--to {to}: the set {set_name or SHIPPED_SET!r} has no version {to}"
                )
            if dry_run:
                for migration in plan:
                    self.report(f"-- {migration.qualified} ({migration.up.path})")
                    self.report(migration.up.text)
                return RunResult(steps=plan, done=[m.version for m in plan])
            if plan:
                self.report(
                    f"back it up first if it holds data you need: {pg_dump_advice(self.url)}"
                )
                with conn.transaction():
                    conn.execute(SQL["create_versions_table"].sql)
                    conn.execute(SQL["create_history_table"].sql)
            for migration in plan:
                self._apply(conn, migration)
                result.done.append(migration.version)
                result.steps.append(migration)
        return result

    def down(
        self,
        to: int | None = None,
        steps: int | None = None,
        *,
        set_name: str | None = None,
        dry_run: bool = False,
    ) -> RunResult:
        """Run one set's rollback files newest first until ``to`` (or ``steps`` migrations):
        ``set_name``'s, by default the last configured set that has applied versions."""
        if to is not None and steps is not None:
            raise UsageError("give either --to or --steps, not both")
        if (to is not None and to < 0) or (steps is not None and steps < 1):
            raise UsageError("--to must be >= 0 and --steps >= 1")
        result = RunResult()
        with self._locked("rawdb migrate down") as conn:
            by_set = self._applied_in(conn)
            name = set_name or next(
                (s.name for s in reversed(self.stack.sets) if by_set.get(s.name)), SHIPPED_SET
            )
            migration_set = self.stack.get(name)
            applied = sorted(by_set.get(name, {}), reverse=True)
            chosen = [v for v in applied if v > to] if to is not None else applied[: steps or 1]
            self._refuse_blocking(by_set)
            plan = [migration_set.by_version()[v] for v in chosen]
            for migration in plan:
                if migration.down is None:
                    raise MigrationStateError(
                        f"{migration.qualified}: no rollback file; nothing was rolled back"
                    )
            if dry_run:
                for migration in plan:
                    assert migration.down is not None  # checked just above
                    self.report(f"-- rollback {migration.qualified} ({migration.down.path})")
                    self.report(migration.down.text)
                return RunResult(steps=plan, done=[m.version for m in plan])
            for migration in plan:
                self._roll_back(conn, migration)
                result.done.append(migration.version)
                result.steps.append(migration)
        return result

    def _refuse_blocking(self, by_set: BySet) -> None:
        blocking = [f.text for f in self._findings(by_set) if f.blocks_up]
        if blocking:
            raise MigrationStateError(
                "refusing to migrate; nothing was changed:\n  " + "\n  ".join(blocking)
            )

    def _apply(self, conn: SyncConnection, migration: Migration) -> None:
        took = self._run(conn, migration, "apply")
        self._log.info("migration applied", migration=migration.qualified, duration_ms=took)
        self.report(f"applied {migration.qualified} ({took:.1f} ms)")

    def _roll_back(self, conn: SyncConnection, migration: Migration) -> None:
        self._run(conn, migration, "rollback")
        self._log.info("migration rolled back", migration=migration.qualified)
        self.report(f"rolled back {migration.qualified}")

    def _run(self, conn: SyncConnection, migration: Migration, action: str) -> float:
        """Run one file and record it in one transaction (a ``transaction=off`` file: each
        statement on its own, recorded after the last); returns the milliseconds it took."""
        sql_file = migration.up if action == "apply" else migration.down
        assert sql_file is not None  # a rollback without a file was refused before running
        statements = statements_of(sql_file)
        started = time.perf_counter()
        current: Statement | None = None
        try:
            if sql_file.options.no_transaction:
                for current in statements:
                    conn.execute(current.sql)  # file text, no params
                current = None
                with conn.transaction():
                    self._record(conn, migration, action, started)
            else:
                with conn.transaction():
                    for current in statements:
                        conn.execute(current.sql)  # file text
                    current = None
                    self._record(conn, migration, action, started)
        except Error as exc:
            raise self._failed(
                conn, migration, sql_file=sql_file, statement=current, started=started, exc=exc
            ) from exc
        return (time.perf_counter() - started) * 1000

    def _record(
        self, conn: SyncConnection, migration: Migration, action: str, started: float
    ) -> None:
        if action == "apply":
            conn.execute(
                SQL["record_version"].sql,
                {
                    "set_name": migration.set_name,
                    "version": migration.version,
                    "name": migration.name,
                    "checksum": migration.up.checksum,
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "rollback_checksum": None
                    if migration.down is None
                    else migration.down.checksum,
                },
            )
        else:
            conn.execute(
                SQL["forget_version"].sql,
                {"set_name": migration.set_name, "version": migration.version},
            )
        self._history(conn, migration, action, started)

    def _history(
        self,
        conn: SyncConnection,
        migration: Migration,
        action: str,
        started: float,
        error: str | None = None,
    ) -> None:
        conn.execute(
            SQL["record_history"].sql,
            {
                "set_name": migration.set_name,
                "version": migration.version,
                "name": migration.name,
                "action": action,
                "checksum": migration.up.checksum,
                "duration_ms": (time.perf_counter() - started) * 1000,
                "error": error,
            },
        )

    def _failed(
        self,
        conn: SyncConnection,
        migration: Migration,
        *,
        sql_file: SqlFile,
        statement: Statement | None,
        started: float,
        exc: Error,
    ) -> MigrationFailed:
        """The error for a statement PostgreSQL refused; its transaction is rolled back
        already, and the failure is recorded in the history in a transaction of its own."""
        action = "apply" if sql_file is migration.up else "rollback"
        translated = errors.translate(exc, where=f"{migration.qualified} {action}")
        try:
            with conn.transaction():
                self._history(conn, migration, "fail", started, str(translated))
        except Error:  # the history is a courtesy; the failure itself must be reported
            self._log.warning("could not record the failure", migration=migration.qualified)
        line = (
            0
            if statement is None
            else statement.line + _line_of(statement.sql, exc.diag.statement_position)
        )
        kept = (
            "the statements before it stay applied (transaction=off)"
            if sql_file.options.no_transaction
            else "nothing of it was kept (PostgreSQL rolled the transaction back)"
        )
        return MigrationFailed(
            f"{sql_file.path}:{line}: {action} failed, and {kept}: {translated}",
            path=str(sql_file.path),
            line=line,
            version=migration.version,
        )


def _line_of(text: str, position: str | None) -> int:
    """Lines below a statement's first of a 1-based character position PostgreSQL reported
    (0: none reported, the statement's own line)."""
    if not position or not position.isdigit():
        return 0
    return text[: int(position) - 1].count("\n")
