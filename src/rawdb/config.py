"""Settings with sensible defaults, overridable from the environment (``RAWDB_*``).

pydantic-settings reads the environment: ``Settings(database=...)`` takes every field it is not
given from ``RAWDB_<FIELD>``, then from the defaults. Keyword arguments win over the
environment, the environment over the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rawdb.errors import ConfigError

ENV_PREFIX = "RAWDB_"


class Settings(BaseSettings):
    """Everything rawdb can be told; each field is also ``RAWDB_<FIELD>`` in the environment.

    A bad value, given or from the environment, is a :class:`~rawdb.errors.ConfigError`
    naming the field and its variable.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", case_sensitive=False
    )

    database: Path = Field(default=Path("rawdb.sqlite3"), description="SQLite database file")
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

    @field_validator("synchronous", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="wrap")
    @classmethod
    def _rawdb_error(cls, values: Any, handler: Callable[[Any], Settings]) -> Settings:
        # A ConfigError is not a ValueError, so pydantic lets it out as it is.
        try:
            return handler(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))} ({ENV_PREFIX}"
                f"{'.'.join(map(str, e['loc'])).upper()}): {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"invalid rawdb settings: {problems}") from exc

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``RAWDB_*`` variables (of ``environ``, default the process's), then
        the overrides that are not None (a CLI passes its unset options as None)."""
        given = {name: value for name, value in overrides.items() if value is not None}
        if environ is None:
            return cls(**given)
        # Every field given, so the process's environment has no say: this mapping only.
        values: dict[str, Any] = {
            name: environ.get(ENV_PREFIX + name.upper(), field.default)
            for name, field in cls.model_fields.items()
        }
        return cls(**(values | given))
