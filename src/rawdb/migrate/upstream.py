"""Other tools' migration sets as they lie on disk, read into one shape for ``convert``.

Each reader follows the tool's documented layout:

- golang-migrate: ``{version}_{title}.up.sql`` and ``{version}_{title}.down.sql``;
- dbmate: one ``{version}_{name}.sql`` with ``-- migrate:up`` and ``-- migrate:down`` lines
  (``transaction:false`` on the marker line);
- goose: one ``{version}_{name}.sql`` with ``-- +goose Up`` / ``-- +goose Down``,
  ``-- +goose StatementBegin`` / ``StatementEnd`` and ``-- +goose NO TRANSACTION``; the same
  files in rockhopper's spelling (``-- +up``, ``-- +down``, ``-- +begin``, ``-- +end``,
  ``-- !txn``);
- Diesel: folders ``{version}_{name}/`` holding ``up.sql`` and ``down.sql`` (and
  ``metadata.toml`` with ``run_in_transaction = false``); the version is the folder's prefix
  without its dashes, as Diesel records it;
- Flyway: ``V{version}__{description}.sql`` and the undo ``U{version}__{description}.sql``
  (a ``.sql.conf`` beside it with ``executeInTransaction=false``); versions like ``1.1`` or
  ``1_1``;
- yoyo: ``{id}.sql`` and ``{id}.rollback.sql``, with ``-- depends:`` and
  ``-- transactional: false`` header lines.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rawdb.errors import MigrationFileError, UsageError
from rawdb.migrate.files import decode, read_bounded
from rawdb.migrate.foreign import version_key

TOOLS = ("golang-migrate", "dbmate", "goose", "diesel", "flyway", "yoyo")


@dataclass
class Source:
    """One migration as another tool wrote it."""

    version: str
    """The tool's version as written (``20240731203656``, ``0001``, Flyway's ``1.1``); empty
    for a yoyo migration, whose id is its name."""
    slug: str
    up: str | None
    down: str | None
    files: list[str]
    """The files it came from, relative to the source folder."""
    up_file: str = ""
    """The file holding the up SQL, and the down's: line numbers in notes are theirs."""
    down_file: str = ""
    no_transaction: bool = False
    """The tool runs it outside a transaction."""
    depends: tuple[str, ...] = ()
    ident: str = ""
    """The tool's own name for it (yoyo's id)."""
    changes: list[str] = field(default_factory=list)
    needs_human: list[str] = field(default_factory=list)


@dataclass
class Layout:
    """A whole set of another tool, and the files it holds that cannot be converted."""

    tool: str
    migrations: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read(tool: str, folder: Path) -> Layout:
    """The set ``tool`` keeps in ``folder`` (``tool`` "auto": the layout the files show)."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; give the folder holding the migration files")
    chosen = detect(folder) if tool == "auto" else tool
    readers: dict[str, Callable[[Path], Layout]] = {
        "golang-migrate": _golang_migrate,
        "dbmate": _dbmate,
        "goose": _goose,
        "diesel": _diesel,
        "flyway": _flyway,
        "yoyo": _yoyo,
    }
    if chosen not in readers:
        raise UsageError(f"--from {tool}: not a known tool; use one of {', '.join(TOOLS)} or auto")
    layout = readers[chosen](folder)
    if not layout.migrations and not layout.skipped:
        raise UsageError(f"{folder}: no {chosen} migrations found there")
    return layout


def detect(folder: Path) -> str:
    """The tool whose layout the folder's files follow; UsageError when none or unclear."""
    names = sorted(p.name for p in folder.iterdir())
    texts = [_text(folder / n) for n in names if n.endswith(".sql") and (folder / n).is_file()]
    signs = (
        ("diesel", any((folder / n / "up.sql").is_file() for n in names)),
        ("golang-migrate", any(n.endswith((".up.sql", ".down.sql")) for n in names)),
        ("flyway", any(_FLYWAY.match(n) for n in names)),
        ("yoyo", any(n.endswith(".rollback.sql") for n in names)),
        ("dbmate", any(_DBMATE_MARKER.search(t) for t in texts)),
        ("goose", any(_GOOSE_UP.search(t) for t in texts)),
        ("yoyo", any(_YOYO_HEADER.search(t) for t in texts)),
    )
    for tool, shown in signs:
        if shown:
            return tool
    raise UsageError(
        f"{folder}: could not tell which tool wrote these files; pass --from with one of "
        f"{', '.join(TOOLS)}"
    )


def _text(path: Path) -> str:
    return decode(path, read_bounded(path))


def _sql_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _skip_other(layout: Layout, path: Path, expected: str) -> None:
    if path.suffix in {".sql", ".go", ".py", ".java", ".rs"}:
        layout.skipped.append(f"{path.name}: not a migration file of the form {expected}")


# --- golang-migrate ---------------------------------------------------------------------------

_GOLANG = re.compile(r"^(?P<version>\d+)_(?P<title>.*)\.(?P<direction>up|down)\.sql$")


def _golang_migrate(folder: Path) -> Layout:
    layout = Layout("golang-migrate")
    found: dict[int, Source] = {}
    for path in _sql_files(folder):
        match = _GOLANG.match(path.name)
        if match is None:
            _skip_other(layout, path, "{version}_{title}.up.sql / .down.sql")
            continue
        number = int(match["version"])
        source = found.setdefault(number, Source(match["version"], match["title"], None, None, []))
        source.files.append(path.name)
        if match["direction"] == "up":
            source.up, source.slug, source.version = _text(path), match["title"], match["version"]
            source.up_file = path.name
        else:
            source.down, source.down_file = _text(path), path.name
    for number in sorted(found):
        source = found[number]
        if source.up is None:
            layout.skipped.append(f"{source.files[0]}: a down migration without its up file")
            continue
        layout.migrations.append(source)
    return layout


# --- dbmate -----------------------------------------------------------------------------------

_DBMATE_MARKER = re.compile(r"^--\s*migrate:(up|down)\b(.*)$", re.MULTILINE)
_NUMBERED = re.compile(r"^(?P<version>\d+)_?(?P<name>.*)\.sql$")


def _dbmate(folder: Path) -> Layout:
    layout = Layout("dbmate")
    for path in _sql_files(folder):
        match = _NUMBERED.match(path.name)
        if match is None:
            _skip_other(layout, path, "{version}_{name}.sql")
            continue
        text = _text(path)
        markers = list(_DBMATE_MARKER.finditer(text))
        ups = [m for m in markers if m.group(1) == "up"]
        if not ups:
            layout.skipped.append(f"{path.name}: no '-- migrate:up' line")
            continue
        source = Source(match["version"], match["name"], None, None, [path.name])
        source.up_file = source.down_file = path.name
        source.changes.append("split at its '-- migrate:up' / '-- migrate:down' lines")
        sections = _sections(text, [(m.start(), m.end(), m.group(1)) for m in markers])
        source.up = sections.get("up")
        source.down = sections.get("down")
        options = ups[0].group(2)
        if re.search(r"transaction\s*:\s*false", options, re.IGNORECASE):
            source.no_transaction = True
        downs = [m for m in markers if m.group(1) == "down"]
        if downs and re.search(r"transaction\s*:\s*false", downs[0].group(2), re.IGNORECASE):
            source.changes.append(
                "its down section is marked transaction:false; the rollback runs in one "
                "transaction unless it needs otherwise (see below)"
            )
        layout.migrations.append(source)
    layout.migrations.sort(key=lambda s: int(s.version))
    return layout


def _sections(text: str, markers: list[tuple[int, int, str]]) -> dict[str, str]:
    """The text after each marker up to the next, with every other line blanked, so that line
    numbers stay the file's; comment lines before the first marker go with the up section
    (they describe the file)."""
    lines = text.split("\n")
    kinds = ["lead"] * len(lines)
    for index, (start, _end, kind) in enumerate(markers):
        first = text.count("\n", 0, start)
        stop = text.count("\n", 0, markers[index + 1][0]) if index + 1 < len(markers) else None
        for number in range(first, len(lines) if stop is None else stop):
            kinds[number] = kind
        kinds[first] = "marker"
    found: dict[str, str] = {}
    for kind in {k for _s, _e, k in markers}:
        keep = {kind, "lead"} if kind == "up" else {kind}
        found[kind] = "\n".join(line if kinds[n] in keep else "" for n, line in enumerate(lines))
    return found


# --- goose and rockhopper --------------------------------------------------------------------

_GOOSE_UP = re.compile(r"^--\s*\+(?:goose\s+)?up\s*$", re.MULTILINE | re.IGNORECASE)
_GOOSE_LINE = re.compile(
    r"^--\s*(?:\+goose\s+(?P<goose>\w+(?:\s+\w+)?)|\+(?P<short>up|down|begin|end)|(?P<txn>!txn)"
    r"|@package\s+(?P<package>\S+))\s*$",
    re.IGNORECASE,
)


def _goose(folder: Path) -> Layout:
    layout = Layout("goose")
    for path in _sql_files(folder):
        match = _NUMBERED.match(path.name)
        if path.suffix == ".go":
            layout.skipped.append(
                f"{path.name}: a Go migration; rawdb runs SQL files only: write it as SQL"
            )
            continue
        if match is None:
            _skip_other(layout, path, "{version}_{name}.sql")
            continue
        source = Source(match["version"], match["name"], None, None, [path.name])
        source.up_file = source.down_file = path.name
        _goose_sections(path, _text(path), source)
        if source.up is None:
            layout.skipped.append(f"{path.name}: no '-- +goose Up' (or '-- +up') line")
            continue
        layout.migrations.append(source)
    layout.migrations.sort(key=lambda s: int(s.version))
    return layout


def _goose_sections(path: Path, text: str, source: Source) -> None:
    """Split on the Up/Down annotations and drop the others, noting what each meant."""
    current = "lead"
    lines: dict[str, list[str]] = {"lead": [], "up": [], "down": []}
    seen: set[str] = set()
    rockhopper = False
    for line in text.split("\n"):
        match = _GOOSE_LINE.match(line.strip())
        for kind, kept in lines.items():  # every section keeps every line number
            kept.append(line if match is None and kind == current else "")
        if match is None:
            continue
        rockhopper = rockhopper or match["goose"] is None
        word = (match["goose"] or match["short"] or "").upper()
        if word in {"UP", "DOWN"}:
            current = word.lower()
            seen.add(current)
        elif word == "NO TRANSACTION" or match["txn"]:
            source.no_transaction = True
        elif word.startswith("ENVSUB"):
            source.needs_human.append(
                f"{path.name}: '-- +goose {match['goose']}' substitutes environment variables "
                "into the SQL; rawdb runs the text as written: put the values in the file"
            )
        elif match["package"]:
            source.changes.append(f"rockhopper package {match['package']!r} dropped")
    if "up" in seen:
        source.up = "\n".join(
            lead or up for lead, up in zip(lines["lead"], lines["up"], strict=True)
        )
    if "down" in seen:
        source.down = "\n".join(lines["down"])
    kind = "rockhopper" if rockhopper else "goose"
    source.changes.append(
        f"split at its {kind} Up/Down lines; its statement-block lines dropped (SQLite's own "
        "parser finds where each statement ends)"
    )


# --- Diesel -----------------------------------------------------------------------------------


def _diesel(folder: Path) -> Layout:
    layout = Layout("diesel")
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        prefix, _, name = path.name.partition("_")
        version = prefix.replace("-", "")
        if not (path / "up.sql").is_file():
            continue  # Diesel skips such folders too
        if not version.isdigit():
            layout.skipped.append(f"{path.name}/: the folder name does not start with a version")
            continue
        source = Source(version, name, _text(path / "up.sql"), None, [f"{path.name}/up.sql"])
        source.up_file = f"{path.name}/up.sql"
        if (path / "down.sql").is_file():
            source.down = _text(path / "down.sql")
            source.down_file = f"{path.name}/down.sql"
            source.files.append(source.down_file)
        if version != prefix:
            source.changes.append(f"version {prefix} written {version}, as Diesel records it")
        metadata = path / "metadata.toml"
        if metadata.is_file():
            source.files.append(f"{path.name}/metadata.toml")
            try:
                settings = tomllib.loads(_text(metadata))
            except tomllib.TOMLDecodeError as exc:
                raise MigrationFileError(f"{metadata}: not valid TOML ({exc})") from exc
            if settings.get("run_in_transaction") is False:
                source.no_transaction = True
        if int(version) == 0 and "diesel_initial_setup" in name:
            layout.skipped.append(
                f"{path.name}/: Diesel's own setup migration (helper functions for PostgreSQL); "
                "a SQLite set does not need it"
            )
            continue
        layout.migrations.append(source)
    layout.migrations.sort(key=lambda s: int(s.version))
    return layout


# --- Flyway -----------------------------------------------------------------------------------

_FLYWAY = re.compile(r"^(?P<kind>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<description>.+)\.sql$")
_FLYWAY_OTHER = re.compile(r"^(?P<kind>[RB])(?P<version>[\d._]*)__.+\.sql$")


def _flyway(folder: Path) -> Layout:
    layout = Layout("flyway")
    found: dict[tuple[int, ...], Source] = {}
    undo: dict[tuple[int, ...], tuple[str, str]] = {}
    for path in _sql_files(folder):
        if path.name.endswith(".sql.conf"):
            continue
        match = _FLYWAY.match(path.name)
        if match is None:
            _flyway_other(layout, path)
            continue
        key = version_key(match["version"])
        text = _text(path)
        if match["kind"] == "U":
            undo[key] = (path.name, text)
        elif key in found:
            layout.skipped.append(
                f"{path.name}: version {match['version']} again (also {found[key].files[0]})"
            )
        else:
            found[key] = _flyway_source(path, match, text)
    for key, (name, text) in undo.items():
        if key not in found:
            layout.skipped.append(f"{name}: an undo migration without its versioned one")
            continue
        found[key].down = text
        found[key].down_file = name
        found[key].files.append(name)
    layout.migrations = [found[key] for key in sorted(found)]
    return layout


def _flyway_source(path: Path, match: re.Match[str], text: str) -> Source:
    source = Source(match["version"].replace("_", "."), match["description"], text, None, [])
    source.files.append(path.name)
    source.up_file = path.name
    conf = path.with_name(path.name + ".conf")
    if conf.is_file():
        source.files.append(conf.name)
        if re.search(r"^\s*executeInTransaction\s*=\s*false\s*$", _text(conf), re.M | re.I):
            source.no_transaction = True
    if "${" in text:
        source.needs_human.append(
            f"{path.name}: holds '${{…}}'; Flyway replaces placeholders, rawdb runs the "
            "text as written: put the values in the file"
        )
    return source


def _flyway_other(layout: Layout, path: Path) -> None:
    other = _FLYWAY_OTHER.match(path.name)
    if other is not None and other["kind"] == "R":
        layout.skipped.append(
            f"{path.name}: a repeatable migration (run again whenever it changes); rawdb has "
            "none: make it a versioned migration"
        )
    elif other is not None:
        layout.skipped.append(
            f"{path.name}: a baseline migration (replaces the versions up to it on a new "
            "database); rawdb applies the versioned ones"
        )
    elif path.suffix == ".sql":
        layout.skipped.append(
            f"{path.name}: not V{{version}}__{{description}}.sql (a callback, or another "
            "file); rawdb runs versioned migrations only"
        )


# --- yoyo -------------------------------------------------------------------------------------

_YOYO_HEADER = re.compile(r"^--\s*(depends|transactional)\s*:", re.MULTILINE | re.IGNORECASE)


def _yoyo(folder: Path) -> Layout:
    layout = Layout("yoyo")
    for path in _sql_files(folder):
        if path.suffix == ".py":
            layout.skipped.append(
                f"{path.name}: a Python migration; rawdb runs SQL files only: write it as SQL"
            )
            continue
        if path.suffix != ".sql" or path.name.endswith(".rollback.sql"):
            continue
        ident = path.name.removesuffix(".sql")
        if ident in {"post-apply", "post-apply.rollback"}:
            layout.skipped.append(f"{path.name}: yoyo's post-apply hook; rawdb has none")
            continue
        text = _text(path)
        rollback = path.with_name(f"{ident}.rollback.sql")
        source = Source("", ident, text, None, [path.name], ident=ident, up_file=path.name)
        if rollback.is_file():
            source.down = _text(rollback)
            source.down_file = rollback.name
            source.files.append(rollback.name)
        for line in _header_lines(text):
            key, _, value = line.lstrip("-").strip().partition(":")
            if key.strip().lower() == "depends":
                source.depends += tuple(value.split())
            elif key.strip().lower() == "transactional" and value.strip().lower() == "false":
                source.no_transaction = True
        layout.migrations.append(source)
    return layout


def _header_lines(text: str) -> list[str]:
    """The comment lines at the top of a file."""
    found: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break
        if stripped:
            found.append(stripped)
    return found
