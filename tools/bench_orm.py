"""The original repository layer's way to insert ticks: SQLAlchemy ORM objects and add_all."""

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, create_engine
from sqlalchemy.orm import Session, declarative_base

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


def orm_insert(path: Path, rows: list[Any], batch: int) -> float:
    """Objects per tick, add_all and commit per batch; rows/s."""
    engine = create_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    with Session(engine) as session:
        for start in range(0, len(rows), batch):
            session.add_all(
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
                for t in rows[start : start + batch]
            )
            session.commit()
    engine.dispose()
    return len(rows) / (time.perf_counter() - started)
