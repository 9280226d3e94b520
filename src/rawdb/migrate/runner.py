"""The migrator: applies and rolls back numbered files, one transaction per migration."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rawdb import log
from rawdb.backend import DriverError, SyncConnection, current
from rawdb.backend.sqlite import driver
from rawdb.config import SHIPPED_SET, MigrationSource, Settings
from rawdb.errors import (
    AdoptionRefused,
    DatabaseBusy,
    DiskFull,
    MigrationFailed,
    MigrationStateError,
    UsageError,
)
from rawdb.migrate import adoption, backup, checks, foreign, history, schema, sets
from rawdb.migrate.files import (
    SLUG_PATTERN,
    Migration,
    MigrationSet,
    SqlFile,
    discover,
    next_version_text,
    shipped_root,
)
from rawdb.migrate.sets import BySet, Stack
from rawdb.migrate.splitter import check_allowed, split
from rawdb.migrate.steps import Step, record_failure, run_step

Report = Callable[[str], None]
DEFAULT_WAIT_SECONDS = 60.0
MAX_WAIT_SECONDS = 86_400.0


def _applied_json(a: history.Applied) -> dict[str, object]:
    return {
        "version": a.version,
        "name": a.name,
        "checksum": a.checksum,
        "rollback_checksum": a.rollback_checksum,
        "applied_at": a.applied_at,
        "duration_ms": round(a.duration_ms, 3),
        "baselined": a.baselined,
        "depends_on": a.depends_on,
    }


@dataclass(frozen=True)
class Adoption:
    """A set to baseline before anything runs: the database already holds its versions."""

    migration_set: MigrationSet
    version: int
    source: str
    """What showed it: an Alembic revision, or another tool's table."""


@dataclass
class SetStatus:
    """Where a database stands against one migration set."""

    name: str
    folder: Path | None  # None: recorded in the file but not configured here
    applied: list[history.Applied]
    pending: list[Migration]
    newest: int

    @property
    def current(self) -> int:
        return max((a.version for a in self.applied), default=0)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "folder": None if self.folder is None else str(self.folder),
            "configured": self.folder is not None,
            "current": self.current,
            "newest": self.newest,
            "applied": [_applied_json(a) for a in self.applied],
            "pending": [{"version": m.version, "name": m.name} for m in self.pending],
        }


@dataclass
class Status:
    """Where a database stands against every configured migration set."""

    sets: list[SetStatus]
    problems: list[str]
    backup: str | None

    @property
    def shipped(self) -> SetStatus:
        return self.sets[0]

    @property
    def current(self) -> int:
        """The shipped set's version."""
        return self.shipped.current

    @property
    def newest(self) -> int:
        return self.shipped.newest

    @property
    def applied(self) -> list[history.Applied]:
        return self.shipped.applied

    @property
    def pending(self) -> list[Migration]:
        """Pending migrations of every configured set, in the order ``up`` applies them."""
        return [m for found in self.sets for m in found.pending]

    def as_json(self) -> dict[str, object]:
        return {
            "current": self.current,
            "newest": self.newest,
            "sets": [found.as_json() for found in self.sets],
            "problems": self.problems,
            "backup": self.backup,
        }


@dataclass
class RunResult:
    """What one ``up`` or ``down`` did."""

    done: list[int] = field(default_factory=list)
    """Versions applied or rolled back, in order (see ``steps`` for their sets)."""
    steps: list[Migration] = field(default_factory=list)
    backup: Path | None = None
    baselined: int | None = None
    """The version the first adopted set was baselined at (rawdb's, for an Alembic database)."""
    adopted: list[Adoption] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "done": [{"set": m.set_name, "version": m.version, "name": m.name} for m in self.steps],
            "backup": None if self.backup is None else str(self.backup),
            "baselined": self.baselined,
            "adopted": [
                {"set": a.migration_set.name, "version": a.version, "from": a.source}
                for a in self.adopted
            ],
        }


class Migrator:
    """Applies ``migrations/NNNN_slug.sql`` and ``rollback/NNNN_slug.sql`` of each migration
    set to one database: rawdb's own set first (``migrations_dir``, default the shipped one),
    then the application's sets (``sets``, default ``settings.migrations``) in their order."""

    def __init__(
        self,
        database: Path | str,
        migrations_dir: Path | str | None = None,
        *,
        sets: Sequence[MigrationSource] | None = None,
        backup: bool = True,
        settings: Settings | None = None,
        wait_seconds: float | None = None,
        report: Report | None = None,
    ) -> None:
        check_wait(wait_seconds)
        self.database = Path(database)
        self.root = Path(migrations_dir) if migrations_dir is not None else shipped_root()
        self.backup = backup
        base = settings or Settings.from_env()
        self.sources = tuple(base.migrations if sets is None else sets)
        # Given: exactly that long. Not given: a second migrator waits for the first to finish
        # (a migration may take a while) rather than failing at once.
        timeout_ms = (
            max(base.busy_timeout_ms, int(DEFAULT_WAIT_SECONDS * 1000))
            if wait_seconds is None
            else int(wait_seconds * 1000)
        )
        self.settings = base.model_copy(update={"busy_timeout_ms": timeout_ms})
        self.backend = current(self.settings)
        """Where this migrator connects, locks and translates errors (the backend seam)."""
        self.report: Report = report or (lambda _line: None)
        self._log = log.get_logger("migrate")
        self._stack: Stack | None = None

    # --- reading ----------------------------------------------------------------------------

    @property
    def stack(self) -> Stack:
        """Every configured set, discovered once, in the order they apply."""
        if self._stack is None:
            self._stack = stack_of(self.root, self.sources)
        return self._stack

    @property
    def migrations(self) -> MigrationSet:
        """The shipped set (rawdb's own)."""
        return self.stack.sets[0]

    def _read_only(self) -> SyncConnection | None:
        """A connection that cannot change the file (None when there is no database yet)."""
        self.backend.check_target(self.database)
        if not self.database.exists():
            return None
        return self.backend.connect_read_only(self.database, self.settings.sql_setup)

    def check_exists(self) -> None:
        """Refuse a database that is not there (a mistyped path is not an empty database)."""
        self.backend.check_target(self.database, must_exist=True)

    def _read(self, fn: Callable[[SyncConnection], object]) -> object:
        conn = self._read_only()
        if conn is None:
            return None
        try:
            return fn(conn)
        finally:
            conn.close()

    def _applied_in(self, conn: SyncConnection) -> BySet:
        """Applied versions by set; rows of the old single-set table placed where they will
        be once it is upgraded."""
        by_set = history.applied_by_set(conn)
        if history.layout(conn) != "single":
            return by_set
        placed: BySet = {}
        for row in by_set.get(SHIPPED_SET, {}).values():
            name, version = self.stack.owner(row.version, row.name, row.checksum)
            placed.setdefault(name, {})[version] = history.Applied(
                version,
                row.name,
                row.checksum,
                row.applied_at,
                row.duration_ms,
                row.baselined,
                name,
            )
        return placed

    def applied_by_set(self) -> BySet:
        found = self._read(self._applied_in)
        return found if isinstance(found, dict) else {}

    def applied(self, set_name: str = SHIPPED_SET) -> dict[int, history.Applied]:
        return self.applied_by_set().get(set_name, {})

    def current(self, set_name: str = SHIPPED_SET) -> int:
        return max(self.applied(set_name), default=0)

    def pending(
        self, applied: dict[int, history.Applied] | None = None, set_name: str = SHIPPED_SET
    ) -> list[Migration]:
        done = self.applied(set_name) if applied is None else applied
        return [m for m in self.stack.get(set_name).migrations if m.version not in done]

    def _pending_all(self, by_set: BySet, only: str | None = None) -> list[Migration]:
        return [
            m
            for found in self.stack.sets
            if only is None or found.name == only
            for m in found.migrations
            if m.version not in by_set.get(found.name, {})
        ]

    def problems(self, by_set: BySet | None = None) -> list[str]:
        """Everything ``validate`` reports: naming, rollbacks, drift, order, needs, and every
        file ``up`` or ``down`` would refuse."""
        return [f.text for f in self._findings(by_set)]

    def _findings(
        self, by_set: BySet | None = None, *, file_checks: bool = True
    ) -> list[checks.Finding]:
        done = self.applied_by_set() if by_set is None else by_set
        found: list[checks.Finding] = []
        for migration_set in self.stack.sets:
            rows = done.get(migration_set.name, {})
            found += checks.set_findings(self.stack, migration_set, rows, file_checks=file_checks)
        return found

    def status(self) -> Status:
        done = self.applied_by_set()
        last_backup = self._read(history.last_backup)
        return Status(
            sets=set_statuses(self.stack, done),
            problems=self.problems(done),
            backup=last_backup if isinstance(last_backup, str) else None,
        )

    def dump_schema(self) -> str:
        def _dump(conn: SyncConnection) -> str:
            return schema.dump(conn, history.current(conn))

        text = self._read(_dump)
        return text if isinstance(text, str) else schema.dump(driver.open_plain(":memory:"), 0)

    # --- changing ---------------------------------------------------------------------------

    def up(
        self, to: int | None = None, *, set_name: str | None = None, dry_run: bool = False
    ) -> RunResult:
        """Apply pending migrations of every set in order (or of ``set_name`` only), up to
        ``to`` of that set, each in its own transaction, holding the migrator lock."""
        if set_name is not None:
            self.stack.get(set_name)
        if to is not None and set_name is None and len(self.stack.sets) > 1:
            raise UsageError(
                "--to needs --set NAME when application migration sets are configured "
                f"({', '.join(self.stack.names)})"
            )
        targets = self._plan_up(self.applied_by_set(), set_name, to)
        if dry_run:
            for migration in targets:
                self._print_sql(migration, "up", migration.up)
            return RunResult()
        if not targets and not self._needs_adoption() and not self._needs_upgrade():
            return RunResult()
        with self._locked("up"):
            # What was read before the lock may be another migrator's run half done.
            return self._up_locked(set_name, to)

    def _plan_up(self, done: BySet, set_name: str | None, to: int | None) -> list[Migration]:
        """The migrations ``up`` would apply, refused before anything is touched when the
        state or a file is not safe to go on with."""
        self._refuse_unsafe_state(done)
        targets = self._targets(done, set_name, to)
        sets.check_requirements(self.stack, targets, done)
        _preflight(m.up for m in targets)
        return targets

    def _up_locked(self, set_name: str | None, to: int | None) -> RunResult:
        result = RunResult()
        targets = self._plan_up(self.applied_by_set(), set_name, to)
        # Refuse an adoption before anything touches the file.
        planned = self._read(self._adoptions)
        adoptions = planned if isinstance(planned, list) else []
        if not targets and not adoptions and not self._needs_upgrade():
            return result
        self._discard_unfinished_backups()
        if self.backup:
            self._check_room_for_backup()
        conn = self.backend.connect(self.database, self.settings)
        try:
            # The backup comes before the adoption's bookkeeping: it is the file as it was.
            if self.backup and adoption.application_tables(conn):
                result.backup = self._backup(conn)
            self._upgrade_bookkeeping(conn)
            for planned_adoption in self._adoptions(conn):
                self._adopt(conn, planned_adoption)
                result.adopted.append(planned_adoption)
                if result.baselined is None:
                    result.baselined = planned_adoption.version
            done = self._applied_in(conn)
            for migration in self._targets(done, set_name, to):
                stands_on = sets.depends_on(self.stack, migration, done)
                if self._apply(conn, migration, result.backup, stands_on):
                    result.done.append(migration.version)
                    result.steps.append(migration)
                    done = self._applied_in(conn)
        finally:
            conn.close()
        return result

    def _targets(self, done: BySet, set_name: str | None, to: int | None) -> list[Migration]:
        return [m for m in self._pending_all(done, set_name) if to is None or m.version <= to]

    def down(
        self,
        to: int | None = None,
        steps: int | None = None,
        *,
        set_name: str | None = None,
        dry_run: bool = False,
    ) -> RunResult:
        """Run one set's rollback files newest first until ``to`` (or ``steps`` migrations)
        is reached: ``set_name``'s, by default the top set that has applied versions."""
        if to is not None and steps is not None:
            raise UsageError("give either --to or --steps, not both")
        if (to is not None and to < 0) or (steps is not None and steps < 1):
            raise UsageError("--to must be >= 0 and --steps >= 1")
        plan = self._plan_down(self.applied_by_set(), to, steps, set_name)
        if dry_run:
            for migration in plan:
                assert migration.down is not None
                self._print_sql(migration, "down", migration.down)
            return RunResult()
        if not plan:
            return RunResult()
        with self._locked("down"):
            return self._down_locked(to, steps, set_name)

    def _plan_down(
        self, done: BySet, to: int | None, steps: int | None, set_name: str | None
    ) -> list[Migration]:
        name = set_name or sets.top_set(self.stack, done)
        files = self.stack.get(name).by_version()
        versions = sorted(done.get(name, {}), reverse=True)
        targets = versions[: steps or 1] if to is None else [v for v in versions if v > to]
        if targets:
            sets.refuse_dependents(name, min(targets), done)
        plan = _rollback_plan(name, files, targets, done.get(name, {}))
        _preflight(m.down for m in plan if m.down is not None)
        return plan

    def _down_locked(self, to: int | None, steps: int | None, set_name: str | None) -> RunResult:
        result = RunResult()
        plan = self._plan_down(self.applied_by_set(), to, steps, set_name)
        if not plan:
            return result
        self._discard_unfinished_backups()
        if self.backup:
            self._check_room_for_backup()
        conn = self.backend.connect(self.database, self.settings)
        try:
            if self.backup:
                result.backup = self._backup(conn)
            self._upgrade_bookkeeping(conn)
            for migration in plan:
                if self._rollback(conn, migration, result.backup):
                    result.done.append(migration.version)
                    result.steps.append(migration)
        finally:
            conn.close()
        return result

    def baseline(self, version: int, *, set_name: str = SHIPPED_SET) -> None:
        """Record 1..version of a set as applied without running them, after proving the
        schema matches."""
        migration_set = self.stack.get(set_name)
        of = "" if set_name == SHIPPED_SET else f" of {set_name}"
        if version < 1 or version > migration_set.newest:
            raise UsageError(
                f"baseline takes a version{of} from 1 to {migration_set.newest}, got {version}"
            )
        if version not in migration_set.by_version():
            below = [m.version for m in migration_set.migrations if m.version < version][-1:]
            nearest = f"; the nearest below is {below[0]}" if below else ""
            raise UsageError(
                f"baseline takes the version of a migration{of}: none is {version}{nearest}"
            )
        with self._locked("baseline"):
            self._read(lambda conn: self._check_baseline(conn, migration_set, version))
            conn = self.backend.connect(self.database, self.settings)
            try:
                self._upgrade_bookkeeping(conn)
                self._baseline(conn, version, migration_set)
            finally:
                conn.close()

    def new(self, slug: str, set_name: str | None = None) -> tuple[Path, Path]:
        """Write the next numbered migration and its rollback into an application set (the
        last configured one unless named); rawdb's own set is never written to."""
        if not SLUG_PATTERN.match(slug):
            raise UsageError(f"slug {slug!r}: use lowercase letters, digits and underscores")
        if set_name == SHIPPED_SET or not self.sources:
            raise UsageError(
                "`new` writes into an application migration set, and none is configured"
                + (" (rawdb's own set is part of the installed package)" if self.sources else "")
                + ": configure one, e.g. RAWDB_MIGRATIONS=app=db/migrations or "
                "--migrations app=db/migrations (a folder in your project; it is created)"
            )
        source = next((s for s in self.sources if s.name == set_name), None)
        if source is None:
            if set_name is not None:
                self.stack.get(set_name)  # raises, listing the configured sets
            source = self.sources[-1]
        (source.folder / "migrations").mkdir(parents=True, exist_ok=True)
        (source.folder / "rollback").mkdir(parents=True, exist_ok=True)
        version = next_version_text(discover(source.folder, source.name), datetime.now(UTC))
        name = f"{version}_{slug}.sql"
        up_path = source.folder / "migrations" / name
        down_path = source.folder / "rollback" / name
        requires = f"-- rawdb: requires={SHIPPED_SET}:{self.migrations.newest}\n"
        up_path.write_text(
            f"-- {slug.replace('_', ' ')}: describe the change in one line\n"
            "-- Why: the reason, with the measurement when it is about speed.\n"
            f"{requires}"
            "-- Add '-- rawdb: foreign_keys=off' here for a table rebuild.\n\n"
        )
        down_path.write_text(f"-- undo {source.name} {version}_{slug}\n\n")
        self._stack = None
        return up_path, down_path

    # --- internals --------------------------------------------------------------------------

    def _refuse_unsafe_state(self, done: BySet) -> None:
        # The files themselves: _preflight checks those up is about to run.
        unsafe = [f.text for f in self._findings(done, file_checks=False) if f.blocks_up]
        if unsafe:
            raise MigrationStateError(
                "refusing to migrate; fix these first (see `validate`):\n  - "
                + "\n  - ".join(unsafe)
            )

    @contextmanager
    def _locked(self, what: str) -> Iterator[None]:
        """Hold the migrator lock (``<db>.migrate-lock``) for a command that writes."""
        self.backend.check_target(self.database)
        if str(self.database) in {"", ":memory:"}:  # nothing another process could share
            yield
            return
        wait = self.settings.busy_timeout_ms / 1000
        with self.backend.migrator_lock(self.database, wait, f"rawdb migrate {what}", self.report):
            yield

    def _needs_upgrade(self) -> bool:
        return bool(self._read(history.needs_upgrade))

    def _upgrade_bookkeeping(self, conn: SyncConnection) -> None:
        """Bring a version table of an older layout to the current one: one written before
        sets existed, or before rollback checksums were recorded."""
        if not history.needs_upgrade(conn):
            return
        moved: int | None = None
        with self.backend.transaction(conn, "upgrading the migration version table"):
            if history.layout(conn) == "single":
                moved = history.upgrade(conn, self.stack.owner)
                history.fill_rollback_checksums(conn, self._rollback_of)
            else:
                history.add_rollback_checksums(conn, self._rollback_of)
        if moved is not None:
            self.report(f"upgraded the version table to migration sets ({moved} rows)")

    def _rollback_of(self, set_name: str, version: int, checksum: str) -> str | None:
        """The rollback checksum to record for a row written before they were recorded: the
        rollback on disk, when the applied file is still the one on disk."""
        if set_name not in self.stack.names:
            return None
        migration = self.stack.get(set_name).by_version().get(version)
        if migration is None or migration.down is None or migration.up.checksum != checksum:
            return None
        return migration.down.checksum

    def _needs_adoption(self) -> bool:
        """Whether an adoption may be due (cheap, and never raises: it runs before the lock,
        when another migrator may be half way through a run)."""
        return bool(self._read(self._may_adopt))

    def _may_adopt(self, conn: SyncConnection) -> bool:
        if self._unmanaged_with_shipped_tables(conn):
            return True
        if not foreign.detect(conn):
            return False
        managed = history.managed_sets(conn) | set(self._applied_in(conn))
        return any(
            s.name not in managed and self._holds_tables_of(conn, s) for s in self.stack.sets
        )

    def _unmanaged_with_shipped_tables(self, conn: SyncConnection) -> bool:
        """No version table, and tables the shipped set creates already there: another tool
        built this database. (Only the application's own tables: rawdb installs beside them.)"""
        if history.exists(conn):
            return False
        present = {name.lower() for name in adoption.application_tables(conn)}
        if not present:
            return False
        shipped = adoption.created_tables(self.migrations)
        return bool(present & shipped) or adoption.alembic_revisions(conn) is not None

    @staticmethod
    def _holds_tables_of(conn: SyncConnection, migration_set: MigrationSet) -> bool:
        present = {name.lower() for name in adoption.application_tables(conn)}
        return bool(present & adoption.created_tables(migration_set))

    def _adoptions(self, conn: SyncConnection) -> list[Adoption]:
        """The sets a database built by another tool is already at, each proved to match
        (AdoptionRefused, listing what differs, otherwise): rawdb's set by an Alembic
        revision; any set the migrator never managed here whose tables are there, by another
        tool's bookkeeping table."""
        found: list[Adoption] = []
        others = foreign.detect(conn)
        placed = self._applied_in(conn)  # an old single-set table's rows where they belong
        managed = history.managed_sets(conn) | set(placed)
        reached = {name: max(rows, default=0) for name, rows in placed.items()}
        for migration_set in self.stack.sets:
            planned = None
            by_alembic = adoption.alembic_revisions(conn) is not None or not others
            if migration_set is self.migrations and by_alembic:
                if self._unmanaged_with_shipped_tables(conn):
                    version = adoption.adoptable_version(self.migrations, conn)
                    planned = Adoption(self.migrations, version, "Alembic")
            elif migration_set.name not in managed and self._holds_tables_of(conn, migration_set):
                planned = _foreign_adoption(migration_set, others)
            if planned is None:
                continue
            below = [(s, reached.get(s.name, 0)) for s in self.stack.below(migration_set.name)]
            adoption.check_matches(
                migration_set, conn, planned.version, below=below, setup=self.settings.sql_setup
            )
            reached[migration_set.name] = planned.version
            found.append(planned)
        return found

    def _check_baseline(
        self, conn: SyncConnection, migration_set: MigrationSet, version: int
    ) -> None:
        below = [
            (s, max(self._applied_in(conn).get(s.name, {}), default=0))
            for s in self.stack.below(migration_set.name)
        ]
        adoption.check_matches(
            migration_set, conn, version, below=below, setup=self.settings.sql_setup
        )

    def _adopt(self, conn: SyncConnection, planned: Adoption) -> None:
        if planned.source == "Alembic":
            self.report(
                f"recognised an existing database; adopting it at version {planned.version:04d}"
            )
        else:
            name = planned.migration_set.by_version()[planned.version].name
            self.report(
                f"recognised a database migrated by {planned.source}; adopting set "
                f"{planned.migration_set.name} at {name}"
            )
        self._baseline(conn, planned.version, planned.migration_set)

    def _baseline(self, conn: SyncConnection, version: int, migration_set: MigrationSet) -> None:
        name = migration_set.name
        with self.backend.transaction(conn, f"baseline {name} {version:04d}"):
            done = self._applied_in(conn)
            if done.get(name):
                raise AdoptionRefused(
                    f"the database already has applied migrations of {name}; baseline is for "
                    "a set the migrator has never managed on this database"
                )
            self._check_baseline(conn, migration_set, version)
            history.ensure(conn, self.stack.owner, self._rollback_of)
            stands_on = {
                s.name: max(done.get(s.name, {}), default=0) for s in self.stack.below(name)
            }
            covered = [m for m in migration_set.migrations if m.version <= version]
            for migration in covered:
                history.record_applied(
                    conn,
                    set_name=name,
                    version=migration.version,
                    name=migration.name,
                    checksum=migration.up.checksum,
                    duration_ms=0.0,
                    baselined=True,
                    depends_on={k: v for k, v in stands_on.items() if v > 0},
                    rollback_checksum=migration.down.checksum if migration.down else None,
                )
                history.record_event(
                    conn,
                    set_name=name,
                    version=migration.version,
                    name=migration.name,
                    action="baseline",
                    checksum=migration.up.checksum,
                )
        self._log.info(
            log.MIGRATION_BASELINED, set=name, version=version, database=str(self.database)
        )
        label = "" if name == SHIPPED_SET else f"{name} "
        self.report(f"baselined {label}versions {covered[0].name}..{covered[-1].name}")

    def _discard_unfinished_backups(self) -> None:
        """A run killed while writing its backup left a ``.partial`` copy: never a backup,
        and in the way of the free-space check. Removed under the migrator lock, and said."""
        for path, size in backup.discard_unfinished(self.database):
            self.report(f"removed {path.name} ({_mb(size)}), an unfinished backup of a killed run")

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

    def _backup(self, conn: SyncConnection) -> Path:
        target = backup.backup_path(self.database, history.current(conn))
        started = time.perf_counter()
        backup.take(conn, target, self.settings.sql_setup)
        seconds = time.perf_counter() - started
        self._log.info(log.BACKUP_WRITTEN, path=str(target), seconds=round(seconds, 3))
        self.report(f"backup written to {target}")
        return target

    def _print_sql(self, migration: Migration, direction: str, sql_file: SqlFile) -> None:
        statements = split(sql_file.text, sql_file.path)
        check_allowed(statements, sql_file.path, in_transaction=not sql_file.options.no_transaction)
        self.report(f"-- {migration.qualified} ({direction}) from {sql_file.path}")
        for stmt in statements:
            self.report(stmt.sql + "\n")

    def _apply(
        self,
        conn: SyncConnection,
        migration: Migration,
        backup: Path | None,
        stands_on: dict[str, int],
    ) -> bool:
        return self._step(conn, Step(migration, migration.up, "apply", backup, stands_on))

    def _rollback(self, conn: SyncConnection, migration: Migration, backup: Path | None) -> bool:
        assert migration.down is not None
        return self._step(conn, Step(migration, migration.down, "rollback", backup))

    def _step(self, conn: SyncConnection, step: Step) -> bool:
        started = time.perf_counter()
        try:
            done = run_step(conn, step)
        except BaseException as exc:
            # Recorded in the history and raised; not also logged (the caller reports it once).
            if not isinstance(exc, DatabaseBusy):  # recording it would wait for the lock again
                record_failure(conn, step, exc)
            full = self._disk_full(step, exc)
            if full is not None:
                raise full from exc
            if isinstance(exc, DriverError):  # e.g. COMMIT itself refused
                raise self.backend.translate(
                    exc, where=f"{step.action} {step.migration.name}"
                ) from exc
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


def check_wait(wait_seconds: float | None) -> None:
    """Refuse a wait for another migrator outside 0 to MAX_WAIT_SECONDS (NaN too)."""
    if wait_seconds is not None and not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
        raise UsageError(
            f"wait_seconds must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}, "
            f"got {wait_seconds}"
        )


def stack_of(
    root: Path,
    sources: Sequence[MigrationSource],
    folder_of: Callable[[Path], Path] = lambda folder: folder,
) -> Stack:
    """rawdb's set at ``root`` then the application's sets, each discovered in the folder
    ``folder_of`` picks in it (an engine's own subfolder)."""
    found = [discover(root, SHIPPED_SET)]
    found += [discover(folder_of(source.folder), source.name) for source in sources]
    return Stack(tuple(found))


def set_statuses(stack: Stack, done: BySet) -> list[SetStatus]:
    """Where a database stands against each configured set, then the sets it records that are
    not configured here (whichever engine it is on)."""
    found = [
        SetStatus(
            name=migration_set.name,
            folder=migration_set.root,
            applied=list(done.get(migration_set.name, {}).values()),
            pending=[
                m
                for m in migration_set.migrations
                if m.version not in done.get(migration_set.name, {})
            ],
            newest=migration_set.newest,
        )
        for migration_set in stack.sets
    ]
    found += [
        SetStatus(name, None, list(rows.values()), [], max(rows, default=0))
        for name, rows in sorted(done.items())
        if name not in stack.names
    ]
    return found


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
    return any(
        isinstance(c, DriverError) and current().refusal_class(c) is DiskFull for c in causes
    )


def _rollback_plan(
    name: str, files: dict[int, Migration], versions: list[int], done: dict[int, history.Applied]
) -> list[Migration]:
    """The migrations to roll back, refused whole (before anything runs) when one lacks its
    files, is marked irreversible, or has a rollback edited since it was applied."""
    plan: list[Migration] = []
    label = "" if name == SHIPPED_SET else f"{name} "
    for version in versions:
        migration = files.get(version)
        reason = migration.up.options.irreversible if migration is not None else None
        if migration is not None and reason is not None:
            why = f" ({reason})" if reason else ""
            raise MigrationStateError(
                f"cannot roll back {label}{migration.name}: {migration.up.path} is marked "
                f"irreversible{why}; nothing was rolled back. Roll back to {version} or later "
                "only, or restore the backup taken before it was applied"
            )
        if migration is None or migration.down is None:
            raise MigrationStateError(
                f"cannot roll back {label}version {version:04d}: its "
                f"{'migration' if migration is None else 'rollback'} file is missing; "
                "nothing was rolled back"
            )
        row = done.get(version)
        edited = checks.rollback_edited(migration, row) if row is not None else None
        if edited is not None:
            raise MigrationStateError(
                f"cannot roll back {label}{migration.name}: {edited}. Nothing was rolled back"
            )
        plan.append(migration)
    return plan


def _preflight(files: Iterable[SqlFile]) -> None:
    """Split and check every file of a run before the database is opened for writing.

    A malformed file (unterminated statement, its own BEGIN/COMMIT) is refused with nothing
    written, not even a history row.
    """
    for sql_file in files:
        statements = split(sql_file.text, sql_file.path)
        check_allowed(statements, sql_file.path, in_transaction=not sql_file.options.no_transaction)


def _foreign_adoption(
    migration_set: MigrationSet, others: list[foreign.Foreign]
) -> Adoption | None:
    """The first other tool's table that puts ``migration_set`` at a version."""
    for found in others:
        version = adoption.foreign_version(migration_set, found)
        if version is not None:
            return Adoption(migration_set, version, found.describe())
    return None
