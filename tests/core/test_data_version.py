"""The data version: bumped only by what a public answer shows (migration 0019), pushed to
every process with LISTEN/NOTIFY (app.core.data_version), read per request while the
listener is not there."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text

from app.core.data_version import VersionWatcher
from app.main import create_app
from tests import db
from tests.factories import Account
from tests.services.test_reporting import etag_of, make_team, start_report

API = "/api/v1"
TASK = f"{API}/tasks/E.12"  # led by every department (G_SBN); no other test reports on it
# Room for a loaded machine over what normally takes milliseconds (a notification) or the
# stated bound (a check every notify_check_seconds, trusted for twice that).
SLACK = 10.0


async def _version(sessionmaker: Any) -> int:
    async with sessionmaker() as session:
        return int((await session.execute(text("SELECT version FROM data_version"))).scalar_one())


async def _hits(client: httpx.AsyncClient) -> float:
    metrics = (await client.get("/metrics")).text
    line = next(
        line
        for line in metrics.splitlines()
        if line.startswith('dxplan_public_cache_requests_total{result="hit"}')
    )
    return float(line.rsplit(" ", 1)[1])


async def _eventually(check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds until ``check`` holds; fails after ``within``."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _trusted(watcher: VersionWatcher) -> None:
    async def listening() -> bool:
        return watcher.listening

    await _eventually(listening, SLACK)


async def _approve_e12(
    client: httpx.AsyncClient, team: dict[str, Account], percent: int, after_draft: Any = None
) -> dict[str, Any]:
    """A report of Sở Y tế with progress on E.12, approved; ``after_draft(url, item)`` runs
    while it is a draft."""
    officer, lead, reviewer = team["officer"], team["lead"], team["reviewer"]
    report = await start_report(client, team)
    url = f"{API}/reports/{report['id']}"
    item = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={"task": "E.12", "status": "in_progress", "percent_complete": percent - 1},
    )
    assert item.status_code == 201, item.text
    if after_draft is not None:
        await after_draft(url, item.json())
    item_url = f"{url}/task-updates/{item.json()['id']}"
    edited = await client.patch(
        item_url,
        json={"percent_complete": percent},
        headers={**officer.headers, "If-Match": await etag_of(client, item_url, officer)},
    )
    assert edited.status_code == 200, edited.text
    submitted = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert submitted.status_code == 200, submitted.text
    approved = await client.post(
        f"{url}/approve",
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    assert approved.status_code == 200, approved.text
    return dict(approved.json())


async def test_comments_and_draft_edits_keep_public_answers_cached_an_approval_refreshes_them(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    team = await make_team(client, sessionmaker)
    officer, reviewer = team["officer"], team["reviewer"]
    seen: dict[str, Any] = {}

    async def while_draft(url: str, item: dict[str, Any]) -> None:
        first = await client.get(TASK)
        assert first.status_code == 200
        version = await _version(sessionmaker)
        hits = await _hits(client)
        comment = await client.post(
            f"{url}/comments", headers=officer.headers, json={"body": "Xin góp ý bản nháp."}
        )
        assert comment.status_code == 201, comment.text
        draft_edit = await client.patch(
            f"{url}/task-updates/{item['id']}",
            json={"public_summary": "Đang hoàn thiện bản nháp."},
            headers={**officer.headers, "If-Match": f'"task_update-{item["id"]}-v1"'},
        )
        assert draft_edit.status_code == 200, draft_edit.text
        assert await _version(sessionmaker) == version  # neither touched a public answer
        again = await client.get(TASK)
        assert await _hits(client) == hits + 1
        assert again.headers["etag"] == first.headers["etag"]
        seen["etag"] = first.headers["etag"]

    approved = await _approve_e12(client, team, 73, while_draft)
    fresh = await client.get(TASK)
    assert fresh.json()["progress"]["percent_complete"] == 73
    assert fresh.json()["progress"]["public_summary"] == "Đang hoàn thiện bản nháp."
    assert fresh.headers["etag"] != seen["etag"]

    # A comment on the approved report moves its version, not the data version.
    version = await _version(sessionmaker)
    hits = await _hits(client)
    url = f"{API}/reports/{approved['id']}"
    comment = await client.post(
        f"{url}/comments", headers=reviewer.headers, json={"body": "Đã phê duyệt, cảm ơn."}
    )
    assert comment.status_code == 201, comment.text
    assert await _version(sessionmaker) == version
    assert (await client.get(TASK)).headers["etag"] == fresh.headers["etag"]
    assert await _hits(client) == hits + 1


async def test_what_bumps_the_version(client: httpx.AsyncClient, sessionmaker: Any) -> None:
    """Row by row in SQL: items bump only on approved reports; reports only for what a public
    answer shows; events all but the quiet ones."""
    team = await make_team(client, sessionmaker)
    draft = await start_report(client, team)
    approved = await _approve_e12(client, team, 40)

    async def bumps(statement: str, **params: Any) -> int:
        before = await _version(sessionmaker)
        async with sessionmaker() as session, session.begin():
            await session.execute(text(statement), params)
        return await _version(sessionmaker) - before

    item = "UPDATE task_updates SET version = version + 1 WHERE report_id = :id"
    assert await bumps(item, id=approved["id"]) == 1
    assert await bumps(item, id=draft["id"]) == 0
    touch = "UPDATE reports SET version = version + 1, updated_at = now() WHERE id = :id"
    assert await bumps(touch, id=approved["id"]) == 0
    assert await bumps(touch, id=draft["id"]) == 0
    assert await bumps("UPDATE reports SET state = 'submitted' WHERE id = :id", id=draft["id"]) == 0
    assert await bumps("UPDATE reports SET state = 'draft' WHERE id = :id", id=draft["id"]) == 0
    event = (
        "INSERT INTO report_events (report_id, action, from_state, to_state)"
        " VALUES (:id, :action, 'draft', 'draft')"
    )
    assert await bumps(event, id=draft["id"], action="comment") == 0
    assert await bumps(event, id=draft["id"], action="submitted") == 1
    # A draft item moved into an approved report, and back.
    moved = "UPDATE indicator_values SET report_id = :to WHERE report_id = :id"
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO task_updates (report_id, task_id, status, percent_complete,"
                " public_summary, internal_difficulties, next_steps, version)"
                " SELECT :id, id, 'in_progress', 5, '', '', '', 1 FROM tasks WHERE code = 'E.3'"
            ),
            {"id": draft["id"]},
        )
    assert await bumps(moved, id=draft["id"], to=draft["id"]) == 0  # nothing moves
    retarget = "UPDATE task_updates SET report_id = :to WHERE report_id = :id AND task_id ="
    retarget += " (SELECT id FROM tasks WHERE code = 'E.3')"
    assert await bumps(retarget, id=draft["id"], to=approved["id"]) == 1
    assert await bumps(retarget, id=approved["id"], to=draft["id"]) == 1
    assert await bumps("UPDATE reports SET state = 'returned' WHERE id = :id", id=approved["id"])


@asynccontextmanager
async def _instance(database_url: str, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Another process's app on the same database (its own engine, cache and listener)."""
    settings = db.settings_for(database_url).model_copy(update=overrides)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            yield other


def _watcher(client: httpx.AsyncClient) -> VersionWatcher:
    watcher: VersionWatcher = client._transport.app.state.data_version  # type: ignore[attr-defined]
    return watcher


async def test_an_approval_through_one_process_reaches_the_others_by_notification(
    client: httpx.AsyncClient, sessionmaker: Any, database_url: str
) -> None:
    """The other process checks only every 60 s: the approval's notification alone makes
    its cached answer go (within milliseconds normally; SLACK allowed)."""
    team = await make_team(client, sessionmaker)
    async with _instance(database_url, notify_check_seconds=60.0) as other:
        watcher = _watcher(other)
        await _trusted(watcher)
        before = await other.get(TASK)
        hits = await _hits(other)
        assert (await other.get(TASK)).headers["etag"] == before.headers["etag"]
        assert await _hits(other) == hits + 1  # a hit, from what the listener heard
        await _approve_e12(client, team, 88)

        async def fresh() -> bool:
            progress = (await other.get(TASK)).json()["progress"] or {}
            return bool(progress.get("percent_complete") == 88)

        await _eventually(fresh, SLACK)
        assert watcher.version == await _version(sessionmaker)


async def test_a_version_moved_without_notification_is_seen_within_the_check_bound(
    client: httpx.AsyncClient, sessionmaker: Any, database_url: str
) -> None:
    """Even a bump whose notification never came (here: none was sent) is reflected within
    twice notify_check_seconds: the listener's check reads the version."""
    async with _instance(database_url, notify_check_seconds=0.2) as other:
        watcher = _watcher(other)
        await _trusted(watcher)
        owner = db.owner_engine(database_url)
        try:
            async with owner.begin() as connection:  # no trigger on data_version: no NOTIFY
                await connection.execute(text("UPDATE data_version SET version = version + 1"))
        finally:
            await owner.dispose()
        moved = await _version(sessionmaker)

        async def seen() -> bool:
            return watcher.version == moved

        await _eventually(seen, 2 * 0.2 + SLACK)


async def _set_note(sessionmaker: Any, note: str | None) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE tasks SET note = :note WHERE code = 'E.12'"), {"note": note}
        )


async def test_a_lost_listener_falls_back_to_reading_the_version_then_recovers(
    client: httpx.AsyncClient, sessionmaker: Any, database_url: str
) -> None:
    """The listener's connection is ended by the server: until it is back (here at least 5 s
    later), the notifications it misses cannot leave a stale answer, since every lookup reads
    the version; then hits are answered from what it hears again."""
    async with _instance(database_url, notify_check_seconds=60.0) as other:
        watcher = _watcher(other)
        watcher.first_retry_seconds = watcher.max_retry_seconds = 5.0
        await _trusted(watcher)
        assert watcher.connection is not None
        pid = watcher.connection.get_server_pid()
        assert (await other.get(TASK)).json()["note"] is None
        owner = db.owner_engine(database_url)
        try:
            async with owner.begin() as connection:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await owner.dispose()

        async def lost() -> bool:
            return not watcher.listening

        await _eventually(lost, SLACK)
        try:
            await _set_note(sessionmaker, "ghi chú khi mất kết nối lắng nghe")  # not heard
            answer = await other.get(TASK)
            assert not watcher.listening  # answered while the listener was away
            assert answer.json()["note"] == "ghi chú khi mất kết nối lắng nghe"

            await _trusted(watcher)  # back, on a new connection
            assert watcher.connection is not None
            assert watcher.connection.get_server_pid() != pid
            await _set_note(sessionmaker, "nghe được lại")

            async def heard() -> bool:
                return bool((await other.get(TASK)).json()["note"] == "nghe được lại")

            await _eventually(heard, SLACK)
            hits = await _hits(other)
            await other.get(TASK)
            assert await _hits(other) == hits + 1
        finally:
            await _set_note(sessionmaker, None)


async def test_a_hit_answered_before_the_middleware_keeps_what_the_stack_adds(
    database_url: str,
) -> None:
    """Hits skip every middleware: they still carry their own X-Request-ID (the caller's when
    well-formed), the stored ETag, Vary and Cache-Control; HEAD has no body; a matching
    If-None-Match is a 304; a request with a body goes through the stack. (A process of its
    own checking every 60 s, trusted before it starts: no version read or late notification
    moves an entry between the requests.)"""
    async with _instance(database_url, notify_check_seconds=60.0) as client:
        await _trusted(_watcher(client))
        url = f"{API}/sections?limit=5"
        built = await client.get(url)
        hits = await _hits(client)
        hit = await client.get(url, headers={"X-Request-ID": "yeu-cau-17"})
        assert await _hits(client) == hits + 1
        assert hit.content == built.content
        assert hit.headers["x-request-id"] == "yeu-cau-17"
        for name in ("etag", "vary", "cache-control", "content-type", "content-length"):
            assert hit.headers[name] == built.headers[name], name
        fresh = [(await client.get(url)).headers["x-request-id"] for _ in range(2)]
        assert fresh[0] != fresh[1] and all(len(r) == 16 for r in fresh)
        assert (await client.get(url, headers={"X-Request-ID": "bad id!"})).headers[
            "x-request-id"
        ] not in ("bad id!", "")
        head = await client.head(url)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == built.headers["content-length"]
        not_modified = await client.get(url, headers={"If-None-Match": built.headers["etag"]})
        assert not_modified.status_code == 304 and not_modified.content == b""
        assert "x-request-id" in not_modified.headers
        assert await _hits(client) == hits + 6
        too_big = await client.request(
            "GET", url, content=b"x" * 2_000_000, headers={"Content-Type": "text/plain"}
        )
        assert too_big.status_code == 413  # the body limit still applies


async def test_lookups_after_a_local_commit_share_one_version_read(database_url: str) -> None:
    """After a commit through this process, lookups read the version (read your own writes);
    those that arrive together share one read, on the listener's connection while it is
    trusted, instead of taking a pooled connection each. (A process checking every 60 s: with
    the fixture's 1 s, a loaded machine may let the listener's trust lapse mid-test.)"""
    from sqlalchemy import event

    url = f"{API}/sections?limit=3"
    async with _instance(database_url, notify_check_seconds=60.0) as client:
        await client.get(url)
        state = client._transport.app.state  # type: ignore[attr-defined]
        engine = state.engine
        reads: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "FROM data_version" in statement:
                reads.append(statement)

        watcher = _watcher(client)
        await _trusted(watcher)
        on_listener: list[int | None] = []
        read_on_listener = watcher._read_on_listener

        async def counted() -> int | None:
            on_listener.append(version := await read_on_listener())
            return version

        watcher._read_on_listener = counted  # type: ignore[method-assign]
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            async with state.sessionmaker() as session, session.begin():  # a local commit
                await session.execute(text("UPDATE users SET full_name = full_name WHERE false"))
            answers = await asyncio.gather(*(client.get(url) for _ in range(20)))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert {a.status_code for a in answers} == {200}
        assert len({a.content for a in answers}) == 1
        # One or two shared reads, on the listener's own connection (trusted for 120 s),
        # none from the pool.
        assert 1 <= len(on_listener) <= 2 and None not in on_listener, on_listener
        assert reads == []
        assert watcher.known() is not None  # the commit is covered by a read
