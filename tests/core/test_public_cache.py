"""The cache of public answers: reused while the data version stands, never stale after a
commit, never for callers with a token."""

from typing import Any

import httpx
from sqlalchemy import text

from tests import db
from tests.factories import Account

URL = "/api/v1/tasks/E.17"  # a task no other test reports on


async def _version(sessionmaker: Any) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(text("SELECT version FROM data_version"))).scalar_one())


async def _set_note(sessionmaker: Any, note: str | None) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE tasks SET note = :note WHERE code = 'E.17'"), {"note": note}
        )


async def _set_note_silently(database_url: str, note: str) -> None:
    """Triggers off (a superuser's right, so as the owner): the data changes, the version
    does not."""
    engine = db.owner_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(
                text("UPDATE tasks SET note = :note WHERE code = 'E.17'"), {"note": note}
            )
    finally:
        await engine.dispose()


async def _set_progress_silently(database_url: str, summary: str | None) -> None:
    """A row of the read model of approved progress, triggers off (None: removed)."""
    engine = db.owner_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(
                text(
                    "DELETE FROM task_progress_latest WHERE task_id ="
                    " (SELECT id FROM tasks WHERE code = 'E.17') AND task_update_id = 0"
                )
            )
            if summary is not None:
                await connection.execute(
                    text(
                        "INSERT INTO task_progress_latest (task_id, year, task_update_id,"
                        " status, percent_complete, public_summary, period_id, cutoff_date,"
                        " approved_at) SELECT t.id, p.year, 0, 'in_progress', 5, :summary,"
                        " p.id, p.cutoff_date, now() FROM tasks t, reporting_periods p"
                        " WHERE t.code = 'E.17' AND t.plan_id = p.plan_id"
                        " ORDER BY p.cutoff_date DESC LIMIT 1"
                    ),
                    {"summary": summary},
                )
    finally:
        await engine.dispose()


async def test_answers_are_reused_until_a_commit_moves_the_version(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account], database_url: str
) -> None:
    try:
        first = await client.get(URL)
        assert first.status_code == 200
        version = await _version(sessionmaker)
        await _set_note_silently(database_url, "ghi chú thử bộ nhớ đệm")
        assert await _version(sessionmaker) == version
        cached = await client.get(URL)
        assert cached.json() == first.json()  # the stored answer: the version did not move
        assert cached.headers["etag"] == first.headers["etag"]
        assert (
            await client.get(URL, headers={"If-None-Match": first.headers["etag"]})
        ).status_code == 304
        # With a token nothing is cached: the staff answer is built from the data. (From its
        # approved progress: the plan's own fields, such as the note, are kept per process
        # against the data version, as the plan and the lineage are, so a change the version
        # does not see reaches them only when it moves; app.services.tasks.plan_tasks.)
        await _set_progress_silently(database_url, "tiến độ thử bộ nhớ đệm")
        staff = await client.get(URL, headers=accounts["officer"].headers)
        assert staff.json()["progress"]["public_summary"] == "tiến độ thử bộ nhớ đệm"
        assert (await client.get(URL)).json() == first.json()  # still the stored answer

        await _set_note(sessionmaker, "đã cập nhật")  # an ordinary commit
        assert await _version(sessionmaker) == version + 1
        fresh = await client.get(URL)
        assert fresh.json()["note"] == "đã cập nhật"
        assert fresh.headers["etag"] != first.headers["etag"]
    finally:
        await _set_progress_silently(database_url, None)
        await _set_note(sessionmaker, None)  # moves the version past both


async def test_one_bump_per_transaction_and_none_for_a_rollback(sessionmaker: Any) -> None:
    version = await _version(sessionmaker)
    async with sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE tasks SET note = 'x' WHERE code = 'E.17'"))
        await session.execute(text("UPDATE agencies SET name = name WHERE code = 'STC'"))
        await session.execute(text("UPDATE tasks SET note = NULL WHERE code = 'E.17'"))
    assert await _version(sessionmaker) == version + 1
    async with sessionmaker() as session:
        transaction = await session.begin()
        await session.execute(text("UPDATE tasks SET note = 'y' WHERE code = 'E.17'"))
        await transaction.rollback()
    async with sessionmaker() as session, session.begin():  # not a public table
        await session.execute(text("UPDATE users SET full_name = full_name"))
    assert await _version(sessionmaker) == version + 1


async def test_compressed_and_plain_answers_are_kept_apart(client: httpx.AsyncClient) -> None:
    for _ in range(2):  # the second round is served from the cache
        zipped = await client.get("/api/v1/tasks?limit=200", headers={"Accept-Encoding": "gzip"})
        plain = await client.get("/api/v1/tasks?limit=200", headers={"Accept-Encoding": "identity"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert zipped.json() == plain.json()
        assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'


async def _hits(client: httpx.AsyncClient) -> float:
    metrics = (await client.get("/metrics")).text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith('dxplan_public_cache_requests_total{result="hit"}')
    )
    return float(line.rsplit(" ", 1)[1])


async def test_hits_are_counted_in_the_metrics(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/meta/enums")
    before = await _hits(client)
    await client.get("/api/v1/meta/enums")
    assert await _hits(client) == before + 1


# Tables no public answer is built from. A new table must be put here or given the
# data-version trigger (a migration), so that the cache never misses a change.
NOT_PUBLIC = {
    "alembic_version",
    "attachments",
    "audit_chain",
    "audit_log",
    "auth_sessions",
    "changes",
    "data_version",
    "idempotency_keys",
    # Read models (migration 0017): written only at the commit of a change to reports or
    # items, which bumps the version itself.
    "indicator_value_latest",
    "indicator_value_yearly",  # migration 0023, the same
    "login_throttles",
    "notifications",
    "refresh_tokens",
    "task_progress_latest",
    "users",
    "webhook_attempts",
    "webhook_deliveries",
    "webhooks",
}


async def test_every_table_is_public_with_the_trigger_or_declared_private(
    sessionmaker: Any,
) -> None:
    async with sessionmaker() as session:
        tables = set(
            (
                await session.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
        bumped = set(
            (
                await session.execute(
                    text(
                        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                        " JOIN pg_proc p ON p.oid = t.tgfoid"
                        " WHERE p.proname = 'bump_data_version'"
                    )
                )
            ).scalars()
        )
    assert bumped == tables - NOT_PUBLIC
    assert "report_events" in bumped


async def test_repeated_negotiation_headers_are_keyed_as_the_answer_is_built(
    client: httpx.AsyncClient,
) -> None:
    """The stack reads the first of repeated Accept-Encoding headers (Starlette's
    Headers.get): the cache's key must too, or a gzip answer is stored for plain clients."""
    url = "/api/v1/tasks?limit=200"
    tricky = await client.get(
        url, headers=[("Accept-Encoding", "gzip"), ("Accept-Encoding", "identity")]
    )
    assert tricky.status_code == 200
    for _ in range(2):  # built, then from the cache
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.json()["items"][0]["code"] == "A.I.1"
