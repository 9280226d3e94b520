"""The data API on PostgreSQL: what :mod:`rawdb.queries.ticks`, ``.instruments`` and
``.alerts`` do, for a pool whose ``dialect`` is ``postgresql``.

The public functions of those modules hand over to the functions here (same names, same
arguments, same results), so an application calls one API on either engine. What differs:

- A batch's instruments are checked and locked once (``market_data`` has no foreign key: see
  sql/postgresql/migrations/0009).
- Ticks go in by binary COPY into ``market_data``; PostgreSQL routes each row to its month's
  partition. A month without one gets it inside the transaction (CREATE TABLE, its CHECK, then
  ATTACH PARTITION: that does not wait behind readers of ``market_data`` as ``CREATE TABLE …
  PARTITION OF`` does) when the partition window allows; a row outside the window is
  refused with the batch (there is no DEFAULT partition).
- Bars are computed from the ticks (``date_bin``); bars kept as ticks are written
  (``Settings.rollups``) are SQLite-only so far, and the writer marks them stale.
"""

from rawdb.queries.postgresql.alerts import (
    active_alert_rules,
    add_alert_rule,
    alert_logs_by_instrument,
    alert_logs_by_rule,
    alert_logs_by_status,
    delete_alert_rule,
    get_alert_rule,
    mark_rule_triggered,
    set_delivery_status,
    write_alert_logs,
)
from rawdb.queries.postgresql.common import SQL
from rawdb.queries.postgresql.instruments import (
    add_instrument,
    get_instrument,
    get_instrument_by_symbol,
    list_instruments,
)
from rawdb.queries.postgresql.ticks import (
    ensure_partitions,
    latest_tick,
    latest_ticks,
    ohlc_bars,
    ohlc_series,
    price_range,
    purge_deleted_ticks,
    restore_tick,
    soft_delete_tick,
    tick_range,
    unknown_instruments,
    write_rows,
)

__all__ = [
    "SQL",
    "active_alert_rules",
    "add_alert_rule",
    "add_instrument",
    "alert_logs_by_instrument",
    "alert_logs_by_rule",
    "alert_logs_by_status",
    "delete_alert_rule",
    "ensure_partitions",
    "get_alert_rule",
    "get_instrument",
    "get_instrument_by_symbol",
    "latest_tick",
    "latest_ticks",
    "list_instruments",
    "mark_rule_triggered",
    "ohlc_bars",
    "ohlc_series",
    "price_range",
    "purge_deleted_ticks",
    "restore_tick",
    "set_delivery_status",
    "soft_delete_tick",
    "tick_range",
    "unknown_instruments",
    "write_alert_logs",
    "write_rows",
]
