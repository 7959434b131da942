"""The pre-ping of a pooled connection is one round trip (app.core.outage.bound_statements);
that it still finds dead and frozen connections is tests/core/test_outage.py's."""

import asyncio
from typing import Any

from sqlalchemy import text

from app.core.db import make_engine
from tests import db


async def test_a_checkout_pings_in_one_round_trip(database_url: str) -> None:
    engine = make_engine(db.settings_for(database_url))
    sent: list[str] = []

    def log(query: Any) -> None:
        sent.append(query.query)

    try:
        async with engine.connect() as connection:  # opened: no ping for a new one
            raw = await connection.get_raw_connection()
            raw.driver_connection.add_query_logger(log)
        async with engine.connect() as connection:  # pooled: pinged, then used
            await connection.execute(text("SELECT 2"))
        await asyncio.sleep(0.1)  # the driver calls query loggers soon, not at once
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection.remove_query_logger(log)
    finally:
        await engine.dispose()
    # Before the request's own transaction: the ping, one query in the simple protocol.
    # SQLAlchemy's own asyncpg ping is three: BEGIN, a prepared ";", ROLLBACK.
    assert sent[: sent.index("BEGIN;")] == ["SELECT 1"], sent
