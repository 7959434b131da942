"""More than one plan (issue 11, item 6): `dxplan seed --file` loads a second plan beside
2358/KH-UBND, every plan-scoped route takes `plan=` (default the configured plan, 404
plan_not_found for an unknown one), and nothing of one plan shows in the other's lists,
details, search, dashboard, open data or sync feed.

The second plan is tests/fixtures/plan_99_test.json: a small fictional plan whose codes
(A.I.1, CT-2025-01, VB-01, I.1 …) repeat plan 2358's on purpose and whose texts carry the
marker “Kỳ Lân”, found nowhere in plan 2358. It is loaded into a database of this module's
own, so the session database keeps its exact counts.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.cli import run_seed
from app.core.migrate import upgrade
from app.deps import get_current_plan
from app.main import create_app
from tests import db
from tests.factories import signed_in
from tests.services.test_sync import follow, settled

API = "/api/v1"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "plan_99_test.json"
OTHER = "99/KH-TN"
DEFAULT = "2358/KH-UBND"
MARKER = "Kỳ Lân"
B = {"plan": OTHER}


@pytest.fixture(scope="module")
def seeded(server_url: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A database with plan 2358 (the bundled file) and the second plan, seeded twice."""
    url = db.create_database(server_url, prefix="dxplan_plans")
    settings = db.settings_for(url)
    upgrade(settings)
    asyncio.run(run_seed(settings, None))
    reports = [asyncio.run(run_seed(settings, FIXTURE)) for _ in range(2)]
    yield url, reports
    db.drop_database(server_url, url)


@pytest.fixture(scope="module")
async def two(seeded: tuple[str, list[dict[str, Any]]]) -> AsyncIterator[Any]:
    application = create_app(db.settings_for(seeded[0]))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def api(two: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=two)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def ok(api: httpx.AsyncClient, path: str, **kwargs: Any) -> Any:
    response = await api.get(f"{API}{path}", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def every_item(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await ok(
            api, path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def test_seed_file_loads_a_second_plan_idempotently(
    seeded: tuple[str, list[dict[str, Any]]],
) -> None:
    first, again = seeded[1]
    assert first["inserted"] == {
        "agencies": 1,
        "plans": 1,
        "plan_sections": 3,
        "section_agencies": 2,
        "task_groups": 2,
        "tasks": 2,
        "task_agencies": 3,
        "indicators": 1,
        "indicator_agencies": 2,
        "indicator_targets": 1,
        "documents": 1,
        "document_agencies": 2,
        "reporting_periods": 3,
    }
    # The agencies it shares with plan 2358 are left exactly as they were.
    assert first["updated"] == {} and first["deleted"] == {} and first["stale"] == {}
    assert again == {"inserted": {}, "updated": {}, "deleted": {}, "stale": {}}


async def test_plan_defaults_to_the_configured_one(api: httpx.AsyncClient) -> None:
    assert (await ok(api, "/plan"))["code"] == DEFAULT
    assert (await ok(api, "/plan", params={"plan": DEFAULT}))["code"] == DEFAULT
    other = await ok(api, "/plan", params=B)
    assert other["code"] == OTHER and MARKER in other["title"]
    assert other["counts"]["tasks"] == 2
    default = await every_item(api, "/tasks")
    assert default == await every_item(api, "/tasks", plan=DEFAULT)
    assert len(default) == (await ok(api, "/plan"))["counts"]["tasks"]


@pytest.mark.parametrize(
    "path", ["/plan", "/tasks", "/tasks/A.I.1", "/dashboard", "/search?q=so", "/sync"]
)
async def test_an_unknown_plan_is_404_plan_not_found(api: httpx.AsyncClient, path: str) -> None:
    for lang, detail in (
        ("vi", "Không có kế hoạch mã “1/KH-KHONGCO”; bỏ tham số plan để dùng kế hoạch mặc định."),
        (
            "en",
            "There is no plan with code “1/KH-KHONGCO”; leave out the plan parameter for "
            "the default plan.",
        ),
    ):
        response = await api.get(
            f"{API}{path}", params={"plan": "1/KH-KHONGCO"}, headers={"Accept-Language": lang}
        )
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "plan_not_found"
        assert response.json()["detail"] == detail
    bad = await api.get(f"{API}{path}", params={"plan": "<script>"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["loc"] == ["query", "plan"]


LISTS = [
    ("/tasks", "code", ["A.I.1", "A.I.2"], "title"),
    ("/sections", "code", ["I", "I.1", "II"], "title"),
    ("/indicators", "code", ["CT-2025-01"], "text"),
    ("/documents", "number", [1], "title"),
]


@pytest.mark.parametrize(("path", "key", "codes", "field"), LISTS)
async def test_lists_hold_their_own_plan_only(
    api: httpx.AsyncClient, path: str, key: str, codes: list[Any], field: str
) -> None:
    other = await every_item(api, path, plan=OTHER)
    assert [i[key] for i in other] == codes
    assert "?plan=" not in str(await every_item(api, path))
    assert all("&plan=99%2FKH-TN" in t["values_url"] for i in other for t in i.get("targets", []))
    assert all(MARKER.lower() in (i[field] or "").lower() or i["code"] == "I.1" for i in other)
    default = await every_item(api, path)
    assert codes[0] in [i[key] for i in default]  # the same code, plan 2358's own item
    assert not [i for i in default if MARKER in str(i)]
    assert len(default) > len(other)


DETAILS = [
    ("/tasks/A.I.1", "title"),
    ("/sections/II", "text"),
    ("/indicators/CT-2025-01", "text"),
    ("/documents/1", "title"),
]


@pytest.mark.parametrize(("path", "field"), DETAILS)
async def test_the_same_code_answers_each_plans_own_object(
    api: httpx.AsyncClient, path: str, field: str
) -> None:
    default, same, other = (
        await ok(api, path),
        await ok(api, path, params={"plan": DEFAULT}),
        await ok(api, path, params=B),
    )
    assert default == same
    assert MARKER not in str(default)
    assert MARKER in other[field]
    if "progress_url" in other:  # links into the same plan
        assert other["progress_url"] == f"{API}{path}/progress?plan=99%2FKH-TN"
        assert default["progress_url"] == f"{API}{path}/progress"
    if "targets" in other:
        link = f"{API}{path}/values?target=CT-2025-01.1"
        assert other["targets"][0]["values_url"] == link + "&plan=99%2FKH-TN"
        assert default["targets"][0]["values_url"] == link


async def test_an_object_of_one_plan_is_404_in_the_other(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"{API}/tasks/E.1")).status_code == 200
    missing = await api.get(f"{API}/tasks/E.1", params=B)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert (await api.get(f"{API}/documents/13", params=B)).status_code == 404
    # A filter value of the other plan only names nothing here.
    kind = await api.get(f"{API}/documents", params={"type": "Quy chế thử nghiệm"})
    assert kind.status_code == 422 and kind.json()["code"] == "unknown_filter_value"
    assert len(await every_item(api, "/documents", plan=OTHER, type="Quy chế thử nghiệm")) == 1


async def test_search_finds_the_marker_in_its_plan_only(api: httpx.AsyncClient) -> None:
    def hits(answer: Any) -> set[tuple[str, str]]:
        return {(h["type"], h["code"]) for h in answer["items"] if h["type"] != "agency"}

    other = await ok(api, "/search", params={"q": "ky lan", **B})
    assert hits(other) == {
        ("task", "A.I.1"),
        ("task", "A.I.2"),
        ("indicator", "CT-2025-01"),
        ("document", "VB-01"),
        ("section", "I"),
        ("section", "I.1"),
        ("section", "II"),
    }
    assert hits(await ok(api, "/search", params={"q": "ky lan"})) == set()


async def test_dashboard_and_open_data_count_their_own_plan(api: httpx.AsyncClient) -> None:
    other = await ok(api, "/dashboard", params=B)
    default = await ok(api, "/dashboard")
    assert list(other["tasks_by_group"]) == ["A"]
    assert sum(other["tasks_by_group"]["A"].values()) == 2
    assert set(default["tasks_by_group"]) == {"A", "B", "C", "D", "E", "F"}
    assert set(other["targets_by_year"]) == {"2025"}
    assert sum(other["targets_by_year"]["2025"].values()) == 1
    assert other["current_period"]["period"]["code"] == "annual-2026"
    assert "TN_BQL_KYLAN" in str(other["current_period"])
    assert "TN_BQL_KYLAN" not in str(default)
    tasks = await ok(api, "/open-data/tasks.json", params=B)
    assert [row["code"] for row in tasks["items"]] == ["A.I.1", "A.I.2"]
    assert tasks["plan"] == OTHER
    assert (await ok(api, "/open-data/tasks.json"))["plan"] == DEFAULT
    assert MARKER not in str(await ok(api, "/open-data/tasks.json"))
    indicators = await ok(api, "/open-data/indicators.json", params=B)
    assert {row["indicator"] for row in indicators["items"]} == {"CT-2025-01"}
    csv = await api.get(f"{API}/open-data/documents.csv", params=B)
    assert csv.status_code == 200 and csv.text.count("\r\n") == 2 and MARKER in csv.text
    assert csv.headers["x-plan"] == OTHER


async def test_agencies_and_periods_are_read_per_plan(api: httpx.AsyncClient) -> None:
    own = await ok(api, "/agencies/TN_BQL_KYLAN", params=B)
    assert [(t["code"], t["role"]) for t in own["tasks"]] == [
        ("A.I.1", "coordinating"),
        ("A.I.2", "lead"),
    ]
    assert [i["code"] for i in own["indicators"]] == ["CT-2025-01"]
    assert (await ok(api, "/agencies/TN_BQL_KYLAN"))["tasks"] == []
    sttt = await ok(api, "/agencies/STTTT", params=B)
    assert [(t["code"], t["role"]) for t in sttt["tasks"]] == [("A.I.1", "lead")]
    assert len((await ok(api, "/agencies/STTTT"))["tasks"]) > 20
    periods = await every_item(api, "/periods", plan=OTHER)
    assert [p["code"] for p in periods] == ["annual-2024", "annual-2025", "annual-2026"]
    assert "annual-2021" in [p["code"] for p in await every_item(api, "/periods")]
    other_id = periods[0]["id"]
    assert (await api.get(f"{API}/periods/{other_id}")).status_code == 404
    assert (await ok(api, f"/periods/{other_id}", params=B))["code"] == "annual-2024"


async def test_a_report_belongs_to_the_plan_of_its_period(api: httpx.AsyncClient, two: Any) -> None:
    factory = two.state.sessionmaker
    reviewer = await signed_in(api, factory, role="reviewer", agency="HP_SKHCN")
    officer = await signed_in(api, factory, role="officer", agency="TN_BQL_KYLAN")
    lead = await signed_in(api, factory, role="agency_lead", agency="TN_BQL_KYLAN")
    period = await api.post(
        f"{API}/periods",
        params=B,
        headers=reviewer.headers,
        json={
            "title": "Báo cáo đột xuất Kỳ Lân",
            "due_date": "2026-12-20",
            "cutoff_date": "2026-12-10",
        },
    )
    assert period.status_code == 201, period.text
    assert period.headers["location"] == f"{API}/periods/{period.json()['id']}?plan=99%2FKH-TN"
    assert {a["code"] for a in period.json()["agencies"]} == {"HP_SKHCN", "TN_BQL_KYLAN"}
    body = {"period_id": period.json()["id"]}
    wrong = await api.post(f"{API}/reports", headers=officer.headers, json=body)
    assert wrong.status_code == 404, wrong.text
    report = await api.post(f"{API}/reports", params=B, headers=officer.headers, json=body)
    assert report.status_code == 201, report.text
    url = f"{API}/reports/{report.json()['id']}"
    assert report.headers["location"] == f"{url}?plan=99%2FKH-TN"
    assert (await api.get(url, headers=officer.headers)).status_code == 404
    # Items name the report's plan's tasks: E.1 is plan 2358's only.
    foreign = await api.post(
        f"{url}/task-updates",
        params=B,
        headers=officer.headers,
        json={"task": "E.1", "status": "in_progress", "percent_complete": 10},
    )
    assert foreign.status_code == 422, foreign.text
    item = await api.post(
        f"{url}/task-updates",
        params=B,
        headers=officer.headers,
        json={
            "task": "A.I.2",
            "status": "in_progress",
            "percent_complete": 40,
            "public_summary": "Đã đánh giá thử nghiệm Kỳ Lân tại 4 cơ quan.",
        },
    )
    assert item.status_code == 201, item.text
    for account, action in ((lead, "submit"), (reviewer, "approve")):
        current = await api.get(url, params=B, headers=account.headers)
        done = await api.post(
            f"{url}/{action}",
            params=B,
            headers={**account.headers, "If-Match": current.headers["etag"]},
        )
        assert done.status_code == 200, done.text
    task = await ok(api, "/tasks/A.I.2", params=B)
    assert task["progress"]["percent_complete"] == 40
    assert (await ok(api, "/tasks/A.I.2"))["progress"] is None
    queue = await ok(api, "/review-queue", headers=reviewer.headers)
    assert report.json()["id"] not in [r["id"] for r in queue["items"]]
    mine = await ok(api, "/me/assignments", params=B, headers=officer.headers)
    assert "A.I.2" in str(mine) and "E.1" not in str(mine)
    # Notices name the plan their period or report belongs to (titles may repeat).
    notices = (await ok(api, "/me/notifications", headers=officer.headers))["items"]
    assert {(n["kind"], n["plan"]) for n in notices} == {
        ("period_opened", OTHER),
        ("report_approved", OTHER),
    }


async def test_the_sync_feed_serves_its_own_plan(api: httpx.AsyncClient, two: Any) -> None:
    factory = two.state.sessionmaker
    await settled(factory)
    start_default = (await ok(api, "/sync"))["next_cursor"]
    start_other = (await ok(api, "/sync", params=B))["next_cursor"]
    async with factory() as session, session.begin():
        await session.execute(
            text(
                "UPDATE tasks SET note = 'sync: two plans' WHERE code = 'A.I.1'"
                " AND plan_id = (SELECT id FROM plans WHERE code = :other)"
            ),
            {"other": OTHER},
        )
        await session.execute(
            text(
                "UPDATE tasks SET note = 'sync: two plans' WHERE code = 'E.1'"
                " AND plan_id = (SELECT id FROM plans WHERE code = :default)"
            ),
            {"default": DEFAULT},
        )
    await settled(factory)
    default, _ = await follow(api, start_default, types="task")
    assert [c["key"] for c in default] == ["E.1"]
    assert default[0]["url"] == f"{API}/tasks/E.1"
    other, _ = await follow(api, start_other, types="task", plan=OTHER, include="body")
    assert [c["key"] for c in other] == ["A.I.1"]
    assert other[0]["url"] == f"{API}/tasks/A.I.1?plan=99%2FKH-TN"
    assert MARKER in other[0]["body"]["title"]
    assert other[0]["body"]["progress_url"] == f"{API}/tasks/A.I.1/progress?plan=99%2FKH-TN"
    assert other[0]["body"]["note"] == "sync: two plans"


def test_every_plan_scoped_operation_takes_the_plan(two: Any) -> None:
    """The contract shows `plan` on exactly the operations that depend on the plan, each
    documenting the 404 of an unknown plan and the 422 of a malformed one."""
    from app.core.openapi import _operations_depending_on

    document = two.openapi()
    scoped = _operations_depending_on(two, get_current_plan)
    assert len(scoped) >= 60
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert ("plan" in names) == ((path, method) in scoped), (method, path)
            if (path, method) in scoped:
                assert {"404", "422"} <= set(operation["responses"]), (method, path)
                assert "plan_not_found" in operation["responses"]["404"]["description"]


ASKED_2026 = text(
    "SELECT a.code FROM period_agencies pa JOIN agencies a ON a.id = pa.agency_id"
    " JOIN reporting_periods p ON p.id = pa.period_id JOIN plans pl ON pl.id = p.plan_id"
    " WHERE p.code = 'annual-2026' AND pl.code = :plan ORDER BY a.code"
)


async def _asked_2026(url: str, plan: str) -> list[str]:
    engine = db.owner_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(ASKED_2026, {"plan": plan})).scalars())
    finally:
        await engine.dispose()


def test_events_loaded_later_move_every_plans_periods(server_url: str) -> None:
    """The second plan loaded first, then plan 2358 with its reorganisations: the events
    (shared by every plan) also decide whom the second plan's open and planned periods ask."""
    url = db.create_database(server_url, prefix="dxplan_plans_order")
    try:
        settings = db.settings_for(url)
        upgrade(settings)
        asyncio.run(run_seed(settings, FIXTURE))
        assert asyncio.run(_asked_2026(url, OTHER)) == ["STTTT", "TN_BQL_KYLAN"]
        asyncio.run(run_seed(settings, None))
        assert asyncio.run(_asked_2026(url, OTHER)) == ["HP_SKHCN", "TN_BQL_KYLAN"]
    finally:
        db.drop_database(server_url, url)
