"""Migration files on disk: discovery, naming, decoding, header options, checksums."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from rawdb.config import SHIPPED_SET
from rawdb.errors import MigrationFileError

# Any width of version (0001, 1, a 14-digit timestamp), ordered numerically; the slug as the
# ecosystem writes it (case, dots, hyphens). The recorded name is the stem as written.
NAME_PATTERN = re.compile(r"^(?P<version>\d+)_(?P<slug>[A-Za-z0-9][A-Za-z0-9_.\-]*)\.sql$")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
"""What ``new`` writes: rawdb's own convention, lowercase words joined by underscores."""
MAX_VERSION = 2**63 - 1  # an SQLite INTEGER
OPTION_PREFIX = "-- rawdb:"
KNOWN_OPTIONS = {
    "foreign_keys": {"off"},
    "transaction": {"off"},
    "adopt": None,
    "requires": None,
    "irreversible": None,
}
ADOPT_TOOLS = ("golang-migrate", "dbmate", "goose", "diesel", "flyway")
"""Tools whose bookkeeping table rawdb reads when it adopts a database (besides Alembic)."""
_ADOPT_TOOL = re.compile(r"^(?P<tool>[a-z-]+)=(?P<version>\d+(?:[._]\d+)*)$")
REQUIRES_PATTERN = re.compile(r"^[a-z][a-z0-9_]*:\d+(?:,[a-z][a-z0-9_]*:\d+)*$")
UTF8_BOM = "\ufeff"
MIB = 1024 * 1024
# A migration is reviewed by reading it; anything larger is data, better loaded another way.
MAX_FILE_BYTES = 16 * MIB
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


@dataclass(frozen=True)
class Options:
    """What a file's ``-- rawdb:`` header lines ask of the migrator."""

    foreign_keys_off: bool = False
    no_transaction: bool = False
    adopt_alembic: str | None = None
    requires: tuple[tuple[str, int], ...] = ()
    """Versions of other sets this migration needs applied first, e.g. (("rawdb", 9),)."""
    adopt_from: tuple[str, str] | None = None
    """(tool, version): a database another tool left at that version is at this migration."""
    irreversible: str | None = None
    """Why this migration cannot be rolled back ("" when no reason is given); None: it can."""


@dataclass(frozen=True)
class SqlFile:
    """One decoded ``.sql`` file: text normalised to LF without BOM, its checksum and options."""

    path: Path
    text: str
    checksum: str
    description: str
    options: Options


@dataclass(frozen=True)
class Migration:
    """A numbered migration: its up file and (when present) its rollback file."""

    version: int
    slug: str
    up: SqlFile
    down: SqlFile | None
    set_name: str = SHIPPED_SET
    version_text: str = ""
    """The version's digits as the file name writes them (``0001``, ``1``, ``20240731203656``)."""

    @property
    def name(self) -> str:
        """The file's stem as written: what the version table records."""
        return f"{self.version_text or f'{self.version:04d}'}_{self.slug}"

    @property
    def qualified(self) -> str:
        """The name with its set, as messages show it: ``app 0001_notes``."""
        return f"{self.set_name} {self.name}"


@dataclass
class MigrationSet:
    """Every migration found in one folder, plus the naming problems found on the way."""

    root: Path
    migrations: list[Migration] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    name: str = SHIPPED_SET

    def by_version(self) -> dict[int, Migration]:
        return {m.version: m for m in self.migrations}

    @property
    def newest(self) -> int:
        return max((m.version for m in self.migrations), default=0)


def shipped_root() -> Path:
    """The migrations shipped with rawdb: inside the installed wheel, else the checkout's sql/."""
    packaged = Path(str(resources.files("rawdb"))) / "sql"
    if (packaged / "migrations").is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "sql"
    if (checkout / "migrations").is_dir():
        return checkout
    raise MigrationFileError(
        "the shipped migrations were not found (looked in the installed package and the "
        "source checkout); reinstall rawdb or pass --dir pointing at a folder with migrations/"
    )


def checksum_of(text: str) -> str:
    """SHA-256 of the normalised text: line endings and a BOM do not change a migration."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode(path: Path, raw: bytes) -> str:
    """UTF-8 text with LF line endings and no BOM; non-UTF-8 bytes are an error naming the spot."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MigrationFileError(
            f"{path}:{line}: not valid UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from exc
    text = text.removeprefix(UTF8_BOM)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_options(path: Path, text: str) -> tuple[str, Options]:
    """The description (first comment line) and the ``-- rawdb:`` options of the header.

    The header is the run of comment and blank lines at the top of the file; an option line
    after the first statement is an error, since the migrator would have ignored it.
    """
    description = ""
    values: dict[str, str] = {}
    in_header = True
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        is_option = stripped.lower().startswith(OPTION_PREFIX)
        if in_header and stripped and not stripped.startswith("--"):
            in_header = False
        if not is_option:
            if in_header and not description and stripped.startswith("--"):
                description = stripped.lstrip("-").strip()
            continue
        if not in_header:
            raise MigrationFileError(
                f"{path}:{number}: '{stripped}' stands after SQL; move '-- rawdb:' options to "
                "the header comment at the top of the file"
            )
        key, value = _parse_option(path, number, stripped[len(OPTION_PREFIX) :].strip())
        values[key] = value
    adopt = values.get("adopt")
    tool, _, adopt_version = (adopt or "").partition("=")
    requires = values.get("requires")
    return description, Options(
        foreign_keys_off=values.get("foreign_keys") == "off",
        no_transaction=values.get("transaction") == "off",
        adopt_alembic=adopt_version if adopt and tool == "alembic" else None,
        adopt_from=(tool, adopt_version) if adopt and tool != "alembic" else None,
        irreversible=values.get("irreversible"),
        requires=tuple(
            (name, int(version))
            for name, version in (item.split(":") for item in requires.split(","))
        )
        if requires
        else (),
    )


def _parse_option(path: Path, number: int, body: str) -> tuple[str, str]:
    if body.startswith("adopt "):
        return "adopt", _parse_adopt(path, number, body)
    key, sep, value = body.partition("=")
    key, value = key.strip().lower(), value.strip()
    if key == "irreversible":
        return key, value  # the reason, as written (may be empty)
    value = value.lower()
    allowed = KNOWN_OPTIONS.get(key)
    if not sep or key not in KNOWN_OPTIONS or (allowed is not None and value not in allowed):
        raise MigrationFileError(
            f"{path}:{number}: unknown option '-- rawdb: {body}'; known options are "
            "'-- rawdb: foreign_keys=off', '-- rawdb: transaction=off', "
            "'-- rawdb: requires=SET:VERSION', '-- rawdb: irreversible=REASON' and "
            "'-- rawdb: adopt alembic=<revision>' (or adopt TOOL=VERSION)"
        )
    value = value.replace(" ", "")
    if key == "requires" and not REQUIRES_PATTERN.match(value):
        raise MigrationFileError(
            f"{path}:{number}: write '-- rawdb: requires=rawdb:0009' (set name, colon, "
            f"version; several separated by commas), not '-- rawdb: {body}'"
        )
    return key, value


def _parse_adopt(path: Path, number: int, body: str) -> str:
    """``alembic=<12-hex revision>``, or ``TOOL=VERSION`` for another tool's bookkeeping."""
    value = body.removeprefix("adopt ").strip()
    if re.fullmatch(r"alembic=[0-9a-f]{12}", value):
        return value
    match = _ADOPT_TOOL.match(value)
    if match is not None and match["tool"] in ADOPT_TOOLS:
        return value
    raise MigrationFileError(
        f"{path}:{number}: write '-- rawdb: adopt alembic=<12-hex revision>' or "
        f"'-- rawdb: adopt TOOL=VERSION' (TOOL one of {', '.join(ADOPT_TOOLS)}), "
        f"not '-- rawdb: {body}'"
    )


def read_sql_file(path: Path) -> SqlFile:
    """Read, decode and parse one file."""
    text = decode(path, read_bounded(path))
    description, options = parse_options(path, text)
    return SqlFile(path, text, checksum_of(text), description, options)


def refusal(path: Path) -> str | None:
    """Why ``path`` cannot be a migration file (None for a regular file within the limit).

    Only ``stat`` is asked, never ``open``: opening a FIFO blocks until a writer appears.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return f"is a dangling symlink (to {os.readlink(path)}, which does not exist)"
        return "does not exist (removed while the folder was read)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        return f"cannot be read ({exc.strerror})"
    return _kind_refusal(path, info)


def _kind_refusal(path: Path, info: os.stat_result) -> str | None:
    for test, kind in _KINDS:
        if test(info.st_mode):
            target = f" (a symlink to {os.path.realpath(path)})" if path.is_symlink() else ""
            return f"is {kind}{target}"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_size > MAX_FILE_BYTES:
        return (
            f"is {info.st_size / MIB:.1f} MiB ({info.st_size:,} bytes), over the "
            f"{MAX_FILE_BYTES // MIB} MiB limit"
        )
    return None


def _refuse(path: Path, reason: str) -> MigrationFileError:
    todo = (
        "split the data load into several migrations, or load it with a program"
        if "limit" in reason
        else "replace it with a regular file or remove it"
    )
    return MigrationFileError(
        f"{path}: {reason}; a migration must be a regular file of at most "
        f"{MAX_FILE_BYTES // MIB} MiB (a symlink to one is fine): {todo}"
    )


def read_bounded(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_FILE_BYTES, refusing anything else."""
    reason = refusal(path)
    if reason is not None:
        raise _refuse(path, reason)
    try:
        # O_NONBLOCK: should a FIFO replace the file after the stat, open returns at once.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror})") from exc
    with os.fdopen(fd, "rb") as handle:
        # The same checks on what was opened, and a bounded read for a file that grows.
        reason = _kind_refusal(path, os.fstat(handle.fileno()))
        raw = handle.read(MAX_FILE_BYTES + 1) if reason is None else b""
    if reason is None and len(raw) > MAX_FILE_BYTES:
        reason = f"grew over the {MAX_FILE_BYTES // MIB} MiB limit while it was read"
    if reason is not None:
        raise _refuse(path, reason)
    return raw


def discover(root: Path, name: str = SHIPPED_SET) -> MigrationSet:
    """Every ``migrations/VERSION_slug.sql`` under ``root`` paired with its ``rollback/`` file,
    as the set ``name``, in version order (numeric: ``2_b`` before ``10_a``).

    An entry named ``*.sql`` in either folder that is not a regular file (a directory, FIFO,
    device, dangling symlink) is an error: skipping it would hide a migration, and reading a
    FIFO or a device would hang or never end.
    """
    up_dir, down_dir = root / "migrations", root / "rollback"
    found = MigrationSet(root=root, name=name)
    if not up_dir.is_dir():
        raise MigrationFileError(
            f"{root}: no migrations/ folder (migration set {name!r}); a set's folder holds "
            "migrations/ and rollback/"
        )
    seen: dict[int, Path] = {}
    for path in _entries(up_dir):
        match = NAME_PATTERN.match(path.name)
        if match is None:
            found.problems.append(
                f"{path}: file name does not match VERSION_slug.sql (digits, an underscore, "
                "then letters, digits, '_', '.' or '-'; e.g. 0001_add_trades.sql)"
            )
            continue
        version = int(match["version"])
        if version == 0:
            found.problems.append(f"{path}: version 0 is reserved for 'nothing applied'")
            continue
        if version > MAX_VERSION:
            found.problems.append(f"{path}: version {version} is too large (at most 19 digits)")
            continue
        if version in seen:
            found.problems.append(f"{path}: duplicate version {version:04d} (also {seen[version]})")
            continue
        seen[version] = path
        down_path = down_dir / path.name
        found.migrations.append(
            Migration(
                version=version,
                slug=match["slug"],
                up=read_sql_file(path),
                down=read_sql_file(down_path) if _lexists(down_path) else None,
                set_name=name,
                version_text=match["version"],
            )
        )
    if down_dir.is_dir():
        for path in _entries(down_dir):
            if path.suffix == ".sql" and not _lexists(up_dir / path.name):
                found.problems.append(f"{path}: rollback without a migration of the same name")
    found.migrations.sort(key=lambda m: m.version)
    return found


def _entries(folder: Path) -> list[Path]:
    """The folder's entries in name order, past hidden ones and folders not named ``*.sql``.

    An entry named ``*.sql`` that is not a regular file is refused here, before anything opens
    it; other names are only naming problems for the caller, and are never opened.
    """
    entries: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or (path.suffix != ".sql" and path.is_dir()):
            continue
        reason = refusal(path)
        if reason is not None and path.suffix == ".sql":
            raise _refuse(path, reason)
        entries.append(path)
    return entries


def _lexists(path: Path) -> bool:
    """True for anything at ``path``, a dangling symlink included (``exists`` says False)."""
    return path.exists() or path.is_symlink()


TIMESTAMP_DIGITS = 14  # YYYYMMDDHHMMSS, as dbmate, goose and golang-migrate write them


def next_version_text(migration_set: MigrationSet, now: datetime) -> str:
    """The version ``new`` gives the next file, in the style the set's files use: the next
    UTC timestamp in a set of 14-digit versions, else the next number as wide as the newest
    file's (four digits in an empty set)."""
    newest = max(migration_set.migrations, key=lambda m: m.version, default=None)
    width = len(newest.version_text) if newest is not None and newest.version_text else 4
    following = (newest.version if newest is not None else 0) + 1
    if width == TIMESTAMP_DIGITS:
        stamp = int(now.astimezone(UTC).strftime("%Y%m%d%H%M%S"))
        return str(max(stamp, following))
    return f"{following:0{width}d}"
