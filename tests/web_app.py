"""A trading app on rawdb's web face, as an application writes it; the tests serve it with a
real uvicorn. The glue rawdb asks for is the import of rawdb.web and the two lines that make
the app and include the router; the tests' settings come from the environment, and the routes
below are the app's own (an instrument form, a feed endpoint, a price)."""

import json
import os
from datetime import UTC, datetime

from fastapi import FastAPI, HTTPException

from rawdb.errors import ConstraintViolation
from rawdb.monitor import Thresholds
from rawdb.queries import instruments, ticks
from rawdb.queries.rows import TickRow
from rawdb.web import PoolDep, lifespan, router

LIMITS = Thresholds(**json.loads(os.environ.get("APP_THRESHOLDS", "{}")))
EVERY = float(os.environ["APP_PUSH_EVERY"])

app = FastAPI(lifespan=lifespan(migrate=True, thresholds=LIMITS, push_every=EVERY))
app.include_router(router())


@app.post("/instruments/{symbol}", status_code=201)
async def add(symbol: str, pool: PoolDep) -> dict[str, int]:
    try:
        made = await instruments.add_instrument(pool, {"symbol": symbol, "name": symbol})
    except ConstraintViolation as exc:  # the caller's mistake: 409, not a database fault
        raise HTTPException(409, str(exc)) from exc
    return {"id": made.id}


@app.post("/ticks/{instrument_id}")
async def feed(instrument_id: int, n: int, at: str, pool: PoolDep) -> dict[str, int]:
    moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
    rows = [TickRow(instrument_id, moment, 100.0 + i % 7, 1) for i in range(n)]
    return {"inserted": await ticks.insert_ticks(pool, rows)}


@app.get("/latest/{instrument_id}")
async def latest(instrument_id: int, pool: PoolDep) -> dict[str, float | None]:
    tick = await ticks.latest_tick(pool, instrument_id)
    return {"price": None if tick is None else float(tick.price or 0)}
