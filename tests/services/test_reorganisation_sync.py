"""A reorganisation written through the API reaches a phone that synced before it (issue 11,
sync bodies): the plan items whose `responsible` today the write changes are logged, so a
phone replaying the feed with `include=body` holds the new responsible agency, and a
correction that undoes the change logs them again. Items the event does not concern are not
logged. An event dated after today is logged on its day by `dxplan remind`. Runs on the
walk's database of its own (events recorded here would change other tests' answers)."""

from datetime import date
from typing import Any

import httpx
from sqlalchemy import text

from app.deps import get_today
from app.services.responsibility_changes import log_events_taking_effect
from tests.factories import create_user, sign_in
from tests.services.test_reorganisation_walk import (  # noqa: F401 (fixtures)
    deployed,
    deployed_app,
    walk_database,
)
from tests.services.test_sync import settled
from tests.services.test_sync_bodies import Phone, full_read

API = "/api/v1"
TODAY = date(2026, 11, 30)
RENAME = {
    "code": "T-2026-10-SKHCN",
    "date": "2026-10-01",
    "kind": "rename",
    "predecessors": ["HP_SKHCN"],
    "successors": ["T_HP_SKHCNDMST"],
    "new_agencies": [
        {
            "code": "T_HP_SKHCNDMST",
            "name": "Sở Khoa học, Công nghệ và Đổi mới sáng tạo (thử nghiệm)",
            "short_name": "Sở KH,CN&ĐMST (thử nghiệm)",
            "kind": "department",
        }
    ],
    "legal_basis": [],
    "verified": False,
    "notes": "A test event: no such rename is known.",
}


async def responsible_of_every_task(
    client: httpx.AsyncClient, as_of: date | None = None
) -> dict[str, Any]:
    """Every task's `responsible`, from the public list, page by page."""
    found: dict[str, Any] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if as_of:
            params["as_of"] = as_of.isoformat()
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{API}/tasks", params=params)).json()
        found |= {t["code"]: t["responsible"] for t in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def test_a_phone_that_synced_before_a_reorganisation_learns_the_new_responsible(
    deployed_app: Any,  # noqa: F811 (the imported fixture)
    deployed: tuple[httpx.AsyncClient, Any],  # noqa: F811
) -> None:
    client, sessionmaker = deployed
    deployed_app.dependency_overrides[get_today] = lambda: TODAY
    phone: Phone | None = None
    try:
        admin = await create_user(sessionmaker, role="admin", agency="HP_SKHCN")
        await sign_in(client, admin)
        await settled(sessionmaker)  # the cursor starts after every earlier write
        start = (await client.get(f"{API}/sync")).json()["next_cursor"]
        phone = Phone(deployed_app, sessionmaker, None, start)
        before = await responsible_of_every_task(client)

        recorded = await client.post(f"{API}/reorganisations", json=RENAME, headers=admin.headers)
        assert recorded.status_code == 201, recorded.text
        after = await responsible_of_every_task(client)
        changed = {code for code in after if after[code] != before[code]}
        # Sở TTTT's tasks (through Sở KH&CN and its Hải Phòng successor) and Sở KH&CN's.
        assert {"A.I.1", "A.V.3", "C.3"} <= changed
        assert "A.I.3" not in changed  # Sở Công Thương's

        await phone.catch_up(limit=50)
        tasks = {key for kind, key in phone.received if kind == "task"}
        assert tasks == changed
        lead = phone.store[("task", "A.I.1")]["responsible"]["lead"][0]
        assert [a["code"] for a in lead["responsible"]] == ["T_HP_SKHCNDMST"]
        assert [s["code"] for s in lead["path"]] == [
            "HD-2025-03-KHCN",
            "HP-2025-07-SKHCN",
            "T-2026-10-SKHCN",
        ]
        # Every body the phone holds is what the object's own route answers now.
        assert phone.store == await full_read(client, set(phone.received), None)
        kinds = {kind for kind, _ in phone.received}
        assert {"task", "indicator", "document", "section", "agency"} <= kinds

        # A correction: the rename takes effect only next year, so today it is undone.
        url = f"{API}/reorganisations/{RENAME['code']}"
        etag = (await client.get(url)).headers["etag"]
        corrected = await client.patch(
            url, json={"date": "2027-01-01"}, headers={**admin.headers, "If-Match": etag}
        )
        assert corrected.status_code == 200, corrected.text
        received = len(phone.received)
        await phone.catch_up(limit=50)
        again = {key for kind, key in phone.received[received:] if kind == "task"}
        assert again == changed
        lead = phone.store[("task", "A.I.1")]["responsible"]["lead"][0]
        assert [a["code"] for a in lead["responsible"]] == ["HP_SKHCN"]
        assert phone.store == await full_read(client, set(phone.received), None)
        assert await responsible_of_every_task(client) == before
    finally:
        deployed_app.dependency_overrides.pop(get_today, None)
        if phone is not None:
            await phone.client.aclose()


async def _remind(sessionmaker: Any, today: date) -> dict[str, Any]:
    """What `dxplan remind` runs for the reorganisations, on ``today``."""
    async with sessionmaker() as session, session.begin():
        return await log_events_taking_effect(session, today)


async def test_an_event_is_logged_on_the_day_it_takes_effect(
    deployed_app: Any,  # noqa: F811 (the imported fixture)
    deployed: tuple[httpx.AsyncClient, Any],  # noqa: F811
) -> None:
    client, sessionmaker = deployed
    await _remind(sessionmaker, TODAY)  # what the seed loaded is logged once; then nothing
    assert await _remind(sessionmaker, TODAY) == {"events": [], "logged": {}}
    admin = await create_user(sessionmaker, role="admin", agency="HP_SKHCN")
    await sign_in(client, admin)
    await settled(sessionmaker)  # the cursor starts after every earlier write
    start = (await client.get(f"{API}/sync")).json()["next_cursor"]
    phone = Phone(deployed_app, sessionmaker, None, start)
    day, eve = date(2026, 12, 15), date(2026, 12, 14)
    event = {
        **RENAME,
        "code": "T-2026-12-SKHCN",
        "date": day.isoformat(),
        "successors": ["T_HP_SKHCN_12"],
        "new_agencies": [{**RENAME["new_agencies"][0], "code": "T_HP_SKHCN_12"}],
    }
    deployed_app.dependency_overrides[get_today] = lambda: TODAY
    try:
        recorded = await client.post(f"{API}/reorganisations", json=event, headers=admin.headers)
        assert recorded.status_code == 201, recorded.text
        await phone.catch_up(limit=50)
        assert not [key for kind, key in phone.received if kind == "task"]  # nothing yet
        assert await _remind(sessionmaker, eve) == {"events": [], "logged": {}}

        # Its day comes: the next run logs what changed since the day before.
        then = await responsible_of_every_task(client, eve)
        now = await responsible_of_every_task(client, day)
        # The agencies and their paths; `as_of` itself differs for every task.
        changed = {
            code for code in now if {**now[code], "as_of": None} != {**then[code], "as_of": None}
        }
        assert {"A.I.1", "A.V.3", "C.3"} <= changed
        assert "A.I.3" not in changed
        ran = await _remind(sessionmaker, day)
        assert ran["events"] == ["T-2026-12-SKHCN"]
        assert ran["logged"]["task"] == len(changed)
        assert await _remind(sessionmaker, day) == {"events": [], "logged": {}}

        deployed_app.dependency_overrides[get_today] = lambda: day
        received = len(phone.received)
        await phone.catch_up(limit=50)
        assert {key for kind, key in phone.received[received:] if kind == "task"} == changed
        lead = phone.store[("task", "A.I.1")]["responsible"]["lead"][0]
        assert [a["code"] for a in lead["responsible"]] == ["T_HP_SKHCN_12"]
        assert phone.store == await full_read(client, set(phone.received), None)
        async with sessionmaker() as session:
            marked = (
                await session.execute(
                    text("SELECT effect_logged_on FROM reorganisations WHERE code = :code"),
                    {"code": event["code"]},
                )
            ).scalar_one()
        assert marked == day
    finally:
        deployed_app.dependency_overrides.pop(get_today, None)
        await phone.client.aclose()
