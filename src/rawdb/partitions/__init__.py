"""Monthly market-data and quarterly alert-log tables: templates, routing, premake, status.

The query functions (``rawdb.queries.ticks`` / ``alerts``) route through this package; an
operator uses ``python -m rawdb.partitions status|maintain|move|archive|restore|purge|merge``.
"""

from rawdb.catalog.periods import FAMILIES, Family, Period
from rawdb.catalog.policy import Policy, configure, using
from rawdb.partitions.maintain import (
    analyze_recent,
    merge_into_default,
    move_default,
    premake,
    run_daily,
)
from rawdb.partitions.status import status

__all__ = [
    "FAMILIES",
    "Family",
    "Period",
    "Policy",
    "analyze_recent",
    "configure",
    "merge_into_default",
    "move_default",
    "premake",
    "run_daily",
    "status",
    "using",
]
