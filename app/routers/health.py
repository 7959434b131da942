"""Liveness and readiness for load balancers and orchestrators."""

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.errors import DatabaseUnavailableError
from app.core.openapi import problems
from app.core.outage import describe
from app.schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-live", summary="Liveness")
async def healthz() -> Health:
    """The process is up. Touches nothing else."""
    return Health(status="ok")


@router.get("/readyz", operation_id="health-ready", summary="Readiness", responses=problems(503))
async def readyz(request: Request) -> Health:
    """The database answers within the ping and connect timeouts
    (DXPLAN_DB_PING_TIMEOUT_SECONDS + DXPLAN_DB_CONNECT_TIMEOUT_SECONDS: a pooled connection
    that does not answer its ping is dropped and a new one opened); 503 problem details with
    Retry-After otherwise. Uses the service's own pool, so it also says 503 when no pooled
    connection is free in time, and recovers as the service does."""
    engine: AsyncEngine = request.app.state.engine
    settings: Settings = request.app.state.settings
    try:
        # The inner bounds answer first; this one only caps a statement that hangs after a
        # good ping (the command timeout is far longer).
        bound = settings.db_ping_timeout_seconds + settings.db_connect_timeout_seconds
        async with asyncio.timeout(bound):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise DatabaseUnavailableError(describe(exc)) from exc
    return Health(status="ok")
