"""Cheap totals: lists that grow with history count their rows only up to a limit
(`DXPLAN_EXACT_TOTAL_LIMIT`); past it `total` is the planner's estimate, `total_exact` false."""

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.core.db import EXACT_TOTAL_LIMIT
from tests.factories import Account, create_user, signed_in
from tests.services.test_reporting import etag_of, make_team, new_period

USERS = "/api/v1/users"
AUDIT = "/api/v1/audit"


@pytest.fixture
def exact_up_to(app: Any) -> Iterator[Any]:
    """Set the app's exact-count limit for one test (the sessions' info, app/core/db.py)."""
    info: dict[str, Any] = app.state.sessionmaker.kw["info"]
    before = info[EXACT_TOTAL_LIMIT]

    def set_limit(limit: int) -> None:
        info[EXACT_TOTAL_LIMIT] = limit

    yield set_limit
    info[EXACT_TOTAL_LIMIT] = before


async def _all_pages(
    client: httpx.AsyncClient, url: str, params: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(
            url, params={**params, "cursor": cursor} if cursor else params, headers=headers
        )
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def test_a_list_is_counted_exactly_up_to_the_limit_and_estimated_past_it(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account], exact_up_to: Any
) -> None:
    admin = accounts["admin"].headers
    word = "tong" + secrets.token_hex(4)
    made = [
        await create_user(sessionmaker, role="officer", username=f"{word}.{n}") for n in range(4)
    ]
    query = {"q": word, "limit": 2}

    exact_up_to(1000)  # the default: four rows are counted
    page = (await client.get(USERS, params=query, headers=admin)).json()
    assert (page["total"], page["total_exact"]) == (4, True)

    exact_up_to(4)  # exactly at the limit: still counted
    page = (await client.get(USERS, params=query, headers=admin)).json()
    assert (page["total"], page["total_exact"]) == (4, True)

    exact_up_to(3)  # past it: an estimate, never below the limit + 1
    page = (await client.get(USERS, params=query, headers=admin)).json()
    assert page["total_exact"] is False
    assert page["total"] >= 4
    assert len(page["items"]) == 2 and page["next_cursor"] is not None
    # Paging still reads every row, once, whatever the total says.
    served = await _all_pages(client, USERS, query, admin)
    assert [u["username"] for u in served] == [a.username for a in made]


async def test_the_audit_trail_is_not_counted_whole_past_the_limit(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account], exact_up_to: Any
) -> None:
    admin = accounts["admin"].headers
    target = await create_user(sessionmaker, role="officer")
    url = f"{USERS}/{target.id}"
    for name in ("Nguyễn Văn A", "Nguyễn Văn B", "Nguyễn Văn C"):
        etag = (await client.get(url, headers=admin)).headers["etag"]
        changed = await client.patch(
            url, json={"full_name": name}, headers={**admin, "If-Match": etag}
        )
        assert changed.status_code == 200
    exact_up_to(2)
    everything = (await client.get(AUDIT, params={"limit": 2}, headers=admin)).json()
    assert everything["total_exact"] is False
    assert everything["total"] >= 3
    assert len(everything["items"]) == 2
    about = {"entity": "user", "entity_id": str(target.id), "limit": 1}
    estimated = (await client.get(AUDIT, params=about, headers=admin)).json()
    assert estimated["total_exact"] is False and estimated["total"] >= 3
    assert len(await _all_pages(client, AUDIT, about, admin)) == 3
    exact_up_to(3)  # the same three rows, now within the limit
    counted = (await client.get(AUDIT, params=about, headers=admin)).json()
    assert (counted["total"], counted["total_exact"]) == (3, True)
    none = (await client.get(AUDIT, params={**about, "entity_id": "0"}, headers=admin)).json()
    assert none == {"items": [], "total": 0, "total_exact": True, "next_cursor": None}


async def test_reports_and_the_review_queue_count_with_the_page_up_to_the_limit(
    client: httpx.AsyncClient, sessionmaker: Any, exact_up_to: Any
) -> None:
    """The reports list reads its total with the page (app/services/reports.py): exact up to
    the limit, the estimate past it, and counted alone for a page past the end."""
    team = await make_team(client, sessionmaker)
    reviewer = team["reviewer"]
    period = await new_period(client, reviewer, ["SYT", "SGDDT"])
    other_lead = await signed_in(client, sessionmaker, role="agency_lead", agency="SGDDT")
    for writer, lead in ((team["officer"], team["lead"]), (team["other"], other_lead)):
        made = await client.post(
            "/api/v1/reports", headers=writer.headers, json={"period_id": period["id"]}
        )
        assert made.status_code == 201, made.text
        url = f"/api/v1/reports/{made.json()['id']}"
        submitted = await client.post(
            f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
        )
        assert submitted.status_code == 200, submitted.text
    listed = {"period_id": period["id"], "limit": 1}
    reports = "/api/v1/reports"

    exact_up_to(1000)
    first = (await client.get(reports, params=listed, headers=reviewer.headers)).json()
    assert (first["total"], first["total_exact"], len(first["items"])) == (2, True, 1)
    second = await client.get(
        reports, params={**listed, "cursor": first["next_cursor"]}, headers=reviewer.headers
    )
    assert (second.json()["total"], second.json()["next_cursor"]) == (2, None)
    past = await client.get(
        reports, params={**listed, "cursor": "f" * 32}, headers=reviewer.headers
    )
    assert (past.json()["items"], past.json()["total"], past.json()["total_exact"]) == ([], 2, True)
    whole = await client.get(reports, params={**listed, "limit": 5}, headers=reviewer.headers)
    assert (whole.json()["total"], len(whole.json()["items"])) == (2, 2)

    exact_up_to(1)
    first = (await client.get(reports, params=listed, headers=reviewer.headers)).json()
    assert first["total_exact"] is False and first["total"] >= 2
    queue = await client.get("/api/v1/review-queue", params={"limit": 1}, headers=reviewer.headers)
    assert queue.json()["total_exact"] is False and queue.json()["total"] >= 2
