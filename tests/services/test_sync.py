"""The sync feed: in order, with tombstones, scoped, and never skipping a late commit."""

import asyncio
import time
from typing import Any

import httpx
from sqlalchemy import text

from tests.factories import Account, signed_in
from tests.services.test_reporting import new_period

SYNC = "/api/v1/sync"


async def settled(sessionmaker: Any) -> None:
    """Waits (bounded) until every transaction of the server that began before now has
    ended: the feed serves a change only then, and the server may be shared with other
    databases' sessions, whose open transactions hold the feed back too."""
    async with sessionmaker() as session, session.begin():
        mark = (await session.execute(text("SELECT pg_current_xact_id()::text::bigint"))).scalar()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        async with sessionmaker() as session:
            horizon = (
                await session.execute(
                    text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                )
            ).scalar_one()
        if horizon > mark:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("a transaction of the server stayed open for 60 s")


async def follow(
    client: httpx.AsyncClient, cursor: str, headers: dict[str, str] | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    changes: list[dict[str, Any]] = []
    while True:
        page = (
            await client.get(SYNC, params={"since": cursor, **params}, headers=headers or {})
        ).json()
        changes += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return changes, cursor


async def test_out_of_order_commits_are_never_skipped(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    await settled(sessionmaker)
    start = (await client.get(SYNC)).json()
    assert start["changes"] == [] and start["has_more"] is False
    engine = sessionmaker.kw["bind"]
    early = await engine.connect()
    late = await engine.connect()
    try:
        first = await early.begin()
        await early.execute(text("UPDATE tasks SET note = 'sync: early' WHERE code = 'A.I.1'"))
        second = await late.begin()
        await late.execute(text("UPDATE tasks SET note = 'sync: late' WHERE code = 'A.I.2'"))
        await second.commit()  # the later transaction commits first
        seen, cursor = await follow(client, start["next_cursor"], types="task")
        # A.I.2 is committed but held back while an older transaction is still running.
        assert [c["key"] for c in seen if c["key"] in ("A.I.1", "A.I.2")] == []
        await first.commit()
        await settled(sessionmaker)
        seen, cursor = await follow(client, cursor, types="task")
        keys = [c["key"] for c in seen]
        assert keys.index("A.I.1") < keys.index("A.I.2")
        assert seen[keys.index("A.I.1")]["url"] == "/api/v1/tasks/A.I.1"
        again, _ = await follow(client, cursor, types="task")
        assert again == []
    finally:
        await early.close()
        await late.close()
        async with sessionmaker() as session, session.begin():
            await session.execute(
                text("UPDATE tasks SET note = NULL WHERE code IN ('A.I.1', 'A.I.2')")
            )


async def test_reports_are_private_and_deletions_are_tombstones(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    other = await signed_in(client, sessionmaker, role="officer", agency="SGDDT")
    await settled(sessionmaker)
    cursor = (await client.get(SYNC)).json()["next_cursor"]
    period = await new_period(client, accounts["reviewer"], ["SYT"])
    report = (
        await client.post(
            "/api/v1/reports", headers=officer.headers, json={"period_id": period["id"]}
        )
    ).json()
    item = (
        await client.post(
            f"/api/v1/reports/{report['id']}/task-updates",
            headers=officer.headers,
            json={"task": "E.1", "status": "in_progress", "percent_complete": 10},
        )
    ).json()
    await client.delete(
        f"/api/v1/reports/{report['id']}/task-updates/{item['id']}",
        headers={**officer.headers, "If-Match": f'"task_update-{item["id"]}-v1"'},
    )
    await settled(sessionmaker)
    mine, _ = await follow(client, cursor, officer.headers)
    key = f"{report['id']}/{item['id']}"
    ops = [(c["type"], c["op"]) for c in mine if c["key"] in (str(report["id"]), key)]
    # Each item write also moves the report's version (what it shows changed): a report upsert.
    assert ops == [
        ("report", "upsert"),
        ("task_update", "upsert"),
        ("report", "upsert"),
        ("task_update", "delete"),
        ("report", "upsert"),
    ]
    tombstone = next(c for c in mine if c["op"] == "delete")
    assert tombstone["url"] == f"/api/v1/reports/{report['id']}/task-updates"
    theirs, _ = await follow(client, cursor, other.headers)
    public, _ = await follow(client, cursor)
    for changes in (theirs, public):
        assert not [c for c in changes if c["type"] in ("report", "task_update")]
    assert [c["key"] for c in public if c["type"] == "period"] == []  # ad hoc: not public


async def test_bad_cursor_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(SYNC, params={"since": "nope"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_cursor")
