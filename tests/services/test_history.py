"""Answers that do not grow with history: an indicator target's `series` and a task's
`progress_history` are bounded (the latest of each year), with a link to every approved
value or update, paged (issue 13, item 1).

The history here is dated 2011-2012, years no other test reports on, so the assertions on
it are exact whatever else the session's database holds."""

import secrets
from typing import Any

import httpx

from tests.factories import Account
from tests.services.test_reporting import etag_of, make_team

API = "/api/v1"
TARGET = "CT-2025-06.1"  # led by Sở Y tế, whose staff make_team signs in


async def _period(client: httpx.AsyncClient, reviewer: Account, cutoff: str, due: str) -> str:
    response = await client.post(
        f"{API}/periods",
        headers=reviewer.headers,
        json={
            "title": f"Báo cáo đột xuất {secrets.token_hex(3)}",
            "due_date": due,
            "cutoff_date": cutoff,
            "agencies": ["SYT"],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _report(
    client: httpx.AsyncClient,
    team: dict[str, Account],
    period_id: str,
    *,
    summary: str,
    values: list[tuple[str, float]],
    source: str,
    approve: bool = True,
) -> str:
    """A report of Sở Y tế with an E.1 update and these values of TARGET, submitted and
    (unless told) approved; returns the period's code."""
    officer = team["officer"]
    report = await client.post(
        f"{API}/reports", headers=officer.headers, json={"period_id": int(period_id)}
    )
    assert report.status_code == 201, report.text
    url = f"{API}/reports/{report.json()['id']}"
    update = await client.post(
        f"{url}/task-updates",
        headers=officer.headers,
        json={
            "task": "E.1",
            "status": "in_progress",
            "percent_complete": 50,
            "public_summary": summary,
            "internal_difficulties": "",
        },
    )
    assert update.status_code == 201, update.text
    for as_of, value in values:
        created = await client.post(
            f"{url}/indicator-values",
            headers=officer.headers,
            json={
                "target": TARGET,
                "value": value,
                "as_of": as_of,
                "level": "province",
                "source": source,
                "provenance": "verified",
            },
        )
        assert created.status_code == 201, created.text
    lead = team["lead"]
    submitted = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert submitted.status_code == 200, submitted.text
    if approve:
        reviewer = team["reviewer"]
        approved = await client.post(
            f"{url}/approve",
            headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
        )
        assert approved.status_code == 200, approved.text
    return str(report.json()["period"]["code"])


async def _all_pages(client: httpx.AsyncClient, url: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        assert page["total_exact"] is True and page["total"] >= len(items) + len(page["items"])
        items += page["items"]
        if page["next_cursor"] is None:
            assert page["total"] == len(items)
            return items
        params["cursor"] = page["next_cursor"]


async def test_bounded_series_and_progress_with_every_approved_one_paged(
    client: httpx.AsyncClient, sessionmaker: Any
) -> None:
    team = await make_team(client, sessionmaker)
    reviewer = team["reviewer"]
    source = f"Sở Y tế {secrets.token_hex(4)}"
    early = await _period(client, reviewer, "2011-12-15", "2011-12-31")
    middle = await _period(client, reviewer, "2012-06-15", "2012-06-30")
    late = await _period(client, reviewer, "2012-12-15", "2012-12-31")
    pending = await _period(client, reviewer, "2012-12-20", "2012-12-31")
    # Four values of one target in one report: three in 2011, one in 2012.
    p2011 = await _report(
        client,
        team,
        early,
        summary="Năm 2011",
        values=[("2011-03-31", 10), ("2011-06-30", 20), ("2011-12-31", 30), ("2012-06-30", 40)],
        source=source,
    )
    p2012a = await _report(client, team, middle, summary="Giữa năm 2012", values=[], source=source)
    p2012b = await _report(client, team, late, summary="Cuối năm 2012", values=[], source=source)
    # Submitted, never approved: in no answer.
    unapproved = await _report(
        client,
        team,
        pending,
        summary="Chưa duyệt",
        values=[("2012-09-30", 99)],
        source=source,
        approve=False,
    )

    # The indicator: one value per year (the latest), oldest first, and a link to the rest.
    indicator = (await client.get(f"{API}/indicators/CT-2025-06")).json()
    target = next(t for t in indicator["targets"] if t["code"] == TARGET)
    ours = [(p["as_of"], p["value"]) for p in target["series"] if p["source"] == source]
    assert ours == [("2011-12-31", 30.0), ("2012-06-30", 40.0)]
    assert target["series_complete"] is False
    assert target["values_url"] == f"{API}/indicators/CT-2025-06/values?target={TARGET}"
    # At most one value per level, district and year, whoever reported it.
    groups = [(p["level"], p["district"], p["as_of"][:4]) for p in target["series"]]
    assert len(groups) == len(set(groups))
    # The list shows each indicator as its own route does.
    listed = (await client.get(f"{API}/indicators", params={"limit": 200})).json()
    assert next(i for i in listed["items"] if i["code"] == "CT-2025-06") == indicator

    # Every approved value, newest first, page after page, no gaps, nothing unapproved.
    values = await _all_pages(client, target["values_url"], limit=2)
    assert {v["target"] for v in values} == {TARGET}
    keys = [(v["as_of"], v["value"], v["period"]) for v in values if v["source"] == source]
    assert keys == [
        ("2012-06-30", 40.0, p2011),
        ("2011-12-31", 30.0, p2011),
        ("2011-06-30", 20.0, p2011),
        ("2011-03-31", 10.0, p2011),
    ]
    assert [v["as_of"] for v in values] == sorted((v["as_of"] for v in values), reverse=True)
    assert unapproved not in {v["period"] for v in values}
    # The same for the whole indicator (no target given), and a field selection.
    whole = await _all_pages(client, f"{API}/indicators/CT-2025-06/values", limit=50)
    assert [v for v in whole if v["target"] == TARGET] == values
    slim = await client.get(target["values_url"], params={"fields": "as_of,value", "limit": 1})
    assert slim.status_code == 200, slim.text
    assert set(slim.json()["items"][0]) == {"as_of", "value"}

    # The task: the latest approved progress of each reporting year, newest first.
    task = (await client.get(f"{API}/tasks/E.1")).json()
    periods = {p2011: "Năm 2011", p2012a: "Giữa năm 2012", p2012b: "Cuối năm 2012"}
    ours_history = [h["period"] for h in task["progress_history"] if h["period"] in periods]
    assert ours_history == [p2012b, p2011]
    assert task["progress_history_complete"] is False
    assert task["progress_url"] == f"{API}/tasks/E.1/progress"
    progress = await _all_pages(client, task["progress_url"], limit=2)
    assert [(h["period"], h["public_summary"]) for h in progress if h["period"] in periods] == [
        (p2012b, "Cuối năm 2012"),
        (p2012a, "Giữa năm 2012"),
        (p2011, "Năm 2011"),
    ]
    assert unapproved not in {h["period"] for h in progress}
    assert len({(h["period"], h["public_summary"]) for h in progress}) == len(progress)


async def test_unknown_indicator_task_or_target(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"{API}/indicators/CT-1999-01/values")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    other = await client.get(
        f"{API}/indicators/CT-2025-06/values", params={"target": "CT-2025-01.1"}
    )
    assert (other.status_code, other.json()["code"]) == (422, "unknown_filter_value")
    task = await client.get(f"{API}/tasks/Z.9/progress")
    assert (task.status_code, task.json()["code"]) == (404, "not_found")
