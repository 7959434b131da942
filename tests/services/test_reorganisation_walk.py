"""The "Done when" of issue 11, walked through HTTP as deployed (ended agencies refused):
an officer of today's Sở KH&CN signs in, sees the former Sở TTTT tasks in /me/assignments,
reports on one for the 2026 annual period, a reviewer of the successor reviewing department
approves it, and the public task shows the plan's original lead, today's responsible agency
with the event path, and the approved progress; `as_of=2024-06-01` answers Sở TTTT; the 2025
events are served with their legal basis.

The walk approves a report of the 2026 annual period, which other tests' scorecards and
compliance figures would see: it runs on a database of its own."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.cli import run_seed
from app.core.config import REPO_ROOT
from app.core.migrate import upgrade
from app.main import create_app
from tests import db
from tests.factories import Account, create_user, sign_in

API = "/api/v1"
PASSWORD = "Chuyen-doi-so-Hai-Phong-2026"
TASK = "A.I.1"  # led by Sở TTTT in the plan


def lineage_in_the_data(start: str) -> tuple[str, list[str]]:
    """Where ``start`` leads through the shipped events, and their codes, read from the
    data file itself (not through the app)."""
    data = json.loads((REPO_ROOT / "app/data/reorganisations_2358.json").read_text("utf-8"))
    current, path = start, []
    for event in sorted(data["events"], key=lambda e: e["date"]):
        if current in event["predecessors"] and current not in event["successors"]:
            assert len(event["successors"]) == 1, event["code"]
            current = event["successors"][0]
            path.append(event["code"])
    return current, path


@pytest.fixture(scope="module")
def walk_database(server_url: str) -> Iterator[str]:
    url = db.create_database(server_url, prefix="dxplan_walk")
    settings = db.settings_for(url)
    upgrade(settings)
    asyncio.run(run_seed(settings, None))
    yield url
    db.drop_database(server_url, url)


@pytest.fixture(scope="module")
async def deployed_app(walk_database: str) -> AsyncIterator[Any]:
    """The app with the rule on, as deployed, on the module's own database."""
    settings = db.settings_for(walk_database).model_copy(update={"refuse_ended_agencies": True})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def deployed(deployed_app: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A client of the deployed app, and its sessionmaker."""
    transport = httpx.ASGITransport(app=deployed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, deployed_app.state.sessionmaker


async def _create(
    client: httpx.AsyncClient, admin: Account, username: str, agency: str, role: str
) -> Account:
    created = await client.post(
        f"{API}/users",
        headers=admin.headers,
        json={
            "username": username,
            "full_name": f"Cán bộ {username}",
            "password": PASSWORD,
            "agency": agency,
            "role": role,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["agency"]["code"] == agency
    return Account(id=created.json()["id"], username=username, role=role, agency=agency)


async def _token(client: httpx.AsyncClient, account: Account) -> Account:
    await sign_in(client, account, PASSWORD)
    return account


async def test_the_done_when_walk(deployed: tuple[httpx.AsyncClient, Any]) -> None:
    client, sessionmaker = deployed
    science, path = lineage_in_the_data("STTTT")
    assert (science, path) == ("HP_SKHCN", ["HD-2025-03-KHCN", "HP-2025-07-SKHCN"])

    # The first administrator of today's department (as `dxplan users create` would make one).
    admin = await create_user(sessionmaker, role="admin", agency=science)
    await sign_in(client, admin)
    # The reviewing department after the reorganisations, as the plan answer states it.
    succession = (await client.get(f"{API}/plan")).json()["succession"]
    assert succession["reviewer"]["agency"]["code"] == "STTTT"
    reviewing = [a["code"] for a in succession["reviewer"]["responsible"]]
    assert reviewing == [science]

    officer = await _create(client, admin, "officer.hp.skhcn", science, "officer")
    lead = await _create(client, admin, "lead.hp.skhcn", science, "agency_lead")
    reviewer = await _create(client, admin, "reviewer.hp.skhcn", reviewing[0], "reviewer")
    for account in (officer, lead, reviewer):
        await _token(client, account)

    # The former Sở TTTT tasks are the officer's.
    assignments = (await client.get(f"{API}/me/assignments", headers=officer.headers)).json()
    assert assignments["agency"]["code"] == science
    tasks = {(t["code"], t["role"]): t for t in assignments["tasks"]}
    assert tasks[(TASK, "lead")]["via_predecessor"] == "STTTT"

    # The 2026 annual period asks today's department.
    periods = (await client.get(f"{API}/periods", params={"kind": "annual", "year": 2026})).json()[
        "items"
    ]
    assert [p["code"] for p in periods] == ["annual-2026"]
    period = periods[0]
    assert science in [a["code"] for a in period["agencies"]]
    if period["state"] != "open":  # seeded as planned: the successor's reviewer opens it
        period_url = f"{API}/periods/{period['id']}"
        etag = (await client.get(period_url, headers=reviewer.headers)).headers["etag"]
        opened = await client.patch(
            period_url, json={"state": "open"}, headers={**reviewer.headers, "If-Match": etag}
        )
        assert opened.status_code == 200, opened.text

    report = await client.post(
        f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
    )
    assert report.status_code == 201, report.text
    assert report.json()["agency"]["code"] == science
    url = f"{API}/reports/{report.json()['id']}"
    summary = "Đã tổ chức 24 lớp bồi dưỡng kỹ năng số cho cán bộ, công chức thành phố."
    update = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={
            "task": TASK,
            "status": "in_progress",
            "percent_complete": 80,
            "public_summary": summary,
        },
    )
    assert update.status_code == 201, update.text

    etag = (await client.get(url, headers=lead.headers)).headers["etag"]
    submitted = await client.post(f"{url}/submit", headers={**lead.headers, "If-Match": etag})
    assert submitted.status_code == 200, submitted.text
    etag = (await client.get(url, headers=reviewer.headers)).headers["etag"]
    approved = await client.post(f"{url}/approve", headers={**reviewer.headers, "If-Match": etag})
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"

    # The public task: the plan's lead word for word, today's responsible, the progress.
    public = (await client.get(f"{API}/tasks/{TASK}")).json()
    assert public["lead_text"] == "Sở TTTT"
    assert [a["code"] for a in public["lead"]] == ["STTTT"]
    assert public["lead"][0]["name"] == "Sở Thông tin và Truyền thông"
    responsible = public["responsible"]["lead"]
    assert [r["agency"]["code"] for r in responsible] == ["STTTT"]
    assert [a["code"] for a in responsible[0]["responsible"]] == [science]
    assert [step["code"] for step in responsible[0]["path"]] == path
    progress = public["progress"]
    assert (progress["percent_complete"], progress["period"]) == (80, "annual-2026")
    assert progress["public_summary"] == summary

    # Before the reform: Sở TTTT itself.
    before = (await client.get(f"{API}/tasks/{TASK}", params={"as_of": "2024-06-01"})).json()
    then = before["responsible"]["lead"][0]
    assert ([a["code"] for a in then["responsible"]], then["path"]) == (["STTTT"], [])

    # The 2025 events, with their legal basis.
    events = {e["code"]: e for e in (await client.get(f"{API}/reorganisations")).json()["items"]}
    for code in path:
        assert events[code]["date"].startswith("2025-")
        assert any(basis["number"] for basis in events[code]["legal_basis"]), code
    assert "45/2025/NĐ-CP" in [b["number"] for b in events[path[0]]["legal_basis"]]
    assert "202/2025/QH15" in [b["number"] for b in events[path[1]]["legal_basis"]]
