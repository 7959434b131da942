"""`GET /tasks` and `GET /tasks/{code}` are rendered from parts (app/services/tasks.py: the
plan's fields once per data version, the progress per request); they must be the very bytes
the schemas render for the answers built from the database (``read_tasks`` with
``Resolver.attach``, as the routes returned them before), whatever the text holds."""

import re
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from app.core.config import get_settings
from app.deps import get_today
from app.main import create_app
from app.models import Plan
from app.schemas.tasks import TaskPage, TaskSummary
from app.services.lineage import Resolver, load_lineage
from app.services.tasks import read_tasks
from tests import db
from tests.factories import Account, signed_in
from tests.services.test_read_models import Desk, progress_row
from tests.services.test_staff_paths import statements

API = "/api/v1"
# Quotes, backslash, control characters, a line separator and markup: escaped alike or not.
TRICKY = 'Đã “xong” "một nửa" \\ tab\tline\nend\x01\x1f\x7f \u2028 </script> ☃ 𝄞'


async def test_task_answers_are_the_schemas_rendering(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    staff = {
        "officer": await signed_in(client, sessionmaker, role="officer", agency="STTTT"),
        "lead": await signed_in(client, sessionmaker, role="agency_lead", agency="STTTT"),
        "reviewer": await signed_in(client, sessionmaker, role="reviewer", agency="STTTT"),
    }
    desk = Desk(client, staff)
    # A year no other test reports in: a task's history keeps the latest entry of each year,
    # and the session's database is shared (a later 2025 approval of A.V.3 hid this one).
    period = await desk.period(["STTTT"], "2022-12-01", "2022-11-15")
    tricky = {**progress_row("A.V.3", 60), "public_summary": TRICKY}
    url, _, _ = await desk.report(period, [tricky, progress_row("A.I.1", 100, "completed")], [])
    await desk.move(url, "approve")
    reader = accounts["reviewer"]  # a bearer: past the cache of public answers
    app: Any = client._transport.app  # type: ignore[attr-defined]
    seen_tricky = False
    try:
        for today in (date(2025, 6, 1), date(2026, 11, 30)):
            app.dependency_overrides[get_today] = lambda today=today: today
            for as_of in (None, "2021-06-01", "2025-08-01"):
                params = {"as_of": as_of} if as_of else {}
                listing = await client.get(
                    f"{API}/tasks", params={**params, "limit": 200}, headers=reader.headers
                )
                assert listing.status_code == 200, listing.text
                # What pydantic renders for the values the list holds: the same bytes.
                page = TaskPage.model_validate_json(listing.content)
                assert page.__pydantic_serializer__.to_json(page) == listing.content
                items = listing.json()["items"]
                codes = [item["code"] for item in items]
                async with sessionmaker() as session:
                    plan = (
                        await session.execute(
                            select(Plan).where(col(Plan.code) == get_settings().plan_code)
                        )
                    ).scalar_one()
                    expected = await read_tasks(session, plan, codes, today)
                    resolver = Resolver(
                        await load_lineage(session), date.fromisoformat(as_of) if as_of else today
                    )
                assert [t.code for t in expected] == codes
                for item, task in zip(items, expected, strict=True):
                    resolver.attach(task)
                    body = task.__pydantic_serializer__.to_json(task)
                    detail = await client.get(
                        f"{API}/tasks/{task.code}", params=params, headers=reader.headers
                    )
                    assert detail.content == body, task.code
                    summary = {name: detail.json()[name] for name in TaskSummary.model_fields}
                    assert item == summary, task.code
                    history = detail.json()["progress_history"]
                    seen_tricky |= any(p["public_summary"] == TRICKY for p in history)
    finally:
        app.dependency_overrides.pop(get_today, None)
    assert seen_tricky


async def test_built_answers_read_the_version_once_and_the_plan_data_not_again(
    database_url: str,
) -> None:
    """With the cache of public answers off (no listener), a request reads the data version
    once, and the plan, its tasks and targets not again while it stands."""
    settings = db.settings_for(database_url).model_copy(update={"public_cache_entries": 0})
    app: Any = create_app(settings)
    plan_data = re.compile(r"\bFROM (plans|tasks|task_groups|indicator_targets)\b")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for path in ("/tasks?limit=100", "/tasks/A.I.1", "/dashboard"):
                assert (await client.get(API + path)).status_code == 200
                with statements(app) as sent:
                    assert (await client.get(API + path)).status_code == 200
                assert sum("FROM data_version" in s for s in sent) == 1, (path, sent)
                assert not [s for s in sent if plan_data.search(s)], path
