"""The web face as an application serves it: the wheel with its ``web`` extra in a fresh
virtualenv outside the checkout, the app of ``tests/web_app.py`` under a real uvicorn on
127.0.0.1, and real clients: httpx, websockets, promtool, a headless Chromium."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, generate_latest
from websockets.sync.client import connect

from browser import Browser
from rawdb.config import Settings
from rawdb.web import open_database, router
from test_monitor_prometheus import parse

from conftest import ROOT, build_wheel

pytestmark = pytest.mark.slow
APP = Path(__file__).with_name("web_app.py")
SCREENSHOT = ROOT / "docs" / "images" / "dashboard.png"
PUSH_EVERY = 0.5
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class Venv:
    def __init__(
        self, root: Path, without_extra: subprocess.CompletedProcess[str], wheel: Path
    ) -> None:
        self.root = root
        self.wheel = wheel
        self.python = root / "bin" / "python"
        self.without_extra = without_extra


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The wheel alone first (what ``import rawdb.web`` says without the extra), then the
    wheel with ``[web]`` and the server an app would run it under."""
    base = tmp_path_factory.mktemp("web")
    wheel = build_wheel(ROOT, base / "dist")
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    probe = "import rawdb.pool, rawdb.monitor\nprint('base ok')\nimport rawdb.web\n"
    without = subprocess.run(
        [str(root / "bin" / "python"), "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        cwd=base,
    )
    subprocess.run(
        [*pip, f"{wheel}[web]", "uvicorn==0.54.0", "websockets==17.4"],
        check=True,
        capture_output=True,
    )
    return Venv(root, without, wheel)


class Server:
    """``uvicorn web_app:app`` in an app folder, on a port the kernel chose."""

    def __init__(self, venv: Venv, folder: Path, *, workers: int = 1, **env: str) -> None:
        folder.mkdir(exist_ok=True)
        shutil.copy(APP, folder / "web_app.py")
        self.folder = folder
        self.database = folder / "app.sqlite3"
        args = [str(venv.python), "-m", "uvicorn", "web_app:app", "--host", "127.0.0.1"]
        args += ["--port", "0", "--workers", str(workers)]
        self.log = folder / "uvicorn.log"
        self.process = subprocess.Popen(
            args,
            cwd=folder,
            env={
                "PATH": f"{venv.root / 'bin'}:/usr/bin:/bin",
                "RAWDB_DATABASE": str(self.database),
                "APP_PUSH_EVERY": str(PUSH_EVERY),
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )
        self.url = f"http://127.0.0.1:{self._port(workers)}"
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def _port(self, workers: int) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text()
            found = RUNNING.search(text)
            started = text.count("Application startup complete.")
            if found and started >= workers:
                return int(found[1])
            if self.process.poll() is not None:
                raise AssertionError(f"uvicorn exited {self.process.returncode}:\n{text}")
            time.sleep(0.05)
        raise AssertionError(f"uvicorn did not start:\n{self.log.read_text()}")

    def stop(self) -> str:
        self.http.close()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)
        return self.log.read_text()


@pytest.fixture
def server(venv: Venv, tmp_path: Path) -> Iterator[Server]:
    running = Server(venv, tmp_path / "app")
    yield running
    log = running.stop()
    assert "Traceback" not in log, log
    assert "Application shutdown complete." in log, log


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _feed(server: Server, ticks: int) -> None:
    made = server.http.post("/instruments/ES")
    assert made.status_code in (201, 409), made.text
    fed = server.http.post("/ticks/1", params={"n": ticks, "at": _now()})
    assert fed.json() == {"inserted": ticks}, fed.text


def test_the_base_install_imports_without_fastapi_and_names_the_extra(venv: Venv) -> None:
    plain = venv.without_extra
    assert plain.stdout == "base ok\n", plain.stderr
    assert plain.returncode == 1
    assert "pip install 'rawdb[web]'" in plain.stderr, plain.stderr


def test_the_health_endpoint_answers_the_seed_shape_with_real_figures(server: Server) -> None:
    """A 409 from a duplicate and the first tick into a new month leave it healthy."""
    assert server.http.post("/instruments/ES").status_code == 201
    duplicate = server.http.post("/instruments/ES")
    assert duplicate.status_code == 409, duplicate.text
    _feed(server, 600)  # the month's table is made by this first tick
    body = server.http.get("/api/health/database").json()
    assert body["status"] == "healthy", body["checks"]
    assert set(body) >= {
        "status",
        "timestamp",
        "connection_pool",
        "performance",
        "partitions",
        "optimization_impact",
    }
    pool = body["connection_pool"]
    assert pool["size"] == 5 and pool["active"] + pool["idle"] == pool["size"]
    assert pool["overflow"] is None and "connection_pool.overflow" in body["not_applicable"]
    performance = body["performance"]
    assert performance["insert_rate"] == pytest.approx(600 / 60, abs=0.1)
    assert performance["avg_query_time"] > 0
    assert performance["slow_queries"] == 0
    month = f"market_data_{datetime.now(UTC):%Y_%m}"
    states = {p["name"]: p["state"] for p in body["partitions"]}
    assert states[month] == "active" and states["market_data_default"] == "default"
    assert body["optimization_impact"] is None and "optimization_impact" in body["not_applicable"]
    deadline = time.monotonic() + 30  # the advisor plans every statement after start-up
    while body["performance"]["index_efficiency"] is None and time.monotonic() < deadline:
        time.sleep(0.2)
        body = server.http.get("/api/health/database").json()
    assert 0.5 <= body["performance"]["index_efficiency"] <= 1.0
    assert "performance.index_efficiency" not in body["not_applicable"]


def test_metrics_are_promtool_clean_and_labelled_with_the_worker(server: Server) -> None:
    _feed(server, 250)
    assert server.http.post("/instruments/ES").status_code == 409
    answer = server.http.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing: apt-get install prometheus"
    checked = subprocess.run(
        [promtool, "check", "metrics"],
        input=answer.text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    samples = parse(answer.text)
    workers = {dict(labels)["worker"] for family in samples.values() for labels in family}
    assert workers == {str(server.process.pid)}
    worker = (("worker", str(server.process.pid)),)
    assert samples["rawdb_rows_inserted_total"][worker] == 250 + 1  # the ticks, the instrument
    refused = samples["rawdb_statement_refused_total"]
    assert refused[(("statement", "insert_instrument"), *worker)] == 1


def _messages(url: str, seconds: float, server: Server | None = None) -> list[Any]:
    """(seconds since connecting, message) for ``seconds``; 30,000 ticks fed once the first
    message is in, when ``server`` is given."""
    got: list[tuple[float, dict[str, Any]]] = []
    with connect(url, open_timeout=10) as socket:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                got.append((time.monotonic() - started, json.loads(socket.recv(timeout=1.5))))
            except TimeoutError:
                break
            if server is not None and len(got) == 1:
                _feed(server, 30_000)
    return got


def test_the_websocket_pushes_a_snapshot_every_beat_and_each_alert(
    venv: Venv, tmp_path: Path
) -> None:
    """A database that grows past its size limit raises an alert: pushed as it is raised,
    kept in the snapshots' recent alerts; the report is degraded, which is still a 200."""
    limits = json.dumps({"database_mb": 1.0})
    server = Server(venv, tmp_path / "app", APP_THRESHOLDS=limits)
    try:
        ws = server.url.replace("http://", "ws://") + "/ws/database"
        got = _messages(ws, 3.0, server)
        assert got[0][1]["health"]["status"] == "healthy", got[0][1]["health"]["checks"]
        assert got and got[0][0] < 1.0 and got[0][1]["type"] == "snapshot"
        snapshots = [(at, m) for at, m in got if m["type"] == "snapshot"]
        assert len(snapshots) >= 4, [m["type"] for _, m in got]
        times = [datetime.fromisoformat(m["health"]["timestamp"]) for _, m in snapshots]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert all(0.2 < gap < 1.5 for gap in gaps), gaps  # one report per beat of 0.5 s
        later = _messages(ws, 1.0)  # a page that connects later sees the alert raised before
        recent = later[0][1]["recent_alerts"]
        assert [a["check"] for a in recent] == ["database_size"], recent
        health = server.http.get("/api/health/database")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        snapshot = snapshots[-1][1]
        assert set(snapshot) >= {"health", "statements", "writer", "file", "recent_alerts"}
        assert "buckets" not in json.dumps(snapshot["statements"])
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
    alerts = [m for _, m in got if m["type"] == "alert"]
    assert [m["alert"]["check"] for m in alerts] == ["database_size"], [m for _, m in got]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_dashboard_in_chromium_shows_the_apis_figures(server: Server, tmp_path: Path) -> None:
    _feed(server, 1200)
    assert server.http.post("/instruments/ES").status_code == 409
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(server.url + "/dashboard")
        browser.wait_for("document.getElementById('link').dataset.value === '\"live\"'")
        browser.wait_for("Number(document.body.dataset.snapshots || 0) >= 2")
        shown = browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-figure]')]"
            ".map(e => [e.dataset.figure, e.dataset.value === undefined ? null"
            " : JSON.parse(e.dataset.value)]))"
        )
        texts = browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-figure]')]"
            ".map(e => [e.dataset.figure, e.textContent]))"
        )
        statements = browser.evaluate(
            "[...document.querySelectorAll('#statements tr')].map(r => r.cells[0].textContent)"
        )
        tables = browser.evaluate(
            "[...document.querySelectorAll('#partitions tr')].map(r => r.cells[0].textContent)"
        )
        shot = browser.screenshot(tmp_path / "dashboard.png")
    finally:
        browser.close()
    api = server.http.get("/api/health/database").json()
    assert shown["status"] == api["status"] == "healthy"
    for figure in ("size", "active", "idle", "waiting"):
        assert shown[f"connection_pool.{figure}"] == api["connection_pool"][figure], figure
    assert shown["performance.slow_queries"] == api["performance"]["slow_queries"]
    assert shown["writer.rows_inserted_total"] == 1201  # the ticks and the instrument
    assert texts["writer.rows_inserted_total"] == "1,201"
    assert tables == [p["name"] for p in api["partitions"]]
    assert shown["partition_states"] == {"default": 2, "active": 1}
    assert {"insert_tick", "insert_instrument"} <= set(statements), statements
    assert shown["file.database_bytes"] > 0 and texts["file.database_bytes"].endswith("B")
    width, height = _png_size(shot)
    assert width > 1000 and height > 800 and shot.stat().st_size > 20_000
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copy(shot, SCREENSHOT)  # the picture docs/monitoring.md shows


def test_two_uvicorn_workers_never_show_a_counter_going_down(venv: Venv, tmp_path: Path) -> None:
    """Each worker labels its samples with its pid, so a scrape that reaches the other
    worker is another series, not a reset. Every request is a new connection, as scrapes
    from several Prometheus servers or behind a proxy are, so both workers answer."""
    server = Server(venv, tmp_path / "app", workers=2)
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    workers: set[str] = set()
    fresh = {"Connection": "close"}
    scrapes = 0
    try:
        assert server.http.post("/instruments/ES").status_code == 201
        while scrapes < 40 or (len(workers) < 2 and scrapes < 400):
            scrapes += 1
            fed = server.http.post("/ticks/1", params={"n": 50, "at": _now()}, headers=fresh)
            assert fed.status_code == 200, fed.text
            scraped = server.http.get("/metrics", headers=fresh).text
            for name, family in parse(scraped).items():
                if not name.endswith(("_total", "_bucket", "_count", "_sum")):
                    continue
                for labels, value in family.items():
                    workers.add(dict(labels)["worker"])
                    before = seen.get((name, labels), 0.0)
                    assert value >= before, f"{name}{dict(labels)} went {before} -> {value}"
                    seen[(name, labels)] = value
    finally:
        log = server.stop()
    assert "Traceback" not in log, log
    assert len(workers) == 2, workers
    inserted = [v for (name, _), v in seen.items() if name == "rawdb_rows_inserted_total"]
    assert 0 < sum(inserted) <= scrapes * 50 + 1 and len(inserted) == 2
    assert os.path.exists(server.database)


async def test_an_apps_own_registry_carries_rawdbs_families_while_open(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    Counter("app_orders", "Orders the app took.", registry=registry).inc()
    app = FastAPI()
    settings = Settings(database=tmp_path / "app.sqlite3")
    async with open_database(app, settings, migrate=True, registry=registry) as db:
        await db.beat.beat()
        text = generate_latest(registry).decode()
        assert "app_orders_total 1.0" in text
        assert f'rawdb_health_status{{worker="{os.getpid()}"}} 0.0' in text
    text = generate_latest(registry).decode()
    assert "app_orders_total 1.0" in text and "rawdb_" not in text  # unregistered on close
    assert not hasattr(app.state, "rawdb")


def test_the_router_leaves_out_what_the_app_serves_itself() -> None:
    """An app with its own /metrics (its registry carries rawdb's collector) or no use for
    the page leaves them out; the other paths can be moved."""
    paths = {getattr(r, "path", "") for r in router(metrics_path=None, dashboard_path=None).routes}
    assert paths == {"/api/health/database", "/ws/database"}
    moved = router(health_path="/ops/db", metrics_path="/ops/metrics", push_path="/ops/push")
    assert {getattr(r, "path", "") for r in moved.routes} == {
        "/ops/db",
        "/ops/metrics",
        "/ops/push",
        "/dashboard",
    }


def test_the_web_face_serves_a_postgresql_database(venv: Venv, tmp_path: Path, pg_url: str) -> None:
    """The same app on ``rawdb[web,postgresql]`` with RAWDB_DATABASE_URL: health, metrics and
    the dashboard answer from the server's figures, promtool-clean, and nothing raises."""
    pip = [str(venv.python), "-m", "pip", "install", "-q", f"{venv.wheel}[web,postgresql]"]
    subprocess.run(pip, check=True, capture_output=True)
    running = Server(venv, tmp_path / "app", RAWDB_DATABASE_URL=pg_url)
    try:
        _feed(running, 300)
        body = running.http.get("/api/health/database").json()
        assert body["status"] == "healthy", body["checks"]
        assert body["connection_pool"]["size"] == 5
        assert body["performance"]["insert_rate"] == pytest.approx(300 / 60, abs=0.1)
        month = f"market_data_{datetime.now(UTC):%Y_%m}"
        assert {p["name"]: p["state"] for p in body["partitions"]}[month] == "active"
        why = body["not_applicable"]["performance.index_efficiency"]
        assert "pg_stat_statements" in why, why
        text = running.http.get("/metrics").text
        promtool = shutil.which("promtool")
        assert promtool is not None, "promtool is missing: apt-get install prometheus"
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        samples = parse(text)
        worker = (("worker", str(running.process.pid)),)
        assert samples["rawdb_rows_inserted_total"][worker] == 300 + 1
        assert samples["rawdb_database_bytes"][worker] > 0
        assert samples["rawdb_server_rawdb_sessions"][worker] >= 2
        assert running.http.get("/dashboard").status_code == 200
    finally:
        log = running.stop()
    assert "Traceback" not in log, log
