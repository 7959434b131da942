"""Liveness and readiness for load balancers and orchestrators."""

import asyncio

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.errors import ServiceUnavailableError
from app.core.openapi import problems
from app.schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-live", summary="Liveness")
async def healthz() -> Health:
    """The process is up. Touches nothing else."""
    return Health(status="ok")


@router.get("/readyz", operation_id="health-ready", summary="Readiness", responses=problems(503))
async def readyz(request: Request) -> Health:
    """The database answers within two seconds; 503 problem details otherwise."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailableError("service_unavailable.database") from exc
    return Health(status="ok")
