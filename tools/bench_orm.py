"""The original repository layer's way to insert ticks: SQLAlchemy ORM objects and add_all."""

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, create_engine, event
from sqlalchemy.orm import Session, declarative_base

from rawdb.backend.sqlite import pragmas
from rawdb.config import Settings

Base: Any = declarative_base()


class MarketData(Base):  # type: ignore[misc]
    """The market_data table as the ORM maps it."""

    __tablename__ = "market_data"
    id = Column(Integer, primary_key=True)
    timestamp = Column(DateTime, nullable=False)
    instrument_id = Column(Integer, nullable=False)
    price = Column(Float)
    volume = Column(Integer)
    bid = Column(Float)
    ask = Column(Float)
    bid_size = Column(Integer)
    ask_size = Column(Integer)


class OrmInserter:
    """One session kept open; each batch is objects per tick, add_all and commit.

    The engine's connections get the pragmas rawdb's writer has (synchronous, cache, mmap,
    foreign keys...): the comparison is of the ways to insert, not of the settings.
    """

    def __init__(self, path: Path, rows: list[Any]) -> None:
        self._engine = create_engine(f"sqlite:///{path}")
        tuning = pragmas.tuning(Settings(database=path), "writer")

        @event.listens_for(self._engine, "connect")
        def tune(conn: sqlite3.Connection, _record: Any) -> None:
            pragmas.apply(conn, tuning)

        self._session = Session(self._engine)
        self._rows = rows

    async def insert(self, start: int, end: int) -> None:
        self._session.add_all(
            MarketData(
                timestamp=t.timestamp.replace(tzinfo=None),
                instrument_id=t.instrument_id,
                price=t.price,
                volume=t.volume,
                bid=t.bid,
                ask=t.ask,
                bid_size=t.bid_size,
                ask_size=t.ask_size,
            )
            for t in self._rows[start:end]
        )
        self._session.commit()

    def close(self) -> None:
        self._session.close()
        self._engine.dispose()
