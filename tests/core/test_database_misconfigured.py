"""A login that may not switch to the runtime role is a configuration error, not an outage.

The one-URL set-up logs in as some role and switches to the runtime role (`dxplan_app`) on
every connection; when that login is not a member of it (the migration could not grant it
and only warned), every connection is refused with 42501. Before, every request then
answered 503 database_unavailable, as if the database were down: no retry ever mends it.
Now the service refuses to start, with a message that names the problem and the fix.
"""

import asyncio
from collections.abc import Iterator
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.cli import main
from app.core.config import get_settings
from app.core.db import make_engine
from app.core.outage import DatabaseConfigurationError, is_database_unavailable
from app.main import create_app
from tests import db


async def _owner(database_url: str, statement: str) -> None:
    engine = db.owner_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def outsider(database_url: str) -> Iterator[tuple[str, str]]:
    """A login role that is not a member of the runtime role, and a URL that logs in as it."""
    role = f"dxplan_outsider_{uuid4().hex[:8]}"
    asyncio.run(_owner(database_url, f'CREATE ROLE "{role}" LOGIN'))
    try:
        yield role, make_url(database_url).set(username=role).render_as_string(False)
    finally:
        asyncio.run(_owner(database_url, f'DROP ROLE "{role}"'))


def _assert_names_problem_and_fix(message: str, role: str) -> None:
    assert f'login "{role}" may not switch to the runtime role "dxplan_app"' in message
    assert "permission denied to set role" in message
    assert f'GRANT "dxplan_app" TO "{role}"' in message
    assert "DXPLAN_MIGRATION_DATABASE_URL" in message


def test_the_service_refuses_to_start(outsider: tuple[str, str]) -> None:
    role, url = outsider
    application = create_app(db.settings_for(url))

    async def start() -> None:
        async with application.router.lifespan_context(application):
            pytest.fail("the service started")

    with pytest.raises(DatabaseConfigurationError) as refused:
        asyncio.run(start())
    _assert_names_problem_and_fix(str(refused.value), role)
    assert not is_database_unavailable(refused.value)


async def test_a_request_meeting_it_is_no_outage(outsider: tuple[str, str]) -> None:
    """A grant revoked while the service runs: the connection is refused the same way, and
    classified as a configuration error (a 500 with its message in the log), never as an
    outage (503)."""
    role, url = outsider
    engine = make_engine(db.settings_for(url))
    try:
        with pytest.raises(DatabaseConfigurationError) as refused:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    _assert_names_problem_and_fix(str(refused.value), role)
    assert not is_database_unavailable(refused.value)


def test_dxplan_serve_exits_with_the_message(
    database_url: str, outsider: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migrations as the owner succeed; loading the plan, as the runtime role, is where the
    login is refused: the command exits non-zero with the message, before serving."""
    role, url = outsider
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DXPLAN_MIGRATION_DATABASE_URL", database_url)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("dxplan serve served"))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            main(["serve"])
    finally:
        get_settings.cache_clear()
    assert isinstance(exited.value.code, str)  # printed to stderr, exit status 1
    assert exited.value.code.startswith("dxplan: the database login")
    _assert_names_problem_and_fix(exited.value.code, role)
