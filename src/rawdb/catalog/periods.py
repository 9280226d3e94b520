"""Periods and the names built from them: a month of ticks, a quarter of alert logs.

Every table name, bound and id floor that reaches SQL is computed here from integers that are
checked first (year 1970-9999, month 1-12, quarter 1-4); no name is ever taken from a string
given from outside. ``Period.parse`` turns operator input such as ``2026-03`` or ``2026-q1``
into those integers and refuses anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from rawdb.errors import UsageError

Family = Literal["market_data", "alert_logs"]
FAMILIES: tuple[Family, ...] = ("market_data", "alert_logs")
MONTHS_PER_PERIOD: dict[Family, int] = {"market_data": 1, "alert_logs": 3}
ID_SHIFT = 36
"""A period table's ids start at ``(period number + 1) << 36``: 68 billion ids per period, and
the largest (December 9999) stays below 2**53, exact in JSON."""
MIN_YEAR, MAX_YEAR = 1970, 9999
_NAME = re.compile(r"^(market_data|alert_logs)_(\d{4})_(\d{2}|q[1-4])$")
_MONTH_TEXT = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_TEXT = re.compile(r"^(\d{4})-[qQ]([1-4])$")


def check_family(family: str) -> Family:
    """The family, or :class:`UsageError` naming the known ones."""
    for known in FAMILIES:
        if family == known:
            return known
    raise UsageError(f"unknown table family {family!r}; use one of {', '.join(FAMILIES)}")


def default_table(family: Family) -> str:
    """The table holding a family's rows that no period table takes."""
    return f"{check_family(family)}_default"


@dataclass(frozen=True, order=True)
class Period:
    """One month (market_data) or quarter (alert_logs); ``number`` counts from 1970."""

    family: Family
    year: int
    part: int  # the month (1-12) or the quarter (1-4)

    def __post_init__(self) -> None:
        check_family(self.family)
        parts = 12 // MONTHS_PER_PERIOD[self.family]
        if not isinstance(self.year, int) or not MIN_YEAR <= self.year <= MAX_YEAR:
            raise UsageError(f"year {self.year!r} is outside {MIN_YEAR}-{MAX_YEAR}")
        if not isinstance(self.part, int) or not 1 <= self.part <= parts:
            kind = "month" if parts == 12 else "quarter"
            raise UsageError(f"{kind} {self.part!r} is outside 1-{parts}")

    # --- building -----------------------------------------------------------------------------

    @classmethod
    def of_month(cls, family: Family, year: int, month: int) -> Period:
        """The period of ``family`` holding the given month."""
        span = MONTHS_PER_PERIOD[check_family(family)]
        return cls(family, year, (month - 1) // span + 1)

    @classmethod
    def of_text(cls, family: Family, timestamp: str) -> Period:
        """The period of a stored timestamp (``YYYY-MM-…``); only its first 7 characters count."""
        try:
            year, month = int(timestamp[0:4]), int(timestamp[5:7])
        except (ValueError, TypeError) as exc:
            raise UsageError(f"timestamp {timestamp!r} does not start with YYYY-MM") from exc
        return cls.of_month(family, year, month)

    @classmethod
    def of_time(cls, family: Family, moment: datetime) -> Period:
        """The period holding an aware datetime (taken in UTC)."""
        if moment.tzinfo is None:
            raise UsageError(f"{moment!r} is naive; pass a timezone-aware datetime")
        utc = moment.astimezone(UTC)
        return cls.of_month(family, utc.year, utc.month)

    @classmethod
    def from_number(cls, family: Family, number: int) -> Period:
        """The period with this ordinal (0 = the first period of 1970)."""
        parts = 12 // MONTHS_PER_PERIOD[check_family(family)]
        return cls(family, MIN_YEAR + number // parts, number % parts + 1)

    @classmethod
    def parse(cls, family: Family, text: str) -> Period:
        """Operator input: ``2026-03`` for a month, ``2026-q1`` for a quarter."""
        family = check_family(family)
        pattern = _MONTH_TEXT if MONTHS_PER_PERIOD[family] == 1 else _QUARTER_TEXT
        match = pattern.match(text.strip())
        if match is None:
            example = "2026-03" if pattern is _MONTH_TEXT else "2026-q1"
            raise UsageError(f"period {text!r} of {family}: write it like {example}")
        return cls(family, int(match[1]), int(match[2]))

    @classmethod
    def from_name(cls, name: str) -> Period:
        """The period of a table name (``market_data_2026_03``); refuses any other name."""
        match = _NAME.match(name)
        if match is None:
            raise UsageError(f"{name!r} is not a period table name")
        family = check_family(match[1])
        part = match[3]
        period = cls(family, int(match[2]), int(part[1:] if part.startswith("q") else part))
        if period.table != name:
            raise UsageError(f"{name!r} is not a period table name of {family}")
        return period

    @classmethod
    def of_id(cls, family: Family, row_id: int) -> Period | None:
        """The period whose ids include ``row_id``; None for ids below every period's floor."""
        number = (row_id >> ID_SHIFT) - 1
        return None if number < 0 else cls.from_number(family, number)

    # --- what it names ------------------------------------------------------------------------

    @property
    def number(self) -> int:
        """Ordinal since the first period of 1970."""
        return (self.year - MIN_YEAR) * (12 // MONTHS_PER_PERIOD[self.family]) + self.part - 1

    @property
    def first_month(self) -> int:
        return (self.part - 1) * MONTHS_PER_PERIOD[self.family] + 1

    @property
    def table(self) -> str:
        """The table name: ``market_data_2026_03`` or ``alert_logs_2026_q1``."""
        if self.family == "market_data":
            return f"market_data_{self.year:04d}_{self.part:02d}"
        return f"alert_logs_{self.year:04d}_q{self.part:d}"

    @property
    def label(self) -> str:
        """How operators write it: ``2026-03`` or ``2026-q1``."""
        if self.family == "market_data":
            return f"{self.year:04d}-{self.part:02d}"
        return f"{self.year:04d}-q{self.part:d}"

    @property
    def id_floor(self) -> int:
        """New rows of this period get ids above this."""
        return (self.number + 1) << ID_SHIFT

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.first_month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The exclusive upper bound (``datetime.max`` for the last period of 9999)."""
        return _end_of(self)

    @property
    def start_text(self) -> str:
        """The inclusive lower bound as stored text: ``2026-03-01 00:00:00``."""
        return f"{self.year:04d}-{self.first_month:02d}-01 00:00:00"

    @property
    def end_text(self) -> str:
        """The exclusive upper bound as stored text (``10000-01-01 00:00:00`` after 9999)."""
        year, month = self.year, self.first_month + MONTHS_PER_PERIOD[self.family]
        if month > 12:
            year, month = year + 1, month - 12
        return f"{year:04d}-{month:02d}-01 00:00:00"

    def shifted(self, periods: int) -> Period:
        """The period ``periods`` later (earlier when negative)."""
        return Period.from_number(self.family, self.number + periods)

    def next(self) -> Period:
        return self.shifted(1)

    def __str__(self) -> str:
        return self.table


def _end_of(period: Period) -> datetime:
    year, month = period.year, period.first_month + MONTHS_PER_PERIOD[period.family]
    if month > 12:
        year, month = year + 1, month - 12
    if year > MAX_YEAR:
        return datetime.max.replace(tzinfo=UTC)
    return datetime(year, month, 1, tzinfo=UTC)
