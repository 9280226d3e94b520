"""Prometheus text exposition: checked by a small strict parser of the 0.0.4 format, by
promtool, and through an application's own prometheus_client registry."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from rawdb.errors import UniqueViolation
from rawdb.monitor import Monitor, Thresholds
from rawdb.monitor.prometheus import CONTENT_TYPE, ReportCollector, render
from rawdb.pool import Pool
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\\\|\\"|\\n)*"'
LABELS = (
    rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*\}}"
)
SAMPLE = re.compile(rf"^(?P<name>{NAME})(?P<labels>{LABELS})? (?P<value>\S+)$")
HELP = re.compile(rf"^# HELP (?P<name>{NAME}) (?P<text>.*)$")
TYPE = re.compile(rf"^# TYPE (?P<name>{NAME}) (?P<kind>counter|gauge|summary|histogram|untyped)$")
LABEL_PAIR = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)=({LABEL_VALUE})")


def unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m[1], m[1]), quoted[1:-1])


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Families by name, samples by sorted labels; raises AssertionError on any format error."""
    assert text.endswith("\n"), "exposition must end with a newline"
    families: dict[str, str] = {}
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    current: str | None = None
    for number, line in enumerate(text[:-1].split("\n"), start=1):
        if line.startswith("# HELP"):
            match = HELP.match(line)
            assert match, f"line {number}: bad HELP: {line!r}"
            current = match["name"]
        elif line.startswith("# TYPE"):
            match = TYPE.match(line)
            assert match, f"line {number}: bad TYPE: {line!r}"
            assert match["name"] == current, f"line {number}: TYPE without its HELP"
            assert match["name"] not in families, f"line {number}: family declared twice"
            families[match["name"]] = match["kind"]
        else:
            match = SAMPLE.match(line)
            assert match, f"line {number}: bad sample: {line!r}"
            name = match["name"]
            base = re.sub(r"_(sum|count|bucket)$", "", name)
            family = name if name in families else base
            assert family == current, f"line {number}: {name} outside its family {current}"
            if name != family:
                assert families[family] in ("summary", "histogram"), f"line {number}: {name}"
            value = match["value"]
            assert value in ("NaN", "+Inf", "-Inf") or not math.isnan(float(value))
            labels = tuple(
                sorted((k, unescape(v)) for k, v in LABEL_PAIR.findall(match["labels"] or ""))
            )
            if families[family] == "summary" and name == family:
                assert "quantile" in dict(labels), f"line {number}: summary sample lacks quantile"
            if families[family] == "histogram":
                assert name != family, f"line {number}: a histogram has only _bucket/_sum/_count"
                assert (name.endswith("_bucket")) == ("le" in dict(labels)), f"line {number}"
            if families[family] != "summary":
                assert "quantile" not in dict(labels), f"line {number}: quantile outside a summary"
            bucket = samples.setdefault(name, {})
            assert labels not in bucket, f"line {number}: duplicate sample {name}{labels}"
            bucket[labels] = float(value)
    return samples


def test_the_parser_rejects_malformed_text() -> None:
    """The strict parser catches a missing TYPE, a bad label and a bad value."""
    for bad in (
        "x 1\n",
        '# HELP x h\n# TYPE x gauge\nx{a="1} 1\n',
        "# HELP x h\n# TYPE x gauge\nx one\n",
        "# HELP x h\n# TYPE x gauge\nx 1",
    ):
        with pytest.raises((AssertionError, ValueError)):
            parse(bad)


async def test_exposition_parses_and_carries_the_figures(pool: Pool) -> None:
    """Every line parses; statement histograms, pool, writer and file figures are present."""
    monitor = Monitor(pool)
    for ms in (1, 2, 3, 40):
        monitor.metrics.observe("latest_tick", ms / 1000, 1, None)
    monitor.metrics.observe('odd "name"\\ with\nnewline', 0.001, 0, RuntimeError())
    await monitor.measure_sizes()
    report = await monitor.report()
    samples = parse(render(report))
    latest = (("statement", "latest_tick"),)
    assert samples["rawdb_statement_duration_seconds_count"][latest] == 4
    assert samples["rawdb_statement_duration_seconds_sum"][latest] == pytest.approx(0.046)
    buckets = samples["rawdb_statement_duration_seconds_bucket"]
    le = {dict(k)["le"]: v for k, v in buckets.items() if dict(k)["statement"] == "latest_tick"}
    assert le["0.001"] == 1 and le["0.0025"] == 2 and le["0.005"] == 3 and le["0.05"] == 4
    assert le["+Inf"] == 4 and list(le.values()) == sorted(le.values())  # cumulative
    odd = (("statement", 'odd "name"\\ with\nnewline'),)
    assert samples["rawdb_statement_errors_total"][odd] == 1
    connections = samples["rawdb_pool_connections"]
    assert set(connections) == {(("state", "in_use"),), (("state", "idle"),)}
    assert sum(connections.values()) == pool.stats().size  # the parts add up to the whole
    assert samples["rawdb_pool_circuit_state"][(("state", "closed"),)] == 1
    assert samples["rawdb_health_status"][()] == 0
    assert samples["rawdb_database_bytes"][()] > 0
    assert samples["rawdb_rows_inserted_total"][()] == 0
    (build,) = samples["rawdb_build_info"]
    assert dict(build)["sqlite_version"] and samples["rawdb_build_info"][build] == 1
    assert any(dict(k)["name"] == "market_data_default" for k in samples["rawdb_table_bytes"])
    assert "version=0.0.4" in CONTENT_TYPE
    # Counters carry no made-up creation time (no rawdb_..._created series).
    assert not [name for name in samples if name.endswith("_created")]


async def test_promtool_accepts_every_output(pool: Pool) -> None:
    """Prometheus' own checker (promtool, from Debian's prometheus package; .ci/run installs
    it) passes the exposition in every state: fresh, with statements, failures, refusals,
    ingest, table sizes and alerts. It once failed on a quantile label outside a summary."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: apt-get install prometheus"
    monitor = Monitor(pool, thresholds=Thresholds(database_mb=0.0001))
    outputs = [render(await monitor.report())]
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    with pytest.raises(UniqueViolation):
        await instruments.add_instrument(pool, {"symbol": "ES", "name": "again"})
    when = datetime.now(UTC).replace(microsecond=0)
    await ticks.insert_ticks(pool, [TickRow(es.id, when, 100.0, 1)])
    monitor.metrics.observe("broken", 0.2, None, RuntimeError("disk"))
    await monitor.measure_sizes()
    outputs.append(render(await monitor.report()))
    for text in outputs:
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


async def test_partition_states_rows_and_the_schema_version_are_exposed(pool: Pool) -> None:
    """Dashboards see each family's tables by state, their rows, and the schema version."""
    es = await instruments.add_instrument(pool, {"symbol": "ES", "name": "S&P"})
    when = datetime.now(UTC).replace(microsecond=0)
    await ticks.insert_ticks(pool, [TickRow(es.id, when, 100.0, 1) for _ in range(3)])
    async with pool.write() as conn:
        await conn.execute("ANALYZE", name="test_analyze")
    samples = parse(render(await Monitor(pool).report()))
    states = samples["rawdb_partitions"]
    assert states[(("family", "market_data"), ("state", "active"))] >= 1
    assert states[(("family", "market_data"), ("state", "default"))] == 1
    month = f"market_data_{when:%Y_%m}"
    assert samples["rawdb_partition_rows"][(("family", "market_data"), ("table", month))] == 3
    assert samples["rawdb_schema_version"][(("set", "rawdb"),)] >= 10


async def test_each_worker_keeps_its_own_series(pool: Pool) -> None:
    """Two worker processes behind one port: with worker labels, a scrape of one and then the
    other never shows a counter going down (without them it would)."""
    first, second = Monitor(pool, attach=False), Monitor(pool, attach=False)
    for _ in range(5):
        first.metrics.observe("latest_tick", 0.001, 1, None)
    second.metrics.observe("latest_tick", 0.001, 1, None)
    name, key = "rawdb_statement_duration_seconds_count", "latest_tick"
    seen: dict[tuple[tuple[str, str], ...], float] = {}
    for monitor, worker in ((first, "101"), (second, "202"), (first, "101")):
        for labels, value in parse(render(await monitor.report(), worker=worker))[name].items():
            if dict(labels)["statement"] == key:
                assert value >= seen.get(labels, 0.0), "a counter went down"
                seen[labels] = value
    assert {dict(k)["worker"] for k in seen} == {"101", "202"}
    plain = (("statement", key),)
    one = parse(render(await first.report()))[name][plain]
    other = parse(render(await second.report()))[name][plain]
    assert other < one  # unlabelled, the second worker's count reads as a reset


async def test_an_applications_own_registry_carries_rawdbs_families(pool: Pool) -> None:
    """An application registers the collector in its own registry beside its own metrics:
    one scrape shows both, nothing of rawdb's before the first update, and each update()
    shows the newer report's figures."""
    registry = CollectorRegistry()
    requests = Counter("app_requests", "Requests the application served.", registry=registry)
    collector = ReportCollector(worker="101")
    registry.register(collector)
    requests.inc(3)

    def scrape() -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        return parse(generate_latest(registry).decode())

    before = scrape()
    assert before["app_requests_total"][()] == 3
    assert not [name for name in before if name.startswith("rawdb_")]

    monitor = Monitor(pool, attach=False)
    monitor.metrics.observe("latest_tick", 0.002, 1, None)
    collector.update(await monitor.report())
    name = "rawdb_statement_duration_seconds_count"
    key = (("statement", "latest_tick"), ("worker", "101"))
    first = scrape()
    assert first["app_requests_total"][()] == 3
    assert first[name][key] == 1
    assert first["rawdb_health_status"][(("worker", "101"),)] == 0
    assert first["rawdb_pool_connections"], "the pool's families are there"

    for _ in range(4):
        monitor.metrics.observe("latest_tick", 0.002, 1, None)
    assert scrape()[name][key] == 1  # a scrape reads the report it was last given
    collector.update(await monitor.report())
    second = scrape()
    assert second[name][key] == 5
    assert second["rawdb_statement_rows_total"][key] == 5
    assert second["app_requests_total"][()] == 3
