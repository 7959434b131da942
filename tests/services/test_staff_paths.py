"""Cheap staff paths (issue 13, item 4): the statements a staff request sends, through HTTP.

Each test captures the SQL the app's engine runs for one request and checks the part the
change made cheaper, beside the answer itself: a report page counts the items of all its
reports in one query (not one per kind), /me/assignments reads the three kinds of plan
items in one query and asks nothing about predecessors for an agency that has none, and
a comment is one INSERT of its event (never an UPDATE of it after), and the plan a
request names is read again only when the pushed data version moves.
"""

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import event

from app.core.pagination import encode_cursor
from tests.core.test_data_version import _instance
from tests.factories import signed_in
from tests.services.test_reporting import make_team, start_report

API = "/api/v1"
ITEM_TABLES = re.compile(r"\b(task_updates|indicator_values|document_updates)\b")
LINK_TABLES = re.compile(r"\b(task_agencies|indicator_agencies|document_agencies)\b")
PLAN_READ = re.compile(r"\bFROM plans\b")
PLAN = "2358/KH-UBND"


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app's engine sends while the block runs."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(" ".join(statement.split()))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_report_page_counts_the_items_of_every_report_in_one_query(
    client: httpx.AsyncClient, sessionmaker: Any, app: Any
) -> None:
    team = await make_team(client, sessionmaker)
    officer = team["officer"]
    first = await start_report(client, team)
    second = await start_report(client, team)
    task = {"task": "E.1", "status": "in_progress", "percent_complete": 10}
    value = {"target": "CT-2025-06.1", "value": 55, "as_of": "2026-11-15"}
    document = {
        "document": 1,
        "status": "issued",
        "issued_number": "06-NQ/TU",
        "issued_on": "2021-03-26",
    }
    for report, kind, body in (
        (first, "task-updates", task),
        (second, "task-updates", task),
        (second, "indicator-values", value),
        (second, "document-updates", document),
    ):
        created = await client.post(
            f"{API}/reports/{report['id']}/{kind}", headers=officer.headers, json=body
        )
        assert created.status_code == 201, created.text

    # The page that starts at the first report: Sở Y tế gathers hundreds of reports over the
    # whole suite, more than one page (the list is by id).
    start = encode_cursor("reports", (first["id"] - 1, first["id"] - 1))
    with statements(app) as sent:
        page = await client.get(
            f"{API}/reports", params={"limit": 200, "cursor": start}, headers=officer.headers
        )
    assert page.status_code == 200, page.text
    counts = {r["id"]: r["counts"] for r in page.json()["items"]}
    assert counts[first["id"]] == {"task_updates": 1, "indicator_values": 0, "document_updates": 0}
    assert counts[second["id"]] == {
        "task_updates": 1,
        "indicator_values": 1,
        "document_updates": 1,
    }
    assert len([s for s in sent if ITEM_TABLES.search(s)]) == 1
    by_id = {r["id"]: r for r in page.json()["items"]}
    assert by_id[first["id"]]["allowed_actions"] == ["edit", "comment"]
    assert by_id[first["id"]]["period"]["code"] == first["period"]["code"]


async def test_assignments_read_the_plan_items_once_and_no_predecessors_when_none(
    client: httpx.AsyncClient, sessionmaker: Any, app: Any
) -> None:
    # Sở Y tế of Hải Dương receives nothing from any reorganisation: no predecessor query.
    officer = await signed_in(client, sessionmaker, role="officer", agency="SYT")
    with statements(app) as sent:
        answer = await client.get(f"{API}/me/assignments", headers=officer.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tasks"] != []
    assert len([s for s in sent if LINK_TABLES.search(s)]) == 1

    # Hải Phòng's science department carries Sở KH&CN's and Sở TTTT's items: one more.
    successor = await signed_in(client, sessionmaker, role="officer", agency="HP_SKHCN")
    with statements(app) as sent:
        answer = await client.get(f"{API}/me/assignments", headers=successor.headers)
    assert answer.status_code == 200, answer.text
    tasks = {(t["code"], t["role"]): t for t in answer.json()["tasks"]}
    assert tasks[("A.V.3", "lead")]["via_predecessor"] == "STTTT"
    assert len([s for s in sent if LINK_TABLES.search(s)]) == 4


async def test_a_comment_inserts_its_event_once_and_never_updates_it(
    client: httpx.AsyncClient, sessionmaker: Any, app: Any
) -> None:
    team = await make_team(client, sessionmaker)
    report = await start_report(client, team)
    url = f"{API}/reports/{report['id']}/comments"
    with statements(app) as sent:
        created = await client.post(url, headers=team["officer"].headers, json={"body": "Đã rõ."})
    assert created.status_code == 201, created.text
    assert created.json()["to_state"] is None
    assert created.json()["comment"] == "Đã rõ."
    # One statement writes the event (with the report's version and the audit row, as CTEs).
    events = [s for s in sent if re.search(r"\breport_events\b", s)]
    assert len(events) == 1
    assert re.search(r"\bINSERT INTO report_events\b", events[0])
    assert not re.search(r"\bUPDATE report_events\b", events[0])
    listed = await client.get(url, headers=team["officer"].headers)
    assert [(c["comment"], c["to_state"]) for c in listed.json()["items"]] == [("Đã rõ.", None)]


async def test_the_plan_is_read_once_while_the_pushed_data_version_stands(
    sessionmaker: Any, database_url: str
) -> None:
    # A process checking every 60 s: with the fixture's 1 s check (trusted for 2 s) a loaded
    # machine may let the listener's trust lapse between the requests below, which would
    # then read the plan.
    async with _instance(database_url, notify_check_seconds=60.0) as client:
        await _plan_read_once(client, client._transport.app, sessionmaker, database_url)  # type: ignore[attr-defined]


async def _plan_read_once(
    client: httpx.AsyncClient, app: Any, sessionmaker: Any, database_url: str
) -> None:
    versions = app.state.data_version
    await _eventually(lambda: versions.listening)
    reviewer = await signed_in(client, sessionmaker, role="reviewer", agency="STTTT")
    assert (await client.get(f"{API}/reports", headers=reviewer.headers)).status_code == 200
    with statements(app) as sent:
        page = await client.get(f"{API}/reports", headers=reviewer.headers)
    assert page.status_code == 200, page.text
    assert [s for s in sent if PLAN_READ.search(s)] == []
    # A change to the plan (only `dxplan seed` makes one) bumps the version: read again.
    heard = versions.version
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        title = await connection.fetchval("SELECT title FROM plans WHERE code = $1", PLAN)
        await connection.execute("UPDATE plans SET title = $1 WHERE code = $2", "Sửa", PLAN)
        try:
            await _eventually(lambda: versions.listening and versions.version != heard)
            # The first request to read it again is refused, and rolls its session back:
            # the plan it read still serves the next requests.
            with statements(app) as sent:
                refused = await client.post(
                    f"{API}/reports", headers=reviewer.headers, json={"period_id": 1}
                )
            assert refused.status_code == 403, refused.text
            assert len([s for s in sent if PLAN_READ.search(s)]) == 1
            with statements(app) as sent:
                plan = await client.get(f"{API}/plan")
                page = await client.get(f"{API}/reports", headers=reviewer.headers)
            assert plan.status_code == 200, plan.text
            assert plan.json()["title"] == "Sửa"
            assert page.status_code == 200, page.text
            assert [s for s in sent if PLAN_READ.search(s)] == []
        finally:
            await connection.execute("UPDATE plans SET title = $1 WHERE code = $2", title, PLAN)
    finally:
        await connection.close()


async def _eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``check`` holds (a notification: milliseconds; room for a loaded machine)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.02)
