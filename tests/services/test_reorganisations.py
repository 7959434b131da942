"""Reorganisations as data (issue 11, items 1, 2 and 5): the shipped events, who is responsible
for a plan item on a date, the province's own succession, the admin API and the seed."""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from app.cli import run_seed
from app.core.migrate import upgrade
from app.services.plan_data import DEFAULT_PLAN_FILE
from app.services.reorganisation_data import DEFAULT_REORGANISATIONS_FILE
from tests import db
from tests.factories import Account

API = "/api/v1"


def today() -> str:
    """Today in Việt Nam, when asked: a module constant went stale across midnight."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()


EN = {"Accept-Language": "en"}


def codes(agencies: list[dict[str, Any]]) -> list[str]:
    return [a["code"] for a in agencies]


def only(resolved: list[dict[str, Any]], code: str) -> dict[str, Any]:
    found = [r for r in resolved if r["agency"]["code"] == code]
    assert len(found) == 1, (code, resolved)
    return found[0]


# Responsibility on a date ------------------------------------------------------------------


async def test_task_keeps_its_lead_and_adds_who_is_responsible_today(
    client: httpx.AsyncClient,
) -> None:
    task = (await client.get(f"{API}/tasks/A.I.1")).json()
    assert codes(task["lead"]) == ["STTTT"]  # the plan's text, word for word
    assert task["lead_text"] == "Sở TTTT"
    responsible = task["responsible"]
    assert responsible["as_of"] == today()
    lead = only(responsible["lead"], "STTTT")
    assert codes(lead["responsible"]) == ["HP_SKHCN"]
    assert lead["responsible"][0]["name"] == "Sở Khoa học và Công nghệ thành phố Hải Phòng"
    assert [(s["code"], s["date"], s["kind"]) for s in lead["path"]] == [
        ("HD-2025-03-KHCN", "2025-03-01", "merge"),
        ("HP-2025-07-SKHCN", "2025-07-01", "merge"),
    ]
    assert "45/2025/NĐ-CP" in lead["path"][0]["legal_basis"]
    assert "202/2025/QH15" in lead["path"][1]["legal_basis"]
    assert lead["members"] is None


@pytest.mark.parametrize(
    ("as_of", "expected", "path"),
    [
        ("2024-06-01", ["STTTT"], []),
        ("2025-02-28", ["STTTT"], []),
        ("2025-03-01", ["SKHCN"], ["HD-2025-03-KHCN"]),
        ("2025-07-01", ["HP_SKHCN"], ["HD-2025-03-KHCN", "HP-2025-07-SKHCN"]),
    ],
)
async def test_as_of_answers_the_agencies_of_that_day(
    client: httpx.AsyncClient, as_of: str, expected: list[str], path: list[str]
) -> None:
    task = (await client.get(f"{API}/tasks/A.I.1", params={"as_of": as_of})).json()
    assert task["responsible"]["as_of"] == as_of
    lead = only(task["responsible"]["lead"], "STTTT")
    assert codes(lead["responsible"]) == expected
    assert [s["code"] for s in lead["path"]] == path
    assert codes(task["lead"]) == ["STTTT"]


async def test_a_bad_as_of_is_a_422(client: httpx.AsyncClient) -> None:
    # Only a full-date (the contract's `format: date`): not a Unix timestamp, which pydantic
    # alone would read as a day of 1970, nor a date-time.
    bad = ("2024-13-01", "yesterday", "1800-01-01", "0.0", "0", "86400", "2024-06-01T00:00:00")
    for path in ("/tasks/A.I.1", "/plan"):
        for value in bad:
            response = await client.get(f"{API}{path}", params={"as_of": value})
            assert response.status_code == 422, (path, value)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in response.json()["errors"]] == ["as_of"], value
    [error] = (await client.get(f"{API}/plan", params={"as_of": "0.0"})).json()["errors"]
    assert error["message"] == "Phải là một ngày dạng YYYY-MM-DD."
    assert (await client.get(f"{API}/plan", params={"as_of": "2024-06-01"})).status_code == 200


async def test_group_leads_resolve_through_their_members(client: httpx.AsyncClient) -> None:
    section = (await client.get(f"{API}/sections/II.1.a")).json()
    assert codes(section["lead"]) == ["G_SBN", "G_UBND_HUYEN"]
    districts = only(section["responsible"]["lead"], "G_UBND_HUYEN")
    assert codes(districts["responsible"]) == ["UBND_HP", "G_UBND_XA_HP"]
    assert {s["code"] for m in districts["members"] for s in m["path"]} == {"VN-2025-07-HUYEN"}
    group = only(section["responsible"]["lead"], "G_SBN")
    members = {m["agency"]["code"]: m for m in group["members"]}
    assert codes(members["STTTT"]["responsible"]) == ["HP_SKHCN"]
    assert codes(members["SKHDT"]["responsible"]) == ["HP_STC"]
    union = list(dict.fromkeys(c for m in group["members"] for c in codes(m["responsible"])))
    assert codes(group["responsible"]) == union
    assert "STTTT" not in codes(group["responsible"])
    assert group["path"] == []

    before = (await client.get(f"{API}/sections/II.1.a", params={"as_of": "2024-06-01"})).json()
    group = only(before["responsible"]["lead"], "G_SBN")
    assert all(codes(m["responsible"]) == [m["agency"]["code"]] for m in group["members"])

    tasks = (await client.get(f"{API}/tasks", params={"limit": 200})).json()["items"]
    grouped = next(t for t in tasks if any(a["kind"] == "group" for a in t["lead"]))
    resolved = grouped["responsible"]["lead"]
    assert any(r["members"] for r in resolved), grouped["code"]


async def test_indicators_documents_and_lists_resolve_too(client: httpx.AsyncClient) -> None:
    indicator = (await client.get(f"{API}/indicators/CT-2025-01")).json()
    assert codes(indicator["lead"]) == ["VPUBND"]
    lead = only(indicator["responsible"]["lead"], "VPUBND")
    assert codes(lead["responsible"]) == ["HP_VPUBND"]
    assert [s["code"] for s in lead["path"]] == ["HP-2025-07-VPUBND"]
    assert len(indicator["responsible"]["coordinating"]) == len(indicator["coordinating"])

    document = (await client.get(f"{API}/documents/1")).json()
    lead_codes = codes(document["lead"])
    assert [r["agency"]["code"] for r in document["responsible"]["lead"]] == lead_codes

    for path in ("/tasks", "/indicators", "/documents", "/sections"):
        page = await client.get(f"{API}{path}", params={"limit": 200, "as_of": "2025-04-01"})
        items = page.json()["items"]
        assert items and all(i["responsible"]["as_of"] == "2025-04-01" for i in items), path
        for item in items:
            assert [r["agency"]["code"] for r in item["responsible"]["lead"]] == codes(item["lead"])


# The province ------------------------------------------------------------------------------


async def test_plan_states_that_the_province_was_merged(client: httpx.AsyncClient) -> None:
    plan = (await client.get(f"{API}/plan")).json()
    assert plan["issuer"] == "UBND tỉnh Hải Dương"  # as written
    succession = plan["succession"]
    assert succession["merged"] is True
    assert codes(succession["issuer"]["responsible"]) == ["UBND_HP"]
    assert [s["code"] for s in succession["issuer"]["path"]] == ["HP-2025-07-CITY"]
    assert "202/2025/QH15" in succession["issuer"]["path"][0]["legal_basis"]
    assert "202/2025/QH15" in succession["statement"]
    assert "01/07/2025" in succession["statement"]
    assert codes(succession["reviewer"]["responsible"]) == ["HP_SKHCN"]

    march = (await client.get(f"{API}/plan", params={"as_of": "2025-04-01"})).json()
    assert march["succession"]["merged"] is False
    assert march["succession"]["statement"] is None
    assert codes(march["succession"]["reviewer"]["responsible"]) == ["SKHCN"]
    assert codes(march["succession"]["issuer"]["responsible"]) == ["UBND_TINH"]


# Events ------------------------------------------------------------------------------------


async def test_the_shipped_events_are_public_with_their_basis(client: httpx.AsyncClient) -> None:
    page = (await client.get(f"{API}/reorganisations", params={"limit": 200})).json()
    shipped = json.loads(DEFAULT_REORGANISATIONS_FILE.read_text(encoding="utf-8"))["events"]
    listed = {e["code"]: e for e in page["items"]}
    assert {e["code"] for e in shipped} <= set(listed)
    dates = [e["date"] for e in page["items"]]
    assert dates == sorted(dates)
    city = listed["HP-2025-07-CITY"]
    assert codes(city["predecessors"]) == ["UBND_TINH"]
    assert codes(city["successors"]) == ["UBND_HP"]
    assert codes(city["introduced"]) == ["UBND_HP"]
    assert "202/2025/QH15" in [b["number"] for b in city["legal_basis"]]
    assert city["origin"] == "file" and city["verified"] is True
    khcn = listed["HD-2025-03-KHCN"]
    assert [t["from"]["code"] for t in khcn["transfers"]] == ["STTTT", "STTTT"]
    assert [t["verified"] for t in khcn["transfers"]] == [False, False]

    by_agency = (await client.get(f"{API}/reorganisations", params={"agency": "STTTT"})).json()
    assert [e["code"] for e in by_agency["items"]] == ["HD-2025-03-KHCN"]
    one = await client.get(f"{API}/reorganisations/HP-2025-07-CITY")
    assert one.status_code == 200 and one.headers["etag"]
    assert (await client.get(f"{API}/reorganisations/NOPE-1")).status_code == 404
    assert (await client.get(f"{API}/reorganisations", params={"agency": "NOPE"})).status_code == (
        422
    )


async def test_agencies_validity_follows_the_events(client: httpx.AsyncClient) -> None:
    sttt = (await client.get(f"{API}/agencies/STTTT")).json()
    assert (sttt["valid_to"], sttt["successor"]) == ("2025-02-28", "SKHCN")
    skhcn = (await client.get(f"{API}/agencies/SKHCN")).json()
    assert (skhcn["valid_to"], skhcn["successor"]) == ("2025-06-30", "HP_SKHCN")
    new = (await client.get(f"{API}/agencies/HP_SKHCN")).json()
    assert (new["valid_from"], new["valid_to"]) == ("2025-07-01", None)
    district = (await client.get(f"{API}/agencies/HBG")).json()
    assert (district["valid_to"], district["successor"]) == ("2025-06-30", None)


@pytest.fixture
async def cleanup(sessionmaker: Any) -> AsyncIterator[None]:
    """The events and agencies a test records are removed afterwards (shared database)."""
    yield
    from app.services.reorganisations import refresh_validity

    async with sessionmaker() as session, session.begin():
        await session.execute(text("DELETE FROM reorganisations WHERE code LIKE 'T-%'"))
        await session.execute(text("DELETE FROM agencies WHERE code LIKE 'T\\_%'"))
        await refresh_validity(session)


NEW_EVENT: dict[str, Any] = {
    "code": "T-2090-PORTAL",
    "date": "2090-01-01",
    "kind": "rename",
    "predecessors": ["BAOHD"],
    "successors": ["T_PORTAL"],
    "new_agencies": [
        {
            "code": "T_PORTAL",
            "name": "Cổng thông tin điện tử thử nghiệm",
            "short_name": "Cổng thử nghiệm",
            "kind": "board",
        }
    ],
    "legal_basis": [
        {
            "number": "1/2089/QĐ-TEST",
            "date": "2089-12-01",
            "issuer": "Ủy ban nhân dân thành phố Hải Phòng",
            "title": "Quyết định thử nghiệm",
        }
    ],
    "verified": True,
}


async def test_admins_record_and_correct_events(
    client: httpx.AsyncClient, accounts: dict[str, Account], cleanup: None
) -> None:
    admin = accounts["admin"].headers
    url = f"{API}/reorganisations"
    assert (await client.post(url, json=NEW_EVENT)).status_code == 401
    refused = await client.post(url, json=NEW_EVENT, headers=accounts["officer"].headers)
    assert refused.status_code == 403
    assert (
        await client.post(url, json=NEW_EVENT, headers=accounts["reviewer"].headers)
    ).status_code == 403

    created = await client.post(url, json=NEW_EVENT, headers=admin)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{url}/T-2090-PORTAL"
    body = created.json()
    assert (body["origin"], codes(body["introduced"])) == ("api", ["T_PORTAL"])
    assert (await client.post(url, json=NEW_EVENT, headers=admin)).status_code == 409

    # Responsibility follows at once, only from the event's date.
    task = next(
        t
        for t in (
            await client.get(f"{API}/tasks", params={"limit": 200, "agency": "BAOHD"})
        ).json()["items"]
        if "BAOHD" in codes(t["lead"])
    )
    later = (await client.get(f"{API}/tasks/{task['code']}", params={"as_of": "2090-06-01"})).json()
    lead = only(later["responsible"]["lead"], "BAOHD")
    assert codes(lead["responsible"]) == ["T_PORTAL"]
    assert lead["path"][-1] == {
        "code": "T-2090-PORTAL",
        "date": "2090-01-01",
        "kind": "rename",
        "legal_basis": ["1/2089/QĐ-TEST"],
        "verified": True,
    }
    today = (await client.get(f"{API}/tasks/{task['code']}")).json()
    assert codes(only(today["responsible"]["lead"], "BAOHD")["responsible"]) == ["BAOHD"]

    # Corrections need If-Match.
    event_url = f"{url}/T-2090-PORTAL"
    etag = (await client.get(event_url)).headers["etag"]
    patch = {"notes": "Đã đối chiếu.", "date": "2090-02-01"}
    assert (await client.patch(event_url, json=patch)).status_code == 401
    officer = {**accounts["officer"].headers, "If-Match": etag}
    assert (await client.patch(event_url, json=patch, headers=officer)).status_code == 403
    assert (await client.patch(event_url, json=patch, headers=admin)).status_code == 428
    changed = await client.patch(event_url, json=patch, headers={**admin, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["notes"], changed.json()["date"]) == ("Đã đối chiếu.", "2090-02-01")
    assert changed.headers["etag"] != etag
    stale = await client.patch(event_url, json=patch, headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    portal = (await client.get(f"{API}/agencies/T_PORTAL")).json()
    assert portal["valid_from"] == "2090-02-01"  # derived from the corrected date

    audit = (
        await client.get(
            f"{API}/audit", params={"entity": "reorganisation", "limit": 200}, headers=admin
        )
    ).json()["items"]
    ours = [e for e in audit if (e["after"] or {}).get("code") == "T-2090-PORTAL"]
    assert sorted(e["action"] for e in ours) == ["reorganisation.create", "reorganisation.update"]
    update = next(e for e in ours if e["action"] == "reorganisation.update")
    assert (update["before"]["date"], update["after"]["date"]) == ("2090-01-01", "2090-02-01")
    assert update["actor"] == accounts["admin"].username


async def _count(sessionmaker: Any) -> int:
    async with sessionmaker() as session:
        return int(
            (await session.execute(text("SELECT count(*) FROM reorganisations"))).scalar_one()
        )


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"predecessors": ["NOPE_1"]}, "predecessors", "unknown_agencies"),
        ({"successors": ["NOPE_2"]}, "successors", "unknown_agencies"),
        (
            {"date": "2089-06-01", "predecessors": ["T_PORTAL"], "successors": ["HP_SKHCN"]},
            "date",
            "agency_not_yet",
        ),
        (
            {"predecessors": ["T_PORTAL"], "successors": ["BAOHD"], "date": "2091-01-01"},
            "successors",
            "succession_cycle",
        ),
        ({"legal_basis": []}, "legal_basis", "basis_number_required"),
        (
            {"kind": "rename", "successors": ["HP_SKHCN", "HP_STC"]},
            "successors",
            "rename_one_to_one",
        ),
        (
            {"kind": "level_abolished", "predecessors": ["SYT"], "successors": ["HP_SYT"]},
            "predecessors",
            "not_district",
        ),
        (
            {
                "kind": "transfer",
                "successors": [],
                "transfers": [{"items": ["Z.99"], "to": "HP_SYT", "verified": True}],
            },
            "transfers",
            "unknown_item",
        ),
        ({"verified": False}, "notes", "notes_required"),
        ({"date": "2090-13-01"}, "date", None),
    ],
)
async def test_bad_events_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    accounts: dict[str, Account],
    sessionmaker: Any,
    cleanup: None,
    change: dict[str, Any],
    field: str,
    rule: str | None,
) -> None:
    admin = accounts["admin"].headers
    base = await client.post(f"{API}/reorganisations", json=NEW_EVENT, headers=admin)
    assert base.status_code == 201
    before = await _count(sessionmaker)
    event = {
        **{k: v for k, v in NEW_EVENT.items() if k != "new_agencies"},
        "code": "T-2091-BAD",
        "date": "2091-01-01",
        "predecessors": ["HP_SYT"],
        "successors": ["HP_SKHCN"],
        "kind": "merge",
        **change,
    }
    response = await client.post(f"{API}/reorganisations", json=event, headers={**admin, **EN})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    fields = [(e["field"], e["type"]) for e in problem["errors"]]
    if rule is not None:
        assert (field, rule) in fields
        message = next(e["message"] for e in problem["errors"] if e["type"] == rule)
        assert message and not message.startswith("field.")
        if rule == "unknown_agencies":
            assert change[field][0] in message
        vi = await client.post(f"{API}/reorganisations", json=event, headers=admin)
        assert next(e["message"] for e in vi.json()["errors"] if e["type"] == rule) != message
    else:
        assert any(e["field"] == field for e in problem["errors"])
    assert await _count(sessionmaker) == before

    # The same rules guard corrections.
    if rule in ("unknown_agencies", "basis_number_required"):
        event_url = f"{API}/reorganisations/T-2090-PORTAL"
        etag = (await client.get(event_url)).headers["etag"]
        rejected = await client.patch(event_url, json=change, headers={**admin, "If-Match": etag})
        assert rejected.status_code == 422, rejected.text
        assert (await client.get(event_url)).headers["etag"] == etag


# Seed and schema ---------------------------------------------------------------------------


@pytest.fixture
def scratch_url(server_url: str) -> Any:
    url = db.create_database(server_url, prefix="dxplan_scratch")
    yield url
    db.drop_database(server_url, url)


def test_seed_loads_the_events_idempotently(scratch_url: str, tmp_path: Path) -> None:
    settings = db.settings_for(scratch_url)
    upgrade(settings)
    first = asyncio.run(run_seed(settings, None))
    assert first["inserted"]["reorganisations"] == 18  # type: ignore[index]
    assert first["inserted"]["agencies"] > 48  # type: ignore[index]
    second = asyncio.run(run_seed(settings, None))
    assert second == {"inserted": {}, "updated": {}, "deleted": {}, "stale": {}}

    # An edited file beside an edited plan updates exactly the event that differs.
    plan = tmp_path / "plan_x.json"
    shutil.copy(DEFAULT_PLAN_FILE, plan)
    data = json.loads(DEFAULT_REORGANISATIONS_FILE.read_text(encoding="utf-8"))
    city = next(e for e in data["events"] if e["code"] == "HP-2025-07-CITY")
    city["notes"] = "Ghi chú sửa."
    (tmp_path / "reorganisations_x.json").write_text(json.dumps(data, ensure_ascii=False))
    third = asyncio.run(run_seed(settings, plan))
    assert third == {
        "inserted": {},
        "updated": {"reorganisations": 1},
        "deleted": {},
        "stale": {},
    }

    async def version_and_privileges() -> tuple[int, list[bool]]:
        engine = db.owner_engine(scratch_url)
        try:
            async with engine.connect() as connection:
                version = (
                    await connection.execute(
                        text("SELECT version FROM reorganisations WHERE code = 'HP-2025-07-CITY'")
                    )
                ).scalar_one()
                role = settings.db_runtime_role
                rights = [
                    bool(
                        (
                            await connection.execute(
                                text("SELECT has_table_privilege(:r, :t, :p)"),
                                {"r": role, "t": table, "p": privilege},
                            )
                        ).scalar_one()
                    )
                    for table in (
                        "reorganisations",
                        "reorganisation_agencies",
                        "reorganisation_transfers",
                    )
                    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
                ]
                rights.append(
                    bool(
                        (
                            await connection.execute(
                                text("SELECT has_sequence_privilege(:r, :s, 'USAGE')"),
                                {"r": role, "s": "reorganisations_id_seq"},
                            )
                        ).scalar_one()
                    )
                )
                return int(version), rights
        finally:
            await engine.dispose()

    version, rights = asyncio.run(version_and_privileges())
    assert version == 2  # an If-Match read before the change is stale
    assert all(rights)
