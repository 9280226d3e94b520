"""The benchmark keeps running: a tiny run of every path produces the figures the docs cite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_tiny_benchmark_run_reports_every_figure(tmp_path: Path, postgresql_server: str) -> None:
    """tools/bench.py with small sizes prints one JSON object with every path and ratio."""
    out = subprocess.run(
        [
            sys.executable,
            "tools/bench.py",
            "--rows",
            "3000",
            "--orm-rows",
            "500",
            "--batch",
            "1000",
            "--big",
            "20000",
            "--probe",
            "2000",
            "--cache",
            str(tmp_path),
            "--decimal-rows",
            "20000",
            "--postgresql-url",
            postgresql_server,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    result = json.loads(out)
    ingest = result["ingest"]
    assert set(ingest["vs_stdlib"]) == {
        "stdlib_executemany",
        "stdlib_executemany_8_columns",
        "stdlib_executemany_default_table",
        "rawdb_bulk_insert",
        "rawdb_bulk_insert_with_rollups",
        "rawdb_streaming_writer",
        "rawdb_bulk_insert_synchronous_full",
        "legacy_schema_stdlib",
        "sqlalchemy_orm_add_all",
        "postgresql_bulk_insert",
        "postgresql_streaming_writer",
    }
    assert all(rate > 0 for rate in ingest["rows_per_s"].values())
    assert set(ingest["postgresql_vs_rawdb_sqlite"]) == {"bulk", "streaming"}
    engines = result["postgresql_reads"]
    assert set(engines) == {"latest_tick", "latest_of_100", "range_1m", "bars_1m"}
    for figures in engines.values():
        assert figures["postgresql"]["p99_ms"] >= figures["postgresql"]["p50_ms"] > 0
        assert figures["sqlite"]["p50_ms"] > 0 and figures["postgresql_vs_sqlite_p50"] > 0
    big = result["big"]
    assert big["ticks"] == 20000
    assert ingest["rollups_vs_none"] > 0
    screen = big["screen_reads"]
    reads = {"latest_tick", "latest_of_100", "range_1h", "bars_1m_day", "bars_1h_month"}
    for where in ("in_process", "other_process"):  # every read, ingesting and idle
        for phase in ("ingesting", "idle"):
            figures = screen[where][phase]
            assert set(figures) == reads, (where, phase)
            assert all(f["samples"] > 0 and f["p99_ms"] >= f["p50_ms"] for f in figures.values())
    assert -1 < big["readers_cost"] < 1  # a share of the writer's rate; noise may make it < 0
    assert big["writer_alone_rows_per_s"] > 0 and big["writer_with_4_readers_rows_per_s"] > 0
    assert big["at_size_vs_empty"] > 0
    window = big["window_1h_all_instruments"]
    assert window["rows"] > 0 and window["skip_scan"]  # same rows before and after statistics
    decimal = result["decimal"]
    assert decimal["python"]["decimal_vs_float"] > 0 and decimal["sql"]["decimal_vs_real"] > 0
    assert 0 < decimal["stored_as_integer"] < 0.2  # whole prices land as INTEGER
    assert decimal["wrong_changes"] > 0 and decimal["wrong_changes_real"] == 0
