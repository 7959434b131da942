"""Test databases: a fresh PostgreSQL database per test session, built by the migrations.

The URL's user (a superuser) owns the database and runs the migrations; the app, through
``make_engine``, switches to the runtime role (``dxplan_app``), so every test that goes
through the app proves the runtime role's grants suffice. ``owner_engine`` keeps the owner.

The server is TEST_DATABASE_URL (or DATABASE_URL) when given, else the embedded one in
.data/test. Each session creates its own database on that server and drops it at the end.
"""

import asyncio
import os
import secrets
import shutil
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.core.config import REPO_ROOT, Settings, async_url


def server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from app.core.embedded import start_embedded

    return start_embedded(Path(REPO_ROOT / ".data" / "test"), "postgres")


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_database(base_url: str, prefix: str = "dxplan_test") -> str:
    """Create an empty database next to base_url's and return its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_admin(base_url, f'CREATE DATABASE "{name}"'))
    return make_url(async_url(base_url)).set(database=name).render_as_string(hide_password=False)


def owner_engine(url: str) -> AsyncEngine:
    """An engine logged in as the URL's user, without switching to the runtime role: the
    owner's rights, for what only migrations, seeding or a tamper test may do."""
    return create_async_engine(async_url(url), poolclass=NullPool)


def drop_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    shutil.rmtree(storage_dir_for(url), ignore_errors=True)


TEST_JWT_SECRET = "test-signing-key-that-is-long-enough-0123456789"


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url,
        app_env="test",
        log_json=False,
        log_level="WARNING",
        jwt_secret=TEST_JWT_SECRET,
        storage_dir=storage_dir_for(url),
        webhook_worker=False,  # tests run deliveries themselves
        # Bursts of parallel requests on a loaded CI machine wait for pooled connections
        # longer than the 3 s default allows; tests/core/test_outage.py sets its own timeouts.
        db_pool_timeout_seconds=30.0,
        # Test receivers listen on loopback, which webhooks may not reach by default
        # (tests/services/test_webhook_destinations.py checks the default with this list empty).
        webhook_allowed_networks=["127.0.0.0/8", "::1/128"],
        # The fixtures' accounts sit in the plan's 2021 agencies, most of which ended in 2025;
        # tests/services/test_ended_agencies.py and test_reorganisation_walk.py turn it on.
        refuse_ended_agencies=False,
    )  # type: ignore[arg-type]


def storage_dir_for(url: str) -> Path:
    """Evidence files of a test database, in a folder of its own (removed with it)."""
    return REPO_ROOT / ".data" / "test-files" / str(make_url(url).database)
