"""``rawdb migrate convert``: another tool's migration set written as a rawdb set.

The source folder is read as the tool leaves it (:mod:`rawdb.migrate.upstream`), each file's SQL
is rewritten into the form the migrator runs (:mod:`rawdb.migrate.rewrite`), and the set is
written to ``DEST/migrations`` and ``DEST/rollback``. Nothing in the source folder changes.

Versions keep the tool's numbers as written (``000001``, ``20240731203656``; a Diesel folder's
``2024-07-31-203656`` as ``20240731203656``, the number Diesel records), so a database the tool
migrated is adopted by matching numbers. Two sets are renumbered ``0001``, ``0002``… in the
tool's own order, because their versions are not whole numbers:

- Flyway with dotted versions (``V1_1__x``, ``V1.2.3__y``): ordered part by part as numbers
  (``1 < 1.1 < 1.2 < 1.10 < 2``; ``1.0`` equals ``1``). Each file's header then says which
  Flyway version it is (``-- rawdb: adopt flyway=1.1``), for adoption;
- yoyo, whose ids are names: ordered by ``-- depends:``, then by id (as yoyo does). Ids that
  start with unique, increasing numbers (``0001.create-users``) keep them.

The report says per file what changed and what needs a human; finally every converted file is
run in a scratch in-memory database (up in order, then down in reverse), and what SQLite
refuses is reported with file:line.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from rawdb import sql_setup
from rawdb.backend import DriverError, SyncConnection, current
from rawdb.backend.sqlite.driver import SQLITE_VERSION
from rawdb.errors import MigrationFileError, UsageError
from rawdb.migrate import upstream
from rawdb.migrate.checks import file_refusal
from rawdb.migrate.files import MAX_VERSION, read_sql_file
from rawdb.migrate.rewrite import Rewritten, rewrite
from rawdb.migrate.splitter import split
from rawdb.migrate.sql import SQL
from rawdb.migrate.upstream import Layout, Source
from rawdb.sql_setup import SqlSetup

_SLUG_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")
_LEADING_NUMBER = re.compile(r"^(?P<version>\d+)[._\-](?P<rest>[A-Za-z0-9].*)$")


@dataclass
class Converted:
    """One migration written: from which files, to which, what changed, what needs a human."""

    name: str
    version: int
    source: list[str]
    migration: Path
    rollback: Path | None
    changes: list[str] = field(default_factory=list)
    needs_human: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "migration": str(self.migration),
            "rollback": None if self.rollback is None else str(self.rollback),
            "changes": self.changes,
            "needs_human": self.needs_human,
        }


@dataclass
class Report:
    """What ``convert`` did."""

    tool: str
    source: Path
    dest: Path
    migrations: list[Converted] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Files not converted, each with why: they need a human."""

    @property
    def needs_human(self) -> int:
        return len(self.skipped) + sum(len(m.needs_human) for m in self.migrations)

    def as_json(self) -> dict[str, object]:
        return {
            "tool": self.tool,
            "source": str(self.source),
            "dest": str(self.dest),
            "migrations": [m.as_json() for m in self.migrations],
            "skipped": self.skipped,
            "needs_human": self.needs_human,
        }


def convert(
    source: Path, dest: Path, tool: str = "auto", setup: SqlSetup | str | None = None
) -> Report:
    """Write the set ``tool`` keeps in ``source`` as a rawdb set in ``dest``; the trial run
    has the application's SQL ``setup`` (:mod:`rawdb.sql_setup`)."""
    try:
        return _convert(source, dest, tool, setup)
    except OSError as exc:  # unreadable source, unwritable destination
        where = exc.filename if exc.filename is not None else dest
        raise MigrationFileError(
            f"{where}: {exc.strerror or exc}; the conversion stopped there"
        ) from exc


def _convert(source: Path, dest: Path, tool: str, setup: SqlSetup | str | None) -> Report:
    _refuse_existing(dest)
    layout = upstream.read(tool, source)
    report = Report(layout.tool, source, dest, skipped=list(layout.skipped))
    numbered = _numbered(layout, report)
    (dest / "migrations").mkdir(parents=True, exist_ok=True)
    (dest / "rollback").mkdir(parents=True, exist_ok=True)
    for entry in numbered:
        report.migrations.append(_write(entry, tool=layout.tool, dest=dest))
    _trial_run(report, setup)
    return report


def _refuse_existing(dest: Path) -> None:
    for sub in ("migrations", "rollback"):
        folder = dest / sub
        if folder.is_dir() and any(folder.glob("*.sql")):
            raise UsageError(
                f"{folder} already holds migrations; convert into a new or empty folder "
                "(nothing was written)"
            )


Numbered = tuple[str, str, Source, str | None]
"""(version text, slug, the migration, the Flyway version its header names or None)."""


def _numbered(layout: Layout, report: Report) -> list[Numbered]:
    """Every migration with the version and slug it gets in rawdb."""
    if layout.tool == "yoyo":
        return _yoyo_numbers(_yoyo_order(layout.migrations, report))
    dotted = layout.tool == "flyway" and any("." in s.version for s in layout.migrations)
    found: list[Numbered] = []
    seen: dict[int, str] = {}
    for index, item in enumerate(layout.migrations, start=1):
        slug = _slug(item.slug, item)
        if dotted:
            text = f"{index:04d}"
            item.changes.append(
                f"Flyway version {item.version} is rawdb version {text} (the set has dotted "
                "versions; rawdb's are whole numbers, in Flyway's order)"
            )
            found.append((text, slug, item, item.version))
            continue
        number = int(item.version)
        if number == 0 or number > MAX_VERSION:
            report.skipped.append(
                f"{item.files[0]}: version {item.version} cannot be a rawdb version (from 1 "
                "to 19 digits); renumber it"
            )
            continue
        if number in seen:
            report.skipped.append(f"{item.files[0]}: version {number} again (also {seen[number]})")
            continue
        seen[number] = item.files[0]
        found.append((item.version, slug, item, None))
    return found


def _yoyo_order(items: list[Source], report: Report) -> list[Source]:
    """yoyo's order: by id, each after what it depends on."""
    known = {item.ident for item in items}
    placed: list[Source] = []
    waiting = sorted(items, key=lambda i: i.ident)
    while waiting:
        done = {p.ident for p in placed}
        ready = next(
            (i for i in waiting if all(d in done or d not in known for d in i.depends)), None
        )
        if ready is None:  # a cycle: keep the id order and say so
            report.skipped.append(
                "yoyo dependencies form a cycle among "
                + ", ".join(i.ident for i in waiting)
                + "; they were converted in id order: check it"
            )
            placed += waiting
            break
        waiting.remove(ready)
        placed.append(ready)
    return placed


def _yoyo_numbers(items: list[Source]) -> list[Numbered]:
    matches = [_LEADING_NUMBER.match(i.ident) for i in items]
    numbers = [int(m["version"]) if m else 0 for m in matches]
    increasing = all(a < b for a, b in itertools.pairwise(numbers))
    keep = bool(numbers) and all(matches) and numbers[0] > 0 and increasing
    position = {item.ident: index for index, item in enumerate(items, start=1)}
    found: list[Numbered] = []
    for index, (item, match) in enumerate(zip(items, matches, strict=True), start=1):
        if keep and match is not None:
            version, slug = match["version"], _slug(match["rest"], item)
        else:
            version, slug = f"{index:04d}", _slug(item.ident, item)
            item.changes.append(f"yoyo migration {item.ident} is rawdb version {version}")
        for depends in item.depends:
            if position.get(depends, index) < index:
                item.changes.append(
                    f"depends on {depends} (applied before it, as version "
                    f"{found[position[depends] - 1][0]})"
                )
            elif depends in position:
                item.needs_human.append(
                    f"depends on {depends}, which comes after it (a cycle): check the order"
                )
            else:
                item.needs_human.append(
                    f"depends on {depends}, which is not in the folder: check the order"
                )
        found.append((version, slug, item, None))
    return found


def _slug(name: str, item: Source) -> str:
    """The name as a rawdb slug: kept as written, but for characters a file name of rawdb's
    cannot hold (spaces…), which become ``_``."""
    slug = _SLUG_CHARS.sub("_", name).strip("_.-") or "migration"
    if slug != name:
        item.changes.append(f"name {name!r} written {slug!r}")
    return slug


def _write(entry: Numbered, *, tool: str, dest: Path) -> Converted:
    version_text, slug, item, adopt = entry
    name = f"{version_text}_{slug}"
    migration_path = dest / "migrations" / f"{name}.sql"
    converted = Converted(name, int(version_text), item.files, migration_path, None)
    converted.changes += item.changes
    converted.needs_human += item.needs_human
    origin = ", ".join(item.files)
    assert item.up is not None
    up = rewrite(item.up, item.up_file, no_transaction=item.no_transaction)
    options = [f"adopt flyway={adopt}"] if adopt else []
    _emit(
        migration_path,
        up,
        converted,
        description=slug.replace("_", " "),
        origin=f"{tool}: {origin}",
        options=options,
    )
    if item.down is not None and item.down.strip() and split_has_sql(item.down):
        down = rewrite(item.down, item.down_file, no_transaction=item.no_transaction)
        converted.rollback = dest / "rollback" / f"{name}.sql"
        _emit(
            converted.rollback,
            down,
            converted,
            description=f"undo {name}",
            origin=f"{tool}: {origin}",
            options=[],
        )
    else:
        what = "no down migration" if item.down is None else "an empty down migration"
        converted.needs_human.append(
            f"{name}: {what}; write rollback/{name}.sql, or add the header "
            "'-- rawdb: irreversible=REASON' to the migration if it cannot be undone"
        )
    return converted


def split_has_sql(text: str) -> bool:
    """Whether ``text`` holds a statement (not only comments); unsplittable text counts."""
    try:
        return bool(split(text))
    except MigrationFileError:  # the rewrite reports why it cannot be split
        return True


def _emit(
    path: Path,
    done: Rewritten,
    converted: Converted,
    *,
    description: str,
    origin: str,
    options: list[str],
) -> None:
    """Write one file: the header (description, origin, options), then the SQL."""
    header = [f"-- {description}", f"-- Converted from {origin}."]
    if done.foreign_keys_off:
        header.append("-- rawdb: foreign_keys=off")
    if done.no_transaction:
        header.append("-- rawdb: transaction=off")
    header += [f"-- rawdb: {option}" for option in options]
    body = done.text.strip("\n")
    path.write_text("\n".join(header) + "\n\n" + body + "\n", encoding="utf-8")
    converted.changes += done.changes
    converted.needs_human += done.needs_human
    try:
        refusal = file_refusal(read_sql_file(path))
    except MigrationFileError as exc:  # e.g. an upstream comment reading '-- rawdb: …'
        refusal = str(exc)
    if refusal is not None and not done.needs_human:
        converted.needs_human.append(refusal)


def _trial_run(report: Report, setup: SqlSetup | str | None) -> None:
    """Run the converted set in a scratch database: up in order, then down in reverse."""
    scratch = current().scratch(setup)
    try:
        scratch.execute(SQL["foreign_keys_on"].sql)
        ran: list[Converted] = []
        for item in report.migrations:
            if not _try(scratch, item.migration, item):
                return
            ran.append(item)
        for item in reversed(ran):
            if item.rollback is not None and not _try(scratch, item.rollback, item):
                return
    finally:
        scratch.close()


def _try(conn: SyncConnection, path: Path, item: Converted) -> bool:
    try:
        sql_file = read_sql_file(path)
        statements = split(sql_file.text, path)
    except MigrationFileError:  # already reported by _emit
        return False
    if file_refusal(sql_file) is not None:  # never run what the migrator refuses (ATTACH…)
        return True  # already reported; the trial goes on without it
    off = sql_file.options.foreign_keys_off
    if off:
        conn.execute(SQL["foreign_keys_off"].sql)
    try:
        for stmt in statements:
            try:
                conn.execute(stmt.sql).fetchall()
            except DriverError as exc:
                item.needs_human.append(
                    f"{path.parent.name}/{path.name}:{stmt.line}: SQLite "
                    f"{SQLITE_VERSION} refuses it in "
                    f"a trial run on an empty database ({exc}){sql_setup.missing_hint(exc)}; "
                    "later files were not tried"
                )
                return False
    finally:
        if off:
            conn.execute(SQL["foreign_keys_on"].sql)
    return True
