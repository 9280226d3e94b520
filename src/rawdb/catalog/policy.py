"""How far ahead to make tables, how long to keep periods online, where archives go; the clock.

The process-wide policy is what the query functions use (their signatures take no policy);
``configure`` replaces it and ``using`` does so for one block (tests pass a fake clock there).
Each value is also ``RAWDB_PARTITIONS_<NAME>`` in the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from rawdb.catalog.periods import MAX_YEAR, Family, Period
from rawdb.config import EnvSettings

Clock = Callable[[], datetime]
ENV_PREFIX = "RAWDB_PARTITIONS_"


def utc_now() -> datetime:
    return datetime.now(UTC)


MAX_MONTHS_AHEAD = 60
"""At most five years of tables made ahead."""
MAX_MONTHS_KEPT = 1200
"""At most a hundred years online."""


class Policy(EnvSettings):
    """Premake, the on-demand window and retention, per family, counted in periods.

    Like :class:`rawdb.Settings`, each field not given is read from
    ``RAWDB_PARTITIONS_<FIELD>``; a bad value is a ConfigError naming the variable.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", case_sensitive=False
    )

    # Upper bounds: each table made ahead is made under the write lock, and a typo such as
    # 1000 months would hold it for half a minute and leave a thousand empty tables.
    market_months_ahead: int = Field(default=3, ge=1, le=MAX_MONTHS_AHEAD)
    """Months after the current one made in advance (pg_partman's premake, from the clock)."""
    alert_quarters_ahead: int = Field(default=1, ge=1, le=MAX_MONTHS_AHEAD // 3)
    market_months_kept: int = Field(default=12, ge=1, le=MAX_MONTHS_KEPT)
    """Months online, the current one included; older months are archived by retention, and a
    row for an older month with no table goes to the default table rather than making one."""
    alert_quarters_kept: int = Field(default=8, ge=1, le=MAX_MONTHS_KEPT // 3)
    archive_dir: Path | None = Field(default=None)
    """Where archive files go; default: ``<database>.archive/`` beside the database."""

    @field_validator(
        "market_months_ahead",
        "alert_quarters_ahead",
        "market_months_kept",
        "alert_quarters_kept",
        mode="before",
    )
    @classmethod
    def _whole(cls, value: Any) -> Any:
        if isinstance(value, bool | float):
            raise ValueError(f"expected a whole number, got {value!r}")
        return value

    def ahead(self, family: Family) -> int:
        return self.market_months_ahead if family == "market_data" else self.alert_quarters_ahead

    def kept(self, family: Family) -> int:
        return self.market_months_kept if family == "market_data" else self.alert_quarters_kept

    def window(self, family: Family, now: datetime) -> tuple[Period, Period]:
        """The first and last period a table may be made for, on demand or by premake."""
        current = Period.of_time(family, now)
        return _shift(current, 1 - self.kept(family)), _shift(current, self.ahead(family))

    def expired(self, family: Family, now: datetime) -> Period:
        """Periods before this one are past retention."""
        return _shift(Period.of_time(family, now), 1 - self.kept(family))

    def archive_folder(self, database: Path) -> Path:
        return self.archive_dir or database.with_name(database.name + ".archive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Policy:
        """The policy from ``environ`` only (default: the process's environment)."""
        if environ is None:
            return cls()
        names = {ENV_PREFIX + name.upper(): name for name in cls.model_fields}
        given = {
            names[key.upper()]: value for key, value in environ.items() if key.upper() in names
        }
        return cls.model_validate(given)


def _shift(period: Period, periods: int) -> Period:
    """``period.shifted(periods)``, held inside the years a period may have."""
    last = Period.of_month(period.family, MAX_YEAR, 12).number
    return Period.from_number(period.family, min(max(period.number + periods, 0), last))


@dataclass(frozen=True)
class Setup:
    policy: Policy
    clock: Clock


# Read from the environment on first use, not at import: a bad value is then a ConfigError
# where the caller handles errors, not a traceback from an import.
_current: Setup | None = None


def current() -> Setup:
    """The policy and clock in force."""
    global _current  # noqa: PLW0603 -- one policy per process, like logging
    if _current is None:
        _current = Setup(Policy.from_env(), utc_now)
    return _current


def configure(*, policy: Policy | None = None, clock: Clock | None = None) -> Setup:
    """Replace the policy and/or clock for the process; returns the previous setup."""
    global _current  # noqa: PLW0603 -- one policy per process, like logging
    previous = current()
    _current = Setup(
        policy if policy is not None else previous.policy,
        clock if clock is not None else previous.clock,
    )
    return previous


@contextmanager
def using(*, policy: Policy | None = None, clock: Clock | None = None) -> Iterator[Setup]:
    """The given policy and clock inside the block, the previous ones after."""
    previous = configure(policy=policy, clock=clock)
    try:
        yield current()
    finally:
        configure(policy=previous.policy, clock=previous.clock)
