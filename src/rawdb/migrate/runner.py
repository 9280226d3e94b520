"""The migrator: applies and rolls back numbered files, one transaction per migration."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rawdb import log
from rawdb.config import Settings
from rawdb.connection import check_database_path, open_read_only, open_sync, transaction
from rawdb.errors import (
    AdoptionRefused,
    DiskFull,
    MigrationFailed,
    MigrationStateError,
    UsageError,
    refusal_class,
    translate,
)
from rawdb.migrate import adoption, backup, history, schema
from rawdb.migrate.files import Migration, MigrationSet, SqlFile, discover, shipped_root
from rawdb.migrate.splitter import check_allowed, split
from rawdb.migrate.steps import Step, record_failure, run_step

Report = Callable[[str], None]
DEFAULT_WAIT_SECONDS = 60.0
MAX_WAIT_SECONDS = 86_400.0


@dataclass
class Status:
    """Where a database stands against a set of migration files."""

    current: int
    applied: list[history.Applied]
    pending: list[Migration]
    problems: list[str]
    backup: str | None
    newest: int

    def as_json(self) -> dict[str, object]:
        return {
            "current": self.current,
            "newest": self.newest,
            "applied": [
                {
                    "version": a.version,
                    "name": a.name,
                    "checksum": a.checksum,
                    "applied_at": a.applied_at,
                    "duration_ms": round(a.duration_ms, 3),
                    "baselined": a.baselined,
                }
                for a in self.applied
            ],
            "pending": [{"version": m.version, "name": m.name} for m in self.pending],
            "problems": self.problems,
            "backup": self.backup,
        }


@dataclass
class RunResult:
    """What one ``up`` or ``down`` did."""

    done: list[int] = field(default_factory=list)
    backup: Path | None = None
    baselined: int | None = None


class Migrator:
    """Applies ``migrations/NNNN_slug.sql`` and ``rollback/NNNN_slug.sql`` to one database."""

    def __init__(
        self,
        database: Path | str,
        migrations_dir: Path | str | None = None,
        *,
        backup: bool = True,
        settings: Settings | None = None,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        report: Report | None = None,
    ) -> None:
        if not 0 <= wait_seconds <= MAX_WAIT_SECONDS:  # also refuses NaN
            raise UsageError(
                f"wait_seconds must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}, "
                f"got {wait_seconds}"
            )
        self.database = Path(database)
        self.root = Path(migrations_dir) if migrations_dir is not None else shipped_root()
        self.backup = backup
        base = settings or Settings.from_env()
        # A second migrator waits for the first to finish rather than failing at once.
        timeout_ms = max(base.busy_timeout_ms, int(wait_seconds * 1000))
        self.settings = base.model_copy(update={"busy_timeout_ms": timeout_ms})
        self.report: Report = report or (lambda _line: None)
        self._log = log.get_logger("migrate")
        self._set: MigrationSet | None = None

    # --- reading ----------------------------------------------------------------------------

    @property
    def migrations(self) -> MigrationSet:
        if self._set is None:
            self._set = discover(self.root)
        return self._set

    def _read_only(self) -> sqlite3.Connection | None:
        """A connection that cannot change the file (None when there is no database yet)."""
        check_database_path(self.database)
        if not self.database.exists():
            return None
        return open_read_only(self.database)

    def _read(self, fn: Callable[[sqlite3.Connection], object]) -> object:
        conn = self._read_only()
        if conn is None:
            return None
        try:
            return fn(conn)
        finally:
            conn.close()

    def applied(self) -> dict[int, history.Applied]:
        found = self._read(history.applied)
        return found if isinstance(found, dict) else {}

    def current(self) -> int:
        return max(self.applied(), default=0)

    def pending(self, applied: dict[int, history.Applied] | None = None) -> list[Migration]:
        done = self.applied() if applied is None else applied
        return [m for m in self.migrations.migrations if m.version not in done]

    def problems(self, applied: dict[int, history.Applied] | None = None) -> list[str]:
        """Everything ``validate`` reports: naming, missing rollbacks, drift, order."""
        done = self.applied() if applied is None else applied
        found = list(self.migrations.problems)
        files = self.migrations.by_version()
        for migration in self.migrations.migrations:
            if migration.down is None:
                found.append(
                    f"{migration.up.path}: no rollback file "
                    f"({self.root / 'rollback' / migration.up.path.name})"
                )
        for version, row in sorted(done.items()):
            on_disk = files.get(version)
            if on_disk is None:
                found.append(f"version {version:04d} ({row.name}) is applied but its file is gone")
            elif on_disk.up.checksum != row.checksum:
                found.append(
                    f"{on_disk.up.path}: edited after it was applied (checksum "
                    f"{row.checksum[:12]} applied, {on_disk.up.checksum[:12]} now); "
                    "released migrations are never edited: revert it and add a new migration"
                )
        top = max(done, default=0)
        for migration in self.pending(done):
            if migration.version < top:
                found.append(
                    f"{migration.up.path}: pending version {migration.version:04d} is lower than "
                    f"applied version {top:04d} (out of order); renumber it above {top:04d}"
                )
        return found

    def status(self) -> Status:
        done = self.applied()
        last_backup = self._read(history.last_backup)
        return Status(
            current=max(done, default=0),
            applied=list(done.values()),
            pending=self.pending(done),
            problems=self.problems(done),
            backup=last_backup if isinstance(last_backup, str) else None,
            newest=self.migrations.newest,
        )

    def dump_schema(self) -> str:
        def _dump(conn: sqlite3.Connection) -> str:
            return schema.dump(conn, history.current(conn))

        text = self._read(_dump)
        return text if isinstance(text, str) else schema.dump(sqlite3.connect(":memory:"), 0)

    # --- changing ---------------------------------------------------------------------------

    def up(self, to: int | None = None, *, dry_run: bool = False) -> RunResult:
        """Apply pending migrations up to ``to`` (default: all), each in its own transaction."""
        done = self.applied()
        self._refuse_unsafe_state(done)
        targets = [m for m in self.pending(done) if to is None or m.version <= to]
        _preflight(m.up for m in targets)
        if dry_run:
            for migration in targets:
                self._print_sql(migration.name, "up", migration.up)
            return RunResult()
        result = RunResult()
        needs_adoption = self._needs_adoption()
        if not targets and not needs_adoption:
            return result
        if needs_adoption:
            self._read(self._check_adoptable)  # refuse before anything touches the file
        if self.backup:
            self._check_room_for_backup()
        conn = open_sync(self.database, self.settings)
        try:
            # The backup comes before the adoption's bookkeeping: it is the file as it was.
            if self.backup and adoption.application_tables(conn):
                result.backup = self._backup(conn)
            result.baselined = self._adopt_if_needed(conn)
            done = history.applied(conn)
            targets = [m for m in self.pending(done) if to is None or m.version <= to]
            for migration in targets:
                if self._apply(conn, migration, result.backup):
                    result.done.append(migration.version)
        finally:
            conn.close()
        return result

    def down(
        self, to: int | None = None, steps: int | None = None, *, dry_run: bool = False
    ) -> RunResult:
        """Run rollback files newest first until ``to`` (or ``steps`` migrations) is reached."""
        if to is not None and steps is not None:
            raise UsageError("give either --to or --steps, not both")
        if (to is not None and to < 0) or (steps is not None and steps < 1):
            raise UsageError("--to must be >= 0 and --steps >= 1")
        done = self.applied()
        versions = sorted(done, reverse=True)
        targets = versions[: steps or 1] if to is None else [v for v in versions if v > to]
        files = self.migrations.by_version()
        plan: list[Migration] = []
        for version in targets:
            migration = files.get(version)
            if migration is None or migration.down is None:
                raise MigrationStateError(
                    f"cannot roll back version {version:04d}: its "
                    f"{'migration' if migration is None else 'rollback'} file is missing; "
                    "nothing was rolled back"
                )
            plan.append(migration)
        _preflight(m.down for m in plan if m.down is not None)
        if dry_run:
            for migration in plan:
                assert migration.down is not None
                self._print_sql(migration.name, "down", migration.down)
            return RunResult()
        result = RunResult()
        if not plan:
            return result
        if self.backup:
            self._check_room_for_backup()
        conn = open_sync(self.database, self.settings)
        try:
            if self.backup:
                result.backup = self._backup(conn)
            for migration in plan:
                if self._rollback(conn, migration, result.backup):
                    result.done.append(migration.version)
        finally:
            conn.close()
        return result

    def baseline(self, version: int) -> None:
        """Record 1..version as applied without running them, after proving the schema matches."""
        if version < 1 or version > self.migrations.newest:
            raise UsageError(
                f"baseline takes a version from 1 to {self.migrations.newest}, got {version}"
            )
        self._read(lambda conn: adoption.check_matches(self.migrations, conn, version))
        conn = open_sync(self.database, self.settings)
        try:
            self._baseline(conn, version)
        finally:
            conn.close()

    # --- internals --------------------------------------------------------------------------

    def _refuse_unsafe_state(self, done: dict[int, history.Applied]) -> None:
        unsafe = [p for p in self.problems(done) if "no rollback file" not in p]
        if unsafe:
            raise MigrationStateError(
                "refusing to migrate; fix these first (see `validate`):\n  - "
                + "\n  - ".join(unsafe)
            )

    def _needs_adoption(self) -> bool:
        def _check(conn: sqlite3.Connection) -> bool:
            return not history.exists(conn) and bool(adoption.application_tables(conn))

        return bool(self._read(_check))

    def _check_adoptable(self, conn: sqlite3.Connection) -> None:
        version = adoption.adoptable_version(self.migrations, conn)
        adoption.check_matches(self.migrations, conn, version)

    def _adopt_if_needed(self, conn: sqlite3.Connection) -> int | None:
        if history.exists(conn) or not adoption.application_tables(conn):
            return None
        version = adoption.adoptable_version(self.migrations, conn)
        self.report(f"recognised an existing database; adopting it at version {version:04d}")
        self._baseline(conn, version)
        return version

    def _baseline(self, conn: sqlite3.Connection, version: int) -> None:
        files = self.migrations.by_version()
        with transaction(conn, f"baseline {version:04d}"):
            if history.applied(conn):
                raise AdoptionRefused(
                    "the database already has applied migrations; baseline is for databases "
                    "the migrator has never managed"
                )
            adoption.check_matches(self.migrations, conn, version)
            history.ensure(conn)
            for number in range(1, version + 1):
                migration = files[number]
                history.record_applied(
                    conn,
                    version=number,
                    name=migration.name,
                    checksum=migration.up.checksum,
                    duration_ms=0.0,
                    baselined=True,
                )
                history.record_event(
                    conn,
                    version=number,
                    name=migration.name,
                    action="baseline",
                    checksum=migration.up.checksum,
                )
        self._log.info(log.MIGRATION_BASELINED, version=version, database=str(self.database))
        self.report(f"baselined versions 0001..{version:04d}")

    def _check_room_for_backup(self) -> None:
        """Refuse before anything is touched when the backup cannot fit beside the file."""
        if not self.database.exists():
            return
        needed = _file_bytes(self.database) + MARGIN_BYTES
        free = shutil.disk_usage(self.database.parent).free
        if free < needed:
            raise DiskFull(
                f"disk full: the backup of {self.database} needs {_mb(needed)} and "
                f"{self.database.parent} has {_mb(free)} free; free {_mb(needed - free)} "
                "(or keep a copy elsewhere and pass --no-backup). Nothing was changed."
            )

    def _backup(self, conn: sqlite3.Connection) -> Path:
        target = backup.backup_path(self.database, history.current(conn))
        started = time.perf_counter()
        backup.take(conn, target)
        seconds = time.perf_counter() - started
        self._log.info(log.BACKUP_WRITTEN, path=str(target), seconds=round(seconds, 3))
        self.report(f"backup written to {target}")
        return target

    def _print_sql(self, name: str, direction: str, sql_file: SqlFile) -> None:
        statements = split(sql_file.text, sql_file.path)
        check_allowed(statements, sql_file.path, in_transaction=not sql_file.options.no_transaction)
        self.report(f"-- {name} ({direction}) from {sql_file.path}")
        for stmt in statements:
            self.report(stmt.sql + "\n")

    def _apply(self, conn: sqlite3.Connection, migration: Migration, backup: Path | None) -> bool:
        return self._step(conn, Step(migration, migration.up, "apply", backup))

    def _rollback(
        self, conn: sqlite3.Connection, migration: Migration, backup: Path | None
    ) -> bool:
        assert migration.down is not None
        return self._step(conn, Step(migration, migration.down, "rollback", backup))

    def _step(self, conn: sqlite3.Connection, step: Step) -> bool:
        started = time.perf_counter()
        try:
            done = run_step(conn, step)
        except BaseException as exc:
            self._log.error(log.MIGRATION_FAILED, migration=step.migration.name, error=str(exc))
            record_failure(conn, step, exc)
            full = self._disk_full(step, exc)
            if full is not None:
                raise full from exc
            if isinstance(exc, sqlite3.Error):  # e.g. COMMIT itself refused
                raise translate(exc, where=f"{step.action} {step.migration.name}") from exc
            raise
        if done:
            elapsed = (time.perf_counter() - started) * 1000
            applying = step.action == "apply"
            event = log.MIGRATION_APPLIED if applying else log.MIGRATION_ROLLED_BACK
            self._log.info(event, migration=step.migration.name, duration_ms=round(elapsed, 2))
            verb = "applied" if applying else "rolled back"
            self.report(f"{verb} {step.migration.name} in {elapsed:.1f} ms")
        return done

    def _disk_full(self, step: Step, exc: BaseException) -> DiskFull | None:
        """The disk filled during a migration: say how much to free and what stands."""
        if not _is_disk_full(exc):
            return None
        # A migration that rebuilds a table writes a copy of it first: room for the file.
        needed = _file_bytes(self.database) + MARGIN_BYTES
        free = shutil.disk_usage(self.database.parent).free
        where = f" ({exc.path}:{exc.line})" if isinstance(exc, MigrationFailed) else ""
        return DiskFull(
            f"disk full while running {step.migration.name} ({step.action}){where}: free at "
            f"least {_mb(max(needed - free, MARGIN_BYTES))} in {self.database.parent} "
            f"({_mb(free)} free now), then run the command again. {step.migration.name} was "
            "rolled back whole, nothing of it was changed; migrations done before it stay done."
        )


MARGIN_BYTES = 1 << 20


def _file_bytes(database: Path) -> int:
    return sum(
        _size(database.with_name(database.name + suffix)) for suffix in ("", "-wal", "-journal")
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _is_disk_full(exc: BaseException) -> bool:
    causes = (exc, exc.__cause__)
    return any(isinstance(c, sqlite3.Error) and refusal_class(c) is DiskFull for c in causes)


def _preflight(files: Iterable[SqlFile]) -> None:
    """Split and check every file of a run before the database is opened for writing.

    A malformed file (unterminated statement, its own BEGIN/COMMIT) is refused with nothing
    written, not even a history row.
    """
    for sql_file in files:
        statements = split(sql_file.text, sql_file.path)
        check_allowed(statements, sql_file.path, in_transaction=not sql_file.options.no_transaction)
