"""Settings with sensible defaults, overridable from the environment (``RAWDB_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rawdb.errors import ConfigError

ENV_PREFIX = "RAWDB_"


class Settings(BaseModel):
    """Everything rawdb can be told; each field is also ``RAWDB_<FIELD>`` in the environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Path = Field(Path("rawdb.sqlite3"), description="SQLite database file")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description="NORMAL: no committed data lost on an app crash; FULL: also on power loss",
    )
    busy_timeout_ms: int = Field(5000, ge=0, description="how long to wait for a lock")
    cache_size_kib: int = Field(65536, ge=1024, description="page cache per connection")
    mmap_size_bytes: int = Field(268_435_456, ge=0, description="memory-mapped I/O window")
    readers: int = Field(4, ge=1, le=64, description="reader connections in the pool")
    log_format: Literal["console", "json"] = Field("console", description="log line format")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info")
    future_tolerance_s: float = Field(
        300.0,
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``RAWDB_*`` variables, then explicit keyword overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"invalid rawdb settings: {problems}") from exc
