"""Settings with sensible defaults, overridable from the environment (``RAWDB_*``).

pydantic-settings reads the environment: ``Settings(database=...)`` takes every field it is not
given from ``RAWDB_<FIELD>``, then from the defaults. Keyword arguments win over the
environment, the environment over the defaults.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rawdb.errors import ConfigError
from rawdb.sql_setup import SqlSetup, check_spec

ENV_PREFIX = "RAWDB_"
_EXPECTED = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number of seconds",
    "finite_number": "finite",
    "bool_type": "true or false",
    "extra_forbidden": "one of the known options",
}


def _problem(error: Mapping[str, Any]) -> str:
    """One pydantic error as rawdb says it: 'must be at least 1, got 0'."""
    ctx = error.get("ctx") or {}
    kind = str(error["type"])
    bounds = {"greater_than": ("greater than", "gt"), "greater_than_equal": ("at least", "ge")}
    bounds |= {"less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        want = f"{words} {ctx[key]:g}"
    elif kind in _EXPECTED:
        want = _EXPECTED[kind]
    else:
        return f"is wrong: {error['msg']}"
    return f"must be {want}, got {error.get('input')!r}"


def config_error(owner: str, exc: ValidationError, env_prefix: str | None = None) -> ConfigError:
    """A ConfigError naming each bad field (and its environment variable, for settings)."""
    problems = []
    for error in exc.errors():
        name = ".".join(map(str, error["loc"]))
        variable = f" ({env_prefix}{str(error['loc'][0]).upper()})" if env_prefix else ""
        problems.append(f"{owner}.{name}{variable} {_problem(error)}")
    return ConfigError("; ".join(problems))


class Checked(BaseModel):
    """A frozen set of options checked when built: numbers are numbers (no bools, no text,
    nothing infinite), and a bad one is a ConfigError naming the class and the field."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _rawdb_error(cls, values: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(values)
        except ValidationError as exc:  # a ConfigError is no ValueError: it passes as it is
            raise config_error(cls.__name__, exc) from exc


class EnvSettings(BaseSettings):
    """Settings read from the environment under ``model_config['env_prefix']``: a bad value,
    given or from a variable, is a ConfigError naming the field and its variable."""

    @model_validator(mode="wrap")
    @classmethod
    def _rawdb_error(cls, values: Any, handler: Callable[[Any], Any]) -> Any:
        # A ConfigError is not a ValueError, so pydantic lets it out as it is.
        try:
            return handler(values)
        except ValidationError as exc:
            prefix = str(cls.model_config.get("env_prefix", ""))
            raise config_error(cls.__name__, exc, prefix) from exc


INF = float("inf")
UNSET_WORDS = frozenset({"", "none", "off"})
"""What an environment variable of an optional setting says to leave it unset."""


class Default(Enum):
    """A keyword left out, told apart from an explicit None (which turns a thing off)."""

    FROM_SETTINGS = "from Settings"


FROM_SETTINGS: Final = Default.FROM_SETTINGS
"""``timeout=`` left out: the read takes ``Settings.read_timeout_s``."""
ReadTimeout: TypeAlias = float | Literal[Default.FROM_SETTINGS] | None
"""A read's ``timeout=``: seconds, None for no deadline, or the settings' default."""


def read_timeout(timeout: ReadTimeout, settings: Settings) -> float | None:
    """The deadline in seconds a read runs under (None: none), checked like a setting."""
    if timeout is FROM_SETTINGS:
        return settings.read_timeout_s
    if timeout is None:
        return None
    # A tuple, not int | float, and no isfinite(): this runs on every read (NaN fails `<`).
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < INF:
        raise ConfigError(
            f"timeout must be a positive number of seconds, or None for no deadline; got "
            f"{timeout!r}"
        )
    return float(timeout)


SHIPPED_SET = "rawdb"
"""The name of the migration set shipped with rawdb, always applied first."""
SET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class MigrationSource(BaseModel):
    """An application's migration set: a name and a folder holding ``migrations/`` and
    ``rollback/`` (the layout of the set rawdb ships)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="lowercase letters, digits and underscores, e.g. 'app'")
    folder: Path

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if value == SHIPPED_SET or not SET_NAME.match(value):
            raise ValueError(
                f"migration set name {value!r}: use lowercase letters, digits and underscores "
                f"(starting with a letter), and not {SHIPPED_SET!r}, the shipped set's name"
            )
        return value

    @classmethod
    def parse(cls, text: str) -> MigrationSource:
        """``NAME=FOLDER``, or a bare ``FOLDER`` named after its last part."""
        name, sep, folder = text.strip().partition("=")
        if not sep:
            folder = name
            name = Path(folder).name.lower()
        if not folder.strip():
            raise ValueError(f"migration set {text!r}: write NAME=FOLDER, e.g. app=db/migrations")
        return cls(name=name.strip(), folder=Path(folder.strip()))


def _migration_sources(value: Any) -> Any:
    """RAWDB_MIGRATIONS is ``NAME=FOLDER`` entries separated by commas (or a JSON list)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = [part for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        return value
    sources = [MigrationSource.parse(v) if isinstance(v, str) else v for v in value]
    names = [s.name if isinstance(s, MigrationSource) else None for s in sources]
    twice = sorted({n for n in names if n is not None and names.count(n) > 1})
    if twice:
        raise ValueError(f"migration set names must differ; given twice: {', '.join(twice)}")
    return tuple(sources)


class Settings(EnvSettings):
    """Everything rawdb can be told; each field is also ``RAWDB_<FIELD>`` in the environment.

    A bad value, given or from the environment, is a :class:`~rawdb.errors.ConfigError`
    naming the field and its variable.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", case_sensitive=False
    )

    database: Path = Field(default=Path("rawdb.sqlite3"), description="SQLite database file")
    database_url: str | None = Field(
        default=None,
        description="a PostgreSQL database (postgresql://USER@HOST/DB); when set it is used "
        "in place of the SQLite file (needs the extra rawdb[postgresql])",
    )
    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="NORMAL: no committed data lost on an app crash; FULL: also on power loss",
    )
    busy_timeout_ms: int = Field(default=5000, ge=0, description="how long to wait for a lock")
    cache_size_kib: int = Field(default=65536, ge=1024, description="page cache per connection")
    mmap_size_bytes: int = Field(default=268_435_456, ge=0, description="memory-mapped I/O window")
    readers: int = Field(default=4, ge=1, le=64, description="reader connections in the pool")
    log_format: Literal["console", "json"] = Field(default="console", description="log line format")
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info")
    future_tolerance_s: float = Field(
        default=300.0,
        ge=0,
        allow_inf_nan=False,
        description="how far past the wall clock a tick's time may be; later ticks are refused",
    )
    """Seconds a tick may lie ahead of this machine's clock (the latest-tick reads ignore
    stored rows later than that too). Feeds stamp ticks with the exchange's or the vendor's
    clock, and a host without NTP drifts by seconds a week: five minutes absorbs such skew and
    batching delays, yet stays well below the hour by which a time-zone or daylight-saving
    mix-up shifts a time, so those are refused, as is a wrong year."""

    rollups: bool = Field(
        default=False,
        description="keep 1m/1h bars and latest prices as ticks are written (costs ingest ~10%)",
    )
    """Whether the writer keeps bars and latest prices (migration 0011, docs/partitions.md):
    bar reads then take milliseconds instead of computing from the ticks, for 7-12% of the
    ingest rate (measured, README). Off, the writer folds nothing and its first batch marks
    the rollups stale, so reads compute from the ticks; turning it on later needs
    `rawdb partitions bars-backfill` once before the rollups serve reads again."""

    bars_1m_keep_days: int = Field(
        default=400,
        ge=1,
        le=36_500,
        description="days of 1-minute bars kept (hourly bars are kept for good)",
    )
    """1-minute bars outlive their ticks (an archived month keeps them) but not for ever: one
    instrument's year is 525,600 rows, its hourly bars 8,760. Older minute bars are deleted by
    the partitions' daily task; 5m and 15m bars before that come from the ticks, if present."""

    read_timeout_s: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="seconds a read may run before SQLite is interrupted (unset: no deadline)",
    )
    """The deadline of a read when the call gives none: SQLite is interrupted and
    :class:`~rawdb.errors.QueryTimeout` raised once it has run this long (``timeout=`` on a call
    wins; ``RAWDB_READ_TIMEOUT_S=none`` unsets it). Unset by default: rawdb serves reads from a
    10 us latest-tick seek to a year of bars over tens of millions of rows, which takes seconds,
    so no single number both catches a runaway read and spares a legitimate report; only the
    application knows its budget (QuantumLeap's is 50 ms). Unset, it costs nothing measurable;
    set, a few microseconds on a latest tick and about 25 us on a read that hops to a
    connection's thread (docs/app.md, "Read deadlines"). A generous one (say 30 s) just bounds
    a runaway read, whose snapshot would keep the WAL from being reset meanwhile."""

    migrations: Annotated[tuple[MigrationSource, ...], NoDecode] = Field(
        default=(),
        description="the application's migration sets, applied after rawdb's in this order "
        "(RAWDB_MIGRATIONS: NAME=FOLDER entries separated by commas)",
    )

    sql_setup: str | SqlSetup | None = Field(
        default=None,
        description="the application's SQL functions, collations and extensions: a function "
        "called on every connection rawdb opens (RAWDB_SQL_SETUP: package.module:function)",
    )

    @field_validator("sql_setup")
    @classmethod
    def _setup_name(cls, value: Any) -> Any:
        return check_spec(value) if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        scheme, sep, _ = value.partition("://")
        if not sep or scheme not in ("postgresql", "postgres"):
            raise ValueError("write a PostgreSQL URL: postgresql://USER@HOST:PORT/DATABASE")
        return value

    @field_validator("migrations", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        return _migration_sources(value)

    @field_validator("read_timeout_s", mode="before")
    @classmethod
    def _unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() in UNSET_WORDS else value

    @field_validator("synchronous", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def dialect(self) -> str:
        """The engine these settings name: "postgresql" with a database_url, else "sqlite"."""
        return "sqlite" if self.database_url is None else "postgresql"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``RAWDB_*`` variables (of ``environ``, default the process's), then
        the overrides that are not None (a CLI passes its unset options as None)."""
        given = {name: value for name, value in overrides.items() if value is not None}
        if environ is None:
            return cls(**given)
        # Every field given, so the process's environment has no say: this mapping only.
        values: dict[str, Any] = {
            name: environ.get(
                ENV_PREFIX + name.upper(), field.get_default(call_default_factory=True)
            )
            for name, field in cls.model_fields.items()
        }
        return cls(**(values | given))
