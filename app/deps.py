"""Dependencies that routes name in their signatures."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from app.core.config import Settings
from app.core.db import session_scope
from app.core.errors import NotFoundError
from app.models import Plan


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async for session in session_scope(factory):
        yield session


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_current_plan(session: SessionDep, settings: SettingsDep) -> Plan:
    """The plan the API serves (one is seeded; the schema allows more)."""
    plan = (
        await session.execute(select(Plan).where(col(Plan.code) == settings.plan_code))
    ).scalar()
    if plan is None:
        raise NotFoundError("plan", settings.plan_code)
    return plan


CurrentPlan = Annotated[Plan, Depends(get_current_plan)]
