"""Engine and session factory; one transaction per request."""

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from app.core.config import Settings, async_url
from app.core.outage import bound_statements, translate_connect_errors

# Named constraints from the first migration on, so downgrades can drop them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def make_engine(settings: Settings, *, null_pool: bool = False) -> AsyncEngine:
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not set")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if null_pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
        )
    # The service runs as the runtime role (README "Database roles"): a startup parameter, so
    # every pooled connection has it from the start and RESET ROLE returns to it.
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("server_settings", {})["role"] = settings.db_runtime_role
    # Bounded waits, and connection failures as DatabaseUnavailableError (app.core.outage).
    connect_args["timeout"] = settings.db_connect_timeout_seconds
    connect_args["command_timeout"] = settings.db_command_timeout_seconds
    engine = create_async_engine(async_url(settings.database_url), **kwargs)
    translate_connect_errors(engine)
    bound_statements(
        engine,
        ping_seconds=settings.db_ping_timeout_seconds,
        command_seconds=settings.db_command_timeout_seconds,
    )
    return engine


# Session.info key: how many rows a list that grows with history counts exactly (the
# setting exact_total_limit; app/services/common.py count_total). Unset: counts are exact.
EXACT_TOTAL_LIMIT = "exact_total_limit"


def make_sessionmaker(
    engine: AsyncEngine, *, exact_total_limit: int | None = None
) -> async_sessionmaker[AsyncSession]:
    info = {} if exact_total_limit is None else {EXACT_TOTAL_LIMIT: exact_total_limit}
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Yield a session that commits once at the end, or rolls back on any error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
